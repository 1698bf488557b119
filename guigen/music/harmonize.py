"""Harmonising a melody: a polyphony model writes the lower voices under a fixed top line.

In the polyphony encoding each step lists its notes highest first, so the melody's note is the
step's first event (BachBot's way with an LSTM). Every step, through the one streaming Generator:
- when the melody sounds, its event is forced: NEW_NOTE(pitch) where it strikes, CONTINUED_NOTE
  where it holds; the grammar then allows only pitches below it for the rest of the step;
- the model samples the lower voices (temperature, top-k, top-p as set), at most three notes, so
  the texture stays four voices, then STEP_END (forced after the third);
- during a melody rest the lower voices go on (or rest, as the model likes) below the melody's
  nearest note (the lower of the notes before and after the rest), so the melody stays the top
  line; END is never drawn: the piece ends with the melody;
- where a melody note ends, no lower voice may hold its pitch on (that would lengthen the
  melody's note); a lower voice may strike it again;
- two rules of four-part writing, on by default (`guigen harmonize --free` turns them off),
  because the model alone breaks them whatever the temperature or beam
  (benchmarks/music_quality.py): strict, no parallel fifths or octaves: Bach all but never
  wrote them (0.1 per 100 moves of two voices in his test chorales), the model writes about 3
  per 100, so a note that would make one with a voice above it is ruled out, as the grammar
  rules out what the encoding cannot say, a parallel as the benchmark counts it
  (quality.parallel) between the voices as it reads them (voices.next_voicing; see
  voice_parallels and step_end_parallel); four, complete chords: while
  the melody sounds and fewer than three notes are under it, ending the step costs
  FOUR_PENALTY nats (the model alone leaves a voice out in 12% of steps). A penalty, not a ban:
  banned, the step's last voice is sometimes forced onto a note the model finds very unlikely,
  often far too low (3.6% of alto notes below G3, against 0.3% free and 1.9% at 3 nats).
- Bach's vocabulary, on with the rules (issue 24; see _harmonic_logits): costs in nats for a
  note that makes the step no triad or seventh chord, a step of fewer than three pitch
  classes, an alto or tenor more than an octave under the voice above, a held note that
  crosses another voice. On Bach's validation sopranos the triad-or-seventh share of
  four-voice steps goes from 0.75 to 0.93 (Bach 0.85; models/bach-chorales.md).
- endings (`ending`, default tonic): the last melody note's chord is the tonic (or dominant)
  triad in root position in the melody's key (guigen.music.chords), drawn from the model's
  distribution restricted to it, with a wider beam over the last notes (ENDING_NOTES).
The melody comes out exactly: every note's pitch, onset and duration, where it lies: a melody
that starts after step 0 (a pickup, leading rests) is decoded from its first note and put back.

Beam search ranks whole harmonisations: each of beam_size harmonisations is branched into
branch_factor samples every step, and the beam_size best are kept: the likeliest under the model
(T = 1, melody events included) less the costs of the rules they paid; the best at the end wins.

Keys: a model trained in one key (bach-chorales: C major / A minor) gets the melody moved to that
key, by the octave that puts its mean pitch nearest the middle of the training sopranos (B4 in C),
and the harmonisation is moved back, so it comes out in the melody's key and octave. A melody
that cannot lie within the model's pitch range there is refused, naming the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from guigen.core.generate import MASKED, Step
from guigen.core.sampling import SamplingSettings, allowed_log_mass, distributions, draw
from guigen.music.chords import (CLASSES, IN_VOCABULARY, MIN_CLASSES, ending_triads, key_name, mask, melody_key,
                                 rotate)
from guigen.music.events import Note, pitch_name
from guigen.music.polyphony import CONTINUED_NOTE, END, NEW_NOTE, START, STEP_END, PolyphonyEncoding
from guigen.music.quality import parallel
from guigen.music.voices import START_PITCH, next_voicing

LOWER_VOICES = 3  # notes the model may add under the melody in one step: four-voice texture
FOUR_PENALTY = 3.0  # nats taken off STEP_END's logit while fewer than three notes are under the melody
SOPRANO_MIDDLE = 71  # B4: the mean pitch of the training chorales' sopranos, moved to C (70.7)
CHORD_PENALTY = 4.0  # nats off a lower voice's note whose pitch class makes the step no triad or seventh chord
SPACING_PENALTY = 4.0  # nats off an alto or tenor more than an octave under the voice above it
CROSSING_PENALTY = 4.0  # nats off a held note that would cross another voice
ENDING_MISSED = 50.0  # nats off a harmonisation whose final chord cannot be the ending asked for
PARALLEL_COST = 30.0  # nats off a harmonisation for a step whose parallels the rule could not rule out
ENDINGS = ("tonic", "half", "none")
ENDING_NOTES = 2  # the cadence: melody notes before the final one searched with a wider beam
ENDING_BEAM, ENDING_BRANCH = 4, 4  # that beam: harmonisations kept, and samples branched from each


@dataclass
class Harmonisation:
    notes: list[Note]  # the melody and the lower voices, in the melody's key and octave
    melody: list[Note]  # the melody as given (on the grid)
    logprob: float  # log-likelihood of all events under the model (T = 1), melody events included
    events: int
    offset: int = 0  # the step the melody's first note starts on (a pickup or leading rests), kept
    key: tuple[int, str] = (0, "major")  # the melody's key (tonic pitch class, mode)
    ending: str = "none"  # the ending forced: tonic, half or none
    ending_logprob: float | None = None  # log-probability of the final chord's events under the model
    ending_mass: float | None = None  # log of the probability the model gave the events the ending allowed
    ending_note: str = ""  # why the asked-for ending could not be forced ('' when it was, or not asked)


# -- melodies ----------------------------------------------------------------------------------------
def parse_pitches(spec: str) -> list[Note]:
    """'67:4,67:4,69:8,r:4,72' -> notes: MIDI pitch:length in 16th-note steps (4 = a quarter note,
    the default when the length is left out); r:N is a rest of N steps."""
    from guigen.core.bounds import MAX_DIGITS, MAX_MELODY_NOTES, MAX_STEPS

    notes, t = [], 0
    items = [item for item in str(spec).replace(" ", "").split(",") if item]
    if len(items) > MAX_MELODY_NOTES:
        raise ValueError(f"--pitches holds {len(items):,} items; at most {MAX_MELODY_NOTES:,}")
    for item in items:
        pitch, _, length = item.partition(":")
        if len(pitch) > MAX_DIGITS or len(length) > MAX_DIGITS:  # int() of thousands of digits: refused by Python
            raise ValueError(f"--pitches: {item[:20]!r}... is not a MIDI pitch:steps item")
        try:
            steps = int(length) if length else 4
            p = None if pitch.lower() == "r" else int(pitch)
        except ValueError:
            raise ValueError(f"--pitches takes MIDI pitch:steps items like 67:4,67:4,69:8 (r:4 a rest), "
                             f"not {item!r}") from None
        if steps < 1 or (p is not None and not 0 <= p <= 127):
            raise ValueError(f"--pitches: {item!r} needs a MIDI pitch 0-127 (or r) and at least one step")
        if p is not None:
            notes.append(Note(t, t + steps, p))
        t += steps
        if t > MAX_STEPS:
            raise ValueError(f"--pitches lasts more than {MAX_STEPS:,} steps (20,000 quarter notes, the most a "
                             "MIDI file is read to)")
    if not notes:
        raise ValueError("--pitches holds no notes")
    return notes


def top_line(notes: list[Note]) -> list[Note]:
    """One line from a piece: where notes sound together the highest is kept, and a held note ends
    where a higher or later one begins (as Magenta's melody extraction)."""
    line: list[Note] = []
    for n in sorted(notes, key=lambda n: (n.start, -n.pitch)):
        if line and line[-1].start == n.start:
            continue
        if line and line[-1].end > n.start:
            prev = line[-1]
            if prev.pitch > n.pitch and prev.end >= n.end:
                continue  # a lower note under a held melody note belongs to another voice
            line[-1] = Note(prev.start, n.start, prev.pitch, prev.velocity)
        line.append(Note(n.start, n.end, n.pitch, n.velocity))
    return line


def melody_of(seq) -> list[Note]:
    """The melody of a file's NoteSequence: its highest voice (by mean pitch) when it has several,
    then that voice's top line. A single-line file is taken as it is."""
    notes = seq.pitched()
    if not notes:
        raise ValueError(f"{seq.name or 'the melody'}: no pitched notes")
    voices = {n.voice for n in notes}
    if len(voices) > 1:
        top = max(voices, key=lambda v: np.mean([n.pitch for n in notes if n.voice == v]))
        notes = [n for n in notes if n.voice == top]
    return [Note(n.start, n.end, n.pitch, n.velocity) for n in top_line(notes)]  # where the file puts it: bar lines kept


def model_shift(codec: PolyphonyEncoding, melody: list[Note]) -> int:
    """Semitones that move the melody to the model's key and a soprano's octave, within its range."""
    key = codec.key_shift(melody, primer=True) if codec.key is not None else 0
    mean = np.mean([n.pitch for n in melody])
    low, high = min(n.pitch for n in melody), max(n.pitch for n in melody)
    fits = [key + 12 * k for k in range(-10, 11)
            if codec.min_pitch + 12 <= low + key + 12 * k and high + key + 12 * k <= codec.max_pitch]
    if not fits:
        room = f"{pitch_name(codec.min_pitch + 12)}-{pitch_name(codec.max_pitch)}"
        raise ValueError(f"the melody spans {pitch_name(low)}-{pitch_name(high)}; this model harmonises melodies "
                         f"that fit within {room} (an octave above its lowest pitch, for the bass) once moved to "
                         f"its key")
    return min(fits, key=lambda s: abs(mean + s - SOPRANO_MIDDLE))


# -- decoding ----------------------------------------------------------------------------------------
def _plan(melody: list[Note], shift: int):
    """Per step, in the model's pitches: the melody's token or None, the pitch the lower voices
    stay below, and the melody pitch that ended there (None: none did), which no lower voice
    may hold on: that would lengthen the melody's note."""
    total = max(n.end for n in melody)
    token = [None] * total
    sounding = [None] * total
    ended = [None] * total
    for n in melody:
        p = n.pitch + shift
        for s in range(n.start, n.end):
            token[s] = (NEW_NOTE if s == n.start else CONTINUED_NOTE) + p
            sounding[s] = p
        if n.end < total:
            ended[n.end] = p
    ceiling = []
    for s in range(total):
        if sounding[s] is not None:
            ceiling.append(sounding[s])
            continue
        before = next((sounding[t] for t in range(s - 1, -1, -1) if sounding[t] is not None), None)
        after = next((sounding[t] for t in range(s + 1, total) if sounding[t] is not None), None)
        ceiling.append(min(p for p in (before, after) if p is not None))
    return token, ceiling, ended


def voice_parallels(before, cur: np.ndarray, first: int) -> np.ndarray:
    """(128,) bool: the pitches whose striking, as the next note of a step, would move in parallel
    fifths or octaves (unisons) with a voice above it, as the counter counts them
    (guigen.music.quality.parallel: each voice straight from the note it sounded in the step
    before; a voice that rested there does not move).

    before: the pitch each voice (S A T B) sang in the step before, None where it rested (as
    guigen.music.voices.next_voicing reads the steps); cur: this step's pitches so far, highest
    first, the k-th sung by voice first + k (first: 0 while the melody sounds, 1 in its rests), as
    in a step of every voice without crossings. A step that ends with fewer notes is read as
    the counter reads it by step_end_parallel.
    """
    j = first + len(cur)  # the voice the next note sings
    if j > 3 or before[j] is None:
        return np.zeros(128, dtype=bool)
    pairs = [(before[first + i], int(cur[i]), before[j]) for i in range(len(cur)) if before[first + i] is not None]
    return _parallel_mask(pairs)


def _parallel_mask(pairs) -> np.ndarray:
    """(128,) bool: the pitches x, coming from x0, that move in parallel fifths or octaves with any
    (y0 -> y, x0) of pairs (quality.parallel, for all 128 pitches at once)."""
    bad = np.zeros(128, dtype=bool)
    x = np.arange(128)
    for y0, y, x0 in pairs:
        if y == y0:
            continue  # the upper voice holds or repeats: no parallel motion
        d = abs(y0 - x0)
        before = 0 if d == 0 else (d - 1) % 12 + 1  # octaves taken off, an octave kept (quality._reduced)
        if before not in (0, 7, 12):
            continue
        dx = np.abs(y - x)
        after = np.where(dx == 0, 0, (dx - 1) % 12 + 1)
        bad |= (x != x0) & (np.sign(x - x0) == np.sign(y - y0)) & (after == before)
    return bad


def step_notes(tokens) -> tuple[list[int], list[bool]]:
    """One step's events as (pitches, highest first; which of them hold on)."""
    notes = sorted(((t - CONTINUED_NOTE, True) if t >= CONTINUED_NOTE else (t - NEW_NOTE, False)
                    for t in tokens if t >= NEW_NOTE), reverse=True)
    return [p for p, _ in notes], [h for _, h in notes]


def step_end_parallel(before, last, tokens, melody: bool) -> bool:
    """Whether ending the step after these events (its tokens so far) would make parallel fifths
    or octaves (quality.parallel) between any two voices, read as the counter reads them
    (guigen.music.voices.next_voicing: a step of fewer notes than voices leaves out the voice
    that moves least). before, last: next_voicing's; melody: the melody sounds in this step."""
    return moved_in_parallel(*next_voicing(before, last, *step_notes(tokens), melody)[:2])


def moved_in_parallel(before, now) -> bool:
    """Whether any two voices move in parallel fifths or octaves from `before` to `now` (each the
    voices' pitches in a step, None: resting; quality.parallel)."""
    return any(parallel(before[a], now[a], before[b], now[b]) for a in range(4) for b in range(a + 1, 4))


def constrain_lower(logits: np.ndarray, top: int, released: int | None, lower: np.ndarray, melody_sounds: bool,
                    bad: np.ndarray | None = None, four: bool = True) -> np.ndarray:
    """The rules for the next lower-voice event of a step, applied in place to (rows, classes)
    logits and returned: only pitches below `top` (the melody's, or its nearest during a rest),
    no holding on `released` (the melody pitch that just ended), none of `bad` ((rows, 128):
    voice_parallels), STEP_END forced once `lower` (per row) reaches LOWER_VOICES, and, with
    `four` while the melody sounds, STEP_END costs FOUR_PENALTY before then. One step's worth, so
    the live harmonizer (guigen.music.liveharmony) decides each event as harmonize does."""
    logits[:, [START, END]] = MASKED
    high = np.arange(128) >= top
    logits[:, NEW_NOTE:CONTINUED_NOTE][:, high] = MASKED
    logits[:, CONTINUED_NOTE:][:, high] = MASKED
    if released is not None:  # struck again it may be; held on, it would be the melody's
        logits[:, CONTINUED_NOTE + released] = MASKED
    if bad is not None:
        logits[:, NEW_NOTE:CONTINUED_NOTE][bad] = MASKED
    full = np.asarray(lower) >= LOWER_VOICES
    logits[full, :] = MASKED
    logits[full, STEP_END] = 0.0
    if four and melody_sounds:  # complete chords: ending the step early costs FOUR_PENALTY
        short = ~full & (logits[:, NEW_NOTE:] > MASKED / 2).any(axis=1)
        logits[short, STEP_END] -= FOUR_PENALTY
    return logits


def _ending_plan(melody: list[Note], shift: int, key: tuple[int, str], ending: str):
    """(first step of the final chord, the bass's pitch class and the allowed triads in the
    model's pitches, why no ending can be forced or ''), for a melody starting at step 0."""
    if ending == "none":
        return None, None, None, ""
    bass, triads = ending_triads(key, ending)
    last = melody[-1]
    if not any(mask([last.pitch]) & t for t in triads):
        what = "tonic" if ending == "tonic" else "dominant"
        return None, None, None, (f"the melody ends on {pitch_name(last.pitch)[:-1]}, not a note of the {what} "
                                  f"triad of {key_name(key)}: the ending is left to the model")
    return last.start, (bass + shift) % 12, [rotate(t, shift) for t in triads], ""


class Cancelled(Exception):
    """harmonize() stopped because its `cancelled` said so."""


def harmonize(model, melody: list[Note], settings: SamplingSettings | None = None, seed=None, beam_size: int = 1,
              branch_factor: int = 1, on_step=None, strict: bool = True, four: bool = True,
              chords: bool | None = None, ending: str = "tonic", key: tuple[int, str] | None = None,
              cancelled=None) -> Harmonisation:
    """Lower voices under `melody` (notes on the grid, one line; it may start after step 0: a
    pickup or a rest, kept) by constrained decoding; strict: no parallel fifths or octaves (see
    voice_parallels); four: ending a step with fewer than three notes under the melody costs
    FOUR_PENALTY nats; chords (default: as strict): Bach's chord vocabulary and spacing favoured
    (see _harmonic_logits); ending: 'tonic', 'half' or 'none' (the last melody note's chord, in
    the melody's key, or `key` as (tonic pitch class, 'major'/'minor')); cancelled: a function asked
    before each step (a widened beam streams nothing until it ends): true raises Cancelled."""
    from guigen.music.generate import _BeamGenerator

    codec = model.codec
    kind = getattr(codec, "name", model.kind)  # a text model's vocabulary has no encoding name
    if kind != "polyphony":
        raise ValueError(f"{model.name or 'this model'} is a {kind} model; harmonising needs a polyphony "
                         "model such as bach-chorales")
    if not melody:
        raise ValueError("the melody has no notes")
    melody = sorted(melody)
    if any(b.start < a.end for a, b in zip(melody, melody[1:])) or any(n.end <= n.start for n in melody):
        raise ValueError("the melody must be one line: its notes may not overlap")
    if melody[0].start < 0:
        raise ValueError("the melody starts before step 0")
    if beam_size < 1 or branch_factor < 1:
        raise ValueError("beam size and branch factor must be at least 1")
    if ending not in ENDINGS:
        raise ValueError(f"the ending is one of {', '.join(ENDINGS)}, not {ending!r}")
    chords = strict if chords is None else chords
    offset = melody[0].start  # leading rests or a pickup: decoded from the first note, put back after
    local = [Note(n.start - offset, n.end - offset, n.pitch, n.velocity) for n in melody]
    shift = model_shift(codec, local)
    if codec.min_pitch - shift < 0:  # the voices under it, moved back with the melody, could fall below MIDI 0
        low = min(n.pitch for n in melody)
        raise ValueError(f"the melody's lowest note {pitch_name(low)} (MIDI {low}) is too low to harmonise: the "
                         f"voices under it could fall below the lowest MIDI pitch (0); give the melody "
                         f"{-(codec.min_pitch - shift) // 12 + 1} octave(s) higher")
    key = key or melody_key(local, ending)
    tokens_plan, ceiling, ended = _plan(local, shift)
    final_step, final_bass, final_triads, ending_note = _ending_plan(local, shift, key, ending)
    # the cadence is searched for over the last notes before the final one: a wider beam from there
    widen_at = (local[max(0, len(local) - 1 - ENDING_NOTES)].start if final_step is not None else None)
    settings = settings or SamplingSettings()
    rows = beam_size * branch_factor
    gen = _BeamGenerator(model, settings, seed, batch=rows, undo_depth=0)
    gen.feed([START])
    generated: list[list[int]] = [[] for _ in range(rows)]
    logprob = np.zeros(rows)  # under the model (T = 1)
    score = np.zeros(rows)  # logprob with the rules' bonuses and penalties: what the beam ranks by
    end_logprob = np.zeros(rows)  # of the final chord's events
    end_mass = np.zeros(rows)  # log of the probability the model gave the events the ending allowed
    missed = np.zeros(rows, dtype=bool)  # rows whose final chord could not be the ending asked for
    chosen_p: list[list[float]] = [[] for _ in range(rows)]  # the probability each event had when drawn
    # the voices as the counter reads them (next_voicing): each one's pitch in the last step, and where it last sang
    sung: list[list] = [[None] * 4 for _ in range(rows)]
    last_sung: list[list] = [list(START_PITCH) for _ in range(rows)]
    widened, streamed = False, 0
    for s, (forced, top, released) in enumerate(zip(tokens_plan, ceiling, ended)):
        if cancelled is not None and cancelled():
            raise Cancelled
        if s == widen_at and rows < ENDING_BEAM * ENDING_BRANCH:
            best_rows = np.argsort(-score, kind="stable")[:beam_size]
            keep = np.sort(np.resize(best_rows, ENDING_BEAM * ENDING_BRANCH))  # copies of the best, resampled
            gen.state, gen.logits, gen.batch = gen.state[:, :, keep], gen.logits[keep], len(keep)
            gen.grammar.reorder(keep)
            generated = [list(generated[i]) for i in keep]
            chosen_p = [list(chosen_p[i]) for i in keep]
            sung, last_sung = [sung[i] for i in keep], [last_sung[i] for i in keep]
            logprob, score, end_logprob, end_mass, missed = (
                logprob[keep], score[keep], end_logprob[keep], end_mass[keep], missed[keep])
            rows, beam_size, branch_factor = len(keep), ENDING_BEAM, ENDING_BRANCH
            widened, streamed = True, len(generated[0])
        in_ending = final_step is not None and s >= final_step
        done = np.zeros(rows, dtype=bool)
        listed = np.zeros(rows, dtype=np.int64)  # events so far in this step
        while not done.all():
            moving = ~done
            adjust = np.zeros((rows, gen.logits.shape[1]))
            if forced is not None and not listed.any():  # every row begins the step with the melody
                tokens = np.full(rows, forced)
                allowed = None
            else:
                bad = None
                if strict:  # in the melody's rests too: the lower voices' parallels among themselves
                    bad = np.zeros((rows, 128), dtype=bool)
                    for r in np.flatnonzero(moving):
                        bad[r] = voice_parallels(sung[r], np.flatnonzero(gen.grammar.cur[r])[::-1],
                                                 0 if forced is not None else 1)
                lower = listed - (forced is not None)
                full = lower >= LOWER_VOICES
                logits = constrain_lower(gen.logits.copy(), top, released, lower, forced is not None, bad, four)
                if chords and forced is not None and not in_ending:
                    for r in np.flatnonzero(moving & ~full):
                        _harmonic_logits(logits[r], np.flatnonzero(gen.grammar.cur[r])[::-1],
                                         np.flatnonzero(gen.grammar.prev[r])[::-1])
                if in_ending:
                    for r in np.flatnonzero(moving & ~full):
                        if not _ending_logits(logits[r], np.flatnonzero(gen.grammar.cur[r]), final_bass, final_triads,
                                              sung[r] if strict else None, codec.min_pitch):
                            score[r] -= ENDING_MISSED  # this row cannot end as asked: the beam drops it
                            missed[r] = True
                if strict:  # a step of fewer notes than voices: its voices read as the counter reads them
                    for r in np.flatnonzero(moving & ~full & (listed > 0)):
                        so_far = generated[r][len(generated[r]) - listed[r]:]
                        if (logits[r, STEP_END] > MASKED / 2 and (logits[r, NEW_NOTE:] > MASKED / 2).any()
                                and step_end_parallel(sung[r], last_sung[r], so_far, forced is not None)):
                            logits[r, STEP_END] = MASKED
                allowed = logits > MASKED / 2
                adjust = np.where(allowed, logits - gen.logits, 0.0)
                tokens = draw(distributions(logits, settings)[0], gen.rng)
            if in_ending and allowed is not None:
                mass = allowed_log_mass(gen.logits, allowed)
            step = gen.hold_step(tokens, moving)
            for r in np.flatnonzero(moving):
                t = int(tokens[r])
                generated[r].append(t)
                logprob[r] += step.logprob[r]
                score[r] += step.logprob[r] + adjust[r, t]
                if in_ending and allowed is not None:
                    end_logprob[r] += step.logprob[r]
                    end_mass[r] += mass[r]
                listed[r] += 1
                done[r] = t == STEP_END
            for r in np.flatnonzero(moving):
                chosen_p[r].append(float(step.probs[r, int(tokens[r])]))
            if on_step is not None and not widened:  # a widened beam's rows are streamed once one has won
                on_step(step)
        for r in range(rows):  # the step's voices, as the counter will read them
            before, sung[r], last_sung[r] = next_voicing(sung[r], last_sung[r],
                                                         *step_notes(generated[r][len(generated[r]) - listed[r]:]),
                                                         forced is not None)
            if strict and moved_in_parallel(before, sung[r]):  # where no other event was left (the final chord)
                score[r] -= PARALLEL_COST
        if rows > 1:
            keep = np.repeat(np.argsort(-score, kind="stable")[:beam_size], branch_factor)
            gen.reorder(keep)
            generated = [list(generated[i]) for i in keep]
            chosen_p = [list(chosen_p[i]) for i in keep]
            sung, last_sung = [sung[i] for i in keep], [last_sung[i] for i in keep]
            logprob, score, end_logprob, end_mass, missed = (
                logprob[keep], score[keep], end_logprob[keep], end_mass[keep], missed[keep])
    best = int(np.argmax(score))
    if on_step is not None and widened:  # the winning row's events after the beam widened, as they were drawn
        for t, p in zip(generated[best][streamed:], chosen_p[best][streamed:]):
            probs = np.zeros((1, gen.logits.shape[1]))
            probs[0, t] = p
            on_step(Step(streamed + 1, np.array([t]), probs, probs, np.zeros(1), np.log([max(p, 1e-300)])))
            streamed += 1
    ids = [START] + generated[best] + [END]
    view = PolyphonyEncoding(None, shift, codec.min_pitch, codec.max_pitch)
    notes = [Note(n.start + offset, n.end + offset, n.pitch, n.velocity) for n in view.decode(ids)]
    missing = {n.key for n in melody} - {n.key for n in notes}
    if missing:  # cannot happen while the melody's events are forced; never write a wrong melody
        raise RuntimeError(f"the harmonisation lost melody notes {sorted(missing)[:3]}")
    if len(notes) == len(melody):  # never a file called four voices that holds one
        raise ValueError("the model wrote no voice under this melody; try another temperature or seed, or --free")
    velocity = {n.key: n.velocity for n in melody}
    notes = [Note(n.start, n.end, n.pitch, velocity.get(n.key, n.velocity)) for n in notes]
    forced_ending = final_step is not None and not missed[best]
    if final_step is not None and missed[best]:
        ending_note = f"no {ending} ending in root position fits under the melody here: the ending is left to the model"
    return Harmonisation(notes, list(melody), float(logprob[best]), len(generated[best]), offset, key,
                         ending if forced_ending else "none", float(end_logprob[best]) if forced_ending else None,
                         float(end_mass[best]) if forced_ending else None, ending_note)


def _harmonic_logits(logits: np.ndarray, cur: np.ndarray, prev: np.ndarray) -> None:
    """Bach's vocabulary and spacing as a score, in place on one row's logits for the next lower
    voice (cur: the step's pitches so far, highest first, the melody's first): a note whose pitch
    class no triad or seventh chord holds together with the step's others costs CHORD_PENALTY
    nats; an alto more than an octave under the soprano, or a tenor under the alto, costs
    SPACING_PENALTY; a held note listed at another rank than in the step before (after a step
    of four: S A T B), which crosses two voices, costs CROSSING_PENALTY; ending the step with
    fewer than three pitch classes costs CHORD_PENALTY. (prev: the previous step's pitches.)"""
    have = mask(cur % 12)
    fits = IN_VOCABULARY[have | (1 << np.arange(12))]  # per pitch class
    pitch_fits = fits[np.arange(128) % 12]
    penalty = np.where(pitch_fits, 0.0, CHORD_PENALTY)
    if len(cur) in (1, 2):  # the next note is the alto (under the soprano) or the tenor (under the alto)
        penalty = penalty + np.where(cur[-1] - np.arange(128) > 12, SPACING_PENALTY, 0.0)
    logits[NEW_NOTE:CONTINUED_NOTE] -= penalty
    logits[CONTINUED_NOTE:] -= penalty
    if len(prev) >= 4:
        moved = np.ones(128, dtype=bool)
        moved[prev] = np.arange(len(prev)) != len(cur)
        logits[CONTINUED_NOTE:] -= np.where(moved, CROSSING_PENALTY, 0.0)
    if CLASSES[have] < MIN_CLASSES:
        logits[STEP_END] -= CHORD_PENALTY


def _ending_logits(logits: np.ndarray, cur: np.ndarray, bass: int, triads: list[int], voices=None,
                   lowest: int = 0) -> bool:
    """The final chord's rule, in place on one row's logits: every note a member of the triad,
    and the step may end only on its root in the bass (with three notes under the melody
    favoured, as everywhere); with voices (the voices' pitches in the step before, as
    voice_parallels takes them: the rule against parallels on), an inner voice is ruled out when
    no root below it would be free of parallels.
    Should nothing be left, the step may end, and False is returned."""
    have = mask(cur % 12)
    fits = np.array([any((have | (1 << pc)) & ~t == 0 for t in triads) for pc in range(12)])
    bad = ~fits[np.arange(128) % 12]
    if len(cur) >= LOWER_VOICES:  # the next note is the last that may come: the bass
        bad |= np.arange(128) % 12 != bass
    elif voices is not None and len(cur):  # no inner voice that leaves the root no place free of parallels
        desc = list(cur[::-1])
        for p in np.flatnonzero(~bad & ((logits[NEW_NOTE:CONTINUED_NOTE] > MASKED / 2) |
                                        (logits[CONTINUED_NOTE:] > MASKED / 2))):
            if p % 12 == bass:
                continue  # the root itself may be the bass
            banned = voice_parallels(voices, np.array(desc + [p]), 0)
            if not any(q % 12 == bass and not banned[q] for q in range(lowest, p)):
                bad[p] = True
    logits[NEW_NOTE:CONTINUED_NOTE][bad] = MASKED
    logits[CONTINUED_NOTE:][bad] = MASKED
    if not (len(cur) and int(cur.min()) % 12 == bass):
        logits[STEP_END] = MASKED
    if not (logits > MASKED / 2).any():
        logits[STEP_END] = 0.0
        return False
    return True


def read_melody(path, tune=None):
    """(melody notes, the file's NoteSequence) from a .mid, .abc or .musicxml file."""
    path = Path(path)
    if path.suffix.lower() in (".mid", ".midi"):
        from guigen.music.midi import read_midi

        seq = read_midi(path)
    else:
        from guigen.music.notation import is_notation, read_notation

        if not is_notation(path):
            raise ValueError(f"{path}: a melody is read from .mid, .abc, .musicxml, .mxl or .xml")
        seq = read_notation(path, tune)
    return melody_of(seq), seq


def describe(notes: list[Note], parts=None, bars: int = 4, steps_per_bar: int = 16) -> str:
    """The first bars of each voice as note names with lengths in steps, as a musician checks them."""
    lines = []
    for name, voice in zip(("S", "A", "T", "B"), parts or [notes]):
        shown = [f"{pitch_name(n.pitch)}:{n.end - n.start}" for n in voice if n.start < bars * steps_per_bar]
        lines.append(f"{name}: {' '.join(shown)}")
    return "\n".join(lines)

