"""Protected spans: URLs, e-mail addresses, numbers, code spans, special tokens (or your own regexes) are
swapped for placeholders before the transforms run and put back after. A copy whose placeholders did not all
come back exactly once (a crop removed one, say) is refused by `restore`, so a protected span is never
altered, duplicated or half-kept.
"""

from __future__ import annotations

import re

from corpus.augment.base import PLACEHOLDER_MARK
from corpus.errors import RecipeError

# order matters: earlier kinds win where matches would overlap (a URL inside a code span stays in the span)
PATTERNS: dict[str, str] = {
    "code": r"```.*?```|`[^`\n]+`",
    "special_token": r"<\|[^|\s]{1,64}\|>|</?s>|\[(?:INST|/INST|SEP|CLS|MASK|PAD|UNK)\]",
    "url": r"(?:(?:https?|ftp)://|www\.)[^\s<>\"'`]*[^\s<>\"'`.,;:!?)\]}]",
    "email": r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    "number": r"\d+(?:[.,:/-]\d+)*",
}
CUSTOM_PREFIX = "re:"
_PLACEHOLDER = re.compile(PLACEHOLDER_MARK + r"(\d+)XQ")


def compile_protect(kinds: list[str]) -> re.Pattern[str] | None:
    """One regex for the asked kinds (names from PATTERNS, or 're:<regex>'); custom ones take precedence."""
    if not kinds:
        return None
    custom, builtin = [], []
    for kind in kinds:
        if kind.startswith(CUSTOM_PREFIX):
            pattern = kind[len(CUSTOM_PREFIX) :]
            try:
                re.compile(pattern)
            except re.error as err:
                raise RecipeError(
                    f"augment: protect pattern {pattern!r} is not a valid regex: {err}"
                ) from None
            custom.append(pattern)
        elif kind in PATTERNS:
            builtin.append(kind)
        else:
            raise RecipeError(
                f"augment: unknown protect kind {kind!r}; allowed: {', '.join(PATTERNS)} or 're:<regex>'"
            )
    ordered = custom + [PATTERNS[k] for k in PATTERNS if k in builtin]
    return re.compile("|".join(f"(?:{p})" for p in ordered), re.DOTALL)


def placeholder(i: int) -> str:
    # only word characters, so every tokenizer sees one token; upper case, so nlpaug's case alignment
    # (which only re-cases lower/capitalized words) leaves it alone
    return f"{PLACEHOLDER_MARK}{i}XQ"


def mask(text: str, pattern: re.Pattern[str] | None) -> tuple[str, list[str]] | None:
    """(masked text, protected spans in order). None when the text already contains the placeholder mark
    and masking would be ambiguous."""
    if pattern is None:
        return text, []
    if PLACEHOLDER_MARK in text:
        return None
    spans: list[str] = []

    def swap(m: re.Match[str]) -> str:
        spans.append(m.group(0))
        return placeholder(len(spans) - 1)

    return pattern.sub(swap, text), spans


def restore(text: str, spans: list[str]) -> str | None:
    """Put the spans back; None unless every placeholder is present exactly once and nothing else looks
    like one (a transform may move placeholders, never change, drop or duplicate them)."""
    if not spans:
        return text
    found = [int(m.group(1)) for m in _PLACEHOLDER.finditer(text)]
    if sorted(found) != list(range(len(spans))) or text.count(PLACEHOLDER_MARK) != len(spans):
        return None
    return _PLACEHOLDER.sub(lambda m: spans[int(m.group(1))], text)
