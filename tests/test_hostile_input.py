"""Hostile and careless input: decompression bombs stay within bounded memory, files that break while the
run reads them are counted by reason, and every valid record around them still comes through.

Each bomb is generated here (gzip or zstd of repeated bytes, or a sparse file): a few MB on disk at most.
Peak memory is measured in a child process (resource.getrusage of the child), with a generous bound.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import zstandard

from corpus.readers import InputReader, list_input_files

BOMB_BYTES = 384 * 2**20  # one record of this size; reading it whole took 4x to 14x as much (before the caps)
RSS_BOUND_MB = 600
REPO = Path(__file__).resolve().parents[1]


def _stream_gzip(path: Path, parts: list[bytes | tuple[bytes, int]]) -> None:
    """Write a gzip file from parts; a (byte, n) part is that byte repeated n times, compressed 1 MB at a
    time so that neither the test nor the file ever holds it."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    with open(path, "wb") as out:
        for part in parts:
            if isinstance(part, tuple):
                byte, n = part
                block = byte * 2**20
                for _ in range(n // 2**20):
                    out.write(compressor.compress(block))
                out.write(compressor.compress(byte * (n % 2**20)))
            else:
                out.write(compressor.compress(part))
        out.write(compressor.flush())


def _stream_zstd(path: Path, parts: list[bytes | tuple[bytes, int]]) -> None:
    with open(path, "wb") as out, zstandard.ZstdCompressor(level=1).stream_writer(out) as writer:
        for part in parts:
            if isinstance(part, tuple):
                byte, n = part
                block = byte * 2**20
                for _ in range(n // 2**20):
                    writer.write(block)
                writer.write(byte * (n % 2**20))
            else:
                writer.write(part)


def _line(text: str, **extra) -> bytes:
    return json.dumps({"text": text, **extra}).encode() + b"\n"


def _warc_record(uri: str, http_headers: bytes, body: bytes | tuple[bytes, int]) -> list:
    body_len = body[1] if isinstance(body, tuple) else len(body)
    header = (
        b"WARC/1.0\r\nWARC-Type: response\r\n"
        + f"WARC-Record-ID: <urn:uuid:{abs(hash(uri)):032x}>\r\nWARC-Target-URI: {uri}\r\n".encode()
        + b"Content-Type: application/http; msgtype=response\r\n"
        + f"Content-Length: {len(http_headers) + body_len}\r\n\r\n".encode()
    )
    return [header, http_headers, body, b"\r\n\r\n"]


HTTP_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"


def make_bomb(kind: str, folder: Path, size: int = BOMB_BYTES) -> Path:
    """A file holding a valid record, one record of `size` bytes, and another valid record."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "jsonl.gz":
        path = folder / "bomb.jsonl.gz"
        _stream_gzip(
            path, [_line("before the bomb"), b'{"text": "', (b"a", size), b'"}\n', _line("after it")]
        )
    elif kind == "jsonl.zst":
        path = folder / "bomb.jsonl.zst"
        _stream_zstd(
            path, [_line("before the bomb"), b'{"text": "', (b"a", size), b'"}\n', _line("after it")]
        )
    elif kind == "jsonl":  # plain text: a sparse file, the bomb line is a hole of NUL bytes
        path = folder / "bomb.jsonl"
        with open(path, "wb") as f:
            f.write(_line("before the bomb") + b'{"text": "')
            f.seek(size, os.SEEK_CUR)
            f.write(b'"}\n' + _line("after it"))
    elif kind == "json.gz":  # an export: an object holding one list of records
        path = folder / "bomb.json.gz"
        _stream_gzip(
            path,
            [b'{"version": 1, "data": [{"text": "before the bomb"}, {"id": "big", "text": "', (b"a", size)]
            + [b'"}, {"text": "after it"}]}\n'],
        )
    elif kind == "json-escapes.gz":  # a string of escapes, each of which a regex engine would keep state for
        path = folder / "escapes.json.gz"
        _stream_gzip(
            path,
            [b'[{"text": "before the bomb"}, {"text": "', (b"\\n", size // 2), b'"}, {"text": "after it"}]'],
        )
    elif kind == "json-numbers.gz":  # a record holding a list of half a billion numbers
        path = folder / "numbers.json.gz"
        _stream_gzip(
            path,
            [
                b'[{"text": "before the bomb"}, {"text": "x", "v": [',
                (b"1,", size // 2),
                b'1]}, {"text": "after it"}]',
            ],
        )
    elif kind == "warc.gz":
        path = folder / "bomb.warc.gz"
        page = b"<html><body><p>A page before the bomb.</p></body></html>"
        after = b"<html><body><p>A page after it.</p></body></html>"
        _stream_gzip(
            path,
            _warc_record("http://example.com/before", HTTP_OK, page)
            + _warc_record("http://example.com/bomb", HTTP_OK, (b"a", size))
            + _warc_record("http://example.com/after", HTTP_OK, after),
        )
    else:
        raise ValueError(kind)
    return path


def read_all(root, **opts):
    root, files = list_input_files(str(root))
    reader = InputReader(root, files, **opts)
    docs = list(reader.run(None, 0, 1))
    return docs, {k: v.total for k, v in reader.stats.stats.items()}


# The child's own peak is VmHWM, the high-water mark of the memory it runs in. Not ru_maxrss: Linux carries
# that across exec from the process that forked the child, so in a child of a large pytest process it
# would report pytest's peak.
_CHILD = """
import json, sys
from corpus.readers import InputReader, list_input_files
root, files = list_input_files(sys.argv[1])
reader = InputReader(root, files)
texts = [d.text[:100] for d in reader.run(None, 0, 1)]
counters = {k: v.total for k, v in reader.stats.stats.items()}
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({"texts": texts, "counters": counters, "peak_mb": int(status["VmHWM"].split()[0]) / 1024}))
"""


def read_in_child(path: Path, pythonpath: str | None = None) -> dict:
    """Read a file with the default options in a fresh interpreter: its counters, texts and peak RSS."""
    env = {**os.environ, "PYTHONPATH": pythonpath} if pythonpath else None
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True,
        text=True,
        cwd=pythonpath or REPO,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind", ["jsonl.gz", "jsonl.zst", "jsonl", "json.gz", "json-escapes.gz", "json-numbers.gz", "warc.gz"]
)
def test_bomb_is_counted_and_memory_stays_bounded(kind, tmp_path):
    path = make_bomb(kind, tmp_path)
    assert path.stat().st_blocks * 512 < 8 * 2**20  # small on disk
    out = read_in_child(path)
    assert out["counters"]["document_too_large"] == 1
    assert out["counters"]["documents"] == 2
    assert any("before the bomb" in t for t in out["texts"]) and any("after it" in t for t in out["texts"])
    assert out["peak_mb"] < RSS_BOUND_MB, out["peak_mb"]


def _good(folder: Path, name: str, text: str) -> None:
    (folder / name).write_bytes(_line(text))


def test_links_to_nothing_and_loops_are_counted(tmp_path):
    _good(tmp_path, "a.jsonl", "first")
    _good(tmp_path, "z.jsonl", "last")
    (tmp_path / "dangling.jsonl").symlink_to(tmp_path / "deleted-long-ago.jsonl")
    (tmp_path / "loop1.jsonl").symlink_to(tmp_path / "loop2.jsonl")
    (tmp_path / "loop2.jsonl").symlink_to(tmp_path / "loop1.jsonl")
    for listing in (str(tmp_path), str(tmp_path / "*.jsonl")):  # a folder and a glob list them alike
        root, files = list_input_files(listing)
        assert files == ["a.jsonl", "dangling.jsonl", "loop1.jsonl", "loop2.jsonl", "z.jsonl"]
        reader = InputReader(root, files)
        docs = list(reader.run(None, 0, 1))
        counters = {k: v.total for k, v in reader.stats.stats.items()}
        assert [d.text for d in docs] == ["first", "last"]
        assert counters["dangling_symlink"] == 1 and counters["symlink_loop"] == 2
        assert counters["files"] == 2


def test_files_that_vanish_or_change_while_the_run_reads(tmp_path):
    for name in ("a.jsonl", "b.jsonl", "c.jsonl", "d.jsonl"):
        _good(tmp_path, name, f"text of {name}")
    root, files = list_input_files(str(tmp_path))
    reader = InputReader(root, files)
    docs = reader.run(None, 0, 1)
    first = next(docs)  # a.jsonl is being read: now b is deleted and c becomes a folder
    (tmp_path / "b.jsonl").unlink()
    (tmp_path / "c.jsonl").unlink()
    (tmp_path / "c.jsonl").mkdir()
    rest = list(docs)
    counters = {k: v.total for k, v in reader.stats.stats.items()}
    assert [first.text] + [d.text for d in rest] == ["text of a.jsonl", "text of d.jsonl"]
    assert counters["file_vanished"] == 1 and counters["not_a_regular_file"] == 1


def test_a_named_pipe_in_the_input_is_counted_not_waited_on(tmp_path):
    _good(tmp_path, "a.jsonl", "first")
    os.mkfifo(tmp_path / "b.jsonl")  # opening it for reading would wait for a writer forever
    _good(tmp_path, "c.jsonl", "last")
    code = (
        "import sys; from corpus.readers import InputReader, list_input_files\n"
        "root, files = list_input_files(sys.argv[1]); r = InputReader(root, files)\n"
        "print([d.text for d in r.run(None, 0, 1)], r.stats.stats['not_a_regular_file'].total)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert result.stdout.strip() == "['first', 'last'] 1", result.stderr[-2000:]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_unreadable_file_is_counted(tmp_path):
    _good(tmp_path, "a.jsonl", "readable")
    _good(tmp_path, "b.jsonl", "locked")
    (tmp_path / "b.jsonl").chmod(0)
    docs, counters = read_all(tmp_path)
    assert [d.text for d in docs] == ["readable"] and counters["permission_denied"] == 1


def test_a_full_disk_for_progress_is_not_an_unreadable_input(tmp_path):
    """The progress file is the run's own output: failing to write it stops the run (the CLI reports it),
    it is never counted against the input file being read."""
    _good(tmp_path, "a.jsonl", "text")
    root, files = list_input_files(str(tmp_path / "a.jsonl"))
    reader = InputReader(root, files, progress_dir=str(tmp_path / "no-such-folder"))
    with pytest.raises(FileNotFoundError):
        list(reader.run(None, 0, 1))
    assert "unreadable_file" not in reader.stats.stats


def test_open_failures_are_named():
    """Root (as in CI containers) reads a file whatever its mode, so the permission case is also checked
    on the error itself."""
    import errno

    from corpus.readers import _open_failure

    assert _open_failure(PermissionError(errno.EACCES, "Permission denied")) == "permission_denied"
    assert _open_failure(OSError(errno.ELOOP, "Too many levels of symbolic links")) == "symlink_loop"
    assert _open_failure(FileNotFoundError(errno.ENOENT, "No such file")) == "file_vanished"
    assert _open_failure(OSError(errno.EIO, "Input/output error")) == "unreadable_file"


def test_a_glob_over_folders_linked_in_a_loop_ends(tmp_path):
    """`**` does not follow symlinked folders: with links to `.` and `..` inside the input, glob.glob walked
    2^40 paths (the same file listed under each). Listed in a child process, so a regression fails on the
    timeout instead of hanging the suite."""
    folder = tmp_path / "d"
    (folder / "sub").mkdir(parents=True)
    _good(folder, "a.jsonl", "top")
    _good(folder / "sub", "b.jsonl", "nested")
    (folder / "loop").symlink_to(".")
    (folder / "sub" / "up").symlink_to("..")
    (folder / ".hidden.jsonl").write_bytes(_line("hidden"))
    code = "import sys; from corpus.readers import list_input_files; print(list_input_files(sys.argv[1])[1])"
    for pattern in ("d/**/*.jsonl", "*/**/*.jsonl", "d/*/*.jsonl"):
        result = subprocess.run(
            [sys.executable, "-c", code, pattern], capture_output=True, text=True, cwd=tmp_path, timeout=60
        )
        assert result.returncode == 0, result.stderr[-2000:]
        # one level of `*` goes through a link, as a shell does; `**` does not
        expected = ["loop/a.jsonl", "sub/b.jsonl"] if pattern == "d/*/*.jsonl" else ["a.jsonl", "sub/b.jsonl"]
        assert result.stdout.strip() == str(expected), pattern
