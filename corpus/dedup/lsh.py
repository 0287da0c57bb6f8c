"""LSH banding without a hash table: one band at a time, the band hashes of every document are sorted (numpy,
8 bytes per document plus the sort's index) and documents with equal hashes form a bucket. A bucket of k
documents gives k-1 candidate edges from its first member (smallest document number) to the others, which
is all union-find needs; k^2 pairs are never listed."""

from __future__ import annotations

import numpy as np


def bucket_edges(hashes: np.ndarray, docs: np.ndarray, first_old: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges (head, member) of every bucket of two or more documents. `docs` are the document numbers of
    `hashes` in ascending order; documents numbered first_old and up come from a saved index, and edges
    between two of them are left out (the earlier run is not deduplicated again)."""
    if hashes.size < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.argsort(hashes, kind="stable")  # stable: within a bucket, ascending document number
    sorted_hashes = hashes[order]
    starts = np.ones(hashes.size, bool)
    starts[1:] = sorted_hashes[1:] != sorted_hashes[:-1]
    head_position = np.maximum.accumulate(np.where(starts, np.arange(hashes.size), 0))
    members = np.flatnonzero(~starts)
    u = docs[order[head_position[members]]]
    v = docs[order[members]]
    keep = ~((u >= first_old) & (v >= first_old))
    return u[keep], v[keep]


def regroup_failed(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """After verification: the members that failed against their bucket's head form a new bucket headed by
    the first of them, so two failed members that resemble each other are still compared."""
    if u.size == 0:
        return u, v
    order = np.lexsort((v, u))
    u, v = u[order], v[order]
    starts = np.ones(u.size, bool)
    starts[1:] = u[1:] != u[:-1]
    head_position = np.maximum.accumulate(np.where(starts, np.arange(u.size), 0))
    members = np.flatnonzero(~starts)
    return v[head_position[members]], v[members]
