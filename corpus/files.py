"""File helpers shared by the writers, the dedup index and spills, and the tokenizer."""

from __future__ import annotations

import hashlib
import os

import xxhash


def write_atomic(path: str, data: str | bytes) -> None:
    """Write a whole file atomically: a temporary file beside it, then a rename, so a reader (or a crash)
    never sees half of it."""
    tmp = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


def file_digest(*paths: str, algorithm: str = "sha256") -> str:
    """Hex digest of the files' bytes, in order, read in 8 MiB blocks. sha256 where the digest is published
    (manifests, indexes, tokenizers); xxh3_128 for internal checks, at several GB/s."""
    digest = xxhash.xxh3_128() if algorithm == "xxh3_128" else hashlib.new(algorithm)
    for path in paths:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(2**23), b""):
                digest.update(block)
    return digest.hexdigest()
