"""ABC and MusicXML in, as the NoteSequences MIDI files are read into, and MusicXML scores out: the only
module that imports music21.

music21 is an optional extra (`python -m pip install music21`, or the clone's extra `.[notation]`) and is imported inside the
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
- step 0 is the tune's first bar line: a pickup starts as far before the next bar line as it is
  long (at step 12 for a quarter-note pickup in 4/4), leading rests are kept, so every bar line
  stays where the tune puts it; the first time signature, key and tempo (Q:, else 120 qpm) are kept.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from guigen.music.events import DEFAULT_QPM, DEFAULT_VELOCITY, STEPS_PER_QUARTER, Note, NoteSequence, Voice
from guigen.music.notation_bounds import MAX_BYTES, MAX_QPM, MIN_QPM, BoundsError, check_abc_tune, check_xml_notes, mxl_score

ABC_SUFFIXES = {".abc"}
MUSICXML_SUFFIXES = {".musicxml", ".xml", ".mxl"}
NOTATION_SUFFIXES = ABC_SUFFIXES | MUSICXML_SUFFIXES
# the install command for this very Python (a venv, pipx's, the system's): `pip install 'guigen[notation]'`
# outside a clone's venv would fetch some other package of that name from PyPI
INSTALL = f"{shlex.quote(sys.executable)} -m pip install music21"
MISSING = f"reading ABC/MusicXML needs music21: {INSTALL}"
EXPAND_NOTES = 1_500  # repeats written out in tunes up to this long (see _sequence)
MAX_STEPS = 20_000 * STEPS_PER_QUARTER  # as MIDI files (guigen.music.midi.MAX_QUARTERS)


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
    _linear_reading(music21)
    return music21


# music21's readers spend time that grows with the square of a tune's length in three places
# (profiled on a 2,000-note ABC tune: 13 of 18 s in makeBeams, whose per-bar context search
# walks the whole part, and 4 s in reBar, which indexes a fresh iterator per bar; on a 3,000-note
# MusicXML score, 2.4 of 4.6 s in Part.insert, which recomputes the part's length per bar).
# Reading needs no beams, reBar's walk is made over a list, and bars are inserted in order:
# while this thread reads (and only then), those three are replaced, so a 10,000-note tune
# reads in about 2 s.
_reading = threading.local()


def _linear_reading(m21) -> None:
    translate = m21.abcFormat.translate
    if getattr(translate.reBar, "guigen", False):
        return
    make_beams, re_bar = m21.stream.Stream.makeBeams, translate.reBar

    def beams(self, *args, **kwargs):
        return None if getattr(_reading, "on", False) else make_beams(self, *args, **kwargs)

    def bars(part, *, inPlace=False):
        if not (getattr(_reading, "on", False) and inPlace):
            return re_bar(part, inPlace=inPlace)
        _rebar(m21, part)

    insert = m21.stream.Stream.insert

    def insert_measure(self, offset, item=None, **kwargs):
        # MusicXML's reader inserts bar after bar, in order; each insert into a sorted part
        # recomputes the part's length, unless told the order is kept (which it is)
        if getattr(_reading, "on", False) and isinstance(item, m21.stream.Measure) \
                and isinstance(self, m21.stream.Part):
            kwargs["ignoreSort"] = True
        return insert(self, offset, item, **kwargs)

    bars.guigen = True
    m21.stream.Stream.makeBeams = beams
    m21.stream.Stream.insert = insert_measure
    translate.reBar = bars


def _rebar(m21, part) -> None:
    """music21.abcFormat.translate.reBar (split bars longer than their time signature), over a list."""
    common, last, shift = m21.common, None, 0
    measures = list(part.getElementsByClass(m21.stream.Measure))
    for i, m in enumerate(measures):
        if m.timeSignature is not None:
            last = m.timeSignature
        if last is None:
            raise m21.abcFormat.translate.ABCTranslateException("No time signature found in this Part")
        bar = last.barDuration.quarterLength
        m.number += shift
        if common.opFrac(m.highestTime) > bar:
            m1, m2 = m.splitAtQuarterLength(bar)
            m2.timeSignature = None
            if bar != m2.highestTime:
                try:
                    m2.timeSignature = m2.bestTimeSignature()
                except m21.exceptions21.StreamException as e:
                    raise m21.abcFormat.translate.ABCTranslateException(f"Problem with measure {m.number}: {e}")
                if i != len(measures) - 1 and measures[i + 1].timeSignature is None:
                    measures[i + 1].timeSignature = last
            m2.keySignature = None
            m2.clef = None
            m2.number = m1.number + 1
            shift += 1
            part.insert(common.opFrac(m1.offset + m1.highestTime), m2)


@contextlib.contextmanager
def _parsing(changes: Counter):
    """While music21 reads: the linear reader on, and what music21 prints or warns counted in
    `changes` (one line for people later), never printed raw."""
    import warnings

    _reading.on = True
    printed, caught = io.StringIO(), []
    try:
        with contextlib.redirect_stderr(printed), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        _reading.on = False
        lines = [ln for ln in printed.getvalue().splitlines() if ln.strip()] + [str(w.message) for w in caught]
        for line in lines:
            changes[PITCHLESS if "Could not get pitch information" in line else OTHER_WARNINGS] += 1


PITCHLESS = "notes without pitch were read as C"
OTHER_WARNINGS = "other music21 warnings (left out)"


def _text(path: Path) -> str:
    try:
        from guigen.core.files import open_regular

        with open_regular(path, "tune book") as f:  # a FIFO or device is refused, never waited on
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise NotationError(f"{path}: too large to be a tune book")
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
        number = int(m.group(1)) if m.group(1) and len(m.group(1)) <= 9 else None  # no 5,000-digit numbers
        first, _, rest = body.partition("\n")
        if m.group(1) and number is None:
            first = "X:0"  # music21 would int() the digits: Python refuses 4,300 and more
        tunes.append((number, _title(body), first + "\n" + (header + "\n" if header else "") + rest))
    return tunes


def _title(text: str) -> str:
    m = _T.search(text)
    return m.group(1).strip() if m else ""


def _steps(quarters, changes: Counter, what: str = "notes off the 16th-note grid, rounded") -> int:
    q = quarters * STEPS_PER_QUARTER
    if q == int(q):
        return int(q)  # on the grid: most notes, without limit_denominator's cost
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


def _with_unit_length(text: str) -> str:
    """The tune with an L: field: ABC's rule (L is 1/16 under a metre below 3/4, else 1/8) made explicit,
    since music21 refuses a tune that leaves it out and has no M: either."""
    if re.search(r"^L:", text, re.M):
        return text
    meters = abc_meters(text)
    unit = "1/16" if meters and meters[0][0] / meters[0][1] < 0.75 else "1/8"
    return re.sub(r"^(X:.*)$", rf"\1\nL:{unit}", text, count=1, flags=re.M) if re.search(r"^X:", text, re.M) \
        else f"L:{unit}\n{text}"


def _sequence(score, name: str, changes: Counter, meters=None, repeats=True) -> tuple[NoteSequence, str]:
    """A parsed music21 score (or part) as a NoteSequence on the grid, and its key's name.
    meters: an ABC tune's own M: fields (music21 invents short ones for incomplete bars)."""
    m21 = _music21()
    written = score
    # expandRepeats deep-copies the score, in time that grows with the square of its length: only
    # where there are repeats, and up to EXPAND_NOTES notes (about a second)
    size = len(score.flatten().notes) if repeats else 0
    if repeats and size > EXPAND_NOTES:
        changes[f"repeats of tunes over {EXPAND_NOTES:,} notes not written out (kept as written)"] += 1
    elif repeats:
        try:
            expanded = score.expandRepeats()
            if expanded is not None:
                score = expanded
        except Exception:  # music21's ExpanderException and friends: repeats it cannot follow
            # (music21 also refuses a tune of three bars or fewer, which it reads without measures)
            changes["tunes whose repeats could not be written out (kept as written)"] += 1
    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    notes, voices = [], []
    first_offset = None
    flats = []
    for v, part in enumerate(parts):
        flat = part.flatten()
        flats.append(flat)
        program = 0
        instrument = next(iter(flat.getElementsByClass(m21.instrument.Instrument)), None)
        if instrument is not None and instrument.midiProgram is not None:
            program = int(instrument.midiProgram)
        voices.append(Voice(part.partName or (f"part {v + 1}" if len(parts) > 1 else name), program))
        tied: dict[int, int] = {}  # pitch -> index in notes of the note its tie continues
        for n in flat.notes:
            if isinstance(n, m21.harmony.Harmony):  # an ABC "Am" over the tune: accompaniment, not melody
                changes["chord symbols left out"] += 1
                continue
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
    # a pickup (music21's paddingLeft on the short first measure) keeps its place before the first
    # bar line, which is step 0: the notes lie where the tune puts them (issue 24)
    measures = parts[0].getElementsByClass(m21.stream.Measure) if hasattr(parts[0], "getElementsByClass") else []
    first_offset = -Fraction(measures[0].paddingLeft) if len(measures) and measures[0].paddingLeft else Fraction(0)
    grid = []
    for start, end, pitch, v in notes:
        s = _steps(start - first_offset, changes)
        e = _steps(end - first_offset, Counter())  # a note's end is off the grid when its start is
        if e <= s:
            e = s + 1
            changes["notes shorter than a step lengthened to one"] += 1
        if e > MAX_STEPS:
            raise NotationError(f"longer than {MAX_STEPS // STEPS_PER_QUARTER:,} quarter notes, the most GuiGen reads")
        grid.append(Note(s, e, min(127, max(0, pitch)), DEFAULT_VELOCITY, v))
    flat = flats[0] if score is written and len(flats) == 1 else written.flatten()  # flattening costs
    if meters is None:
        meters = [(int(t.numerator), int(t.denominator))
                  for t in sorted(flat.getElementsByClass(m21.meter.TimeSignature), key=lambda t: t.offset)]
    time_signature = meters[0] if meters else (4, 4)
    meter_changes, key_changes = _changes(m21, flats[0], set(meters), time_signature, first_offset, changes)
    mark = next(iter(flat.getElementsByClass(m21.tempo.MetronomeMark)), None)
    qpm = DEFAULT_QPM
    if mark is not None:
        try:
            qpm = float(mark.getQuarterBPM() or DEFAULT_QPM)
        except Exception:
            qpm = DEFAULT_QPM
        if not MIN_QPM <= qpm <= MAX_QPM:  # refused, never clamped into a different piece
            raise NotationError(f"a tempo of {qpm:g} quarter notes a minute, outside {MIN_QPM:g}..{MAX_QPM:g}")
    key = next(iter(flat.getElementsByClass(m21.key.KeySignature)), None)
    key_name = ""
    if key is not None:
        key_name = (f"{key.tonic.name} {key.mode}" if isinstance(key, m21.key.Key)
                    else key.asKey("major").name)  # a bare signature: name its major key
    seq = NoteSequence(sorted(grid), [(0, round(qpm, 3))], time_signature,
                       voices or [Voice()], STEPS_PER_QUARTER, name, meter_changes, key_changes=key_changes)
    return seq, key_name


def _changes(m21, flat, meters: set, opening, first_offset, changes: Counter):
    """The time signature changes after the first, as (step, numerator, denominator), and the key
    signatures, as (step, sharps; flats < 0) from the first: where the (repeats written out) part
    puts them, each where it differs from the one before. meters: the metres the tune names (an
    ABC tune's M: fields); music21 gives a short bar it splits off a signature of its own."""
    meter_changes, current = [], opening
    for t in sorted(flat.getElementsByClass(m21.meter.TimeSignature), key=lambda t: t.offset):
        m = (int(t.numerator), int(t.denominator))
        step = max(_steps(Fraction(t.offset) - first_offset, Counter()), 0)
        if m == current or (meters and m not in meters):
            continue
        if meter_changes and meter_changes[-1][0] == step:
            meter_changes.pop()  # of several on one step, the last holds
        if step == 0:
            continue
        meter_changes.append((step, *m))
        current = m
    key_changes: list[tuple[int, int]] = []
    for k in sorted(flat.getElementsByClass(m21.key.KeySignature), key=lambda k: k.offset):
        step = max(_steps(Fraction(k.offset) - first_offset, Counter()), 0) if key_changes else 0  # the opening's
        if key_changes and key_changes[-1][1] == k.sharps:
            continue
        if key_changes and key_changes[-1][0] == step:
            key_changes.pop()
        key_changes.append((step, int(k.sharps)))
    if meter_changes:
        changes["time signature changes (kept)"] += len(meter_changes)
    if len(key_changes) > 1:
        changes["key signature changes (kept)"] += len(key_changes) - 1
    return meter_changes, key_changes


def _parse_abc_tune(number, title, text, stem) -> Tune:
    tune = Tune(number, title)
    why = check_abc_tune(text)  # absurd headers and huge tunes: refused before music21 is even imported
    if why:
        tune.error = why
        return tune
    m21 = _music21()
    try:
        with _parsing(tune.changes):
            score = m21.converter.parse(_with_unit_length(text), format="abc", forceSource=True)
        if isinstance(score, m21.stream.Opus):
            score = score.scores[0] if score.scores else None
        if score is None:
            raise NotationError("no music")
        name = title or (f"{stem} X:{number}" if number is not None else stem)
        with _parsing(tune.changes):
            tune.seq, tune.key = _sequence(score, name, tune.changes, abc_meters(text),
                                           repeats=bool(re.search(r":\||\|:|::", text)))
    except NotationError as e:
        tune.error = str(e)
    except RecursionError:
        tune.error = "nested too deeply to read"
    except Exception as e:  # music21 raises many kinds for broken ABC; the reason is kept for the report
        first = str(e).split(". ")[0].strip().rstrip(":.")  # music21 appends its internal tokens after the reason
        tune.error = f"{type(e).__name__}: {first}"[:200] if first else type(e).__name__
    return tune


def _score_bytes(path: Path) -> bytes:
    """The MusicXML text of a .musicxml/.xml file or inside an .mxl, bounded (notation_bounds)."""
    from guigen.core.files import open_regular

    with open_regular(path, "score") as f:  # a FIFO or device is refused, never waited on
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise NotationError(f"larger than {MAX_BYTES >> 20} MB, too large to be a score")
    if path.suffix.lower() == ".mxl" or data[:4] == b"PK\x03\x04":
        data = mxl_score(data)
    check_xml_notes(data)
    return data


def _parse_musicxml(path: Path) -> Tune:
    tune = Tune(None, path.stem)
    try:
        data = _score_bytes(path)
        m21 = _music21()
        with _parsing(tune.changes):
            score = m21.converter.parse(data, format="musicxml", forceSource=True)
        if isinstance(score, m21.stream.Opus):
            score = score.scores[0] if score.scores else None
        if score is None:
            raise NotationError("no music")
        if score.metadata is not None and score.metadata.title:
            tune.title = score.metadata.title
        with _parsing(tune.changes):
            tune.seq, tune.key = _sequence(score, tune.title, tune.changes,
                                           repeats=b"<repeat" in data or b"<ending" in data)
    except (NotationError, BoundsError) as e:
        tune.error = str(e)
    except OSError as e:
        tune.error = str(e.strerror or e)
    except RecursionError:
        tune.error = "nested too deeply to read"
    except Exception as e:
        tune.error = f"{type(e).__name__}: {e}".strip()[:200]
    return tune


@lru_cache(maxsize=64)
def _index_cached(path: str, mtime: float, size: int) -> tuple[tuple[int | None, str, str], ...]:
    """An ABC book's tunes, unparsed: (X: number, title, text), read and split once per file version."""
    p = Path(path)
    tunes = split_abc(_text(p))
    if not tunes:
        raise NotationError(f"{p}: no ABC tunes (no X: or K: lines)")
    return tuple(tunes)


@lru_cache(maxsize=256)
def _tune_cached(path: str, mtime: float, size: int, i: int) -> Tune:
    p = Path(path)
    if p.suffix.lower() in ABC_SUFFIXES:
        return _parse_abc_tune(*_index_cached(path, mtime, size)[i], p.stem)
    return _parse_musicxml(p)


def _version(path: Path) -> tuple[str, float, int]:
    """The cache key of a file: its resolved path, time and size."""
    if not is_notation(path):
        raise NotationError(f"{path}: not an ABC or MusicXML file (.abc, .musicxml, .mxl, .xml)")
    try:
        st = path.stat()
    except OSError as e:
        raise NotationError(f"{path}: cannot read ({e.strerror or e})") from None
    return str(path.resolve()), st.st_mtime, st.st_size


def _count(key) -> int:
    return len(_index_cached(*key)) if Path(key[0]).suffix.lower() in ABC_SUFFIXES else 1


def read_tunes(path) -> list[Tune]:
    """Every tune of an ABC or MusicXML file, read or with its error; parsed once per run
    (music21 takes seconds over a tune book), cached by the file's path, time and size."""
    key = _version(Path(path))
    return [_tune_cached(*key, i) for i in range(_count(key))]


def _stubs(key) -> list[Tune]:
    """The tunes of a file by number and title only, nothing parsed (to pick one from a book)."""
    if Path(key[0]).suffix.lower() not in ABC_SUFFIXES:
        return [_tune_cached(*key, 0)]
    return [Tune(n, t, error="not read yet") for n, t, _ in _index_cached(*key)]


def pick_tune(tunes: list[Tune], tune: str | int | None, path, parse=None) -> Tune:
    """The tune chosen by X: number or title (case-insensitive; a unique start of a title will
    do); without a choice, the file's only (or first readable) tune. parse(i): the i-th tune
    read, for tunes given unread (a book's index), so only the chosen one is parsed."""
    parse = parse or (lambda i: tunes[i])
    if tune is None or str(tune).strip() == "":
        first = None
        for i in range(len(tunes)):
            t = parse(i)
            if t.seq is not None:
                return t
            first = first or t
        if len(tunes) == 1:
            raise NotationError(f"{path}: cannot be read ({_label_error(first)})")
        raise NotationError(f"{path}: none of its {len(tunes)} tunes can be read ({first.label}: {first.error})")
    spec = str(tune).strip()
    if spec.isdigit():
        if len(spec) > 9:
            raise NotationError(f"{path}: no tune {spec[:12]!r}... (X: numbers are small)")
        found = [i for i, t in enumerate(tunes) if t.number == int(spec)]
        if not found and not any(t.number is not None for t in tunes) and 1 <= int(spec) <= len(tunes):
            found = [int(spec) - 1]  # no X: numbers: count tunes from 1
    else:
        found = [i for i, t in enumerate(tunes) if t.title.casefold() == spec.casefold()]
        found = found or [i for i, t in enumerate(tunes) if t.title.casefold().startswith(spec.casefold())]
    if not found:
        listed = ", ".join(t.label for t in tunes[:8]) + (", ..." if len(tunes) > 8 else "")
        raise NotationError(f"{path}: no tune {spec!r} (the file has {len(tunes)}: {listed})")
    if len(found) > 1:
        raise NotationError(f"{path}: {len(found)} tunes match {spec!r} ({', '.join(tunes[i].label for i in found[:5])}); "
                            "give its X: number")
    chosen = parse(found[0])
    if chosen.seq is None:
        raise NotationError(f"{path}: tune {chosen.label} cannot be read: {chosen.error}")
    return chosen


def _label_error(tune: Tune) -> str:
    return f"{tune.label}: {tune.error}" if tune.number is not None or tune.title else tune.error


def read_notation(path, tune: str | int | None = None) -> NoteSequence:
    """One tune of an ABC or MusicXML file as a NoteSequence (for primers); NotationError if it can't be read.
    Only the chosen tune of a book is parsed; what music21 warned about is said in one line."""
    path = Path(path)
    key = _version(path)
    chosen = pick_tune(_stubs(key), tune, path, lambda i: _tune_cached(*key, i))
    said = [f"{n:,} {what}" for what, n in chosen.changes.items() if what in (PITCHLESS, OTHER_WARNINGS)]
    if said:
        import warnings

        warnings.warn(f"{path}: tune {chosen.label}: {'; '.join(said)}", stacklevel=2)
    return chosen.seq


# -- MusicXML out -----------------------------------------------------------------------------------
# A score MuseScore and music21 open: a melody as one staff, four voices as four parts (Soprano,
# Alto, Tenor, Bass on four staves), any other texture as one part whose notes of the same start
# and end make chords, laid out in as many layers (MusicXML <voice>s) as overlapping notes need.
# Notes are written exactly as they are on the grid: music21 splits them at barlines and into
# writable durations with ties, which a reader joins again. Step 0 is the first bar line: a piece
# whose first note comes less than a bar after it begins with a pickup (a short measure 0). Every
# time signature, tempo and key change (NoteSequence.key_changes, when a sequence has them) is
# written where it falls.
WRITE_SUFFIXES = {".musicxml", ".xml", ".mxl"}
MAX_SCORE_NOTES = 1_000  # notes in a written score: music21 writes 1,000 in 5-25 s (time grows as the square)
CLEFS = {"Soprano": "treble", "Alto": "treble", "Tenor": "treble8vb", "Bass": "bass"}
WRITE_MISSING = f"writing MusicXML needs music21: {INSTALL}"
_CONTAINER = ('<?xml version="1.0" encoding="UTF-8"?>\n<container><rootfiles>'
              '<rootfile full-path="score.musicxml" media-type="application/vnd.recordare.musicxml+xml"/>'
              '</rootfiles></container>\n')


def music21_for_scores():
    try:
        import music21
    except ImportError:
        raise NotationError(WRITE_MISSING) from None
    return music21


def _layers(notes: list[Note]) -> list[list[list[Note]]]:
    """Notes as chords (same start and end), then the chords in layers that never overlap."""
    chords: dict[tuple[int, int], list[Note]] = {}
    for n in sorted(notes):
        chords.setdefault((n.start, n.end), []).append(n)
    layers: list[list[list[Note]]] = []
    for (start, _), chord in sorted(chords.items()):
        layer = next((la for la in layers if la[-1][0].end <= start), None)  # the first layer free by then
        if layer is None:
            layers.append([chord])
        else:
            layer.append(chord)
    return layers


def _pitch(m21, midi: int, flats: bool):
    p = m21.pitch.Pitch(midi=midi)
    if flats and p.accidental is not None and p.accidental.name == "sharp":
        p = p.getEnharmonic()
    return p


def _meters(seq: NoteSequence) -> list[tuple[int, int, int]]:
    """Every time signature as (step, numerator, denominator), the first at step 0."""
    return [(0, *seq.time_signature)] + sorted(seq.time_signature_changes)


def pickup_steps(seq: NoteSequence) -> int:
    """Steps of silence before the first note when that is less than a bar: the piece begins with a
    pickup (an anacrusis), written as a short first measure; 0 when it begins on a bar line."""
    if not seq.notes:
        return 0
    first = min(n.start for n in seq.notes)
    num, den = seq.time_signature
    bar = num * 4 * seq.steps_per_quarter // den
    return first % bar if first < bar else 0


def _at(measures, offset):
    """The measure holding an offset (quarters from the start), and the offset within it."""
    chosen = measures[0]
    for m in measures:
        if m.offset <= offset:
            chosen = m
    return chosen, offset - chosen.offset


def _part(m21, notes, name, seq, sharps, clef, program, first):
    """One music21 Part: measures with every time signature and key, the first part with every
    tempo, the notes in one or more layers; a pickup is a short first measure numbered 0."""
    q = Fraction(1, seq.steps_per_quarter)
    total = max(n.end for n in seq.notes) if seq.notes else 0
    meters = _meters(seq)
    layer_parts = []
    for layer in _layers(notes) or [[]]:
        s = m21.stream.Part()
        for chord in layer:
            pitches = [_pitch(m21, n.pitch, sharps < 0) for n in sorted(chord, key=lambda n: n.pitch)]
            el = m21.note.Note(pitches[0]) if len(pitches) == 1 else m21.chord.Chord(pitches)
            el.quarterLength = (chord[0].end - chord[0].start) * q
            el.volume.velocity = chord[0].velocity
            s.insert(chord[0].start * q, el)
        if total and s.highestTime < total * q:  # every layer runs to the piece's end
            s.insert(total * q, m21.note.Rest(quarterLength=0))
        s.makeRests(fillGaps=True, inPlace=True, timeRangeFromBarDuration=False)
        for r in list(s.getElementsByClass(m21.note.Rest)):
            if r.quarterLength == 0:
                s.remove(r)
        for step, num, den in meters:
            if step and step >= total:
                continue  # after the last note: no measure to hold it
            s.insert(step * q, m21.meter.TimeSignature(f"{num}/{den}"))
        measured = s.makeMeasures()
        measured.makeTies(inPlace=True)
        layer_parts.append(measured)
    pickup = pickup_steps(seq) * q  # the silence before a pickup is left out of its short measure
    part = m21.stream.Part()
    part.partName = name
    instrument = m21.instrument.Instrument()
    instrument.partName, instrument.instrumentName, instrument.midiProgram = name, name, program
    part.insert(0, instrument)
    for i, measure in enumerate(layer_parts[0].getElementsByClass(m21.stream.Measure)):
        m = m21.stream.Measure(number=measure.number - (1 if pickup else 0))
        lead = pickup if i == 0 else 0
        if i == 0:
            m.insert(0, m21.clef.clefFromString(clef))
            m.insert(0, m21.key.KeySignature(sharps))
        if measure.timeSignature is not None:
            num, den = measure.timeSignature.numerator, measure.timeSignature.denominator
            m.insert(0, m21.meter.TimeSignature(f"{num}/{den}"))
        for k, lp in enumerate(layer_parts):
            src = lp.getElementsByClass(m21.stream.Measure)
            if i >= len(src):
                continue
            v = m21.stream.Voice(id=str(k + 1))
            for el in src[i].notesAndRests:
                if el.offset + el.quarterLength <= lead and el.isRest:
                    continue  # the pickup's leading silence
                v.insert(el.offset - lead, el)
            m.insert(0, v) if len(layer_parts) > 1 else [m.insert(el.offset, el) for el in v.notesAndRests]
        if lead:
            m.paddingLeft = float(lead)  # music21 writes it as an incomplete (implicit) measure 0
        part.append(m)
    measures = list(part.getElementsByClass(m21.stream.Measure))
    changes = [(step, k) for step, k in getattr(seq, "key_changes", []) if step > 0]
    marks = [(step * q - pickup, m21.key.KeySignature(k)) for step, k in changes]
    if first:
        marks += [(step * q - pickup, m21.tempo.MetronomeMark(number=round(qpm, 3),
                                                             referent=m21.note.Note(type="quarter")))
                  for step, qpm in seq.tempos]
    for offset, mark in marks:
        m, within = _at(measures, max(offset, 0))
        m.insert(within, mark)
    return part


def _key_sharps(notes: list[Note]) -> int:
    """Sharps (negative: flats) of the major key holding the most note-time (or its relative minor)."""
    from guigen.music.events import MAJOR_SHARPS, major_key

    return MAJOR_SHARPS[major_key(notes)]


def score(seq: NoteSequence, parts: list[list[Note]] | None = None, names=None, programs=None):
    """A music21 Score of a sequence: one part of all its notes, or the given parts (e.g. SATB)."""
    m21 = music21_for_scores()
    if not seq.notes:
        raise NotationError("nothing to write: no notes")
    parts = parts if parts is not None else [seq.pitched()]
    names = list(names) if names else ([seq.voices[0].name or seq.name or "Music"] if len(parts) == 1 else
                                       [f"Part {i + 1}" for i in range(len(parts))])
    programs = list(programs) if programs else [seq.voices[0].program if seq.voices else 0] * len(parts)
    opening = [k for step, k in seq.key_changes if step == 0]
    sharps = opening[0] if opening else _key_sharps(seq.pitched())
    out = m21.stream.Score()
    meta = m21.metadata.Metadata(title=seq.name or "GuiGen")
    meta.composer = "GuiGen"
    out.insert(0, meta)
    for i, (notes, name) in enumerate(zip(parts, names)):
        clef = CLEFS.get(name) or (m21.clef.bestClef(m21.stream.Stream(
            [m21.note.Note(midi=n.pitch) for n in notes])).name if notes else "treble")
        if clef not in ("treble", "bass", "treble8vb", "alto", "tenor"):
            clef = "bass" if notes and sum(n.pitch for n in notes) / len(notes) < 60 else "treble"
        out.insert(0, _part(m21, notes, name, seq, sharps, clef, programs[i], i == 0))
    return out


def musicxml_bytes(seq: NoteSequence, parts=None, names=None, programs=None, compressed: bool = False) -> bytes:
    """The score as MusicXML text, or as a compressed .mxl archive."""
    m21 = music21_for_scores()
    xml = m21.musicxml.m21ToXml.GeneralObjectExporter(score(seq, parts, names, programs)).parse()
    if not compressed:
        return xml
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.recordare.musicxml", compress_type=zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", _CONTAINER, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("score.musicxml", xml, compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def write_musicxml(seq: NoteSequence, path, parts=None, names=None, programs=None, overwrite: bool = False) -> Path:
    """Write a score atomically (.musicxml/.xml, or compressed .mxl); refuse to replace a file unless overwrite."""
    from guigen.core.files import atomic_write_bytes, refuse_overwrite

    path = Path(path)
    if path.suffix.lower() not in WRITE_SUFFIXES:
        raise NotationError(f"{path}: a score is written as .musicxml, .xml or .mxl")
    refuse_overwrite(path, overwrite)
    if len(seq.notes) > MAX_SCORE_NOTES:  # music21's writer takes time growing with the square of a score's size
        raise NotationError(f"{path}: a score of {len(seq.notes):,} notes; GuiGen writes MusicXML of at most "
                            f"{MAX_SCORE_NOTES:,} notes (music21 would take many minutes); write a .mid file instead")
    atomic_write_bytes(path, musicxml_bytes(seq, parts, names, programs, path.suffix.lower() == ".mxl"))
    return path


def read_score(path, tune: str | int | None = None) -> NoteSequence:
    """A MIDI, ABC or MusicXML file as a NoteSequence, by its suffix: what a primer or a dropped
    file is read with. MidiError or NotationError (both ValueError) with a one-line reason."""
    path = Path(path)
    if is_notation(path):
        return read_notation(path, tune)
    if tune is not None:
        raise NotationError(f"--tune picks a tune of an ABC or MusicXML file; {path.name} is not one")
    from guigen.music.midi import read_midi

    return read_midi(path)
