"""The HTML page of `guigen cells`: as in Karpathy et al.'s figures, one block per cell, each
character's background coloured by the cell's activation, newlines kept, a legend at the top."""

from __future__ import annotations

import html

from guigen.core.diverging import hex_colour, level, shades
from guigen.core.safetext import visible

STYLE = """body { font-family: sans-serif; margin: 1.5em; max-width: 70em; }
h2 { font-size: 1.05em; margin: 1.4em 0 0.3em; }
pre { font-family: monospace; font-size: 13px; line-height: 1.45; white-space: pre-wrap;
      border: 1px solid #bbb; padding: 0.5em; margin: 0; }
.legend span { display: inline-block; width: 3.2em; text-align: center; font-size: 12px; padding: 2px 0; }
"""


def shade_styles() -> str:
    """One CSS class per shade: s0 (-1, blue) to s100 (+1, red), each with a readable text colour."""
    return "\n".join(f".s{i} {{ background: {hex_colour(bg)}; color: {hex_colour(fg)}; }}"
                     for i, (bg, fg) in enumerate(shades()))


def span(token: str, value: float) -> str:
    # a newline stays a line break; a mark before it shows its colour; controls and bidi marks are shown escaped
    shown = html.escape(visible(token)) if token != "\n" else "\u21b5\n"
    return f'<span class="s{level(value)}" title="{value:+.2f}">{shown}</span>'


def legend() -> str:
    values = [i / 5 for i in range(-5, 6)]
    return '<p class="legend">activation: ' + "".join(
        f'<span class="s{level(v)}">{v:+.1f}</span>' for v in values) + "</p>"


def page(title: str, intro: str, blocks: list[tuple[str, list[str], list[float]]], separator: str = "") -> str:
    """A whole page: blocks are (heading, tokens shown, activation of each)."""
    title, intro = html.escape(visible(title)), html.escape(visible(intro))
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{title}</title><style>{STYLE}{shade_styles()}</style></head><body>",
             f"<h1>{title}</h1>", f"<p>{intro}</p>", legend()]
    for heading, tokens, values in blocks:
        parts.append(f"<h2>{html.escape(visible(heading))}</h2>")
        parts.append("<pre>" + separator.join(span(t, v) for t, v in zip(tokens, values)) + "</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
