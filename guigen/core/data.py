"""Training data for text models: reading files, splitting, and the token streams the trainer batches."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from guigen.core.vocab import CharVocab


class DataError(Exception):
    """Training or evaluation data could not be used; the message says why."""


def read_text(paths) -> str:
    """Read UTF-8 text files (a BOM is dropped) and join them; clear errors for bad files."""
    parts = []
    for p in map(Path, paths):
        if not p.is_file():
            from guigen.core.files import why_not_a_file

            raise DataError(f"{p}: {why_not_a_file(p, 'text file')}")
        try:
            parts.append(p.read_text(encoding="utf-8-sig"))
        except UnicodeDecodeError as e:
            raise DataError(f"{p}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    text = "".join(parts)
    if not text:
        raise DataError("the text is empty")
    return text


def parse_slice(spec: str) -> tuple[float, float]:
    """'0.95:1' -> (0.95, 1.0): a part of a text given as fractions of its length."""
    try:
        a, b = (float(x) if x else d for x, d in zip(spec.split(":"), (0.0, 1.0)))
    except ValueError:
        raise ValueError(f"a slice is START:END as fractions, like 0.95:1, not {spec!r}") from None
    if not 0 <= a < b <= 1:
        raise ValueError(f"slice {spec!r} must satisfy 0 <= START < END <= 1")
    return a, b


def take_slice(text: str, a: float, b: float) -> str:
    n = len(text)
    return text[int(round(a * n)) : int(round(b * n))]


@dataclass
class TokenData:
    """What the trainer needs: an epoch's training tokens, validation tokens, and a description."""

    codec: object
    train: np.ndarray
    val: np.ndarray
    summary: dict = field(default_factory=dict)  # goes into the model file's training metadata
    same_every_epoch: bool = True  # train_tokens() returns the same tokens for every epoch

    def train_tokens(self, epoch: int, rng: np.random.Generator) -> np.ndarray:
        return self.train


def text_data(paths, val_frac: float = 0.05, test_frac: float = 0.0, vocab: CharVocab | None = None,
              drop_unknown: bool = False) -> TokenData:
    """Contiguous split: first part train, then validation, the last test_frac held out unseen.

    `vocab` (fine-tuning an existing model) must hold every character of the text used, unless
    drop_unknown removes the others (counted in the summary as "dropped_chars").
    """
    if not (0 < val_frac < 0.5 and 0 <= test_frac < 0.5):
        raise DataError("validation and test fractions must each be below 0.5 (validation above 0)")
    text = read_text(paths)
    dropped = 0
    if vocab is not None and drop_unknown:
        kept = "".join(c for c in text if c in vocab.index)
        dropped, text = len(text) - len(kept), kept
    n = len(text)
    n_test = int(round(n * test_frac))
    n_val = int(round(n * val_frac))
    n_train = n - n_val - n_test
    if n_train < 1000 or n_val < 100:
        raise DataError(f"the text is too short to train on ({n} characters; need a few thousand)")
    if vocab is None:
        vocab = CharVocab.from_text(text[: n_train + n_val])
    elif missing := vocab.unknown(text[: n_train + n_val]):
        raise DataError(f"the text has characters the model (--init or --teacher) has never seen: "
                        f"{', '.join(map(repr, missing[:20]))}{' ...' if len(missing) > 20 else ''} "
                        "(--drop-unknown leaves them out)")
    ids = vocab.encode(text[: n_train + n_val])
    summary = {
        "data": [Path(p).name for p in paths],
        "data_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
        "data_chars": n,
        "split": {"train": [0, n_train], "val": [n_train, n_train + n_val], "test": [n_train + n_val, n]},
        "val_frac": val_frac,
        "test_frac": test_frac,
        **({"dropped_chars": dropped} if dropped else {}),
    }
    return TokenData(vocab, ids[:n_train], ids[n_train:], summary)


def batch_streams(tokens: np.ndarray, batch: int, seq_len: int, offset: int = 0):
    """Cut tokens into `batch` contiguous streams; yield (x, y) windows of seq_len in order.

    Consecutive windows continue each stream, so the trainer can carry the LSTM state
    across them (truncated backpropagation through time).
    """
    tokens = tokens[offset:]
    per_stream = (len(tokens) - 1) // batch
    if per_stream < 2:
        raise DataError(f"too few tokens ({max(len(tokens), 0):,}) for --batch {batch}: each of the batch's streams "
                        "needs at least 3; give more data or a smaller --batch")
    x = tokens[: per_stream * batch].reshape(batch, per_stream)
    y = tokens[1 : per_stream * batch + 1].reshape(batch, per_stream)
    for start in range(0, per_stream, seq_len):
        yield x[:, start : start + seq_len], y[:, start : start + seq_len]


def stream_windows(tokens, batch: int, seq_len: int, offset: int = 0, rows=None, first: int = 0):
    """The windows of batch_streams, for any sliceable token sequence (an array, or shards on disk).

    Only the streams in `rows` are read (one process's share of the batch, when several train
    together), and windows before `first` are skipped without reading them. Yields (x, y, at):
    inputs, targets, and the positions of the inputs in `tokens`, each of shape (len(rows), length).
    """
    per_stream = (len(tokens) - offset - 1) // batch
    if per_stream < 2:
        raise DataError(f"too few tokens ({max(len(tokens) - offset, 0):,}) for --batch {batch}: each of the batch's "
                        "streams needs at least 3; give more data or a smaller --batch")
    rows = range(batch) if rows is None else rows
    bases = np.asarray([offset + r * per_stream for r in rows], dtype=np.int64)
    for start in range(first * seq_len, per_stream, seq_len):
        length = min(seq_len, per_stream - start)
        if len(bases):
            chunk = np.stack([np.asarray(tokens[b + start : b + start + length + 1]) for b in bases])
        else:
            chunk = np.zeros((0, length + 1), dtype=np.int64)
        at = bases[:, None] + start + np.arange(length)
        yield chunk[:, :-1], chunk[:, 1:], at


def num_windows(n_tokens: int, batch: int, seq_len: int) -> int:
    per_stream = (n_tokens - 1) // batch
    return -(-per_stream // seq_len)
