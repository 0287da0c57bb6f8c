""".json files: JSON Lines, or an export holding records in one JSON value.

An export is a JSON array of records (`[{...}, {...}]`), or an object holding lists of records
(`{"version": 2, "data": [{...}, {...}]}`), compact or pretty-printed. It is read in pieces, one record at a
time: memory is bounded by the record cap, never by the file, and a cut or broken file keeps the records
before the damage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import IO, Any

import orjson

from corpus.readers.jsonl import TURN_KEYS, UTF8_BOM, normalize_turns, parse_record

_CHUNK = 2**20
_NONSPACE = re.compile(rb"[^ \t\r\n]")
# Inside a value, everything up to the next bracket (whole strings included) in one match: one Python step
# per bracket instead of one per string made reading an array of flat records 2x faster. The pattern is an
# "unrolled loop" (plain bytes, then string and plain bytes again), so it backtracks in linear time without
# possessive quantifiers (Python 3.10 has none); it runs over a window of _WINDOW bytes at most because the
# regex engine keeps state for each string and each escape it passes (about 128 bytes each).
_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
_PLAIN = rb'[^"\[\]{}]*'
_UP_TO_BRACKET = re.compile(_PLAIN + rb"(?:" + _STRING + _PLAIN + rb')*([\[\]{}"])', re.S)
_WINDOW = 2**16
_BRACKET_OR_QUOTE = re.compile(rb'[\[\]{}"]')
_ESCAPES = re.compile(rb'(?:\\.[^"\\]*)*', re.S)
_SCALAR_END = re.compile(rb"[ \t\r\n,:\]}\[{]")
_QUOTE, _COMMA, _COLON = ord('"'), ord(","), ord(":")
_OPEN, _CLOSE = (ord("["), ord("{")), (ord("]"), ord("}"))
_MAX_KEY_BYTES = 1024


def _is_turn(record: dict | None) -> bool:
    return record is not None and normalize_turns([record]) is not None


class BadJson(ValueError):
    """The file's structure is broken where no record boundary can be found again."""


def is_json_lines(stream: IO[bytes], max_record_bytes: int, is_record: Callable[[dict], bool]) -> bool:
    """True when the file's first line is a whole JSON object that is a record (not an export holding
    lists of records): the file is then read line by line like .jsonl, which keeps going past broken lines."""
    peek = getattr(stream, "peek", None)  # buffered streams (files, gzip, zstd) have it
    if peek is not None and peek(64).removeprefix(UTF8_BOM).lstrip()[:1] == b"[":
        return False  # an array: no need to read its first line (maybe all of it) to know
    while line := stream.readline(max_record_bytes + 1):
        if len(line) > max_record_bytes and not line.endswith(b"\n"):
            return False  # a first line over the cap: one huge value, not lines
        line = line.removeprefix(UTF8_BOM)
        if line.strip():
            try:
                first = orjson.loads(line)
            except orjson.JSONDecodeError:
                return False
            return isinstance(first, dict) and (is_record(first) or not record_lists(first))
    return False


def record_lists(obj: dict[str, Any]) -> list[list]:
    """The values of an export object that are lists of records (non-empty, first item an object)."""
    return [v for v in obj.values() if isinstance(v, list) and v and isinstance(v[0], dict)]


def read_json_records(
    stream: IO[bytes],
    second_reader: Callable[[], AbstractContextManager[IO[bytes]]],
    count: Callable[[str], None],
    max_record_bytes: int,
    is_record: Callable[[dict], bool],
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (position, record) for each record of the file's JSON values, in order; each bad or oversized
    record is counted, and keeps its position so that the ids of the others do not move. An object that is
    not a record itself (`is_record`: no text, no conversation) but holds lists of records gives those
    records. An export object over the cap is read twice: once to see which of its keys hold records, then
    from the file's start again (`second_reader`) to read them one at a time."""
    reading = _JsonRecords(_Scanner(stream, max_record_bytes), second_reader, count, is_record)
    try:
        for position, record in enumerate(reading.items()):
            if record is not None:
                yield position, record
    except BadJson as err:
        count("bad_json_file")
        from datatrove.utils.logging import logger

        logger.warning(f"stopped reading a .json file: {err}")


class _JsonRecords:
    """The records of a file's JSON values, one item per position: a record, or None for one counted."""

    def __init__(
        self,
        scanner: _Scanner,
        second_reader: Callable[[], AbstractContextManager[IO[bytes]]],
        count: Callable[[str], None],
        is_record: Callable[[dict], bool],
    ) -> None:
        self.scanner, self.second_reader, self.count, self.is_record = (
            scanner,
            second_reader,
            count,
            is_record,
        )

    def parsed(self, raw: bytes | None) -> dict[str, Any] | None:
        if raw is None:
            self.count("document_too_large")
            return None
        return parse_record(raw, self.count, "bad_json_record")

    def items(self) -> Iterator[dict[str, Any] | None]:
        scanner = self.scanner
        if scanner.peek() == UTF8_BOM[0] and scanner.buf.startswith(UTF8_BOM):
            scanner.pos += len(UTF8_BOM)
        while (c := scanner.peek()) is not None:
            if c == _OPEN[0]:  # an array of records
                yield from map(self.parsed, scanner.elements())
            elif c == _OPEN[1]:  # a record, or an export object holding lists of records
                start = scanner.pos
                raw, keys = scanner.object_with_keys()
                if raw is not None:
                    yield from self.object_items(self.parsed(raw))
                elif "records" in keys.values() and not self.is_record(
                    {k: "" for k, kind in keys.items() if kind == "string"}
                ):
                    yield from self.export_over_the_cap(start, {k for k, v in keys.items() if v == "records"})
                else:  # one record over the cap (its text is a string member), or an object with no records
                    self.count("document_too_large")
                    yield None
            else:
                scanner.skip_value()
                self.count("json_not_an_object")
                yield None

    def object_items(self, obj: dict[str, Any] | None) -> Iterator[dict[str, Any] | None]:
        if obj is None or self.is_record(obj) or not record_lists(obj):
            yield obj
            return
        for items in record_lists(obj):
            for item in items:
                if not isinstance(item, dict):
                    self.count("json_not_an_object")
                    item = None
                yield item

    def export_over_the_cap(self, start: int, lists: set[str]) -> Iterator[dict[str, Any] | None]:
        """Read the object at `start` again, yielding the items of its lists of records. Under "messages"
        and the other conversation keys, the first item that parses tells a conversation (turns: the
        whole object is one record over the cap) from an export of conversations."""
        judged: set[str] = set()
        with self.second_reader() as stream:
            again = _Scanner(stream, self.scanner.cap)
            again.skip_to(start)
            for key, index, raw in again.member_elements(lists):
                record = self.parsed(raw)
                if record is not None and key in TURN_KEYS and key not in judged:
                    judged.add(key)
                    if _is_turn(record):
                        if index == 0:  # items before this one were counted already
                            self.count("document_too_large")
                        return
                yield record


class _Scanner:
    """Finds where JSON values begin and end in a byte stream without parsing them. Positions are offsets
    in the decompressed stream; the buffer holds only the bytes from the value being captured (`mark`) or,
    when nothing is captured or the capture passed the cap, from the current position."""

    def __init__(self, stream: IO[bytes], cap: int) -> None:
        self.stream, self.cap = stream, cap
        self.buf, self.base, self.pos, self.eof = b"", 0, 0, False
        self.mark: int | None = None  # start of the value being captured
        self.key_start: int | None = None  # start of the object key being read

    # buffer
    def _fill(self) -> bool:
        """Read more of the stream; False at its end. Drops what neither the capture nor pos still needs."""
        if self.eof:
            return False
        if self.mark is not None and self.pos - self.mark > self.cap:
            self.mark = None  # the value is over the cap: stop keeping it, go on only to find its end
        if self.key_start is not None and self.pos - self.key_start > _MAX_KEY_BYTES:
            self.key_start = None
        keep = min(p for p in (self.pos, self.mark, self.key_start) if p is not None)
        drop = min(keep - self.base, len(self.buf))
        kept = self.buf[drop:]
        # doubling (a long capture is copied O(1) times on average), but no further than just past the cap
        chunk = self.stream.read(max(_CHUNK, min(len(kept), self.cap + _CHUNK - len(kept))))
        self.base += drop
        if not chunk:
            self.eof = True
            self.buf = kept
            return False
        self.buf = kept + chunk
        return True

    def _search(self, pattern: re.Pattern, at: int, look_ahead: int = 0) -> re.Match | None:
        """The pattern's first match at or after absolute position `at`, reading more as needed. pos
        follows the search (what it passed may be dropped), except in a look-ahead of at most
        `look_ahead` bytes, which leaves pos where it is."""
        while True:
            if match := pattern.search(self.buf, max(at - self.base, 0)):
                return match
            at = max(at, self.base + len(self.buf))
            if look_ahead:
                if at - self.pos > look_ahead:
                    return None
            else:
                self.pos = max(self.pos, self.base + len(self.buf))
            if not self._fill():
                return None

    def _byte_at(self, index: int) -> int:
        return self.buf[index - self.base]

    def peek(self) -> int | None:
        """Move to the next non-space byte and return it (None at the end of the stream)."""
        match = self._search(_NONSPACE, self.pos)
        if match is None:
            return None
        self.pos = self.base + match.start()
        return match.group()[0]

    def _expect(self, byte: int, what: str) -> None:
        if self.peek() != byte:
            raise BadJson(f"expected {what} at byte {self.pos:,}")
        self.pos += 1

    # values
    def skip_string(self) -> None:
        """pos is on an opening quote: move past the closing one, in pieces (a string may be gigabytes).
        bytes.find (memchr) looks for the quote and the backslashes before it: 10x a regex on long strings."""
        at = self.pos + 1
        while True:
            i = at - self.base
            quote = self.buf.find(b'"', i)
            if quote < 0:
                self.pos = max(self.pos, self.base + len(self.buf))
                if not self._fill():
                    raise BadJson("the file ends inside a string")
                continue
            backslash = self.buf.find(b"\\", i, quote)
            if backslash < 0:
                self.pos = self.base + quote + 1
                return
            # a backslash escapes the next byte (that quote, maybe): step over a window of escapes at a time
            at = self.base + _ESCAPES.match(self.buf, backslash, backslash + _WINDOW).end()

    def skip_value(self) -> None:
        """Move past one complete JSON value (brackets are counted, not matched: a record that is kept is
        checked by the JSON parser)."""
        c = self.peek()
        if c is None:
            raise BadJson("the file ends where a value should be")
        if c == _QUOTE:
            self.skip_string()
            return
        if c not in _OPEN:
            start = self.pos
            match = self._search(_SCALAR_END, start)
            end = self.base + len(self.buf) if match is None else self.base + match.start()
            if end == start:
                raise BadJson(f"unexpected {chr(c)!r} at byte {self.pos:,}")
            self.pos = end
            return
        depth = 0
        while True:
            c = self._next_token()
            if c == _QUOTE:
                self.skip_string()  # the buffer cut this string: read on to its end
                continue
            depth += 1 if c in _OPEN else -1
            self.pos += 1
            if depth == 0:
                return

    def _next_token(self) -> int:
        """Move pos onto the next bracket, or onto the opening quote of a string that the window or the
        buffer cuts, and return that byte."""
        while True:
            at = self.pos - self.base
            if match := _UP_TO_BRACKET.match(self.buf, at, at + _WINDOW):
                self.pos = self.base + match.start(1)
                return match.group(1)[0]
            # no bracket in reach: step to the next bracket or string, reading more (pos follows)
            match = self._search(_BRACKET_OR_QUOTE, self.pos)
            if match is None:
                raise BadJson("the file ends inside an array or object")
            self.pos = self.base + match.start()
            if match.group()[0] != _QUOTE:
                return match.group()[0]
            self.skip_string()

    def _captured(self) -> bytes | None:
        mark, self.mark = self.mark, None
        if mark is None or self.pos - mark > self.cap:
            return None
        return self.buf[mark - self.base : self.pos - self.base]

    def elements(self) -> Iterator[bytes | None]:
        """pos is on '[': each element's bytes (None for one over the cap), then move past ']'."""
        self.pos += 1
        if self.peek() == _CLOSE[0]:
            self.pos += 1
            return
        while True:
            self.peek()
            self.mark = self.pos
            self.skip_value()
            yield self._captured()
            c = self.peek()
            self.pos += 1
            if c == _CLOSE[0]:
                return
            if c != _COMMA:
                raise BadJson(f"expected ',' or ']' after an array element at byte {self.pos - 1:,}")

    def _members(self) -> Iterator[tuple[str | None, int]]:
        """pos is on '{': yield (key, first byte of its value) with pos on the value, which the caller
        moves past; then move past '}'."""
        self.pos += 1
        if self.peek() == _CLOSE[1]:
            self.pos += 1
            return
        while True:
            if self.peek() != _QUOTE:
                raise BadJson(f"expected a key at byte {self.pos:,}")
            start = self.key_start = self.pos
            self.skip_string()
            key = None
            if self.key_start is not None:
                try:
                    key = orjson.loads(self.buf[start - self.base : self.pos - self.base])
                except orjson.JSONDecodeError:
                    key = None
            self.key_start = None
            self._expect(_COLON, "':'")
            yield key, self.peek()
            c = self.peek()
            self.pos += 1
            if c == _CLOSE[1]:
                return
            if c != _COMMA:
                raise BadJson(f"expected ',' or '}}' after a member at byte {self.pos - 1:,}")

    def _value_kind(self) -> str:
        """pos is on a value: "string", "records" (an array whose first element is an object) or "other"."""
        first = self._byte_at(self.pos)
        if first == _QUOTE:
            return "string"
        if first != _OPEN[0]:
            return "other"
        match = self._search(_NONSPACE, self.pos + 1, look_ahead=_MAX_KEY_BYTES)
        return "records" if match is not None and match.group()[0] == _OPEN[1] else "other"

    def object_with_keys(self) -> tuple[bytes | None, dict[str, str]]:
        """pos is on '{': the object's bytes (None over the cap) and the kind of each key's value."""
        self.mark = self.pos
        keys: dict[str, str] = {}
        for key, _ in self._members():
            kind = self._value_kind()
            self.skip_value()
            if key is not None:
                keys[key] = kind
        return self._captured(), keys

    def skip_to(self, position: int) -> None:
        """Read forward (dropping what is read) to the absolute position."""
        while self.base + len(self.buf) <= position and not self.eof:
            self.pos = self.base + len(self.buf)
            self._fill()
        self.pos = position

    def member_elements(self, keys: set[str]) -> Iterator[tuple[str, int, bytes | None]]:
        """pos is on '{': (key, index, bytes or None over the cap) for the elements of the arrays under
        `keys`."""
        for key, c in self._members():
            if key in keys and c == _OPEN[0]:
                for index, raw in enumerate(self.elements()):
                    yield key, index, raw
            else:
                self.skip_value()
