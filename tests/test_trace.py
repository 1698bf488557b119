"""`guigen generate --trace`: one JSON record per token, true to the distribution it was drawn from."""

from __future__ import annotations

import json
import math

import pytest

from guigen.cli import main


def run_trace(tmp_path, t, *extra):
    out = tmp_path / f"trace-{t}.jsonl"
    text = tmp_path / f"text-{t}.txt"
    assert main(["generate", "-m", "shakespeare", "-n", "120", "-t", str(t), "--seed", "4", "--primer", "ROMEO:",
                 "-o", str(text), "--trace", str(out), *extra]) == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return records, text.read_text(encoding="utf-8")


@pytest.mark.parametrize("t", [0.2, 1.0, 3.0])
def test_trace_says_what_each_token_was_drawn_from(tmp_path, t):
    records, text = run_trace(tmp_path, t)
    assert len(records) == 120
    shown = {"⏎": "\n", "␣": " "}  # the labels the histogram shows for line break and space
    assert "".join(shown.get(r["token"], r["token"]) for r in records) == text[len("ROMEO:"):]
    for r in records:
        assert set(r) == {"token", "p", "entropy", "raw_entropy", "kept", "top", "raw_top"}
        assert len(r["top"]) == 5 and len(r["raw_top"]) == 5
        assert r["p"] > 0 and r["kept"] <= 65
        assert r["top"][0][1] >= r["top"][-1][1] and sum(p for _, p in r["top"]) <= 1 + 1e-5
        assert 0 <= r["entropy"] <= math.log(r["kept"]) + 1e-6
        if t < 1:
            assert r["entropy"] < r["raw_entropy"]
        elif t > 1:
            assert r["entropy"] > r["raw_entropy"]
        else:
            assert r["entropy"] == pytest.approx(r["raw_entropy"], abs=1e-5) and r["top"] == r["raw_top"]


def test_trace_counts_what_top_k_keeps_and_refuses_to_overwrite(tmp_path, capsys):
    records, _ = run_trace(tmp_path, 1.0, "--top-k", "3")
    assert all(r["kept"] <= 3 and r["top"][3][1] == 0 for r in records)
    assert main(["generate", "-m", "shakespeare", "-n", "5", "--trace", str(tmp_path / "trace-1.0.jsonl")]) == 2
    assert "exists" in capsys.readouterr().err


def test_trace_of_a_music_model_records_each_event_as_drawn(tmp_path):
    from guigen.core.registry import load

    labels = {load("bach-chorales").codec.token_label(i) for i in range(259)}
    traces = {}
    for t in (0.2, 3.0):
        out = tmp_path / f"music-{t}.jsonl"
        assert main(["generate", "-m", "bach-chorales", "-n", "12", "-t", str(t), "--seed", "2",
                     "--primer-pitches", "60,64,67", "-o", str(tmp_path / f"m-{t}.mid"), "--trace", str(out)]) == 0
        traces[t] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    for t, records in traces.items():
        assert sum(r["token"] == "next step" for r in records) == 12  # one STEP_END per 16th-note step
        for r in records:
            assert r["token"] in labels and r["p"] > 0 and r["kept"] >= 1
            assert r["entropy"] <= math.log(r["kept"]) + 1e-6
            assert "end" not in [label for label, _ in r["top"][:r["kept"]]]  # the piece ends when we say so
    assert all(r["entropy"] < r["raw_entropy"] for r in traces[0.2] if r["raw_entropy"] > 0.05)
    assert sum(r["entropy"] > r["raw_entropy"] for r in traces[3.0]) > 0.8 * len(traces[3.0])


def test_trace_onto_a_folder_or_an_output_file_is_refused_by_name(tmp_path, capsys):
    (tmp_path / "folder").mkdir()
    assert main(["generate", "-m", "shakespeare", "-n", "5", "--trace", str(tmp_path / "folder")]) == 1
    assert "is a folder" in capsys.readouterr().err  # not "exists; use --force", which would not help
    out = tmp_path / "out.txt"
    for extra in ([], ["--force"]):  # one of the two would silently replace the other
        assert main(["generate", "-m", "shakespeare", "-n", "5", "-o", str(out), "--trace", str(out), *extra]) == 2
        assert "also an output file" in capsys.readouterr().err
    assert not out.exists()
