"""Making the augmented copies of one document: which documents, which transforms, which text, and the
guard rails. Everything random is drawn from seeds derived from (recipe seed, document id, copy index,
transform name, position in the chain, part), so a copy never depends on the other documents, on the
worker that made it or on the order of the run.
"""

from __future__ import annotations

import copy as copylib
import random
from collections.abc import Callable
from typing import Any

from datatrove.data import Document

from corpus.augment import build_transform
from corpus.augment.base import Transform, derive_seed, unit_interval
from corpus.augment.protect import Protector, mask, restore
from corpus.schema import render_turns

MODES = ("chain", "one_of")
TRAIN = "train"


class CopyMaker:
    """Turns one document into [original] + copies (or copies only when `replace`), reporting every skip
    through `count(name)`."""

    def __init__(
        self,
        transforms: list[tuple[str, dict[str, Any]]],
        copies: int,
        fraction: float,
        mode: str,
        roles: list[str],
        protect: Protector | None,
        replace: bool,
        max_chars: int,
        seed: int,
    ) -> None:
        self.specs = transforms
        self.transforms: list[Transform] = [build_transform(name, params) for name, params in transforms]
        self.copies, self.fraction, self.mode = copies, fraction, mode
        self.roles = set(roles)
        self.protect, self.replace, self.max_chars, self.seed = protect, replace, max_chars, seed
        # chain mode with every apply_p at 1: the same list for every copy, no draws needed
        always = all(t.apply_p >= 1.0 for t in self.transforms)
        self._always = list(enumerate(self.transforms)) if always else None

    def augment(self, doc: Document, count: Callable[[str], None]) -> list[Document]:
        if reason := self._not_augmented(doc):
            count(reason)
            return [doc]
        parts = self._parts(doc)
        if not parts:
            count("no_target_text")
            return [doc]
        if sum(len(text) for _, text in parts) > self.max_chars:
            count("skipped_too_long")
            return [doc]
        made, texts = [], {doc.text}
        for k in range(1, self.copies + 1):
            result = self._copy(doc, parts, k)
            if isinstance(result, str):
                count(result)
                continue
            if result.text in texts:  # two copies that came out the same teach nothing twice
                count("skipped_duplicate_copy")
                continue
            texts.add(result.text)
            made.append(result)
            count("copies")
            for name in dict.fromkeys(t["name"] for t in result.metadata["augmentation"]["transforms"]):
                count(f"copies_{name}")
        if self.replace and made:
            count("originals_replaced")
            return made
        return [doc, *made]

    def _not_augmented(self, doc: Document) -> str | None:
        if doc.metadata.get("augmented"):
            return "already_augmented"  # copies of copies would compound noise and blur provenance
        split = doc.metadata.get("split")
        if split is not None and split != TRAIN:
            return "heldout_not_augmented"  # no copy of a validation/test document may reach training
        if self.fraction < 1.0 and unit_interval(self.seed, doc.id, "select") >= self.fraction:
            return "not_selected"
        return None

    def _parts(self, doc: Document) -> list[tuple[int, str]]:
        """(part index, text) to transform: the chosen roles' turns of a conversation, or the text."""
        turns = doc.metadata.get("turns")
        if turns:
            wanted = "*" in self.roles
            return [
                (i, t["content"])
                for i, t in enumerate(turns)
                if (wanted or t.get("role") in self.roles)
                and isinstance(t.get("content"), str)
                and t["content"].strip()
            ]
        return [(0, doc.text)] if doc.text.strip() else []

    def _chosen(self, doc_id: str, k: int) -> list[tuple[int, Transform]]:
        if self.mode == "one_of":
            i = random.Random(derive_seed(self.seed, doc_id, k, "one_of")).randrange(len(self.transforms))
            return [(i, self.transforms[i])]
        if self._always is not None:
            return self._always
        return [
            (i, t)
            for i, t in enumerate(self.transforms)
            if t.apply_p >= 1.0 or unit_interval(self.seed, doc_id, k, t.name, i, "apply") < t.apply_p
        ]

    def _copy(self, doc: Document, parts: list[tuple[int, str]], k: int) -> Document | str:
        chosen = self._chosen(doc.id, k)
        if not chosen:
            return "skipped_identical"
        new_texts: dict[int, str] = {}
        for part, text in parts:
            masked = mask(text, self.protect)
            if masked is None:
                return "skipped_placeholder_collision"
            current, spans = masked
            for i, t in chosen:
                try:
                    current = t(current, derive_seed(self.seed, doc.id, k, t.name, i, part))
                except Exception:  # a transform failing on odd text costs this copy, never the run
                    return f"transform_error_{t.name}"
            restored = restore(current, spans)
            if restored is None:
                return "skipped_protected_span_lost"
            if not restored.strip():
                return "skipped_empty"
            new_texts[part] = restored
        if all(new_texts[part] == text for part, text in parts):
            return "skipped_identical"
        return self._document(doc, new_texts, chosen, k)

    def _document(
        self, doc: Document, new_texts: dict[int, str], chosen: list[tuple[int, Transform]], k: int
    ) -> Document:
        meta = copylib.deepcopy(doc.metadata)
        turns = meta.get("turns")
        if turns:
            for part, text in new_texts.items():
                turns[part]["content"] = text
            text = render_turns(turns)
        else:
            text = new_texts[0]
        meta["augmented"] = True
        meta["augmentation"] = {
            "source_id": doc.id,
            "transforms": [{"name": t.name, "params": self.specs[i][1]} for i, t in chosen],
            "seed": self.seed,
            "copy": k,
        }
        return Document(text=text, id=f"{doc.id}~aug{k}", metadata=meta)
