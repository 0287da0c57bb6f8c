"""The duplicates dataset (output_dir/duplicates/part-NNNNN.parquet): one row per cluster of two or more
documents, so a user can see what was removed and why:

    cluster_id, size, kept_id, kept_from_index,
    member_ids (this run's members in shard/row order, then index members),
    member_from_index, estimated_jaccard (each member against the kept document, from signatures; 1.0 for the
    kept one), true_jaccard (the same with exact shingle sets; null unless verify: exact)
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from corpus.dedup.engine import (
    AUDIT_CLUSTERS_PER_FILE,
    AUDIT_SCHEMA,
    Clusters,
    Corpus,
    PairValues,
    estimated_jaccard,
    true_jaccard,
)


def write_audit(
    folder: str,
    corpus: Corpus,
    clusters: Clusters,
    names: list[str],
    member_ids: pa.Array,
    exact: bool,
    measured: PairValues | None = None,
) -> int:
    """Write the duplicates dataset; returns the number of files. Old part files of an earlier attempt are
    removed first so the folder only ever holds this run's clusters. `measured`: exact Jaccard values the
    verification already has."""
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.startswith("part-") or name.startswith(".part-"):
            os.remove(os.path.join(folder, name))
    count = clusters.starts.size
    kept_of_member = clusters.kept[clusters.cluster_of]
    ends = np.r_[clusters.starts[1:], clusters.members.size].astype(np.int64)
    files = 0
    for lo in range(0, max(count, 1), AUDIT_CLUSTERS_PER_FILE):
        hi = min(count, lo + AUDIT_CLUSTERS_PER_FILE)
        a, b = (int(clusters.starts[lo]), int(ends[hi - 1])) if hi > lo else (0, 0)
        members = clusters.members[a:b]
        estimate = estimated_jaccard(corpus, members, kept_of_member[a:b]).astype(np.float32)
        truth = (
            true_jaccard(corpus, members, kept_of_member[a:b], measured).astype(np.float32) if exact else None
        )
        offsets = pa.array((clusters.starts[lo:hi] - a).tolist() + [b - a], pa.int32())
        ids = member_ids.slice(a, b - a)
        kept_ids = ids.take(pa.array(np.flatnonzero(members == kept_of_member[a:b])))  # one per cluster
        table = pa.table(
            {
                "cluster_id": pa.array(names[lo:hi], pa.string()),
                "size": pa.array((ends[lo:hi] - clusters.starts[lo:hi]).tolist(), pa.int64()),
                "kept_id": kept_ids,
                "kept_from_index": pa.array(clusters.previous[lo:hi]),
                "member_ids": pa.ListArray.from_arrays(offsets, ids),
                "member_from_index": pa.ListArray.from_arrays(offsets, pa.array(members >= corpus.new)),
                "estimated_jaccard": pa.ListArray.from_arrays(offsets, pa.array(estimate)),
                "true_jaccard": pa.ListArray.from_arrays(offsets, pa.array(truth))
                if truth is not None
                else pa.nulls(hi - lo, AUDIT_SCHEMA.field("true_jaccard").type),
            },
            schema=AUDIT_SCHEMA,
        )
        path = os.path.join(folder, f"part-{files:05d}.parquet")
        tmp = os.path.join(folder, f".part-{files:05d}.parquet.tmp")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
        files += 1
    return files
