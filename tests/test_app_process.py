"""The model runs in a process of its own (guigen.app.generation, guigen.app.engine): the window
never waits on it, a process that dies is one message and a fresh one takes over at the next
command, a stop takes effect at once, and no process outlives the window, however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from app_helpers import TIMEOUT, make_model, make_music_model, open_window

from PySide6.QtCore import QTimer  # noqa: E402  (app_helpers sets QT_QPA_PLATFORM first)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("models") / "text.safetensors", hidden=64)


@pytest.fixture()
def window(qtbot, tmp_path, model_path):
    yield from open_window(qtbot, tmp_path, model_path)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_long(qtbot, w) -> int:
    w.seed.setValue(2)
    w.length.setValue(10_000_000)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "running" and len(w.text_view.chars) > 0, timeout=TIMEOUT)
    return w.generation.worker.pid


def test_the_model_runs_in_a_child_process_without_qt(qtbot, window):
    pid = window.generation.worker.pid
    assert pid is not None and pid != os.getpid() and alive(pid)
    assert int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) == os.getpid()  # our child
    maps = Path(f"/proc/{pid}/maps").read_text()
    assert "libQt6" not in maps and "libtorch" not in maps  # NumPy and the engine only
    assert os.getpriority(os.PRIO_PROCESS, pid) > os.getpriority(os.PRIO_PROCESS, os.getpid())  # the GUI first


def test_a_killed_process_is_one_message_and_the_next_generate_starts_afresh(qtbot, window):
    w = window
    pid = start_long(qtbot, w)
    errors = len(w.errors)
    shown = len(w.text_view.chars)
    with qtbot.waitSignal(w.failed, timeout=TIMEOUT):
        os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: w.state == "idle", timeout=TIMEOUT)
    assert len(w.errors) == errors + 1 and "ended unexpectedly (killed by SIGKILL)" in w.errors[-1], w.errors
    assert not alive(pid) and w.generation.process is None
    assert len(w.text_view.chars) >= shown  # what was shown stays
    assert w.actions["generate"].isEnabled() and w.actions["export_text"].isEnabled()
    # the next Generate starts a fresh process with the model loaded again, silently
    w.length.setValue(40)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and len(w.text_view.chars) == 40, timeout=TIMEOUT)
    assert w.generation.worker.pid not in (None, pid) and alive(w.generation.worker.pid)
    assert len(w.errors) == errors + 1 and w.model.name == "text"
    assert w.generation.worker.count == 40


def test_the_dial_and_a_clear_after_a_crash_reach_the_fresh_process(qtbot, window):
    w = window
    pid = start_long(qtbot, w)
    with qtbot.waitSignal(w.failed, timeout=TIMEOUT):
        os.kill(pid, signal.SIGKILL)
    w.dial.set_temperature(0.25)  # kept for the fresh process; none is started for it
    w.actions["clear"].trigger()
    qtbot.waitUntil(lambda: not w._stale and w.text_view.chars == [], timeout=TIMEOUT)
    assert w.generation.process is None
    w.length.setValue(20)
    w.generate()  # a fresh process: the model loaded again, then the dial's temperature
    qtbot.waitUntil(lambda: w.state == "stopped" and len(w.text_view.chars) == 20, timeout=TIMEOUT)
    assert w.used_temperatures == {0.25} and w.generation.worker.settings.temperature == 0.25


def test_a_stop_takes_effect_at_once_and_nothing_comes_after_it(qtbot, window):
    w = window
    start_long(qtbot, w)
    w.actions["stop"].trigger()
    qtbot.waitUntil(lambda: w.state == "stopped" and w.generation.worker.state == "stopped", timeout=TIMEOUT)
    count = w.generation.worker.count
    assert count < 10_000_000 and len(w.text_view.chars) == count
    with qtbot.waitSignal(w.previewed, timeout=TIMEOUT):  # a round trip through the process
        w.dial.set_temperature(0.5)
    assert w.generation.worker.count == count == len(w.text_view.chars) and w.state == "stopped"


def test_a_frozen_model_never_freezes_the_window(qtbot, window):
    """SIGSTOP the process mid-run: the window's timers fire and commands are taken without waiting;
    once it goes on, the stop sent meanwhile takes effect."""
    w = window
    pid = start_long(qtbot, w)
    os.kill(pid, signal.SIGSTOP)
    try:
        ticks = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(1))
        timer.start(5)
        primer = list(range(5)) * 400_000  # 2,000,000 tokens, about 4 MB pickled: more than the pipe holds
        w.generation.send("primer", primer)
        for t in (0.3, 0.6, 0.9, 1.2) * 50:
            w.dial.set_temperature(t)
        w.actions["stop"].trigger()
        assert len(w.generation.outbox) > 0  # the pipe is full: the rest waits, the window does not
        qtbot.waitUntil(lambda: len(ticks) >= 20, timeout=TIMEOUT)
        timer.stop()
        assert w.state == "running"  # the process has not taken the stop yet
    finally:
        os.kill(pid, signal.SIGCONT)
    qtbot.waitUntil(lambda: w.state == "stopped", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: w.generation.worker.settings.temperature == 1.2, timeout=TIMEOUT)
    assert not w.generation.outbox


def test_variations_under_way_when_the_process_dies_end_with_what_they_have(qtbot, tmp_path):
    path = make_music_model(tmp_path / "poly.safetensors", "polyphony", hidden=64)
    gen = open_window(qtbot, tmp_path, path)
    w = next(gen)
    try:
        w.primer.setText("60,64,67")
        w.length.setValue(1_000_000)
        batches = []
        w.generation.worker.varied.connect(batches.append)
        assert w.variations.start(3)
        qtbot.waitUntil(lambda: len(batches) >= 2, timeout=TIMEOUT)
        with qtbot.waitSignal(w.failed, timeout=TIMEOUT):
            os.kill(w.generation.worker.pid, signal.SIGKILL)
        qtbot.waitUntil(lambda: w.variations.current.done, timeout=TIMEOUT)
        assert all(len(v.tokens) > 0 for v in w.variations.current.items)
        assert w.variations.view.export_all_button.isEnabled()
        # and the next run works, in a fresh process
        w.length.setValue(30)
        assert w.variations.start(2)
        qtbot.waitUntil(lambda: w.variations.current.done, timeout=TIMEOUT)
        cur = w.variations.current  # music: a length in 16th-note steps
        assert [cur.codec.count_steps(v.tokens) for v in cur.items] == [30, 30]
    finally:
        next(gen, None)


def test_no_process_outlives_the_window(qtbot, tmp_path, model_path):
    """Closed while running; closed while the process is frozen (it is terminated)."""
    from guigen.app.main_window import MainWindow
    from guigen.app.settings import Settings

    for freeze in (False, True):
        w = MainWindow(Settings(str(tmp_path / "s.ini")), save_settings=False)
        w.quiet_errors = True
        w.show()
        with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT):
            w.load_model(str(model_path))
        pid = start_long(qtbot, w)
        if freeze:
            os.kill(pid, signal.SIGSTOP)
        w.close()
        assert not alive(pid)
        w.generation.send("generate", 10)  # a late command starts nothing
        assert w.generation.process is None
        w.deleteLater()


CHILD_APP = textwrap.dedent("""
    import sys
    from app_helpers import TIMEOUT  # noqa: F401  (sets QT_QPA_PLATFORM)
    from PySide6.QtWidgets import QApplication
    from guigen.app.main_window import MainWindow
    from guigen.app.settings import Settings

    app = QApplication([])
    w = MainWindow(Settings(sys.argv[2]), save_settings=False)
    w.quiet_errors = True

    def loaded(_):
        w.length.setValue(10_000_000)
        w.generate()

    def state(s):
        if s == "running":
            print(w.generation.worker.pid, flush=True)

    w.model_loaded.connect(loaded)
    w.state_changed.connect(state)
    w.load_model(sys.argv[1])
    app.exec()
""")


def test_the_process_ends_when_the_app_is_killed(qtbot, tmp_path, model_path):
    """kill -9 of the app itself: its end of the pipe closes, and the process ends by itself."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    app = subprocess.Popen([sys.executable, "-c", CHILD_APP, str(model_path), str(tmp_path / "s.ini")],
                           stdout=subprocess.PIPE, text=True, env=env)
    try:
        pid = int(app.stdout.readline())
        assert alive(pid)
    finally:
        app.kill()
        app.wait()
    qtbot.waitUntil(lambda: not alive(pid), timeout=TIMEOUT)
