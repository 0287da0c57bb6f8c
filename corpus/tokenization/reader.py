"""Reading token shards in a trainer: memory-mapped arrays, never loaded whole, and a check that the shards
were made with the tokenizer the model is trained with."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from corpus.errors import InputError
from corpus.tokenization.load import tokenizer_hash
from corpus.tokenization.shards import FORMAT, SPLITS


def read_meta(token_dir: str) -> dict[str, Any]:
    path = os.path.join(token_dir, "meta.json")
    if not os.path.isfile(path):
        raise InputError(f"{token_dir} holds no token shards (no meta.json); run `corpus tokenize` first")
    with open(path, encoding="utf-8") as f:
        meta = json.load(f)
    if meta.get("format") != FORMAT:
        raise InputError(f"{path} is not a {FORMAT} meta file (format {meta.get('format')!r})")
    return meta


def check_tokenizer(token_dir: str, tokenizer_path: str) -> dict[str, Any]:
    """Refuse token shards made with another tokenizer than `tokenizer_path` (compared by content hash).
    Returns the shards' meta.json."""
    meta = read_meta(token_dir)
    made_with = meta["tokenizer"]
    sha = tokenizer_hash(tokenizer_path)
    if sha != made_with["sha256"]:
        raise InputError(
            f"token shards in {token_dir} were made with tokenizer {made_with['path']} "
            f"(sha256 {made_with['sha256'][:12]}), not with {tokenizer_path} (sha256 {sha[:12]}); "
            f"tokenize again with --tokenizer {tokenizer_path} or train with the shards' tokenizer"
        )
    return meta


class TokenShards:
    """`TokenShards(dir).train` is the train split's tokens as a read-only np.memmap; `.offsets("train")`
    the document index, `.mask("train")` the loss mask (None when the dataset has no conversations)."""

    def __init__(self, token_dir: str, tokenizer: str | None = None) -> None:
        self.dir = token_dir
        self.meta = check_tokenizer(token_dir, tokenizer) if tokenizer else read_meta(token_dir)
        self.dtype = np.dtype(self.meta["dtype"])
        self.vocab_size: int = self.meta["tokenizer"]["vocab_size"]
        self.eos_id: int = self.meta["tokenizer"]["eos_id"]

    def _file(self, split: str, kind: str) -> str | None:
        if split not in SPLITS:
            raise InputError(f"unknown split {split!r}; token shards have {', '.join(SPLITS)}")
        name = self.meta["splits"][split]["files"][kind]
        return os.path.join(self.dir, name) if name else None

    def _map(self, path: str, dtype: np.dtype, count: int) -> np.ndarray:
        if count == 0:  # np.memmap refuses empty files
            return np.zeros(0, dtype=dtype)
        array = np.memmap(path, dtype=dtype, mode="r")
        if len(array) != count:
            raise InputError(
                f"{path} has {len(array):,} entries, meta.json says {count:,}: the shards are damaged"
            )
        return array

    def tokens(self, split: str = "train") -> np.ndarray:
        return self._map(self._file(split, "tokens"), self.dtype, self.meta["splits"][split]["tokens"])

    @property
    def train(self) -> np.ndarray:
        return self.tokens("train")

    @property
    def val(self) -> np.ndarray:
        return self.tokens("val")

    def offsets(self, split: str = "train") -> np.ndarray:
        return np.load(self._file(split, "offsets"), mmap_mode="r")

    def mask(self, split: str = "train") -> np.ndarray | None:
        path = self._file(split, "mask")
        return (
            None
            if path is None
            else self._map(path, np.dtype(np.uint8), self.meta["splits"][split]["tokens"])
        )

    def documents(self, split: str = "train") -> int:
        return self.meta["splits"][split]["documents"]

    def document(self, split: str, index: int) -> np.ndarray:
        """Tokens of one document, its end-of-document token included."""
        offsets = self.offsets(split)
        return self.tokens(split)[offsets[index] : offsets[index + 1]]

    def text_bytes(self, split: str = "train") -> int:
        """UTF-8 bytes of the split's text: bits per byte = mean loss (nats/token) * tokens / bytes / ln 2."""
        return self.meta["splits"][split]["text_bytes"]
