"""Reading a corpus dataset (DATASET/data/*.parquet or *.arrow) as a stream of record batches, in a fixed
order, cut into work units.

A unit is a run of consecutive row groups (Parquet) or record batches (Arrow) of one shard. Units depend only
on the files, never on the number of workers, so the token shards built from them are the same whatever runs
them. Datasets written by corpus have 1,000-row groups; a single huge row group is one unit.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from corpus.errors import InputError

UNIT_ROWS = 2048
UNIT_BYTES = 8 * 2**20
COLUMNS = ("id", "text", "turns")


@dataclass(frozen=True)
class Unit:
    shard: int  # index in the sorted shard list
    index: int  # index of the unit within its shard
    path: str
    groups: tuple[int, ...]  # row groups (Parquet) or record batches (Arrow)

    @property
    def name(self) -> str:
        return f"part-{self.shard:05d}-{self.index:05d}"


def data_folder(dataset_dir: str) -> str:
    data = os.path.join(dataset_dir, "data")
    return data if os.path.isdir(data) else dataset_dir


def list_dataset_shards(dataset_dir: str) -> list[str]:
    if not os.path.isdir(dataset_dir):
        raise InputError(f"dataset not found: {dataset_dir}")
    folder = data_folder(dataset_dir)
    shards = sorted(
        os.path.join(folder, f)
        for f in os.listdir(folder)
        if f.endswith((".parquet", ".arrow")) and not f.startswith(".")
    )
    if not shards:
        raise InputError(f"no Parquet or Arrow shards in {folder}")
    return shards


def _group_sizes(path: str) -> list[tuple[int, int]]:
    """(rows, bytes) of each row group / record batch, read from metadata only."""
    try:
        if path.endswith(".parquet"):
            meta = pq.ParquetFile(path).metadata
            if "text" not in meta.schema.names:
                raise InputError(f"{path} has no 'text' column; is it a corpus dataset?")
            return [
                (meta.row_group(i).num_rows, meta.row_group(i).total_byte_size)
                for i in range(meta.num_row_groups)
            ]
        with pa.memory_map(path) as source:
            reader = ipc.open_file(source)
            if "text" not in reader.schema.names:
                raise InputError(f"{path} has no 'text' column; is it a corpus dataset?")
            sizes = []
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)  # memory-mapped: no data is read
                sizes.append((batch.num_rows, batch.nbytes))
            return sizes
    except (pa.ArrowInvalid, OSError) as err:
        raise InputError(f"{path} is not a readable Parquet/Arrow file: {str(err).splitlines()[0]}") from None


def plan_units(shards: list[str]) -> list[Unit]:
    units = []
    for shard_index, path in enumerate(shards):
        current: list[int] = []
        rows = size = 0
        count = 0
        for group, (group_rows, group_bytes) in enumerate(_group_sizes(path)):
            if current and (rows + group_rows > UNIT_ROWS or size + group_bytes > UNIT_BYTES):
                units.append(Unit(shard_index, count, path, tuple(current)))
                count += 1
                current, rows, size = [], 0, 0
            current.append(group)
            rows += group_rows
            size += group_bytes
        if current:
            units.append(Unit(shard_index, count, path, tuple(current)))
    return units


def read_unit(unit: Unit, batch_size: int = 1024) -> Iterator[pa.RecordBatch]:
    """Record batches of the unit with the columns tokenization needs (missing ones are simply absent)."""
    if unit.path.endswith(".parquet"):
        pf = pq.ParquetFile(unit.path)
        columns = [c for c in COLUMNS if c in pf.schema_arrow.names]
        yield from pf.iter_batches(batch_size=batch_size, row_groups=list(unit.groups), columns=columns)
        return
    with pa.memory_map(unit.path) as source:
        reader = ipc.open_file(source)
        columns = [c for c in COLUMNS if c in reader.schema.names]
        for i in unit.groups:
            yield reader.get_batch(i).select(columns)
