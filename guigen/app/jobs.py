"""What crosses between the window and the generation process: the batches of steps it streams
back, a paused distribution, and variations asked for and made. Plain dataclasses of lists and
NumPy arrays, pickled over the pipe (guigen.app.generation); no Qt, so the process needs none."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class StepBatch:
    """Tokens streamed since the last batch, and the full distribution of the last one."""

    tokens: list[int] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)  # probability each token had when chosen
    forced: list[bool] = field(default_factory=list)
    last_probs: np.ndarray | None = None  # distribution the last token was drawn from
    last_raw: np.ndarray | None = None  # the model's T = 1 distribution for it
    entropy: float = 0.0  # of last_raw, nats
    temperature: float = 1.0  # the temperature the last token was drawn at
    count: int = 0  # tokens generated in this sample so far
    alts: list = field(default_factory=list)  # per token: (ids, probs) of the likeliest ALTS it was drawn among
    notes: object = None  # music: the piano roll's NotesUpdate for these tokens (guigen.app.roll_feed)


@dataclass
class VariationsJob:
    """N continuations of one primer, made as one batch (the rows of one Generator)."""

    primer: list[int]
    count: int  # N, the batch
    length: int  # tokens each
    seed: int
    settings: object  # SamplingSettings
    codec: object = None  # music: decodes each variation's notes for drawing (in the generation process)
    id: int = 0  # set when sent: the process's batches name their job by it


@dataclass
class VariationsBatch:
    """Tokens each variation gained since the last batch; `done` once they are complete."""

    job: object  # the VariationsJob (in the process, and on the pipe, its id; the window gets the job back)
    tokens: np.ndarray  # (count, k) token ids
    probs: np.ndarray  # (count, k) the probability each had in the distribution it was drawn from
    done: bool = False
    notes: list | None = None  # music, now and then: each variation's notes so far (primer included)
    voices: list | None = None  # polyphony, when done: each note's voice (guigen.music.voices) or None


@dataclass
class Preview:
    """The next token's distribution under the current settings (paused, or after undo)."""

    probs: np.ndarray
    raw: np.ndarray
    entropy: float
    count: int


@dataclass
class HarmonizeJob:
    """A melody to harmonise with the loaded polyphony model (guigen.music.harmonize's arguments)."""

    melody: list  # Notes on the grid, one line
    settings: object  # SamplingSettings
    seed: int | None
    options: dict = field(default_factory=dict)  # beam_size, strict, four, ending
    id: int = 0  # set when sent, as a VariationsJob's


@dataclass
class HarmonizeBatch:
    """Steps a harmonisation made since the last batch, and the newest step's distribution; once
    `done`, its result (a Harmonisation), or the error that ended it (None for both: cancelled)."""

    job: object  # the HarmonizeJob (its id on the pipe), as VariationsBatch.job
    tokens: list[int] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)  # each token's probability when it was chosen
    last_probs: np.ndarray | None = None  # the newest step's: sampled from
    last_raw: np.ndarray | None = None  # the model's own (T = 1)
    entropy: float = 0.0  # of last_raw, nats
    done: bool = False
    result: object = None
    error: str | None = None
