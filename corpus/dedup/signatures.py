"""MinHash signatures and LSH band hashes for batches of texts, and the per-shard pass that spills them to disk.

Signatures equal datasketch's: `MinHash(num_perm, seed=hash_seed, scheme="affine32", hashfunc=lambda x: x)`
updated with the low 32 bits of each shingle hash gives the same hashvalues (checked in tests). They are
computed permutation by permutation over the whole batch (one multiply, one add and one segmented minimum
per permutation), which numpy vectorizes well.
"""

from __future__ import annotations

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
from corpus.dedup.shingles import GOLDEN, fmix64, shingle_hashes

U32 = np.uint32
EMPTY = np.uint32(0xFFFFFFFF)  # datasketch's value for a permutation that saw no shingle
BATCH_ROWS = 1024
BATCH_BYTES = 16 * 2**20


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


def sorted_unique_rows(shingles: np.ndarray, per_doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-document sorted sets of shingle hashes, as flat values + per-document counts (for exact Jaccard)."""
    doc = np.repeat(np.arange(per_doc.size), per_doc)
    order = np.lexsort((shingles, doc))
    values, doc = shingles[order], doc[order]
    keep = np.ones(values.size, bool)
    keep[1:] = (values[1:] != values[:-1]) | (doc[1:] != doc[:-1])
    return values[keep], np.bincount(doc[keep], minlength=per_doc.size).astype(np.int64)


# --- reading stage shards ----------------------------------------------------------------------------------


def shard_rows(path: str) -> int:
    if path.endswith(".parquet"):
        return pq.ParquetFile(path).metadata.num_rows
    with ipc.open_file(path) as reader:
        return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))


def iter_batches(path: str, columns: list[str]) -> Iterator[pa.RecordBatch]:
    """The shard's rows in order, in batches of at most BATCH_ROWS rows."""
    if path.endswith(".parquet"):
        yield from pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=columns)
        return
    with ipc.open_file(path) as reader:
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


def spill_paths(folder: str, index: int) -> dict[str, str]:
    stem = os.path.join(folder, f"{index:05d}")
    return {
        "sig": stem + ".sig.npy",
        "bands": stem + ".bands.npy",
        "info": stem + ".info.npz",
        "shingles": stem + ".shingles.u64",
        "shingle_offsets": stem + ".shoff.npy",
        "done": stem + ".json",
    }


def _source_stamp(path: str) -> dict:
    st = os.stat(path)
    return {"path": os.path.abspath(path), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def spill_is_valid(job: SignJob) -> bool:
    """A finished spill of this shard with these parameters (a resumed run reuses it); anything else (other
    parameters, other source file, missing or truncated files) is recomputed."""
    paths = spill_paths(job.folder, job.index)
    try:
        done = orjson.loads(open(paths["done"], "rb").read())
    except (OSError, orjson.JSONDecodeError):
        return False
    expected = {"params": job.params.digest, "source": _source_stamp(job.path), "job": _job_key(job)}
    if any(done.get(k) != v for k, v in expected.items()):
        return False
    return all(os.path.exists(p) and os.path.getsize(p) == size for p, size in done.get("files", {}).items())


def _job_key(job: SignJob) -> dict:
    return {"keep": job.keep, "score_field": job.score_field, "shingles": job.shingles}


def sign_shard(job: SignJob) -> dict:
    """Compute and spill one shard's signatures, band hashes, shingle counts, keep keys (and shingle sets).
    Returns counters. Runs in a worker process; everything large goes to disk."""
    started = time.perf_counter()
    if spill_is_valid(job):
        done = orjson.loads(open(spill_paths(job.folder, job.index)["done"], "rb").read())
        return {**done["counters"], "reused": 1}
    params, paths = job.params, spill_paths(job.folder, job.index)
    n = shard_rows(job.path)
    tmp = {k: os.path.join(job.folder, f".{os.path.basename(p)}.tmp") for k, p in paths.items()}
    sig = np.lib.format.open_memmap(tmp["sig"], mode="w+", dtype=np.uint32, shape=(n, params.num_perm))
    bands = np.lib.format.open_memmap(tmp["bands"], mode="w+", dtype=np.uint64, shape=(params.bands, n))
    counts = np.zeros(n, np.int32)
    elements = np.zeros(n, np.int64)
    keys = np.zeros(n, np.float64)
    sh_offsets = np.zeros(n + 1, np.int64) if job.shingles else None
    sh_file = open(tmp["shingles"], "wb") if job.shingles else None
    columns = ["text"] + (["metadata"] if job.keep == "quality" else [])
    row = 0
    try:
        for batch in iter_batches(job.path, columns):
            keys[row : row + batch.num_rows] = keep_keys(batch, job.keep, job.score_field)
            for start, texts in _split_by_bytes(batch.column("text")):
                lo, hi = row + start, row + start + len(texts)
                shingles, per_doc, n_elements = shingle_hashes(texts, params.unit, params.ngram)
                signatures = minhash(shingles, per_doc, params)
                sig[lo:hi] = signatures
                bands[:, lo:hi] = band_hashes(signatures, params)
                counts[lo:hi], elements[lo:hi] = per_doc, n_elements
                if sh_file is not None:
                    values, set_sizes = sorted_unique_rows(shingles, per_doc)
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
        np.savez(f, counts=counts, keys=keys)
    if sh_offsets is not None:
        with open(tmp["shingle_offsets"], "wb") as f:
            np.save(f, np.cumsum(sh_offsets))
    files = {}
    for key in ("sig", "bands", "info") + (("shingles", "shingle_offsets") if job.shingles else ()):
        os.replace(tmp[key], paths[key])
        files[paths[key]] = os.path.getsize(paths[key])
    scores = keys if job.keep == "quality" else np.zeros(0)
    counters = {
        "rows": n,
        "empty": int(np.count_nonzero(counts == 0)),
        "short": int(np.count_nonzero((elements > 0) & (elements < params.ngram))),
        "missing_score": int(np.count_nonzero(np.isnan(scores))),
        "seconds": time.perf_counter() - started,
    }
    done = {"params": params.digest, "source": _source_stamp(job.path), "job": _job_key(job), "files": files}
    done["counters"] = counters
    with open(tmp["done"], "wb") as f:
        f.write(orjson.dumps(done))
    os.replace(tmp["done"], paths["done"])
    return counters


# --- random access to spilled signatures and shingle sets ---------------------------------------------------


class RowStore:
    """Rows of per-part arrays addressed by a global document number (parts laid end to end)."""

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
        for p in np.unique(part):
            mask = part == p
            out[mask] = self.parts[p][local[mask]]
        return out


class SetStore:
    """Sorted shingle sets (flat values + offsets per part) addressed by global document number."""

    def __init__(self, parts: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.parts = parts
        self.index = RowStore([offsets[:-1] for _, offsets in parts])

    def get(self, doc: int) -> np.ndarray:
        part, local = self.index.locate(np.array([doc], dtype=np.int64))
        values, offsets = self.parts[int(part[0])]
        return values[offsets[local[0]] : offsets[local[0] + 1]]

    def jaccard(self, u: int, v: int) -> float:
        a, b = self.get(u), self.get(v)
        if not a.size or not b.size:
            return 0.0
        if a.size > b.size:
            a, b = b, a
        where = np.minimum(np.searchsorted(b, a), b.size - 1)
        inter = int(np.count_nonzero(b[where] == a))
        return inter / (a.size + b.size - inter)
