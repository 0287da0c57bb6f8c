"""A global step's decisions as one small file per stage shard (FOLDER/NNNNN.pq), for the shards that have
any: a worker task reads the file of the shard it is on only, so loading costs what the run's decisions
cost in all, whatever the number of shards. Parquet, but not named *.parquet: a user's glob
OUT/**/*.parquet must not pick up internal files."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def shard_file(folder: str, shard: int) -> str:
    return os.path.join(folder, f"{shard:05d}.pq")


def write_per_shard(folder: str, shard_of: np.ndarray, table: pa.Table) -> None:
    """Write each run of equal `shard_of` (ascending, one per row of `table`) as that shard's file."""
    shutil.rmtree(
        folder, ignore_errors=True
    )  # an interrupted attempt's files: this one writes them all again
    os.makedirs(folder)
    bounds = np.flatnonzero(np.r_[True, shard_of[1:] != shard_of[:-1], True]) if shard_of.size else [0]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        shard = int(shard_of[lo])
        tmp = os.path.join(folder, f".{shard:05d}.pq.tmp")
        pq.write_table(table.slice(lo, hi - lo), tmp)
        os.replace(tmp, shard_file(folder, shard))


def read_shard(folder: str, shard: int) -> pa.Table | None:
    """One shard's decisions, None where it has none."""
    path = shard_file(folder, shard)
    return pq.ParquetFile(path).read() if os.path.exists(path) else None  # ParquetFile: no pyarrow.dataset


def read_all(folder: str, columns: list[str]) -> Iterator[tuple[int, pa.Table]]:
    """(shard, its decisions) for every shard with a file, in shard order."""
    for name in sorted(os.listdir(folder)):
        if name.endswith(".pq"):
            yield int(name[: -len(".pq")]), pq.ParquetFile(os.path.join(folder, name)).read(columns=columns)
