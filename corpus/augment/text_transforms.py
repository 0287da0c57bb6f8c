"""corpus's own transforms: sentence shuffle and rotation, word dropout, span masking, whitespace,
punctuation and case noise.

Each draws from its own `random.Random(seed)` (no global state) and works on whitespace-separated words or on
sentences, keeping the whitespace it does not change. Words holding a protected-span placeholder are never
changed, dropped or masked (they may move with their sentence).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from corpus.augment.base import PLACEHOLDER_MARK, Transform, n_changes
from corpus.errors import RecipeError

_GAP = re.compile(r"(\s+)")
_SENTENCE_END = re.compile(r"(?<=[.!?])(\s+)")
_TRAILING_PUNCT = re.compile(r"[^\w\s]+$")


def _edges(text: str, fn: Callable[[str], str]) -> str:
    """Apply fn to the text without its leading/trailing whitespace, which stays as it was."""
    core = text.strip()
    if not core:
        return text
    start = len(text) - len(text.lstrip())
    return text[:start] + fn(core) + text[start + len(core) :]


def _split(core: str, pattern: re.Pattern[str]) -> tuple[list[str], list[str]]:
    parts = pattern.split(core)
    return parts[0::2], parts[1::2]


def _join(items: list[str], gaps: list[str]) -> str:
    return "".join(item + gap for item, gap in zip(items, gaps + [""]))


def _free(word: str) -> bool:
    return PLACEHOLDER_MARK not in word


class SentenceShuffle(Transform):
    """ceil(p * sentences) sentences, within [min, max] (at least 2), trade places so that each of them
    moves; the whitespace between sentences stays where it was."""

    name = "sentence_shuffle"
    extra = {"p": 1.0, "min": 2, "max": None}

    def transform(self, text: str, seed: int) -> str:
        return _edges(text, lambda core: self._shuffle(core, random.Random(seed)))

    def _shuffle(self, core: str, rng: random.Random) -> str:
        sentences, gaps = _split(core, _SENTENCE_END)
        k = n_changes(len(sentences), self.p, max(self.min, 2), self.max)
        if k < 2:
            return core
        chosen = sorted(rng.sample(range(len(sentences)), k))
        order = chosen[:]
        for _ in range(10):  # a derangement, so every chosen sentence really moves
            rng.shuffle(order)
            if all(a != b for a, b in zip(order, chosen)):
                break
        else:
            order = chosen[1:] + chosen[:1]
        out = sentences[:]
        for target, source in zip(chosen, order):
            out[target] = sentences[source]
        return _join(out, gaps)


class SentenceRotation(Transform):
    """The sentences are rotated by an offset drawn in [min, max] (max: null = up to sentences - 1): the
    text starts in the middle and wraps around. p is not used."""

    name = "sentence_rotation"
    extra = {"min": 1, "max": None}

    def transform(self, text: str, seed: int) -> str:
        return _edges(text, lambda core: self._rotate(core, random.Random(seed)))

    def _rotate(self, core: str, rng: random.Random) -> str:
        sentences, gaps = _split(core, _SENTENCE_END)
        n = len(sentences)
        low = max(1, self.min)
        high = n - 1 if self.max is None else min(self.max, n - 1)
        if low > high:
            return core
        r = rng.randint(low, high)
        return _join(sentences[r:] + sentences[:r], gaps)


class WordDropout(Transform):
    """Each word is dropped independently with probability p; the number dropped is then held within
    [min, max], and at least one word always stays. Unlike word_delete (exactly ceil(p * words)), the
    count varies from copy to copy."""

    name = "word_dropout"

    def transform(self, text: str, seed: int) -> str:
        return _edges(text, lambda core: self._drop(core, random.Random(seed)))

    def _drop(self, core: str, rng: random.Random) -> str:
        words, gaps = _split(core, _GAP)
        eligible = [i for i, w in enumerate(words) if _free(w)]
        high = len(words) - 1 if self.max is None else min(self.max, len(words) - 1)
        drop = [i for i in eligible if rng.random() < self.p]
        if len(drop) < self.min:
            dropped = set(drop)
            rest = [i for i in eligible if i not in dropped]
            drop += rng.sample(rest, min(self.min - len(drop), len(rest)))
        if len(drop) > high:
            drop = rng.sample(sorted(drop), max(high, 0))
        return _remove(words, gaps, set(drop))


def _remove(words: list[str], gaps: list[str], gone: set[int]) -> str:
    """Words without the removed ones; each kept word keeps the whitespace that followed it."""
    kept = [(w, gaps[i] if i < len(gaps) else "") for i, w in enumerate(words) if i not in gone]
    if not kept:
        return ""
    return "".join(w + g for w, g in kept[:-1]) + kept[-1][0]


class SpanMasking(Transform):
    """ceil(p * words) words, within [min, max], are hidden in spans of 1 to `span` consecutive words; each
    masked run becomes one `mask` token (T5/BART-style infilling noise). At least one word stays."""

    name = "span_masking"
    extra = {"p": 0.15, "span": 3, "mask": "[MASK]"}

    @classmethod
    def check_extra(cls, params: dict[str, Any]) -> None:
        if params["span"] < 1:
            raise RecipeError(f"augment: transform 'span_masking': span must be >= 1, got {params['span']}")
        if not params["mask"].strip() or any(ch.isspace() for ch in params["mask"]):
            raise RecipeError("augment: transform 'span_masking': mask must be one non-empty word")

    def transform(self, text: str, seed: int) -> str:
        return _edges(text, lambda core: self._mask(core, random.Random(seed)))

    def _mask(self, core: str, rng: random.Random) -> str:
        words, gaps = _split(core, _GAP)
        eligible = [i for i, w in enumerate(words) if _free(w) and w != self.params["mask"]]
        target = min(n_changes(len(eligible), self.p, self.min, self.max), len(words) - 1)
        masked: set[int] = set()
        for _ in range(4 * target + 8):  # bounded: spans may run into protected or masked words
            if len(masked) >= target:
                break
            start = rng.choice(eligible)
            for i in range(start, min(start + rng.randint(1, self.params["span"]), len(words))):
                if len(masked) >= target or i in masked or not _free(words[i]):
                    break
                masked.add(i)
        out_words, out_gaps = [], []
        for i, w in enumerate(words):
            if i in masked and i - 1 in masked:
                out_gaps[-1] = gaps[i] if i < len(gaps) else ""  # extend the run: keep the later gap
                continue
            out_words.append(self.params["mask"] if i in masked else w)
            out_gaps.append(gaps[i] if i < len(gaps) else "")
        return _join(out_words, out_gaps[:-1])


class WhitespaceNoise(Transform):
    """ceil(p * gaps) of the whitespace gaps between words, within [min, max], are changed to another kind:
    doubled, a tab, a newline, or removed (words run together). The non-space characters never change."""

    name = "whitespace_noise"
    extra = {"kinds": ["double", "tab", "newline", "remove"]}
    KINDS = ("double", "tab", "newline", "remove")

    @classmethod
    def check_extra(cls, params: dict[str, Any]) -> None:
        bad = [k for k in params["kinds"] if k not in cls.KINDS]
        if bad or not params["kinds"]:
            raise RecipeError(
                f"augment: transform 'whitespace_noise': kinds must be a non-empty list of {', '.join(cls.KINDS)}"
            )

    def transform(self, text: str, seed: int) -> str:
        return _edges(text, lambda core: self._noise(core, random.Random(seed)))

    def _noise(self, core: str, rng: random.Random) -> str:
        words, gaps = _split(core, _GAP)
        kinds = self.params["kinds"]
        for i in sorted(rng.sample(range(len(gaps)), n_changes(len(gaps), self.p, self.min, self.max))):
            first = rng.randrange(len(kinds))
            for j in range(len(kinds)):  # the first kind that really changes this gap
                new = _gap(kinds[(first + j) % len(kinds)], gaps[i])
                if new != gaps[i]:
                    gaps[i] = new
                    break
        return _join(words, gaps)


def _gap(kind: str, gap: str) -> str:
    return {"double": gap + gap[-1], "tab": "\t", "newline": "\n", "remove": ""}[kind]


class PunctuationNoise(Transform):
    """ceil(p * words) words, within [min, max], get their trailing punctuation deleted or replaced, or a
    mark from `marks` appended when they have none. Letters, digits and whitespace never change."""

    name = "punctuation_noise"
    extra = {"marks": ".,!?;:"}

    @classmethod
    def check_extra(cls, params: dict[str, Any]) -> None:
        marks = params["marks"]
        if len(marks) < 2 or any(ch.isalnum() or ch.isspace() or ch == "_" for ch in marks):
            raise RecipeError(
                "augment: transform 'punctuation_noise': marks must be 2 or more punctuation characters"
            )

    def transform(self, text: str, seed: int) -> str:
        return _edges(text, lambda core: self._noise(core, random.Random(seed)))

    def _noise(self, core: str, rng: random.Random) -> str:
        words, gaps = _split(core, _GAP)
        marks = self.params["marks"]
        eligible = [i for i, w in enumerate(words) if _free(w)]
        for i in sorted(rng.sample(eligible, n_changes(len(eligible), self.p, self.min, self.max))):
            word = words[i]
            trail = _TRAILING_PUNCT.search(word)
            if trail is None:
                words[i] = word + rng.choice(marks)
            elif rng.random() < 0.5 or trail.start() == 0:
                body, old = word[: trail.start()], trail.group(0)
                words[i] = body + rng.choice([m for m in marks if m != old] or list(marks))
            else:
                words[i] = word[: trail.start()]
        return _join(words, gaps)


class CaseNoise(Transform):
    """ceil(p * words) cased words, within [min, max], change case: lower, UPPER, Title, sWAP or rAnDoM.
    Lower-casing the copy gives back the lower-cased original."""

    name = "case_noise"
    extra = {"kinds": ["lower", "upper", "title", "swap", "random"]}
    KINDS = ("lower", "upper", "title", "swap", "random")

    @classmethod
    def check_extra(cls, params: dict[str, Any]) -> None:
        bad = [k for k in params["kinds"] if k not in cls.KINDS]
        if bad or not params["kinds"]:
            raise RecipeError(
                f"augment: transform 'case_noise': kinds must be a non-empty list of {', '.join(cls.KINDS)}"
            )

    def transform(self, text: str, seed: int) -> str:
        return _edges(text, lambda core: self._noise(core, random.Random(seed)))

    def _noise(self, core: str, rng: random.Random) -> str:
        words, gaps = _split(core, _GAP)
        eligible = [i for i, w in enumerate(words) if _free(w) and w.lower() != w.upper()]
        kinds = self.params["kinds"]
        for i in sorted(rng.sample(eligible, n_changes(len(eligible), self.p, self.min, self.max))):
            first = rng.randrange(len(kinds))
            for j in range(len(kinds)):
                new = _recase(kinds[(first + j) % len(kinds)], words[i], rng)
                if new != words[i] and new.lower() == words[i].lower():
                    words[i] = new
                    break
        return _join(words, gaps)


def _recase(kind: str, word: str, rng: random.Random) -> str:
    if kind == "random":
        return "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in word)
    return {"lower": str.lower, "upper": str.upper, "title": str.title, "swap": str.swapcase}[kind](word)
