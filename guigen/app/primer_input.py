"""The primer box read for the loaded model: token ids and the text shown, or a ValueError with a
readable message. Music: pitches or a MIDI file (its tempo and metre kept, a key-shifted codec view
chosen for a melody model in one key), with the metre and key a conditioned model was asked for."""

from __future__ import annotations


def encode_primer(window, text: str):
    """(token ids, text shown) for the primer; sets window.primer_source and window.codec for music."""
    codec = window.model.codec
    if window.model.kind == "music":
        from guigen.app.music import read_primer

        if getattr(codec, "metres", ()):  # a conditioned model: the metre and key asked for (widgets/conditions.py)
            from guigen.app.music import read_conditioned_primer

            tokens, window.primer_source, window.codec, words = read_conditioned_primer(
                window.model, text, *window.conditions.asked(), float(window.settings.get("qpm")))
            window.conditions.used(words)
        else:
            tokens, window.primer_source, window.codec = read_primer(codec, text)  # source: for its tempo
        window.histogram.set_labels([window.codec.token_label(i) for i in range(window.codec.num_classes)])
        return tokens, ""
    if not text:
        start = "\n" if "\n" in codec.index else codec.chars[0]
        return list(codec.encode(start)), ""
    missing = codec.unknown(text)
    if missing:
        shown = " ".join(repr(c) for c in missing[:12])
        raise ValueError(f"the model has never seen {shown}; remove them from the primer")
    return list(codec.encode(text)), text
