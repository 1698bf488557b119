"""Hostile notation files, options and output paths (issue 22), each through the real `guigen` in a
subprocess: zip bombs and long tunes built here with zipfile and strings, absurd ABC headers, FIFOs,
huge numbers, outputs that name inputs through links. Every refusal is one line on stderr, exit 2,
in bounded time and memory (tests/hostile.py), and nothing outside the test's folder changes."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

import pytest

from tests.hostile import bounded, refused, run, snapshot

pytest.importorskip("music21")

NOTES = "CDEFGABc"


def tune(n: int, header: str = "M:4/4\nL:1/4\nQ:1/4=100", number: int = 1, title: str = "Long") -> str:
    """An ABC tune of n quarter notes, 16 bars a line."""
    bars = ["".join(NOTES[(i + j) % 8] for j in range(4)) for i in range(0, n, 4)]
    lines = ["|".join(bars[i:i + 16]) + "|" for i in range(0, len(bars), 16)]
    return f"X:{number}\nT:{title}\n{header}\nK:C\n" + "\n".join(lines) + "\n"


def musicxml(n: int) -> str:
    notes = "".join(f"<note><pitch><step>{'CDEFGAB'[i % 7]}</step><octave>4</octave></pitch><duration>1</duration>"
                    f"<type>quarter</type></note>" + ("</measure><measure>" if i % 4 == 3 else "") for i in range(n))
    return ('<?xml version="1.0"?><score-partwise version="3.1"><part-list><score-part id="P1"><part-name>X'
            '</part-name></score-part></part-list><part id="P1"><measure><attributes><divisions>1</divisions>'
            f'<time><beats>4</beats><beat-type>4</beat-type></time></attributes>{notes}</measure></part></score-partwise>')


def generate(primer: Path, out: Path, *more) -> list:
    return ["generate", "-m", "bach-chorales", "--primer-file", primer, "-n", "16", "--seed", "1", "-o", out, *more]


@pytest.fixture(scope="module")
def tiny_model_path(alice_slice, tmp_path_factory) -> Path:
    """A text model trained in seconds (1 x 16 cells): what the text cases need is a model, not a good one."""
    from guigen.cli import main

    out = tmp_path_factory.mktemp("tiny") / "tiny.safetensors"
    assert main(["train", "text", str(alice_slice), "-o", str(out), "--hidden", "16", "--layers", "1", "--embed", "8",
                 "--batch", "8", "--seq-len", "32", "--epochs", "1", "--quiet"]) == 0
    return out


@pytest.fixture()
def sentinel(tmp_path_factory):
    """A file outside the test's folder: no run may change it."""
    path = tmp_path_factory.mktemp("outside") / "keep.abc"
    path.write_text(tune(8))
    before = snapshot(path)
    yield path
    assert snapshot(path) == before


# -- .mxl ------------------------------------------------------------------------------------------
def _zip_bomb(path: Path, mb: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/container.xml", '<container><rootfiles><rootfile full-path="score.xml"/></rootfiles></container>')
        with z.open("score.xml", "w", force_zip64=True) as f:
            block = b"\0" * (1 << 20)
            for _ in range(mb):
                f.write(block)


def _lying_zip(path: Path) -> None:
    """A score whose headers declare 1,000 bytes while it inflates to 64 MB of notes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("score.xml", musicxml(8).encode() + b"<!--" + b" " * (64 << 20) + b"-->")
    data = bytearray(buf.getvalue())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed size in both headers
        at = data.find(sig)
        data[at + offset:at + offset + 4] = struct.pack("<I", 1000)
    path.write_bytes(bytes(data))


def test_mxl_bombs_and_zips_without_a_score_are_refused_within_bounds(tmp_path, sentinel):
    _zip_bomb(tmp_path / "bomb.mxl", 40)
    line = refused(run(generate(tmp_path / "bomb.mxl", tmp_path / "o.mid"), tmp_path), "bomb.mxl", "32 MB")
    assert "inflate" in line
    _lying_zip(tmp_path / "liar.mxl")
    refused(run(generate(tmp_path / "liar.mxl", tmp_path / "o.mid"), tmp_path), "liar.mxl")
    with zipfile.ZipFile(tmp_path / "empty.mxl", "w") as z:
        z.writestr("readme.txt", "no score here")
    refused(run(["harmonize", tmp_path / "empty.mxl", "-o", tmp_path / "h.mid"], tmp_path), "empty.mxl", "no MusicXML")
    refused(run(["eval", "-m", "bach-chorales", tmp_path / "bomb.mxl"], tmp_path), "bomb.mxl")
    assert not (tmp_path / "o.mid").exists() and not (tmp_path / "h.mid").exists()


# -- ABC and MusicXML: headers, lengths ---------------------------------------------------------------
HEADERS = {"M:1000/1": "M:1000/1", "M:5000/1": "M:5000/1", "M:3/5": "M:3/5", "Q:0": "Q:0", "Q:-5": "Q:-5",
           "Q:1/4=0": "Q:1/4=0", "L:1/1024": "L:1/1024"}


@pytest.mark.parametrize("header", list(HEADERS), ids=list(HEADERS))
def test_absurd_abc_headers_are_refused_naming_file_tune_and_header(tmp_path, header):
    path = tmp_path / "odd.abc"
    base = {"M": "M:4/4", "L": "L:1/8", "Q": "Q:1/4=100"}
    base[header[0]] = header
    path.write_text(tune(64, "\n".join(base.values()), title="Odd Tune"))
    r = run(["harmonize", path, "-o", tmp_path / "h.mid"], tmp_path)
    refused(r, "odd.abc", "Odd Tune", HEADERS[header])
    assert r.seconds < 10  # refused before music21 reads the tune: well under a second unloaded


def test_long_tunes_read_in_linear_time_or_are_refused_up_front(tmp_path, sentinel):
    (tmp_path / "10k.abc").write_text(tune(10_000))
    r = run(generate(tmp_path / "10k.abc", tmp_path / "o.mid"), tmp_path)
    bounded(r)
    assert r.rc == 0 and (tmp_path / "o.mid").exists(), r.err  # read (about 2 s), its first 1,024 steps the primer
    (tmp_path / "100k.abc").write_text(tune(100_000))
    refused(run(generate(tmp_path / "100k.abc", tmp_path / "p.mid"), tmp_path), "100k.abc", "100,000 notes")
    (tmp_path / "100k.musicxml").write_text(musicxml(100_000))
    refused(run(["harmonize", tmp_path / "100k.musicxml", "-o", tmp_path / "h.mid"], tmp_path), "100,000 notes")
    (tmp_path / "held.abc").write_text("X:1\nT:Held\nM:4/4\nL:1/8\nK:C\nC99999999|\n")
    refused(run(generate(tmp_path / "held.abc", tmp_path / "q.mid"), tmp_path), "held.abc", "units long")


def test_a_book_is_indexed_once_and_tune_parses_only_the_chosen_one(tmp_path):
    book = tmp_path / "book.abc"
    book.write_text("\n".join(tune(32, "M:4/4\nL:1/8", number=i, title=f"Tune {i}") for i in range(1, 2001)))
    r = run(generate(book, tmp_path / "o.mid", "--tune", "1500"), tmp_path)
    bounded(r)
    assert r.rc == 0, r.err
    refused(run(generate(book, tmp_path / "p.mid", "--tune", "9" * 5000), tmp_path), "book.abc", "no tune")


def test_control_characters_from_a_file_never_reach_the_terminal(tmp_path):
    path = tmp_path / "esc.abc"
    path.write_text('X:1\nT:Evil \x1b[2J\u202e title\nM:4/4\nL:1/8\nK:C\n"\x1b[31mred\nchord" [[[ CDEF !x! |\n')
    r = run(["harmonize", path, "-o", tmp_path / "h.mid"], tmp_path)
    line = refused(r, "esc.abc")
    assert "\\x1b" in line or "\\u202e" in line


def test_fifos_as_notation_input_are_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.abc")
    refused(run(["harmonize", tmp_path / "pipe.abc", "-o", tmp_path / "h.mid"], tmp_path), "pipe.abc", "FIFO")
    os.mkfifo(tmp_path / "pipe.mxl")
    refused(run(generate(tmp_path / "pipe.mxl", tmp_path / "o.mid"), tmp_path), "pipe.mxl", "FIFO")


# -- options ------------------------------------------------------------------------------------------
REFUSED_OPTIONS = {
    "pitches 20 digits": (["--pitches", "67:99999999999999999999"], "--pitches"),
    "pitches 4300 digits": (["--pitches", "67:" + "9" * 5000], "--pitches"),
    "pitches a million steps": (["--pitches", "67:1000000"], "--pitches"),
    "pitches 1e8 steps": (["--pitches", "67:100000000"], "--pitches"),
    "beam size 1e6": (["--pitches", "67:4", "--beam-size", "1000000"], "--beam-size"),
    "branch factor 1e6": (["--pitches", "67:4", "--beam-size", "2", "--branch-factor", "1000000"], "--branch-factor"),
    "pitch 0": (["--pitches", "0:4"], "too low to harmonise"),
    "qpm 0": (["--pitches", "67:4", "--qpm", "0"], "--qpm"),
    "temperature nan": (["--pitches", "67:4", "-t", "nan"], "temperature"),
}


@pytest.mark.parametrize("case", list(REFUSED_OPTIONS), ids=list(REFUSED_OPTIONS))
def test_harmonize_options_out_of_range_are_one_line(tmp_path, case):
    args, word = REFUSED_OPTIONS[case]
    refused(run(["harmonize", *args, "-o", tmp_path / "h.mid"], tmp_path), word)
    assert not (tmp_path / "h.mid").exists()


@pytest.mark.parametrize("t", ["1e-320", "1e10", "1e308"])
def test_extreme_temperatures_give_the_limits_behaviour(tmp_path, t):
    import pretty_midi

    r = run(["harmonize", "--pitches", "67:4,69:4,71:8", "-t", t, "--seed", "1", "-o", tmp_path / "h.mid"], tmp_path)
    bounded(r)
    assert r.rc == 0 and "four tracks" in r.err, r.err
    tracks = pretty_midi.PrettyMIDI(str(tmp_path / "h.mid")).instruments
    assert len(tracks) == 4 and [n.pitch for n in tracks[0].notes] == [67, 69, 71]


def test_generate_and_cells_bounds(tmp_path, tiny_model_path):
    refused(run(["generate", "-m", "bach-chorales", "--beam-size", "1000000", "-o", tmp_path / "o.mid"], tmp_path),
            "--beam-size")
    refused(run(["generate", "-m", "bach-chorales", "-n", "99999999999999999999", "-o", tmp_path / "o.mid"], tmp_path),
            "--length")
    refused(run(["generate", "-m", tiny_model_path, "--outputs", "100000"], tmp_path), "--outputs")
    text = tmp_path / "t.txt"
    text.write_text("Alice said \x1b[31mhello\x00 \u202eevil\u202c.\n" * 4)
    refused(run(["cells", "-m", tiny_model_path, text, "--top", "100000"], tmp_path), "--top")
    r = run(["cells", "-m", tiny_model_path, text, "--html", tmp_path / "p.html"], tmp_path)
    bounded(r)
    page = (tmp_path / "p.html").read_text()
    assert "\x1b" not in page and "\x00" not in page and "\u202e" not in page and "\\u202e" in page


def test_cells_memory_stays_flat_on_a_long_text(tmp_path, tiny_model_path, alice_slice):
    text = tmp_path / "long.txt"
    text.write_text(alice_slice.read_text(encoding="utf-8")[:50_000] * 2, encoding="utf-8")  # 100 KB
    r = run(["cells", "-m", tiny_model_path, text, "--html", tmp_path / "p.html", "--top", "64"], tmp_path, timeout=120)
    bounded(r)
    assert r.rc == 0 and (tmp_path / "p.html").stat().st_size < 40 << 20


# -- outputs never replace inputs ----------------------------------------------------------------------
def test_outputs_never_replace_inputs_by_any_name(tmp_path, tiny_model_path):
    model = tmp_path / "m.safetensors"
    model.write_bytes(Path(tiny_model_path).read_bytes())
    os.link(model, tmp_path / "hard.safetensors")
    (tmp_path / "soft.safetensors").symlink_to(model)
    primer = tmp_path / "primer.abc"
    primer.write_text(tune(16))
    before = {p: snapshot(p) for p in (model, primer)}
    for trace in ("m.safetensors", "hard.safetensors", "soft.safetensors"):
        refused(run(["generate", "-m", model, "-n", "5", "--trace", tmp_path / trace, "--force"], tmp_path),
                "--trace", "input -m")
    refused(run(["generate", "-m", tmp_path / "soft.safetensors", "-n", "5", "-o", model, "--force"], tmp_path), "-o")
    refused(run(generate(primer, tmp_path / "o.mid", "--trace", primer, "--force"), tmp_path), "--primer-file")
    melody = tmp_path / "melody.musicxml"
    melody.write_text(musicxml(8))
    before[melody] = snapshot(melody)
    refused(run(["harmonize", melody, "-o", melody, "--force"], tmp_path), "MELODY")
    refused(run(["generate", "-m", model, "-n", "5", "--trace", "-"], tmp_path), "--trace -")
    assert all(snapshot(p) == s for p, s in before.items())
    r = run(["generate", "-m", model, "-n", "5", "--trace", "-", "-o", tmp_path / "out.txt"], tmp_path)
    assert r.rc == 0 and r.out.count(b'"token"') == 5 and not (tmp_path / "-").exists()


def test_music21_warnings_are_counted_never_printed(capfd):
    """music21 prints its warnings to stderr itself (environLocal.warn) or through warnings: while
    GuiGen reads, both are counted in the tune's changes, said later in one line."""
    from collections import Counter

    from guigen.music import notation

    m21 = notation._music21()
    changes = Counter()
    with notation._parsing(changes):
        m21.abcFormat.environLocal.warn(["Could not get pitch information from note: ", "y, assuming C"])
        import warnings

        warnings.warn("something odd")
    assert changes[notation.PITCHLESS] == 1 and changes[notation.OTHER_WARNINGS] == 1
    assert capfd.readouterr().err == ""
