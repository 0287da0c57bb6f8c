"""Gopher's quality and repetition heuristics, computed the way datatrove's filters compute them, but fast.

datatrove's GopherQualityFilter and GopherRepetitionFilter build a Python string for every n-gram of every
document and loop over every word in Python; on documentation pages they cost three times the HTML
extraction. Here the same measures come from C-level passes: words by one regex, symbol-only and letterless
words by a regex over the words joined by newlines, n-grams as rolling 64-bit hashes of word ids (pyarrow
dictionary encoding), duplicate counts with numpy. The decisions equal datatrove's (tests compare both on
python-docs, KJV and the sample data); the one theoretical difference: datatrove compares the duplicated
n-grams as words joined without a separator, so ["ab", "c"] equals ["a", "bc"] there and not here.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from operator import methodcaller

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from datatrove.utils.text import PUNCTUATION_SET

from corpus.cache import cached_arrays

_EDGE = "".join(chr(c) for c in range(0x2000, 0x2070)) + "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~«»¿¡"
_EDGE_CLASS = re.escape(_EDGE)
# a whitespace-separated token with punctuation stripped from both ends (tokens of punctuation only vanish);
# stdlib re, about 4x faster than the regex module on these two patterns
_WORD = re.compile(rf"[^\s{_EDGE_CLASS}]+(?:\S*[^\s{_EDGE_CLASS}])?")
_PARAGRAPHS = re.compile(r"\n{2,}")
_MIX = np.uint64(0x9E3779B97F4A7C15)

GOPHER_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
_STARTS_BULLET = methodcaller("startswith", ("•", "-"))
_ENDS_ELLIPSIS = methodcaller("endswith", ("...", "…"))


@cache
def _char_classes() -> tuple[np.ndarray, np.ndarray]:
    """Lookup tables over every code point: (punctuation, letter). Punctuation is datatrove's PUNCTUATION_SET;
    a letter is what str.isalpha() accepts, as in datatrove's alpha-word test. The letter table takes a
    Python call per code point to build, so it is cached (corpus.cache)."""

    def build() -> dict[str, np.ndarray]:
        every = "".join(map(chr, range(0x110000)))
        return {"letter": np.fromiter(map(str.isalpha, every), bool, count=0x110000)}

    punct = np.zeros(0x110000, bool)
    punct[[ord(c) for c in PUNCTUATION_SET]] = True
    letter = cached_arrays(f"letters-isalpha-unicode-{unicodedata.unidata_version}", build)["letter"]
    return punct, np.asarray(letter)


def words(text: str) -> list[str]:
    """Gopher's words: whitespace-separated tokens with punctuation stripped from their edges."""
    return _WORD.findall(text)


_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass
class Words:
    """A document's words (those of `words`) as numbers: each word's index into the distinct words, in order
    of first appearance. Splitting, trimming and numbering run in pyarrow kernels, so no Python string is
    made per word: 2-3x faster than the regex on python-docs pages."""

    ids: np.ndarray  # int64, one per word
    vocabulary: pa.Array  # the distinct words

    def __len__(self) -> int:
        return len(self.ids)

    def tolist(self) -> list[str]:
        return self.vocabulary.take(pa.array(self.ids)).to_pylist()

    @cached_property
    def vocabulary_lengths(self) -> np.ndarray:
        return np.asarray(pc.utf8_length(self.vocabulary), dtype=np.int64)

    @cached_property
    def lengths(self) -> np.ndarray:
        return self.vocabulary_lengths[self.ids]


def without_surrogates(text: str) -> str:
    return _SURROGATE.sub(lambda m: chr(0xF0000 + ord(m[0]) - 0xD800), text)


def word_ids(text: str) -> Words:
    """`words(text)` as a Words. Lone surrogates (which UTF-8, and so pyarrow, cannot hold) stand in as
    supplementary private-use characters, which no measure here tells apart from them: neither is a space,
    a letter or punctuation, and each is one character."""
    # stripped: pyarrow 26's utf8_split_whitespace can leave part of a trailing run of whitespace as a last
    # token when the text has non-ASCII characters ("é\n\n" -> ["é", "\n"]); stripping changes no word
    text = text.strip()
    try:
        array = pa.array([text], pa.large_string())
    except UnicodeEncodeError:
        array = pa.array([without_surrogates(text)], pa.large_string())
    tokens = pc.utf8_trim(pc.utf8_split_whitespace(array).values, _EDGE)
    tokens = tokens.filter(pc.greater(pc.binary_length(tokens), 0))
    encoded = tokens.dictionary_encode()
    return Words(np.asarray(encoded.indices, dtype=np.int64), encoded.dictionary)


def _word_classes(words: Words) -> tuple[np.ndarray, np.ndarray]:
    """(symbol-only, has a letter) per word, from two table lookups over the code points of the distinct
    words and one segmented reduction, instead of a regex pass each."""
    # the vocabulary's UTF-8 buffer holds the distinct words back to back: one decode, no str per word
    vocabulary = words.vocabulary
    offsets = np.frombuffer(vocabulary.buffers()[1], np.int64, len(vocabulary) + 1, vocabulary.offset * 8)
    joined = vocabulary.buffers()[2][int(offsets[0]) : int(offsets[-1])].to_pybytes().decode("utf-8")
    points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.uint32)
    punct, letter = _char_classes()
    starts = np.concatenate(([0], np.cumsum(words.vocabulary_lengths)[:-1]))
    symbol_only = ~np.logical_or.reduceat(~punct[points], starts)
    has_letter = np.logical_or.reduceat(letter[points], starts)
    return symbol_only[words.ids], has_letter[words.ids]


def gopher_quality(
    text: str,
    words: Words,
    min_doc_words: int | None = 50,
    max_doc_words: int | None = 100000,
    min_avg_word_length: int | None = 3,
    max_avg_word_length: int | None = 10,
    max_symbol_word_ratio: float | None = 0.1,
    max_bullet_lines_ratio: float | None = 0.9,
    max_ellipsis_lines_ratio: float | None = 0.3,
    max_non_alpha_words_ratio: float | None = 0.8,
    min_stop_words: int | None = 2,
    stop_words: Sequence[str] | None = None,
) -> str | None:
    """datatrove's GopherQualityFilter.filter: the drop reason, or None to keep."""
    n_words = len(words)
    if n_words:
        symbol_only, has_letter = _word_classes(words)
        n_non_symbol = n_words - int(np.count_nonzero(symbol_only))
    else:
        n_non_symbol = 0
    if min_doc_words and n_non_symbol < min_doc_words:
        return "gopher_short_doc"
    if max_doc_words and n_non_symbol > max_doc_words:
        return "gopher_long_doc"
    chars = int(words.lengths[~symbol_only].sum()) if n_words else 0
    mean_length = chars / n_non_symbol if n_non_symbol else float("nan")
    if min_avg_word_length and mean_length < min_avg_word_length:
        return "gopher_below_avg_threshold"
    if max_avg_word_length and mean_length > max_avg_word_length:
        return "gopher_above_avg_threshold"
    if max_symbol_word_ratio and text.count("#") / n_words > max_symbol_word_ratio:
        return "gopher_too_many_hashes"
    ellipses = text.count("...") + text.count("…")
    if max_symbol_word_ratio and ellipses / n_words > max_symbol_word_ratio:
        return "gopher_too_many_ellipsis"
    lines = text.splitlines()
    if max_bullet_lines_ratio:
        bullets = sum(map(_STARTS_BULLET, map(str.lstrip, lines)))  # C-level loops, no frame per line
        if bullets / len(lines) > max_bullet_lines_ratio:
            return "gopher_too_many_bullets"
    if max_ellipsis_lines_ratio and ellipses:
        ellipsis = sum(map(_ENDS_ELLIPSIS, map(str.rstrip, lines)))
        if ellipsis / len(lines) > max_ellipsis_lines_ratio:
            return "gopher_too_many_end_ellipsis"
    if max_non_alpha_words_ratio:
        with_letter = int(np.count_nonzero(has_letter))
        if with_letter / n_words < max_non_alpha_words_ratio:
            return "gopher_below_alpha_threshold"
    if min_stop_words:
        stop = pa.array(
            sorted(set(GOPHER_STOP_WORDS if stop_words is None else stop_words)), pa.large_string()
        )
        if pc.sum(pc.is_in(words.vocabulary, value_set=stop)).as_py() < min_stop_words:
            return "gopher_enough_stop_words"  # each distinct word appears once in the vocabulary
    return None


def _split_lines(text: str) -> list[str]:
    """re.split("\\n+", text) as datatrove splits lines, from str.split: the same parts (empty ones only at
    the ends), twice as fast."""
    parts = text.split("\n")
    lines = [part for part in parts if part]
    if parts[0] == "":
        lines.insert(0, "")
    if len(parts) > 1 and parts[-1] == "":
        lines.append("")
    return lines


def _duplicates(parts: list[str]) -> tuple[int, int]:
    seen: set[str] = set()
    elements = chars = 0
    for part in parts:
        if part in seen:
            elements += 1
            chars += len(part)
        else:
            seen.add(part)
    return elements, chars


def _ngram_hashes(ids: np.ndarray, n: int) -> np.ndarray:
    """A 64-bit hash per n-gram start position (wrapping arithmetic; collisions ~ count^2 / 2^64)."""
    h = np.zeros(len(ids) - n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _MIX + ids[k : len(ids) - n + 1 + k]
    return h


def _codes(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code per position, position of each code's first occurrence). Codes number the distinct values in
    order of first appearance (pandas' hash table, no sort: twice as fast as pyarrow's dictionary_encode on
    these arrays), so a first occurrence is where the code exceeds every code before it."""
    codes = pd.factorize(h)[0]
    is_first = np.empty(len(codes), dtype=bool)
    is_first[0] = True
    is_first[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    return codes, np.flatnonzero(is_first)


def _greedy_repeated_chars(
    h: np.ndarray,
    window_chars: np.ndarray,
    n: int,
    positions: np.ndarray,
    prefix: np.ndarray,
    frac: float,
    text_len: int,
) -> tuple[int, np.ndarray, int]:
    """datatrove's find_all_duplicate: walk the n-grams; an n-gram already seen on the walk adds its characters
    and the walk jumps n words ahead (the skipped n-grams are never seen). Only positions whose n-gram occurred
    earlier can be repeats, so the walk visits just those: such a position is a repeat when the n-gram's first
    occurrence was visited (not inside a jump), or a later occurrence was visited as new.

    `positions` are the starts that can hold a repeated n-gram (all of them, or those whose shorter prefix
    n-gram repeats: an n-gram that occurs twice has its prefix occur twice). Returns the repeated characters,
    the starts whose n-gram occurs more than once (which bound the search for longer n-grams) and the coverage:
    the characters of the words under any later occurrence. The walk only ever counts later occurrences, in
    windows that do not overlap, so the coverage bounds its result; it also bounds the result for every longer
    n-gram (a repeated (n+1)-gram at q is a repeated n-gram at q and at q+1). The walk is skipped when the
    coverage is at most `frac` of the text's `text_len` characters (compared as the caller compares the result):
    the result is then reported as the coverage, which is all the caller needs."""
    positions = positions[positions < len(h)]
    if not len(positions):
        return 0, positions, 0
    keys = h[positions]
    codes, first = _codes(keys)
    repeated = positions[np.bincount(codes)[codes] > 1]
    first_at = positions[first[codes]]
    later = np.flatnonzero(first[codes] < np.arange(len(positions)))
    starts = positions[later]
    if not len(starts):
        return 0, repeated, 0
    ends = np.minimum(starts + n, np.append(starts[1:], len(h) + n))
    coverage = int((prefix[ends] - prefix[starts]).sum())
    if coverage / text_len <= frac:
        return coverage, repeated, coverage
    jump_starts: list[int] = []  # positions start..start+n-2 were jumped over
    seen_later: set[int] = set()
    total, next_visit = 0, 0
    for q, p, key in zip(starts.tolist(), first_at[later].tolist(), keys[later].tolist()):
        if q < next_visit:
            continue
        i = bisect_right(jump_starts, p) - 1
        first_visited = i < 0 or p > jump_starts[i] + n - 2
        if first_visited or key in seen_later:
            total += int(window_chars[q])
            jump_starts.append(q + 1)
            next_visit = q + n
        else:
            seen_later.add(key)
    return total, repeated, coverage


def gopher_repetition(
    text: str,
    words: Words,
    dup_line_frac: float | None = 0.3,
    dup_para_frac: float | None = 0.3,
    dup_line_char_frac: float | None = 0.2,
    dup_para_char_frac: float | None = 0.2,
    top_n_grams: Sequence[Sequence[float]] = ((2, 0.2), (3, 0.18), (4, 0.16)),
    dup_n_grams: Sequence[Sequence[float]] = (
        (5, 0.15),
        (6, 0.14),
        (7, 0.13),
        (8, 0.12),
        (9, 0.11),
        (10, 0.10),
    ),
) -> str | None:
    """datatrove's GopherRepetitionFilter.filter: the drop reason, or None to keep."""
    if not text:
        return "gopher_empty"
    stripped = text.strip()
    if "\n\n" not in stripped:
        paragraphs = [stripped]
    elif "\n\n\n" not in stripped:  # no run of three: str.split gives what the regex split gives, faster
        paragraphs = stripped.split("\n\n")
    else:
        paragraphs = _PARAGRAPHS.split(stripped)
    elements, chars = _duplicates(paragraphs)
    if dup_para_frac and elements / len(paragraphs) > dup_para_frac:
        return "gopher_dup_para_frac"
    if dup_para_char_frac and chars / len(text) > dup_para_char_frac:
        return "gopher_dup_para_char_frac"
    lines = _split_lines(text)
    elements, chars = _duplicates(lines)
    if dup_line_frac and elements / len(lines) > dup_line_frac:
        return "gopher_dup_line_frac"
    if dup_line_char_frac and chars / len(text) > dup_line_char_frac:
        return "gopher_dup_line_char_frac"
    if not words:
        return None
    ids = words.ids.astype(np.uint64) + np.uint64(1)
    prefix = np.concatenate(([0], np.cumsum(words.lengths)))
    # Bounds that settle most documents without counting: an n-gram occurs at most as often as any shorter
    # n-gram inside it, and is at most as long as the longest window of n words; when even that product is
    # under the threshold, the n-gram count is skipped (same decision, a fraction of the time).
    shorter_max = {1: int(np.bincount(words.ids).max())}
    for n, frac in top_n_grams:
        n = int(n)
        if len(words) < n:
            continue
        most_bound = shorter_max[max(m for m in shorter_max if m < n)]
        longest = int((prefix[n:] - prefix[:-n]).max()) + n - 1
        if longest * most_bound / len(text) <= frac:
            continue
        codes, first = _codes(_ngram_hashes(ids, n))
        counts = np.bincount(codes)
        top = int(counts.argmax())  # ties: the n-gram seen first, as Counter.most_common(1) picks
        most, i = int(counts[top]), int(first[top])
        shorter_max[n] = most
        top_chars = (int(prefix[i + n] - prefix[i]) + n - 1) * most
        if top_chars / len(text) > frac:
            return f"gopher_top_{n}_gram"
    positions, bound_n = np.arange(len(words)), 0  # starts that may hold a repeat, valid for n >= bound_n
    coverage, coverage_n = None, 0  # characters under repeated n-grams, a bound for every n >= coverage_n
    for n, frac in dup_n_grams:
        n = int(n)
        if len(words) < n:
            continue
        if coverage is not None and n >= coverage_n and coverage / len(text) <= frac:
            continue
        window_chars = prefix[n:] - prefix[:-n]
        search = positions if n >= bound_n else np.arange(len(words))
        repeated_chars, repeated, covered = _greedy_repeated_chars(
            _ngram_hashes(ids, n), window_chars, n, search, prefix, frac, len(text)
        )
        positions, bound_n = repeated, n
        if coverage is None or n >= coverage_n:
            coverage, coverage_n = covered, n
        if repeated_chars / len(text) > frac:
            return f"gopher_duplicated_{n}_n_grams"
    return None
