"""The polyphony grammar (every encoded piece obeys it; constrained samples re-encode to themselves)
and melody models trained in one key (Magenta's transpose_to_key): key finding, views, the CLI."""

import subprocess
import sys

import numpy as np
import pretty_midi
from hypothesis import given, settings
from test_music_encodings import polyphonic

from guigen.core.generate import Generator
from guigen.core.sampling import SamplingSettings
from guigen.music import polyphony
from guigen.music.dataset import extract, music_data, parse_key
from guigen.music.events import Note, NoteSequence, Voice
from guigen.music.generate import generate_events
from guigen.music.events import major_key
from guigen.music.melody import MelodyEncoding
from guigen.music.midi import write_midi
from guigen.music.polyphony import PolyphonyEncoding, PolyphonyGrammar
from test_music_generate import make_model

G_MAJOR_TUNE = [67, 69, 71, 72, 74, 72, 71, 69, 67, 66, 67]  # G A B C D C B A G F# G


@settings(max_examples=200, deadline=None)
@given(polyphonic())
def test_every_encoded_piece_obeys_the_grammar(notes):
    ids = PolyphonyEncoding().encode(notes)
    g = PolyphonyGrammar(1)
    g.advance(ids[:1])
    for i, t in enumerate(ids[1:], 1):
        assert g.allowed()[0, t], f"event {i} ({PolyphonyEncoding().token_label(t)}) was ruled out"
        g.advance([t])


def test_grammar_rules():
    codec = PolyphonyEncoding()
    g = PolyphonyGrammar(2)
    g.advance([polyphony.START] * 2)
    g.advance([polyphony.NEW_NOTE + 67, polyphony.STEP_END])  # row 0 strikes G4; row 1 an empty step
    ok = g.allowed()
    assert not ok[0, polyphony.CONTINUED_NOTE + 67] and not ok[0, polyphony.NEW_NOTE + 67]  # no unison
    assert ok[0, polyphony.NEW_NOTE + 60] and not ok[0, polyphony.NEW_NOTE + 70]  # highest first
    assert not ok[0, polyphony.END] and ok[1, polyphony.END]  # END only between steps
    assert not ok[:, polyphony.START].any() and ok[:, polyphony.STEP_END].all()
    g.advance([polyphony.STEP_END, polyphony.STEP_END])
    ok = g.allowed()
    held = [codec.token_label(i) for i in np.flatnonzero(ok[0, polyphony.CONTINUED_NOTE:]) + polyphony.CONTINUED_NOTE]
    assert held == ["G4 held"]  # only what sounded can be held
    assert not ok[1, polyphony.CONTINUED_NOTE:].any()


def test_constrained_samples_are_canonical(tmp_path):
    """Sampled ids decode and re-encode to the very same ids: no slips the decoder had to forgive."""
    model = make_model(tmp_path, PolyphonyEncoding(), seed=3)
    codec = model.codec
    primer_ids = codec.primer([Note(0, 4, 60), Note(0, 4, 64), Note(0, 4, 67)])
    for beam in (1, 2):
        results = generate_events(model, primer_ids, 48, SamplingSettings(1.5), seed=1, outputs=3,
                                  beam_size=beam, branch_factor=beam)
        for r in results:
            assert np.array_equal(codec.encode(codec.decode(r.ids)), r.ids)
    # unconstrained, the same random model slips: the test above is not vacuous
    gen = Generator(model, SamplingSettings(1.5), seed=1, constrain=False)
    gen.feed(primer_ids)
    ids = np.concatenate([primer_ids, [gen.step().token for _ in range(400)], [polyphony.END]])
    assert not np.array_equal(codec.encode(codec.decode(ids)), ids)


def test_undo_restores_the_grammar(tmp_path):
    model = make_model(tmp_path, PolyphonyEncoding(), seed=4)
    gen = Generator(model, SamplingSettings(1.0), seed=0)
    gen.feed(model.codec.primer([Note(0, 4, 60)]))
    before, state = gen.preview()[1], gen.state.copy()
    for _ in range(70):  # across two of undo's snapshots
        gen.step()
    for _ in range(70):
        assert gen.undo()
    assert np.array_equal(gen.preview()[1], before)
    assert np.array_equal(gen.state, state)
    step = gen.step()
    assert step.raw_probs[0, polyphony.CONTINUED_NOTE + 61] == 0  # C#4 never sounded: it can't be held
    assert step.raw_probs[0, polyphony.CONTINUED_NOTE + 60] > 0


# -- melody models in one key ------------------------------------------------------------------
def tune(pitches, length=4):
    return [Note(i * length, (i + 1) * length, p) for i, p in enumerate(pitches)]


def test_major_key_and_shift():
    assert major_key(tune(G_MAJOR_TUNE)) == 7
    assert major_key(tune([57, 60, 64, 69, 67, 65, 64])) == 0  # A minor: C major's notes
    codec = MelodyEncoding(48, 83, key=0)
    assert codec.key_shift(tune(G_MAJOR_TUNE)) == 5  # G4 -> C5, the smallest move to C
    assert MelodyEncoding(48, 83).key_shift(tune(G_MAJOR_TUNE)) == 0  # no key: left alone
    assert codec.key_shift(tune([50, 52, 54, 49, 50])) == 10  # D major low down: -2 would drop C#3 out of range
    assert codec.key_shift(tune([48, 50, 52, 47, 48])) == 12  # in C already, but B2 is below the range
    assert (parse_key("C"), parse_key("f#"), parse_key("Bb"), parse_key("Am"), parse_key("none")) == (0, 6, 10, 0, None)
    assert major_key(tune([67, 71, 74])) == 0  # G-B-D fits C, G and D major: the lowest tonic, as Magenta
    assert major_key(tune([67, 71, 74]), bass_breaks_ties=True) == 7  # for a primer the lowest note decides
    assert MelodyEncoding(48, 83, key=0).view_for(tune([67, 71, 74])).token_label(2 + 72 - 48) == "G4"


def test_view_plays_in_the_model_key_and_sounds_in_the_primers():
    codec = MelodyEncoding(48, 83, key=0)
    notes = tune(G_MAJOR_TUNE)
    view = codec.view_for(notes)
    in_c = codec.encode([Note(n.start, n.end, n.pitch + 5) for n in notes])
    assert np.array_equal(view.encode(notes), in_c)  # the model sees the tune in C
    assert [n.pitch for n in view.decode(in_c)] == G_MAJOR_TUNE  # the listener hears it in G
    assert view.token_label(view.encode(notes)[0]) == "G4"
    assert view.num_classes == codec.num_classes
    assert MelodyEncoding.from_meta(codec.to_meta()).key == 0
    assert "transpose_to_key" not in MelodyEncoding(48, 83).to_meta()  # older files stay as they were


def test_training_melodies_are_moved_to_the_key(tmp_path, capsys):
    folder = tmp_path / "midi"
    folder.mkdir()
    for i, tonic in enumerate((62, 67, 70)):  # D, G and Bb major scales
        scale = [tonic + d for d in (0, 2, 4, 5, 7, 9, 11, 12)]
        write_midi(NoteSequence(tune(scale * 2), voices=[Voice("v")]), folder / f"s{i}.mid")
    codec = MelodyEncoding(48, 83, key=0)
    pieces, report = extract(codec, folder / "s1.mid")
    assert major_key(pieces[0]) == 0 and report.counts["melodies moved to the model's key"] == 1
    data = music_data([folder], "melody", valid=[folder], transpose_range=(-3, 3), key=0, log=sys.stderr)
    assert data.codec.key == 0 and data.summary["transpose"] == [0, 0]  # no augmentation in one key
    assert "not used" in capsys.readouterr().err
    for piece in data.pieces:
        assert major_key(piece) == 0


def test_cli_melody_in_one_key_continues_in_the_primers_key(tmp_path):
    folder = tmp_path / "midi"
    folder.mkdir()
    for i, tonic in enumerate((60, 62, 65, 67)):
        scale = [tonic + d for d in (0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2)]
        write_midi(NoteSequence(tune(scale * 3, 2), voices=[Voice("v")]), folder / f"s{i}.mid")
    out = tmp_path / "m.safetensors"
    run = [sys.executable, "-m", "guigen"]
    subprocess.run(run + ["train", "music", str(folder), "--valid", str(folder), "--encoding", "melody", "--to-key", "C",
                          "--layers", "1", "--hidden", "32", "--embed", "8", "--epochs", "30", "--batch", "4",
                          "--seq-len", "32", "--lr", "0.01", "--quiet", "-o", str(out)], check=True, capture_output=True)
    mid = tmp_path / "g.mid"
    subprocess.run(run + ["generate", "-m", str(out), "--primer-pitches", "67,71,72,66,67", "--steps", "64", "-t", "0.2",
                          "--seed", "0", "-o", str(mid)], check=True, capture_output=True)
    pitches = [n.pitch for n in sorted(pretty_midi.PrettyMIDI(str(mid)).instruments[0].notes, key=lambda n: n.start)]
    assert pitches[:5] == [67, 71, 72, 66, 67]  # the primer (only G major has these notes), where the user put it
    continuation = pitches[5:]
    assert continuation
    g_major = {(7 + d) % 12 for d in (0, 2, 4, 5, 7, 9, 11)}
    assert np.mean([p % 12 in g_major for p in continuation]) >= 0.9  # learned in C, played in G


def test_polyphony_in_one_key_and_its_pitch_range(tmp_path):
    codec = PolyphonyEncoding(key=0, min_pitch=40, max_pitch=80)
    assert PolyphonyEncoding.from_meta(codec.to_meta()).to_meta() == codec.to_meta()
    chord = [Note(0, 4, 62), Note(0, 4, 66), Note(0, 4, 69), Note(4, 8, 61), Note(4, 8, 64)]  # D major, C#
    view = codec.view_for(chord)
    assert view.shift == -2  # D major -> C major, the smaller way
    assert np.array_equal(view.encode(chord), codec.encode([Note(n.start, n.end, n.pitch - 2) for n in chord]))
    assert view.decode(view.encode(chord)) == sorted(chord)
    assert view.token_label(view.encode(chord)[1]) == "A4"
    assert codec.to_key(chord) == [Note(n.start, n.end, n.pitch - 2) for n in chord]
    assert codec.transpositions(chord, range(-3, 4)) == [0]  # one key: no augmentation
    ok = codec.grammar(1)
    ok.advance([polyphony.START])
    allowed = ok.allowed()[0, polyphony.NEW_NOTE:polyphony.CONTINUED_NOTE]
    assert np.flatnonzero(allowed).tolist() == list(range(40, 81))  # only the pitches it was trained on
    model = make_model(tmp_path, codec, seed=5)
    for r in generate_events(model, codec.primer([]), 32, SamplingSettings(2.0), seed=0, outputs=2):
        assert all(40 <= n.pitch <= 80 for n in codec.decode(r.ids))


def test_fine_tuning_a_music_model_keeps_its_encoding(tmp_path):
    folder = tmp_path / "midi"
    folder.mkdir()
    for i, tonic in enumerate((60, 62, 65)):
        chords = [Note(4 * k, 4 * k + 4, tonic + d + 12 * (k % 2)) for k in range(8) for d in (0, 4, 7)]
        write_midi(NoteSequence(chords, voices=[Voice("v")]), folder / f"c{i}.mid")
    base, tuned = tmp_path / "base.safetensors", tmp_path / "tuned.safetensors"
    run = [sys.executable, "-m", "guigen", "train", "music", str(folder), "--valid", str(folder), "--layers", "1",
           "--hidden", "16", "--embed", "8", "--epochs", "1", "--batch", "2", "--seq-len", "16", "--quiet"]
    subprocess.run(run + ["--encoding", "polyphony", "--to-key", "C", "-o", str(base)], check=True, capture_output=True)
    wide = folder / "wide.mid"  # a low note the base model never saw
    write_midi(NoteSequence([Note(0, 4, 30), Note(0, 4, 60)], voices=[Voice("v")]), wide)
    r = subprocess.run(run + ["--init", str(base), "-o", str(tuned)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "outside the model's pitch range" in r.stderr
    from guigen.core.modelfile import load_model

    b, t = load_model(base).codec, load_model(tuned).codec
    assert t.to_meta() == b.to_meta() and t.key == 0  # polyphony, in C, the same pitch range
    r = subprocess.run(run + ["--init", str(base), "--encoding", "melody", "-o", str(tmp_path / "x.safetensors")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "polyphony model" in r.stderr and "Traceback" not in r.stderr
    student = tmp_path / "student.safetensors"  # distilled without --init: a new model in its teacher's encoding
    r = subprocess.run(run + ["--teacher", str(base), "--hidden", "8", "-o", str(student)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    s = load_model(student)
    assert s.codec.to_meta() == b.to_meta() and s.config.hidden == 8 and s.training["distilled_from"] == [str(base)]
