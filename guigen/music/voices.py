"""Soprano, alto, tenor and bass from a polyphony piece: which voice sings each note.

The polyphony encoding knows only which notes sound in each step. assign_voices walks the steps
and gives every note one of four voices (0 = soprano ... 3 = bass):
- a held note keeps the voice it was struck in;
- struck notes take the free voices (those not holding a note), in the way that crosses no
  voices if it can and otherwise moves each voice least from the last pitch it sang (a voice
  that has not sung yet starts from the middle of its usual range). With four notes sounding
  and none held across a crossing this is plain top-down order: S, A, T, B.
- with fewer than four, held voices keep their notes and struck notes go to the nearest free
  voices, so a voice that rests comes back where it left off.
- a step with more than four sounding notes is not four-voice texture: assign_voices returns
  None and the piece is written as one part (chords) or one track.
A melody given as the top line (harmonisation) is always the soprano and no other note is.
"""

from __future__ import annotations

from itertools import permutations

from guigen.music.events import Note

VOICE_NAMES = ("Soprano", "Alto", "Tenor", "Bass")
SOPRANO, ALTO, TENOR, BASS = range(4)
# where each voice starts from before it has sung (MIDI pitches: A4, D4, G3, C3, in Bach's ranges)
START_PITCH = (69, 62, 55, 48)
CROSSING = 1000  # cost of one crossed pair of voices: worse than any leap


def assign_voices(notes: list[Note], melody: list[Note] | None = None) -> list[int] | None:
    """Voice index 0-3 for each note (in the order given), or None if not four-voice texture.

    melody: notes (among `notes`, compared by start, end and pitch) that are the soprano line.
    """
    if not notes:
        return None
    top = {n.key for n in melody} if melody else set()
    voice: list[int | None] = [None] * len(notes)
    last = list(START_PITCH)  # the last pitch each voice sang
    by_start: dict[int, list[int]] = {}
    for i, n in enumerate(notes):
        by_start.setdefault(n.start, []).append(i)
    sounding: list[int] = []  # indices of the notes sounding in the current step
    for step in sorted(by_start):
        sounding = [i for i in sounding if notes[i].end > step]
        struck = by_start[step]
        held = {voice[i]: notes[i].pitch for i in sounding}
        if len(sounding) + len(struck) > 4:
            return None
        mine = [i for i in struck if notes[i].key in top]
        if mine:
            if len(mine) > 1 or SOPRANO in held:
                return None  # the melody must be one line, and no other note may hold the soprano
            voice[mine[0]] = SOPRANO
            held[SOPRANO] = notes[mine[0]].pitch
            struck = [i for i in struck if i != mine[0]]
        free = [v for v in range(4) if v not in held and not (top and v == SOPRANO)]
        if len(struck) > len(free):
            return None
        best, best_cost = None, None
        for choice in permutations(free, len(struck)):
            pitch = dict(held)
            pitch.update({v: notes[i].pitch for v, i in zip(choice, struck)})
            cost = sum(abs(notes[i].pitch - last[v]) for v, i in zip(choice, struck))
            cost += CROSSING * sum(1 for a in pitch for b in pitch if a < b and pitch[a] < pitch[b])
            if best_cost is None or cost < best_cost:
                best, best_cost = choice, cost
        for v, i in zip(best, struck):
            voice[i] = v
            last[v] = notes[i].pitch
        if mine:
            last[SOPRANO] = notes[mine[0]].pitch
        sounding += by_start[step]
    return voice  # type: ignore[return-value]


def split_voices(notes: list[Note], melody: list[Note] | None = None) -> list[list[Note]] | None:
    """The notes of each voice, soprano first (each sorted by start), or None if not four-voice."""
    voice = assign_voices(notes, melody)
    if voice is None:
        return None
    parts: list[list[Note]] = [[] for _ in VOICE_NAMES]
    for n, v in zip(notes, voice):
        parts[v].append(n)
    return [sorted(p) for p in parts]
