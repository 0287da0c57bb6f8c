"""MinHash signatures and LSH band hashes for batches of texts, and the per-shard pass that spills them to disk.

Signatures equal datasketch's: `MinHash(num_perm, seed=hash_seed, scheme="affine32", hashfunc=lambda x: x)`
updated with the low 32 bits of each shingle hash gives the same hashvalues (checked in tests). They are
computed permutation by permutation over the whole batch (one multiply, one add and one segmented minimum
per permutation), which numpy vectorizes well.

Shingle sets (for exact verification) are each document's sorted distinct shingles, kept as the high 32 bits
of the 64-bit shingle hashes: half the disk and memory traffic of 64-bit values. Two distinct shingles of a
document pair share a value with probability 2^-32 per pair, so the exact Jaccard of two 200-word documents
is off by one shingle with probability about 10^-5.

Each finished spill has a done file listing every file's size and xxh3-128 checksum, written after the files
are complete; a resumed run reuses the spill only if all of them still match (a damaged one is recomputed,
counted and logged).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from corpus.dedup.params import MinHashParams
from corpus.dedup.shingles import GOLDEN, fmix64, ragged_index, shingle_hashes, string_hashes
from corpus.files import file_digest

log = logging.getLogger(__name__)

U32 = np.uint32
EMPTY = np.uint32(0xFFFFFFFF)  # datasketch's value for a permutation that saw no shingle
BATCH_ROWS = 1024
BATCH_BYTES = 16 * 2**20
SPILL_FORMAT = 3  # bump when the spill files change: older spills are then recomputed
GATHER_LIMIT = 1 << 20  # shingle values compared at once (work arrays of about 50 MB at most)


def fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> U32(16))
    h = h * U32(0x85EBCA6B)
    h = h ^ (h >> U32(13))
    h = h * U32(0xC2B2AE35)
    return h ^ (h >> U32(16))


def minhash(shingles: np.ndarray, per_doc: np.ndarray, params: MinHashParams) -> np.ndarray:
    """Signatures (documents x num_perm, uint32) of documents given as flat shingle hashes + counts."""
    a, b = params.permutations
    out = np.full((params.num_perm, per_doc.size), EMPTY, dtype=np.uint32)
    has = per_doc > 0
    if shingles.size:
        h = fmix32((shingles & np.uint64(0xFFFFFFFF)).astype(np.uint32))
        starts = (np.cumsum(per_doc) - per_doc)[has]
        buf = np.empty_like(h)
        for p in range(params.num_perm):
            np.multiply(h, a[p], out=buf)
            buf += b[p]
            out[p, has] = np.minimum.reduceat(buf, starts)
    return np.ascontiguousarray(out.T)


def band_hashes(signatures: np.ndarray, params: MinHashParams) -> np.ndarray:
    """One 64-bit hash per band per document (bands x documents): two documents share a band's hash when
    (up to a 2^-64 chance) they agree on all of that band's rows."""
    n = signatures.shape[0]
    out = np.empty((params.bands, n), dtype=np.uint64)
    for j in range(params.bands):
        block = signatures[:, j * params.rows : (j + 1) * params.rows].astype(np.uint64)
        if block.shape[1] % 2:
            block = np.concatenate([block, np.zeros((n, 1), np.uint64)], axis=1)
        h = np.full(n, fmix64(np.array([j + 1], np.uint64) * GOLDEN)[0], dtype=np.uint64)
        for k in range(0, block.shape[1], 2):
            h = fmix64(h ^ (block[:, k] | (block[:, k + 1] << np.uint64(32))))
        out[j] = h
    return out


def shingle_sets(shingles: np.ndarray, per_doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-document sorted distinct shingle values (high 32 bits of each hash): flat uint32 + per-document
    counts. Documents are sorted as rows of a 2-D block per power-of-two width (padded with the largest
    value, which sorts last): many short row sorts run several times faster than one sort of the batch."""
    values = (shingles >> np.uint64(32)).astype(np.uint32)
    starts = np.cumsum(per_doc) - per_doc
    has = per_doc > 0
    width = np.zeros(per_doc.size, np.int64)
    width[has] = 1 << np.ceil(np.log2(per_doc[has])).astype(np.int64)
    for w in np.unique(width[has]).tolist():
        docs = np.flatnonzero(width == w)
        lengths = per_doc[docs]
        source = ragged_index(starts[docs], lengths)
        cells = ragged_index(np.arange(docs.size) * w, lengths)
        block = np.full(docs.size * w, 0xFFFFFFFF, np.uint32)
        block[cells] = values[source]
        block = block.reshape(docs.size, w)
        block.sort(axis=1)
        values[source] = block.reshape(-1)[cells]
    distinct = np.ones(values.size, bool)
    distinct[1:] = values[1:] != values[:-1]
    distinct[starts[has]] = True
    doc = np.repeat(np.arange(per_doc.size), per_doc)
    return values[distinct], np.bincount(doc[distinct], minlength=per_doc.size).astype(np.int64)


def chunks(weights: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Consecutive (lo, hi) slices whose weights sum to at most limit (a heavier single item is alone)."""
    out, lo = [], 0
    ends = np.cumsum(weights)
    while lo < weights.size:
        base = int(ends[lo - 1]) if lo else 0
        hi = max(lo + 1, int(np.searchsorted(ends, base + limit, side="right")))
        out.append((lo, hi))
        lo = hi
    return out


# --- augmented copies ---------------------------------------------------------------------------------------


def _augmented_source(meta: str | None) -> str | None:
    """augmentation.source_id of an augmented copy (metadata augmented: true), else None."""
    try:
        value = orjson.loads(meta) if meta else None
    except orjson.JSONDecodeError:
        return None
    if not isinstance(value, dict) or value.get("augmented") is not True:
        return None
    augmentation = value.get("augmentation")
    source = augmentation.get("source_id") if isinstance(augmentation, dict) else None
    return source if isinstance(source, str) else None


def family_keys(ids: pa.Array, metadata: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Per document: the hash of its family's id (an augmented copy's augmentation.source_id, anyone else's
    own id) and whether it is an augmented copy. Only rows whose metadata mentions "augmented" are parsed."""
    family = string_hashes(ids)
    augmented = np.zeros(len(ids), bool)
    mentions = pc.fill_null(pc.match_substring(metadata, '"augmented"'), False)
    maybe = np.flatnonzero(mentions.to_numpy(zero_copy_only=False))
    if maybe.size:
        sources = [_augmented_source(m) for m in metadata.take(pa.array(maybe)).to_pylist()]
        rows = np.array([r for r, src in zip(maybe.tolist(), sources) if src is not None], np.int64)
        if rows.size:
            family[rows] = string_hashes(pa.array([src for src in sources if src is not None], pa.string()))
            augmented[rows] = True
    return family, augmented


# --- reading stage shards ----------------------------------------------------------------------------------


def _ipc_reader(path: str, columns: list[str]) -> ipc.RecordBatchFileReader:
    """An Arrow IPC shard, memory-mapped, reading (and decompressing, in an LZ4 stage dataset) only `columns`."""
    with ipc.open_file(pa.memory_map(path)) as reader:
        names = reader.schema.names
    options = ipc.IpcReadOptions(included_fields=[names.index(c) for c in columns])
    return ipc.open_file(pa.memory_map(path), options=options)


def shard_rows(path: str) -> int:
    if path.endswith(".parquet"):
        return pq.ParquetFile(path).metadata.num_rows
    with _ipc_reader(path, ["id"]) as reader:
        return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))


def iter_batches(path: str, columns: list[str]) -> Iterator[pa.RecordBatch]:
    """The shard's rows in order, in batches of at most BATCH_ROWS rows."""
    if path.endswith(".parquet"):
        yield from pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=columns)
        return
    with _ipc_reader(path, columns) as reader:
        for i in range(reader.num_record_batches):
            batch = reader.get_batch(i).select(columns)
            for start in range(0, batch.num_rows, BATCH_ROWS):
                yield batch.slice(start, BATCH_ROWS)


def _split_by_bytes(texts: pa.Array) -> Iterator[tuple[int, pa.Array]]:
    """Slices of a batch holding at most BATCH_BYTES of text (a single longer text is its own slice)."""
    lengths = pc.binary_length(texts).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    start, size = 0, 0
    for i, length in enumerate(lengths.tolist()):
        if size and size + length > BATCH_BYTES:
            yield start, texts.slice(start, i - start)
            start, size = i, 0
        size += length
    if start < len(texts):
        yield start, texts.slice(start)


def _score(meta: str | None, field: str) -> float:
    try:
        value = orjson.loads(meta) if meta else {}
        for part in field.split("."):
            value = value[part]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return float("nan")
        return float(value)
    except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
        return float("nan")


def keep_keys(batch: pa.RecordBatch, keep: str, score_field: str) -> np.ndarray:
    """What the keep policy ranks by (higher is better): text length in characters, or the quality score
    (NaN when missing)."""
    if keep == "longest":
        return pc.utf8_length(batch.column("text")).fill_null(0).to_numpy(zero_copy_only=False).astype(float)
    if keep == "quality":
        return np.array([_score(m, score_field) for m in batch.column("metadata").to_pylist()], dtype=float)
    return np.zeros(batch.num_rows)


# --- per-shard spill ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignJob:
    index: int
    path: str
    params: MinHashParams
    folder: str
    keep: str = "first"
    score_field: str = ""
    shingles: bool = False  # also spill each document's sorted shingle set (exact verification)
    families: bool = False  # also spill each document's family (augmented copies and their source)


def spill_paths(folder: str, index: int) -> dict[str, str]:
    stem = os.path.join(folder, f"{index:05d}")
    return {
        "sig": stem + ".sig.npy",
        "bands": stem + ".bands.npy",
        "info": stem + ".info.npz",
        "shingles": stem + ".shingles.u32",
        "shingle_offsets": stem + ".shoff.npy",
        "done": stem + ".json",
    }


def _source_stamp(path: str) -> dict:
    st = os.stat(path)
    return {"path": os.path.abspath(path), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def spill_state(job: SignJob) -> tuple[str, dict | None]:
    """("valid", done) for a finished spill of this shard with these parameters (a resumed run reuses it);
    ("stale", None) when there is none or it was made with other parameters or from another source file (it
    is recomputed, nothing is wrong); ("corrupt", None) when its done file is unreadable or a file is
    missing, truncated or fails its checksum."""
    paths = spill_paths(job.folder, job.index)
    if not os.path.exists(paths["done"]):
        return "stale", None
    try:
        with open(paths["done"], "rb") as f:
            done = orjson.loads(f.read())
    except (OSError, orjson.JSONDecodeError):
        return "corrupt", None
    if not isinstance(done, dict) or not isinstance(done.get("files"), dict):
        return "corrupt", None
    expected = {"params": job.params.digest, "source": _source_stamp(job.path), "job": _job_key(job)}
    if any(done.get(k) != v for k, v in expected.items()):
        return "stale", None
    if set(done["files"]) != {os.path.basename(paths[key]) for key in _spilled(job)}:
        return "corrupt", None
    for name, meta in done["files"].items():
        path = os.path.join(job.folder, name)
        if (
            not isinstance(meta, dict)
            or not os.path.isfile(path)
            or os.path.getsize(path) != meta.get("bytes")
        ):
            return "corrupt", None
        if file_digest(path, algorithm="xxh3_128") != meta.get("xxh3_128"):
            return "corrupt", None
    return "valid", done


def _spilled(job: SignJob) -> tuple[str, ...]:
    return ("sig", "bands", "info") + (("shingles", "shingle_offsets") if job.shingles else ())


def _job_key(job: SignJob) -> dict:
    return {
        "format": SPILL_FORMAT,
        "keep": job.keep,
        "score_field": job.score_field,
        "shingles": job.shingles,
        "families": job.families,
    }


def sign_shard(job: SignJob) -> dict:
    """Compute and spill one shard's signatures, band hashes, shingle counts, keep keys (and shingle sets,
    families), unless a valid spill is there already. Returns counters. Runs in a worker process; everything
    large goes to disk."""
    state, done = spill_state(job)
    if done is not None:
        return {**done["counters"], "reused": 1}
    if state == "corrupt":
        log.warning(
            "dedup: the signature spill of stage shard %d (%s) is damaged (missing file, size or checksum); "
            "recomputing it",
            job.index,
            job.path,
        )
    return {**_compute_spill(job), "corrupt": int(state == "corrupt")}


def _compute_spill(job: SignJob) -> dict:
    started = time.perf_counter()
    params, paths = job.params, spill_paths(job.folder, job.index)
    n = shard_rows(job.path)
    tmp = {k: os.path.join(job.folder, f".{os.path.basename(p)}.tmp") for k, p in paths.items()}
    sig = np.lib.format.open_memmap(tmp["sig"], mode="w+", dtype=np.uint32, shape=(n, params.num_perm))
    bands = np.lib.format.open_memmap(tmp["bands"], mode="w+", dtype=np.uint64, shape=(params.bands, n))
    info = {
        "counts": np.zeros(n, np.int32),
        "short": np.zeros(n, bool),  # fewer words (or characters) than one shingle
        "keys": np.zeros(n, np.float64),
        **({"family": np.zeros(n, np.uint64), "augmented": np.zeros(n, bool)} if job.families else {}),
    }
    sh_offsets = np.zeros(n + 1, np.int64) if job.shingles else None
    sh_file = open(tmp["shingles"], "wb") if job.shingles else None
    columns = ["text"] + (["metadata"] if job.keep == "quality" or job.families else [])
    columns += ["id"] if job.families else []
    row = 0
    try:
        for batch in iter_batches(job.path, columns):
            info["keys"][row : row + batch.num_rows] = keep_keys(batch, job.keep, job.score_field)
            if job.families:
                family, augmented = family_keys(batch.column("id"), batch.column("metadata"))
                info["family"][row : row + batch.num_rows] = family
                info["augmented"][row : row + batch.num_rows] = augmented
            for start, texts in _split_by_bytes(batch.column("text")):
                lo, hi = row + start, row + start + len(texts)
                shingles, per_doc, n_elements = shingle_hashes(
                    texts, params.unit, params.ngram, params.normalize
                )
                signatures = minhash(shingles, per_doc, params)
                sig[lo:hi] = signatures
                bands[:, lo:hi] = band_hashes(signatures, params)
                info["counts"][lo:hi] = per_doc
                info["short"][lo:hi] = (n_elements > 0) & (n_elements < params.ngram)
                if sh_file is not None:
                    values, set_sizes = shingle_sets(shingles, per_doc)
                    sh_file.write(values.tobytes())
                    sh_offsets[lo + 1 : hi + 1] = set_sizes
            row += batch.num_rows
    finally:
        if sh_file is not None:
            sh_file.close()
    sig.flush()
    bands.flush()
    del sig, bands
    with open(tmp["info"], "wb") as f:  # a file object: numpy would otherwise append its own suffix
        np.savez(f, **info)
    if sh_offsets is not None:
        with open(tmp["shingle_offsets"], "wb") as f:
            np.save(f, np.cumsum(sh_offsets))
    files = {}
    for key in _spilled(job):
        # checksum of the complete file, taken before it is moved into place and recorded after
        files[os.path.basename(paths[key])] = {
            "bytes": os.path.getsize(tmp[key]),
            "xxh3_128": file_digest(tmp[key], algorithm="xxh3_128"),
        }
        os.replace(tmp[key], paths[key])
    counts = info["counts"]
    scores = info["keys"] if job.keep == "quality" else np.zeros(0)
    counters = {
        "rows": n,
        "empty": int(np.count_nonzero(counts == 0)),
        "short": int(np.count_nonzero(info["short"])),
        "missing_score": int(np.count_nonzero(np.isnan(scores))),
        "augmented": int(np.count_nonzero(info["augmented"])) if job.families else 0,
        "seconds": time.perf_counter() - started,
    }
    done = {"params": params.digest, "source": _source_stamp(job.path), "job": _job_key(job), "files": files}
    done["counters"] = counters
    with open(tmp["done"], "wb") as f:
        f.write(orjson.dumps(done))
    os.replace(tmp["done"], paths["done"])
    return counters


# --- random access to spilled signatures and shingle sets ---------------------------------------------------


def fresh_map(array: np.ndarray) -> np.ndarray:
    """A new memory map of the file region behind `array` (when it is one), to be dropped after use: pages
    read through a long-lived map stay in this process's resident memory until the whole file is counted
    there (gigabytes at 10M documents); pages read through a short-lived one leave with it."""
    if isinstance(array, np.memmap) and array.filename and array.flags.c_contiguous:
        return np.memmap(array.filename, dtype=array.dtype, mode="r", offset=array.offset, shape=array.shape)
    return array


class RowStore:
    """Rows of per-part arrays addressed by a global document number (parts laid end to end). Memory-mapped
    parts are read through a fresh map each call (fresh_map)."""

    def __init__(self, parts: list[np.ndarray]) -> None:
        self.parts = parts
        self.offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)

    def locate(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        part = np.searchsorted(self.offsets, docs, side="right") - 1
        return part, docs - self.offsets[part]

    def rows(self, docs: np.ndarray) -> np.ndarray:
        part, local = self.locate(np.asarray(docs, dtype=np.int64))
        width = self.parts[0].shape[1] if self.parts and self.parts[0].ndim == 2 else None
        dtype = self.parts[0].dtype if self.parts else np.uint32
        out = np.empty((len(part), width) if width else len(part), dtype=dtype)
        for p, mask in by_part(part):
            out[mask] = fresh_map(self.parts[p])[local[mask]]
        return out


def by_part(part: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(part, positions holding it) for each part present: one sort, not a pass over all positions per part
    (a run has hundreds of stage shards)."""
    order = np.argsort(part, kind="stable")
    sorted_part = part[order]
    starts = np.flatnonzero(np.r_[True, sorted_part[1:] != sorted_part[:-1]]) if part.size else []
    ends = np.r_[starts[1:], part.size] if part.size else []
    return [(int(sorted_part[a]), order[a:b]) for a, b in zip(starts, ends)]


class SetStore:
    """Sorted shingle sets (flat uint32 values + offsets per part) addressed by global document number; the
    values are read through a fresh map each call (fresh_map)."""

    def __init__(self, parts: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.parts = parts
        self.index = RowStore([offsets[:-1] for _, offsets in parts])
        self._sizes: np.ndarray | None = None

    def _spans(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(self.parts) == 1:  # a band's sets in memory (engine.BandSets): no part to look up
            offsets = fresh_map(self.parts[0][1])
            starts = offsets[docs].astype(np.int64)
            return np.zeros(docs.size, np.int64), starts, offsets[docs + 1].astype(np.int64) - starts
        part, local = self.index.locate(docs)
        starts, lengths = np.zeros(docs.size, np.int64), np.zeros(docs.size, np.int64)
        for p, mask in by_part(part):
            offsets = fresh_map(self.parts[p][1])
            starts[mask] = offsets[local[mask]]
            lengths[mask] = offsets[local[mask] + 1] - starts[mask]
        return part, starts, lengths

    def sizes(self, docs: np.ndarray) -> np.ndarray:
        docs = np.asarray(docs, np.int64)
        if self._sizes is None:  # every set's size, 4 bytes a document, read once: no page fault per lookup
            self._sizes = np.empty(int(self.index.offsets[-1]), np.int32)
            for (_, offsets), lo in zip(self.parts, self.index.offsets.tolist()):
                self._sizes[lo : lo + len(offsets) - 1] = np.diff(fresh_map(offsets))
        return self._sizes[docs].astype(np.int64)

    def gather(self, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sets of the given documents, concatenated in their order, and each one's size."""
        part, starts, lengths = self._spans(np.asarray(docs, np.int64))
        out = np.empty(int(lengths.sum()), np.uint32)
        first = np.cumsum(lengths) - lengths
        # GATHER_LIMIT values at a time: the index arrays are 8 bytes per value, twice the values' size
        if len(self.parts) == 1:  # each slice's values are one run of out
            values = fresh_map(self.parts[0][0])
            for lo, hi in chunks(lengths, GATHER_LIMIT):
                index = ragged_index(starts[lo:hi], lengths[lo:hi])
                out[first[lo] : first[lo] + index.size] = values[index]
            return out, lengths
        for lo, hi in chunks(lengths, GATHER_LIMIT):
            for p, mask in by_part(part[lo:hi]):
                mask = mask + lo
                out[ragged_index(first[mask], lengths[mask])] = fresh_map(self.parts[p][0])[
                    ragged_index(starts[mask], lengths[mask])
                ]
        return out, lengths

    def jaccard(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Exact Jaccard of the sets of u[i] and v[i] (0 when either is empty), for every i."""
        u, v = np.asarray(u, np.int64), np.asarray(v, np.int64)
        out = np.zeros(u.size, np.float64)
        for lo, hi in chunks(self.sizes(u) + self.sizes(v), GATHER_LIMIT):
            out[lo:hi] = self._jaccard(u[lo:hi], v[lo:hi])
        return out

    def _jaccard(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        # each pair's two sets side by side in one row of a 2-D block per power-of-two width, rows sorted:
        # both sets are distinct, so every pair of equal neighbours is one shared value (short row sorts
        # are fast; no Python loop per pair)
        a, size_a = self.gather(u)
        b, size_b = self.gather(v)
        start_a, start_b = np.cumsum(size_a) - size_a, np.cumsum(size_b) - size_b
        both = size_a + size_b
        out = np.zeros(size_a.size, np.float64)
        has = (size_a > 0) & (size_b > 0)
        width = np.zeros(size_a.size, np.int64)
        width[has] = 1 << np.ceil(np.log2(both[has])).astype(np.int64)
        for w in np.unique(width[has]).tolist():
            rows = np.flatnonzero(width == w)
            first = np.arange(rows.size) * w
            block = np.full(rows.size * w, 0xFFFFFFFF, np.uint32)  # padding sorts last
            block[ragged_index(first, size_a[rows])] = a[ragged_index(start_a[rows], size_a[rows])]
            block[ragged_index(first + size_a[rows], size_b[rows])] = b[
                ragged_index(start_b[rows], size_b[rows])
            ]
            block = block.reshape(rows.size, w)
            block.sort(axis=1)
            shared = (block[:, 1:] == block[:, :-1]) & (np.arange(1, w) < both[rows, None])
            inter = shared.sum(axis=1)
            out[rows] = inter / (both[rows] - inter)
        return out
