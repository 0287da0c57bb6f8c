"""Token counts with a given tokenizer (tokenizer.json, a folder with one, or GPT-2 style vocab.json +
merges.txt). Exact when every document was tokenized; otherwise tokens per byte of the tokenized sample times
the dataset's bytes, marked as an estimate. Tokenizing is the slowest thing a report can do (a few MB/s), so
it stops after `budget_bytes` of text."""

from __future__ import annotations

from typing import Any

import polars as pl

BATCH = 256


def count_tokens(
    path: str, sample: pl.DataFrame, total_bytes: int, total_docs: int, budget_bytes: int
) -> dict[str, Any]:
    from corpus.tokenization import load_tokenizer

    loaded = load_tokenizer(path)
    tokens = docs = done_bytes = 0
    texts = sample["text"].to_list()
    for start in range(0, len(texts), BATCH):
        batch = texts[start : start + BATCH]
        tokens += sum(len(ids) for ids in loaded.encode_batch(batch))
        docs += len(batch)
        done_bytes += sum(len(t.encode("utf-8")) for t in batch)
        if done_bytes >= budget_bytes:
            break
    exact = docs == total_docs and done_bytes == total_bytes
    per_byte = tokens / done_bytes if done_bytes else 0.0
    return {
        "tokenizer": path,
        "sha256": loaded.sha256,
        "vocab_size": loaded.vocab_size,
        "exact": exact,
        "tokens": tokens if exact else round(per_byte * total_bytes),
        "tokens_per_byte": per_byte,
        "tokens_per_document": (tokens / docs) if docs else 0.0,
        "documents_tokenized": docs,
        "bytes_tokenized": done_bytes,
    }
