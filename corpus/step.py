"""The contract every per-document step follows.

A step is a datatrove PipelineStep. Most steps look at one document at a time: they subclass `DocumentStep`
and implement `apply(doc)`, which may edit the document in place and returns None/True to keep it or a
short drop reason (a string) to drop it. datatrove's BaseFilter machinery then counts seen/kept/dropped by
reason, tracks time, and sends dropped documents to the rejected dataset.

Steps that fan out (augmentation) or need the whole run (dedup) implement `run()` themselves.
"""

from __future__ import annotations

from collections.abc import Callable

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter


class DocumentStep(BaseFilter):
    """Base class for per-document steps. Subclasses set `name` (the recipe step name) and implement `apply`."""

    name = "step"
    type = "corpus"

    def __init__(self) -> None:
        super().__init__(exclusion_writer=None)

    def apply(self, doc: Document) -> bool | str | None:
        raise NotImplementedError

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        result = self.apply(doc)
        if result is None or result is True:
            return True
        if result is False:
            return False, self.name
        return False, result

    def __repr__(self) -> str:
        return self.name


def map_text(doc: Document, fn: Callable[[str], str]) -> None:
    """Apply a text transform to the document and, for conversations, to each turn's content as well,
    so the turns and the rendered text never disagree."""
    turns = doc.metadata.get("turns")
    if turns:
        from corpus.schema import render_turns

        for turn in turns:
            turn["content"] = fn(turn["content"])
        doc.text = render_turns(turns)
    else:
        doc.text = fn(doc.text)


def is_blank(doc: Document) -> bool:
    """No text left: for conversations, no turn with any content (the rendered role labels don't count)."""
    turns = doc.metadata.get("turns")
    if turns:
        return not any((t.get("content") or "").strip() for t in turns)
    return not (doc.text or "").strip()
