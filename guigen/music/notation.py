"""ABC and MusicXML in, as the NoteSequences MIDI files are read into, and MusicXML scores out: the only
module that imports music21.

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
- step 0 is the tune's first bar line: a pickup starts as far before the next bar line as it is
  long (at step 12 for a quarter-note pickup in 4/4), leading rests are kept, so every bar line
  stays where the tune puts it; the first time signature, key and tempo (Q:, else 120 qpm) are kept.
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
    try:
        expanded = score.expandRepeats()
        if expanded is not None:
            score = expanded
    except Exception:  # music21's ExpanderException and friends: repeats it cannot follow
        if repeats:  # (music21 also refuses a tune of three bars or fewer, which it reads without measures)
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
        score = m21.converter.parse(_with_unit_length(text), format="abc", forceSource=True)
        if isinstance(score, m21.stream.Opus):
            score = score.scores[0] if score.scores else None
        if score is None:
            raise NotationError("no music")
        name = title or (f"{stem} X:{number}" if number is not None else stem)
        tune.seq, tune.key = _sequence(score, name, tune.changes, abc_meters(text),
                                        repeats=bool(re.search(r":\||\|:|::", text)))
    except NotationError as e:
        tune.error = str(e)
    except Exception as e:  # music21 raises many kinds for broken ABC; the reason is kept for the report
        first = str(e).split(". ")[0].strip().rstrip(":.")  # music21 appends its internal tokens after the reason
        tune.error = f"{type(e).__name__}: {first}"[:200] if first else type(e).__name__
    return tune


def _parse_musicxml(path: Path) -> Tune:
    m21 = _music21()
    tune = Tune(None, path.stem)
    try:
        from guigen.core.files import open_regular

        with open_regular(path, "score") as f:  # a FIFO or device is refused, never waited on
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise NotationError("too large to be a score")
        # music21 tells MusicXML from compressed .mxl by the file name, so it gets the path
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
    except OSError as e:
        tune.error = str(e.strerror or e)
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
            if len(tunes) == 1:
                raise NotationError(f"{path}: cannot be read ({tunes[0].error})")
            raise NotationError(f"{path}: none of its {len(tunes)} tunes can be read ({tunes[0].label}: {tunes[0].error})")
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
CLEFS = {"Soprano": "treble", "Alto": "treble", "Tenor": "treble8vb", "Bass": "bass"}
WRITE_MISSING = "writing MusicXML needs music21: pip install 'guigen[notation]'"
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
    from guigen.music.events import major_key

    return {0: 0, 7: 1, 2: 2, 9: 3, 4: 4, 11: 5, 6: 6, 5: -1, 10: -2, 3: -3, 8: -4, 1: -5}[major_key(notes)]


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
