"""The whole-run near-duplicate pass behind the `dedup` step.

1. Signatures: one job per stage shard in a fork pool; each spills its signatures, band hashes, shingle counts
   and keep keys (and, for exact verification, shingle sets) under work_dir. Results are used in shard order,
   so nothing depends on the number of workers.
2. Candidates: band by band, the band hashes of every document (and of a saved index) are sorted; buckets give
   star edges (lsh.py). Edges inside a family (an augmented copy and its source or sibling copies) are
   dropped, a family member being joined to its bucket's first member of another family instead. Optionally
   verified (estimated Jaccard from signatures, or exact Jaccard of shingle sets, vectorized over all pairs
   of a band); verified edges are merged in a numpy union-find. Members that fail against their bucket's
   head are compared with the first of them, and so on (a peel), until none is left: no cap. After
   EXACT_ROUNDS rounds the peel goes on with prefix filtering (prefix.py), so a bucket of k documents alike
   but below the threshold costs O(k) work and memory, not k^2. Every step costs what the band's pairs
   cost: roots are found for their documents only, rejected pairs are looked up in sorted runs. The sets
   read into memory for a band are those of the pairs still to verify (not merged, not rejected by an
   earlier band), each with a small bitmap whose overlap bounds a pair's Jaccard from above (bounds.py):
   most rejected pairs (documents sharing one long passage) are ruled out by it, exactly, without
   merging their sets.
3. Decisions: clusters of two or more documents keep one document by the keep policy (a cluster that holds
   documents of a saved index keeps none of this run's); members of the kept document's family leave the
   cluster (they are kept); decisions for clustered documents only are written to work_dir; the audit
   dataset goes to output_dir/duplicates/; the index of kept documents is saved if asked.
Memory: per document, 8 bytes for the band's hashes, 8 for union-find and 1 for validity, plus (while a band
is sorted) about 32 bytes per document of one part of at most PART_DOCS documents (and 9 for families when the
run has augmented copies; 8 for keep keys with keep: longest or quality; 4 for set sizes with verify: exact);
signatures, shingle sets and their offsets stay on disk and are read through short-lived maps, a bounded chunk
of pairs at a time (a long-lived map would leave every page it touched counted in the process's memory); the
sets of one band's candidates are held in memory up to BAND_SET_VALUES (with bitmaps of an eighth to a quarter of
their size); per shard, one batch of text at a time. Measured on 10M short documents: see
reports/benchmarks/dedup.md.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from corpus.dedup.bounds import SetBitmaps
from corpus.dedup.index import LoadedIndex, load_index
from corpus.dedup.lsh import PairSet, bucket_edges, regroup_failed, sort_pairs
from corpus.dedup.params import DEFAULT_THRESHOLD, MinHashParams
from corpus.dedup.per_shard import write_per_shard
from corpus.dedup.prefix import EXACT_ROUNDS, continue_peel
from corpus.dedup.signatures import RowStore, SetStore, SignJob, chunks, iter_batches, sign_shard, spill_paths
from corpus.dedup.unionfind import UnionFind

VERIFY_MODES = ("exact", "estimate", "none")
KEEP_POLICIES = ("first", "longest", "quality")
PAIR_CHUNK = 16_384
BAND_SET_VALUES = 8 * 2**20  # shingle values of a band's documents held in memory at once (32 MB)
AUDIT_CLUSTERS_PER_FILE = 100_000

AUDIT_SCHEMA = pa.schema(
    [
        ("cluster_id", pa.string()),
        ("size", pa.int64()),
        ("kept_id", pa.string()),
        ("kept_from_index", pa.bool_()),
        ("member_ids", pa.list_(pa.string())),
        ("member_from_index", pa.list_(pa.bool_())),
        ("estimated_jaccard", pa.list_(pa.float32())),
        ("true_jaccard", pa.list_(pa.float32())),
    ]
)
DECISION_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("cluster_id", pa.string()),
        ("kept", pa.bool_()),
        ("kept_id", pa.string()),
        ("previous", pa.bool_()),
    ]
)
DECISIONS_DIR = "decisions"


def cluster_id(doc_id: str) -> str:
    """A cluster is named after its first member (in shard/row order), so the name survives re-runs and any
    worker count; a document alone is its own cluster."""
    return xxhash.xxh3_64_hexdigest(doc_id.encode("utf-8", "surrogatepass"))


@dataclass
class DedupConfig:
    params: MinHashParams
    threshold: float | None = None
    verify: str = "exact"
    keep: str = "first"
    score_field: str = ""
    save_index: str | None = None
    against: list[str] = field(default_factory=list)
    spare_augmented: bool = True

    @property
    def verify_threshold(self) -> float:
        return DEFAULT_THRESHOLD if self.threshold is None else self.threshold


@dataclass
class Corpus:
    """Every document of the run (numbered in shard/row order), then those of the saved indexes."""

    shards: list[str]
    offsets: np.ndarray  # first document number of each shard, then the total
    signatures: RowStore
    band_parts: list[np.ndarray]  # (bands x rows) per shard, then per index
    valid: np.ndarray  # has at least one shingle
    keys: np.ndarray  # keep-policy key per document of this run (empty for keep: first)
    sets: SetStore | None
    indexes: list[LoadedIndex]
    family: np.ndarray | None = None  # family hash per document (None: families are not told apart)
    augmented: np.ndarray | None = None  # is an augmented copy, per document
    # empty, short and missing_score documents of this run, rows an earlier global step drops left out
    bad_input: dict[str, int] = field(default_factory=dict)

    @property
    def new(self) -> int:
        return int(self.offsets[-1])

    @property
    def total(self) -> int:
        return self.signatures.offsets[-1]


# --- 1. signatures ------------------------------------------------------------------------------------------


def compute_signatures(config: DedupConfig, shards: list[str], folder: str, workers: int) -> dict:
    os.makedirs(folder, exist_ok=True)
    _ = config.params.permutations  # read (or drawn) here, once: forked workers inherit them
    jobs = [
        SignJob(
            i,
            path,
            config.params,
            folder,
            config.keep,
            config.score_field,
            shingles=config.verify == "exact",
            families=config.spare_augmented,
        )
        for i, path in enumerate(shards)
    ]
    totals = dict.fromkeys(("rows", "empty", "short", "missing_score", "augmented", "reused", "corrupt"), 0)
    totals["seconds"] = 0.0
    started = time.perf_counter()
    if workers > 1 and len(jobs) > 1:
        # pyarrow imports pandas (about 0.3 s) the first time a process converts to or from numpy: done here,
        # once, the forked workers inherit it instead of each paying it (this process needs it later anyway)
        pa.array(np.zeros(1))
        with get_context("fork").Pool(min(workers, len(jobs))) as pool:
            results = list(pool.imap(sign_shard, jobs))
    else:
        results = [sign_shard(job) for job in jobs]
    for counters in results:
        for key in totals:
            totals[key] += counters.get(key, 0)
    totals["wall_seconds"] = time.perf_counter() - started
    return totals


def open_corpus(
    config: DedupConfig, shards: list[str], folder: str, skip: dict[int, np.ndarray] | None = None
) -> Corpus:
    sig_parts, band_parts, valid, keys, set_parts, family, augmented = [], [], [], [], [], [], []
    bad_input = dict.fromkeys(("empty", "short", "missing_score"), 0)
    for i in range(len(shards)):
        paths = spill_paths(folder, i)
        sig_parts.append(np.load(paths["sig"], mmap_mode="r"))
        band_parts.append(np.load(paths["bands"], mmap_mode="r"))
        with np.load(paths["info"]) as info:
            present = np.ones(info["counts"].size, bool)
            if skip and i in skip:
                present[skip[i]] = False  # dropped by an earlier global step: not in this run for dedup
            valid.append((info["counts"] > 0) & present)
            bad_input["empty"] += int(np.count_nonzero(present & (info["counts"] == 0)))
            bad_input["short"] += int(np.count_nonzero(present & info["short"]))
            if config.keep == "quality":
                bad_input["missing_score"] += int(np.count_nonzero(present & np.isnan(info["keys"])))
            if config.keep != "first":  # "first" ranks by document number alone
                keys.append(info["keys"])
            if config.spare_augmented:
                family.append(info["family"])
                augmented.append(info["augmented"])
        if config.verify == "exact":
            offsets = np.load(paths["shingle_offsets"], mmap_mode="r")  # read through fresh maps (SetStore)
            values = (
                np.memmap(paths["shingles"], dtype=np.uint32, mode="r")
                if offsets[-1]
                else np.zeros(0, np.uint32)
            )
            set_parts.append((values, offsets))
    offsets = np.concatenate([[0], np.cumsum([len(v) for v in valid])]).astype(np.int64)
    indexes = [load_index(path, config.params, config.verify == "exact") for path in config.against]
    for index in indexes:
        sig_parts.append(index.signatures)
        band_parts.append(index.bands)
        valid.append(np.ones(index.documents, bool))
        family.append(index.family)
        augmented.append(index.augmented)
        if index.shingles is not None:
            set_parts.append(index.shingles)
    spare = config.spare_augmented and any(a.any() for a in augmented)  # else no edge is inside a family
    return Corpus(
        shards=shards,
        offsets=offsets,
        signatures=RowStore(sig_parts),
        band_parts=band_parts,
        valid=np.concatenate(valid) if valid else np.zeros(0, bool),
        keys=np.concatenate(keys) if keys else np.zeros(0),
        sets=SetStore(set_parts) if config.verify == "exact" else None,
        indexes=indexes,
        family=np.concatenate(family) if spare else None,
        augmented=np.concatenate(augmented) if spare else None,
        bad_input=bad_input,
    )


# --- 2. candidates, verification, union-find ----------------------------------------------------------------


def estimated_jaccard(corpus: Corpus, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = np.empty(u.size, np.float64)
    for lo in range(0, u.size, PAIR_CHUNK):
        a = corpus.signatures.rows(u[lo : lo + PAIR_CHUNK])
        b = corpus.signatures.rows(v[lo : lo + PAIR_CHUNK])
        out[lo : lo + PAIR_CHUNK] = (a == b).mean(axis=1)
    return out


def true_jaccard(corpus: Corpus, u: np.ndarray, v: np.ndarray, known: PairValues | None = None) -> np.ndarray:
    """Exact Jaccard of the shingle sets of u[i] and v[i]; pairs already measured (in `known`) are looked
    up, not measured again."""
    assert corpus.sets is not None
    u, v = np.asarray(u, np.int64), np.asarray(v, np.int64)
    out = known.lookup(corpus, u, v) if known is not None else np.full(u.size, np.nan)
    out[u == v] = 1.0
    todo = np.flatnonzero(np.isnan(out))
    if todo.size:
        out[todo] = corpus.sets.jaccard(u[todo], v[todo])
    return out


class PairValues:
    """Similarities measured for pairs of documents, kept so that the audit does not measure them again."""

    def __init__(self) -> None:
        self.keys, self.values = np.zeros(0, np.int64), np.zeros(0, np.float64)
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, corpus: Corpus, u: np.ndarray, v: np.ndarray, values: np.ndarray) -> None:
        self._parts.append((_pair_keys(corpus, u, v), values))

    def lookup(self, corpus: Corpus, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        if self._parts:
            keys = np.concatenate([self.keys, *(k for k, _ in self._parts)])
            values = np.concatenate([self.values, *(x for _, x in self._parts)])
            self.keys, first = np.unique(keys, return_index=True)
            self.values, self._parts = values[first], []
        out = np.full(u.size, np.nan)
        if self.keys.size:
            keys = _pair_keys(corpus, u, v)
            where = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
            hit = self.keys[where] == keys
            out[hit] = self.values[where[hit]]
        return out


def _pair_keys(corpus: Corpus, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.minimum(u, v).astype(np.int64) * corpus.total + np.maximum(u, v)


def same_family(corpus: Corpus, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """u[i] and v[i] are an augmented copy and its source, or two copies of one source. Two documents that
    merely share an id, neither augmented, are not a family: they are compared like any others."""
    if corpus.family is None or corpus.augmented is None:
        return np.zeros(u.size, bool)
    return (corpus.augmented[u] | corpus.augmented[v]) & (corpus.family[u] == corpus.family[v])


def outside_family(corpus: Corpus, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Star edges (head, member) without edges inside a family. A member of the head's family is joined to
    the bucket's first member of another family instead, so the result does not depend on which document
    happens to head the bucket."""
    inside = same_family(corpus, u, v)
    if not inside.any():
        return u, v
    keep_u, keep_v, moved = u[~inside], v[~inside], v[inside]
    # edges of one bucket share a head and list members in ascending order: the first is the new head
    heads, first = np.unique(keep_u, return_index=True)
    where = np.minimum(np.searchsorted(heads, u[inside]), max(heads.size - 1, 0))
    found = heads[where] == u[inside] if heads.size else np.zeros(moved.size, bool)
    new_u, new_v = keep_v[first[where[found]]], moved[found]
    lo, hi = np.minimum(new_u, new_v), np.maximum(new_u, new_v)
    ok = ~same_family(corpus, lo, hi) & (lo < corpus.new)  # never an edge between two index documents
    return np.concatenate([keep_u, lo[ok]]), np.concatenate([keep_v, hi[ok]])


class BandSets(NamedTuple):
    """The shingle sets of a band's documents in play, in memory: their numbers (ascending), the sets (under
    each document's rank among them) and the sets' bitmaps (same rows)."""

    docs: np.ndarray
    sets: SetStore
    bitmaps: SetBitmaps


class Candidates:
    """Band-by-band candidate edges merged into a union-find, with optional verification.

    Every step works in proportion to the pairs at hand, not to the corpus: roots are found for the pairs'
    documents only (UnionFind.find), and rejected pairs are looked up in a PairSet (sorted runs) instead of
    being merged into one array sorted again every round; a band's hashes are read from the spill files
    with plain reads (no memory map left resident). Verification goes on until no pair is left: no cap."""

    def __init__(self, corpus: Corpus, config: DedupConfig) -> None:
        self.corpus, self.config = corpus, config
        self.uf = UnionFind(corpus.total)
        self.failed = PairSet()  # pair keys already rejected, so no pair is verified twice
        self.measured = PairValues()  # exact Jaccard of the similar verified pairs, reused by the audit
        self.counts = {"candidate_pairs": 0, "verified_pairs": 0, "false_positives": 0, "verify_rounds": 0}
        self._band_sets: BandSets | None = None

    def run(self) -> np.ndarray:
        corpus = self.corpus
        seen = PairSet()  # distinct (head, member) pairs over all bands, for the statistics
        hashes = np.empty(corpus.total, np.uint64)
        for band in range(self.config.params.bands if corpus.band_parts else 0):
            lo = 0
            for part in corpus.band_parts:
                read_band(part, band, hashes[lo : lo + part.shape[1]])
                lo += part.shape[1]
            u, v = outside_family(corpus, *bucket_edges(hashes, None, corpus.new, corpus.valid))
            seen.add(u * corpus.total + v)
            if self.config.verify == "none":
                self.uf.union(u, v)
            else:
                for lo, hi in self._bucket_chunks(u, v):
                    self._verify_and_merge(u[lo:hi], v[lo:hi])
        self.counts["candidate_pairs"] = len(seen)
        return self.uf.labels()

    def _bucket_chunks(self, u: np.ndarray, v: np.ndarray) -> list[tuple[int, int]]:
        """Sort the band's edges by head (in place) and cut them into runs of whole buckets whose shingle
        sets fit in BAND_SET_VALUES together, each verified with its sets in memory. A peel never leaves its
        bucket (regrouped members keep to the members of their head), so buckets can be verified a chunk at
        a time; in a band that fits (every test and recipe here) there is one chunk."""
        u[:], v[:] = sort_pairs(u, v)
        if self.config.verify != "exact" or self.corpus.sets is None or not u.size:
            return [(0, u.size)]
        weight = self.corpus.sets.sizes(v).astype(np.int64)
        head = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
        weight[head] += self.corpus.sets.sizes(u[head])
        ends = np.r_[head[1:], u.size]
        per_bucket = np.add.reduceat(weight, head)
        return [(int(head[a]), int(ends[b - 1])) for a, b in chunks(per_bucket, BAND_SET_VALUES)]

    def _verify_and_merge(self, u: np.ndarray, v: np.ndarray) -> None:
        """Verify the band's edges and merge the similar pairs; members that fail against their head are
        compared again among themselves (regroup_failed), round after round until none is left."""
        total = self.corpus.total
        rounds = 0
        while u.size:
            if rounds == EXACT_ROUNDS and self.config.verify == "exact":
                rounds += continue_peel(self, u, v)  # the rest of a long peel, linear in its documents
                break
            pending = self.uf.find(u) != self.uf.find(v)
            u, v = u[pending], v[pending]
            keys = u * total + v
            fresh = ~self.failed.contains(keys)
            u, v, keys = u[fresh], v[fresh], keys[fresh]
            if not u.size:
                break
            if rounds == 0:
                # the sets of the documents still to verify: every later round (and continue_peel) works on
                # members of these pairs; in a large corpus most of a band's edges were settled by the bands
                # before it (merged, or rejected), and their documents' sets are not read
                self._band_sets = self._load_band_sets(u, v)
            rounds += 1
            if self.config.verify == "exact":
                similarity = self._exact_or_too_different(u, v)
            else:
                similarity = estimated_jaccard(self.corpus, u, v)
            ok = similarity >= self.config.verify_threshold
            self.counts["verified_pairs"] += int(u.size)
            self.counts["false_positives"] += int(np.count_nonzero(~ok))
            self.uf.union(u[ok], v[ok])
            self.failed.add(keys[~ok])
            u, v = outside_family(self.corpus, *regroup_failed(u[~ok], v[~ok]))
            new_side = u < self.corpus.new
            u, v = u[new_side], v[new_side]
        self.counts["verify_rounds"] = max(self.counts["verify_rounds"], rounds)
        self._band_sets = None

    def sets_of(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shingle sets of documents (ascending) of the band being verified: flat values, size of each."""
        if self._band_sets is not None:
            band_docs, sets, _ = self._band_sets
            return sets.gather(np.searchsorted(band_docs, docs))
        assert self.corpus.sets is not None
        return self.corpus.sets.gather(docs)

    def verify_pairs(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Verify pairs (exact) and merge the similar ones; True for a pair merged now or already merged."""
        pending = self.uf.find(u) != self.uf.find(v)
        check = np.flatnonzero(pending & ~same_family(self.corpus, u, v))
        similarity = self._exact_or_too_different(u[check], v[check])
        ok = similarity >= self.config.verify_threshold
        self.counts["verified_pairs"] += int(check.size)
        self.counts["false_positives"] += int(np.count_nonzero(~ok))
        self.uf.union(u[check[ok]], v[check[ok]])
        merged = ~pending
        merged[check[ok]] = True
        return merged

    def _load_band_sets(self, u: np.ndarray, v: np.ndarray) -> BandSets | None:
        """The shingle sets of the documents of the given pairs, read once (in document order) into memory,
        with their bitmaps (bounds.py), when they fit in BAND_SET_VALUES: the rounds of a band read the same
        documents again and again, and reading them through a file map each time costs a page fault per set."""
        if self.config.verify != "exact" or self.corpus.sets is None or not u.size:
            return None
        docs = np.unique(np.concatenate([u, v]))
        if int(self.corpus.sets.sizes(docs).sum()) > BAND_SET_VALUES:
            return None
        values, sizes = self.corpus.sets.gather(docs)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        return BandSets(docs, SetStore([(values, offsets)]), SetBitmaps(values, sizes))

    def _exact_or_too_different(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Exact Jaccard of each pair, or 0 for a pair that an upper bound on its Jaccard rules out (below the
        threshold, it fails whatever the exact value): first the set sizes (sets of sizes a <= b have a
        Jaccard of at most a / b, and floating-point division keeps that order), then, for the sets of a
        band held in memory, their bitmaps (bounds.py); no pair of sets is merged for a pair ruled out.
        Similar pairs are kept for the audit."""
        assert self.corpus.sets is not None
        threshold = self.config.verify_threshold
        bitmaps = None
        if self._band_sets is not None:  # the same sets, from memory, under their rank among the band's docs
            docs, sets, bitmaps = self._band_sets
            a, b = np.searchsorted(docs, u), np.searchsorted(docs, v)
        else:
            sets, a, b = self.corpus.sets, u, v
        size_u, size_v = sets.sizes(a), sets.sizes(b)
        bound = np.minimum(size_u, size_v) / np.maximum(np.maximum(size_u, size_v), 1)
        similarity = np.zeros(u.size)
        possible = np.flatnonzero(bound >= threshold)
        if bitmaps is not None and possible.size:
            possible = possible[bitmaps.jaccard_bound(a[possible], b[possible]) >= threshold]
        if possible.size:
            similarity[possible] = sets.jaccard(a[possible], b[possible])
            ok = possible[similarity[possible] >= threshold]
            self.measured.add(self.corpus, u[ok], v[ok], similarity[ok])
        return similarity


def read_band(part: np.ndarray, band: int, out: np.ndarray) -> None:
    """One band's hashes (row `band` of a bands x documents array) into `out`. A memory-mapped spill or
    index is read with a plain file read: pages touched through a map would stay resident, one band after
    another, until the whole file counted in this process's memory."""
    if isinstance(part, np.memmap) and part.filename and part.flags.c_contiguous and out.flags.c_contiguous:
        with open(part.filename, "rb") as f:
            f.seek(part.offset + band * part.shape[1] * part.dtype.itemsize)
            if f.readinto(memoryview(out).cast("B")) != out.nbytes:
                raise OSError(f"{part.filename} is shorter than its header says")
    else:
        out[:] = part[band]


# --- 3. clusters and decisions ------------------------------------------------------------------------------


@dataclass
class Clusters:
    members: np.ndarray  # document numbers of every clustered document, grouped by cluster, ascending within
    cluster_of: np.ndarray  # cluster number of each entry of members
    starts: np.ndarray  # first entry of each cluster in members
    kept: np.ndarray  # document number kept for each cluster
    previous: np.ndarray  # the cluster holds documents of a saved index (its kept document is one of them)
    family_apart: int = 0  # members of the kept document's family taken out of their cluster (kept)


def build_clusters(labels: np.ndarray, corpus: Corpus, keep: str) -> Clusters:
    sizes = np.bincount(labels, minlength=labels.size)
    members = np.flatnonzero(sizes[labels] >= 2)
    clusters = _group(members, labels[members], corpus, keep)
    if corpus.family is None or not clusters.members.size:
        return clusters
    # an augmented copy reached its own source (or a sibling) through other documents: it is not their
    # duplicate, so it leaves the cluster and is kept; everything else in the cluster stays a duplicate
    kept = clusters.kept[clusters.cluster_of]
    apart = (clusters.members != kept) & same_family(corpus, clusters.members, kept)
    if not apart.any():
        return clusters
    members, groups = clusters.members[~apart], clusters.cluster_of[~apart]
    big = np.bincount(groups, minlength=clusters.starts.size)[groups] >= 2
    regrouped = _group(members[big], groups[big], corpus, keep)
    regrouped.family_apart = int(np.count_nonzero(apart & (clusters.members < corpus.new)))
    return regrouped


def _group(members: np.ndarray, roots: np.ndarray, corpus: Corpus, keep: str) -> Clusters:
    """Clusters from documents and a group label each (every group has two or more documents)."""
    order = np.lexsort((members, roots))
    members, roots = members[order], roots[order]
    starts = np.flatnonzero(np.r_[True, roots[1:] != roots[:-1]]) if members.size else np.zeros(0, np.int64)
    cluster_of = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, members.size]))
    ends = np.r_[starts[1:], members.size].astype(np.int64)
    last = members[ends - 1] if members.size else np.zeros(0, np.int64)
    previous = last >= corpus.new
    kept = _kept_members(members, cluster_of, starts, previous, corpus, keep)
    return Clusters(members, cluster_of, starts, kept, previous)


def _kept_members(
    members: np.ndarray,
    cluster_of: np.ndarray,
    starts: np.ndarray,
    previous: np.ndarray,
    corpus: Corpus,
    keep: str,
) -> np.ndarray:
    is_old = members >= corpus.new
    if keep == "first":
        score = np.zeros(members.size)
    else:
        score = np.where(is_old, 0.0, corpus.keys[np.minimum(members, max(corpus.new - 1, 0))])
        score = np.where(np.isnan(score), -np.inf, score)
    # a cluster with index documents keeps its first index document; otherwise best score, then first
    rank_old = np.where(previous[cluster_of], ~is_old, False)
    order = np.lexsort((members, -score, rank_old, cluster_of))
    first_entry = (
        np.r_[True, cluster_of[order][1:] != cluster_of[order][:-1]] if members.size else np.zeros(0, bool)
    )
    return members[order][first_entry]


def fetch_ids(corpus: Corpus, docs: np.ndarray) -> pa.Array:
    """Ids of the given document numbers (ascending), read from the stage shards and saved indexes."""
    parts, part_of = [], np.searchsorted(corpus.signatures.offsets, docs, side="right") - 1
    for part in np.unique(part_of):
        local = docs[part_of == part] - corpus.signatures.offsets[part]
        if part < len(corpus.shards):
            ids = (  # ParquetFile, not read_table: that one imports pyarrow.dataset (0.3 s) in this process
                pq.ParquetFile(corpus.shards[part]).read(columns=["id"])
                if corpus.shards[part].endswith(".parquet")
                else _arrow_ids(corpus.shards[part])
            )
            parts.append(ids.column("id").combine_chunks().take(pa.array(local)))
        else:
            parts.append(corpus.indexes[part - len(corpus.shards)].ids.take(pa.array(local)))
    return pa.concat_arrays(parts) if parts else pa.array([], pa.string())


def _arrow_ids(path: str) -> pa.Table:
    return pa.Table.from_batches(list(iter_batches(path, ["id"])))


def cluster_names(clusters: Clusters, corpus: Corpus, member_ids: pa.Array) -> list[str]:
    """Name of each cluster: from its first member of this run, or, when it holds index documents, the
    cluster id that first index document had in the earlier run (so clusters stay linked across runs)."""
    names = []
    ids = member_ids.to_pylist()
    for c, start in enumerate(clusters.starts.tolist()):
        if clusters.previous[c]:
            end = clusters.starts[c + 1] if c + 1 < clusters.starts.size else clusters.members.size
            old = start + int(np.argmax(clusters.members[start:end] >= corpus.new))
            names.append(_index_cluster_id(corpus, int(clusters.members[old])))
        else:
            names.append(cluster_id(ids[start]))
    return names


def _index_cluster_id(corpus: Corpus, doc: int) -> str:
    part = int(np.searchsorted(corpus.signatures.offsets, doc, side="right") - 1)
    index = corpus.indexes[part - len(corpus.shards)]
    return index.cluster_ids[doc - int(corpus.signatures.offsets[part])].as_py()


def write_decisions(
    work_dir: str, corpus: Corpus, clusters: Clusters, names: list[str], kept_ids: list
) -> None:
    """The decisions for clustered documents, per stage shard (decisions/NNNNN.pq: row, cluster name, kept
    flag, kept id, from an index cluster): one file for the whole run, read by every task, made loading cost
    grow as documents x shards."""
    new = clusters.members < corpus.new
    members = clusters.members[new]
    order = np.argsort(members, kind="stable")
    members, cluster = members[order], clusters.cluster_of[new][order]
    take = pa.array(cluster)
    shard_of = np.searchsorted(corpus.offsets, members, side="right") - 1
    table = pa.table(
        [
            pa.array(members - corpus.offsets[shard_of]),
            pa.array(names, pa.string()).take(take),
            pa.array(members == clusters.kept[cluster]),
            pa.array(kept_ids, pa.string()).take(take),
            pa.array(clusters.previous[cluster]),
        ],
        schema=DECISION_SCHEMA,
    )
    write_per_shard(os.path.join(work_dir, DECISIONS_DIR), shard_of, table)
