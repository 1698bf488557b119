"""Metre and mode as conditions of a melody model: one token before each tune (folk-rnn's M: and K:).

A conditioned melody model reads, before a tune's first event, one token naming the tune's metre
(its time signature) and mode. Tunes are moved to C first (the major scale holding most of their
note-time goes to C's white keys), so the key condition is the mode, and a mode is where its
tonic lies on the white keys: major C, minor A, dorian D, mixolydian G. A training tune's tonic is
its last note (folk tunes end on it). Asked for a key, the model plays in the mode's white-key
position and the output is moved to the key's tonic.
"""

from __future__ import annotations

import numpy as np

from guigen.music.events import KEY_NAMES, MAJOR_SHARPS, Note

MODES = ("major", "minor", "dorian", "mixolydian")
MODE_TONIC = {"major": 0, "minor": 9, "dorian": 2, "mixolydian": 7}  # on the white keys (C major's notes)
# a last note elsewhere on the white keys: phrygian (E) counts as minor, lydian (F) as major, B as minor
FINAL_MODE = {0: "major", 9: "minor", 2: "dorian", 7: "mixolydian", 4: "minor", 5: "major", 11: "minor"}
MODE_WORDS = {"": "major", "maj": "major", "major": "major", "ion": "major", "ionian": "major",
              "m": "minor", "min": "minor", "minor": "minor", "aeo": "minor", "aeolian": "minor",
              "dor": "dorian", "dorian": "dorian", "mix": "mixolydian", "mixolydian": "mixolydian"}


def metre_name(metre) -> str:
    """(6, 8) -> '6/8'."""
    return f"{metre[0]}/{metre[1]}"


def parse_metre(spec: str) -> tuple[int, int]:
    """'6/8' -> (6, 8); ValueError for anything else."""
    try:
        num, den = (int(x) for x in str(spec).strip().split("/"))
    except ValueError:
        raise ValueError(f"a metre is a time signature like 6/8 or 4/4, not {spec!r}") from None
    if not (1 <= num <= 32 and den in (1, 2, 4, 8, 16, 32)):
        raise ValueError(f"a metre is a time signature like 6/8 or 4/4, not {spec!r}")
    return num, den


def parse_key(spec: str) -> tuple[int, str]:
    """'D' -> (2, 'major'); 'Dm', 'D minor' -> minor; 'D dorian', 'Ddor', 'Bb mix' -> (tonic, mode)."""
    text = str(spec).strip().replace("♯", "#").replace("♭", "b")
    name = text[:2] if len(text) > 1 and text[1] in "#b" else text[:1]
    word = text[len(name):].strip().lower()
    tonic = name[:1].upper() + name[1:]
    flats = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#", "Cb": "B", "Fb": "E"}
    tonic = flats.get(tonic, tonic)
    if tonic not in KEY_NAMES or word not in MODE_WORDS:
        raise ValueError(f"a key is a tonic and a mode, like D, Dm, D minor, D dorian or G mixolydian, not {spec!r}")
    return KEY_NAMES.index(tonic), MODE_WORDS[word]


def key_name(tonic: int, mode: str) -> str:
    return f"{KEY_NAMES[tonic % 12]} {mode}"


def key_sharps(tonic: int, mode: str) -> int:
    """The key signature of a tonic in a mode: sharps (flats < 0) of the major scale holding its notes."""
    return MAJOR_SHARPS[(tonic - MODE_TONIC[mode]) % 12]


def mode_of(notes: list[Note], key: int = 0) -> str:
    """A tune's mode, moved to `key`'s white keys: where its last note lies (major when off them)."""
    if not notes:
        return "major"
    last = max(notes, key=lambda n: (n.start, n.pitch))
    return FINAL_MODE.get((last.pitch - key) % 12, "major")


def shift_to(tonic: int, mode: str, key: int = 0, near: int = 0) -> int:
    """Semitones from the model's white keys (moved to `key`) to `tonic` in `mode`, the one nearest `near`."""
    d = (tonic - MODE_TONIC[mode] - key) % 12
    return min((d + 12 * k for k in range(-11, 11)), key=lambda s: (abs(s - near), s))


def likeliest_mode(model, metre, primer_ids) -> str:
    """The mode under which the model finds this primer (ids in its key) likeliest: a primer's own."""
    from guigen.core.fastlstm import fast_net

    codec = model.codec
    net = fast_net(model)
    state = net.zero_state(len(MODES))
    logits = net.step(np.asarray([codec.condition_id(metre, m) for m in MODES]), state)
    total = np.zeros(len(MODES))
    for t in np.asarray(primer_ids, dtype=np.int64):
        z = logits - logits.max(axis=1, keepdims=True)
        total += z[:, t] - np.log(np.exp(z).sum(axis=1))
        logits = net.step(np.full(len(MODES), t), state)
    return MODES[int(np.argmax(total))]


def with_conditions(loaded, codec, seed: int = 0):
    """An unconditioned melody model grown to `codec`'s condition tokens, to fine-tune from: the same
    weights for its events; each new token an embedding drawn like the others' and a head row of
    zeros with the lowest bias (so the model first finds them unlikely, as it should)."""
    from dataclasses import replace

    old, new = loaded.config.vocab_size, codec.num_classes
    if getattr(loaded.codec, "metres", ()) or codec.first_condition_id != old or \
            {**codec.to_meta(), "conditions": None} != {**loaded.codec.to_meta(), "conditions": None}:
        raise ValueError(f"{loaded.name or 'the model'}: only an unconditioned melody model of the same range and key "
                         "can be given metre and mode conditions")
    rng = np.random.default_rng(seed)
    w = dict(loaded.weights)
    embed = w["embed.weight"]
    w["embed.weight"] = np.concatenate([embed, rng.normal(0, embed.std(), (new - old, embed.shape[1]))]).astype(embed.dtype)
    w["head.weight"] = np.concatenate([w["head.weight"], np.zeros((new - old, w["head.weight"].shape[1]),
                                                                  dtype=w["head.weight"].dtype)])
    w["head.bias"] = np.concatenate([w["head.bias"], np.full(new - old, w["head.bias"].min(), dtype=w["head.bias"].dtype)])
    return replace(loaded, config=replace(loaded.config, vocab_size=new), codec=codec, weights=w)


def condition(model, notes: list[Note], metre=None, key=None, primer_metre=None):
    """What a conditioned model's generation starts from: (the encoding to encode the primer and decode the
    result with, the primer's notes (moved to the key asked for), the condition token's ids, the metre,
    the key in words). metre (num, den) and key (tonic, mode) as asked; None: the primer's own (its time
    signature, else 4/4; the mode under which the model finds the primer likeliest)."""
    from guigen.music.events import transpose

    codec = model.codec
    if not getattr(codec, "metres", ()):
        raise ValueError(f"{model.name or 'this model'} was not trained with metre and key conditions; "
                         "leave out --metre and --key (`guigen info` lists a model's conditions)")
    metre = tuple(metre or primer_metre or (4, 4))
    codec.condition_id(metre, MODES[0])  # a metre the model does not know: say which it knows
    primer_shift = codec.key_shift(notes, primer=True) if notes else 0  # moves the primer to the model's key
    in_key = transpose(notes, primer_shift)
    if key is None:
        ids = codec.primer(in_key) if in_key else []
        mode = likeliest_mode(model, metre, ids) if len(ids) else MODES[0]
        shift = -primer_shift
        tonic = (MODE_TONIC[mode] + (codec.key or 0) + shift) % 12
    else:
        tonic, mode = key
        shift = shift_to(tonic, mode, codec.key or 0, near=-primer_shift)
    head = np.asarray([codec.condition_id(metre, mode)], dtype=np.int64)
    return codec.view_shifted(shift), transpose(in_key, shift), head, metre, key_name(tonic, mode)
