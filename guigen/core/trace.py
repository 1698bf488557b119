"""`guigen generate --trace FILE.jsonl`: one JSON object per generated token, saying what it was drawn from.

Each record: token (its label), p (its probability in the distribution sampled from), entropy
(of that distribution, nats), raw_entropy (of the model's own T = 1 distribution), kept (tokens
with p > 0), top and raw_top (the five likeliest as [label, p]); with several outputs, sample
(1-based). The file is written atomically once generation ends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from guigen.core.files import atomic_write_text, check_output
from guigen.core.sampling import summary

TOP = 5


class Trace:
    def __init__(self, path, label, overwrite: bool = False):
        """label(token id) -> str names tokens; refuses an existing file unless overwrite."""
        self.path = Path(path)
        if str(path) != "-":  # '-': standard output
            check_output(self.path, overwrite)  # a folder or device there is named, not called 'exists'
        self.label = label
        self.lines: list[str] = []

    def add(self, step, rows: Iterable[int] | None = None) -> None:
        """Record a generator Step: every row, or the given rows (those that moved on)."""
        batch = len(step.tokens)
        for r in range(batch) if rows is None else rows:
            probs, raw, token = step.probs[r], step.raw_probs[r], int(step.tokens[r])
            h, kept, _ = summary(probs)
            record = {"token": self.label(token), "p": _num(probs[token]), "entropy": _num(h),
                      "raw_entropy": _num(step.entropy[r]), "kept": kept,
                      "top": self._top(probs), "raw_top": self._top(raw)}
            if batch > 1:
                record["sample"] = int(r) + 1
            if getattr(step, "forced", False):
                record["forced"] = True
            self.lines.append(json.dumps(record, ensure_ascii=False))

    def _top(self, probs: np.ndarray) -> list:
        order = np.argsort(-probs, kind="stable")[:TOP]
        return [[self.label(int(t)), _num(probs[t])] for t in order]

    def follow(self, steps: Iterable) -> Iterator:
        """Pass steps through, recording each; the file is written when they run out."""
        for step in steps:
            self.add(step)
            yield step
        self.save()

    def save(self) -> Path | str:
        text = "".join(line + "\n" for line in self.lines)
        if str(self.path) == "-":
            import sys

            from guigen.core.files import stdout_errors

            with stdout_errors():
                sys.stdout.write(text)
                sys.stdout.flush()
            return "the trace to stdout"
        atomic_write_text(self.path, text)
        return self.path


def _num(x) -> float:
    """Six significant digits: short lines, and a tiny probability is not printed as 0."""
    return float(f"{float(x):.6g}")
