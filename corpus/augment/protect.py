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
    "email": r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    "number": r"\d+(?:[.,:/-]\d+)*",
}
CUSTOM_PREFIX = "re:"
_PLACEHOLDER = re.compile(PLACEHOLDER_MARK + r"(\d+)XQ")


# a kind can only match where its trigger occurs; texts without one skip that part of the regex (an e-mail
# pattern tried at every word of a text without "@" was half the masking time)
TRIGGERS: dict[str, tuple[str, ...]] = {
    "code": ("`",),
    "special_token": ("<", "["),
    "url": ("://", "www."),
    "email": ("@",),
    "number": tuple("0123456789"),
}


class Protector:
    """The asked kinds, compiled once per combination of kinds a text can contain."""

    def __init__(self, custom: list[str], builtin: list[str]) -> None:
        self.custom = custom
        self.builtin = [k for k in PATTERNS if k in builtin]  # fixed precedence order
        self._compiled: dict[tuple[str, ...], re.Pattern[str] | None] = {}

    def pattern_for(self, text: str) -> re.Pattern[str] | None:
        present = tuple(k for k in self.builtin if any(t in text for t in TRIGGERS[k]))
        if present not in self._compiled:
            parts = self.custom + [PATTERNS[k] for k in present]
            self._compiled[present] = (
                re.compile("|".join(f"(?:{p})" for p in parts), re.DOTALL) if parts else None
            )
        return self._compiled[present]


def compile_protect(kinds: list[str]) -> Protector | None:
    """The asked kinds (names from PATTERNS, or 're:<regex>'); custom ones take precedence."""
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
    return Protector(custom, builtin)


def placeholder(i: int) -> str:
    # only word characters, so every tokenizer sees one token; upper case, so nlpaug's case alignment
    # (which only re-cases lower/capitalized words) leaves it alone
    return f"{PLACEHOLDER_MARK}{i}XQ"


def mask(text: str, protector: Protector | None) -> tuple[str, list[str]] | None:
    """(masked text, protected spans in order). None when the text already contains the placeholder mark
    and masking would be ambiguous."""
    if protector is None:
        return text, []
    if PLACEHOLDER_MARK in text:
        return None
    pattern = protector.pattern_for(text)
    if pattern is None:
        return text, []
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
