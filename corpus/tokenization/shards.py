"""`corpus tokenize`: a dataset becomes flat token arrays, one per split, ready to memory-map in a trainer.

Output folder:
    train.bin, val.bin            every document's tokens followed by the end-of-document token (uint16/uint32)
    train.idx.npy, val.idx.npy    int64 offsets, documents+1 of them: document i is bin[idx[i]:idx[i+1]]
    train.mask.bin, val.mask.bin  uint8 loss mask, only when the dataset has conversations (1 = train on it)
    meta.json                     tokenizer hash, vocabulary, dtype, counts, UTF-8 bytes per split, ...

Bytes for bits per byte: a split's `text_bytes` are the UTF-8 bytes of the text its tokens decode to, the
end-of-document tokens excluded (TEXT_BYTES_OF). For a plain document that is its text; for a conversation it
is the rendered chat template that was encoded (<|bos|>, role markers, contents, <|end|>), not the `text`
column (corpus's plain-text rendering, which the model never sees), so tokens and bytes describe the same
string. `mask_text_bytes` count only the text under the loss mask (MASK_TEXT_BYTES_OF), the denominator when
the loss is taken on the mask only (fine-tuning on assistant turns).

Work is cut into units (see source.py); each unit is tokenized by one worker into `.parts/<unit>.npz`,
written atomically, so an interrupted run redoes only the missing units. The parts are then concatenated in
unit order, so the output is byte-identical whatever the number of workers.

The split is by document: a document goes to validation when the hash of its id (seeded) falls below
val_fraction, so adding documents never moves the others from one split to the other.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from corpus.errors import CorpusError, InputError, OutputError
from corpus.output import check_not_file, check_separate, clear_output, create_output, folder_inputs
from corpus.tokenization.chat import chat_bytes, encode_chats
from corpus.tokenization.load import HASH_OF, ROLES, LoadedTokenizer, load_tokenizer
from corpus.tokenization.source import (
    UNIT_BYTES,
    UNIT_ROWS,
    Unit,
    data_folder,
    list_dataset_shards,
    plan_units,
    read_unit,
)

FORMAT = "corpus-tokens/2"  # 2: text_bytes of conversations count the rendered template; mask_text_bytes
SPLITS = ("train", "val")
DTYPES = {"uint16": np.uint16, "uint32": np.uint32}
PARTS = ".parts"
TEXT_BYTES_OF = (
    "UTF-8 bytes of the text the tokens decode to, end-of-document tokens excluded: a plain document's text; "
    "a conversation's rendered chat template (bos, role markers, contents, <|end|>), as encoded"
)
MASK_TEXT_BYTES_OF = (
    "UTF-8 bytes of the text under the loss mask: all of a plain document; a conversation's assistant "
    "contents and their <|end|> markers"
)


def choose_dtype(vocab_size: int, requested: str = "auto") -> str:
    """uint16 when every id fits, else uint32; a forced dtype too small for the vocabulary is refused."""
    if requested == "auto":
        return "uint16" if vocab_size <= 2**16 else "uint32"
    if requested not in DTYPES:
        raise InputError(f"--dtype must be auto, uint16 or uint32, not {requested!r}")
    limit = int(np.iinfo(DTYPES[requested]).max) + 1
    if vocab_size > limit:
        raise InputError(
            f"the tokenizer's vocabulary ({vocab_size:,} ids) does not fit in {requested} (at most {limit:,}); "
            "use --dtype uint32 or auto"
        )
    return requested


def is_validation(key: str, seed: int, fraction: float) -> bool:
    if fraction <= 0:
        return False
    return xxhash.xxh3_64_intdigest(key.encode("utf-8", "surrogatepass"), seed=seed) < fraction * 2**64


# --- one unit -------------------------------------------------------------------------------------------


class _SplitBuffer:
    """Tokens of one split of one unit, as a flat list; chat masks kept sparse (plain documents train on
    every token, so only conversations need explicit mask values)."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.lengths: list[int] = []
        self.chat_masks: list[tuple[int, list[int]]] = []
        self.text_bytes = 0
        self.mask_text_bytes = 0

    def add(
        self, ids: list[int], eos: int, text_bytes: int, mask: list[int] | None = None, mask_bytes: int = 0
    ) -> None:
        """One document; mask and mask_bytes only for conversations (plain documents train on all of it)."""
        if mask is not None:
            self.chat_masks.append((len(self.ids), mask + [0]))  # no loss on the boundary after a chat
        self.ids += ids
        self.ids.append(eos)
        self.lengths.append(len(ids) + 1)
        self.text_bytes += text_bytes
        self.mask_text_bytes += text_bytes if mask is None else mask_bytes

    def arrays(self, dtype: str, prefix: str) -> dict[str, np.ndarray]:
        out = {
            f"{prefix}_tokens": np.array(self.ids, dtype=DTYPES[dtype]),
            f"{prefix}_lengths": np.array(self.lengths, dtype=np.int64),
        }
        if self.chat_masks:
            mask = np.ones(len(self.ids), dtype=np.uint8)
            for start, values in self.chat_masks:
                mask[start : start + len(values)] = values
            out[f"{prefix}_mask"] = mask
        return out


def _row_keys(batch: pa.RecordBatch, texts: list[str | None]) -> list[str]:
    """What decides a document's split: its id, or its text when the id is missing."""
    if "id" not in batch.schema.names:
        return [t or "" for t in texts]
    return [i if i is not None else (t or "") for i, t in zip(batch.column("id").to_pylist(), texts)]


def _tokenize_batch(
    batch: pa.RecordBatch,
    tok: LoadedTokenizer,
    opts: dict[str, Any],
    bufs: dict[str, _SplitBuffer],
    counters: dict,
) -> None:
    n = batch.num_rows
    texts = batch.column("text").to_pylist()
    turns = batch.column("turns") if "turns" in batch.schema.names else None
    chats = turns.to_pylist() if turns is not None and turns.null_count < n else [None] * n
    text_bytes = pc.binary_length(batch.column("text")).fill_null(0).to_pylist()
    keys = _row_keys(batch, texts)
    plain_rows = [i for i in range(n) if not chats[i]]
    chat_rows = [i for i in range(n) if chats[i]]
    plain = dict(zip(plain_rows, tok.encode_batch([texts[i] or "" for i in plain_rows])))
    chat = dict(zip(chat_rows, encode_chats(tok, [chats[i] for i in chat_rows]))) if chat_rows else {}
    for i in range(n):
        buf = bufs["val" if is_validation(keys[i], opts["seed"], opts["val_fraction"]) else "train"]
        if i in plain:
            if not plain[i]:
                counters["encodes_to_nothing"] = counters.get("encodes_to_nothing", 0) + 1
                continue
            buf.add(plain[i], tok.eos_id, text_bytes[i])
            continue
        if chat[i] is None:
            counters["empty_conversation"] = counters.get("empty_conversation", 0) + 1
            continue
        if any(t.get("role") not in ROLES for t in chats[i]):
            counters["conversation_with_other_role"] = counters.get("conversation_with_other_role", 0) + 1
        ids, mask = chat[i]
        rendered, trained = chat_bytes(tok, chats[i])
        buf.add(ids, tok.eos_id, rendered, mask, trained)
        counters["conversations"] = counters.get("conversations", 0) + 1


def tokenize_unit(unit: Unit, tok: LoadedTokenizer, opts: dict[str, Any], parts_dir: str) -> dict[str, Any]:
    """Tokenize one unit into parts_dir/<unit>.npz (atomically); returns its counts."""
    bufs = {split: _SplitBuffer() for split in SPLITS}
    counters: dict[str, int] = {}
    for batch in read_unit(unit):
        _tokenize_batch(batch, tok, opts, bufs, counters)
    return write_part(parts_dir, unit.name, bufs, counters, opts["dtype"])


def write_part(
    parts_dir: str, name: str, bufs: dict[str, _SplitBuffer], counters: dict[str, int], dtype: Any
) -> dict[str, Any]:
    """One unit's token buffers as parts_dir/<name>.npz (atomically), in the layout the merge step reads;
    returns its counts."""
    arrays: dict[str, np.ndarray] = {}
    info: dict[str, Any] = {"unit": name, "counters": counters, "splits": {}}
    for split, buf in bufs.items():
        arrays.update(buf.arrays(dtype, split))
        info["splits"][split] = {
            "tokens": len(buf.ids),
            "documents": len(buf.lengths),
            "text_bytes": buf.text_bytes,
            "mask_text_bytes": buf.mask_text_bytes,
            "conversations": len(buf.chat_masks),
        }
    arrays["info"] = np.frombuffer(json.dumps(info).encode(), dtype=np.uint8)
    path = os.path.join(parts_dir, name + ".npz")
    tmp = os.path.join(parts_dir, f".{name}.npz.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)
    return info


def read_part_info(path: str) -> dict[str, Any]:
    with np.load(path) as part:
        return json.loads(part["info"].tobytes())


# --- workers --------------------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}  # set in the parent before forking, so workers inherit the loaded tokenizer


def _work(unit: Unit) -> dict[str, Any]:
    return tokenize_unit(unit, _WORKER["tok"], _WORKER["opts"], _WORKER["parts_dir"])


@contextlib.contextmanager
def _one_thread_per_worker() -> Iterator[None]:
    """Each worker encodes on one thread: `workers` means cores, and forked processes must not inherit an
    already-started Rust thread pool (tokenizers warns and disables it)."""
    before = os.environ.get("TOKENIZERS_PARALLELISM")
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TOKENIZERS_PARALLELISM", None)
        else:
            os.environ["TOKENIZERS_PARALLELISM"] = before


def _run_units(todo: list[Unit], workers: int) -> Iterator[dict[str, Any]]:
    with _one_thread_per_worker():
        if workers == 1 or len(todo) <= 1:
            for unit in todo:
                yield _work(unit)
            return
        # units finish in any order (load balancing); the merge restores the fixed unit order. A pool that
        # loses a worker (killed, out of memory) raises instead of waiting forever like multiprocessing.Pool.
        pool = ProcessPoolExecutor(min(workers, len(todo)), mp_context=get_context("fork"))
        try:
            for future in as_completed([pool.submit(_work, unit) for unit in todo]):
                yield future.result()
        except BrokenProcessPool:
            raise CorpusError(
                "a tokenize worker died (killed or out of memory); finished units are kept: run again to resume"
            ) from None
        finally:
            pool.shutdown(cancel_futures=True)


# --- merge and meta -------------------------------------------------------------------------------------


def _atomic_write(path: str, write: Callable[[io.BufferedWriter], None]) -> None:
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        write(f)
    os.replace(tmp, path)


def _merge_split(out_dir: str, parts: list[str], split: str, with_mask: bool) -> None:
    """Concatenate the units' arrays of one split in unit order; offsets rebased onto the merged array."""
    offsets = [np.zeros(1, dtype=np.int64)]
    total = 0

    def tokens(f: io.BufferedWriter) -> None:
        nonlocal total
        for path in parts:
            with np.load(path) as part:
                f.write(part[f"{split}_tokens"].tobytes())
                lengths = part[f"{split}_lengths"]
                offsets.append(total + np.cumsum(lengths))
                total += int(lengths.sum())

    def mask(f: io.BufferedWriter) -> None:
        for path in parts:
            with np.load(path) as part:
                key = f"{split}_mask"
                # units without conversations train on every token
                f.write(
                    part[key].tobytes()
                    if key in part.files
                    else np.ones(len(part[f"{split}_tokens"]), np.uint8).tobytes()
                )

    _atomic_write(os.path.join(out_dir, f"{split}.bin"), tokens)
    _atomic_write(os.path.join(out_dir, f"{split}.idx.npy"), lambda f: np.save(f, np.concatenate(offsets)))
    if with_mask:
        _atomic_write(os.path.join(out_dir, f"{split}.mask.bin"), mask)


def _sum_infos(infos: list[dict[str, Any]]) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    keys = ("tokens", "documents", "text_bytes", "mask_text_bytes", "conversations")
    splits = {s: dict.fromkeys(keys, 0) for s in SPLITS}
    counters: dict[str, int] = {}
    for info in infos:
        for split in SPLITS:
            for key, value in info["splits"][split].items():
                splits[split][key] += value
        for key, value in info["counters"].items():
            counters[key] = counters.get(key, 0) + value
    return splits, counters


def shards_fingerprint(shards: list[str], tokenizer_sha256: str, opts: dict[str, Any]) -> str:
    """What the output depends on: the shards (name, size, mtime), the tokenizer and the options. Also how a
    reader (the report) tells whether token shards still match their dataset's current shards."""
    stats = [(os.path.basename(p), os.path.getsize(p), os.stat(p).st_mtime_ns) for p in shards]
    data = {
        "format": FORMAT,
        "shards": stats,
        "tokenizer": tokenizer_sha256,
        "units": [UNIT_ROWS, UNIT_BYTES],
        **opts,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _files_present(out_dir: str, meta: dict[str, Any]) -> bool:
    names = [n for s in meta.get("splits", {}).values() for n in s.get("files", {}).values() if n]
    return bool(names) and all(os.path.isfile(os.path.join(out_dir, n)) for n in names)


def _prepare_output(
    out_dir: str, dataset_dir: str, fingerprint: str, overwrite: bool
) -> dict[str, Any] | None:
    """Refuse to clobber what is not ours; return the meta of an identical finished run (nothing to do)."""
    shards = list_dataset_shards(dataset_dir)
    check_separate(out_dir, folder_inputs(data_folder(dataset_dir), shards), what="the dataset")
    check_not_file(out_dir)
    meta_path = os.path.join(out_dir, "meta.json")
    if os.path.isfile(meta_path):
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
        if meta.get("fingerprint") == fingerprint and _files_present(out_dir, meta):
            return meta  # the same inputs and options always give the same shards: nothing to redo
        if not overwrite:
            raise OutputError(
                f"output {out_dir} holds token shards of another dataset, tokenizer or split; "
                "use another --output or --overwrite"
            )
        clear_output(out_dir)
    elif os.path.isdir(out_dir) and set(os.listdir(out_dir)) - {PARTS}:
        if not overwrite:
            raise OutputError(
                f"output {out_dir} is not empty and holds no token shards; use another --output or --overwrite"
            )
        clear_output(out_dir)  # refuses a folder that no corpus command made
    parts_dir = os.path.join(out_dir, PARTS)
    run_file = os.path.join(parts_dir, "run.json")
    if os.path.isfile(run_file):
        with open(run_file, encoding="utf-8") as f:
            if json.load(f).get("fingerprint") != fingerprint:
                shutil.rmtree(parts_dir)  # an unfinished run with other inputs or options: nothing to reuse
    create_output(out_dir)
    os.makedirs(parts_dir, exist_ok=True)
    _atomic_write(run_file, lambda f: f.write(json.dumps({"fingerprint": fingerprint}).encode()))
    return None


def tokenize_dataset(
    dataset_dir: str,
    tokenizer_path: str,
    output_dir: str,
    workers: int = 1,
    val_fraction: float = 0.01,
    seed: int = 0,
    dtype: str = "auto",
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Tokenize a dataset into token shards (see the module docstring). Returns meta.json plus run timings."""
    if workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    if not 0 <= val_fraction < 1:
        raise InputError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    started = time.monotonic()
    shards = list_dataset_shards(dataset_dir)
    tok = load_tokenizer(tokenizer_path)
    opts = {
        "val_fraction": float(val_fraction),
        "seed": int(seed),
        "dtype": choose_dtype(tok.vocab_size, dtype),
    }
    fingerprint = shards_fingerprint(shards, tok.sha256, opts)
    done = _prepare_output(output_dir, dataset_dir, fingerprint, overwrite)
    if done is not None:
        return {**done, "resumed_units": done["units"], "elapsed_s": 0.0, "already_done": True}

    units = plan_units(shards)
    parts_dir = os.path.join(output_dir, PARTS)
    paths = [os.path.join(parts_dir, u.name + ".npz") for u in units]
    todo = [u for u, p in zip(units, paths) if not os.path.isfile(p)]
    _WORKER.update(tok=tok, opts=opts, parts_dir=parts_dir)
    try:
        for finished, _ in enumerate(_run_units(todo, workers), 1):
            if progress:
                progress(len(units) - len(todo) + finished, len(units))
    finally:
        _WORKER.clear()

    infos = [read_part_info(p) for p in paths]
    splits, counters = _sum_infos(infos)
    with_mask = any(splits[s]["conversations"] for s in SPLITS)
    for split in SPLITS:
        _merge_split(output_dir, paths, split, with_mask)
    meta = _meta(dataset_dir, shards, tok, opts, fingerprint, splits, counters, with_mask, len(units))
    _atomic_write(
        os.path.join(output_dir, "meta.json"), lambda f: f.write(json.dumps(meta, indent=2).encode() + b"\n")
    )
    shutil.rmtree(parts_dir)
    elapsed = time.monotonic() - started
    total_tokens = sum(splits[s]["tokens"] for s in SPLITS)
    return {
        **meta,
        "resumed_units": len(units) - len(todo),
        "elapsed_s": round(elapsed, 3),
        "tokens_per_s": round(total_tokens / elapsed, 1) if elapsed > 0 else None,
    }


def _meta(
    dataset_dir: str,
    shards: list[str],
    tok: LoadedTokenizer,
    opts: dict[str, Any],
    fingerprint: str,
    splits: dict[str, dict[str, int]],
    counters: dict[str, int],
    with_mask: bool,
    units: int,
) -> dict[str, Any]:
    for split, info in splits.items():
        info["files"] = {
            "tokens": f"{split}.bin",
            "offsets": f"{split}.idx.npy",
            "mask": f"{split}.mask.bin" if with_mask else None,
        }
        # tokens include one end-of-document token per document; bits per byte = loss_nats * tokens / bytes / ln 2
        info["tokens_per_byte"] = (
            round(info["tokens"] / info["text_bytes"], 6) if info["text_bytes"] else None
        )
    return {
        "format": FORMAT,
        "source_dataset": os.path.abspath(dataset_dir),
        "input_shards": [os.path.relpath(p, dataset_dir) for p in shards],
        "tokenizer": {
            "path": os.path.abspath(tok.path),
            "sha256": tok.sha256,
            "hash_of": HASH_OF,
            "file_sha256": tok.file_sha256,
            "vocab_size": tok.vocab_size,
            "eos_token": tok.eos_token,
            "eos_id": tok.eos_id,
            "bos_token": tok.bos_token,
            "bos_id": tok.bos_id,
        },
        "dtype": opts["dtype"],
        "val_fraction": opts["val_fraction"],
        "seed": opts["seed"],
        "split_by": "xxh3_64(document id, seed) < val_fraction * 2**64",
        "documents": sum(s["documents"] for s in splits.values()),
        "tokens": sum(s["tokens"] for s in splits.values()),
        "text_bytes_of": TEXT_BYTES_OF,
        "mask_text_bytes_of": MASK_TEXT_BYTES_OF,
        "splits": splits,
        "skipped": {
            k: v for k, v in sorted(counters.items()) if k in ("encodes_to_nothing", "empty_conversation")
        },
        "counters": dict(sorted(counters.items())),
        "has_mask": with_mask,
        "units": units,
        "fingerprint": fingerprint,
    }
