"""Global exact deduplication on a normalized content hash, across every shard and worker of the run."""

from __future__ import annotations

import os
import unicodedata
from multiprocessing import get_context

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash
from datatrove.data import Document

from corpus.global_step import GlobalStep

# what `str.split()` splits on, as bytes: the ASCII whitespace (the others are all non-ASCII)
_ASCII_SPACES = bytes((0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20))
# one bytes.translate: ASCII letters lowered (their casefold) and every ASCII whitespace made a space
_FOLD_ASCII = bytes.maketrans(
    bytes(range(65, 91)) + _ASCII_SPACES, bytes(range(97, 123)) + b" " * len(_ASCII_SPACES)
)
_UTF8_MASKS = np.array([0, 0, 0xFFFF0000, 0xFFFFFF00, 0xFFFFFFFF], dtype=np.uint32)


def _non_ascii_chars(data: np.ndarray) -> set[str]:
    """The distinct non-ASCII characters of UTF-8 bytes, from their lead bytes (no pass in Python)."""
    lead = np.flatnonzero(data >= 0xC0)
    if not len(lead):
        return set()
    padded = np.concatenate((data, np.zeros(3, np.uint8))).astype(np.uint32)
    width = 2 + (data[lead] >= 0xE0) + (data[lead] >= 0xF0)
    packed = (padded[lead] << 24 | padded[lead + 1] << 16 | padded[lead + 2] << 8 | padded[lead + 3]) & (
        _UTF8_MASKS[width]
    )
    return {
        int(code).to_bytes(4, "big").rstrip(b"\0").decode("utf-8", "surrogatepass")
        for code in np.unique(packed)
    }


def normalized_text(text: str) -> bytes:
    """UTF-8 of the text NFKC-normalized, case-folded and whitespace-collapsed (" ".join(t.casefold().split())).
    When every non-ASCII character is one that neither casefold nor split touches (nearly all English pages),
    the folding and collapsing run on the bytes, 4x faster than the str methods."""
    if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    data = text.encode("utf-8", "surrogatepass")
    extra = len(data) - len(text)  # 0 for ASCII, small for a few non-ASCII characters
    if extra * 32 > len(text):  # a non-Latin script: the str methods, no byte pass wasted
        return " ".join(text.casefold().split()).encode("utf-8", "surrogatepass")
    folded = np.frombuffer(data.translate(_FOLD_ASCII), np.uint8)
    if extra and any(ch.isspace() or ch.casefold() != ch for ch in _non_ascii_chars(folded)):
        return " ".join(text.casefold().split()).encode("utf-8", "surrogatepass")
    space = folded == 0x20
    solid = np.flatnonzero(~space)
    if not len(solid):
        return b""
    folded, space = folded[solid[0] : solid[-1] + 1], space[solid[0] : solid[-1] + 1]
    keep = ~space
    keep[1:] |= ~space[:-1]  # of each run of spaces, the first one
    return folded[keep].tobytes()


def content_hash(text: str, normalize: bool = True) -> int:
    """64-bit hash of the text; normalized means NFKC, case-folded and whitespace-collapsed, so copies that
    differ only in spacing or case count as the same document."""
    if normalize:
        return xxhash.xxh3_64_intdigest(normalized_text(text))
    return xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass"))


def _texts(path: str):
    if path.endswith(".parquet"):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096, columns=["id", "text"]):
            yield from zip(batch.column("id").to_pylist(), batch.column("text").to_pylist())
    else:
        with pa.ipc.open_file(path) as reader:
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                yield from zip(batch.column("id").to_pylist(), batch.column("text").to_pylist())


def _hash_shard(args: tuple[str, bool]) -> tuple[np.ndarray, list[str]]:
    path, normalize = args
    ids, hashes = [], []
    for doc_id, text in _texts(path):
        ids.append(doc_id)
        hashes.append(content_hash(text, normalize))
    return np.array(hashes, dtype=np.uint64), ids


class ExactDedup(GlobalStep):
    """Drop every document whose normalized text hash was seen earlier in the run (first copy in shard order
    is kept); each dropped copy records `duplicate_of`, the id of the kept one."""

    name = "exact_dedup"

    def __init__(self, normalize: bool = True) -> None:
        self.normalize = normalize
        self._drops: dict[tuple[int, int], str] = {}

    def resolve(
        self,
        shards: list[str],
        work_dir: str,
        workers: int,
        output_dir: str,
        skip: dict[int, np.ndarray] | None = None,
    ) -> dict:
        first: dict[int, str] = {}
        skip = skip or {}
        drop_shard, drop_row, drop_of = [], [], []
        jobs = [(path, self.normalize) for path in shards]
        # hashing runs in parallel (in this process for one worker: a forked pool costs more than it saves);
        # the merge walks shards in their fixed order, so "first" is stable
        processes = max(1, min(workers, len(jobs) or 1))
        pool = get_context("fork").Pool(processes) if processes > 1 else None
        try:
            hashed = pool.imap(_hash_shard, jobs) if pool else map(_hash_shard, jobs)
            for shard_index, (hashes, ids) in enumerate(hashed):
                skipped = set(skip.get(shard_index, np.zeros(0, np.int64)).tolist())
                for row, (h, doc_id) in enumerate(zip(hashes.tolist(), ids)):
                    if row in skipped:
                        continue
                    if h in first:
                        drop_shard.append(shard_index)
                        drop_row.append(row)
                        drop_of.append(first[h])
                    else:
                        first[h] = doc_id
        finally:
            if pool:
                pool.close()
                pool.join()
        table = pa.table(
            {
                "shard": pa.array(drop_shard, pa.int32()),
                "row": pa.array(drop_row, pa.int64()),
                "duplicate_of": pa.array(drop_of, pa.string()),
            }
        )
        tmp = os.path.join(work_dir, ".drops.parquet.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, os.path.join(work_dir, "drops.parquet"))
        return {"unique_hashes": len(first), "exact_duplicates": len(drop_of)}

    def dropped_rows(self, work_dir: str) -> dict[int, np.ndarray]:
        table = pq.read_table(os.path.join(work_dir, "drops.parquet"), columns=["shard", "row"])
        shards, rows = table["shard"].to_numpy(), table["row"].to_numpy()
        return {int(s): np.sort(rows[shards == s]) for s in np.unique(shards)}

    def load(self, work_dir: str) -> None:
        table = pq.read_table(os.path.join(work_dir, "drops.parquet"))
        self._drops = {
            (s, r): d
            for s, r, d in zip(
                table["shard"].to_pylist(), table["row"].to_pylist(), table["duplicate_of"].to_pylist()
            )
        }

    def apply(self, doc: Document) -> bool | str | None:
        kept = self._drops.get((doc.metadata["_shard"], doc.metadata["_row"]))
        if kept is None:
            return True
        doc.metadata["duplicate_of"] = kept
        return "exact_duplicate"
