"""Ending a generated piece (`guigen generate --ending tonic|half`) at a bar line, with a cadence
the model writes itself.

After the asked-for steps, the model plays on to the next bar line (at least a beat more) by
beam search over its own distribution (ENDING_BEAM pieces kept, each branched ENDING_BRANCH
ways every step, ranked by log-likelihood); on the bar line the final chord is drawn from the
model's distribution constrained to the ending: for a polyphony model the tonic (or dominant)
triad in root position, every note a triad member, the lowest its root, three or four notes;
for a melody model a note on the tonic (or the dominant). It is held for a half note (or the
bar, if shorter), then the piece ends. The key is the piece's own (Krumhansl-Kessler over all
its notes, guigen.music.chords). The ranking includes the final chord's events, so the beam
keeps the approaches from which the model finds the ending likely.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from guigen.core.generate import MASKED
from guigen.core.sampling import allowed_log_mass, distributions, draw
from guigen.music import polyphony
from guigen.music.chords import ending_triads, mask, melody_key, rotate

ENDING_BEAM, ENDING_BRANCH = 4, 4
MIN_APPROACH = 4  # steps (a beat) the model plays at least before the final chord
HOLD = 8  # steps the final chord lasts (a half note), or the bar if shorter
MISSED = 50.0  # nats off a row whose final chord cannot be the ending


@dataclass
class Ending:
    ids: np.ndarray  # the piece's ids, ended
    logprob: float  # of the events added (approach and final chord) under the model, T = 1
    events: int  # events added
    key: tuple[int, str]
    final_logprob: float  # log-probability of the final chord's drawn events
    final_mass: float  # log of the probability the model gave the events the ending allowed
    missed: bool  # no row could end as asked (the piece then ends where it got to)


def end_piece(model, codec, ids, settings, seed, ending: str, time_signature=(4, 4)) -> Ending:
    """The piece `ids` (a primer and what was generated, START first for polyphony) played on to a
    bar line and ended there with the `ending` ('tonic' or 'half') chord; codec: the view that
    decodes it (its pitches the listener's)."""
    from guigen.music.generate import _BeamGenerator

    poly = codec.name == "polyphony"
    ids = [int(i) for i in ids]
    if poly and ids and ids[-1] == polyphony.END:
        ids = ids[:-1]
    notes = codec.decode(ids)
    key = melody_key(notes, ending="none") if notes else (0, "major")
    root, triads = ending_triads(key, ending)
    shift = getattr(codec, "shift", 0) if poly else 0  # model pitch = heard pitch + shift
    root_m, triads_m = (root + shift) % 12, [rotate(t, shift) for t in triads]
    bar = time_signature[0] * 16 // time_signature[1]
    # a conditioned melody model's tune starts with its (metre, mode) token, which is not a step
    head = 1 if getattr(codec, "metres", ()) and ids and ids[0] >= codec.first_condition_id else 0
    now = codec.count_steps(ids[head:])
    final = -(-now // bar) * bar
    if final - now < MIN_APPROACH:
        final += bar
    hold = min(HOLD, bar)
    rows = ENDING_BEAM * ENDING_BRANCH
    gen = _BeamGenerator(model, settings, seed, batch=rows, undo_depth=0)
    gen.feed(ids)
    added: list[list[int]] = [[] for _ in range(rows)]
    logprob, score = np.zeros(rows), np.zeros(rows)
    final_lp, final_mass = np.zeros(rows), np.zeros(rows)
    missed = np.zeros(rows, dtype=bool)
    for s in range(now, final + hold):
        done = np.zeros(rows, dtype=bool)
        count = np.zeros(rows, dtype=np.int64)
        while not done.all():
            moving = ~done
            logits = gen.logits.copy()
            if poly:
                logits[:, polyphony.END] = MASKED
                logits[count >= 4, polyphony.NEW_NOTE:] = MASKED  # four voices at most
                logits[count >= 4, polyphony.STEP_END] = 0.0
            constrained = s >= final
            if constrained and s == final:
                for r in np.flatnonzero(moving):
                    ok = (_final_chord(logits[r], np.flatnonzero(gen.grammar.cur[r]), root_m, triads_m) if poly
                          else _final_note(logits[r], codec, root))
                    if not ok and not missed[r]:
                        missed[r] = True
                        score[r] -= MISSED
            elif constrained:  # the final chord holds
                for r in np.flatnonzero(moving):
                    _hold(logits[r], gen, r, poly, codec)
            probs = distributions(logits, settings)[0]
            tokens = draw(probs, gen.rng)
            if constrained and s == final:
                mass = allowed_log_mass(gen.logits, logits > MASKED / 2)
            step = gen.hold_step(tokens, moving)
            for r in np.flatnonzero(moving):
                t = int(tokens[r])
                added[r].append(t)
                logprob[r] += step.logprob[r]
                score[r] += step.logprob[r]
                if constrained and s == final:
                    final_lp[r] += step.logprob[r]
                    final_mass[r] += mass[r]
                count[r] += 1
                done[r] = codec.ends_step(t)
        keep = np.repeat(np.argsort(-score, kind="stable")[:ENDING_BEAM], ENDING_BRANCH)
        gen.reorder(keep)
        added = [list(added[i]) for i in keep]
        logprob, score, final_lp, final_mass, missed = (logprob[keep], score[keep], final_lp[keep], final_mass[keep],
                                                        missed[keep])
    best = int(np.argmax(score))
    tail = added[best] + ([polyphony.END] if poly else [1])  # END; a melody's last note stops (NOTE_OFF)
    return Ending(np.asarray(ids + tail, dtype=np.int64), float(logprob[best]), len(added[best]), key,
                  float(final_lp[best]), float(final_mass[best]), bool(missed[best]))


def _final_chord(logits, cur, root: int, triads) -> bool:
    """The final chord's rule on one row's logits: triad members only, struck (not held over), the
    lowest the root, at least three notes; False (and the step may end) when nothing is left."""
    have = mask(cur % 12)
    fits = np.array([any((have | (1 << pc)) & ~t == 0 for t in triads) for pc in range(12)])
    bad = ~fits[np.arange(128) % 12]
    if len(cur) >= 3:  # the fourth note is the last: the bass
        bad |= np.arange(128) % 12 != root
    logits[polyphony.NEW_NOTE:polyphony.CONTINUED_NOTE][bad] = MASKED
    logits[polyphony.CONTINUED_NOTE:] = MASKED  # struck on the bar line, not held into it
    if len(cur) < 3 or int(cur.min()) % 12 != root:
        logits[polyphony.STEP_END] = MASKED
    if not (logits > MASKED / 2).any():
        logits[polyphony.STEP_END] = 0.0
        return False
    return True


def _final_note(logits, codec, root: int) -> bool:
    """A melody's last note: NOTE_ON of a pitch of the ending chord's root, in the model's range."""
    allowed = np.zeros_like(logits, dtype=bool)
    for p in range(codec.min_pitch, codec.max_pitch + 1):
        if p % 12 == root:
            allowed[2 + p - codec.min_pitch] = True
    allowed &= logits > MASKED / 2
    if not allowed.any():
        return False
    logits[~allowed] = MASKED
    return True


def _hold(logits, gen, r, poly: bool, codec) -> None:
    """Hold what sounds: a polyphony step repeats the last step's notes as CONTINUED_NOTEs,
    highest first; a melody holds its note (NO_EVENT)."""
    keep = np.full_like(logits, MASKED)
    if poly:
        prev = np.flatnonzero(gen.grammar.prev[r])[::-1]
        listed = np.flatnonzero(gen.grammar.cur[r])
        rest = [p for p in prev if p not in set(listed)]
        keep[polyphony.CONTINUED_NOTE + rest[0] if rest else polyphony.STEP_END] = 0.0
    else:
        keep[0] = 0.0
    logits[:] = keep


def end_results(model, codec, results, settings, seed, ending: str, time_signature=(4, 4), note=None):
    """generate's results, each ended (see end_piece), with a line per piece to `note` (default
    stderr) saying the key, the ending and the model's own probability of it."""
    import math
    import sys

    from guigen.music.chords import key_name
    from guigen.music.generate import Result

    say = note or (lambda line: print(line, file=sys.stderr))
    out = []
    for i, res in enumerate(results):
        e = end_piece(model, codec, res.ids, settings, None if seed is None else seed + i, ending, time_signature)
        what = "the tonic" if ending == "tonic" else "the dominant"
        chord = f"{what} triad of {key_name(e.key)} in root position" if codec.name == "polyphony" else \
            f"a note on {what} of {key_name(e.key)}"
        if e.missed:
            say(f"ending: the model found no way to {chord}; the piece ends where it got to")
        else:
            say(f"ending: {e.events} events more, to a bar line and {chord}; the model gave the events that make "
                f"such an ending probability {math.exp(e.final_mass):.3g}, and these final events "
                f"{math.exp(e.final_logprob):.3g}")
        out.append(Result(e.ids, res.logprob + e.logprob, res.events + e.events))
    return out
