"""Plain-text book dumps: one file per book, Project Gutenberg header and licence stripped when present."""

from __future__ import annotations

import re

_START = re.compile(r"^\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK[^\n]*\*{3}\s*$", re.I | re.M)
_END = re.compile(r"^\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK[^\n]*$", re.I | re.M)
# older Gutenberg files end the text with this line instead of the *** marker
_END_OLD = re.compile(r"^End of (?:the )?Project Gutenberg'?s? [^\n]*$", re.I | re.M)
_TITLE = re.compile(r"^Title:\s*(.+)$", re.M)
_AUTHOR = re.compile(r"^Author:\s*(.+)$", re.M)


def strip_gutenberg(text: str) -> tuple[str, dict[str, str]]:
    """Remove the Gutenberg header (everything up to the START marker) and the licence (from the END
    marker on). Returns the body and the title/author found in the header, if any."""
    meta: dict[str, str] = {}
    start = _START.search(text)
    if not start:
        return text, meta
    header = text[: start.start()]
    for key, pattern in (("title", _TITLE), ("author", _AUTHOR)):
        if match := pattern.search(header):
            meta[key] = match.group(1).strip()
    body = text[start.end() :]
    end = _END.search(body) or _END_OLD.search(body)
    if end:
        body = body[: end.start()]
    meta["gutenberg_stripped"] = "true"
    return body.strip("\n\r "), meta


def chunk_paragraphs(text: str, max_chars: int) -> list[str]:
    """Split a long text at paragraph boundaries into pieces of at most about max_chars."""
    if max_chars <= 0 or len(text) <= max_chars:
        return [text]
    chunks, current, size = [], [], 0
    for paragraph in re.split(r"\n\s*\n", text):
        if current and size + len(paragraph) > max_chars:
            chunks.append("\n\n".join(current))
            current, size = [], 0
        current.append(paragraph)
        size += len(paragraph) + 2
    if current:
        chunks.append("\n\n".join(current))
    return chunks
