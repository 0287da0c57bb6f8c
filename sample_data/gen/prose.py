"""A small grammar-driven prose generator for the sample books.

A book is a set of lexicons (slot name -> alternatives, which may themselves contain {slots}) and sentence
templates. Templates are dealt from shuffled decks so each is used about equally often, every slot is filled
independently, some words are swapped for near-synonyms, and of `candidates` generated sentences the one that
repeats the fewest word 5-grams already in the book is kept. The result reads like (plain) prose and has
n-gram repetition close to real books (a Gopher-style duplicate 5-gram share of about 0.1), instead of the
0.4 that naive template filling gives. Hand-written plot sentences are woven in per chapter.
"""

from __future__ import annotations

import random
import re

_SLOT = re.compile(r"\{([a-z_0-9]+)\}")


def lexicon(spec: dict[str, str]) -> dict[str, list[str]]:
    """Each value is a '|'-separated list of alternatives; whitespace around them is ignored."""
    return {k: [alt.strip() for alt in v.split("|") if alt.strip()] for k, v in spec.items()}


# Per-occurrence word variation applied to generated sentences: fixed template words are swapped for a
# near-synonym now and then, so that the same five-word run seldom comes back verbatim.
SYNONYMS = lexicon(
    {
        "walked": "strolled | went | wandered | stepped",
        "hurried": "rushed | hastened | dashed",
        "said": "remarked | observed | added",
        "small": "little | modest",
        "large": "big | great | sizeable",
        "old": "aged | elderly",
        "quiet": "silent | still | hushed",
        "began": "started | commenced",
        "every": "each",
        "cold": "chill | icy",
        "bright": "brilliant | vivid | shining",
        "people": "folk | townsfolk",
        "almost": "nearly | all but",
        "whole": "entire | complete",
        "stood": "waited | lingered | paused",
        "watched": "observed | studied | eyed",
        "stopped": "paused | halted",
        "carried": "bore | hauled",
        "warm": "mild | cosy",
        "steady": "constant | even | unwavering",
        "thin": "faint | slender",
        "soft": "gentle | mild",
        "slowly": "gently | unhurriedly | leisurely",
        "first": "earliest | very first",
        "clean": "spotless | fresh",
        "tired": "weary | worn out",
        "river": "stream | water",
        "water": "river",
    }
)
_WORD = re.compile(r"\b[a-z]+\b")


class Prose:
    def __init__(
        self,
        rng: random.Random,
        lex: dict[str, list[str]],
        templates: list[str],
        adjectives: list[str] | None = None,
        nouns: set[str] | None = None,
        variation: float = 0.5,
        candidates: int = 100,
    ) -> None:
        self.rng, self.lex, self.templates = rng, lex, templates
        self.adjectives, self.nouns, self.variation = adjectives or [], nouns or set(), variation
        self.candidates = candidates
        self.seen: set[tuple[str, ...]] = set()
        self._deck: list[str] = []
        self._recent: dict[str, list[str]] = {}

    def pick(self, slot: str) -> str:
        """Choose an alternative, avoiding the last few choices for this slot so phrases do not cluster."""
        options = self.lex[slot]
        recent = self._recent.setdefault(slot, [])
        fresh = [o for o in options if o not in recent] or options
        choice = self.rng.choice(fresh)
        recent.append(choice)
        del recent[: -max(1, min(len(options) // 2, 6))]
        return choice

    def fill(self, template: str, depth: int = 0) -> str:
        if depth > 6:
            raise ValueError(f"slot recursion too deep in {template!r}")
        out = _SLOT.sub(lambda m: self.fill(self.pick(m.group(1)), depth + 1), template)
        return out

    def sentence(self) -> str:
        """The least repetitive of up to `candidates` generated sentences."""
        best: tuple[float, str, set] | None = None
        for _ in range(self.candidates):
            text = self._generate()
            grams = ngrams(text)
            score = len(grams & self.seen) / max(1, len(grams))
            if best is None or score < best[0]:
                best = (score, text, grams)
            if score == 0:
                break
        self.seen |= best[2]
        return best[1]

    def remember(self, text: str) -> None:
        self.seen |= ngrams(text)

    def _generate(self) -> str:
        if not self._deck:
            self._deck = list(self.templates)
            self.rng.shuffle(self._deck)
        template = self._deck.pop()
        text = self.vary(self.fill(template))
        text = re.sub(r"\s+", " ", text).strip()
        text = re.sub(r"\s+([,.;:!?])", r"\1", text)
        text = re.sub(r"\b([Aa]) ([aeioAEIO])", r"\1n \2", text)
        return text[0].upper() + text[1:] if text and text[0].isalpha() else text

    def vary(self, text: str) -> str:
        """Swap some words for near-synonyms and slip an adjective in front of some nouns."""

        def swap(match: re.Match) -> str:
            word = match.group(0)
            if word in SYNONYMS and self.rng.random() < self.variation:
                return self.rng.choice(SYNONYMS[word])
            return word

        text = _WORD.sub(swap, text)
        if self.adjectives and self.nouns:
            words = text.split(" ")
            for i in range(len(words) - 1, 0, -1):
                if (
                    words[i - 1] in ("the", "a", "an")
                    and words[i].strip(",.;:!?") in self.nouns
                    and self.rng.random() < self.variation / 2
                ):
                    adjective = self.rng.choice(self.adjectives)
                    words.insert(i, adjective)
                    if words[i - 1] in ("a", "an"):
                        words[i - 1] = "an" if adjective[0] in "aeiou" else "a"
            text = " ".join(words)
        return text

    def paragraph(self, n: int, anchors: list[str] | None = None) -> str:
        sentences = [self.sentence() for _ in range(n)]
        for anchor in anchors or []:
            self.remember(anchor)
            sentences.insert(self.rng.randrange(len(sentences) + 1), anchor)
        return " ".join(sentences)


def ngrams(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+(?:'\w+)?", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def wrap(text: str, width: int = 72) -> str:
    """Hard-wrap paragraphs the way old plain-text ebooks are laid out."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines)


def roman(n: int) -> str:
    out = ""
    for value, numeral in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out += numeral
            n -= value
    return out
