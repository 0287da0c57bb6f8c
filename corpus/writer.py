"""Sharded Parquet / Arrow IPC output with atomic shards.

Each task writes `{prefix}-{rank:05d}-{n:05d}.{ext}`; a shard is written under a hidden temporary name and
renamed only once complete, so a run killed at any point never leaves a half-written shard that a reader
would take for a whole one. Shard names depend on the task rank only, never on the worker that ran it.
"""

from __future__ import annotations

import glob
import os
import re
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep

from corpus.schema import SCHEMA, doc_to_row

EXTENSIONS = {"parquet": "parquet", "arrow": "arrow"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class _Shard:
    def __init__(self, path: str, fmt: str, compression: str, ipc_compression: str | None = None) -> None:
        self.path = path
        self.tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if fmt == "parquet":
            self.writer = pq.ParquetWriter(self.tmp, SCHEMA, compression=compression)
        else:
            self.sink = pa.OSFile(self.tmp, "wb")
            options = ipc.IpcWriteOptions(compression=ipc_compression)
            self.writer = ipc.new_file(self.sink, SCHEMA, options=options)
        self.rows = 0
        self.bytes = 0

    def write(self, rows: list[dict[str, Any]]) -> None:
        self.writer.write_table(pa.Table.from_pylist(rows, schema=SCHEMA))

    def close(self) -> None:
        self.writer.close()
        if hasattr(self, "sink"):
            self.sink.close()
        os.replace(self.tmp, self.path)


class ShardWriter(PipelineStep):
    """Writes the documents it receives to size-bounded shards; with `partition_by_reason`, one dataset per
    drop reason (the rejected output)."""

    name = "write"
    type = "corpus"

    def __init__(
        self,
        folder: str,
        format: str = "parquet",
        max_docs_per_shard: int = 100_000,
        max_bytes_per_shard: int = 256 * 2**20,
        prefix: str = "part",
        partition_by_reason: bool = False,
        batch_rows: int = 1000,
        compression: str = "zstd",
        ipc_compression: str | None = None,  # Arrow IPC buffers: None (mmap-friendly), "lz4" or "zstd"
    ) -> None:
        super().__init__()
        if format not in EXTENSIONS:
            raise ValueError(f"output format must be one of {sorted(EXTENSIONS)}, not {format!r}")
        self.folder, self.format = folder, format
        self.max_docs, self.max_bytes = max_docs_per_shard, max_bytes_per_shard
        self.prefix, self.partition_by_reason = prefix, partition_by_reason
        self.batch_rows, self.compression, self.ipc_compression = batch_rows, compression, ipc_compression
        self._open: dict[str, tuple[_Shard, list[dict[str, Any]]]] = {}
        self._counters: dict[str, int] = {}
        self._cleaned: set[int] = set()

    def __repr__(self) -> str:
        return self.name

    # datatrove's filters call writer.write(doc, rank) inside `with writer:` for rejected documents
    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _partition(self, doc: Document) -> str:
        if not self.partition_by_reason:
            return ""
        return _UNSAFE.sub("_", str(doc.metadata.get("filter_reason") or "unspecified"))

    def _clean_stale(self, rank: int) -> None:
        """Remove temporaries and shards a killed earlier attempt of this task left, so a re-run starts clean."""
        if rank in self._cleaned:
            return
        self._cleaned.add(rank)
        for pattern in (f".{self.prefix}-{rank:05d}-*.tmp", f"{self.prefix}-{rank:05d}-*"):
            for path in glob.glob(os.path.join(self.folder, "**", pattern), recursive=True):
                os.remove(path)

    def write(self, doc: Document, rank: int = 0) -> None:
        self._clean_stale(rank)
        key = self._partition(doc)
        if key not in self._open:
            n = self._counters.get(key, 0)
            self._counters[key] = n + 1
            name = f"{self.prefix}-{rank:05d}-{n:05d}.{EXTENSIONS[self.format]}"
            path = os.path.join(self.folder, key, name) if key else os.path.join(self.folder, name)
            self._open[key] = (_Shard(path, self.format, self.compression, self.ipc_compression), [])
        shard, buffer = self._open[key]
        row = doc_to_row(doc)
        buffer.append(row)
        shard.rows += 1
        shard.bytes += len(row["text"]) + len(row["metadata"]) + 64
        if len(buffer) >= self.batch_rows:
            shard.write(buffer)
            buffer.clear()
        if shard.rows >= self.max_docs or shard.bytes >= self.max_bytes:
            self._close_one(key)

    def _close_one(self, key: str) -> None:
        shard, buffer = self._open.pop(key)
        if buffer:
            shard.write(buffer)
        shard.close()
        self.stat_update("shards")

    def close(self) -> None:
        for key in sorted(self._open):
            self._close_one(key)

    def run(self, data, rank: int = 0, world_size: int = 1):
        self._clean_stale(rank)
        for doc in data:
            with self.track_time():
                self.write(doc, rank)
            self.stat_update("written")
        self.close()
        return
        yield  # a generator that yields nothing: the writer ends the pipeline
