"""The `dedup` step: global near-duplicate removal with MinHash LSH, across every shard and worker of the run."""

from __future__ import annotations

import inspect
import os
from dataclasses import replace
from typing import Any

import numpy as np
from datatrove.data import Document

from corpus.dedup.engine import KEEP_POLICIES, VERIFY_MODES, DedupConfig
from corpus.dedup.index import check_index, read_header
from corpus.dedup.params import MinHashParams, resolve_params
from corpus.errors import InputError, RecipeError
from corpus.global_step import GlobalStep


class Dedup(GlobalStep):
    """Drop near-duplicates found with MinHash LSH (signatures equal datasketch's), keeping one document per
    cluster; every document gets metadata dedup_cluster and dedup_kept, dropped ones duplicate_of.

    Shingles: `unit` word (default) or char n-grams of `ngram` (5). With `normalize: default` the text is
    lower-cased and punctuation is stripped first: words are runs of letters and digits (so "Don't STOP!"
    gives don, t, stop), characters have each whitespace run made one space. `normalize: none` shingles the
    raw text, for comparing with tools that use raw tokens: words are exactly `text.split()` (case and
    punctuation kept), characters every code point as it is (see corpus/dedup/shingles.py).
    Banding: `bands` x `rows` (both or neither; default FineWeb's 14 x 8 over `num_perm` 112), or chosen for
    `threshold` (the sharpest banding that still catches a pair at the threshold with probability >= 0.95).
    `verify`: exact (default: the Jaccard of the two documents' sets of shingle hashes, 32 bits each, must be
    >= threshold), estimate (signature-estimated Jaccard >= threshold) or none (any shared band makes a
    duplicate, like FineWeb: faster, but pairs well below the threshold get merged too); threshold defaults
    to 0.8 for verification. A bucket's members that fail against its first document are compared with the
    first of them, and so on until none is left (no cap; counter verify_rounds is the longest such peel;
    with verify: exact, past 4 rounds only pairs whose rarest shingles overlap are compared, which any pair
    at the threshold does, so time and memory stay linear in the documents). `keep`: first (in shard/row order), longest (most characters) or quality (highest
    metadata[`score_field`], dotted paths allowed; documents without a numeric score rank last, counted as
    missing_score); ties go to the first. Incremental: `save_index` writes this run's kept documents to a
    folder (with shingle sets when verify is exact); `against_index` (a folder or a list of them) drops
    documents that duplicate an earlier run's (reason near_duplicate_of_index; the earlier run is not
    changed). A relative save_index or against_index is a path inside the run's output folder (e.g.
    `save_index: index` writes OUTPUT/index; `against_index: ../run1/index` reads a sibling run's), not the
    current directory (`corpus dedup --save-index/--against-index` take paths from the current directory,
    like any command-line path). Mismatched or corrupt indexes (checksums included) are refused before the
    run starts (given as relative paths, when the dedup pass starts, before anything is decided).

    Augmented copies (metadata augmented: true, augmentation.source_id, as the augment step writes them):
    with `spare_augmented` (default), a copy is never clustered with, so never dropped as a duplicate of,
    its own source document or a sibling copy of the same source_id; it is still deduplicated against every
    other document. When a cluster reaches a copy's source only through other documents, the members of the
    kept document's family leave the cluster and are kept (counted as augmented_kept_apart); the others stay
    duplicates of the kept one. spare_augmented: false treats copies like any other document.

    Bad input rule: a document with no word (or no character) after normalization, e.g. empty or only
    punctuation, is never clustered: it is kept as its own cluster and counted as empty_documents (drop it
    with a length filter or exact_dedup). A document shorter than one shingle (fewer than `ngram` words) is
    one shingle made of all its words, so it matches only a document with the same normalized words; counted
    as short_documents. Documents an earlier exact_dedup drops are not in these counts. The duplicates
    dataset (output/duplicates/) lists every cluster with its members, kept id and estimated (and, with
    verify: exact, true) Jaccard against the kept document. A resumed run reuses the signature spills of an
    interrupted one only when their checksums match (damaged ones are recomputed, counted as
    corrupt_signature_shards)."""

    name = "dedup"

    def __init__(
        self,
        unit: str = "word",
        ngram: int = 5,
        num_perm: int | None = None,
        bands: int | None = None,
        rows: int | None = None,
        threshold: float | None = None,
        verify: str = "exact",
        keep: str = "first",
        score_field: str = "",
        save_index: str | None = None,
        against_index: str | list | None = None,
        hash_seed: int = 1,
        spare_augmented: bool = True,
        normalize: str = "default",
    ) -> None:
        params = self.validate_options(dict(locals()))
        against = [against_index] if isinstance(against_index, str) else list(against_index or [])
        self.config = DedupConfig(
            params=params,
            threshold=None if threshold is None else float(threshold),
            verify=verify,
            keep=keep,
            score_field=score_field,
            save_index=save_index,  # relative paths: inside the output folder, made absolute by resolve()
            against=against,
            spare_augmented=bool(spare_augmented),
        )
        self._decisions = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_decisions"] = None  # loaded again in each worker
        return state

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> MinHashParams:
        """Checks before the run starts (also refuses an unusable saved index); returns the parameters."""
        defaults = {
            k: p.default for k, p in inspect.signature(cls.__init__).parameters.items() if k != "self"
        }
        o = {**defaults, **{k: v for k, v in options.items() if k in defaults}}
        params = resolve_params(
            o["unit"],
            o["ngram"],
            o["num_perm"],
            o["bands"],
            o["rows"],
            o["threshold"],
            o["hash_seed"],
            o["normalize"],
        )
        if o["verify"] not in VERIFY_MODES:
            raise RecipeError(
                f"step 'dedup': verify must be one of {', '.join(VERIFY_MODES)}, got {o['verify']!r}"
            )
        if o["keep"] not in KEEP_POLICIES:
            raise RecipeError(
                f"step 'dedup': keep must be one of {', '.join(KEEP_POLICIES)}, got {o['keep']!r}"
            )
        if o["keep"] == "quality" and not o["score_field"]:
            raise RecipeError("step 'dedup': keep: quality needs score_field (the metadata field to rank by)")
        against = o["against_index"]
        against = [against] if isinstance(against, str) else list(against or [])
        if not all(isinstance(p, str) and p for p in against):
            raise RecipeError("step 'dedup': against_index must be a folder path or a list of them")
        if o["save_index"] is not None and not (isinstance(o["save_index"], str) and o["save_index"]):
            raise RecipeError("step 'dedup': save_index must be a folder path")
        # absolute paths are checked now, before any output is written; relative ones lie inside the output
        # folder, which is not known here: resolve() checks them the same way before deciding anything
        check_index_paths(params, o["verify"], o["save_index"], against, absolute_only=True)
        return params

    def resolve(
        self,
        shards: list[str],
        work_dir: str,
        workers: int,
        output_dir: str,
        skip: dict[int, np.ndarray] | None = None,
    ) -> dict:
        from corpus.dedup.resolve import resolve

        config = in_output_folder(self.config, output_dir)
        check_index_paths(config.params, config.verify, config.save_index, config.against)
        return resolve(config, shards, work_dir, workers, output_dir, skip)

    def dropped_rows(self, work_dir: str) -> dict[int, np.ndarray]:
        from corpus.dedup.resolve import Decisions

        return Decisions(work_dir).dropped_rows()

    def load(self, work_dir: str) -> None:
        from corpus.dedup.resolve import Decisions

        self._decisions = Decisions(work_dir)

    def apply(self, doc: Document) -> bool | str | None:
        assert self._decisions is not None, "load() must run before apply()"
        return self._decisions.apply(doc)


def in_output_folder(config: DedupConfig, output_dir: str) -> DedupConfig:
    """The config with a relative save_index and against_index made paths inside the output folder."""
    base = os.path.abspath(output_dir)

    def place(path: str) -> str:
        return os.path.normpath(os.path.join(base, path))  # an absolute path stays as it is

    return replace(
        config,
        save_index=place(config.save_index) if config.save_index else None,
        against=[place(p) for p in config.against],
    )


def check_index_paths(
    params: MinHashParams, verify: str, save: str | None, against: list[str], absolute_only: bool = False
) -> None:
    """Refuse an unusable against_index (checksums too) or a save_index that would overwrite something
    else; with absolute_only, relative paths (not placed yet) are left for later."""
    for path in against:
        if os.path.isabs(path) or not absolute_only:
            check_index(path, params, need_shingles=verify == "exact", full=True)
    if not save:
        return
    # two relative paths lie in the same folder, so they can be compared before it is known
    if any(
        os.path.normpath(save) == os.path.normpath(p) and os.path.isabs(save) == os.path.isabs(p)
        for p in against
    ):
        raise RecipeError(
            f"step 'dedup': save_index {save} is also an against_index: save the new index elsewhere "
            "(the earlier run's index is never rewritten)"
        )
    if absolute_only and not os.path.isabs(save):
        return
    if os.path.exists(save) and (not os.path.isdir(save) or os.listdir(save)):
        try:
            read_header(save)  # replacing an older index is fine; anything else is refused
        except InputError:
            raise RecipeError(
                f"step 'dedup': save_index {save} exists and is not a dedup index; choose another folder"
            ) from None
