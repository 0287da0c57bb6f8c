"""Input: resolve a file, folder or glob to a sorted file list, and read each file as a stream of Documents.

One reader step handles every format, chosen per file by its extension (or forced by `format`), so a folder
that mixes HTML pages, books and chat logs is one input. Files are dealt to tasks round-robin by their
sorted position: the set of tasks, and so the output, never depends on the number of workers.
"""

from __future__ import annotations

import codecs
import errno
import gzip
import io
import os
import stat
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import orjson
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import zstandard
from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep

from corpus.errors import InputError, RecipeError
from corpus.readers.decode import (
    charset_from_content_type,
    decode_with_codec,
    keep_utf8,
    looks_binary,
)
from corpus.readers.json_records import is_json_lines, read_json_records
from corpus.readers.jsonl import read_jsonl, record_fields
from corpus.readers.text import chunk_paragraphs, strip_gutenberg
from corpus.readers.warc import read_warc
from corpus.schema import SCHEMA, render_turns, row_to_doc

FORMATS = ("auto", "jsonl", "json", "parquet", "arrow", "text", "html", "warc")

_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".json": "json",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
    ".txt": "text",
    ".text": "text",
    ".md": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".warc": "warc",
}
_COMPRESSION = (".gz", ".zst", ".zstd")


def detect_format(path: str) -> str | None:
    name = path.lower()
    for suffix in _COMPRESSION:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith(".warc"):
        return "warc"
    return _EXTENSIONS.get(os.path.splitext(name)[1])


def list_input_files(input_path: str, fmt: str = "auto") -> tuple[str, list[str]]:
    """Return (root, sorted relative file paths) for a file, a folder (recursively) or a glob."""
    if any(ch in input_path for ch in "*?["):
        matches = _glob_files(input_path)
        root = (os.path.commonpath([os.path.dirname(p) for p in matches]) if matches else "") or "."
        files = [os.path.relpath(p, root) for p in matches]
    elif os.path.isfile(input_path):
        root, files = os.path.dirname(input_path) or ".", [os.path.basename(input_path)]
    elif os.path.isdir(input_path):
        root = input_path
        files = sorted(
            os.path.relpath(os.path.join(d, f), root)
            for d, dirs, names in os.walk(input_path)
            for f in names
            if not f.startswith(".")
            and not any(part.startswith(".") for part in Path(d).relative_to(input_path).parts)
        )
    else:
        raise InputError(f"input not found: {input_path}")
    if fmt == "auto":
        files = [f for f in files if detect_format(f)]
    if not files:
        raise InputError(
            f"no readable input files under {input_path} (format {fmt}; known: {', '.join(sorted(set(_EXTENSIONS)))})"
        )
    return root, files


def _glob_files(pattern: str) -> list[str]:
    """The files a glob matches, sorted. Symlinked folders are not followed under `**` (glob.glob follows
    them, and a link to `.` or `..` in the input then never ends); a dangling symlink is listed like a file,
    so that the reader counts it instead of it vanishing; hidden names only where the pattern names them."""
    parts = Path(pattern).parts
    first_wild = next(i for i, part in enumerate(parts) if any(ch in part for ch in "*?["))
    base = Path(*parts[:first_wild]) if first_wild else Path(".")
    rest = Path(*parts[first_wild:])
    hidden_ok = any(part.startswith(".") and part not in (".", "..") for part in rest.parts)
    return sorted(
        str(p)
        for p in base.glob(str(rest))
        if (hidden_ok or not any(part.startswith(".") for part in p.relative_to(base).parts))
        and (p.is_file() or _dangling_link(str(p)))
    )


def _open_decompressed(raw: IO[bytes], path: str) -> IO[bytes]:
    name = path.lower()
    if name.endswith(".gz"):
        return gzip.GzipFile(fileobj=raw)
    if name.endswith((".zst", ".zstd")):
        # closefd=False: the .json reader opens a second stream over the same file
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=False)
        return io.BufferedReader(reader)
    return raw


def _open_json(raw: IO[bytes], path: str) -> IO[bytes]:
    """A JSON or JSON Lines file as UTF-8 bytes: one saved as UTF-16 or UTF-32 with a byte order mark (as
    Windows PowerShell writes exports) is decoded on the fly, a piece at a time."""
    stream = _open_decompressed(raw, path)
    head = stream.peek(4)[:4]
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return io.BufferedReader(_Utf8Transcoder(stream, "utf-32"))
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return io.BufferedReader(_Utf8Transcoder(stream, "utf-16"))
    return stream


class _Utf8Transcoder(io.RawIOBase):
    """Reads a stream in a BOM-marked Unicode encoding (the codec reads the mark) as UTF-8 bytes."""

    def __init__(self, stream: IO[bytes], codec: str) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder(codec)(errors="replace")
        self.pending, self.offset = b"", 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self.offset == len(self.pending):
            chunk = self.stream.read(2**16)
            self.pending, self.offset = self.decoder.decode(chunk, final=not chunk).encode("utf-8"), 0
            if not chunk:
                break
        n = min(len(buffer), len(self.pending) - self.offset)
        buffer[:n] = self.pending[self.offset : self.offset + n]
        self.offset += n
        return n


class InputReader(PipelineStep):
    """Reads the task's share of the input files and yields raw Documents (HTML pages still as HTML)."""

    name = "read"
    type = "corpus"

    def __init__(
        self,
        root: str,
        files: list[str],
        format: str = "auto",
        text_key: str | None = None,
        chunk_chars: int = 0,
        strip_gutenberg_boilerplate: bool = True,
        max_document_bytes: int = 64 * 2**20,
        progress_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.validate_options(
            {"max_document_bytes": max_document_bytes, "chunk_chars": chunk_chars, "text_key": text_key}
        )
        self.root, self.files, self.format = root, files, format
        self.text_key = text_key
        self.chunk_chars = chunk_chars
        self.strip_gutenberg = strip_gutenberg_boilerplate
        self.max_document_bytes = max_document_bytes
        self.progress_dir = progress_dir

    def __repr__(self) -> str:
        return self.name

    def count(self, reason: str) -> None:
        self.stat_update(reason)

    @classmethod
    def validate_options(cls, options: dict) -> None:
        """Refuse input options that would make every file unreadable, before any work starts."""
        limit = options.get("max_document_bytes", 1)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise RecipeError(f"input: max_document_bytes must be a positive number of bytes, got {limit!r}")
        chunk = options.get("chunk_chars", 0)
        if not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 0:
            raise RecipeError(
                f"input: chunk_chars must be 0 (no chunking) or a positive integer, got {chunk!r}"
            )
        text_key = options.get("text_key")
        if text_key is not None and (not isinstance(text_key, str) or not text_key):
            raise RecipeError(f"input: text_key must be a column or field name, got {text_key!r}")

    def run(self, data=None, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        mine = self.files[rank::world_size]
        sizes = {rel: _size(os.path.join(self.root, rel)) for rel in mine}
        progress = _Progress(self.progress_dir, rank, sum(sizes.values()))
        done_bytes = 0
        for rel in mine:
            path = os.path.join(self.root, rel)
            fmt = self.format if self.format != "auto" else detect_format(rel)
            try:
                raw = _open_regular(path)
            except OSError as err:  # gone, a dangling link or a loop, no permission, a folder or a pipe now
                self.count(_open_failure(err))
                _warn(f"{rel}: not read, {err.strerror or err}")
                continue
            with raw:
                # progress is written outside the try: a full disk there is the run's failure, not the file's
                for doc in self._read_counted(raw, rel, fmt):
                    self.stat_update("documents")
                    progress.update(1, done_bytes + raw.tell())
                    yield doc
            done_bytes += sizes[rel]
            self.stat_update("files")
        progress.update(0, done_bytes, done=True)

    def _read_counted(self, raw: IO[bytes], rel: str, fmt: str) -> Iterator[Document]:
        """The file's documents; damage that ends the file early is counted and what came before it kept."""
        try:
            yield from self._read_file(raw, rel, fmt)
        except (EOFError, zlib.error, zstandard.ZstdError, gzip.BadGzipFile) as err:
            self.count("truncated_or_corrupt_compressed_file")
            _warn(f"{rel}: stopped reading, {type(err).__name__}: {err}")
        except (pa.ArrowInvalid, OSError) as err:
            self.count("unreadable_file")
            _warn(f"{rel}: {type(err).__name__}: {err}")
        except Exception as err:  # warcio raises its own ArchiveLoadFailed on broken archives
            if type(err).__name__ != "ArchiveLoadFailed":
                raise
            self.count("truncated_or_corrupt_compressed_file")
            _warn(f"{rel}: {err}")

    # one generator per format; each yields finished Documents and counts what it skips
    def _read_file(self, raw: IO[bytes], rel: str, fmt: str) -> Iterator[Document]:
        if fmt == "jsonl":
            yield from self._read_jsonl(_open_json(raw, rel), rel)
        elif fmt == "json":
            yield from self._read_json(raw, rel)
        elif fmt == "parquet":
            yield from self._read_table(pq.ParquetFile(raw).iter_batches(batch_size=1024), rel)
        elif fmt == "arrow":
            yield from self._read_table(_arrow_batches(raw), rel)
        elif fmt == "warc":
            records = read_warc(_open_decompressed(raw, rel), self.count, self.max_document_bytes)
            for record_id, url, payload, content_type in records:
                doc_id = f"{rel}#{record_id.strip('<>').removeprefix('urn:uuid:')}"
                doc = self._html_document(payload, doc_id, rel, charset_from_content_type(content_type))
                if doc:
                    doc.metadata["url"] = url
                    yield doc
        elif fmt == "html":
            doc = self._html_document(self._whole(raw, rel), rel, rel, None)
            if doc:
                yield doc
        else:
            yield from self._read_text(self._whole(raw, rel), rel)

    def _whole(self, raw: IO[bytes], rel: str) -> bytes:
        """The file's bytes (up to one past the size limit). A truncated or corrupt compressed file gives what
        was decompressed before the damage, counted as truncated_or_corrupt_compressed_file: a cut book
        keeps its first chapters instead of vanishing."""
        stream, chunks, size = _open_decompressed(raw, rel), [], 0
        try:
            while size <= self.max_document_bytes and (
                chunk := stream.read(min(2**20, self.max_document_bytes + 1 - size))
            ):
                chunks.append(chunk)
                size += len(chunk)
        except (EOFError, zlib.error, zstandard.ZstdError, gzip.BadGzipFile) as err:
            data = b"".join(chunks)
            if rel.lower().endswith(".gz"):  # GzipFile drops the chunk it was decoding; zlib keeps it
                raw.seek(0)
                salvaged = zlib.decompressobj(wbits=31).decompress(raw.read(), self.max_document_bytes + 1)
                data = salvaged if len(salvaged) > len(data) else data
            self.count("truncated_or_corrupt_compressed_file")
            _warn(f"{rel}: kept the {len(data):,} bytes before the damage, {type(err).__name__}: {err}")
            return data
        return b"".join(chunks)

    def _check_bytes(self, payload: bytes) -> str | None:
        if not payload.strip():
            return "empty_document"
        if len(payload) > self.max_document_bytes:
            return "document_too_large"
        if looks_binary(payload):
            return "binary_content"
        return None

    def _html_document(self, payload: bytes, doc_id: str, rel: str, charset: str | None) -> Document | None:
        if reason := self._check_bytes(payload):
            self.count(reason)
            return None
        html, clean, codec = decode_with_codec(payload, charset, sniff_html=True)
        if not clean:
            self.count("invalid_encoding")
        doc = Document(text=html, id=doc_id, metadata={"source": rel, "content_type": "html"})
        if codec == "utf-8":
            keep_utf8(doc, payload)
        return doc

    def _read_text(self, payload: bytes, rel: str) -> Iterator[Document]:
        if reason := self._check_bytes(payload):
            self.count(reason)
            return
        text, clean, codec = decode_with_codec(payload)
        if not clean:
            self.count("invalid_encoding")
        elif codec == "cp1252":  # not UTF-8: read as windows-1252, a guess worth a count
            self.count("decoded_as_cp1252")
        meta: dict[str, str] = {}
        if self.strip_gutenberg:
            text, meta = strip_gutenberg(text)
        meta.setdefault("title", _stem(rel))
        chunks = chunk_paragraphs(text, self.chunk_chars)
        for i, chunk in enumerate(chunks):
            doc_id = rel if len(chunks) == 1 else f"{rel}#{i}"
            extra = {"chunk": i} if len(chunks) > 1 else {}
            yield Document(
                text=chunk, id=doc_id, metadata={"source": rel, "content_type": "text", **meta, **extra}
            )

    def _read_jsonl(self, stream: IO[bytes], rel: str) -> Iterator[Document]:
        for n, record in read_jsonl(stream, self.count, self.max_document_bytes):
            doc = self._record_document(record, f"{rel}#{n}", rel)
            if doc:
                yield doc

    def _read_json(self, raw: IO[bytes], rel: str) -> Iterator[Document]:
        """A .json file: JSON Lines when its first line is a record, else an export of records (an array,
        or an object holding lists of records), read one record at a time."""
        lines = is_json_lines(_open_json(raw, rel), self.max_document_bytes, self._is_record)
        raw.seek(0)
        if lines:
            yield from self._read_jsonl(_open_json(raw, rel), rel)
            return

        @contextmanager
        def second_reader() -> Iterator[IO[bytes]]:  # its own handle: the first read goes on after it
            with open(os.path.join(self.root, rel), "rb") as again:
                yield _open_json(again, rel)

        stream = _open_json(raw, rel)
        records = read_json_records(
            stream, second_reader, self.count, self.max_document_bytes, self._is_record
        )
        for n, record in records:
            doc = self._record_document(record, f"{rel}#{n}", rel)
            if doc:
                yield doc

    def _is_record(self, obj: dict) -> bool:
        """A JSON object that is one document or conversation (not an export holding lists of them)."""
        if self.text_key:
            return isinstance(obj.get(self.text_key), str)
        return record_fields(obj) != (None, None)

    def _record_document(self, record: dict, default_id: str, rel: str) -> Document | None:
        if self.text_key:
            text, turns = (
                (record.get(self.text_key) if isinstance(record.get(self.text_key), str) else None),
                None,
            )
        else:
            text, turns = record_fields(record)
        if turns is None and text is None:
            self.count("record_without_text")
            return None
        meta = {
            k: v
            for k, v in record.items()
            if k
            not in ("id", "text", "content", "body", "messages", "conversations", "turns", "conversation")
        }
        meta.setdefault("source", rel)
        if turns is not None:
            text = render_turns(turns)
            meta["turns"], meta["content_type"] = turns, "chat"
        else:
            meta.setdefault("content_type", "text")
        if not text.strip() or (turns is not None and not any(t["content"].strip() for t in turns)):
            self.count("empty_document")
            return None
        if self._too_large(text):  # a table cell (a JSON line is capped before it is parsed)
            self.count("document_too_large")
            return None
        doc_id = str(record["id"]) if record.get("id") not in (None, "") else default_id
        return Document(text=text, id=doc_id, metadata=meta)

    def _read_table(self, batches, rel: str) -> Iterator[Document]:
        offset = 0
        for batch in batches:
            native = set(SCHEMA.names) <= set(batch.schema.names)
            for i, row in enumerate(batch.to_pylist()):
                if native:  # a dataset written by corpus: round-trip it exactly
                    if doc := self._native_document(row, f"{rel}#{offset + i}"):
                        yield doc
                else:
                    doc = self._record_document(row, f"{rel}#{offset + i}", rel)
                    if doc:
                        yield doc
            offset += batch.num_rows

    def _too_large(self, text: str) -> bool:
        """More than max_document_bytes in UTF-8 (encoded only when the length says it may be)."""
        cap = self.max_document_bytes
        return len(text) > cap or (len(text) * 4 > cap and len(text.encode("utf-8", "surrogatepass")) > cap)

    def _native_document(self, row: dict, default_id: str) -> Document | None:
        """A row of a table with corpus's columns. Its `metadata` must be a JSON object; when it is not
        (a table written by another tool), the row is kept with the string under metadata["metadata"]."""
        if not row.get("text"):
            self.count("empty_document")
            return None
        if not isinstance(row["text"], str):
            self.count("record_without_text")
            return None
        if self._too_large(row["text"]):
            self.count("document_too_large")
            return None
        raw_meta = row.get("metadata")
        try:
            meta = orjson.loads(raw_meta) if raw_meta else {}
        except (orjson.JSONDecodeError, TypeError):
            meta = None
        if not isinstance(meta, dict):
            self.count("metadata_not_a_json_object")
            row = {**row, "metadata": orjson.dumps({"metadata": raw_meta}).decode()}
        doc = row_to_doc({**row, "id": row["id"] if row.get("id") not in (None, "") else default_id})
        doc.metadata.setdefault("content_type", "chat" if row.get("turns") else "text")
        return doc


def _stem(rel: str) -> str:
    """The file name without its compression and format extensions: books/a.txt.gz -> a."""
    name = Path(rel).name
    for suffix in _COMPRESSION:
        name = name.removesuffix(suffix)
    return Path(name).stem


def _arrow_batches(raw: IO[bytes]):
    try:
        reader = ipc.open_file(raw)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)
    except pa.ArrowInvalid:
        raw.seek(0)
        yield from ipc.open_stream(raw)


def _size(path: str) -> int:
    """The file's size for progress, 0 when it cannot be read (the read then counts why)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _dangling_link(path: str) -> bool:
    return os.path.islink(path) and not os.path.exists(path)


class NotARegularFile(OSError):
    pass


def _open_regular(path: str) -> IO[bytes]:
    """Open a regular file for reading. A named pipe or a device in the input (opening a pipe would wait
    for a writer forever) or a folder is refused with NotARegularFile."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # O_NONBLOCK: a pipe opens at once; a file ignores it
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotARegularFile(errno.EINVAL, "not a regular file (a folder, a pipe or a device)", path)
    return os.fdopen(fd, "rb")


def _open_failure(err: OSError) -> str:
    """The counter for a file that could not be opened."""
    if isinstance(err, NotARegularFile):
        return "not_a_regular_file"
    if err.errno == errno.ELOOP:
        return "symlink_loop"
    if err.errno == errno.ENOENT:
        return "dangling_symlink" if err.filename and os.path.islink(err.filename) else "file_vanished"
    if err.errno in (errno.EACCES, errno.EPERM):
        return "permission_denied"
    return "unreadable_file"


def _warn(message: str) -> None:
    from datatrove.utils.logging import logger

    logger.warning(message)


class _Progress:
    """Each task writes its progress to a small JSON file at most every 2 s; the driver sums them."""

    def __init__(self, folder: str | None, rank: int, total_bytes: int) -> None:
        self.path = os.path.join(folder, f"{rank:05d}.json") if folder else None
        self.total_bytes, self.docs, self.last = total_bytes, 0, 0.0

    def update(self, docs: int, done_bytes: int, done: bool = False) -> None:
        self.docs += docs
        now = time.monotonic()
        if not self.path or (not done and now - self.last < 2.0):
            return
        self.last = now
        import orjson

        tmp = self.path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(
                orjson.dumps(
                    {"docs": self.docs, "bytes": done_bytes, "total_bytes": self.total_bytes, "done": done}
                )
            )
        os.replace(tmp, self.path)
