"""The one schema every dataset written by corpus has, and the conversions between rows and datatrove Documents.

Columns: id, text, source, url (null when unknown), metadata (a JSON object as a string, so that documents with
different keys still share one schema), turns (list of {role, content} for conversations, null otherwise).
Any reader of Parquet or Arrow (pyarrow, polars, Hugging Face `datasets`) opens it without corpus installed.
"""

from __future__ import annotations

from typing import Any

import orjson
import pyarrow as pa
from datatrove.data import Document

TURN_TYPE = pa.struct([("role", pa.string()), ("content", pa.string())])

SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.string()),
        ("source", pa.string()),
        ("url", pa.string()),
        ("metadata", pa.string()),
        ("turns", pa.list_(TURN_TYPE)),
    ]
)

# metadata keys that travel through a run but are never written out
_PRIVATE_PREFIX = "_"


def doc_to_row(doc: Document) -> dict[str, Any]:
    meta = {k: v for k, v in doc.metadata.items() if not k.startswith(_PRIVATE_PREFIX)}
    source = meta.pop("source", "")
    url = meta.pop("url", None)
    turns = meta.pop("turns", None)
    return {
        "id": doc.id,
        "text": doc.text,
        "source": source,
        "url": url,
        "metadata": orjson.dumps(meta, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode(),
        "turns": turns,
    }


def row_to_doc(row: dict[str, Any]) -> Document:
    meta = orjson.loads(row["metadata"]) if row.get("metadata") else {}
    meta["source"] = row.get("source") or ""
    if row.get("url"):
        meta["url"] = row["url"]
    if row.get("turns") is not None:
        meta["turns"] = [dict(t) for t in row["turns"]]
    return Document(text=row["text"], id=row["id"], metadata=meta)


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def render_turns(turns: list[dict[str, str]]) -> str:
    """The plain-text form of a conversation: one block per turn, role first."""
    return "\n\n".join(f"{t['role']}: {t['content']}" for t in turns)
