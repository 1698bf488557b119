"""A generated piece written out: MIDI (a named track per voice) or a MusicXML score (a part per voice).

A polyphony piece whose steps never sound more than four notes is split into Soprano, Alto,
Tenor and Bass (guigen.music.voices): four MIDI tracks, each with its own program, and four parts
on four staves. Any other piece is one track, and one part (with chords). A melody is one staff.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from guigen.music.events import NoteSequence, Voice
from guigen.music.voices import VOICE_NAMES, split_voices

MIDI_SUFFIXES = (".mid", ".midi")
SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl")


def check_output(path) -> Path:
    """The path, if it names a file music can be written as; ValueError otherwise."""
    path = Path(path)
    if path.suffix.lower() not in MIDI_SUFFIXES + SCORE_SUFFIXES:
        raise ValueError(f"{path}: music is written as MIDI (.mid) or a MusicXML score (.musicxml, .mxl)")
    if path.suffix.lower() in SCORE_SUFFIXES:  # before any work: without music21 there is no score
        from guigen.music.notation import music21_for_scores

        music21_for_scores()
    return path


def parse_programs(spec) -> list[int] | None:
    """'52' -> [52] (every voice), '0,0,42,42' -> one General MIDI program per voice, S A T B."""
    if spec is None:
        return None
    try:
        programs = [int(x) for x in str(spec).replace(" ", "").split(",")]
    except ValueError:
        raise ValueError(f"--program takes a General MIDI program 0-127, or four (S,A,T,B) like 0,0,42,42, "
                         f"not {spec!r}") from None
    if len(programs) not in (1, 4) or any(not 0 <= p <= 127 for p in programs):
        raise ValueError(f"--program takes one General MIDI program 0-127, or four (S,A,T,B), not {spec!r}")
    return programs


def arrange(seq: NoteSequence, polyphony: bool, programs: list[int] | None = None, melody=None):
    """(the sequence with a voice per track, the four voices' notes or None).

    Four-voice polyphony gets voices Soprano..Bass, each note tagged with its voice; otherwise
    the sequence keeps one voice, whose program is the first given.
    """
    parts = split_voices(seq.pitched(), melody) if polyphony else None
    if parts is None:
        voices = list(seq.voices) or [Voice()]
        if programs:
            voices[0] = replace(voices[0], program=programs[0])
        return replace(seq, voices=voices[:1], notes=[replace(n, voice=0) for n in seq.notes]), None
    programs = programs or [seq.voices[0].program if seq.voices else 0]
    if len(programs) == 1:
        programs = programs * 4
    notes = sorted(replace(n, voice=v) for v, part in enumerate(parts) for n in part)
    voices = [Voice(name, program) for name, program in zip(VOICE_NAMES, programs)]
    return replace(seq, notes=notes, voices=voices), parts


def write_piece(seq: NoteSequence, path, polyphony: bool, programs=None, melody=None, overwrite: bool = False) -> str:
    """Write MIDI or MusicXML by the path's suffix; returns how it was laid out, for people."""
    path = check_output(path)
    seq, parts = arrange(seq, polyphony, programs, melody)
    if path.suffix.lower() in MIDI_SUFFIXES:
        from guigen.music.midi import write_midi

        write_midi(seq, path, overwrite=overwrite)
        return "four tracks (Soprano, Alto, Tenor, Bass)" if parts else "one track"
    from guigen.music.notation import write_musicxml

    names = VOICE_NAMES if parts else None
    write_musicxml(seq, path, parts, names, [v.program for v in seq.voices] if parts else None, overwrite=overwrite)
    if parts:
        return "four parts (Soprano, Alto, Tenor, Bass)"
    return "one part with chords" if polyphony else "one staff"
