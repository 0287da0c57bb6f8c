"""WARC / WARC.gz web dumps: response records only, charset from the HTTP header or the page itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO

from warcio.archiveiterator import ArchiveIterator


def read_warc(
    stream: IO[bytes], count: Callable[[str], None], max_body_bytes: int = 64 * 2**20
) -> Iterator[tuple[str, str, bytes, str | None]]:
    """Yield (record_id, url, payload, content_type) for each HTTP response with a body. A body longer than
    max_body_bytes is counted `document_too_large` after reading one byte past the cap; warcio then skips
    the rest of the record in 16 kB pieces, so a record of any size costs at most the cap in memory."""
    for record in ArchiveIterator(stream):
        if record.rec_type != "response":
            count(f"warc_{record.rec_type}_record_skipped")
            continue
        http = record.http_headers
        content_type = http.get_header("Content-Type") if http else None
        if content_type and not any(t in content_type.lower() for t in ("html", "xml", "text/plain")):
            count("warc_non_html_response")
            continue
        if http is not None and (status := http.get_statuscode()) and not status.startswith("2"):
            count("warc_non_200_response")
            continue
        payload = record.content_stream().read(max_body_bytes + 1)
        if len(payload) > max_body_bytes:
            count("document_too_large")
            continue
        yield (
            record.rec_headers.get_header("WARC-Record-ID") or "",
            record.rec_headers.get_header("WARC-Target-URI") or "",
            payload,
            content_type,
        )
