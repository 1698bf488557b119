"""Sampling settings per model: temperature, top-k, top-p, length (and a conditioned model's metre
and key) are remembered for each model
(by the name or path it was loaded by), so a top-k set for a text model never bleeds into a music
model. A model met for the first time starts from the defaults (T = 1, no cut, the kind's length),
except the model the app last used, which keeps the settings it was saved with."""

from __future__ import annotations

import json

KEYS = ("temperature", "top_k", "top_p", "length", "conditions")
DEFAULT_LENGTH = {"text": 500, "music": 128}  # characters; 16th-note steps (8 bars of 4/4)


def _table(settings) -> dict:
    try:
        table = json.loads(settings.get("per_model") or "{}")
    except ValueError:
        return {}
    return table if isinstance(table, dict) else {}


def remember(window) -> None:
    """Keep the settings in force for the model loaded now."""
    if window.model is None or not window.model_ref:
        return
    table = _table(window.settings)
    table[window.model_ref] = {"temperature": window.dial.temperature(), "top_k": window.top_k.value(),
                               "top_p": window.top_p.value(), "length": window.length.value()}
    conditions = getattr(window, "conditions", None)
    if conditions is not None and conditions.isVisibleTo(window):  # a conditioned model's metre and key
        table[window.model_ref]["conditions"] = conditions.state()
    window.settings.set("per_model", json.dumps(table))


def apply(window, model, first_model: bool = False) -> dict:
    """Put the settings remembered for `model` (just loaded) in force; the values used."""
    saved = _table(window.settings).get(window.model_ref)
    if isinstance(saved, dict):
        values = {k: saved[k] for k in KEYS if k in saved}
    elif first_model:  # the model the app was last closed with: its settings are the ones restored
        return {}
    else:
        values = {"temperature": 1.0, "top_k": 0, "top_p": 1.0, "length": DEFAULT_LENGTH.get(model.kind, 500)}
    try:
        if "temperature" in values:
            window.dial.set_temperature(float(values["temperature"]))
        if "top_k" in values:
            window.top_k.setValue(int(values["top_k"]))
        if "top_p" in values:
            window.top_p.setValue(float(values["top_p"]))
        if "length" in values:
            window.length.setValue(int(values["length"]))
        if isinstance(values.get("conditions"), dict) and getattr(window, "conditions", None) is not None:
            window.conditions.set_state(values["conditions"])
    except (TypeError, ValueError):  # a hand-edited settings file: what could be read is used
        pass
    return values


def attach(window) -> None:
    state = {"first": True, "last": window.settings.get("model")}  # the model the app was closed with

    def loaded(model) -> None:
        first = state["first"] and window.model_ref == state["last"]
        state["first"] = False
        apply(window, model, first)

    window.leaving.connect(lambda: remember(window))
    window.model_loaded.connect(loaded)
