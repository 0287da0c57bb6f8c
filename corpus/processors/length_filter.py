"""Step `length_filter`: drop documents outside character, word or line bounds, and conversations without an
assistant turn."""

from __future__ import annotations

from typing import Any

from datatrove.data import Document

from corpus.errors import RecipeError
from corpus.step import DocumentStep


def measured_text(doc: Document) -> str:
    """What the bounds are checked on: a conversation's turn contents, one turn a line (its rendered text
    starts every turn with a role label, "user:", which would count as a word); any other document's text."""
    turns = doc.metadata.get("turns")
    if turns:
        return "\n".join(turn.get("content") or "" for turn in turns)
    return doc.text


class LengthFilter(DocumentStep):
    """Keep documents with `min_chars` <= characters <= `max_chars`, `min_words` <= words <= `max_words`
    (whitespace-separated) and at least `min_lines` non-blank lines; a bound left at None (or 0 for a
    minimum) is not checked. Conversations are measured on their turns' contents only (role labels are not
    words). With `require_assistant_turn`, a conversation with no assistant turn (nothing to learn from in
    chat fine-tuning: its loss mask would be all zero) is dropped as no_assistant_turn; documents that are
    not conversations are not affected. Drop reasons: too_short, too_long (characters), too_few_words,
    too_many_words, too_few_lines, no_assistant_turn."""

    name = "length_filter"

    def __init__(
        self,
        min_chars: int = 0,
        max_chars: int | None = None,
        min_words: int = 0,
        max_words: int | None = None,
        min_lines: int = 0,
        require_assistant_turn: bool = False,
    ) -> None:
        self.validate_options(
            {"min_chars": min_chars, "max_chars": max_chars, "min_words": min_words, "max_words": max_words}
        )
        super().__init__()
        self.min_chars, self.max_chars = min_chars, max_chars
        self.min_words, self.max_words = min_words, max_words
        self.min_lines = min_lines
        self.require_assistant_turn = require_assistant_turn

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> None:
        for low, high in (("min_chars", "max_chars"), ("min_words", "max_words")):
            lo, hi = options.get(low) or 0, options.get(high)
            if lo < 0 or (hi is not None and hi < lo):
                raise RecipeError(f"step 'length_filter': need 0 <= {low} <= {high}, got {lo} and {hi}")

    def apply(self, doc: Document) -> bool | str | None:
        turns = doc.metadata.get("turns")
        # "assistant": the role whose turns chat tokenization trains on (corpus.tokenization.chat.TRAINED_ROLE)
        if self.require_assistant_turn and turns and not any(t.get("role") == "assistant" for t in turns):
            return "no_assistant_turn"
        text = measured_text(doc)
        n_chars = len(text)
        if n_chars < self.min_chars:
            return "too_short"
        if self.max_chars is not None and n_chars > self.max_chars:
            return "too_long"
        if self.min_words or self.max_words is not None:
            # counted only up to the largest bound that matters: a 50,000-word page is not split whole
            # to learn it has at least 20 (split(None, k) gives min(words, k + 1) parts)
            cap = self.max_words + 1 if self.max_words is not None else self.min_words
            n_words = len(text.split(None, cap))
            if n_words < self.min_words:
                return "too_few_words"
            if self.max_words is not None and n_words > self.max_words:
                return "too_many_words"
        if self.min_lines and sum(1 for line in text.splitlines() if line.strip()) < self.min_lines:
            return "too_few_lines"
        return None
