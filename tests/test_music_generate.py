"""Music generation over the streaming API: exact step counts, beam search that scores what it keeps,
primers, tempo and program kept from a primer file, numbered outputs read back by pretty_midi."""


import numpy as np
import pytest

from guigen.core.config import ModelConfig, parameter_shapes
from guigen.core.generate import Generator
from guigen.core.modelfile import load_model, save_model
from guigen.core.sampling import SamplingSettings
from guigen.music import polyphony
from guigen.music.events import Note, NoteSequence, Voice
from guigen.music.generate import MAX_NOTES_PER_STEP, GenerateSettings, generate_events, primer, run_generate
from guigen.music.melody import MelodyEncoding
from guigen.music.midi import read_midi, write_midi
from guigen.music.polyphony import PolyphonyEncoding


def make_model(tmp_path, codec, bias=None, seed=0, name="m"):
    """A small model with random weights (or, with `bias`, one whose logits are exactly that bias)."""
    cfg = ModelConfig(vocab_size=codec.num_classes, embed=8, hidden=16, layers=2, dropout=0.0)
    rng = np.random.default_rng(seed)
    weights = {k: rng.normal(0, 0.5, shape).astype(np.float32) for k, shape in parameter_shapes(cfg).items()}
    if bias is not None:
        weights["head.weight"][:] = 0
        weights["head.bias"][:] = bias
    path = tmp_path / f"{name}.safetensors"
    save_model(path, cfg, codec, weights, {})
    return load_model(path)


def rescore(model, primer_ids, ids):
    """Log-likelihood of ids after the primer, by forcing them through a fresh Generator."""
    gen = Generator(model, undo_depth=0)
    gen.feed(primer_ids)
    return sum(float(gen.step(force=int(t)).logprob[0]) for t in ids)


def test_polyphony_gives_exactly_the_steps_asked(tmp_path):
    model = make_model(tmp_path, PolyphonyEncoding())
    primer_ids = np.array([polyphony.START])
    results = generate_events(model, primer_ids, 24, SamplingSettings(1.0), seed=1, outputs=3)
    assert len(results) == 3
    for r in results:
        body = r.ids[1:-1]
        assert r.ids[-1] == polyphony.END and PolyphonyEncoding().count_steps(r.ids) == 24
        assert not np.isin(body, [polyphony.START, polyphony.END]).any()
        assert max(n.end for n in PolyphonyEncoding().decode(r.ids)) <= 24
        assert r.logprob == pytest.approx(rescore(model, primer_ids, r.ids[1:-1]), abs=1e-3)


def test_a_model_that_wants_to_stop_or_never_step_still_fills_the_steps(tmp_path):
    enc = PolyphonyEncoding()
    bias = np.full(enc.num_classes, -20.0)
    bias[polyphony.END] = 10.0  # it would end at once
    bias[polyphony.NEW_NOTE:] = 5.0  # and otherwise pile up notes forever
    model = make_model(tmp_path, enc, bias=bias)
    (r,) = generate_events(model, [polyphony.START], 8, SamplingSettings(1.0), seed=0)
    assert enc.count_steps(r.ids) == 8
    steps = np.split(r.ids[1:-1], np.flatnonzero(r.ids[1:-1] == polyphony.STEP_END) + 1)[:-1]
    assert all(len(s) - 1 <= MAX_NOTES_PER_STEP for s in steps)


@pytest.mark.parametrize("codec", [PolyphonyEncoding(), MelodyEncoding()], ids=["polyphony", "melody"])
def test_beam_search_keeps_the_likeliest_branches_and_scores_them_right(tmp_path, codec):
    model = make_model(tmp_path, codec, seed=3)
    primer_ids = codec.primer([Note(0, 4, 60)])
    settings = SamplingSettings(1.5)
    beams = generate_events(model, primer_ids, 16, settings, seed=2, outputs=2, beam_size=3, branch_factor=3)
    plain = generate_events(model, primer_ids, 16, settings, seed=2, outputs=8)
    for r in beams:  # the reordered, held rows still carry the state of the events they list
        assert r.logprob == pytest.approx(rescore(model, primer_ids, r.ids[len(primer_ids):][: r.events]), abs=1e-3)
        assert codec.count_steps(r.ids[len(primer_ids):]) == 16
    assert np.mean([r.logprob / r.events for r in beams]) > np.mean([r.logprob / r.events for r in plain])


def test_melody_primer_pitches_come_first(tmp_path):
    codec = MelodyEncoding()
    notes, source = primer(codec, primer_pitches="60,64,67")
    assert [n.key for n in notes] == [(0, 4, 60), (4, 8, 64), (8, 12, 67)] and source is None
    chord, _ = primer(PolyphonyEncoding(), primer_pitches="[67, 60, 64]")
    assert sorted(n.key for n in chord) == [(0, 4, 60), (0, 4, 64), (0, 4, 67)]
    with pytest.raises(ValueError, match="outside the model's range"):
        primer(codec, primer_pitches="20,60")
    with pytest.raises(ValueError, match="MIDI numbers"):
        primer(codec, primer_pitches="C4,E4")
    (one,), _ = primer(codec, seed=5)  # no primer: one random note to start from
    assert 55 <= one.pitch <= 72


def args_for(output, **kw):
    return GenerateSettings(**{"steps": 16, "seed": 7, "branch_factor": 2, "output": output, **kw})


def test_run_generate_keeps_the_primer_tempo_and_numbers_outputs(tmp_path):
    pretty_midi = pytest.importorskip("pretty_midi")
    model = make_model(tmp_path, PolyphonyEncoding())
    src = NoteSequence([Note(0, 4, 60), Note(0, 4, 64), Note(4, 8, 67)], [(0, 90.0)], (3, 4), [Voice("piano", 40)])
    prim = write_midi(src, tmp_path / "primer.mid")
    out = tmp_path / "out" / "song.mid"
    assert run_generate(args_for(out, primer_midi=prim, outputs=3), model) == 0
    files = sorted((tmp_path / "out").iterdir())
    assert [f.name for f in files] == ["song_1.mid", "song_2.mid", "song_3.mid"]
    for f in files:
        seq = read_midi(f)
        assert seq.qpm == 90.0 and seq.time_signature == (3, 4) and seq.voices[0].program == 40
        assert {n.key for n in src.notes} <= {n.key for n in seq.notes}  # the primer is kept
        assert seq.total_steps <= 8 + 16
        pm = pretty_midi.PrettyMIDI(str(f))
        found = sorted((round(n.start / (60 / 90 / 4)), round(n.end / (60 / 90 / 4)), n.pitch)
                       for n in pm.instruments[0].notes)
        assert found == sorted(n.key for n in seq.notes)
    with pytest.raises(FileExistsError):  # refused before any generating
        run_generate(args_for(out, outputs=3), model)
    assert run_generate(args_for(out, outputs=3, force=True, qpm=132, program=19), model) == 0
    seq = read_midi(files[0])
    assert seq.qpm == 132.0 and seq.voices[0].program == 19


def test_run_generate_melody_with_beam(tmp_path):
    model = make_model(tmp_path, MelodyEncoding())
    out = tmp_path / "tune.mid"
    assert run_generate(args_for(out, primer_pitches="60,62", beam_size=2, branch_factor=2, steps=12), model) == 0
    seq = read_midi(out)
    assert [n.key for n in seq.notes[:1]] == [(0, 4, 60)] and seq.total_steps <= 8 + 12 + 1
    assert all(48 <= n.pitch <= 83 for n in seq.notes)
    with pytest.raises(ValueError, match=r"written as MIDI \(\.mid\)"):
        run_generate(args_for(tmp_path / "tune.wav"), model)
