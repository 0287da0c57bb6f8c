"""JSON Lines (.jsonl, .json, optionally .gz / .zst): one document or one conversation per line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any

import orjson

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


def read_jsonl(stream: IO[bytes], count: Callable[[str], None]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, record) per valid line; broken lines are counted, never fatal. Line numbers
    make ids that stay the same when a broken line elsewhere is later repaired."""
    for line_number, line in enumerate(stream):
        line = line.strip()
        if not line:
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            try:  # orjson refuses invalid UTF-8 outright; keep the record with replacement characters
                record = orjson.loads(line.decode("utf-8", errors="replace"))
                count("invalid_encoding")
            except orjson.JSONDecodeError:
                count("bad_json_line")
                continue
        if not isinstance(record, dict):
            count("json_not_an_object")
            continue
        yield line_number, record


def record_fields(record: dict[str, Any]) -> tuple[str | None, list[dict[str, str]] | None]:
    """(text, turns) of a record: turns when it is a conversation, else the first text-like field."""
    for key in TURN_KEYS:
        if key in record:
            return None, normalize_turns(record[key])
    for key in TEXT_KEYS:
        if isinstance(record.get(key), str):
            return record[key], None
    return None, None
