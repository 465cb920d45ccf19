"""Exact marginal counts, accumulated chunk by chunk so memory follows the domain, not the rows."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations

import numpy as np
import pandas as pd

from app.engine.discretize import Codec


class MarginalCounts:
    """1-way counts of every codec and 2-way counts of every pair, on the fine cells."""

    def __init__(self, codecs: list[Codec]) -> None:
        self.codecs = codecs
        self.rows = 0
        self.one = [np.zeros(c.size, dtype=np.int64) for c in codecs]
        self.pairs = {
            (i, j): np.zeros(codecs[i].size * codecs[j].size, dtype=np.int64) for i, j in combinations(range(len(codecs)), 2)
        }

    def add(self, frame: pd.DataFrame) -> None:
        """Count one chunk of raw rows."""
        codes = [c.encode(frame[c.name]) for c in self.codecs]
        self.rows += len(frame)
        for i, c in enumerate(self.codecs):
            self.one[i] += np.bincount(codes[i], minlength=c.size)
        for (i, j), acc in self.pairs.items():
            size_j = self.codecs[j].size
            acc += np.bincount(codes[i].astype(np.int64) * size_j + codes[j], minlength=acc.size)

    def pair(self, i: int, j: int) -> np.ndarray:
        """The (i, j) table with axis 0 = column i."""
        if i < j:
            return self.pairs[(i, j)].reshape(self.codecs[i].size, self.codecs[j].size)
        return self.pairs[(j, i)].reshape(self.codecs[j].size, self.codecs[i].size).T

    @classmethod
    def count(cls, codecs: list[Codec], chunks: Iterable[pd.DataFrame]) -> MarginalCounts:
        """Count every chunk."""
        counts = cls(codecs)
        for frame in chunks:
            counts.add(frame)
        return counts


def count_cliques(
    codecs: list[Codec], chunks: Iterable[pd.DataFrame], cliques: list[tuple[int, ...]], groups: list[np.ndarray]
) -> dict[tuple[int, ...], np.ndarray]:
    """Counts of each clique on the coarse groups, in one more pass over ``chunks`` (none if no clique)."""
    if not cliques:
        return {}
    sizes = [int(g.max()) + 1 for g in groups]
    shapes = {c: tuple(sizes[i] for i in c) for c in cliques}
    acc = {c: np.zeros(int(np.prod(shapes[c])), dtype=np.int64) for c in cliques}
    needed = sorted({i for c in cliques for i in c})
    for frame in chunks:
        coarse = {i: groups[i][codecs[i].encode(frame[codecs[i].name])] for i in needed}
        for c in cliques:
            flat = np.ravel_multi_index([coarse[i] for i in c], shapes[c])
            acc[c] += np.bincount(flat, minlength=acc[c].size)
    return {c: acc[c].reshape(shapes[c]).astype(float) for c in cliques}
