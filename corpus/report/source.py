"""Finding what a report reads: the data shards, rejected shards by reason, the duplicates audit, stats.json
and manifest.json of a dataset directory, or just the Parquet/Arrow files of a plain folder or one file.

Nothing here reads document text: shard footers give row counts and sizes, which decide the sampling before
the one pass over the text. A shard whose footer cannot be read is left out and named, never fatal.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from corpus.errors import InputError

PARQUET_EXT = (".parquet",)
ARROW_EXT = (".arrow", ".ipc", ".feather")
SHARD_EXT = PARQUET_EXT + ARROW_EXT
# folders of a dataset directory that are not its documents
NOT_DATA = {"rejected", "duplicates", "report", "reports", ".corpus"}
COLUMNS = ("id", "text", "source", "url", "metadata", "turns")


@dataclass
class Shard:
    path: str
    rows: int
    file_bytes: int
    text_bytes: int  # uncompressed size of the text column (an estimate for Arrow files: the file size)
    columns: tuple[str, ...]


@dataclass
class ShardSet:
    shards: list[Shard] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, why)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.shards)

    @property
    def file_bytes(self) -> int:
        return sum(s.file_bytes for s in self.shards)

    @property
    def text_bytes(self) -> int:
        return sum(s.text_bytes for s in self.shards)

    def columns(self) -> set[str]:
        return set().union(*(s.columns for s in self.shards)) if self.shards else set()


@dataclass
class Dataset:
    path: str
    name: str
    layout: str  # "corpus" (a run's output), "folder" (shards only) or "file"
    data: ShardSet
    rejected: dict[str, ShardSet]
    duplicates: ShardSet
    stats: dict[str, Any] | None
    manifest: dict[str, Any] | None
    problems: list[str]


def _is_shard(name: str) -> bool:
    return name.endswith(SHARD_EXT) and not name.startswith(".")


def _list_flat(folder: str) -> list[str]:
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if _is_shard(f))


def _list_recursive(folder: str, skip: set[str] = frozenset()) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in skip)
        found += [os.path.join(root, f) for f in files if _is_shard(f)]
    return sorted(found)


def _inspect(path: str) -> Shard:
    size = os.path.getsize(path)
    if path.endswith(PARQUET_EXT):
        meta = pq.read_metadata(path)
        names = tuple(meta.schema.to_arrow_schema().names)
        text_bytes = 0
        for i in range(meta.num_row_groups):
            group = meta.row_group(i)
            for j in range(group.num_columns):
                if group.column(j).path_in_schema == "text":
                    text_bytes += group.column(j).total_uncompressed_size
        return Shard(path, meta.num_rows, size, text_bytes, names)
    with pa.memory_map(path) as source:
        reader = ipc.open_file(source)
        rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
        return Shard(path, rows, size, size, tuple(reader.schema.names))


def inspect_shards(paths: list[str], require_text: bool = True) -> ShardSet:
    out = ShardSet()
    for path in paths:
        try:
            shard = _inspect(path)
        except (OSError, pa.ArrowException) as err:
            out.unreadable.append(
                (path, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
            )
            continue
        if require_text and "text" not in shard.columns:
            out.unreadable.append((path, "no 'text' column"))
            continue
        out.shards.append(shard)
    return out


def _read_json(path: str, problems: list[str]) -> dict[str, Any] | None:
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as err:
        problems.append(
            f"{os.path.basename(path)} unreadable ({type(err).__name__}); its numbers are left out"
        )
        return None
    if not isinstance(data, dict):
        problems.append(f"{os.path.basename(path)} is not a JSON object; left out")
        return None
    return data


def open_dataset(path: str) -> Dataset:
    """Everything a report needs to know about the dataset at `path`, without reading any text."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InputError(f"dataset not found: {path}")
    name = os.path.basename(os.path.normpath(os.path.abspath(path))) or path
    problems: list[str] = []
    if os.path.isfile(path):
        if not _is_shard(os.path.basename(path)):
            raise InputError(f"{path} is not a Parquet or Arrow file or a dataset directory")
        data = inspect_shards([path])
        if not data.shards:
            raise InputError(f"{path}: {data.unreadable[0][1]}")
        return Dataset(path, name, "file", data, {}, ShardSet(), None, None, problems)

    stats = _read_json(os.path.join(path, "stats.json"), problems)
    manifest = _read_json(os.path.join(path, "manifest.json"), problems)
    rejected_dir = os.path.join(path, "rejected")
    rejected = {}
    if os.path.isdir(rejected_dir):
        for reason in sorted(os.listdir(rejected_dir)):
            files = _list_recursive(os.path.join(rejected_dir, reason))
            if files:
                rejected[reason] = inspect_shards(files)
    duplicates = inspect_shards(_list_recursive(os.path.join(path, "duplicates")), require_text=False)
    if os.path.isdir(os.path.join(path, "data")):
        layout, files = "corpus", _list_recursive(os.path.join(path, "data"))
    else:
        files = _list_flat(path) or _list_recursive(path, skip=NOT_DATA)
        layout = "corpus" if (stats or manifest or rejected) else "folder"
    data = inspect_shards(files)
    if not data.shards and not data.unreadable and not rejected and stats is None:
        raise InputError(f"no Parquet or Arrow shards in {path} (nor stats.json or rejected/)")
    return Dataset(path, name, layout, data, rejected, duplicates, stats, manifest, problems)


def scan(shards: list[Shard], columns: list[str] | None = None) -> pl.LazyFrame:
    """One lazy frame over the shards, in their sorted order, with every column of COLUMNS present
    (missing ones as nulls) so that the same expressions work on a plain folder of text-only files."""
    parts = []
    for is_parquet in (True, False):
        paths = [s.path for s in shards if s.path.endswith(PARQUET_EXT) == is_parquet]
        if not paths:
            continue
        if is_parquet:
            try:
                lf = pl.scan_parquet(paths, glob=False, missing_columns="insert", extra_columns="ignore")
            except TypeError:  # polars before the missing_columns option
                lf = pl.scan_parquet(paths, glob=False, allow_missing_columns=True)
        else:
            lf = pl.scan_ipc(paths, glob=False)
        parts.append(_conform(lf, columns))
    if not parts:
        return _conform(pl.LazyFrame(schema={"text": pl.String}), columns)
    return parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical_relaxed")


TURNS = pl.List(pl.Struct({"role": pl.String, "content": pl.String}))


def _conform(lf: pl.LazyFrame, columns: list[str] | None) -> pl.LazyFrame:
    schema = lf.collect_schema()
    wanted = columns or list(COLUMNS)
    exprs = []
    for name in wanted:
        if name == "turns":
            # only the number of turns is read; any other type (a JSON string, say) counts as no conversation
            present = name in schema and isinstance(schema[name], pl.List)
            exprs.append(pl.col(name) if present else pl.lit(None, dtype=TURNS).alias(name))
        elif name in schema:
            exprs.append(pl.col(name).cast(pl.String))
        else:
            exprs.append(pl.lit(None, dtype=pl.String).alias(name))
    return lf.select(exprs)


def sample_stride(rows: int, text_bytes: int, sample_rows: int, sample_bytes: int) -> int:
    """Every k-th document goes into the text sample: k keeps it under both the row and the byte budget."""
    if rows <= 0:
        return 1
    return max(1, math.ceil(rows / max(1, sample_rows)), math.ceil(text_bytes / max(1, sample_bytes)))
