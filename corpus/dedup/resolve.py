"""Entry points used by the `dedup` step: `resolve` (whole run, main process) and `Decisions` (per document, in
the next stage's workers)."""

from __future__ import annotations

import os
import time

import numpy as np
import pyarrow as pa
from datatrove.data import Document

from corpus.dedup.audit import write_audit
from corpus.dedup.engine import (
    DECISIONS_DIR,
    Candidates,
    Clusters,
    Corpus,
    DedupConfig,
    build_clusters,
    cluster_id,
    cluster_names,
    compute_signatures,
    fetch_ids,
    open_corpus,
    write_decisions,
)
from corpus.dedup.index import IndexWriter
from corpus.dedup.per_shard import read_all, read_shard
from corpus.dedup.shingles import string_hashes
from corpus.dedup.signatures import fresh_map, iter_batches


def resolve(
    config: DedupConfig,
    shards: list[str],
    work_dir: str,
    workers: int,
    output_dir: str,
    skip: dict[int, np.ndarray] | None = None,
) -> dict:
    """`skip`: rows (per shard) that an earlier global step drops; they are never clustered. Their
    signatures are still computed, so that a spill does not depend on the steps before this one."""
    started = time.perf_counter()
    folder = os.path.join(work_dir, "signatures")
    sign = compute_signatures(config, shards, folder, workers)
    corpus = open_corpus(config, shards, folder, skip)
    candidates = Candidates(corpus, config)
    labels = candidates.run()
    clusters = build_clusters(labels, corpus, config.keep)
    del labels

    sorted_docs = np.sort(clusters.members)
    ids_sorted = fetch_ids(corpus, sorted_docs)
    member_ids = ids_sorted.take(pa.array(np.searchsorted(sorted_docs, clusters.members)))
    names = cluster_names(clusters, corpus, member_ids)
    kept_ids = ids_sorted.take(pa.array(np.searchsorted(sorted_docs, clusters.kept))).to_pylist()
    write_decisions(work_dir, corpus, clusters, names, kept_ids)
    exact = config.verify == "exact"
    audit_dir = os.path.join(output_dir, "duplicates")
    write_audit(audit_dir, corpus, clusters, names, member_ids, exact, candidates.measured)
    if config.save_index:
        save_index(config, corpus, clusters, names, os.path.abspath(output_dir))

    new_members = clusters.members < corpus.new
    dropped = new_members & (clusters.members != clusters.kept[clusters.cluster_of])
    from_index = dropped & clusters.previous[clusters.cluster_of]
    params = config.params
    skipped = sum(len(rows) for rows in (skip or {}).values())
    return {
        "documents": int(corpus.new) - skipped,
        "empty_documents": corpus.bad_input["empty"],
        "short_documents": corpus.bad_input["short"],
        "missing_score": corpus.bad_input["missing_score"],
        "index_documents": int(corpus.total - corpus.new),
        "signature_docs_per_s": round(corpus.new / max(sign["wall_seconds"], 1e-9), 1),
        "signature_seconds": round(sign["wall_seconds"], 3),
        "reused_signature_shards": sign["reused"],
        "corrupt_signature_shards": sign["corrupt"],
        **candidates.counts,
        "clusters": int(clusters.starts.size),
        "clustered_documents": int(np.count_nonzero(new_members)),
        "duplicates_removed": int(np.count_nonzero(dropped)),
        "duplicates_of_index": int(np.count_nonzero(from_index)),
        "augmented_documents": sign["augmented"],
        "augmented_kept_apart": clusters.family_apart,
        "num_perm": params.num_perm,
        "bands": params.bands,
        "rows": params.rows,
        "resolve_seconds": round(time.perf_counter() - started, 3),
    }


def save_index(config: DedupConfig, corpus: Corpus, clusters: Clusters, names: list[str], run: str) -> None:
    """The index of this run's kept documents (every non-empty document not dropped), with cluster ids."""
    dropped_docs = np.sort(clusters.members[clusters.members != clusters.kept[clusters.cluster_of]])
    new_members = clusters.members < corpus.new
    member_docs = clusters.members[new_members]
    member_order = np.argsort(member_docs)
    member_docs = member_docs[member_order]
    member_names = (
        np.array(names, dtype=object)[clusters.cluster_of[new_members][member_order]] if names else []
    )
    keep = corpus.valid[: corpus.new].copy()
    keep[dropped_docs[dropped_docs < corpus.new]] = False
    exact = config.verify == "exact"
    writer = IndexWriter(config.save_index, config.params, int(np.count_nonzero(keep)), exact)
    for shard, path in enumerate(corpus.shards):
        lo, hi = int(corpus.offsets[shard]), int(corpus.offsets[shard + 1])
        docs = lo + np.flatnonzero(keep[lo:hi])
        if not docs.size:
            continue
        ids = pa.concat_arrays([b.column("id") for b in iter_batches(path, ["id"])]).take(pa.array(docs - lo))
        where = np.searchsorted(member_docs, docs)
        clustered = np.isin(docs, member_docs)
        own = [member_names[w] if c else cluster_id(i) for w, c, i in zip(where, clustered, ids.to_pylist())]
        if corpus.family is not None and corpus.augmented is not None:
            family, augmented = corpus.family[docs], corpus.augmented[docs]
        else:  # no augmented copy in the run (or not told apart): every document is its own family
            family, augmented = string_hashes(ids), np.zeros(docs.size, bool)
        writer.add(
            corpus.signatures.rows(docs),
            np.asarray(fresh_map(corpus.band_parts[shard]))[:, docs - lo],
            ids,
            pa.array(own, pa.string()),
            family,
            augmented,
            corpus.sets.gather(docs) if exact and corpus.sets else None,
        )
    writer.close(run)


class Decisions:
    """What resolve decided, read a stage shard at a time (decisions/NNNNN.pq, clustered documents only): a
    worker task loads the decisions of the shard it reads, not the whole run's."""

    def __init__(self, work_dir: str) -> None:
        self.work_dir = work_dir
        self._shard: int | None = None
        self._rows: dict[int, tuple[str, bool, str, bool]] = {}

    def dropped_rows(self) -> dict[int, np.ndarray]:
        out = {}
        for shard, table in read_all(os.path.join(self.work_dir, DECISIONS_DIR), ["row", "kept"]):
            rows = table["row"].to_numpy()[~table["kept"].to_numpy(zero_copy_only=False)]
            if rows.size:
                out[shard] = rows
        return out

    def _load(self, shard: int) -> None:
        table = read_shard(os.path.join(self.work_dir, DECISIONS_DIR), shard)
        self._rows = {}
        if table is not None:
            columns = [table[c].to_pylist() for c in ("row", "cluster_id", "kept", "kept_id", "previous")]
            self._rows = {row: rest for row, *rest in zip(*columns)}
        self._shard = shard

    def apply(self, doc: Document) -> bool | str:
        shard = doc.metadata["_shard"]
        if shard != self._shard:
            self._load(shard)
        decision = self._rows.get(doc.metadata["_row"])
        if decision is None:
            doc.metadata["dedup_cluster"] = cluster_id(doc.id)
            doc.metadata["dedup_kept"] = True
            return True
        name, kept, kept_id, previous = decision
        doc.metadata["dedup_cluster"] = name
        doc.metadata["dedup_kept"] = kept
        if kept:
            return True
        doc.metadata["duplicate_of"] = kept_id
        return "near_duplicate_of_index" if previous else "near_duplicate"
