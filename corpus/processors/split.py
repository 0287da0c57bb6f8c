"""The `split` step: train/validation/test by a hash of the original document id."""

from __future__ import annotations

from typing import Any

from datatrove.data import Document

from corpus.augment.base import unit_interval
from corpus.errors import RecipeError
from corpus.step import DocumentStep

SPLITS = ("train", "validation", "test")


def original_id(doc: Document) -> str:
    """An augmented copy belongs with the document it was made from."""
    provenance = doc.metadata.get("augmentation")
    if isinstance(provenance, dict) and provenance.get("source_id"):
        return str(provenance["source_id"])
    return doc.id


def assign_split(doc_id: str, seed: int, train: float, validation: float) -> str:
    u = unit_interval(seed, doc_id, "split")
    if u < train:
        return "train"
    return "validation" if u < train + validation else "test"


class Split(DocumentStep):
    """Set metadata.split to train, validation or test from a hash of the document's ORIGINAL id and the
    seed, in the given fractions: the same document always lands in the same split, whatever the worker
    count, and an augmented copy lands with its original. Put it before `augment`, which then augments
    train documents only. Augmented copies that land outside train are dropped (reason
    augmented_copy_in_heldout), so held-out splits hold originals only whatever the step order. A split
    already in the input is kept unless `overwrite`."""

    name = "split"

    def __init__(
        self,
        train: float = 0.8,
        validation: float = 0.1,
        test: float = 0.1,
        overwrite: bool = False,
        seed: int = 0,
    ) -> None:
        self.validate_options({"train": train, "validation": validation, "test": test})
        super().__init__()
        self.train, self.validation, self.test = float(train), float(validation), float(test)
        self.overwrite, self.seed = overwrite, seed

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> None:
        fractions = [options.get(k, d) for k, d in zip(SPLITS, (0.8, 0.1, 0.1))]
        if any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
            raise RecipeError(
                f"split: train, validation and test must be >= 0 and sum to 1, got {', '.join(map(str, fractions))}"
            )

    def apply(self, doc: Document) -> bool | str | None:
        split = doc.metadata.get("split")
        if self.overwrite or not isinstance(split, str) or not split:
            split = assign_split(original_id(doc), self.seed, self.train, self.validation)
            doc.metadata["split"] = split
        self.stat_update(f"split_{split}")
        if split != "train" and doc.metadata.get("augmented"):
            return "augmented_copy_in_heldout"
        return True
