"""The app's settings: one table of defaults, read and written through QSettings.

Every setting the app keeps is named here with its default; the default's type is the type
the value is read back as (QSettings returns strings from INI files, so we convert).
"""

from __future__ import annotations

import json

from PySide6.QtCore import QSettings

DEFAULTS: dict[str, object] = {
    "model": "shakespeare",  # last model: a shipped name or a file path
    "recent_models": [],  # most recent first, file paths or names
    "temperature": 1.0,  # 0 = greedy
    "top_k": 0,  # 0 = off
    "top_p": 1.0,  # 1 = off
    "seed": -1,  # -1 = a fresh random seed each run
    "length": 500,  # tokens per Generate
    "per_model": "",  # JSON: {model name or path: {temperature, top_k, top_p, length}} (guigen.app.model_settings)
    "primer": "",  # text primer; empty = a line break
    "primer_pitches": "60",  # music primer: comma-separated MIDI pitches
    "colour_by_prob": False,  # colour output by the probability each token had
    "sort_by_prob": True,  # histogram sorted by probability, else vocabulary order
    "show_raw": True,  # overlay the model's T = 1 distribution
    "log_scale": False,  # histogram probabilities on a log axis
    "qpm": 120.0,  # music tempo, quarter notes per minute
    "soundfont": "",  # .sf2/.sf3 file for playback and .wav export; "" = automatic, "builtin" = built-in synth
    "midi_port": "",  # MIDI output port playback goes to; "" = the sound device
    "midi_input": "",  # MIDI input port the live panel listens to; "" = none chosen
    "window/geometry": b"",
    "window/state": b"",
    "window/splitter": b"",
    "window/split_music": b"",  # the output over the distribution panel, in music mode (guigen.app.workspace)
    "window/split_text": b"",  # and in text mode
    "window/distribution": True,  # the distribution panel shows (View > Distribution)
    "last_dir": "",  # where file dialogs open
}

MAX_RECENT = 8


class Settings:
    """Typed access to QSettings; pass an INI path to keep tests and screenshots apart."""

    def __init__(self, path: str | None = None):
        self.path = path  # None: the user's settings (and takes in the user data folder)
        self.qs = QSettings(path, QSettings.Format.IniFormat) if path else QSettings()

    def get(self, key: str):
        default = DEFAULTS[key]
        value = self.qs.value(key, None)
        if value is None:
            return default
        try:
            if isinstance(default, bool):
                return value if isinstance(value, bool) else str(value).lower() in ("true", "1", "yes")
            if isinstance(default, int):
                return int(value)
            if isinstance(default, float):
                return float(value)
            if isinstance(default, list):
                return list(json.loads(value)) if isinstance(value, str) else list(value)
            if isinstance(default, bytes):
                return bytes(value)
            return str(value)
        except (TypeError, ValueError):
            return default  # a hand-edited or old settings file: fall back quietly

    def set(self, key: str, value) -> None:
        if key not in DEFAULTS:
            raise KeyError(f"unknown setting {key!r}")
        if isinstance(DEFAULTS[key], list):
            value = json.dumps(list(value))
        self.qs.setValue(key, value)

    def add_recent(self, model: str) -> list[str]:
        recent = [model] + [m for m in self.get("recent_models") if m != model]
        self.set("recent_models", recent[:MAX_RECENT])
        return recent[:MAX_RECENT]

    def sync(self) -> None:
        self.qs.sync()
