"""Cell activations, features, the ranking (against a hand-planted quote cell) and `guigen cells`."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from cells_planted import planted_weights, quoted_text, save_planted
from guigen.core import cells, features
from guigen.core.diverging import colour, contrast, text_colour
from guigen.core.generate import Generator
from guigen.core.modelfile import LoadedModel
from guigen.core.sampling import SamplingSettings


@pytest.fixture(scope="module")
def planted():
    cfg, codec, w = planted_weights()
    return LoadedModel(cfg, codec, w, name="planted")


@pytest.fixture(scope="module")
def planted_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    save_planted(folder / "planted.safetensors")
    (folder / "sample.txt").write_text(quoted_text(), encoding="utf-8")
    return folder


def test_the_ranking_finds_the_planted_quote_cell_first(planted):
    text = quoted_text()
    acts = cells.run_text(planted, text)
    assert acts.shape == (len(text), 1, 2, 6)
    quotes = features.text_features(text)["quotes"]
    assert 0 < quotes.mean() < 1  # the sample has text inside and outside quotes
    for kind in cells.KINDS:
        best = cells.rank(acts, quotes, kind, top=3)
        assert (best[0].layer, best[0].cell) == (0, 0)
        assert best[0].r > 0.95
        assert abs(best[1].r) < best[0].r
    # the planted cell flips at each quote: positive inside, not positive outside
    c = acts[:, 0, 0, 0]
    assert (c[quotes == 1] > 0.5).all() and (c[quotes == 0] <= 0).all()


def test_recording_while_generating_matches_the_teacher_forced_run(planted):
    gen = Generator(planted, SamplingSettings(temperature=1.0), seed=3)
    gen.cells = []
    primer = planted.codec.encode('ab "a')
    gen.feed(primer)
    tokens = [gen.step().token for _ in range(60)]
    recorded = cells.from_states(gen.cells)
    assert recorded.shape == (len(primer) + 60, 1, 2, 6)
    forced = cells.run_tokens(planted, np.concatenate([primer, tokens]))
    np.testing.assert_allclose(recorded, forced, atol=1e-6)
    gen.cells = None  # recording off: nothing more kept
    gen.step()
    assert len(recorded) == len(primer) + 60


def test_constant_features_and_cells_correlate_zero_not_nan():
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(50, 1, 2, 4)).astype(np.float32)
    acts[:, 0, 0, 2] = 0.7  # a saturated cell
    feature = rng.normal(size=50)
    r = cells.correlations(acts, feature)
    assert np.isfinite(r).all() and r[0, 2] == 0
    assert (cells.correlations(acts, np.ones(50)) == 0).all()
    # NaN steps (a music feature undefined where nothing sounds) are left out
    f = acts[:, 0, 0, 1].astype(float) * 3 + 1
    f[::5] = np.nan
    assert cells.correlations(acts, f)[0, 1] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="steps"):
        cells.correlations(acts, np.ones(49))
    # all features at once (the app's and the command's way) agree with one at a time
    feats = {"random": feature, "constant": np.ones(50), "gaps": f}
    table = cells.table(acts, feats)
    for name, values in feats.items():
        np.testing.assert_allclose(table[name], cells.correlations(acts, values), atol=1e-6)


def test_text_features():
    text = 'ROMEO:\nSay "hi" (now [x]) it\'s\n'
    f = features.text_features(text)
    assert set(f) == set(features.TEXT_FEATURES)
    assert all(len(v) == len(text) for v in f.values())
    inside = "".join(ch for ch, q in zip(text, f["quotes"]) if q)
    assert inside == '"hi'  # from the opening quote, until the closing one is read
    assert f["parens"][text.index("x")] == 2 and f["parens"][text.index("it")] == 0
    assert f["line_position"][text.index("S")] == 0 and f["line_position"][text.index("y")] == 2
    assert [i for i, v in enumerate(f["after_newline"]) if v] == [6, len(text) - 1]
    assert f["in_word"][text.index("'")] == 1 and f["in_word"][text.index(" ")] == 0
    assert f["upper"][:5].all() and not f["upper"][5]
    assert f["speaker"][:6].all() and not f["speaker"][6:].any()


def test_music_features_of_a_polyphony_sequence():
    from guigen.music.events import Note
    from guigen.music.polyphony import PolyphonyEncoding

    codec = PolyphonyEncoding()
    # C4 for steps 0-3 with E4 over it in steps 0-1; a rest in steps 4-5; G3 in steps 6-7
    notes = [Note(0, 4, 60), Note(0, 2, 64), Note(6, 8, 55)]
    ids = codec.encode(notes, num_steps=8)
    f = features.music_features(codec, ids)
    step_end = [t for t, i in enumerate(ids) if codec.ends_step(i)]
    assert len(step_end) == 8
    at = {s: step_end[s] for s in range(8)}  # each step's closing token
    assert [f["voices"][at[s]] for s in range(8)] == [2, 2, 1, 1, 0, 0, 1, 1]
    assert [f["to_rest"][at[s]] for s in range(8)] == [4, 3, 2, 1, 0, 0, 2, 1]
    assert f["bass"][at[0]] == 60 and np.isnan(f["bass"][at[4]]) and f["bass"][at[6]] == 55
    assert [f["beat"][at[s]] for s in range(8)] == list(range(8))


def test_the_colour_map_keeps_text_readable():
    for v in np.linspace(-1, 1, 401):
        bg = colour(v)
        assert contrast(bg, text_colour(bg)) >= 4.5
    assert colour(-1)[2] > colour(-1)[0] and colour(1)[0] > colour(1)[2]  # blue negative, red positive


def run_cli(*args, cwd=None):
    """`guigen cells` in a fresh interpreter, which must never import torch."""
    code = ("import sys; from guigen.cli import main; rc = main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(rc)")
    return subprocess.run([sys.executable, "-c", code, "cells", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_cli_writes_json_and_html_naming_the_planted_cell(planted_file, tmp_path):
    model, sample = planted_file / "planted.safetensors", planted_file / "sample.txt"
    out_json, out_html = tmp_path / "out.json", tmp_path / "out.html"
    p = run_cli("-m", model, sample, "--feature", "quotes", "--top", "3", "--json", out_json, "--html", out_html)
    assert p.returncode == 0, p.stderr
    assert "layer 0 cell 0" in p.stdout.splitlines()[2]
    doc = json.loads(out_json.read_text())
    best = doc["features"]["quotes"]
    assert len(best) == 3 and (best[0]["layer"], best[0]["cell"]) == (0, 0) and best[0]["r"] > 0.95
    for row in doc["table"]:
        assert set(row["r"]) == set(features.TEXT_FEATURES)
        assert all(-1 <= r <= 1 for r in row["r"].values())
    page = out_html.read_text(encoding="utf-8")
    text = sample.read_text(encoding="utf-8")
    blocks = re.findall(r"<pre>(.*?)</pre>", page, re.S)
    assert len(blocks) == 3
    for block in blocks:  # every character of the sample has its coloured span, in order
        spans = re.findall(r'<span class="s(\d+)" title="[-+]\d\.\d\d">(.*?)</span>', block, re.S)
        assert len(spans) == len(text)
        shown = "".join(s for _, s in spans).replace("\u21b5\n", "\n").replace("&quot;", '"')
        assert shown == text
    assert re.search(r"<h2>layer 0, cell 0 — quotes, r = \+(0\.9[5-9]\d|1\.000)</h2>", page)

    # one cell against every feature, nothing overwritten without --force
    p = run_cli("-m", model, sample, "--cell", "0", "--json", out_json)
    assert p.returncode == 2 and "exists" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = run_cli("-m", model, sample, "--cell", "0", "--json", out_json, "--html", out_html, "--force")
    assert p.returncode == 0, p.stderr
    assert re.findall(r"<h2>layer 0, cell 0 — r: quotes \+(?:0\.9\d\d|1\.000), parens", out_html.read_text())
    doc = json.loads(out_json.read_text())
    assert set(doc["features"]) == set(features.TEXT_FEATURES)
    assert doc["table"][0]["r"]["quotes"] > 0.95


@pytest.mark.parametrize("args, message", [
    (["--feature", "beat"], "text model's features are"),
    (["--cell", "6"], "cells 0 to 5"),
    (["--layer", "1"], "layers 0 to 0"),
    (["--json", "same.out", "--html", "same.out"], "--html and --json both name same.out"),
])
def test_cli_errors_are_one_line(planted_file, args, message):
    p = run_cli("-m", planted_file / "planted.safetensors", planted_file / "sample.txt", *args)
    assert p.returncode == 2 and message in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_cli_on_a_midi_file_with_a_music_model(tmp_path):
    from guigen.core.config import ModelConfig, parameter_shapes
    from guigen.core.modelfile import save_model
    from guigen.music.events import Note, NoteSequence
    from guigen.music.midi import write_midi
    from guigen.music.polyphony import PolyphonyEncoding

    codec = PolyphonyEncoding(key=0, min_pitch=40, max_pitch=80)
    cfg = ModelConfig(codec.num_classes, embed=8, hidden=16, layers=2, dropout=0.0)
    rng = np.random.default_rng(0)
    save_model(tmp_path / "m.safetensors", cfg, codec,
               {k: rng.normal(0, 0.3, s).astype(np.float32) for k, s in parameter_shapes(cfg).items()})
    notes = [Note(s, s + 2, p) for s, p in zip(range(0, 64, 2), [60, 62, 64, 65, 67] * 7)]
    notes += [Note(s, s + 8, 48) for s in range(0, 64, 16)]
    write_midi(NoteSequence(notes), tmp_path / "piece.mid")
    p = run_cli("-m", tmp_path / "m.safetensors", tmp_path / "piece.mid", "--feature", "voices", "--top", "2",
                "--json", tmp_path / "o.json", "--html", tmp_path / "o.html")
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "o.json").read_text())
    assert len(doc["features"]["voices"]) == 2
    assert set(doc["table"][0]["r"]) == set(features.MUSIC_FEATURES)
    assert all(-1 <= r <= 1 for row in doc["table"] for r in row["r"].values())
    blocks = re.findall(r"<pre>(.*?)</pre>", (tmp_path / "o.html").read_text(), re.S)
    assert [len(re.findall(r'<span class="s\d+"', b)) for b in blocks] == [doc["tokens"]] * 2


def test_a_recording_grows_and_starts_again_where_told():
    rec = cells.Recording((1, 2, 3))
    a = np.random.default_rng(0).uniform(-1, 1, (300, 1, 2, 3)).astype(np.float32)
    rec.put(0, a[:200])
    rec.put(200, a[200:])  # past the first buffer
    np.testing.assert_allclose(rec.array, a, atol=1e-3)
    rec.put(250, a[:10])  # after an undo, recording goes on from 250
    assert len(rec) == 260
    np.testing.assert_allclose(rec.array[250:], a[:10], atol=1e-3)
    rec.truncate(100)
    assert len(rec) == 100
    with pytest.raises(ValueError, match="only 100"):
        rec.put(101, a[:1])


def test_cli_colours_characters_the_model_never_saw_with_the_state_before_them(planted_file, tmp_path):
    text = 'ab (a "b) a\n[b" a]'  # brackets and parentheses are not in the planted model's vocabulary
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    out_json, out_html = tmp_path / "o.json", tmp_path / "o.html"
    p = run_cli("-m", planted_file / "planted.safetensors", tmp_path / "t.txt", "--feature", "parens", "--top", "1",
                "--json", out_json, "--html", out_html)
    assert p.returncode == 0, p.stderr
    assert "4 character(s) the model never saw ('(' ')' '[' ']')" in p.stderr
    spans = re.findall(r'<span class="s\d+" title="([-+]\d\.\d\d)">(.*?)</span>', out_html.read_text(), re.S)
    assert len(spans) == len(text)
    values = [float(v) for v, _ in spans]
    assert values[text.index("(")] == values[text.index("(") - 1]  # not read: the state before it
    assert -1 <= json.loads(out_json.read_text())["features"]["parens"][0]["r"] <= 1


def test_cli_on_a_feature_the_sample_never_shows_names_the_cells_that_vary_most(planted_file, tmp_path):
    (tmp_path / "t.txt").write_text("ab ba\nab. a b\n" * 20, encoding="utf-8")  # no quotes at all
    out_json, out_html = tmp_path / "o.json", tmp_path / "o.html"
    p = run_cli("-m", planted_file / "planted.safetensors", tmp_path / "t.txt", "--feature", "quotes", "--top", "2",
                "--json", out_json, "--html", out_html)
    assert p.returncode == 0, p.stderr
    assert "constant over this sample, so r = 0 for every cell" in p.stdout
    doc = json.loads(out_json.read_text())
    assert doc["constant"] == ["quotes"]
    listed = doc["features"]["quotes"]
    assert len(listed) == 2 and all(c["r"] == 0 for c in listed) and listed[0]["std"] >= listed[1]["std"] > 0
    page = out_html.read_text(encoding="utf-8")
    assert page.count("quotes is constant over this sample") == 2
    blocks = re.findall(r"<pre>(.*?)</pre>", page, re.S)
    assert [len(re.findall(r'<span class="s\d+"', b)) for b in blocks] == [len("ab ba\nab. a b\n" * 20)] * 2


def test_cli_runs_the_first_max_steps_characters_and_says_so(planted_file, tmp_path):
    """The model's time grows with the text, one step per character: cells runs at most --max-steps
    (default 50,000) and says in one line when it cut; a bound outside its range is refused."""
    model, sample = planted_file / "planted.safetensors", planted_file / "sample.txt"
    text = sample.read_text(encoding="utf-8")
    out_html = tmp_path / "out.html"
    p = run_cli("-m", model, sample, "--cell", "0", "--max-steps", "40", "--html", out_html)
    assert p.returncode == 0, p.stderr
    assert f"note: ran the first 40 of {len(text):,} characters" in p.stderr
    spans = re.findall(r'<span class="s\d+" title="[-+]\d\.\d\d">(.*?)</span>', out_html.read_text(encoding="utf-8"), re.S)
    assert len(spans) == 40
    p = run_cli("-m", model, sample, "--max-steps", "0")
    assert p.returncode == 2 and "--max-steps must be between 1 and" in p.stderr and len(p.stderr.strip().splitlines()) == 1
