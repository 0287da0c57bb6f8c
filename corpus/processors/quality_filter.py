"""Step `quality_filter`: datatrove's Gopher quality, Gopher repetition, C4 and FineWeb heuristics, run offline.

datatrove's filters split English words with spaCy, which is not installed (and its models are a download);
they accept any datatrove WordTokenizer in place of a language, so C4 and FineWeb get `OfflineWordTokenizer`
(regex words, nltk Punkt sentences when its data is installed). The two Gopher filters run as
corpus.heuristics, which computes datatrove's decisions with the same words several times faster.
Thresholds are datatrove's own defaults.
"""

from __future__ import annotations

import inspect
from typing import Any

from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)

from corpus import heuristics
from corpus.errors import RecipeError
from corpus.nlp import OfflineWordTokenizer
from corpus.step import DocumentStep

# recipe option -> (datatrove filter, prefix put before its drop reasons so that the report can tell them apart)
FILTERS: dict[str, tuple[type, str]] = {
    "gopher": (GopherQualityFilter, ""),  # its reasons already read gopher_short_doc, ...
    "gopher_repetition": (GopherRepetitionFilter, "gopher_"),
    "c4": (C4QualityFilter, "c4_"),
    "fineweb": (FineWebQualityFilter, "fineweb_"),
}
_NOT_OPTIONS = ("self", "exclusion_writer", "language")


def filter_options(cls: type) -> dict[str, Any]:
    return {
        k: p.default for k, p in inspect.signature(cls.__init__).parameters.items() if k not in _NOT_OPTIONS
    }


def _tuples(value: Any) -> Any:
    """YAML gives lists where datatrove wants tuples (top_n_grams: [[2, 0.2], ...])."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


class QualityFilter(DocumentStep):
    """Heuristic quality filters from datatrove, each `true` (datatrove's default thresholds), `false` (off) or
    a mapping of that filter's options: `gopher` (GopherQualityFilter: word counts, mean word length,
    symbol ratios, bullet and ellipsis lines, alphabetic words, stop words), `gopher_repetition` (duplicate
    lines, paragraphs and n-grams), `c4` (C4QualityFilter: drops lines without end punctuation and documents
    with curly brackets or lorem ipsum; it edits the text, so it is off by default) and `fineweb`
    (FineWebQualityFilter: lines ending in punctuation, short lines, duplicated lines, list-like pages; off by
    default: code and tables make it drop most documentation pages).
    The thresholds are tuned for English: documents that `language_id` tagged with a language not in
    `languages` (default [en]; [] for all) pass untouched, counted as skipped_other_language. Drop reasons
    are datatrove's, prefixed gopher_, c4_ or fineweb_. Conversations pass untouched unless
    `include_chat`: their turn-by-turn lines look like a list to every one of these heuristics."""

    name = "quality_filter"

    def __init__(
        self,
        gopher: bool | dict = True,
        gopher_repetition: bool | dict = True,
        c4: bool | dict = False,
        fineweb: bool | dict = False,
        languages: list[str] | None = None,
        include_chat: bool = False,
    ) -> None:
        chosen = {"gopher": gopher, "gopher_repetition": gopher_repetition, "c4": c4, "fineweb": fineweb}
        self.validate_options(chosen)
        super().__init__()
        self.include_chat = include_chat
        self.languages = set(["en"] if languages is None else languages)
        tokenizer = OfflineWordTokenizer("english")
        options = {
            key: {k: _tuples(v) for k, v in (value if isinstance(value, dict) else {}).items()}
            for key, value in chosen.items()
            if value is not False
        }
        self.gopher = options.get("gopher")
        self.gopher_repetition = options.get("gopher_repetition")
        self.datatrove_filters: list[tuple[Any, str]] = []
        for key in ("c4", "fineweb"):
            if key in options:
                cls, prefix = FILTERS[key]
                inner = cls(**options[key], language=tokenizer)
                inner.stats = self.stats  # C4's line counters land in this step's statistics
                self.datatrove_filters.append((inner, prefix))

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> None:
        for key, value in options.items():
            if key not in FILTERS or isinstance(value, bool):
                continue
            if not isinstance(value, dict):
                raise RecipeError(f"step 'quality_filter': {key} must be true, false or a mapping of options")
            allowed = filter_options(FILTERS[key][0])
            for option in value:
                if option not in allowed:
                    raise RecipeError(
                        f"step 'quality_filter': {key}: unknown option {option!r}; allowed options: "
                        + ", ".join(allowed)
                    )

    def apply(self, doc: Document) -> bool | str | None:
        if doc.metadata.get("turns") and not self.include_chat:
            return None
        language = doc.metadata.get("language")
        if language and self.languages and language not in self.languages:
            self.stat_update("skipped_other_language")
            return None
        if not doc.text.strip():
            return "empty"
        if self.gopher is not None or self.gopher_repetition is not None:
            words = heuristics.word_ids(doc.text)
            if not words:
                return "no_words"
            if self.gopher is not None and (
                reason := heuristics.gopher_quality(doc.text, words, **self.gopher)
            ):
                return reason
            if self.gopher_repetition is not None and (
                reason := heuristics.gopher_repetition(doc.text, words, **self.gopher_repetition)
            ):
                return reason
        for inner, prefix in self.datatrove_filters:
            result = inner.filter(doc)
            if result is True:
                continue
            reason = result[1] if isinstance(result, tuple) else inner.name
            return f"{prefix}{reason}"
        return None
