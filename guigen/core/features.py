"""Named features of a sample, one value per token, that cells are ranked against.

Each value describes the input up to and including that token, as the state after reading it
does. Text: quotes (inside a quotation), parens (depth inside ( [ {), line_position (column of
the character), after_newline (the character is a newline), in_word (a letter, or an apostrophe
within a word), upper (an upper-case letter), speaker (on a speaker-name line of a play, such
as "ROMEO:"). Music, per token of the step it falls in: beat (position in the bar, in steps),
voices (notes sounding), to_rest (steps to the next step where nothing sounds; the end of the
piece counts as one), bass (the lowest sounding pitch; left out where nothing sounds).
"""

from __future__ import annotations

import re

import numpy as np

TEXT_FEATURES = ("quotes", "parens", "line_position", "after_newline", "in_word", "upper", "speaker")
MUSIC_FEATURES = ("beat", "voices", "to_rest", "bass")
OPENING, CLOSING = "([{", ")]}"
SPEAKER_LINE = re.compile(r"^[A-Z][A-Za-z'.\- ]{0,40}:[ \t]*$")  # "ROMEO:", "First Citizen:"


def names(kind: str) -> tuple[str, ...]:
    return TEXT_FEATURES if kind == "text" else MUSIC_FEATURES


def text_features(text: str) -> dict[str, np.ndarray]:
    """Every text feature of a text, one value per character."""
    n = len(text)
    quotes, parens, column = np.zeros(n), np.zeros(n), np.zeros(n)
    inside, depth, col = False, 0, 0
    for t, ch in enumerate(text):
        if ch == '"':
            inside = not inside
        elif ch == "\u201c":
            inside = True
        elif ch == "\u201d":
            inside = False
        if ch in OPENING:
            depth += 1
        elif ch in CLOSING:
            depth = max(depth - 1, 0)
        quotes[t], parens[t], column[t] = inside, depth, col
        col = 0 if ch == "\n" else col + 1
    after_newline = np.array([ch == "\n" for ch in text], dtype=float)
    upper = np.array([ch.isupper() for ch in text], dtype=float)
    letter = [ch.isalpha() for ch in text]
    in_word = np.array([a or (ch == "'" and 0 < t < n - 1 and letter[t - 1] and letter[t + 1])
                        for t, (ch, a) in enumerate(zip(text, letter))], dtype=float)
    speaker = np.zeros(n)
    start = 0
    for line in text.split("\n"):
        if SPEAKER_LINE.match(line):
            speaker[start:start + len(line)] = 1
        start += len(line) + 1
    return {"quotes": quotes, "parens": parens, "line_position": column, "after_newline": after_newline,
            "in_word": in_word, "upper": upper, "speaker": speaker}


def music_features(codec, ids, steps_per_bar: int | None = None) -> dict[str, np.ndarray]:
    """Every music feature of a token sequence of a music codec, one value per token."""
    ids = np.asarray(ids, dtype=np.int64).reshape(-1)
    ends = np.array([codec.ends_step(i) for i in ids], dtype=np.int64)
    step = np.concatenate([[0], np.cumsum(ends)[:-1]]) if len(ids) else np.zeros(0, np.int64)
    total = int(step.max()) + 1 if len(ids) else 0
    sounding: list[list[int]] = [[] for _ in range(total)]
    for note in codec.decode(ids):
        for s in range(max(note.start, 0), min(note.end, total)):
            sounding[s].append(note.pitch)
    voices = np.array([len(p) for p in sounding], dtype=float)
    bass = np.array([min(p) if p else np.nan for p in sounding], dtype=float)
    to_rest = np.zeros(total)
    next_rest = total  # past the end nothing sounds
    for s in range(total - 1, -1, -1):
        if not sounding[s]:
            next_rest = s
        to_rest[s] = next_rest - s
    bar = steps_per_bar or 4 * getattr(codec, "steps_per_quarter", 4)
    return {"beat": (step % bar).astype(float), "voices": voices[step], "to_rest": to_rest[step], "bass": bass[step]}
