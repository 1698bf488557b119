"""The listening sheet of benchmarks/music_quality.py --html: one HTML page with the counts, and
piano rolls (inline SVG) and audio (WAV files in a folder beside the page, rendered by
guigen/music/audio.py) of 8 harmonisations beside Bach's own chorales, and 8 tunes the folk model
plays on (fixed seeds) beside the held-out tunes they start from. Every text is HTML-escaped."""

from __future__ import annotations

import html
from pathlib import Path

from guigen.core import registry
from guigen.core.sampling import SamplingSettings
from guigen.music.events import NoteSequence, pitch_name
from guigen.music.generate import generate_events
from guigen.music.midi import read_midi
from guigen.music.voices import split_voices

PIECES = 8
COLOURS = ("#c0392b", "#2471a3", "#229954", "#7d3c98")  # soprano, alto, tenor, bass
FOLK_STEPS = 128  # 8 bars of 4/4 played on by the folk model
PRIMER_BARS = 2
HELD_OUT_BOOK = "airdsAirs"  # Aird's Selection: kept out of the folk model's training (benchmarks/folk_data.py)


def piano_roll(parts, time_signature=(4, 4), width_per_step: float = 4.0, row: float = 4.0) -> str:
    """An inline SVG piano roll: one colour per voice, bar lines every bar."""
    notes = [n for p in parts for n in p]
    if not notes:
        return "<svg width='10' height='10'></svg>"
    low, high = min(n.pitch for n in notes) - 1, max(n.pitch for n in notes) + 1
    end = max(n.end for n in notes)
    w, h = end * width_per_step, (high - low + 1) * row
    bar = time_signature[0] * 16 // time_signature[1]
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{w:.0f}' height='{h:.0f}' role='img'>",
           f"<rect width='{w:.0f}' height='{h:.0f}' fill='#fbfbf8'/>"]
    out += [f"<line x1='{x * width_per_step:.1f}' y1='0' x2='{x * width_per_step:.1f}' y2='{h:.0f}' stroke='#ccc'/>"
            for x in range(0, end + 1, bar)]
    for v, part in enumerate(parts):
        for n in part:
            out.append(f"<rect x='{n.start * width_per_step:.1f}' y='{(high - n.pitch) * row:.1f}' "
                       f"width='{max((n.end - n.start) * width_per_step - 1, 1):.1f}' height='{row:.1f}' "
                       f"fill='{COLOURS[v % 4]}'><title>{html.escape(pitch_name(n.pitch))}</title></rect>")
    out.append("</svg>")
    return "".join(out)


def _audio(seq: NoteSequence, folder: Path, name: str) -> str:
    from guigen.music.audio import render_to_wav

    path = folder / f"{name}.wav"
    render_to_wav(seq, path, overwrite=True)
    return f"<audio controls preload='none' src='{html.escape(folder.name)}/{html.escape(path.name)}'></audio>"


def _cell(title: str, parts, time_signature, folder: Path, name: str, qpm: float = 100.0) -> str:
    seq = NoteSequence(sorted(n for p in parts for n in p), [(0, qpm)], time_signature, name=name)
    return (f"<td><div class='t'>{html.escape(title)}</div>{_audio(seq, folder, name)}"
            f"<div class='roll'>{piano_roll(parts, time_signature)}</div></td>")


def _folk_pairs(folder: Path, count: int = PIECES):
    """(held-out tune's title, its melody, the folk model's continuation, time signature) x PIECES."""
    import music21

    from guigen.music.harmonize import melody_of
    from guigen.music.notation import _parse_abc_tune, split_abc

    if count <= 0:
        return []
    model = registry.load("folk")
    book = Path(music21.__file__).parent / "corpus" / HELD_OUT_BOOK
    pairs = []
    for path in sorted(book.glob("*.abc")):
        # a tune at a time: reading a whole book of hundreds through music21 takes minutes
        for number, title, text in split_abc(path.read_text(encoding="latin-1")):
            tune = _parse_abc_tune(number, title, text, path.stem)
            if tune.seq is None or tune.seq.time_signature not in ((4, 4), (6, 8), (2, 4), (3, 4)):
                continue
            melody = melody_of(tune.seq)
            bar = tune.seq.time_signature[0] * 16 // tune.seq.time_signature[1]
            opening = [n for n in melody if n.end <= PRIMER_BARS * bar + (melody[0].start if melody[0].start < bar else 0)]
            if len(opening) < 4:
                continue
            try:
                fitted = model.codec.fit_primer(opening, tune.label)
            except ValueError:
                continue
            view = model.codec.view_for(fitted)
            seed = len(pairs)
            result = generate_events(model, view.primer(fitted), FOLK_STEPS, SamplingSettings(1.0), seed=seed)[0]
            pairs.append((tune.label, melody, view.decode(result.ids), tune.seq.time_signature, seed))
            if len(pairs) >= count:
                return pairs
    return pairs


def write_sheet(page: Path, rows, pieces, columns, count: int = PIECES) -> None:
    """The page, and its WAVs in PAGE_audio/: `count` pieces of each kind."""
    folder = page.with_name(page.stem + "_audio")
    folder.mkdir(parents=True, exist_ok=True)
    head = "".join(f"<th>{html.escape(name)}</th>" for _, name in columns)
    table = [f"<table class='counts'><tr><th>what</th><th>n</th>{head}</tr>"]
    for r in rows:
        cells = "".join(f"<td>{'-' if r[k] is None else html.escape(format(r[k], '.3f' if k != 'parallels' else '.2f'))}</td>"
                        for k, _ in columns)
        table.append(f"<tr><td>{html.escape(r['label'])}</td><td>{r['pieces']}</td>{cells}</tr>")
    table.append("</table>")
    body = []
    split = "test" if "test" in pieces else next((k for k in pieces if k != "folk"), None)
    paths, done = pieces[split] if split else ([], [])
    if split:
        body.append(f"<h2>Harmonisations beside Bach</h2><p>guigen harmonize with its defaults (seed = the chorale's "
                    f"index) under the soprano of the first {html.escape(split)} chorales; Bach's own four voices "
                    "beside each.</p><table>")
    for i, (path, (_, h)) in enumerate(list(zip(paths, done))[:count]):
        bach = read_midi(path)
        bach_parts = [sorted(n for n in bach.notes if n.voice == v) for v in range(4)]
        ours = split_voices(h.notes, h.melody) or [h.notes]
        body.append("<tr>" + _cell(f"ours: {path.stem}", ours, bach.time_signature, folder, f"ours-{i}")
                    + _cell(f"Bach: {path.stem}", bach_parts, bach.time_signature, folder, f"bach-{i}") + "</tr>")
    body.append("</table>" if split else "")
    if "folk" in pieces:
        tunes, done = pieces["folk"]
        body.append("<h2>Folk tunes harmonised</h2><table>")
        for i, ((label, melody, ts, _), (_, h)) in enumerate(list(zip(tunes, done))[:count]):
            ours = split_voices(h.notes, h.melody) or [h.notes]
            body.append("<tr>" + _cell(f"ours: {label}", ours, ts, folder, f"folk-h-{i}")
                        + _cell(f"the tune: {label}", [melody], ts, folder, f"folk-m-{i}") + "</tr>")
        body.append("</table>")
    body.append(f"<h2>The folk model plays on</h2><p>models/folk at T = 1 (seed = row), {FOLK_STEPS} steps after "
                f"the first {PRIMER_BARS} bars of held-out tunes from Aird's Selection; the tune itself beside it.</p><table>")
    for i, (label, melody, played, ts, seed) in enumerate(_folk_pairs(folder, count)):
        body.append("<tr>" + _cell(f"folk, seed {seed}: after {label}", [played], ts, folder, f"folk-{i}", 120.0)
                    + _cell(f"held out: {label}", [melody], ts, folder, f"held-{i}", 120.0) + "</tr>")
    body.append("</table>")
    style = ("body{font-family:sans-serif;margin:1em}td{vertical-align:top;padding:4px}"
             ".roll{overflow-x:auto;max-width:46vw}.t{font-size:90%}table.counts td,table.counts th{border:1px solid #ccc}")
    text = (f"<!doctype html><html><head><meta charset='utf-8'><title>GuiGen listening sheet</title>"
            f"<style>{style}</style></head><body><h1>GuiGen listening sheet</h1>{''.join(table)}{''.join(body)}</body></html>")
    from guigen.core.files import atomic_write_bytes

    atomic_write_bytes(page, text.encode("utf-8"))
