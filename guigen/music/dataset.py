"""Training and evaluation data from folders of MIDI (or ABC, MusicXML) files, with a report of what was used and why not.

Each file becomes pieces for an encoding: the whole pitched texture for polyphony, each voice
(track/channel) as its own melody for melody. Every epoch the pieces are shuffled, each is moved
by a random transposition (as Magenta augments its data), and all are joined into one stream.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from guigen.core.data import DataError, TokenData
from guigen.music.encodings import make_encoding
from guigen.music.events import KEY_NAMES, Note, transpose
from guigen.music.conditions import MODES, metre_name
from guigen.music.melody import EXTRA, MelodyEncoding
from guigen.music.midi import MidiError, read_midi_report
from guigen.music.polyphony import PolyphonyEncoding

MIDI_SUFFIXES = {".mid", ".midi", ".smf", ".kar"}
NOTATION_SUFFIXES = {".abc", ".musicxml", ".mxl", ".xml"}  # read by guigen.music.notation (music21), tune by tune
MAX_TRACK_LINES = 20  # files whose melody tracks the report lists one by one
CHORDS = "chord tracks (notes sounding together) reduced to their top line"


class Piece(list):
    """A piece's notes, and the metre of the file it came from (a conditioned melody model's condition)."""

    def __init__(self, notes, metre=(4, 4)):
        super().__init__(notes)
        self.metre = tuple(metre)


def encode_piece(codec, piece) -> np.ndarray:
    """A piece's ids: its condition token first when the codec has them (see MelodyEncoding.head)."""
    head = codec.head(piece, piece.metre) if getattr(codec, "metres", ()) else ()
    return np.concatenate([np.asarray(head, dtype=np.int64), codec.encode(piece)])


@dataclass
class Report:
    """What extraction did: files used, files rejected (with why), and counts of changes."""

    used: list[Path] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    pieces: int = 0
    tracks: list[tuple[Path, list[str], list[str]]] = field(default_factory=list)  # melody: (file, used, left out)

    def add(self, other: Report) -> None:
        self.used += other.used
        self.rejected += other.rejected
        self.counts.update(other.counts)
        self.pieces += other.pieces
        self.tracks += other.tracks

    def lines(self, title: str) -> list[str]:
        out = [f"{title}: {len(self.used)} file(s) used ({self.pieces} piece(s)), {len(self.rejected)} rejected"]
        out += [f"  {what}: {n}" for what, n in sorted(self.counts.items())]
        out += [f"  rejected {path}: {why}" for path, why in self.rejected]
        shown = self.tracks[:MAX_TRACK_LINES]
        for path, used, left in shown:  # which tracks melodies came from, chord tracks flagged
            out.append(f"  {path.name}: melodies from {_names(used) or 'no track'}"
                       + (f"; left out {_names(left)}" if left else ""))
        if len(self.tracks) > len(shown):
            out.append(f"  ... and {len(self.tracks) - len(shown)} more file(s)")
        return out

    def __str__(self) -> str:
        return f"{len(self.used)} file(s) used ({self.pieces} piece(s)), {self.details()}"

    def details(self) -> str:
        """What was rejected and what reading changed, without the counts of files and pieces."""
        changes = "; ".join(f"{what}: {n}" for what, n in sorted(self.counts.items()))
        rejected = "; ".join(f"{path.name}: {why}" for path, why in self.rejected)
        return (f"{len(self.rejected)} rejected" + (f" ({rejected})" if rejected else "")
                + (f"; {changes}" if changes else ""))

    def to_meta(self) -> dict:
        return {"files": len(self.used), "pieces": self.pieces, "rejected": len(self.rejected), **dict(self.counts)}


def _names(tracks: list[str], most: int = 12) -> str:
    """Track names for one report line: the first dozen, then how many more."""
    more = f" and {len(tracks) - most:,} more" if len(tracks) > most else ""
    return ", ".join(tracks[:most]) + more


def midi_files(paths) -> list[Path]:
    """MIDI files named, or found recursively in folders, in a stable order."""
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.suffix.lower() in MIDI_SUFFIXES | NOTATION_SUFFIXES
                            and f.is_file())
        elif p.is_file():
            found.append(p)
        else:
            from guigen.core.files import why_not_a_file

            raise DataError(f"{p}: {why_not_a_file(p, 'music file or folder')}")
    if not found:
        raise DataError(f"no MIDI files (*.mid, *.midi) or ABC/MusicXML files (*.abc, *.musicxml, *.mxl, *.xml) in "
                        f"{', '.join(map(str, paths))}")
    return found


def extract_tunes(codec, path: Path) -> tuple[list[list[Note]], Report]:
    """The pieces of an ABC or MusicXML file: each tune as a file of its own would give them; a tune
    that can't be read (or fitted) is rejected with its X: number and title, the others kept."""
    from guigen.music.notation import MISSING, NotationError, read_tunes

    report = Report()
    try:
        tunes = read_tunes(path)
    except NotationError as e:
        if str(e) == MISSING:  # every such file would say it: say it once
            raise DataError(MISSING) from None
        report.rejected.append((path, str(e).removeprefix(f"{path}: ")))
        return [], report
    pieces = []
    for tune in tunes:
        if tune.seq is None:
            report.rejected.append((path, f"tune {tune.label}: {tune.error}"))
            continue
        got, r = extract_sequence(codec, path, tune.seq, tune.changes)
        report.counts.update(r.counts)  # the tune's voices need no track lines: a tune is its file
        report.rejected += [(path, f"tune {tune.label}: {why}") for _, why in r.rejected]
        pieces += got
    if pieces:
        report.used.append(path)
        report.pieces = len(pieces)
    report.counts["tunes read from ABC/MusicXML"] += len(tunes)
    return pieces, report


def extract(codec, path: Path) -> tuple[list[list[Note]], Report]:
    """The pieces one file gives for this encoding."""
    if path.suffix.lower() in NOTATION_SUFFIXES:
        return extract_tunes(codec, path)
    try:
        seq, changes = read_midi_report(path)
    except MidiError as e:
        report = Report()
        report.rejected.append((path, str(e).removeprefix(f"{path}: ")))
        return [], report
    return extract_sequence(codec, path, seq, changes)


def extract_sequence(codec, path: Path, seq, changes) -> tuple[list[list[Note]], Report]:
    """The pieces a sequence read from `path` gives for this encoding (changes: what reading did)."""
    report = Report()
    report.counts.update(changes)
    drums = len(seq.notes) - len(seq.pitched())
    if drums:
        report.counts["drum notes left out"] += drums
    if codec.name == "melody":
        by_voice: dict[int, list[Note]] = {}  # one pass: a file may hold thousands of voices
        for n in seq.pitched():
            by_voice.setdefault(n.voice, []).append(n)
        groups = [by_voice.get(v, []) for v in range(len(seq.voices))]
        names = [repr(v.name) for v, g in zip(seq.voices, groups) if g]
        groups = [g for g in groups if g]
    else:
        groups = [seq.pitched()] if seq.pitched() else []
        names = []
    pieces, used, left = [], [], []
    for k, notes in enumerate(groups):
        piece, dropped = codec.fit(notes)
        report.counts.update(dropped)
        if piece is not None and getattr(codec, "key", None) is not None:
            if codec.key_shift(piece):
                report.counts[f"{'melodies' if codec.name == 'melody' else 'pieces'} moved to the model's key"] += 1
            piece = codec.to_key(piece) or None
        if piece is None:
            report.counts["voices that do not fit the melody range, left out"] += 1
        else:
            pieces.append(Piece(piece, seq.time_signature))
        if names:  # melody: say which track each melody came from, and which held chords
            chords = EXTRA in dropped
            if piece is None:
                left.append(names[k] + (" (chords, out of range)" if chords else " (out of range)"))
            else:
                used.append(names[k] + (" (chords: top line)" if chords else ""))
                if chords:
                    report.counts[CHORDS] += 1
    if not pieces:
        why = "no pitched notes" if not seq.pitched() else "no voice fits the melody range"
        report.rejected.append((path, why + (" (only drums)" if drums and not seq.pitched() else "")))
        return [], report
    report.used.append(path)
    report.pieces = len(pieces)
    if names:
        report.tracks.append((path, used, left))
    return pieces, report


def extract_all(codec, files) -> tuple[list[list[Note]], Report]:
    pieces, report = [], Report()
    for f in files:
        p, r = extract(codec, f)
        pieces += p
        report.add(r)
    return pieces, report


def encode_files(codec, paths) -> tuple[list[np.ndarray], int, Report]:
    """For `guigen eval`: id arrays (one per piece), the 16th-note steps they predict, and the report.

    The first id of each array is context, not predicted: a model scores ids[1:]. The steps
    counted are those the predicted ids cover, so NLL / steps is the NLL per 16th-note step.
    """
    pieces, report, metres = [], Report(), getattr(codec, "metres", ())
    for f in midi_files(paths):
        found, r = extract(codec, f)
        if metres and found:  # a conditioned model scores only the metres it knows
            found, unknown = known_metres(metres, found)
            if unknown:
                r.counts["pieces in a metre the model does not know, left out"] += unknown
            r.pieces = len(found)
            if not found:  # a file none of whose pieces is scored is not a file used
                r.used.clear()
                r.tracks.clear()
        pieces += found
        report.add(r)
    arrays = [encode_piece(codec, p) for p in pieces]
    if codec.name == "melody":
        steps = sum(len(a) - 1 for a in arrays)
    else:
        steps = sum(codec.count_steps(a) for a in arrays)
    return arrays, steps, report


class MusicData(TokenData):
    """TokenData whose training stream is reshuffled and re-transposed every epoch."""

    def __init__(self, codec, pieces, val, summary, shifts):
        self.pieces = pieces
        self.choices = [codec.transpositions(p, shifts) for p in pieces]  # shifts keeping each piece in range
        train = np.concatenate([encode_piece(codec, p) for p in pieces])
        super().__init__(codec, train, val, summary, same_every_epoch=False)

    def train_tokens(self, epoch: int, rng: np.random.Generator) -> np.ndarray:
        # the length never changes: a transposed piece encodes to as many events as the original
        parts = []
        for i in rng.permutation(len(self.pieces)):
            shift = int(rng.choice(self.choices[i]))
            metre = getattr(self.pieces[i], "metre", (4, 4))
            parts.append(encode_piece(self.codec, Piece(transpose(self.pieces[i], shift), metre)))
        return np.concatenate(parts)


def known_metres(metres, pieces) -> tuple[list, int]:
    """The pieces in one of these metres, and how many were not."""
    kept = [p for p in pieces if p.metre in metres]
    return kept, len(pieces) - len(kept)


def parse_transpose(spec: str) -> tuple[int, int]:
    """'4' -> (-4, 4); '-4:4' or '-4..4' -> (-4, 4); '0' -> no transposition."""
    try:
        if ":" in spec or ".." in spec:
            low, high = (int(x) for x in spec.replace("..", ":").split(":"))
        else:
            high = int(spec)
            low = -high
    except ValueError:
        raise ValueError(f"transposition is N (for -N..N) or LOW:HIGH semitones, not {spec!r}") from None
    if not -24 <= low <= high <= 24:
        raise ValueError(f"transposition {spec!r} must go from low to high within -24..24 semitones")
    return low, high


def parse_key(spec: str) -> int | None:
    """'C' -> 0, 'F#' or 'Gb' -> 6, 'Am' (a minor key: its relative major) -> 0, 'none' -> None."""
    name = spec.strip().capitalize().replace("♯", "#").replace("♭", "b")
    minor = len(name) > 1 and name.endswith("m") and name != "None"
    if minor:
        name = name[:-1]
    if name == "None":
        return None
    flats = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}
    name = flats.get(name, name)
    if name not in KEY_NAMES:
        raise ValueError(f"key is a note name like C, F#, Bb or Am (or none), not {spec!r}")
    return (KEY_NAMES.index(name) + (3 if minor else 0)) % 12


def _held_out(files: list[Path]) -> tuple[list[Path], list[Path]]:
    """Every 10th file for validation (at least one), spread over the list."""
    if len(files) < 2:
        raise DataError("one MIDI file can't be split into training and validation; add files or give --valid")
    k = max(1, len(files) // 10)
    val_idx = {min(len(files) - 1, (2 * j + 1) * len(files) // (2 * k)) for j in range(k)}
    return [f for i, f in enumerate(files) if i not in val_idx], [f for i, f in enumerate(files) if i in val_idx]


def music_data(folders, encoding="polyphony", valid=None, transpose_range=(0, 0), min_pitch=48, max_pitch=83,
               log=sys.stderr, key=None, fixed_codec=None, conditions=False) -> MusicData:
    """Extract, report (to log) and encode training and validation data.

    fixed_codec (fine-tuning) is kept as it is: polyphony notes outside its pitch range are dropped.
    """
    try:
        codec = fixed_codec or make_encoding(encoding, min_pitch, max_pitch, key)
    except ValueError as e:
        raise DataError(str(e)) from None
    files = midi_files(folders)
    if valid:
        train_files, val_files = files, midi_files(valid)
    else:
        train_files, val_files = _held_out(files)
    pieces, train_report = extract_all(codec, train_files)
    val_pieces, val_report = extract_all(codec, val_files)
    if log is not None:
        from guigen.core.safetext import one_line  # file names and tune titles: control characters escaped

        print("\n".join(map(one_line, train_report.lines("training data") + val_report.lines("validation data"))),
              file=log)
    if not pieces:
        raise DataError("no usable training pieces (see the report above)")
    if not val_pieces:
        raise DataError("no usable validation pieces (see the report above)")
    if conditions or getattr(codec, "metres", ()):
        codec, pieces, val_pieces = _conditioned(codec, pieces, val_pieces, fixed_codec is not None, log)
    low, high = transpose_range
    if codec.name == "polyphony" and fixed_codec is not None:
        before = sum(map(len, pieces)) + sum(map(len, val_pieces))
        pieces, val_pieces = ([[n for n in p if codec.min_pitch <= n.pitch <= codec.max_pitch] for p in ps]
                              for ps in (pieces, val_pieces))
        dropped = before - sum(map(len, pieces)) - sum(map(len, val_pieces))
        if dropped and log is not None:
            print(f"note: {dropped:,} notes outside the model's pitch range "
                  f"({codec.min_pitch}-{codec.max_pitch}) left out", file=log)
        pieces, val_pieces = [p for p in pieces if p], [p for p in val_pieces if p]
        if not pieces or not val_pieces:
            raise DataError(f"no notes within the model's pitch range {codec.min_pitch}-{codec.max_pitch}")
    elif codec.name == "polyphony":  # the pitches a model will know: the training range, transpositions included
        pitches = [n.pitch for p in pieces for n in p]
        codec = PolyphonyEncoding(codec.key, 0, max(0, min(pitches) + (0 if key is not None else low)),
                                  min(127, max(pitches) + (0 if key is not None else high)))
    val = np.concatenate([encode_piece(codec, p) for p in val_pieces])
    if key is not None and (low, high) != (0, 0):
        if log is not None:
            print("note: --transpose is not used when every piece is moved to one key (--to-key)", file=log)
        low = high = 0
    summary = {
        "data": [Path(f).name for f in folders],
        "valid_data": [Path(f).name for f in valid] if valid else "every 10th file held out",
        "encoding": codec.name,
        "transpose": [low, high],
        "train_files": train_report.to_meta(),
        "valid_files": val_report.to_meta(),
    }
    return MusicData(codec, pieces, val, summary, range(low, high + 1))


def _conditioned(codec, pieces, val_pieces, fixed: bool, log):
    """The conditioned codec (the training metres, or a fine-tuned model's own) and the pieces it can hold."""
    if codec.name != "melody" or codec.key is None:
        raise DataError("--conditions is for melody models moved to one key: give --encoding melody --to-key C")
    if not fixed:
        metres = sorted({p.metre for p in pieces}, key=lambda m: (m[1], m[0]))
        codec = MelodyEncoding(codec.min_pitch, codec.max_pitch, codec.key, metres)
    pieces, left = known_metres(codec.metres, pieces)
    val_pieces, val_left = known_metres(codec.metres, val_pieces)
    if log is not None:
        print(f"conditions: metres {', '.join(map(metre_name, codec.metres))}; modes {', '.join(MODES)}"
              + (f"; left out in other metres: {left} training and {val_left} validation pieces"
                 if left or val_left else ""), file=log)
    if not pieces or not val_pieces:
        raise DataError("no training or validation pieces in the model's metres")
    return codec, pieces, val_pieces
