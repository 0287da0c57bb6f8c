"""Token counts with a given tokenizer (tokenizer.json, a folder with one, or GPT-2 style vocab.json +
merges.txt). Exact when every document was tokenized; otherwise tokens per byte of the tokenized sample times
the dataset's bytes, marked as an estimate. Tokenizing is the slowest thing a report can do (a few MB/s), so
it stops after `budget_bytes` of text."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import polars as pl

from corpus.errors import InputError

BATCH = 256


def count_tokens(
    path: str, sample: pl.DataFrame, total_bytes: int, total_docs: int, budget_bytes: int
) -> dict[str, Any]:
    encode, sha256, vocab_size = _load(path)
    tokens = docs = done_bytes = 0
    texts = sample["text"].to_list()
    for start in range(0, len(texts), BATCH):
        batch = texts[start : start + BATCH]
        tokens += sum(len(ids) for ids in encode(batch))
        docs += len(batch)
        done_bytes += sum(len(t.encode("utf-8")) for t in batch)
        if done_bytes >= budget_bytes:
            break
    exact = docs == total_docs and done_bytes == total_bytes
    per_byte = tokens / done_bytes if done_bytes else 0.0
    note = (
        ""
        if exact
        else f"estimated: tokens per byte of the first {docs:,} sampled documents times the text size"
    )
    return {
        "note": note,
        "tokenizer": path,
        "sha256": sha256,
        "vocab_size": vocab_size,
        "exact": exact,
        "tokens": tokens if exact else round(per_byte * total_bytes),
        "tokens_per_byte": per_byte,
        "tokens_per_document": (tokens / docs) if docs else 0.0,
        "documents_tokenized": docs,
        "bytes_tokenized": done_bytes,
    }


def _load(path: str) -> tuple[Callable[[list[str]], list[list[int]]], str, int]:
    """(encode_batch, sha256, vocab size). corpus's loader first (it also reads GPT-2 style folders); a
    tokenizer.json it refuses for training reasons (no end-of-document token) still counts tokens."""
    from corpus.tokenization import load_tokenizer
    from corpus.tokenization.load import file_sha256

    try:
        loaded = load_tokenizer(path)
        return loaded.encode_batch, loaded.sha256, loaded.vocab_size
    except InputError:
        json_path = path if os.path.isfile(path) else os.path.join(path, "tokenizer.json")
        if not os.path.isfile(json_path):
            raise
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(json_path)  # load_tokenizer just opened it, so it parses
    tok.encode_special_tokens = True  # special-token strings inside a text are counted as text

    def encode(texts: list[str]) -> list[list[int]]:
        return [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]

    return encode, file_sha256(json_path), tok.get_vocab_size(with_added_tokens=True)
