"""The diverging colour map cells are shown in, and a readable text colour on each of its colours.

ColorBrewer's RdBu (safe for the common colour blindnesses): -1 is deep blue, 0 near white,
+1 deep red. The text on a coloured background is black or white, whichever contrasts more
(WCAG contrast ratio); on every colour of this map that ratio is at least 4.5:1.
"""

from __future__ import annotations

import numpy as np

# RdBu, 11 classes, from -1 (blue) to +1 (red)
STOPS = np.array([
    (0x05, 0x30, 0x61), (0x21, 0x66, 0xAC), (0x43, 0x93, 0xC3), (0x92, 0xC5, 0xDE), (0xD1, 0xE5, 0xF0),
    (0xF7, 0xF7, 0xF7),
    (0xFD, 0xDB, 0xC7), (0xF4, 0xA5, 0x82), (0xD6, 0x60, 0x4D), (0xB2, 0x18, 0x2B), (0x67, 0x00, 0x1F),
], dtype=float)
BLACK, WHITE = (0, 0, 0), (255, 255, 255)


def colour(value: float) -> tuple[int, int, int]:
    """RGB of an activation in [-1, 1] (clipped); NaN shows as the middle."""
    v = 0.0 if not np.isfinite(value) else min(max(float(value), -1.0), 1.0)
    x = (v + 1) / 2 * (len(STOPS) - 1)
    i = min(int(x), len(STOPS) - 2)
    rgb = STOPS[i] + (x - i) * (STOPS[i + 1] - STOPS[i])
    return tuple(int(round(c)) for c in rgb)


def luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour (0-255 channels)."""
    c = np.asarray(rgb, dtype=float) / 255
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2])


def contrast(a, b) -> float:
    """WCAG contrast ratio of two colours, 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour(background) -> tuple[int, int, int]:
    """Black or white, whichever reads better on the background."""
    return BLACK if contrast(background, BLACK) >= contrast(background, WHITE) else WHITE


def hex_colour(rgb) -> str:
    return "#%02x%02x%02x" % tuple(rgb)


LEVELS = 101  # shades a view or page uses: steps of 0.02, finer than the eye tells apart


def level(value: float) -> int:
    """The shade (0 to LEVELS - 1) of an activation in [-1, 1]; NaN is the middle one."""
    v = 0.0 if not np.isfinite(value) else min(max(float(value), -1.0), 1.0)
    return int(round((v + 1) / 2 * (LEVELS - 1)))


def shades() -> list[tuple[tuple[int, int, int], tuple[int, int, int]]]:
    """(background, text colour) of every shade, from -1 to +1."""
    out = []
    for i in range(LEVELS):
        bg = colour(-1 + 2 * i / (LEVELS - 1))
        out.append((bg, text_colour(bg)))
    return out
