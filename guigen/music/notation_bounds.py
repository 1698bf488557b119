"""Bounds on ABC and MusicXML input, checked before music21 sees a byte of it (no music21 here).

- A file is read up to MAX_BYTES (32 MB); a compressed .mxl's members are capped the same way,
  by their declared sizes and by what they really inflate to (read in chunks, stopped at the cap),
  so a zip bomb costs at most 32 MB.
- An ABC tune's headers (M:, L:, Q:, in the header or inline as [M:...]) are checked first: a metre,
  unit length or tempo no tune has (M:1000/1, L:1/1024, Q:0, Q:-5) is refused in milliseconds,
  naming the header, where music21 would take minutes or clamp it silently.
- A tune of more than MAX_NOTES notes, or a note longer than MAX_NOTE_UNITS units, is refused up
  front: music21's reading time grows with the tune, and a primer or melody never needs that many.
"""

from __future__ import annotations

import io
import re
import zipfile
from fractions import Fraction

MAX_BYTES = 32 << 20  # no real tune book or score is this large
MAX_NOTES = 20_000  # notes in one tune or score (a long symphony part has ~10,000)
MAX_NOTE_UNITS = 256  # an ABC note at most this many unit lengths (L:) long
MAX_MEMBERS = 64  # files in an .mxl (a real one holds 2 to 4)
MIN_QPM, MAX_QPM = 3.577, 1000.0  # as MIDI files and --qpm (guigen.music.midi.MIN_QPM)
DENOMINATORS = {1, 2, 4, 8, 16, 32, 64}
MAX_BEATS = 64
CHUNK = 1 << 20


class BoundsError(ValueError):
    """An input outside the bounds; the message says which and why (no file name: the caller adds it)."""


# -- ABC -------------------------------------------------------------------------------------------
_FIELD = re.compile(r"^([MLQ]):([^%\n]*)|\[([MLQ]):([^\]\n]*)\]", re.MULTILINE)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_STRINGS = re.compile(r'"[^"\n]*"|![^!\n]*!|\+[^+\n]*\+|%[^\n]*')
_FIELD_LINE = re.compile(r"^[A-Za-z]:[^\n]*$|^\[[A-Za-z]:[^\]\n]*\]\s*$", re.MULTILINE)
_NOTE = re.compile(r"[A-Ga-gzx][,']*(\d*)(?:/(\d*))?")


def _metre(spec: str) -> str | None:
    spec = spec.strip().replace(" ", "")
    if spec in ("", "C", "c", "C|", "c|") or spec.lower() == "none":
        return None
    if re.search(r"\d{7}", spec):  # int() of thousands of digits is refused by Python itself
        return f"M:{spec[:20]}...: numbers of 7 digits or more"
    m = re.fullmatch(r"\(?([\d+]+)\)?/(\d+)", spec)
    if not m:
        return None  # music21 reads or refuses what else there is
    beats, den = sum(int(x) for x in m[1].split("+") if x), int(m[2])
    if den not in DENOMINATORS:
        return f"M:{spec}: the denominator must be a power of 2 up to 64"
    if not 1 <= beats <= MAX_BEATS:
        return f"M:{spec}: a bar of 1 to {MAX_BEATS} beats is what GuiGen reads"
    return None


def _unit(spec: str) -> str | None:
    spec = spec.strip().replace(" ", "")
    m = re.fullmatch(r"(\d{1,6})/(\d{1,6})", spec)
    if not m:
        return f"L:{spec[:20]}: a unit note length is written like 1/8" if spec else None
    num, den = int(m[1]), int(m[2])
    if den not in DENOMINATORS or not 1 <= num <= 16:
        return f"L:{spec}: a unit note length is 1/1 to 1/64 (a power of 2 below the line)"
    return None


def _tempo(spec: str) -> str | None:
    if re.search(r"\d{7}", spec):
        return f"Q:{spec.strip()[:20]}...: numbers of 7 digits or more"
    text = re.sub(r'"[^"]*"', " ", spec)  # "Allegro" and the like
    beat, _, number = text.rpartition("=")
    numbers = _NUMBER.findall(number)
    if not numbers:
        return None if not beat.strip() and not number.strip() else f"Q:{spec.strip()}: no tempo number"
    bpm = float(numbers[0])
    if bpm <= 0 or bpm > 100_000:
        return f"Q:{spec.strip()}: a tempo must be above 0 (and at most {MAX_QPM:g} quarter notes a minute)"
    fractions = re.findall(r"(\d+)/(\d+)", beat)
    if fractions:
        whole = sum(Fraction(int(a), int(b)) for a, b in fractions if int(b))
        qpm = float(bpm * whole * 4)
        if not MIN_QPM <= qpm <= MAX_QPM:
            return (f"Q:{spec.strip()}: {qpm:g} quarter notes a minute is outside "
                    f"{MIN_QPM:g}..{MAX_QPM:g}")
    elif bpm > MAX_QPM * 4:  # Q:N counts unit lengths a minute: at most 4 per quarter note
        return f"Q:{spec.strip()}: outside the tempos GuiGen reads (at most {MAX_QPM:g} quarter notes a minute)"
    return None


def check_abc_tune(text: str) -> str | None:
    """Why an ABC tune is refused before parsing ('M:1000/1: ...'), or None when it is within bounds."""
    for m in _FIELD.finditer(text):
        field, spec = (m[1], m[2]) if m[1] else (m[3], m[4])
        why = {"M": _metre, "L": _unit, "Q": _tempo}[field](spec)
        if why:
            return why
    body = _FIELD_LINE.sub("", _STRINGS.sub("", text))
    count = 0
    for m in _NOTE.finditer(body):
        count += 1
        if m[1] and (len(m[1]) > 4 or int(m[1]) > MAX_NOTE_UNITS):
            return f"a note {m[1][:12]} units long (at most {MAX_NOTE_UNITS})"
    if count > MAX_NOTES:
        return f"{count:,} notes, more than the {MAX_NOTES:,} GuiGen reads in one tune"
    return None


# -- MusicXML ----------------------------------------------------------------------------------------
def check_xml_notes(data: bytes) -> None:
    count = len(re.findall(rb"<note[\s>/]", data))
    if count > MAX_NOTES:
        raise BoundsError(f"{count:,} notes, more than the {MAX_NOTES:,} GuiGen reads in one score")


def _inflate(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, read in chunks and stopped at MAX_BYTES, whatever its header declares."""
    out, size = io.BytesIO(), 0
    with z.open(info) as f:
        while chunk := f.read(CHUNK):
            size += len(chunk)
            if size > MAX_BYTES:
                raise BoundsError(f"{info.filename!r} inflates to more than {MAX_BYTES >> 20} MB")
            out.write(chunk)
    return out.getvalue()


def mxl_score(data: bytes) -> bytes:
    """The MusicXML score inside a compressed .mxl, bounded; BoundsError for a bomb or no score."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as e:
        raise BoundsError(f"not a compressed MusicXML (.mxl) archive ({e})") from None
    if len(infos) > MAX_MEMBERS:
        raise BoundsError(f"an .mxl of {len(infos):,} files (a score holds a few)")
    if sum(i.file_size for i in infos) > MAX_BYTES:
        raise BoundsError(f"its files declare {sum(i.file_size for i in infos) >> 20} MB inflated, more than "
                          f"{MAX_BYTES >> 20} MB")
    by_name = {i.filename: i for i in infos}
    name = None
    container = by_name.get("META-INF/container.xml")
    try:
        if container is not None:
            m = re.search(rb'full-path\s*=\s*"([^"]+)"', _inflate(z, container))
            name = m[1].decode("utf-8", "replace") if m else None
        if name not in by_name:
            name = next((i.filename for i in infos if i.filename.lower().endswith((".xml", ".musicxml"))
                         and not i.filename.startswith("META-INF/")), None)
        if name is None:
            raise BoundsError("a zip holding no MusicXML score (.xml or .musicxml)")
        return _inflate(z, by_name[name])
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError, ValueError) as e:
        if isinstance(e, BoundsError):
            raise
        raise BoundsError(f"a broken .mxl archive ({str(e)[:100]})") from None
