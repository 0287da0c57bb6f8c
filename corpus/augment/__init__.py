"""Data augmentation transforms (nlpaug wrappers and corpus's own) and the logic that makes copies.

Transforms by name (recipe `augment: {transforms: [...]}`):
  nlpaug:  word_swap, word_delete, word_crop, keyboard, ocr, char_insert, char_substitute, spelling, synonym
  own:     sentence_shuffle, sentence_rotation, word_dropout, span_masking, whitespace_noise,
           punctuation_noise, case_noise
"""

from __future__ import annotations

from typing import Any

from corpus.augment.base import Transform, derive_seed, n_changes, unit_interval
from corpus.augment.nlpaug_transforms import (
    CharInsert,
    CharSubstitute,
    Keyboard,
    NlpaugTransform,
    Ocr,
    Spelling,
    Synonym,
    WordCrop,
    WordDelete,
    WordSwap,
)
from corpus.augment.text_transforms import (
    CaseNoise,
    PunctuationNoise,
    SentenceRotation,
    SentenceShuffle,
    SpanMasking,
    WhitespaceNoise,
    WordDropout,
)
from corpus.errors import RecipeError

TRANSFORMS: dict[str, type[Transform]] = {
    cls.name: cls
    for cls in (
        WordSwap,
        WordDelete,
        WordCrop,
        Keyboard,
        Ocr,
        CharInsert,
        CharSubstitute,
        Spelling,
        Synonym,
        SentenceShuffle,
        SentenceRotation,
        WordDropout,
        SpanMasking,
        WhitespaceNoise,
        PunctuationNoise,
        CaseNoise,
    )
}

__all__ = [
    "TRANSFORMS",
    "Transform",
    "NlpaugTransform",
    "build_transform",
    "derive_seed",
    "n_changes",
    "parse_transforms",
    "unit_interval",
]


def parse_transforms(raw: Any) -> list[tuple[str, dict[str, Any]]]:
    """[(name, resolved params)] from the recipe's list of `name` or `{name: {params}}` items; every name
    and parameter checked (RecipeError naming the bad one and the allowed ones)."""
    if not isinstance(raw, list) or not raw:
        raise RecipeError(
            "augment: 'transforms' must be a non-empty list, e.g. [word_swap, {keyboard: {p: 0.1}}]; "
            f"transforms: {', '.join(TRANSFORMS)}"
        )
    out = []
    for item in raw:
        if isinstance(item, str):
            name, params = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            name, params = next(iter(item.items()))
            params = params or {}
        else:
            raise RecipeError(f"augment: each transform must be a name or {{name: {{params}}}}, got {item!r}")
        if name not in TRANSFORMS:
            raise RecipeError(f"augment: unknown transform {name!r}; allowed: {', '.join(TRANSFORMS)}")
        if not isinstance(params, dict):
            raise RecipeError(f"augment: transform {name!r}: parameters must be a mapping, got {params!r}")
        out.append((name, TRANSFORMS[name].resolve_params(params)))
    return out


def build_transform(name: str, params: dict[str, Any]) -> Transform:
    return TRANSFORMS[name](**params)
