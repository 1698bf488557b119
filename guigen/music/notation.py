"""ABC and MusicXML in, as the NoteSequences MIDI files are read into: the only module that imports music21.

music21 is an optional extra (`pip install 'guigen[notation]'`) and is imported inside the
functions, so the rest of GuiGen runs without it; without it, reading says what to install.

An ABC file holds several tunes, each opened by an `X:` line; each is parsed on its own, so a
broken tune is reported (file, X: number, title, why) and the others are kept. A MusicXML file
(.musicxml, .xml, or compressed .mxl) is one tune whose parts become voices.

What reading does to a tune, so that it is what a player plays on the 16th-note grid:
- repeats and first/second endings are written out (music21's expandRepeats); where music21
  cannot expand them, the tune is kept as written and counted;
- tied notes are joined; grace notes (no time of their own) are left out, counted;
- times are rounded to the nearest 16th note (triplets and finer values land on the grid and are
  counted as "notes off the 16th-note grid, rounded"); a note rounded to nothing keeps one step;
- the tune starts at step 0 with its first note (a pickup is not padded to a full bar), as a MIDI
  file of it would; the first time signature, key and tempo (Q:, else 120 qpm) are kept.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from guigen.music.events import DEFAULT_QPM, DEFAULT_VELOCITY, STEPS_PER_QUARTER, Note, NoteSequence, Voice

ABC_SUFFIXES = {".abc"}
MUSICXML_SUFFIXES = {".musicxml", ".xml", ".mxl"}
NOTATION_SUFFIXES = ABC_SUFFIXES | MUSICXML_SUFFIXES
MISSING = "reading ABC/MusicXML needs music21: pip install 'guigen[notation]'"
MAX_BYTES = 32 << 20  # no real tune book is this large


class NotationError(ValueError):
    """An ABC or MusicXML file or tune could not be used; the message names it and says why."""


@dataclass
class Tune:
    """One tune of a file: its notes on the grid, or why it could not be read."""

    number: int | None  # the ABC X: number; None for MusicXML
    title: str
    seq: NoteSequence | None = None
    key: str = ""  # as music21 names it, e.g. "G major", "a dorian"
    changes: Counter = field(default_factory=Counter)  # what reading changed, as the MIDI reader's report
    error: str = ""

    @property
    def label(self) -> str:
        """How a person finds the tune again: 'X:12 "The Kesh"'."""
        number = f"X:{self.number} " if self.number is not None else ""
        return f"{number}{self.title!r}" if self.title else (number.strip() or "the score")


def is_notation(path) -> bool:
    return Path(path).suffix.lower() in NOTATION_SUFFIXES


def _music21():
    try:
        import music21
    except ImportError:
        raise NotationError(MISSING) from None
    return music21


def _text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise NotationError(f"{path}: too large to be a tune book")
        data = path.read_bytes()
    except OSError as e:
        raise NotationError(f"{path}: cannot read ({e.strerror or e})") from None
    # ABC files of the 1990s are often Latin-1; music21 itself reads them as such when UTF-8 fails
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


_X = re.compile(r"^X:\s*(\d*)", re.MULTILINE)
_T = re.compile(r"^T:\s*(.*)$", re.MULTILINE)


def split_abc(text: str) -> list[tuple[int | None, str, str]]:
    """(X: number, title, the tune's text with the file header before it) for each tune."""
    starts = [m.start() for m in _X.finditer(text)]
    if not starts:  # a single tune written without X:
        return [(None, _title(text), text)] if re.search(r"^K:", text, re.MULTILINE) else []
    header = text[:starts[0]]
    # the file header only carries fields that apply to all tunes; keep its field lines only
    header = "\n".join(line for line in header.splitlines() if re.match(r"^[A-Za-z]:", line) and not
                       line.startswith(("X:", "T:")))
    tunes = []
    for a, b in zip(starts, starts[1:] + [len(text)]):
        body = text[a:b]
        m = _X.match(body)
        number = int(m.group(1)) if m.group(1) else None
        first, _, rest = body.partition("\n")
        tunes.append((number, _title(body), first + "\n" + (header + "\n" if header else "") + rest))
    return tunes


def _title(text: str) -> str:
    m = _T.search(text)
    return m.group(1).strip() if m else ""


def _steps(quarters, changes: Counter, what: str = "notes off the 16th-note grid, rounded") -> int:
    exact = Fraction(quarters).limit_denominator(10_000) * STEPS_PER_QUARTER
    if exact.denominator != 1:
        changes[what] += 1
    return int(exact + Fraction(1, 2)) if exact >= 0 else -int(-exact + Fraction(1, 2))


_M = re.compile(r"^M:\s*([^%\n]*)|\[M:\s*([^\]]*)\]", re.MULTILINE)


def abc_meters(text: str) -> list[tuple[int, int]]:
    """The time signatures an ABC tune's M: fields give, in order ('C' is 4/4, 'C|' 2/2)."""
    out = []
    for m in _M.finditer(text):
        spec = (m.group(1) or m.group(2) or "").strip().replace(" ", "")
        if spec in ("C", "c"):
            out.append((4, 4))
        elif spec in ("C|", "c|"):
            out.append((2, 2))
        elif re.fullmatch(r"\d+/\d+", spec):
            num, den = spec.split("/")
            out.append((int(num), int(den)))
    return out


def _sequence(score, name: str, changes: Counter, meters=None) -> tuple[NoteSequence, str]:
    """A parsed music21 score (or part) as a NoteSequence on the grid, and its key's name.
    meters: an ABC tune's own M: fields (music21 invents short ones for incomplete bars)."""
    m21 = _music21()
    written = score
    try:
        expanded = score.expandRepeats()
        if expanded is not None:
            score = expanded
    except Exception:  # music21's ExpanderException and friends: repeats it cannot follow
        changes["tunes whose repeats could not be written out (kept as written)"] += 1
    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    notes, voices = [], []
    first_offset = None
    for v, part in enumerate(parts):
        flat = part.flatten()
        program = 0
        instrument = next(iter(flat.getElementsByClass(m21.instrument.Instrument)), None)
        if instrument is not None and instrument.midiProgram is not None:
            program = int(instrument.midiProgram)
        voices.append(Voice(part.partName or (f"part {v + 1}" if len(parts) > 1 else name), program))
        tied: dict[int, int] = {}  # pitch -> index in notes of the note its tie continues
        for n in flat.notes:
            if n.duration.isGrace or n.quarterLength == 0:
                changes["grace notes left out"] += 1
                continue
            start = Fraction(n.offset)
            end = start + Fraction(n.quarterLength)
            heads = list(n.notes) if n.isChord else [n]
            if not any(hasattr(h, "pitch") for h in heads):  # unpitched percussion
                changes["unpitched notes left out"] += 1
                continue
            first_offset = start if first_offset is None else min(first_offset, start)
            for h in heads:
                pitch, tie = h.pitch.midi, (h.tie.type if h.tie is not None else None)
                # a tie joins notes of one pitch (music21's stripTies also joins ABC's "G-A", a slur)
                i = tied.pop(pitch, None)
                if tie in ("stop", "continue") and i is not None and notes[i][1] == start:
                    notes[i] = (notes[i][0], end, pitch, v)
                else:
                    notes.append((start, end, pitch, v))
                    i = len(notes) - 1
                if tie in ("start", "continue"):
                    tied[pitch] = i
    if not notes:
        raise NotationError("no notes")
    grid = []
    for start, end, pitch, v in notes:
        s = _steps(start - first_offset, changes)
        e = _steps(end - first_offset, Counter())  # a note's end is off the grid when its start is
        if e <= s:
            e = s + 1
            changes["notes shorter than a step lengthened to one"] += 1
        grid.append(Note(s, e, min(127, max(0, pitch)), DEFAULT_VELOCITY, v))
    flat = written.flatten()
    if meters is None:
        meters = [(int(t.numerator), int(t.denominator))
                  for t in sorted(flat.getElementsByClass(m21.meter.TimeSignature), key=lambda t: t.offset)]
    time_signature = meters[0] if meters else (4, 4)
    if len(set(meters)) > 1:
        changes["tunes with a change of time signature (the first kept)"] += 1
    mark = next(iter(flat.getElementsByClass(m21.tempo.MetronomeMark)), None)
    qpm = DEFAULT_QPM
    if mark is not None:
        try:
            qpm = float(mark.getQuarterBPM() or DEFAULT_QPM)
        except Exception:
            qpm = DEFAULT_QPM
    key = next(iter(flat.getElementsByClass(m21.key.KeySignature)), None)
    key_name = ""
    if key is not None:
        key_name = (f"{key.tonic.name} {key.mode}" if isinstance(key, m21.key.Key)
                    else key.asKey("major").name)  # a bare signature: name its major key
    seq = NoteSequence(sorted(grid), [(0, round(min(1000.0, max(1.0, qpm)), 3))], time_signature,
                       voices or [Voice()], STEPS_PER_QUARTER, name)
    return seq, key_name


def _parse_abc_tune(number, title, text, stem) -> Tune:
    m21 = _music21()
    tune = Tune(number, title)
    try:
        score = m21.converter.parse(text, format="abc", forceSource=True)
        if isinstance(score, m21.stream.Opus):
            score = score.scores[0] if score.scores else None
        if score is None:
            raise NotationError("no music")
        name = title or (f"{stem} X:{number}" if number is not None else stem)
        tune.seq, tune.key = _sequence(score, name, tune.changes, abc_meters(text))
    except NotationError as e:
        tune.error = str(e)
    except Exception as e:  # music21 raises many kinds for broken ABC; the reason is kept for the report
        tune.error = f"{type(e).__name__}: {e}".strip().rstrip(":")[:200] or type(e).__name__
    return tune


def _parse_musicxml(path: Path) -> Tune:
    m21 = _music21()
    tune = Tune(None, path.stem)
    try:
        score = m21.converter.parse(str(path), forceSource=True)
        if isinstance(score, m21.stream.Opus):
            score = score.scores[0] if score.scores else None
        if score is None:
            raise NotationError("no music")
        if score.metadata is not None and score.metadata.title:
            tune.title = score.metadata.title
        tune.seq, tune.key = _sequence(score, tune.title, tune.changes)
    except NotationError as e:
        tune.error = str(e)
    except Exception as e:
        tune.error = f"{type(e).__name__}: {e}".strip()[:200]
    return tune


@lru_cache(maxsize=64)
def _read_cached(path: str, mtime: float, size: int) -> tuple[Tune, ...]:
    p = Path(path)
    if p.suffix.lower() in ABC_SUFFIXES:
        tunes = split_abc(_text(p))
        if not tunes:
            raise NotationError(f"{p}: no ABC tunes (no X: or K: lines)")
        return tuple(_parse_abc_tune(n, t, text, p.stem) for n, t, text in tunes)
    return (_parse_musicxml(p),)


def read_tunes(path) -> list[Tune]:
    """Every tune of an ABC or MusicXML file, read or with its error; parsed once per run
    (music21 takes seconds over a tune book), cached by the file's path, time and size."""
    path = Path(path)
    if not is_notation(path):
        raise NotationError(f"{path}: not an ABC or MusicXML file (.abc, .musicxml, .mxl, .xml)")
    _music21()
    try:
        st = path.stat()
    except OSError as e:
        raise NotationError(f"{path}: cannot read ({e.strerror or e})") from None
    return list(_read_cached(str(path.resolve()), st.st_mtime, st.st_size))


def pick_tune(tunes: list[Tune], tune: str | int | None, path) -> Tune:
    """The tune chosen by X: number or title (case-insensitive; a unique start of a title will
    do); without a choice, the file's only (or first readable) tune."""
    if tune is None or str(tune).strip() == "":
        usable = [t for t in tunes if t.seq is not None]
        if not usable:
            raise NotationError(f"{path}: no readable tune ({tunes[0].label}: {tunes[0].error})")
        return usable[0]
    spec = str(tune).strip()
    if spec.isdigit():
        found = [t for t in tunes if t.number == int(spec)]
        if not found and not any(t.number is not None for t in tunes) and 1 <= int(spec) <= len(tunes):
            found = [tunes[int(spec) - 1]]  # no X: numbers: count tunes from 1
    else:
        found = [t for t in tunes if t.title.casefold() == spec.casefold()]
        found = found or [t for t in tunes if t.title.casefold().startswith(spec.casefold())]
    if not found:
        listed = ", ".join(t.label for t in tunes[:8]) + (", ..." if len(tunes) > 8 else "")
        raise NotationError(f"{path}: no tune {spec!r} (the file has {len(tunes)}: {listed})")
    if len(found) > 1:
        raise NotationError(f"{path}: {len(found)} tunes match {spec!r} ({', '.join(t.label for t in found[:5])}); "
                            "give its X: number")
    chosen = found[0]
    if chosen.seq is None:
        raise NotationError(f"{path}: tune {chosen.label} cannot be read: {chosen.error}")
    return chosen


def read_notation(path, tune: str | int | None = None) -> NoteSequence:
    """One tune of an ABC or MusicXML file as a NoteSequence (for primers); NotationError if it can't be read."""
    return pick_tune(read_tunes(path), tune, path).seq
