"""File helpers shared by the writers, the dedup index and spills, and the tokenizer."""

from __future__ import annotations

import hashlib

import xxhash


def file_digest(*paths: str, algorithm: str = "sha256") -> str:
    """Hex digest of the files' bytes, in order, read in 8 MiB blocks. sha256 where the digest is published
    (manifests, indexes, tokenizers); xxh3_128 for internal checks, at several GB/s."""
    digest = xxhash.xxh3_128() if algorithm == "xxh3_128" else hashlib.new(algorithm)
    for path in paths:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(2**23), b""):
                digest.update(block)
    return digest.hexdigest()
