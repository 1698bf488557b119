"""Text from files made safe to show: control and bidi characters escaped, for terminals and HTML.

A file's bytes reach messages (a tune's title, a chord symbol, a path) and pages (`guigen cells`).
Raw, an ESC starts a terminal escape sequence, a newline splits a one-line error, NUL truncates,
and a bidi override (U+202E) reverses what follows. Here they become visible escapes: `\\x1b`,
`\\n`, `\\u202e`.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, bidi marks, embeddings, overrides and isolates, line/paragraph separators
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
UNSAFE_IN_PAGE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match) -> str:
    ch = m.group()
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def one_line(text) -> str:
    """The text on one line, every control and bidi character shown as an escape."""
    return UNSAFE.sub(_escape, str(text))


def visible(text: str) -> str:
    """For a page: controls and bidi characters as escapes; line breaks and tabs kept."""
    return UNSAFE_IN_PAGE.sub(_escape, text)
