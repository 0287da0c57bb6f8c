"""Token counts, from one of two places:
- `shard_tokens`: the token shards a run already wrote (the `tokenize` step's output, DATASET/tokens by
  default, found through stats.json or by looking for a meta.json in the dataset's folders): exact totals per
  split read from meta.json, nothing tokenized again. Shards made from other shards than the dataset's current
  ones are still reported, marked `current: false` (the report warns).
- `count_tokens`: a given tokenizer (tokenizer.json, a folder with one, or GPT-2 style vocab.json +
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
DEFAULT_TOKEN_DIR = "tokens"  # the tokenize step's default output, relative to the run's output
SPLIT_KEYS = ("tokens", "documents", "text_bytes", "mask_text_bytes", "tokens_per_byte")


def _token_dirs(dataset_dir: str, stats: dict[str, Any] | None) -> list[tuple[str, bool]]:
    """(folder, expected) where token shards of this dataset may be, most likely first: the outputs stats.json
    names and DATASET/tokens (expected: a meta.json there that cannot be read is a problem), then any other
    folder of the dataset with a meta.json (which may belong to something else)."""
    expected = []
    for step in (stats or {}).get("steps") or []:
        if isinstance(step, dict) and step.get("name") == "tokenize" and isinstance(step.get("output"), str):
            expected.append(os.path.join(dataset_dir, step["output"]))  # join keeps an absolute output as is
    expected.append(os.path.join(dataset_dir, DEFAULT_TOKEN_DIR))
    others = sorted(
        os.path.join(dataset_dir, d)
        for d in os.listdir(dataset_dir)
        if not d.startswith(".") and os.path.isdir(os.path.join(dataset_dir, d))
    )
    found: list[tuple[str, bool]] = []
    for path, flag in [(p, True) for p in expected] + [(p, False) for p in others]:
        if os.path.isfile(os.path.join(path, "meta.json")) and all(path != f for f, _ in found):
            found.append((path, flag))
    return found


def shard_tokens(
    dataset_dir: str, stats: dict[str, Any] | None, problems: list[str]
) -> dict[str, Any] | None:
    """The token totals of the dataset's token shards (see the module docstring), or None when it has none.
    Expected token shards whose meta.json cannot be used are named in `problems`."""
    from corpus.tokenization.reader import read_meta, shards_current

    if not os.path.isdir(dataset_dir):
        return None
    for token_dir, expected in _token_dirs(dataset_dir, stats):
        try:
            meta = read_meta(token_dir)
        except InputError as err:
            if expected:
                problems.append(f"token shards left out: {err}")
            continue
        return _from_meta(meta, token_dir, shards_current(token_dir, dataset_dir))
    return None


def _from_meta(meta: dict[str, Any], token_dir: str, current: bool) -> dict[str, Any]:
    splits = {name: {k: split.get(k) for k in SPLIT_KEYS} for name, split in meta["splits"].items()}
    text_bytes = sum(s["text_bytes"] or 0 for s in splits.values())
    tokens, documents = int(meta["tokens"]), int(meta["documents"])
    tok = meta["tokenizer"]
    return {
        "origin": "token shards",
        "path": os.path.abspath(token_dir),
        "note": f"read from {os.path.basename(token_dir)}/meta.json (tokens include one end-of-document token "
        "per document)",
        "current": current,
        "tokenizer": tok["path"],
        "sha256": tok["sha256"],
        "vocab_size": tok["vocab_size"],
        "dtype": meta["dtype"],
        "exact": True,
        "tokens": tokens,
        "documents_tokenized": documents,
        "bytes_tokenized": text_bytes,
        "text_bytes_of": meta.get("text_bytes_of"),
        "tokens_per_byte": tokens / text_bytes if text_bytes else 0.0,
        "tokens_per_document": tokens / documents if documents else 0.0,
        "splits": splits,
        "skipped": meta.get("skipped", {}),
        "has_mask": bool(meta.get("has_mask")),
    }


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
        "origin": "tokenizer",
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
    from corpus.tokenization.load import canonical_sha256

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

    return encode, canonical_sha256(tok), tok.get_vocab_size(with_added_tokens=True)
