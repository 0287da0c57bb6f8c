"""Reading token shards in a trainer: memory-mapped arrays, never loaded whole, and a check that the shards
were made with the tokenizer the model is trained with.

`TokenShards(dir, tokenizer=...)` is the one way in for a trainer: it reads and validates meta.json, refuses
shards made with another tokenizer (one line, both tokenizers named, and what to do), and maps the arrays.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from corpus.errors import InputError
from corpus.tokenization.load import LoadedTokenizer, load_tokenizer
from corpus.tokenization.shards import FORMAT, SPLITS, shards_fingerprint
from corpus.tokenization.source import list_dataset_shards


def read_meta(token_dir: str) -> dict[str, Any]:
    path = os.path.join(token_dir, "meta.json")
    if not os.path.isfile(path):
        raise InputError(f"{token_dir} holds no token shards (no meta.json); run `corpus tokenize` first")
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as err:
        raise InputError(f"{path} cannot be read: {type(err).__name__}") from None
    found = meta.get("format") if isinstance(meta, dict) else None
    if isinstance(found, str) and found.startswith("corpus-tokens/") and found != FORMAT:
        raise InputError(f"{path} is {found}, this corpus reads {FORMAT}: run `corpus tokenize` again")
    if found != FORMAT:
        raise InputError(f"{path} is not a {FORMAT} meta file (format {found!r})")
    return meta


def _same_tokenizer(made_with: dict[str, Any], tok: LoadedTokenizer) -> bool:
    """Same canonical hash, or the same file bytes (should another version of `tokenizers` serialize the same
    file differently); and the same end-of-document id, which a tokenizer_config.json could change."""
    same = made_with.get("sha256") == tok.sha256 or made_with.get("file_sha256") == tok.file_sha256
    return same and made_with.get("eos_id") == tok.eos_id


def check_tokenizer(token_dir: str, tokenizer: str | LoadedTokenizer) -> dict[str, Any]:
    """Refuse token shards made with another tokenizer than `tokenizer` (a path, or one already loaded), with
    a one-line message. Returns the shards' meta.json."""
    meta = read_meta(token_dir)
    tok = tokenizer if isinstance(tokenizer, LoadedTokenizer) else load_tokenizer(tokenizer)
    made_with = meta["tokenizer"]
    if not _same_tokenizer(made_with, tok):
        raise InputError(
            f"token shards {token_dir} were made with another tokenizer: {made_with['path']} "
            f"(sha256 {str(made_with.get('sha256'))[:12]}, eos id {made_with.get('eos_id')}), not {tok.path} "
            f"(sha256 {tok.sha256[:12]}, eos id {tok.eos_id}); train with the shards' tokenizer or run "
            f"`corpus tokenize {meta.get('source_dataset', 'DATASET')} --tokenizer {tok.path} --output {token_dir} "
            "--overwrite`"
        )
    return meta


def shards_current(token_dir: str, dataset_dir: str) -> bool:
    """Whether the token shards were made from the dataset's shards as they are now (same names, sizes and
    modification times): false once the dataset was rewritten without tokenizing again."""
    meta = read_meta(token_dir)
    try:
        shards = list_dataset_shards(dataset_dir)
    except InputError:
        return False
    opts = {k: meta.get(k) for k in ("val_fraction", "seed", "dtype")}
    return shards_fingerprint(shards, meta["tokenizer"]["sha256"], opts) == meta.get("fingerprint")


class TokenShards:
    """`TokenShards(dir, tokenizer=...).train` is the train split's tokens as a read-only np.memmap;
    `.offsets("train")` the document index, `.mask("train")` the loss mask (None when the dataset has no
    conversations). A trainer passes the tokenizer it trains with, so that shards of another are refused;
    tokenizer=None (inspection only) skips that check."""

    def __init__(self, token_dir: str, tokenizer: str | LoadedTokenizer | None = None) -> None:
        self.dir = token_dir
        self.meta = check_tokenizer(token_dir, tokenizer) if tokenizer is not None else read_meta(token_dir)
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
        """UTF-8 bytes of the text the split's tokens decode to (meta.json text_bytes_of says exactly what):
        bits per byte = summed loss over the split's tokens (nats) / ln 2 / text_bytes."""
        return self.meta["splits"][split]["text_bytes"]

    def mask_text_bytes(self, split: str = "train") -> int:
        """UTF-8 bytes of the text under the loss mask: the denominator of bits per byte when the loss is
        summed over masked tokens only (fine-tuning on assistant turns)."""
        return self.meta["splits"][split]["mask_text_bytes"]
