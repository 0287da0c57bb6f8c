"""A tokenizer pair for nlpaug that gives back the text it was given, except where a transform changed it.

nlpaug's own tokenizer splits on every non-word character and joins with single spaces, so untouched text
comes back rewritten: "can't" -> "can ' t", "bob@example.com" -> "bob @ example. com", newlines gone. Users
feeding support chats would train on those artifacts. Here words keep inner apostrophes, punctuation marks
are single tokens as in nlpaug, and the whitespace between tokens is remembered and put back: positionally
when the token count is unchanged (swap, substitute), or by each surviving token's original position when
tokens were removed (delete, crop).
"""

from __future__ import annotations

import re

# word (with inner apostrophes) | one punctuation/symbol character
_SPLIT = re.compile(r"(\w+(?:['\u2019]\w+)*|[^\w\s])")


class _Tok(str):
    """A token that remembers its position in the original text."""

    __slots__ = ("idx",)


class FaithfulTokenizer:
    """Stateful: nlpaug calls tokenize(text) then detokenize(tokens) once per augmentation, in one thread,
    so the gaps of the last tokenized text are the ones to restore."""

    def __init__(self) -> None:
        self._gaps: list[str] = []

    def tokenize(self, text: str) -> list[str]:
        parts = _SPLIT.split(text)
        # parts alternate: leading whitespace, token, gap, token, gap, ..., trailing whitespace
        self._lead = parts[0]
        self._gaps = parts[2::2]
        tokens = []
        for i, part in enumerate(parts[1::2]):
            tok = _Tok(part)
            tok.idx = i
            tokens.append(tok)
        return tokens

    def detokenize(self, tokens: list[str]) -> str:
        gaps = self._gaps
        n = len(gaps)
        if not tokens:
            return ""
        if len(tokens) == n:  # same shape (swap, substitute): whitespace stays where it was
            return self._lead + "".join(t + g for t, g in zip(tokens, gaps))
        positions, prev = [], -1
        for t in tokens:  # new tokens (case alignment after a deletion) sit right after the previous one
            prev = t.idx if isinstance(t, _Tok) else prev + 1
            positions.append(prev)
        out = [self._lead]
        for j, t in enumerate(tokens):
            here = positions[j]
            nxt = positions[j + 1] if j + 1 < len(tokens) else n
            # the gap just before the next surviving token: "the cat sat." minus "sat" gives "the cat."
            gap = gaps[nxt - 1] if here < nxt <= n else " "
            out.append(t)
            out.append(gap)
        return "".join(out)
