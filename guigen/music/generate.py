"""Music generation for the command line: a primer, then steps sampled over the one streaming API.

Several outputs run side by side as rows of one Generator. Beam search is Magenta's: every
16th-note step, each of the beam's sequences is extended by `branch_factor` sampled branches,
and the `beam_size` branches with the highest log-likelihood (under the model's own T = 1
distribution) are kept. Polyphony rows advance through steps at different numbers of events, so
a row that has finished the current step waits, its state held, until the others catch up.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from guigen.core.files import output_paths, refuse_overwrite
from guigen.core.generate import Generator, Step
from guigen.core.sampling import SamplingSettings, draw
from guigen.music import polyphony
from guigen.music.events import DEFAULT_QPM, STEPS_PER_QUARTER, Note, NoteSequence, Voice

MAX_NOTES_PER_STEP = 16  # a polyphony step listing this many notes is ended: no runaway chords
MELODY_START_PITCHES = range(55, 73)  # G3..C5: where a primer note is picked when none is given
# A primer file is cut to its first 1,024 steps (64 bars of 4/4) before it is encoded: an LSTM's
# memory of a primer fades within a few bars, and a whole symphony would only cost time and memory.
MAX_PRIMER_STEPS = 1024


@dataclass
class GenerateSettings:
    """What `guigen generate` asks of a music model; guigen/cli/generate.py fills it from the options."""

    output: Path | None = None  # a .mid or MusicXML file (numbered for several outputs); Path("-"): stdout
    steps: int = 128  # 16th-note steps to generate after the primer
    temperature: float = 1.0
    top_k: int = 0  # 0: off
    top_p: float = 1.0  # 1: off
    seed: int | None = None
    outputs: int = 1  # independent samples
    force: bool = False  # replace existing output files
    primer_midi: Path | None = None  # a MIDI, ABC or MusicXML file to continue
    tune: str | None = None  # which tune of an ABC primer (X: number or title)
    primer_pitches: str | None = None  # '60,64,67'
    qpm: float | None = None  # tempo; None: the primer's, else 120
    program: str | None = None  # General MIDI program(s), '0' or 'S,A,T,B'
    beam_size: int = 0  # 0: plain sampling
    branch_factor: int = 1
    trace: Path | None = None  # a JSON-lines file of every event and its distribution
    metre: tuple[int, int] | None = None  # a conditioned model's metre, e.g. (6, 8); None: the primer's
    key: tuple[int, str] | None = None  # a conditioned model's key, (tonic pitch class, mode); None: the primer's
    ending: str | None = None  # tonic, half or none: play on to a bar line and end there (guigen.music.endings)


@dataclass
class Result:
    ids: np.ndarray  # the primer ids, then the generated ones
    logprob: float  # sum of the generated events' log-probabilities under the model (T = 1)
    events: int  # generated events


class _BeamGenerator(Generator):
    """A Generator whose rows can be held still for a step, and reordered to follow the beam."""

    def hold_step(self, tokens: np.ndarray, moving: np.ndarray) -> Step:
        """Step all rows with the given tokens, then put back the state of the rows not moving."""
        held = ~moving
        state, logits = self.state[:, :, held].copy(), self.logits[held].copy()
        grammar = self.grammar.snapshot() if self.grammar is not None else None
        step = self.step(force=tokens)
        self.state[:, :, held] = state
        self.logits[held] = logits
        if grammar is not None:
            self.grammar.restore(grammar, held)
        return step


def generate_events(model, primer_ids, steps: int, settings: SamplingSettings, seed=None, outputs: int = 1,
                    beam_size: int = 1, branch_factor: int = 1, on_step=None, trace=None) -> list[Result]:
    """Sample `steps` 16th-note steps after the primer, `outputs` times; beam search when beam/branch > 1.
    trace: a guigen.core.trace.Trace that records each event with the distribution it was drawn from."""
    codec = model.codec
    if steps < 0 or outputs < 1 or beam_size < 1 or branch_factor < 1:
        raise ValueError("steps must be at least 0; outputs, beam size and branch factor at least 1")
    group = beam_size * branch_factor
    rows = outputs * group
    gen = _BeamGenerator(model, settings, seed, batch=rows, undo_depth=0)  # no undo: saves a state copy per step
    gen.feed(primer_ids)
    poly = codec.name == "polyphony"
    generated: list[list[int]] = [[] for _ in range(rows)]
    logprob = np.zeros(rows)
    done = np.zeros(rows, dtype=np.int64)  # steps each row has completed
    in_step = np.zeros(rows, dtype=np.int64)  # events in each row's current step
    for target in range(1, steps + 1):
        while (moving := done < target).any():
            probs = gen.preview()[0].copy()
            if poly:
                probs[:, polyphony.END] = 0.0  # the piece ends when we say so (the grammar rules out START)
                probs[in_step >= MAX_NOTES_PER_STEP] = 0.0
                empty = probs.sum(axis=1) <= 0
                probs[empty, polyphony.STEP_END] = 1.0
                probs /= probs.sum(axis=1, keepdims=True)
            tokens = draw(probs, gen.rng)
            step = gen.hold_step(tokens, moving)
            if trace is not None:  # what was drawn from: the rules above applied, not the step's own probs
                trace.add(replace(step, probs=probs, forced=False), np.flatnonzero(moving))
            for r in np.flatnonzero(moving):
                t = int(tokens[r])
                generated[r].append(t)
                logprob[r] += step.logprob[r]
                if codec.ends_step(t):
                    done[r] += 1
                    in_step[r] = 0
                else:
                    in_step[r] += 1
            if on_step is not None:
                on_step(step)
        if group > 1:  # keep the beam_size best of each output's branches, each branched again
            order = []
            for g in range(outputs):
                block = np.arange(g * group, (g + 1) * group)
                best = block[np.argsort(-logprob[block], kind="stable")[:beam_size]]
                order += [int(b) for b in best for _ in range(branch_factor)]
            order = np.asarray(order)
            gen.reorder(order)
            generated = [list(generated[i]) for i in order]
            logprob = logprob[order]
    results = []
    for g in range(outputs):
        block = np.arange(g * group, (g + 1) * group)
        r = int(block[np.argmax(logprob[block])])
        tail = generated[r] + ([polyphony.END] if poly else [])
        results.append(Result(np.concatenate([np.asarray(primer_ids, dtype=np.int64), np.asarray(tail, dtype=np.int64)]),
                              float(logprob[r]), len(generated[r])))
    return results


# -- primers ---------------------------------------------------------------------------------------
def parse_pitches(spec: str) -> list[int]:
    """'60,64,67' -> [60, 64, 67] (also '[60, 64, 67]', as Magenta writes them)."""
    try:
        pitches = [int(x) for x in spec.strip().strip("[]").replace(" ", "").split(",") if x]
    except ValueError:
        raise ValueError(f"primer pitches are MIDI numbers separated by commas, like 60,64,67, not {spec!r}") from None
    if len(pitches) > 1024:  # a primer longer than MAX_PRIMER_STEPS would only be cut
        raise ValueError(f"--primer-pitches holds {len(pitches):,} pitches; at most 1,024")
    if not pitches or any(not 0 <= p <= 127 for p in pitches):
        raise ValueError(f"primer pitches must be MIDI numbers 0-127, like 60,64,67, not {spec!r}")
    return pitches


def cut_primer(seq: NoteSequence, steps: int = MAX_PRIMER_STEPS) -> NoteSequence:
    """The sequence's first `steps` steps: later notes, tempo, metre and key changes left out,
    notes still sounding there ended."""
    notes = [n if n.end <= steps else replace(n, end=steps) for n in seq.notes if n.start < steps]
    return replace(seq, notes=notes, tempos=[t for t in seq.tempos if t[0] < steps], end=min(seq.end, steps),
                   time_signature_changes=[m for m in seq.time_signature_changes if m[0] < steps],
                   key_changes=[k for k in seq.key_changes if k[0] < steps])


def primer(codec, primer_midi=None, primer_pitches=None, seed=None, note=None,
           tune=None) -> tuple[list[Note], NoteSequence | None]:
    """The primer's notes on the grid, and the file they came from (for its tempo and program).

    primer_midi is a MIDI, ABC or MusicXML file (by its suffix); tune picks one of an ABC file's tunes.

    Pitches are a chord held for a quarter note for polyphony (as Magenta's --primer_pitches), a
    tune of quarter notes for melody. With no primer a melody starts from one random note. A file
    longer than MAX_PRIMER_STEPS is cut there, said in one line to `note` (default: stderr).
    """
    if primer_midi and primer_pitches:
        raise ValueError("give a primer MIDI file or primer pitches, not both")
    q = STEPS_PER_QUARTER
    if primer_pitches:
        pitches = parse_pitches(primer_pitches)
        if codec.name == "polyphony":
            return [Note(0, q, p) for p in sorted(set(pitches))], None
        outside = [p for p in pitches if not codec.min_pitch <= p <= codec.max_pitch]
        if outside:
            raise ValueError(f"primer pitches {outside} are outside the model's range {codec.min_pitch}-{codec.max_pitch}")
        return [Note(i * q, (i + 1) * q, p) for i, p in enumerate(pitches)], None
    if primer_midi:
        from guigen.music.notation import read_score

        seq = read_score(primer_midi, tune)
        if seq.total_steps > MAX_PRIMER_STEPS:
            seconds = seq.seconds(MAX_PRIMER_STEPS)
            (note or (lambda line: print(line, file=sys.stderr)))(
                f"note: {primer_midi} is {seq.total_steps:,} steps long; its first {MAX_PRIMER_STEPS:,} "
                f"({MAX_PRIMER_STEPS // (4 * STEPS_PER_QUARTER)} bars of 4/4, {seconds:.0f} s) are the primer")
            seq = cut_primer(seq)
        if codec.name == "melody" and seq.pitched():  # moved to the model's key before it is fitted
            return codec.fit_primer(seq.pitched(), str(primer_midi)), seq
        notes, _ = codec.fit(seq.pitched())
        if notes is None:
            raise ValueError(f"{primer_midi}: no pitched notes this model can use as a primer")
        return notes, seq
    if codec.name == "melody":
        choices = [p for p in MELODY_START_PITCHES if codec.min_pitch <= p <= codec.max_pitch] or [codec.min_pitch]
        return [Note(0, 1, int(np.random.default_rng(seed).choice(choices)))], None
    return [], None


def run_generate(options: GenerateSettings, model, stdout_errors=contextlib.nullcontext) -> int:
    """`guigen generate` for a music model: write `outputs` MIDI files or MusicXML scores; returns the exit status.
    stdout_errors: a context manager around writing to standard output (the command line names it in errors)."""
    from guigen.music.export import check_output, parse_programs, write_piece

    codec = model.codec
    to_stdout = str(options.output) == "-"  # the command line chose stdout (see guigen/cli/generate.py)
    output = Path("-") if to_stdout else check_output(Path(options.output) if options.output else Path(f"{model.name or 'music'}.mid"))
    paths = [output] if to_stdout else output_paths(output, options.outputs)
    for p in paths if not to_stdout else []:  # before any work, so nothing is generated only to be refused
        refuse_overwrite(p, options.force)
    programs = parse_programs(options.program)
    if programs and len(programs) > 1 and codec.name != "polyphony":
        raise ValueError("a melody is one track: give --program one General MIDI program")
    from guigen.music.midi import MIN_QPM

    if options.qpm is not None and not MIN_QPM <= options.qpm <= 1000:  # MIDI can't state a slower tempo
        raise ValueError(f"--qpm {options.qpm:g} is not between {MIN_QPM:g} and 1000 quarter notes per minute")
    settings = SamplingSettings(options.temperature, options.top_k or 0, 1.0 if options.top_p is None else options.top_p)
    notes, source = primer(codec, options.primer_midi, options.primer_pitches, options.seed, tune=options.tune)
    metre, head = None, np.zeros(0, dtype=np.int64)
    key_changes = list(source.key_changes) if source else []  # the primer's key signatures, where it stays in its key
    if options.metre or options.key or getattr(codec, "metres", ()):  # a condition token starts the tune
        from guigen.music.conditions import condition, key_sharps, metre_name

        codec, notes, head, metre, key = condition(model, notes, options.metre, options.key,
                                                   source.time_signature if source else None)
        print(f"metre {metre_name(metre)}, key {key}" + ("" if options.key else " (the primer's)"), file=sys.stderr)
        if options.key:  # moved to another key: its signature
            key_changes = [(0, key_sharps(*options.key))]
    else:
        codec = codec.view_for(notes)  # a model trained in one key plays in the primer's
    body = codec.primer(notes)
    primer_ids = np.concatenate([head, body])
    # -n steps follow the primer; with none given, a melody's first note is drawn here and is the first of them
    steps = options.steps - codec.count_steps(body) if not (options.primer_midi or options.primer_pitches) else options.steps
    beam = options.beam_size or 0  # 0 or None: plain sampling, whatever the branch factor
    branch = (options.branch_factor or 1) if beam else 1
    trace = None
    if options.trace is not None:
        if beam:
            raise ValueError("--trace follows plain sampling; beam search keeps and drops whole sequences")
        from guigen.core.trace import Trace

        trace = Trace(options.trace, codec.token_label, overwrite=options.force)
    results = generate_events(model, primer_ids, steps, settings, options.seed, options.outputs, max(beam, 1), branch,
                              trace=trace)
    if trace is not None:
        print(f"wrote {trace.save()} ({len(trace.lines)} events)", file=sys.stderr)
    if (options.ending or "none") != "none":  # played on to a bar line and ended there (issue 24)
        from guigen.music.endings import end_results

        results = end_results(model, codec, results, settings, options.seed, options.ending,
                              metre or (source.time_signature if source else (4, 4)))
    # keep the primer file's tempo map and metre (Magenta forced 120 qpm; users complained)
    tempos = [(0, float(options.qpm))] if options.qpm else (source.tempos if source else [(0, DEFAULT_QPM)])
    program = programs[0] if programs else (next((v.program for v in source.voices if not v.drum), 0) if source else 0)
    for path, res in zip(paths, results):
        seq = NoteSequence(codec.decode(res.ids), tempos, metre or (source.time_signature if source else (4, 4)),
                           [Voice(f"GuiGen {model.name}".strip(), program)], STEPS_PER_QUARTER, path.stem,
                           list(source.time_signature_changes) if source and not options.metre else [],
                           end=codec.count_steps(res.ids[len(head):]),  # primer and -n steps, to the last rest
                           key_changes=key_changes)
        if to_stdout:
            layout, path = _midi_to_stdout(seq, codec.name == "polyphony", programs, stdout_errors), "MIDI to stdout"
        else:
            layout = write_piece(seq, path, codec.name == "polyphony", programs, overwrite=options.force)
        per_event = res.logprob / max(res.events, 1)
        print(f"wrote {path} ({layout}): {len(seq.notes)} note{'' if len(seq.notes) == 1 else 's'}, {seq.total_steps} steps "
              f"({seq.seconds(seq.total_steps):.1f} s at {seq.qpm:g} qpm), "
              f"log-likelihood {per_event:.3f} nats/event", file=sys.stderr)
    return 0


def _midi_to_stdout(seq: NoteSequence, polyphony: bool, programs, stdout_errors) -> str:
    """Write the piece as a MIDI file to stdout (a pipe or a redirect); returns its layout, for people."""
    from guigen.music.export import arrange
    from guigen.music.midi import to_midifile

    seq, parts = arrange(seq, polyphony, programs)
    with stdout_errors():
        to_midifile(seq).save(file=sys.stdout.buffer)
        sys.stdout.buffer.flush()
    return "four tracks (Soprano, Alto, Tenor, Bass)" if parts else "one track"
