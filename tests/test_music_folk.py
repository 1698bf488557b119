"""The shipped folk model: its card's figures match
the file, a tune continued from an ABC primer keeps its primer and stays in its key, and on a folk
tune that is not in its training books (The Kesh, typed in here) it beats bach-melody by far."""

import re

import pytest

pytest.importorskip("music21")

from guigen.core import facts, registry  # noqa: E402
from guigen.core.evaluate import nll  # noqa: E402
from guigen.core.sampling import SamplingSettings  # noqa: E402
from guigen.music.dataset import encode_files  # noqa: E402
from guigen.music.generate import generate_events, primer  # noqa: E402
from music_helpers import in_best_key, shipped  # noqa: E402


# "The Kesh" (a traditional Irish jig, as printed in 19th-century collections), first part, in G
KESH = """X:1
T:The Kesh
M:6/8
L:1/8
K:G
|:GAG GAB|ABA ABd|edd gdd|edB dBA|
GAG GAB|ABA ABd|edd gdB|AGF G3:|
"""


def test_card_figures_match_the_file():
    model = shipped("folk")
    card = (registry.shipped_dir() / "folk.md").read_text()
    codec = model.codec
    assert (codec.name, codec.min_pitch, codec.max_pitch, codec.key) == ("melody", 48, 96, 0)
    assert f"{model.num_parameters():,} parameters" in card
    assert f"over {codec.num_classes} events" in card
    train = model.training["train_files"]
    assert f"{train['files']:,} tunes" in card.replace(" training tunes", " tunes")
    assert f"{model.training['steps']:,} steps" in card and f"{model.training['train_seconds']:,.0f} s" in card
    # the scores in the file are the card's, and the README's row says them as `guigen info` does
    test = re.search(r"^\| \*\*test[^|]*\*\* \| \*\*([\d.]+)\*\*", card, re.M)
    valid = re.search(r"^\| validation[^|]* \| ([\d.]+) \|", card, re.M)
    s = model.training["scores"]
    assert (s["test"], s["validation"]) == (float(test[1]), float(valid[1]))
    readme = (registry.shipped_dir().parent / "README.md").read_text()
    row = next(r for r in readme.splitlines() if r.startswith("| folk |"))
    assert facts.scores_line(model.training, model.kind) in row


def test_abc_primer_continued_in_key(tmp_path):
    model = shipped("folk")
    path = tmp_path / "kesh.abc"
    path.write_text(KESH)
    notes, source = primer(model.codec, primer_midi=path)
    assert source.time_signature == (6, 8) and len(notes) == 92  # 46 notes, the repeat written out
    view = model.codec.view_for(notes)
    results = generate_events(model, view.primer(notes), 96, SamplingSettings(1.0), seed=0, outputs=4)
    primer_end = max(n.end for n in notes)
    for r in results:
        tune = view.decode(r.ids)
        assert [n.key for n in tune[:len(notes) - 1]] == [n.key for n in notes[:-1]]
        new = [n for n in tune if n.start >= primer_end]
        assert 12 <= len(new) <= 96  # a jig moves in eighth notes: about 48 in 96 steps
        assert in_best_key(new) >= 0.85  # G major's notes
        assert all(48 <= n.pitch <= 96 for n in new)


def test_beats_bach_melody_on_a_folk_tune(tmp_path):
    folk, bach = shipped("folk"), shipped("bach-melody")
    path = tmp_path / "kesh.abc"
    path.write_text(KESH)
    scores = {}
    for model in (folk, bach):
        arrays, steps, _ = encode_files(model.codec, [path])
        total, count = nll([model], arrays)
        scores[model.name] = total / count
    assert scores[folk.name] < 0.8 * scores[bach.name], scores
