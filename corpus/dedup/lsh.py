"""LSH banding without a hash table: one band at a time, the band hashes of every document are sorted (numpy,
8 bytes per document plus the sort's index) and documents with equal hashes form a bucket. A bucket of k
documents gives k-1 candidate edges from its first member (smallest document number) to the others, which
is all union-find needs; k^2 pairs are never listed. Work arrays beyond the sort are the size of the
buckets' members, not of the corpus."""

from __future__ import annotations

import numpy as np

PART_DOCS = 1 << 21  # documents sorted at once: a larger band is sorted in parts by the hashes' top bits


def bucket_edges(
    hashes: np.ndarray, docs: np.ndarray | None, first_old: int, valid: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Edges (head, member) of every bucket of two or more documents. `docs` are the document numbers of
    `hashes` in ascending order (None: hashes[i] is document i); with `valid`, documents where it is False
    are left out. Documents numbered first_old and up come from a saved index, and edges between two of them
    are left out (the earlier run is not deduplicated again).

    A band of more than PART_DOCS documents is cut by the top bits of its hashes into parts sorted one after
    the other (equal hashes share a part, and the parts follow in hash order, so the edges and their order
    are the same): the sort's work arrays are a part's size, not the band's."""
    bits = max(0, int(np.ceil(np.log2(max(hashes.size, 1) / PART_DOCS))))
    if bits == 0:
        return _bucket_edges(hashes, docs, first_old, valid)
    top = np.empty(hashes.size, np.uint8)
    for lo in range(0, hashes.size, PART_DOCS):  # in slices: no band-sized 64-bit temporary
        top[lo : lo + PART_DOCS] = hashes[lo : lo + PART_DOCS] >> np.uint64(64 - bits)
    us, vs = [], []
    for part in range(1 << bits):
        rows = np.flatnonzero(top == part)
        u, v = _bucket_edges(
            hashes[rows],
            rows if docs is None else docs[rows],
            first_old,
            None if valid is None else valid[rows],
        )
        us.append(u)
        vs.append(v)
    return np.concatenate(us), np.concatenate(vs)


def _bucket_edges(
    hashes: np.ndarray, docs: np.ndarray | None, first_old: int, valid: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    order = hash_order(hashes)  # within a bucket, ascending document number
    if valid is not None and not valid.all():
        order = order[valid[order]]
    if order.size < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    sorted_hashes = hashes[order]
    members = np.flatnonzero(sorted_hashes[1:] == sorted_hashes[:-1]) + 1  # positions that continue a bucket
    del sorted_hashes
    # a bucket's members are consecutive positions; its head is the position just before the first of them
    first = np.ones(members.size, bool)
    first[1:] = members[1:] != members[:-1] + 1
    head_position = np.maximum.accumulate(np.where(first, members - 1, 0))
    u, v = order[head_position], order[members]
    del order
    if docs is not None:
        u, v = docs[u], docs[v]
    keep = ~((u >= first_old) & (v >= first_old))
    return u[keep].astype(np.int64), v[keep].astype(np.int64)


def hash_order(hashes: np.ndarray) -> np.ndarray:
    """Positions of `hashes` in ascending hash order, equal hashes by ascending position: what a stable
    argsort gives, from one sort of 64-bit keys (a hash's top bits, then its position in the low bits),
    several times faster. Keys tie on the top bits alone for distinct hashes now and then (one pair in a few
    million documents): the runs where that happens are put in full order again."""
    n = hashes.size
    bits = max(1, (n - 1).bit_length())
    low = np.uint64((1 << bits) - 1)
    key = hashes & ~low
    key |= np.arange(n, dtype=np.uint64)
    key.sort()
    order = (key & low).astype(np.int64)
    if n < 2:
        return order
    key >>= np.uint64(bits)  # the top bits of each sorted hash
    same_top = key[1:] == key[:-1]
    full = hashes[order]
    mixed = np.flatnonzero(same_top & (full[1:] != full[:-1])) + 1
    if mixed.size:
        run_start = np.flatnonzero(np.r_[True, ~same_top])
        run_end = np.r_[run_start[1:], n]
        for run in np.unique(np.searchsorted(run_start, mixed, side="right") - 1).tolist():
            lo, hi = int(run_start[run]), int(run_end[run])
            order[lo:hi] = order[lo:hi][np.argsort(full[lo:hi], kind="stable")]
    return order


def sort_pairs(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of document numbers (non-negative) in (u, v) order: what np.lexsort((v, u)) orders them by, from
    one sort of packed keys u * width + v (several times faster than the two passes of a lexsort)."""
    if not u.size:
        return u, v
    width = int(max(u.max(), v.max())) + 1
    if width > 3_000_000_000:  # width**2 would not fit in 63 bits
        order = np.lexsort((v, u))
        return u[order], v[order]
    key = u.astype(np.int64) * width
    key += v
    key.sort()
    return key // width, key % width


def regroup_failed(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """After verification: the members that failed against their bucket's head form a new bucket headed by
    the first of them, so two failed members that resemble each other are still compared."""
    if u.size == 0:
        return u, v
    u, v = sort_pairs(u, v)
    starts = np.ones(u.size, bool)
    starts[1:] = u[1:] != u[:-1]
    head_position = np.maximum.accumulate(np.where(starts, np.arange(u.size), 0))
    members = np.flatnonzero(~starts)
    return v[head_position[members]], v[members]


class PairSet:
    """A growing set of pair keys (int64), kept as a few sorted runs of distinct keys, each at least twice
    the size of the next (log-structured): adding k keys costs O(k log k) amortized and a lookup of k keys
    O(k log^2 n), so nothing is re-sorted with the whole set each time a few keys arrive."""

    def __init__(self) -> None:
        self.runs: list[np.ndarray] = []

    def add(self, keys: np.ndarray) -> None:
        run = _distinct(np.sort(np.asarray(keys, np.int64)))
        while self.runs and self.runs[-1].size <= 2 * run.size:
            merged = np.concatenate([self.runs.pop(), run])
            merged.sort(kind="stable")  # two sorted runs: timsort merges them in linear time
            run = _distinct(merged)
        if run.size:
            self.runs.append(run)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        keys = np.asarray(keys, np.int64)
        out = np.zeros(keys.size, bool)
        for run in self.runs:
            where = np.minimum(np.searchsorted(run, keys), run.size - 1)
            out |= run[where] == keys
        return out

    def __len__(self) -> int:
        if len(self.runs) > 1:
            merged = np.concatenate(self.runs)
            merged.sort(kind="stable")
            self.runs = [_distinct(merged)]
        return int(self.runs[0].size) if self.runs else 0


def _distinct(sorted_keys: np.ndarray) -> np.ndarray:
    if sorted_keys.size < 2:
        return sorted_keys
    keep = np.ones(sorted_keys.size, bool)
    keep[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return sorted_keys[keep]
