"""JSON Lines (.jsonl, .ndjson, and .json files holding lines; optionally .gz / .zst): one document or one
conversation per line, each line read with a size cap."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any

import orjson

UTF8_BOM = b"\xef\xbb\xbf"  # some editors and Windows tools start a UTF-8 file with it
TEXT_KEYS = ("text", "content", "body")
TURN_KEYS = ("messages", "conversations", "turns", "conversation")
ROLE_ALIASES = {
    "human": "user",
    "customer": "user",
    "gpt": "assistant",
    "bot": "assistant",
    "agent": "assistant",
}


def normalize_turns(raw_turns: Any) -> list[dict[str, str]] | None:
    """Accept OpenAI-style {role, content} and ShareGPT-style {from, value} turns; None if malformed."""
    if not isinstance(raw_turns, list) or not raw_turns:
        return None
    turns = []
    for turn in raw_turns:
        if not isinstance(turn, dict):
            return None
        role = turn.get("role", turn.get("from"))
        content = turn.get("content", turn.get("value", turn.get("text")))
        if not isinstance(role, str) or not isinstance(content, str):
            return None
        role = role.strip().lower()
        turns.append({"role": ROLE_ALIASES.get(role, role), "content": content})
    return turns


def read_jsonl(
    stream: IO[bytes], count: Callable[[str], None], max_line_bytes: int = 64 * 2**20
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, record) per valid line; broken lines are counted, never fatal. Line numbers
    make ids that stay the same when a broken line elsewhere is later repaired. A line longer than
    max_line_bytes is skipped unread (counted `document_too_large`): memory stays bounded by the cap even
    when one line of a compressed file holds gigabytes."""
    for line_number, line in enumerate(capped_lines(stream, max_line_bytes)):
        if line is None:
            count("document_too_large")
            continue
        line = line.strip().removeprefix(UTF8_BOM) if line_number == 0 else line.strip()
        if not line:
            continue
        record = parse_record(line, count, "bad_json_line")
        if record is not None:
            yield line_number, record


def capped_lines(stream: IO[bytes], max_line_bytes: int) -> Iterator[bytes | None]:
    """The stream's lines, None for each line longer than max_line_bytes (its bytes read and dropped in
    1 MB pieces, never held whole)."""
    readline = stream.readline
    while line := readline(max_line_bytes + 1):
        if len(line) <= max_line_bytes or line.endswith(b"\n"):
            yield line
            continue
        while (rest := readline(2**20)) and not rest.endswith(b"\n"):
            pass
        yield None


def parse_record(raw: bytes, count: Callable[[str], None], bad_reason: str) -> dict[str, Any] | None:
    """One JSON object, or None with the reason counted (invalid UTF-8 is kept with replacement
    characters and counted as `invalid_encoding`)."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:  # orjson refuses invalid UTF-8 outright; keep the record with replacement characters
            record = orjson.loads(raw.decode("utf-8", errors="replace"))
            count("invalid_encoding")
        except orjson.JSONDecodeError:
            count(bad_reason)
            return None
    if not isinstance(record, dict):
        count("json_not_an_object")
        return None
    return record


def record_fields(record: dict[str, Any]) -> tuple[str | None, list[dict[str, str]] | None]:
    """(text, turns) of a record: turns when it is a conversation, else the first text-like field."""
    for key in TURN_KEYS:
        if key in record:
            return None, normalize_turns(record[key])
    for key in TEXT_KEYS:
        if isinstance(record.get(key), str):
            return record[key], None
    return None, None
