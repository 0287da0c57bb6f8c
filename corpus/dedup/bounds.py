"""An exact upper bound on the overlap of two shingle sets, from a small bitmap per set, so that most pairs a
verification rejects are rejected without reading and merging their sets.

Each set gets a bitmap of `bits` bits (a power of two, about four per shingle of the band's average set): bit
(value mod bits) is set for each of its values. A shared value sets the same bit in both bitmaps, so the
shared values that fall in one bit position number at most min(values of A there, values of B there). Summed
over the positions set in both bitmaps, that is at most popcount(A & B) plus the values of A that share a
position with another value of A (|A| - popcount(A)), and likewise for B:

    |A & B| <= popcount(bitmap(A) & bitmap(B)) + min(|A| - popcount(A), |B| - popcount(B))

The bound never undercounts, whatever the values or the width (a crowded bitmap only makes it looser), so a
pair whose bounded Jaccard is below the threshold is below it: skipping it is exact, not a probability. Two
documents that share one long passage and differ elsewhere (the pairs that make up most of a large corpus's
rejected candidates) have about as many bits in common as shared values, and are told apart here.
"""

from __future__ import annotations

import numpy as np

MIN_BITS, MAX_BITS = 64, 8192
BITS_PER_VALUE = 4  # of the mean set size: few positions hold two values of one set, or one of each by chance
_SLICE_BYTES = 1 << 22  # the one-byte-per-bit matrix a slice of documents is built in (4 MB)
_PAIR_SLICE = 1 << 16  # pairs bounded at once: two rows of words each
_BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], np.uint8)


def _row_popcounts(words: np.ndarray) -> np.ndarray:
    """Bits set in each row of a 2-D uint64 array."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2
        return np.bitwise_count(words).sum(axis=1, dtype=np.int64)
    return _BYTE_BITS[np.ascontiguousarray(words).view(np.uint8)].sum(axis=1, dtype=np.int64)


class SetBitmaps:
    """Bitmaps of sets given flat (values, sizes), one row per set in their order."""

    def __init__(self, values: np.ndarray, sizes: np.ndarray) -> None:
        sizes = np.asarray(sizes, np.int64)
        n = sizes.size
        mean = values.size / max(n, 1)
        wanted = max(1, int(np.ceil(BITS_PER_VALUE * mean)))
        self.bits = min(max(1 << (wanted - 1).bit_length(), MIN_BITS), MAX_BITS)  # a power of two
        self.sizes = sizes
        self.words = np.zeros((n, self.bits // 64), np.uint64)
        first = np.r_[0, np.cumsum(sizes)]
        rows = max(1, _SLICE_BYTES // self.bits)
        mask = np.uint32(self.bits - 1)
        for lo in range(0, n, rows):
            hi = min(n, lo + rows)
            flat = np.zeros((hi - lo) * self.bits, bool)
            position = np.repeat(np.arange(hi - lo, dtype=np.int64) * self.bits, sizes[lo:hi])
            position += values[first[lo] : first[hi]] & mask
            flat[position] = True
            self.words[lo:hi] = np.packbits(flat.reshape(hi - lo, self.bits), axis=1).view(np.uint64)
        self.collided = sizes - _row_popcounts(self.words)  # values sharing a bit with another of their set

    def overlap_bound(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """An upper bound on |A & B| for the sets of rows a[i] and b[i]: never below the true overlap."""
        out = np.empty(a.size, np.int64)
        for lo in range(0, a.size, _PAIR_SLICE):
            x, y = a[lo : lo + _PAIR_SLICE], b[lo : lo + _PAIR_SLICE]
            out[lo : lo + x.size] = _row_popcounts(self.words[x] & self.words[y])
        out += np.minimum(self.collided[a], self.collided[b])
        return out

    def jaccard_bound(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """An upper bound on the Jaccard of the sets of rows a[i] and b[i], as SetStore.jaccard computes it
        (overlap / (|A| + |B| - overlap), in float64): the same division of a larger overlap, so never below
        it (an exact division rounds a larger quotient to a value no smaller)."""
        overlap = self.overlap_bound(a, b)
        return overlap / np.maximum(self.sizes[a] + self.sizes[b] - overlap, 1)
