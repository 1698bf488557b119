"""The Train dialog trains a tiny model in a worker thread, shows progress, and the model opens."""

from __future__ import annotations


import app_helpers  # noqa: F401  (sets QT_QPA_PLATFORM before Qt is imported)
import threading

import pytest
from conftest import ALICE

from guigen.app.main_window import MainWindow
from guigen.app.settings import Settings
from guigen.app.train_dialog import TrainDialog



@pytest.fixture(scope="module")
def small_text(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "alice-short.txt"
    path.write_text(ALICE.read_text(encoding="utf-8-sig")[:12_000], encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def chorale_folder(tmp_path_factory):
    """A folder of 12 Bach chorales."""
    pytest.importorskip("guigen.music.dataset")
    import shutil

    chorales = sorted((ALICE.parents[1] / "midi" / "jsb_chorales" / "train").glob("*.mid"))[:12]
    if not chorales:
        pytest.skip("no chorales")
    folder = tmp_path_factory.mktemp("midi")
    for f in chorales:
        shutil.copy(f, folder)
    return folder


def tiny_dialog(qtbot, parent, text, out, epochs=1):
    d = TrainDialog(parent)
    qtbot.addWidget(d)
    d.source.setText(str(text))
    d.output.setText(str(out))
    d.layers.setValue(1)
    d.hidden.setValue(16)
    d.embed.setValue(8)
    d.epochs.setValue(epochs)
    return d


def test_train_dialog_trains_a_tiny_model_and_it_opens(qtbot, tmp_path, small_text):
    w = MainWindow(Settings(str(tmp_path / "s.ini")), save_settings=False)
    qtbot.addWidget(w)
    w.quiet_errors = True
    out = tmp_path / "mine.safetensors"
    d = tiny_dialog(qtbot, w, small_text, out)
    d.model_ready.connect(w.load_model)
    d.show()
    with qtbot.waitSignal(w.model_loaded, timeout=120_000):
        assert d.start(confirm=False)
    assert out.is_file()
    assert w.model.name == "mine" and w.model.config.hidden == 16
    assert d.progress.value() == d.progress.maximum() and len(d.val) == 1
    assert "Done" in d.eta.text()
    w.generation.shutdown()


def test_train_dialog_cancel_saves_a_checkpoint_and_resumes(qtbot, tmp_path, small_text):
    out = tmp_path / "stopped.safetensors"
    d = tiny_dialog(qtbot, None, small_text, out, epochs=200)
    with qtbot.waitSignal(d.finished_training, timeout=120_000) as sig:
        d.start(confirm=False)
        d.worker.progress.connect(d.cancel)  # stop at the first progress report (queued to the GUI thread)
    assert sig.args[1] == "cancelled"
    assert (tmp_path / "stopped.ckpt.safetensors").is_file()
    assert d.resume.isChecked()
    d.epochs.setValue(1)  # resume: the checkpoint is already past epoch 0's start; finish one epoch
    with qtbot.waitSignal(d.finished_training, timeout=120_000) as sig:
        d.start(confirm=False)
    assert sig.args[1] in ("done", "cancelled") and out.is_file()


def test_train_dialog_asks_for_data(qtbot):
    d = TrainDialog()
    qtbot.addWidget(d)
    assert not d.start()
    assert "training data" in d.last_message


def test_train_dialog_trains_a_music_model(qtbot, tmp_path, chorale_folder):
    folder = chorale_folder
    out = tmp_path / "bach.safetensors"
    d = tiny_dialog(qtbot, None, folder, out)
    d.kind.setCurrentIndex(d.kind.findData("polyphony"))
    with qtbot.waitSignal(d.finished_training, timeout=120_000) as sig:
        assert d.start(confirm=False)
    assert sig.args == [str(out), "done"], getattr(d, "last_message", "")
    from guigen.core.modelfile import load_model

    model = load_model(out)
    assert model.kind == "music" and model.codec.key == 0  # in C by default, as the shipped models


def test_train_dialog_offers_the_devices_found(qtbot):
    from guigen.core.devices import available_devices, cpu_has_fast_bf16

    d = TrainDialog()
    qtbot.addWidget(d)
    qtbot.waitUntil(lambda: "looking" not in d.device.itemText(0), timeout=60_000)  # the probe imports torch
    found = available_devices()
    offered = [d.device.itemData(i) for i in range(d.device.count())]
    assert offered == ["auto", *found]
    if len(found) == 1:
        assert "no CUDA GPU found" in d.device.itemText(0)
    assert ("bf16" in d.device.itemText(1)) == cpu_has_fast_bf16()  # the precision --precision auto takes there
    if len(found) == 1:
        assert ("bf16" in d.device.itemText(0)) == cpu_has_fast_bf16()
    d.device.setCurrentIndex(1)
    assert d.job().device == "cpu"


def test_a_dialog_closed_before_the_device_probe_answers_leaves_it_nothing_deleted_to_emit_on(qtbot, monkeypatch):
    """The probe imports torch in a thread (seconds): a dialog closed and deleted before it answers
    used to own the object the thread emitted on (a RuntimeError in the thread). The probe is the
    application's now: the thread ends cleanly and the next dialog takes its answer at once."""
    import shiboken6

    from guigen.app.train_dialog import _DeviceProbe

    errors = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    monkeypatch.setattr(_DeviceProbe, "_shared", None)  # a probe of this test's own, not yet answered
    d = TrainDialog()
    probe = d._probe
    assert probe.result is None and "looking" in d.device.itemText(0)
    shiboken6.delete(d)  # closed and gone before the answer
    qtbot.waitUntil(lambda: probe.result is not None, timeout=60_000)
    assert errors == [] and shiboken6.isValid(probe)
    again = TrainDialog()
    qtbot.addWidget(again)
    assert "looking" not in again.device.itemText(0)  # answered already


@pytest.mark.parametrize("palette", ["light", "dark"])
def test_loss_plot_follows_the_palette(qtbot, palette):
    """The loss plot was drawn white whatever the palette: it now takes the window's, and switches
    with it, axes, legend and lines readable on its background."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from guigen.app import theme

    app = QApplication.instance()
    old_style, old_palette = app.style().name(), app.palette()
    d = TrainDialog()
    qtbot.addWidget(d)
    try:
        theme.apply(app, palette)
        qtbot.waitUntil(lambda: theme.is_dark(d.palette()) == (palette == "dark"), timeout=app_helpers.TIMEOUT)
        background = d.plot.backgroundBrush().color()
        assert theme.is_dark(d.palette()) == (background.lightness() < 128)
        assert background == d.palette().color(d.palette().ColorRole.Base)
        for name in ("left", "bottom"):
            assert theme.contrast(d.plot.getAxis(name).textPen().color(), background) >= 4.5, name
        for _, label in d.legend.items:
            colour = pg.mkColor(label.opts["color"])  # what its text's style is written with
            assert colour.name() in label.item.toHtml() and theme.contrast(colour, background) >= 4.5, label.text
        for curve in (d.train_curve, d.val_curve):
            assert theme.contrast(curve.opts["pen"].color(), background) >= 3.0  # a line, not text: 3:1
    finally:
        app.setStyle(old_style)
        app.setPalette(old_palette)


def test_train_dialog_trains_from_a_prepared_folder(qtbot, tmp_path, small_text):
    """A folder made by `guigen prepare` is training data too: its kind is taken from the manifest
    (and fixed), the dialog says what it holds, and the model trains from the shards."""
    from guigen.cli import main
    from guigen.core.modelfile import load_model

    shards = tmp_path / "shards"
    assert main(["prepare", "text", str(small_text), "-o", str(shards), "--quiet"]) == 0
    out = tmp_path / "prepared.safetensors"
    d = tiny_dialog(qtbot, None, shards, out)
    assert isinstance(d.prepared, dict) and d.kind.currentData() == "text" and not d.kind.isEnabled()
    assert "Prepared by guigen prepare" in d.eta.text() and "from 1 file;" in d.eta.text()
    job = d.job()
    assert job.data == str(shards) and job.sources == []
    with qtbot.waitSignal(d.finished_training, timeout=120_000) as sig:
        assert d.start(confirm=False)
    assert sig.args == [str(out), "done"], getattr(d, "last_message", "")
    model = load_model(out)
    assert "prepared by guigen prepare" in model.training["data"][0], model.training.get("data")
    d.source.setText(str(small_text))  # back to a file: the kind is the user's to choose again
    assert d.prepared is None and d.kind.isEnabled() and d.job().data is None


def test_train_dialog_prepared_music_takes_its_encoding(qtbot, tmp_path, chorale_folder):
    folder = chorale_folder
    from guigen.cli import main

    shards = tmp_path / "shards"
    assert main(["prepare", "music", str(folder), "-o", str(shards), "--encoding", "melody", "--quiet"]) == 0
    d = tiny_dialog(qtbot, None, shards, tmp_path / "m.safetensors")
    assert d.kind.currentData() == "melody" and not d.kind.isEnabled() and not d.one_key.isEnabled()
    d.resize(800, 600)
    d.show()
    qtbot.wait(50)
    assert d.width() == 800 and "melody" in d.eta.text()  # the long description wraps, the dialog keeps its size
    with qtbot.waitSignal(d.finished_training, timeout=120_000) as sig:
        assert d.start(confirm=False)
    assert sig.args[1] == "done", getattr(d, "last_message", "")


def test_train_dialog_says_why_a_broken_manifest_cannot_train(qtbot, tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    d = tiny_dialog(qtbot, None, folder, tmp_path / "x.safetensors")
    assert isinstance(d.prepared, str) and "manifest" in d.eta.text()
    assert not d.start(confirm=False)
    assert "not a readable manifest" in d.last_message


def test_train_dialog_refuses_a_prepared_encoding_it_does_not_offer(qtbot, tmp_path, small_text):
    import json

    from guigen.cli import main

    shards = tmp_path / "shards"
    assert main(["prepare", "text", str(small_text), "-o", str(shards), "--quiet"]) == 0
    manifest = json.loads((shards / "manifest.json").read_text(encoding="utf-8"))
    manifest["kind"], manifest["codec"] = "music", {"kind": "music", "encoding": "drums"}  # a later version's
    (shards / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    d = tiny_dialog(qtbot, None, shards, tmp_path / "x.safetensors")
    assert isinstance(d.prepared, str) and "drums" in d.eta.text()
    assert not d.start(confirm=False)
    assert "can't train" in d.last_message
