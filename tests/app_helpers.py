"""Helpers for the app tests: a random-weight model made in milliseconds, without torch."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

TEXT = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJ.,;:!?'\n"


def make_model(path, text: str = TEXT, hidden: int = 32, seed: int = 0):
    """A 1-layer LSTM with random weights over the characters of `text`; a peaked head bias
    gives distributions that temperature visibly sharpens and flattens."""
    from guigen.core.config import ModelConfig, parameter_shapes
    from guigen.core.modelfile import save_model
    from guigen.core.vocab import CharVocab

    vocab = CharVocab.from_text(text)
    cfg = ModelConfig(vocab.num_classes, embed=8, hidden=hidden, layers=1, dropout=0.0)
    rng = np.random.default_rng(seed)
    weights = {k: rng.normal(0, 0.3, shape).astype(np.float32) for k, shape in parameter_shapes(cfg).items()}
    weights["head.bias"] = rng.normal(0, 2.0, cfg.vocab_size).astype(np.float32)
    save_model(path, cfg, vocab, weights, {"data": ["random weights"], "val_bits": 5.0, "epochs": 0})
    return path


def make_music_model(path, encoding: str = "melody", hidden: int = 32, seed: int = 0, key=None):
    """A random-weight music model: melody (38 classes) or polyphony (259 classes).
    The head bias favours holding and stepping on, so notes come out with some length."""
    from guigen.core.config import ModelConfig, parameter_shapes
    from guigen.core.modelfile import save_model
    from guigen.music.encodings import make_encoding

    codec = make_encoding(encoding, key=key)
    cfg = ModelConfig(codec.num_classes, embed=8, hidden=hidden, layers=1, dropout=0.0)
    rng = np.random.default_rng(seed)
    weights = {k: rng.normal(0, 0.3, shape).astype(np.float32) for k, shape in parameter_shapes(cfg).items()}
    bias = rng.normal(0, 1.0, cfg.vocab_size)
    if encoding == "melody":
        bias[0] += 3.0  # NO_EVENT: notes hold
    else:
        bias[2] += 2.5  # STEP_END
        bias[1] -= 10.0  # END: keep going
        bias[3 + 48:3 + 84] += 1.5  # new notes in a singable range
        bias[131 + 48:131 + 84] += 2.0  # held notes in the same range
    weights["head.bias"] = bias.astype(np.float32)
    save_model(path, cfg, codec, weights, {"data": ["random weights"], "encoding": encoding})
    return path


TIMEOUT = 10_000  # ms: generous, for a loaded CI machine


def open_window(qtbot, tmp_path, model_path):
    """A main window at 1280x800 with throwaway settings and the model loaded; yields it, then
    ends its generation process. Use from a fixture: `yield from open_window(...)`."""
    from guigen.app.main_window import MainWindow
    from guigen.app.settings import Settings

    w = MainWindow(Settings(str(tmp_path / "settings.ini")), save_settings=False)
    qtbot.addWidget(w)
    w.quiet_errors = True
    w.resize(1280, 800)
    w.show()
    with qtbot.waitSignal(w.model_loaded, timeout=TIMEOUT):
        w.load_model(str(model_path))
    yield w
    w.generation.shutdown()


def text_window(qtbot, tmp_path, name: str = "one.safetensors"):
    """A window with a random-weight text model (make_model) loaded, for a fixture: `yield from`."""
    yield from open_window(qtbot, tmp_path, make_model(tmp_path / name))


def generate_text(qtbot, w, n: int = 60, seed: int = 2) -> None:
    """Generate n characters with `seed`, and wait until they are all in the text view."""
    w.seed.setValue(seed)
    w.length.setValue(n)
    w.generate()
    qtbot.waitUntil(lambda: w.state == "stopped" and len(w.text_view.chars) == n, timeout=TIMEOUT)


def generate_music(qtbot, w, n: int, primer: str = "60,64,67") -> None:
    """Generate n 16th-note steps (the app's music length is in steps: issue 21) from a pitch primer with
    seed 3, and wait until they are all in the piano roll."""
    w.primer.setText(primer)
    w.seed.setValue(3)
    w.length.setValue(n)
    w.generate()
    roll = w.piano_roll
    qtbot.waitUntil(lambda: w.state == "stopped" and roll.steps - roll.primer_steps == n, timeout=TIMEOUT)
