"""Union-find over document numbers, in numpy: a parent array (8 bytes per document) and edges merged a batch at
a time. A set's root is always its smallest member, so the result (and every cluster's first member) does not
depend on the order the edges arrive in. Merging a batch of edges touches only their endpoints' paths: the
whole array is walked once, by labels(), at the end."""

from __future__ import annotations

import numpy as np


class UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = np.arange(size, dtype=np.int64)

    def compress(self) -> np.ndarray:
        """Point every element straight at its root (pointer jumping); returns the parent array."""
        parent = self.parent
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
        self.parent = parent
        return parent

    def find(self, items: np.ndarray) -> np.ndarray:
        """Roots of the given elements, following their parents only (work in proportion to the items, not
        to the whole array); the items are then pointed straight at their roots."""
        items = np.asarray(items, np.int64)
        roots = self.parent[items]
        while True:
            up = self.parent[roots]
            moving = np.flatnonzero(up != roots)
            if not moving.size:
                break
            roots[moving] = up[moving]
        self.parent[items] = roots
        return roots

    def union(self, u: np.ndarray, v: np.ndarray) -> None:
        """Merge the sets of u[i] and v[i] for every i."""
        u, v = np.asarray(u, np.int64), np.asarray(v, np.int64)
        while u.size:
            ru, rv = self.find(u), self.find(v)
            differ = ru != rv
            if not differ.any():
                return
            ru, rv = ru[differ], rv[differ]
            lo, hi = np.minimum(ru, rv), np.maximum(ru, rv)
            # several edges may hook the same root: the smallest target wins now, the others next round
            np.minimum.at(self.parent, hi, lo)
            u, v = lo, hi

    def labels(self) -> np.ndarray:
        """Root (smallest member) of every element's set."""
        return self.compress()
