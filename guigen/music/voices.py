"""Soprano, alto, tenor and bass from a polyphony piece: which voice sings each note.

The polyphony encoding knows only which notes sound in each step. assign_voices walks the steps
and gives every note one of four voices (0 = soprano ... 3 = bass):
- a held note keeps the voice it was struck in;
- struck notes take the free voices (those not holding a note), in the way that crosses no
  voices if it can (looking at the whole piece: a choice made early can leave room for later
  notes) and otherwise moves each voice least from the last pitch it sang (a voice that has not
  sung yet starts from the middle of its usual range). With four notes sounding
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
CROSSING = 1000  # cost of one crossed pair of voices for one step: worse than any leap
BEAM = 3  # voicings kept at each onset (of at most 24)
RELABEL = CROSSING // 2  # next_voicing: a held note given another voice than it was struck in (to avoid a crossing)
PERMS = [list(permutations(range(4), k)) for k in range(5)]  # voices for k notes struck together


def assign_voices(notes: list[Note], melody: list[Note] | None = None) -> list[int] | None:
    """Voice index 0-3 for each note (in the order given), or None if not four-voice texture.

    melody: notes (among `notes`, compared by start, end and pitch) that are the soprano line.

    The whole piece is read at once (Viterbi over its onsets): the state at an onset is which voice
    each sounding note sings; a held note keeps its voice; each crossed pair of sounding notes costs
    CROSSING and each struck note the distance from where its voice last sang. So crossings are
    avoided wherever any labelling avoids them, not only where the last few notes allow it.
    """
    if not notes:
        return None
    top = {n.key for n in melody} if melody else set()
    by_start: dict[int, list[int]] = {}
    for i, n in enumerate(notes):
        by_start.setdefault(n.start, []).append(i)
    pitch = [n.pitch for n in notes]
    # state: ((note, voice), ...) of the notes sounding, sorted -> (cost, last pitch per voice, state before)
    layer: dict[tuple, tuple] = {(): (0, tuple(START_PITCH), None)}
    layers = []
    sounding: list[int] = []
    onsets = sorted(by_start)
    for k, step in enumerate(onsets):
        until = onsets[k + 1] if k + 1 < len(onsets) else None  # the state holds until the next onset
        sounding = [i for i in sounding if notes[i].end > step]
        struck = by_start[step]
        now = sounding + struck
        if len(now) > 4:
            return None
        melody_struck = [i for i in struck if notes[i].key in top]
        if len(melody_struck) > 1:
            return None  # the melody must be one line
        choices = PERMS[len(struck)]
        if top:
            choices = [c for c in choices if all((notes[i].key in top) == (v == SOPRANO) for i, v in zip(struck, c))]
        nxt = next_layer(layer, sounding, struck, choices, pitch, lambda i, j, s=step, u=until: _span(notes, i, j, s, u))
        if not nxt:
            return None
        layers.append(nxt)
        layer = nxt
        sounding = now
    voice: list[int | None] = [None] * len(notes)
    state = min(layer, key=lambda k: layer[k][0])
    for lay in reversed(layers):
        for i, v in state:
            if voice[i] is None:
                voice[i] = v
        state = lay[state][2]
    return voice  # type: ignore[return-value]


def next_layer(layer: dict, sounding: list, struck: list, choices: list, pitch, span) -> dict:
    """One onset of the Viterbi: from each state of `layer` (the voices of the notes sounding), the
    struck notes take each choice of free voices; the BEAM cheapest states after the onset, each
    -> (cost, last pitch per voice, the state before). pitch[i]: note i's pitch; span(i, j): the
    steps notes i and j sound together before the next onset (a crossing costs CROSSING a step)."""
    ps = [pitch[i] for i in struck]
    # per onset, once: the struck notes' crossings among themselves and against each held note
    pairs = [(x, y, CROSSING * span(struck[x], struck[y])) for x in range(len(struck)) for y in range(x + 1, len(struck))]
    among = {c: sum(w for x, y, w in pairs if (ps[x] - ps[y]) * (c[x] - c[y]) > 0) for c in choices}
    against = [[CROSSING * span(i, j) for j in sounding] for i in struck]
    nxt: dict[tuple, tuple] = {}
    for state, (cost0, last0, _) in layer.items():
        voices = dict(state)
        held = [(i, voices[i]) for i in sounding]
        taken = {v for _, v in held}
        # what stays the same whatever the struck notes take: the held notes' crossings among themselves
        base = cost0 + CROSSING * sum(span(i, j) for a, (i, v) in enumerate(held)
                                      for j, w in held[a + 1:] if (pitch[i] - pitch[j]) * (v - w) > 0)
        for c in choices:
            if taken.intersection(c):
                continue
            cost = base + among[c]
            for x, v in enumerate(c):
                cost += abs(ps[x] - last0[v])
                for h, (j, w) in enumerate(held):
                    if (ps[x] - pitch[j]) * (v - w) > 0:
                        cost += against[x][h]
            key = tuple(sorted(held + list(zip(struck, c))))
            if key not in nxt or cost < nxt[key][0]:
                last = list(last0)
                for x, v in enumerate(c):
                    last[v] = ps[x]
                nxt[key] = (cost, tuple(last), state)
    if len(nxt) > BEAM:  # the likeliest few: a crossing costs more than any the beam lets go
        nxt = dict(sorted(nxt.items(), key=lambda kv: kv[1][0])[:BEAM])
    return nxt


def _span(notes, i: int, j: int, step: int, until) -> int:
    """Steps notes i and j both sound from `step` until the next onset (`until`, None at the last)."""
    end = min(notes[i].end, notes[j].end)
    return (min(end, until) if until is not None else end) - step


def crossed(notes: list[Note], voices: list[int]) -> set[int]:
    """Notes whose voice would be a false label: the fewest notes (the shortest first) that leave no
    note of a lower voice sounding above one of a higher voice. The music itself crosses there (a
    held note would have to change voice), so they are shown without a voice."""
    order = sorted(range(len(notes)), key=lambda i: notes[i].start)
    pairs = []
    for k, i in enumerate(order):  # each note against the notes starting while it sounds
        a = notes[i]
        for j in order[k + 1:]:
            b = notes[j]
            if b.start >= a.end:
                break
            if (a.pitch - b.pitch) * (voices[i] - voices[j]) > 0:
                pairs.append((i, j))
    out: set[int] = set()
    while pairs:
        count: dict[int, int] = {}
        for i, j in pairs:
            count[i] = count.get(i, 0) + 1
            count[j] = count.get(j, 0) + 1
        worst = max(count, key=lambda i: (count[i], -(notes[i].end - notes[i].start), -i))
        out.add(worst)
        pairs = [(i, j) for i, j in pairs if worst not in (i, j)]
    return out


def voice_labels(notes: list[Note], melody: list[Note] | None = None) -> list[int | None] | None:
    """Voices to show (the piano roll's colours, a hovered note's name): assign_voices's, less the
    crossed() notes (None: no voice claimed). None when the piece is not four-voice texture."""
    voices = assign_voices(notes, melody)
    if voices is None:
        return None
    out: list[int | None] = list(voices)
    for i in crossed(notes, voices):
        out[i] = None
    return out


def split_voices(notes: list[Note], melody: list[Note] | None = None) -> list[list[Note]] | None:
    """The notes of each voice, soprano first (each sorted by start), or None if not four-voice."""
    voice = assign_voices(notes, melody)
    if voice is None:
        return None
    parts: list[list[Note]] = [[] for _ in VOICE_NAMES]
    for n, v in zip(notes, voice):
        parts[v].append(n)
    return [sorted(p) for p in parts]


def next_voicing(before, last, pitches, held, melody: bool):
    """One step of assign_voices's choice, for a decoder that must know the voices as it goes
    (harmonize's rule against parallels): (the voices' pitches in the step before, relabelled as
    the step reads them; the pitch each voice sings in this step, None where it rests; the last
    pitch each voice has sung). before: the voices' pitches in the step before (None: resting);
    last: where each last sang (START_PITCH before it has); pitches: the step's, highest first;
    held: which of them hold on; melody: the highest is the melody's, which is the soprano
    (False: the melody rests, and no other note takes the soprano). Struck notes take free
    voices, as few crossings as can be and then the least motion, as assign_voices weighs them;
    a held note keeps its voice unless that crosses voices: assign_voices reads the whole piece
    and would have given it the other voice from its start, so its voice and that voice's past
    are swapped (RELABEL)."""
    lower = [(p, h) for k, (p, h) in enumerate(zip(pitches, held)) if not (melody and k == 0)]
    best = None
    for c in permutations(range(1, 4), len(lower)):
        moved = [(before.index(p, 1) if p in before[1:] else v, v) for (p, h), v in zip(lower, c) if h]
        relabel = sum(a != b for a, b in moved)
        sung = sorted(([(0, pitches[0])] if melody else []) + [(v, p) for (p, _), v in zip(lower, c)])
        cost = CROSSING * sum(p < q for i, (_, p) in enumerate(sung) for _, q in sung[i + 1:])
        cost += RELABEL * relabel + sum(abs(p - last[v]) for (p, h), v in zip(lower, c) if not h or before[v] != p)
        if best is None or cost < best[0]:
            best = (cost, c, moved)
    _, c, moved = best if best is not None else (0, (), [])
    order = list(range(4))  # voice order[v] takes voice v's past
    for a, b in moved:
        if a != b and order[b] == b and order[a] == a:
            order[a], order[b] = b, a
    before = [before[order[v]] for v in range(4)]
    last = [last[order[v]] for v in range(4)]
    now: list[int | None] = [pitches[0] if melody and pitches else None, None, None, None]
    for (p, _), v in zip(lower, c):
        now[v] = p
    return before, now, [p if p is not None else q for p, q in zip(now, last)]
