"""Training a byte-level BPE tokenizer on a corpus dataset, streaming its shards batch by batch.

The result is a folder that both `tokenizers` (tokenizer.json) and transformers' AutoTokenizer /
PreTrainedTokenizerFast (tokenizer_config.json with the chat template, special_tokens_map.json) load offline.
Byte-level BPE with no normalizer is lossless: decode(encode(text)) == text for any text.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from typing import Any

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

from corpus.errors import InputError, OutputError
from corpus.files import file_digest
from corpus.tokenization.chat import CHAT_TEMPLATE
from corpus.tokenization.load import BOS, EOS, HASH_OF, PAD, SPECIAL_TOKENS, tokenizer_hash
from corpus.tokenization.source import list_dataset_shards, plan_units, read_unit

MIN_VOCAB = 256 + len(SPECIAL_TOKENS)  # every byte, plus the special tokens
ROLE_TOKENS = [t for t in SPECIAL_TOKENS if t not in (BOS, EOS, PAD)]


def _training_texts(
    shards: list[str], seen: dict[str, int], max_documents: int | None
) -> Iterator[list[str]]:
    """Batches of strings: document texts, and for conversations each turn's content (the role markers are
    special tokens, so the model's text pieces are learned from what people actually wrote)."""
    for unit in plan_units(shards):
        for batch in read_unit(unit):
            if max_documents is not None and seen["documents"] >= max_documents:
                return
            if max_documents is not None:
                batch = batch.slice(0, max_documents - seen["documents"])
            texts = batch.column("text").to_pylist()
            turns = (
                batch.column("turns").to_pylist() if "turns" in batch.schema.names else [None] * len(texts)
            )
            out = []
            for text, chat in zip(texts, turns):
                if chat:
                    out.extend(t["content"] for t in chat if t.get("content"))
                elif text:
                    out.append(text)
            seen["documents"] += batch.num_rows
            seen["text_bytes"] += sum(len(s.encode("utf-8")) for s in out)
            yield out


def new_bpe() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def save_folder(tok: Tokenizer, folder: str, info: dict[str, Any]) -> None:
    """tokenizer.json + the transformers config files + training.json (what it was trained on)."""
    os.makedirs(folder, exist_ok=True)
    tok.save(os.path.join(folder, "tokenizer.json"))
    special = {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD, "additional_special_tokens": ROLE_TOKENS}
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **special,
        "unk_token": None,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "chat_template": CHAT_TEMPLATE,
    }
    for name, data in (
        ("tokenizer_config.json", config),
        ("special_tokens_map.json", special),
        ("training.json", _with_hashes(info, os.path.join(folder, "tokenizer.json"))),
    ):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False)
            f.write("\n")


def _with_hashes(info: dict[str, Any], json_path: str) -> dict[str, Any]:
    """The hash token shards will record for this tokenizer (the same as `corpus tokenizer info`)."""
    return {
        **info,
        "sha256": tokenizer_hash(json_path),
        "hash_of": HASH_OF,
        "file_sha256": file_digest(json_path),
    }


def _check_output(output_dir: str, shards: list[str], dataset_dir: str, overwrite: bool) -> None:
    """Before training: the output is not the dataset, holds no part of it, is empty or (with overwrite) a
    folder a corpus command made, and can be created. The tokenizer is written to a temporary folder that
    then replaces the output, so everything is checked first."""
    from corpus.output import check_creatable, check_replaceable, check_separate, folder_inputs
    from corpus.tokenization.source import data_folder

    check_separate(output_dir, folder_inputs(data_folder(dataset_dir), shards), "the dataset")
    if os.path.isdir(output_dir) and os.listdir(output_dir) and not overwrite:
        raise OutputError(f"output {output_dir} is not empty; use another --output or --overwrite")
    if overwrite:
        check_replaceable(output_dir)
    check_creatable(output_dir)


def train_tokenizer(
    dataset_dir: str,
    vocab_size: int,
    output_dir: str,
    min_frequency: int = 2,
    max_documents: int | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train a byte-level BPE tokenizer on a dataset and save it as a tokenizer folder. Returns training.json."""
    if vocab_size < MIN_VOCAB:
        raise InputError(
            f"--vocab-size must be at least {MIN_VOCAB} (256 bytes + {len(SPECIAL_TOKENS)} special tokens)"
        )
    if vocab_size > 2**32:
        raise InputError(f"--vocab-size {vocab_size} is too large for uint32 token shards")
    shards = list_dataset_shards(dataset_dir)
    _check_output(output_dir, shards, dataset_dir, overwrite)
    started = time.monotonic()
    tok = new_bpe()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    seen = {"documents": 0, "text_bytes": 0}
    tok.train_from_iterator(_training_texts(shards, seen, max_documents), trainer=trainer)
    if seen["text_bytes"] == 0:
        raise InputError(f"dataset {dataset_dir} has no text to train a tokenizer on")
    info = {
        "dataset": os.path.abspath(dataset_dir),
        "shards": len(shards),
        "documents": seen["documents"],
        "text_bytes": seen["text_bytes"],
        "vocab_size_requested": vocab_size,
        "vocab_size": tok.get_vocab_size(with_added_tokens=True),
        "min_frequency": min_frequency,
        "special_tokens": list(SPECIAL_TOKENS),
        "elapsed_s": round(time.monotonic() - started, 3),
    }
    # build next to the target and rename, so a killed run never leaves a folder that looks finished
    tmp = os.path.join(
        os.path.dirname(os.path.abspath(output_dir)), f".{os.path.basename(output_dir)}.tmp-{os.getpid()}"
    )
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        save_folder(tok, tmp, info)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # a full disk leaves no half-written folder behind
        raise
    if os.path.isdir(output_dir):
        shutil.rmtree(output_dir)
    os.replace(tmp, output_dir)
    with open(os.path.join(output_dir, "training.json"), encoding="utf-8") as f:
        return json.load(f)
