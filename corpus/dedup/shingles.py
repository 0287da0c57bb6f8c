"""Shingles: the 64-bit hashes of a document's word or character n-grams, computed for a whole batch of texts
at once in numpy (no Python loop per word), with a plain-Python reference that defines the exact result.

Normalization `default` (both units): Unicode lower case (Arrow's utf8_lower), then:
Words: maximal runs of word characters, where a word character is an ASCII letter or digit or any non-ASCII
character except punctuation and symbols in these blocks: U+0080-U+00BF (Latin-1 punctuation, NBSP), U+00D7,
U+00F7, U+2000-U+206F (general punctuation: dashes, curly quotes, ellipsis, special spaces), U+3000-U+303F (CJK
punctuation), and the fullwidth ASCII punctuation U+FF01-U+FF0F, U+FF1A-U+FF20, U+FF3B-U+FF40, U+FF5B-U+FF65.
So "Don't -- STOP!" gives don, t, stop; "naïve café" keeps its accents. Text without spaces (CJK) is one word per
run: use unit "char" for it.
Characters: code points, with every run of ASCII whitespace turned into one space and leading/trailing
whitespace dropped.
Normalization `none`, for comparing with tools that shingle raw tokens: no lower-casing and no punctuation
removed. Words are maximal runs of characters that are not whitespace, exactly `text.split()` (ASCII
whitespace, \x1c-\x1f, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000); characters
are every code point as it is, whitespace included.
Shingles: every window of `ngram` consecutive elements. A document with at least one element but fewer than
`ngram` has exactly one shingle made of all its elements (so two short texts match only when equal after
normalization); a document with no element has no shingle.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

U64 = np.uint64
GOLDEN = U64(0x9E3779B97F4A7C15)
_LEN_MIX = U64(0xD6E8FEB86659FD93)
_MASKS = np.array([(1 << (8 * i)) - 1 for i in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
_SEP_RANGES = (
    (0x80, 0xBF),
    (0xD7, 0xD7),
    (0xF7, 0xF7),
    (0x2000, 0x206F),
    (0x3000, 0x303F),
    (0xFF01, 0xFF0F),
    (0xFF1A, 0xFF20),
    (0xFF3B, 0xFF40),
    (0xFF5B, 0xFF65),
)
UNITS = ("word", "char")
NORMALIZATIONS = ("default", "none")


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer (a bijection that mixes every input bit into every output bit)."""
    h = h ^ (h >> U64(33))
    h = h * U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> U64(33))
    h = h * U64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> U64(33))


def _position_constants(ngram: int) -> np.ndarray:
    # odd and distinct per position, so "a b" and "b a" hash differently
    return (np.arange(1, ngram + 1, dtype=np.uint64) * GOLDEN) | U64(1)


def _text_bytes(texts: pa.Array) -> tuple[np.ndarray, np.ndarray, int]:
    """Lower-cased UTF-8 bytes of the batch (padded with 16 zero bytes) and the document offsets into them."""
    return _string_bytes(pc.utf8_lower(texts.cast(pa.large_string())))


def _string_bytes(strings: pa.Array) -> tuple[np.ndarray, np.ndarray, int]:
    """UTF-8 bytes of a large_string array (padded with 16 zero bytes) and each string's offsets into them."""
    bufs = strings.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64, count=len(strings) + 1, offset=strings.offset * 8).copy()
    base = int(offsets[0])
    offsets -= base
    size = int(offsets[-1])
    data = np.zeros(size + 16, dtype=np.uint8)
    if size:
        data[:size] = np.frombuffer(bufs[2], dtype=np.uint8, count=size, offset=base)
    return data, offsets, size


def _raw_bytes(texts: pa.Array) -> tuple[np.ndarray, np.ndarray, int]:
    """The UTF-8 bytes of the batch as they are (normalize: none), padded like _text_bytes."""
    return _string_bytes(texts.cast(pa.large_string()).fill_null(""))


def string_hashes(strings: pa.Array) -> np.ndarray:
    """64-bit hash of each string exactly as given (no normalization; null hashes like ""), with the byte-run
    hash of the shingle elements: vectorized, so hashing every document id costs next to nothing."""
    data, offsets, size = _string_bytes(strings.cast(pa.large_string()).fill_null(""))
    return _hash_runs(data, size, offsets[:-1], offsets[1:])


def _windows(data: np.ndarray, size: int) -> np.ndarray:
    """Every unaligned 8-byte little-endian window of the buffer, as a strided view (no copy)."""
    return np.ndarray(shape=(size + 9,), dtype="<u8", buffer=data, strides=(1,))


def _word_mask(d: np.ndarray) -> np.ndarray:
    mask = ((d - np.uint8(97)) < 26) | ((d - np.uint8(48)) < 10) | (d >= 128)
    if not d.size or d.max() < 128:
        return mask
    # multi-byte punctuation: clear every byte of the matched UTF-8 sequences
    n = d.size

    def clear(starts: np.ndarray, width: int) -> None:
        for k in range(width):
            mask[np.minimum(starts + k, n - 1)] = False

    def nxt(pos: np.ndarray, k: int) -> np.ndarray:
        return d[np.minimum(pos + k, n - 1)]

    c2 = np.flatnonzero(d == 0xC2)
    clear(c2, 2)
    c3 = np.flatnonzero(d == 0xC3)
    clear(c3[(nxt(c3, 1) == 0x97) | (nxt(c3, 1) == 0xB7)], 2)
    e2 = np.flatnonzero(d == 0xE2)
    b1, b2 = nxt(e2, 1), nxt(e2, 2)
    clear(e2[(b1 == 0x80) | ((b1 == 0x81) & (b2 <= 0xAF))], 3)
    e3 = np.flatnonzero(d == 0xE3)
    clear(e3[nxt(e3, 1) == 0x80], 3)
    ef = np.flatnonzero(d == 0xEF)
    b1, b2 = nxt(ef, 1), nxt(ef, 2)
    fw = ((b1 == 0xBC) & (((b2 >= 0x81) & (b2 <= 0x8F)) | ((b2 >= 0x9A) & (b2 <= 0xA0)) | (b2 >= 0xBB))) | (
        (b1 == 0xBD) & ((b2 == 0x80) | ((b2 >= 0x9B) & (b2 <= 0xA5)))
    )
    clear(ef[fw], 3)
    return mask


def _split_mask(d: np.ndarray) -> np.ndarray:
    """True for the bytes of characters that `str.split()` does not split on (normalize: none)."""
    mask = ~(((d >= 9) & (d <= 13)) | ((d >= 28) & (d <= 32)))
    if not d.size or d.max() < 128:
        return mask
    n = d.size

    def nxt(pos: np.ndarray, k: int) -> np.ndarray:
        return d[np.minimum(pos + k, n - 1)]

    def clear(starts: np.ndarray, width: int) -> None:
        for k in range(width):
            mask[np.minimum(starts + k, n - 1)] = False

    c2 = np.flatnonzero(d == 0xC2)
    clear(c2[(nxt(c2, 1) == 0x85) | (nxt(c2, 1) == 0xA0)], 2)  # U+0085, U+00A0
    e1 = np.flatnonzero(d == 0xE1)
    clear(e1[(nxt(e1, 1) == 0x9A) & (nxt(e1, 2) == 0x80)], 3)  # U+1680
    e2 = np.flatnonzero(d == 0xE2)
    b1, b2 = nxt(e2, 1), nxt(e2, 2)
    spaces = (b1 == 0x80) & (
        (b2 <= 0x8A) | (b2 == 0xA8) | (b2 == 0xA9) | (b2 == 0xAF)
    )  # U+2000-200A, 2028/9/2F
    clear(e2[spaces | ((b1 == 0x81) & (b2 == 0x9F))], 3)  # U+205F
    e3 = np.flatnonzero(d == 0xE3)
    clear(e3[(nxt(e3, 1) == 0x80) & (nxt(e3, 2) == 0x80)], 3)  # U+3000
    return mask


def _runs(mask: np.ndarray, offsets: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end byte positions of the runs of True in mask, never crossing a document boundary."""
    before = np.zeros(size + 1, bool)  # mask of the previous byte (False before the first one)
    before[1:] = mask
    here = np.zeros(size + 1, bool)
    here[:size] = mask
    boundary = np.zeros(size + 1, bool)  # a document starts here: a run spanning it is two runs
    boundary[offsets[1:-1]] = True
    starts = np.flatnonzero(here & (boundary | ~before))
    ends = np.flatnonzero(before & (boundary | ~here))
    return starts, ends


def _hash_runs(data: np.ndarray, size: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """64-bit hash of each byte run: its bytes packed 8 at a time, chained through fmix64, then its length."""
    lengths = ends - starts
    win = _windows(data, size)
    h = win[starts] & _MASKS[np.minimum(lengths, 8)]
    longer = np.flatnonzero(lengths > 8)
    k = 1
    while longer.size:
        rest = lengths[longer] - 8 * k
        chunk = win[starts[longer] + 8 * k] & _MASKS[np.minimum(rest, 8)]
        h[longer] = fmix64(h[longer] ^ (chunk * GOLDEN))
        longer = longer[rest > 8]
        k += 1
    return fmix64(h + lengths.astype(np.uint64) * _LEN_MIX)


def _word_elements(data: np.ndarray, offsets: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    starts, ends = _runs(_word_mask(data[:size]), offsets, size)
    return _hash_runs(data, size, starts, ends), starts


def _char_elements(data: np.ndarray, offsets: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    d = data[:size]
    space = (d == 32) | ((d >= 9) & (d <= 13))
    starts = np.flatnonzero(((d & 0xC0) != 0x80) & ~space)  # first byte of every non-space character
    lead = d[starts]
    width = 1 + (lead >= 0xC0).astype(np.int64) + (lead >= 0xE0) + (lead >= 0xF0)
    elements = _hash_runs(data, size, starts, starts + width)
    if not starts.size:
        return elements, starts
    # a space element between two characters of the same document that had whitespace between them
    doc = np.searchsorted(offsets, starts, side="right") - 1
    gap = (starts[1:] != starts[:-1] + width[:-1]) & (doc[1:] == doc[:-1])
    if gap.any():
        where = np.flatnonzero(gap) + 1
        elements = np.insert(elements, where, U64(_hash_bytes(b" ")))
        starts = np.insert(starts, where, starts[where] - 1)  # any position inside the gap: same document
    return elements, starts


def _raw_word_elements(data: np.ndarray, offsets: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    starts, ends = _runs(_split_mask(data[:size]), offsets, size)
    return _hash_runs(data, size, starts, ends), starts


def _raw_char_elements(data: np.ndarray, offsets: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    d = data[:size]
    starts = np.flatnonzero((d & 0xC0) != 0x80)  # first byte of every character
    lead = d[starts]
    width = 1 + (lead >= 0xC0).astype(np.int64) + (lead >= 0xE0) + (lead >= 0xF0)
    return _hash_runs(data, size, starts, starts + width), starts


def element_hashes(texts: pa.Array, unit: str, normalize: str = "default") -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every word (or character) of every text, flat in document order, and the count per text.
    Null texts count as empty."""
    if normalize == "none":
        data, offsets, size = _raw_bytes(texts)
        split = _raw_word_elements if unit == "word" else _raw_char_elements
    else:
        data, offsets, size = _text_bytes(texts)
        split = _word_elements if unit == "word" else _char_elements
    elements, starts = split(data, offsets, size)
    # starts ascend, so each document's count is the gap between its bounds' positions among them
    return elements, np.diff(np.searchsorted(starts, offsets)).astype(np.int64)


def shingle_hashes(
    texts: pa.Array, unit: str, ngram: int, normalize: str = "default"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """64-bit hash of every shingle of every text (flat, document order; a shingle repeated inside a document
    appears repeatedly), the number of shingles per text and the number of words (or characters) per text."""
    elements, counts = element_hashes(texts, unit, normalize)
    total = elements.size
    if not total:
        return np.zeros(0, np.uint64), np.zeros(len(texts), np.int64), counts
    constants = _position_constants(ngram)
    first = np.cumsum(counts) - counts
    per_doc = np.maximum(counts - ngram + 1, np.minimum(counts, 1))
    # every window of ngram consecutive elements, across document ends too (contiguous slices, no mask);
    # only windows that start ngram or more elements before their document's end are kept
    padded = np.concatenate([elements, np.zeros(ngram, np.uint64)])
    acc = padded[:total] * constants[0]
    for k in range(1, ngram):
        acc += padded[k : k + total] * constants[k]
    windows = acc[ragged_index(first, per_doc)]
    short = np.flatnonzero((counts > 0) & (counts < ngram))
    if short.size:  # a short document's one shingle is all its elements: its window is cut at its end
        exact = np.zeros(short.size, np.uint64)
        for k in range(ngram):
            inside = counts[short] > k
            exact[inside] += elements[first[short[inside]] + k] * constants[k]
        windows[(np.cumsum(per_doc) - per_doc)[short]] = exact
    return fmix64(windows), per_doc, counts


def ragged_index(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Positions starts[i] .. starts[i] + lengths[i] - 1 for every i, concatenated."""
    lengths = np.asarray(lengths, np.int64)
    first = np.cumsum(lengths) - lengths
    return np.repeat(np.asarray(starts, np.int64) - first, lengths) + np.arange(int(lengths.sum()))


# --- reference implementation (slow, plain Python): defines the result the batch code must give -----------


def _is_word_char(ch: str) -> bool:
    cp = ord(ch)
    if cp < 128:
        return ch.isascii() and (ch.isdigit() or "a" <= ch <= "z")
    return not any(lo <= cp <= hi for lo, hi in _SEP_RANGES)


def _hash_bytes(raw: bytes) -> int:
    mask64 = (1 << 64) - 1

    def mix(h: int) -> int:
        return int(fmix64(np.array([h], dtype=np.uint64))[0])

    h = int.from_bytes(raw[:8], "little")
    for k in range(8, len(raw), 8):
        h = mix(h ^ ((int.from_bytes(raw[k : k + 8], "little") * int(GOLDEN)) & mask64))
    return mix((h + len(raw) * int(_LEN_MIX)) & mask64)


def reference_elements(text: str, unit: str, normalize: str = "default") -> list[bytes]:
    if normalize == "none":
        return [e.encode("utf-8") for e in (text.split() if unit == "word" else text)]
    lower = pc.utf8_lower(pa.array([text])).to_pylist()[0]
    if unit == "word":
        words, current = [], []
        for ch in lower:
            if _is_word_char(ch):
                current.append(ch)
            elif current:
                words.append("".join(current))
                current = []
        if current:
            words.append("".join(current))
        return [w.encode("utf-8") for w in words]
    collapsed = " ".join(_ascii_split(lower))
    return [ch.encode("utf-8") for ch in collapsed]


def _ascii_split(text: str) -> list[str]:
    parts, current = [], []
    for ch in text:
        if ch in " \t\n\r\x0b\x0c":
            if current:
                parts.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        parts.append("".join(current))
    return parts


def reference_shingles(text: str, unit: str, ngram: int, normalize: str = "default") -> list[int]:
    """The shingle hashes of one text, in order, computed the slow obvious way."""
    hashes = [_hash_bytes(e) for e in reference_elements(text, unit, normalize)]
    if not hashes:
        return []
    constants = [int(c) for c in _position_constants(ngram)]
    windows = [hashes[i : i + ngram] for i in range(max(1, len(hashes) - ngram + 1))]
    mask64 = (1 << 64) - 1
    out = []
    for window in windows:
        acc = sum(h * c for h, c in zip(window, constants)) & mask64
        out.append(int(fmix64(np.array([acc], dtype=np.uint64))[0]))
    return out
