"""Helpers for the tests of the shipped music models: loading one, and how much of a piece is in one key."""

import numpy as np

from guigen.core import registry

MAJOR = {0, 2, 4, 5, 7, 9, 11}


def shipped(name):
    """A model that ships in models/ (they are in the repository, so a missing one fails the test)."""
    return registry.load(str(registry.shipped_dir() / f"{name}.safetensors"))


def in_best_key(notes) -> float:
    """Share of note-steps whose pitch class lies in the best-fitting major scale (or its relative minor)."""
    weight = np.zeros(12)
    for n in notes:
        weight[n.pitch % 12] += n.end - n.start
    return max(sum(weight[(tonic + d) % 12] for d in MAJOR) for tonic in range(12)) / weight.sum()
