"""benchmarks/music_quality.py (issue 24): the counts for harmonize beside Bach's in one run, and
its listening sheet: an HTML page with SVG piano rolls and WAVs (read back by the wave module),
every text escaped. Small numbers here; the benchmark's own run is the full 77 + 76 + 30."""

import subprocess
import sys
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def test_counts_and_listening_sheet(tmp_path):
    page = tmp_path / "sheet.html"
    run = subprocess.run([sys.executable, "benchmarks/music_quality.py", "--splits", "valid", "--chorales", "2",
                          "--folk", "1", "--html", str(page), "--sheet", "1"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    bach = next(x for x in lines if x.startswith("Bach, 2 valid chorales"))
    ours = next(x for x in lines if x.startswith("harmonize (defaults), their valid sopranos"))
    folk = next(x for x in lines if "ryansMammoth tunes" in x)
    for name in ("triad/7th", "wide S-A/A-T", "crossings", "par./100", "4 voices", "tonic end"):
        assert name in bach and name in ours and name in folk
    assert "melody exact 1.000" in ours and "onsets kept 1.000" in ours and "onsets kept 1.000" in folk
    text = page.read_text()
    assert text.count("<svg") == 6 and text.count("<audio") == 6  # harmonised + Bach, folk + tune, played on + held out
    folder = tmp_path / "sheet_audio"
    wavs = sorted(folder.glob("*.wav"))
    assert len(wavs) == 6 and all(f"sheet_audio/{w.name}" in text for w in wavs)
    for w in wavs:
        with wave.open(str(w)) as f:
            assert f.getnchannels() == 2 and f.getnframes() > f.getframerate()  # over a second of sound


def test_sheet_escapes_text(tmp_path):
    from listening_sheet import write_sheet

    row = {"label": "<script>alert('x')</script> & co", "pieces": 1, "chords": 0.9, "onsets": None}
    write_sheet(tmp_path / "page.html", [row], {}, (("chords", "triad<7th>"), ("onsets", "onsets")), count=0)
    text = (tmp_path / "page.html").read_text()
    assert "<script>" not in text and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in text
    assert "triad&lt;7th&gt;" in text
