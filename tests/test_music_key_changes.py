"""Key and time-signature changes read from ABC and MusicXML (guigen/music/notation.py) and kept
through harmonize and generate to the written MIDI file (read back by pretty_midi) and MusicXML
score (read back by music21)."""

import pytest

from guigen.cli import main
from guigen.music.midi import read_midi
from guigen.music.notation import read_notation

music21 = pytest.importorskip("music21")
pretty_midi = pytest.importorskip("pretty_midi")

# a hymn-like tune in G, 4/4, that goes to 3/4 in D and then to 6/8 in B-flat, mid-tune
ABC = """X:1
T:Changes
M:4/4
L:1/8
Q:1/4=120
K:G
GABc d2B2|c2A2 B2G2|
M:3/4
K:D
d2f2a2|f2d2A2|
M:6/8
K:Bb
BcB dcB|F3 B3|]
"""
METERS = [(0, 4, 4), (32, 3, 4), (56, 6, 8)]  # (step, numerator, denominator): 2 bars of 4/4, 2 of 3/4
KEYS = [(0, 1), (32, 2), (56, -2)]  # (step, sharps): G, D, B-flat


def midi_changes(path, qpm=120.0):
    """(time signatures, key signatures) of a MIDI file as pretty_midi reads them, in steps."""
    pm = pretty_midi.PrettyMIDI(str(path))
    step = 60.0 / qpm / 4
    meters = [(round(t.time / step), t.numerator, t.denominator) for t in pm.time_signature_changes]
    keys = [(round(k.time / step), k.key_number) for k in pm.key_signature_changes]
    return meters, keys


def score_changes(path):
    """(time signatures, key signatures) of a MusicXML score as music21 reads it, in steps."""
    flat = music21.converter.parse(str(path)).parts[0].flatten()
    meters = sorted({(round(t.offset * 4), t.numerator, t.denominator)
                     for t in flat.getElementsByClass("TimeSignature")})
    keys = sorted({(round(k.offset * 4), k.sharps) for k in flat.getElementsByClass("KeySignature")})
    return meters, keys


PM_KEYS = [(0, 7), (32, 2), (56, 10)]  # pretty_midi's key numbers: G major 7, D major 2, B-flat major 10


def test_an_abc_tunes_changes_are_read(tmp_path):
    (tmp_path / "t.abc").write_text(ABC)
    seq = read_notation(tmp_path / "t.abc")
    assert (seq.time_signature, seq.time_signature_changes) == ((4, 4), METERS[1:])
    assert seq.key_changes == KEYS
    assert min(n.start for n in seq.notes if n.pitch == 74 + 0 and n.start >= 32) == 32  # the 3/4 bar's first D


def test_a_musicxml_files_changes_are_read(tmp_path):
    """A score music21 writes itself, with both kinds of change, read as the ABC tune is."""
    s = music21.stream.Stream()
    s.append(music21.meter.TimeSignature("2/4"))
    s.append(music21.key.KeySignature(-1))
    for p in ["F4", "A4", "C5", "A4"]:
        s.append(music21.note.Note(p, quarterLength=1))
    s.append(music21.meter.TimeSignature("3/4"))
    s.append(music21.key.KeySignature(3))
    for p in ["A4", "C#5", "E5", "C#5", "B4", "A4"]:
        s.append(music21.note.Note(p, quarterLength=1))
    path = tmp_path / "s.musicxml"
    s.write("musicxml", fp=str(path))
    seq = read_notation(path)
    assert (seq.time_signature, seq.time_signature_changes) == ((2, 4), [(16, 3, 4)])
    assert seq.key_changes == [(0, -1), (16, 3)]
    back = read_midi(_written(seq, tmp_path / "s.mid"))
    assert (back.time_signature_changes, back.key_changes) == ([(16, 3, 4)], [(0, -1), (16, 3)])


def _written(seq, path):
    from guigen.music.export import write_piece

    write_piece(seq, path, False)
    return path


@pytest.mark.parametrize("suffix", [".mid", ".musicxml"])
def test_harmonize_keeps_the_changes(tmp_path, suffix):
    (tmp_path / "t.abc").write_text(ABC)
    out = tmp_path / f"h{suffix}"
    assert main(["harmonize", str(tmp_path / "t.abc"), "--seed", "0", "-o", str(out)]) == 0
    if suffix == ".mid":
        meters, keys = midi_changes(out)
        assert meters == METERS and keys == PM_KEYS
    else:
        assert score_changes(out) == (METERS, KEYS)


@pytest.mark.parametrize("suffix", [".mid", ".musicxml"])
def test_generate_keeps_the_primers_changes(tmp_path, suffix):
    """bach-melody plays on from the tune (moved to C for the model, and back): the primer's
    changes are where they were, and its last key holds on."""
    (tmp_path / "t.abc").write_text(ABC)
    out = tmp_path / f"g{suffix}"
    assert main(["generate", "-m", "bach-melody", "--primer-file", str(tmp_path / "t.abc"), "-n", "16",
                 "--seed", "1", "--qpm", "120", "-o", str(out)]) == 0
    meters, keys = midi_changes(out) if suffix == ".mid" else score_changes(out)
    assert meters == METERS and keys == (PM_KEYS if suffix == ".mid" else KEYS)


def test_the_apps_variations_keep_the_primers_changes(qtbot, tmp_path):
    """Variations of bach-melody from the ABC tune, on real widgets: each exported MIDI file has the
    tune's time and key signatures where the tune has them."""
    from app_helpers import TIMEOUT, open_window

    from guigen.core import registry

    (tmp_path / "t.abc").write_text(ABC)
    for w in open_window(qtbot, tmp_path, registry.resolve("bach-melody")):
        w.primer.setText(str(tmp_path / "t.abc"))
        w.seed.setValue(2)
        w.length.setValue(16)
        w.variations.count.setValue(2)
        w.variations.button.click()
        qtbot.waitUntil(lambda: w.variations.current is not None and w.variations.current.done, timeout=TIMEOUT)
        paths = w.variations.export_all(tmp_path / "out")
        assert len(paths) == 2
        for p in paths:
            qpm = pretty_midi.PrettyMIDI(str(p)).get_tempo_changes()[1][0]
            assert midi_changes(p, qpm) == (METERS, PM_KEYS)
