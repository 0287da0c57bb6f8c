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
            result = self._copy(doc, parts, k, count)
            if isinstance(result, str):
                count(result)
                continue
            if result.text in texts:  # two copies that came out the same teach nothing twice
                count("skipped_duplicate_copy")
                continue
            texts.add(result.text)
            made.append(result)
            count("copies")
            # provenance lists only the transforms that changed the copy: these are the true counts
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

    def _copy(
        self, doc: Document, parts: list[tuple[int, str]], k: int, count: Callable[[str], None]
    ) -> Document | str:
        chosen = self._chosen(doc.id, k)
        if not chosen:
            return "skipped_identical"
        changed: set[int] = set()  # positions of the transforms that changed some part
        outputs = []
        for part, text in parts:
            result = self._chain(doc.id, k, part, text, chosen, changed)
            if isinstance(result, str):
                return result
            outputs.append((part, text, result))
        if len(changed) < len(chosen):
            _count_unchanged(chosen, changed, count)
        new_texts: dict[int, str] = {}
        for part, _, (current, spans) in outputs:
            restored = restore(current, spans)
            if restored is None:
                return "skipped_protected_span_lost"
            if not restored.strip():
                return "skipped_empty"
            new_texts[part] = restored
        if all(new_texts[part] == text for part, text, _ in outputs):
            return "skipped_identical"
        return self._document(doc, new_texts, chosen, changed, k)

    def _chain(
        self,
        doc_id: str,
        k: int,
        part: int,
        text: str,
        chosen: list[tuple[int, Transform]],
        changed: set[int],
    ) -> tuple[str, list[str]] | str:
        """The chosen transforms run on one part, masked: (text, spans), or why the copy failed. Adds to
        `changed` the position of every transform whose output differs from its input."""
        masked = mask(text, self.protect)
        if masked is None:
            return "skipped_placeholder_collision"
        current, spans = masked
        for i, t in chosen:
            try:
                new = t(current, derive_seed(self.seed, doc_id, k, t.name, i, part))
            except Exception:  # a transform failing on odd text costs this copy, never the run
                return f"transform_error_{t.name}"
            if new != current and i not in changed and (not spans or _differs(new, current, spans)):
                changed.add(i)
            current = new
        return current, spans

    def _document(
        self,
        doc: Document,
        new_texts: dict[int, str],
        chosen: list[tuple[int, Transform]],
        changed: set[int],
        k: int,
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
            # only the transforms that changed the copy (what reports count); position: the index in the
            # step's list, which the transform's seed derives from, so the copy can be made again
            "transforms": [
                {"name": t.name, "params": self.specs[i][1], "position": i} for i, t in chosen if i in changed
            ],
            # ran on the copy but left it as it was (kept for a full replay of the chain)
            "unchanged": [t.name for i, t in chosen if i not in changed],
            "seed": self.seed,
            "copy": k,
        }
        return Document(text=text, id=f"{doc.id}~aug{k}", metadata=meta)


def _differs(new: str, old: str, spans: list[str]) -> bool:
    """Whether two different masked texts still differ once protected spans are back: swapping two
    placeholders of the same span ("5 and 5") changes the masked text, not the copy."""
    a, b = restore(new, spans), restore(old, spans)
    return a is None or b is None or a != b  # a lost placeholder is a change (the copy is refused later)


def _count_unchanged(
    chosen: list[tuple[int, Transform]], changed: set[int], count: Callable[[str], None]
) -> None:
    """unchanged_<name>: the transform ran on this copy (every part) and left it as it was: a sentence
    transform on a one-sentence turn, a synonym pass over words WordNet does not know."""
    did = {t.name for i, t in chosen if i in changed}
    for name in dict.fromkeys(t.name for _, t in chosen):
        if name not in did:
            count(f"unchanged_{name}")
