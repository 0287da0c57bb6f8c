"""The rest of a long verification peel, in time and memory linear in its documents.

A band's bucket is verified as a peel (engine.Candidates): its head against every member, then the members
that failed against the first of them, and so on. A bucket of k documents that are alike but below the
threshold (many documents sharing one long passage, a bucket that grows with the corpus) takes k rounds and
k^2/2 comparisons, and every failed pair would be remembered. After EXACT_ROUNDS rounds, the peel goes on
here, with the same leaders in the same order, but a member is compared with a leader only when their
prefixes share a shingle: with shingles in a fixed order (rarest first among the documents still in play,
ties by value), the first |A| - ceil(t |A|) + 1 of a set A and the first |B| - ceil(t |B|) + 1 of B always
intersect when J(A, B) >= t (J >= t needs |A & B| >= t max(|A|, |B|)). A pair without a shared prefix
shingle is below the threshold, so skipping it changes no outcome; a leader's prefix is looked up in an
index of its bucket's prefixes, so a round costs what its leaders' prefixes match, not the bucket's size.

Two things differ from the rounds before: a skipped pair is not added to the set of rejected pairs (that set
would grow as k^2; a later band may compare the pair again and reject it again), and a member already merged
with the leader through other documents stays in the peel when it is not a candidate (it can only merge
again with what it is already merged with). Neither loses a similar pair that the peel compares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from corpus.dedup.lsh import sort_pairs
from corpus.dedup.shingles import ragged_index

if TYPE_CHECKING:
    from corpus.dedup.engine import Candidates

EXACT_ROUNDS = 4  # rounds of the plain peel in a band before the rest goes through continue_peel
_SLACK = 1e-9  # the prefix length is computed for a threshold this much lower: never too short


def continue_peel(candidates: Candidates, u: np.ndarray, v: np.ndarray) -> int:
    """Finish a band's peel from its pending edges (leader u[i], member v[i]; one leader per bucket).
    Returns the rounds taken."""
    u, v = sort_pairs(u, v)
    leaders, first = np.unique(u, return_index=True)
    sizes = np.diff(np.r_[first, u.size]) + 1
    starts = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
    ends = starts + sizes
    # entries: each bucket's leader, then its members in ascending order
    entry_doc = np.empty(int(sizes.sum()), np.int64)
    is_leader = np.zeros(entry_doc.size, bool)
    is_leader[starts] = True
    entry_doc[starts] = leaders
    entry_doc[~is_leader] = v
    entry_group = np.repeat(np.arange(leaders.size), sizes)

    docs = np.unique(entry_doc)
    sets = candidates.sets_of(docs)
    entry_local = np.searchsorted(docs, entry_doc)
    token_starts, tokens = _prefixes(sets, docs.size, candidates.config.verify_threshold)
    # the index: (bucket, prefix shingle) of every entry, sorted
    counts = np.diff(token_starts)[entry_local]
    index_entry = np.repeat(np.arange(entry_doc.size), counts)
    index_key = (
        entry_group[index_entry] * (int(tokens.max(initial=0)) + 1)
        + tokens[ragged_index(token_starts[entry_local], counts)]
    )
    order = np.argsort(index_key, kind="stable")
    index_key, index_entry = index_key[order], index_entry[order]
    # the run of equal keys each entry's prefix shingles landed in: a leader's matches are the entries of its
    # own keys' runs, read off without searching the index
    new_run = np.ones(index_key.size, bool)
    new_run[1:] = index_key[1:] != index_key[:-1]
    del index_key
    run_starts = np.flatnonzero(new_run)
    run_ends = np.r_[run_starts[1:], new_run.size]
    run_of = np.empty(order.size, np.int64)  # by an entry's key position before the sort
    run_of[order] = np.cumsum(new_run) - 1
    del order, new_run
    entry_first = np.cumsum(counts) - counts  # each entry's first key position before the sort
    runs = Runs(run_of, run_starts, run_ends, entry_first, counts, index_entry)

    alive = np.ones(entry_doc.size, bool)
    pointer = starts.copy()  # each bucket's leader: its first entry still alive
    rounds = 0
    while True:
        live = np.flatnonzero(pointer < ends)
        has_members = _alive_after(alive, pointer[live], ends[live])
        pointer[live[~has_members]] = ends[live[~has_members]]  # finished: not looked at again
        live = live[has_members]
        if not live.size:
            return rounds
        rounds += 1
        leader_entry = pointer[live]
        leader_doc = entry_doc[leader_entry]
        from_index = leader_doc >= candidates.corpus.new  # its members too: never compared among themselves
        alive[leader_entry] = False
        _kill_rest(alive, leader_entry[from_index], ends[live[from_index]])
        live, leader_entry, leader_doc = live[~from_index], leader_entry[~from_index], leader_doc[~from_index]
        member = runs.matches(leader_entry)
        member = member[alive[member]]
        group_leader = np.zeros(leaders.size, np.int64)
        group_leader[live] = leader_doc
        lead = group_leader[entry_group[member]]
        merged = candidates.verify_pairs(lead, entry_doc[member])
        alive[member[merged]] = False
        _advance(alive, pointer, live, ends)


def _prefixes(sets: tuple[np.ndarray, np.ndarray], n: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Each document's prefix: its rarest shingles (fewest documents of the set in play, then value) as
    dense token numbers, flat, with each document's start. One in-place sort of a packed 64-bit key
    (document, frequency, token): about 20 bytes of work memory per shingle."""
    values, set_sizes = sets
    token, frequency = _dense_tokens(values)
    token_bits, frequency_bits = int(token.max(initial=0)).bit_length(), int(frequency.max()).bit_length()
    doc_bits = max(n - 1, 0).bit_length()
    assert token_bits + frequency_bits + doc_bits <= 63, "continue_peel is given at most BAND_SET_VALUES"
    key = frequency[token].astype(np.int64) << token_bits
    key |= token
    del token
    key |= np.repeat(np.arange(n, dtype=np.int64), set_sizes) << (token_bits + frequency_bits)
    key.sort()  # documents keep their order (the top bits); inside one, rarest first, then by value
    length = set_sizes - np.ceil((threshold - _SLACK) * set_sizes).astype(np.int64) + 1
    length = np.clip(length, np.minimum(set_sizes, 1), set_sizes)
    first = np.cumsum(set_sizes) - set_sizes
    tokens = key[ragged_index(first, length)] & ((1 << token_bits) - 1)
    return np.r_[0, np.cumsum(length)].astype(np.int64), tokens


def _dense_tokens(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each value's rank among the distinct values, and how often each distinct value occurs: what
    np.unique(values, return_inverse=True, return_counts=True) gives, from one sort of packed 64-bit keys
    (value, position) instead of an argsort, several times faster. Values are 32-bit, positions fewer than
    2^32 (a band's sets in play are at most BAND_SET_VALUES)."""
    key = values.astype(np.uint64) << np.uint64(32)
    key |= np.arange(values.size, dtype=np.uint64)
    key.sort()
    position = (key & np.uint64(0xFFFFFFFF)).astype(np.int64)
    key >>= np.uint64(32)
    new = np.ones(values.size, bool)
    new[1:] = key[1:] != key[:-1]
    del key
    token = np.empty(values.size, np.int64)
    token[position] = np.cumsum(new) - 1
    frequency = np.diff(np.r_[np.flatnonzero(new), values.size])
    return token, frequency


class Runs(NamedTuple):
    """continue_peel's index of (bucket, prefix shingle) keys, sorted: the run each key of each entry is in."""

    run_of: np.ndarray  # run of each key, by its position before the sort (entry by entry)
    run_starts: np.ndarray
    run_ends: np.ndarray
    entry_first: np.ndarray  # position of each entry's first key before the sort
    counts: np.ndarray  # keys (prefix shingles) per entry
    index_entry: np.ndarray  # entry of each key, in sorted order

    def matches(self, leader_entry: np.ndarray) -> np.ndarray:
        """Entries of the same bucket whose prefix shares a shingle with the leader's (leader left out): the
        entries of the runs of the leader's own keys (each leader's keys are its bucket and shingles)."""
        runs = self.run_of[ragged_index(self.entry_first[leader_entry], self.counts[leader_entry])]
        lo = self.run_starts[runs]
        found = np.unique(self.index_entry[ragged_index(lo, self.run_ends[runs] - lo)])
        return found[~np.isin(found, leader_entry)]


def _alive_after(alive: np.ndarray, pointer: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Whether a bucket still has a member alive after its leader's entry."""
    out = np.zeros(pointer.size, bool)
    position = pointer + 1
    pending = np.flatnonzero(position < ends)
    while pending.size:
        hit = alive[position[pending]]
        out[pending[hit]] = True
        pending = pending[~hit]
        position[pending] += 1
        pending = pending[position[pending] < ends[pending]]
    return out


def _kill_rest(alive: np.ndarray, leader_entry: np.ndarray, ends: np.ndarray) -> None:
    alive[ragged_index(leader_entry, ends - leader_entry)] = False


def _advance(alive: np.ndarray, pointer: np.ndarray, groups: np.ndarray, ends: np.ndarray) -> None:
    """Move each bucket's pointer to its first entry still alive (or its end)."""
    pending = groups[pointer[groups] < ends[groups]]
    while pending.size:
        pending = pending[~alive[pointer[pending]]]
        pointer[pending] += 1
        pending = pending[pointer[pending] < ends[pending]]
