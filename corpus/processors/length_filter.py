"""Step `length_filter`: drop documents outside character, word or line bounds."""

from __future__ import annotations

from typing import Any

from datatrove.data import Document

from corpus.errors import RecipeError
from corpus.step import DocumentStep


class LengthFilter(DocumentStep):
    """Keep documents with `min_chars` <= characters <= `max_chars`, `min_words` <= words <= `max_words`
    (whitespace-separated) and at least `min_lines` non-blank lines; a bound left at None (or 0 for a
    minimum) is not checked. Drop reasons: too_short, too_long (characters), too_few_words, too_many_words,
    too_few_lines."""

    name = "length_filter"

    def __init__(
        self,
        min_chars: int = 0,
        max_chars: int | None = None,
        min_words: int = 0,
        max_words: int | None = None,
        min_lines: int = 0,
    ) -> None:
        self.validate_options(
            {"min_chars": min_chars, "max_chars": max_chars, "min_words": min_words, "max_words": max_words}
        )
        super().__init__()
        self.min_chars, self.max_chars = min_chars, max_chars
        self.min_words, self.max_words = min_words, max_words
        self.min_lines = min_lines

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> None:
        for low, high in (("min_chars", "max_chars"), ("min_words", "max_words")):
            lo, hi = options.get(low) or 0, options.get(high)
            if lo < 0 or (hi is not None and hi < lo):
                raise RecipeError(f"step 'length_filter': need 0 <= {low} <= {high}, got {lo} and {hi}")

    def apply(self, doc: Document) -> bool | str | None:
        text = doc.text
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
