"""Supervised fine-tuning on conversations: the pretraining loop with a loss mask and packed chats.

    finetune("runs/tiny", "chats/", "runs/tiny-sft", load_config("finetune", []), lora=True)

MODEL is a trainer run or a local Hugging Face Llama folder. CHATS is a prepared chat dataset (`corpus
prepare chat`: a `turns` column of {role, content}) or token shards made with the model's tokenizer. A dataset
is checked conversation by conversation (bad ones are counted under a reason and skipped, never fatal; one
longer than the context is cut after its last assistant turn that fits), written to RUN/chats and tokenized
with the model's tokenizer into RUN/data (trainer/chat_data.py): the model's own chat template renders the
conversations (corpus's <|bos|><|user|>...<|end|> when the tokenizer has none, and then the run's tokenizer
carries it), the loss mask keeps only the assistant replies as the template writes them, and conversations go
to the held-out split by the hash of their id. Training packs several conversations per window with
`doc_attention`, so none attends to another, and then runs `trainer.train.train` from the model (resume,
checkpoints, early stopping and report as in pretraining). With LoRA (peft) only adapters train; checkpoints
hold the merged weights, so every other command loads the result as a plain model.
"""

from __future__ import annotations

import filecmp
import glob
import json
import os
import shutil
import sys
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from corpus.errors import InputError
from corpus.files import write_atomic
from corpus.tokenization import CHAT_TEMPLATE
from corpus.tokenization.source import list_dataset_shards
from trainer.chat_data import CorpusChats, TemplateChats, chat_encoder, write_chat_shards
from trainer.checkpoint import load_model
from trainer.hf import set_chat_template
from trainer.train import TrainConfig, train

ChatEncoder = CorpusChats | TemplateChats

ROLES = ("system", "user", "assistant")


def conversation_problem(turns: list[dict[str, Any]] | None) -> str | None:
    """Why a conversation cannot be trained on, or None: an optional system turn, then user and assistant
    turns alternating from a user turn, none empty, at least one reply."""
    if not turns:
        return "empty_conversation"
    if any(not (t.get("content") or "").strip() for t in turns):
        return "empty_turn"
    roles = [t.get("role") for t in turns]
    if any(r not in ROLES for r in roles):
        return "unknown_role"
    body = roles[1:] if roles[0] == "system" else roles
    if "assistant" not in body:
        return "no_assistant_turn"
    if any(r != ("user" if i % 2 == 0 else "assistant") for i, r in enumerate(body)):
        return "roles_out_of_order"
    return None


def filter_chats(
    dataset: str, out_dir: str, tokenizer_dir: str, max_tokens: int, encoder: ChatEncoder | None = None
) -> dict[str, int]:
    """Write the trainable conversations of `dataset` to out_dir/data.parquet; counts per reason. One longer
    than max_tokens is cut after its last assistant turn that fits (truncated_at_turn), skipped only when its
    first exchange does not (too_long)."""
    encoder = encoder or chat_encoder(tokenizer_dir)
    shards = list_dataset_shards(dataset)
    keep: dict[str, list] = {"id": [], "text": [], "turns": []}
    counts = {"conversations": 0, "kept": 0}
    for path in shards:
        table = pq.read_table(path) if path.endswith(".parquet") else pa.ipc.open_file(path).read_all()
        if "turns" not in table.schema.names:
            raise InputError(
                f"{dataset} has no conversations (no turns column): prepare it with `corpus prepare chat`"
            )
        ids = table.column("id").to_pylist() if "id" in table.schema.names else [None] * table.num_rows
        for i, turns in enumerate(table.column("turns").to_pylist()):
            counts["conversations"] += 1
            reason = conversation_problem(turns)
            if reason is None:
                turns = [{"role": t["role"], "content": t["content"]} for t in turns]
                encoded = encoder.encode(turns)
                if isinstance(encoded, str):
                    reason = encoded
                elif len(encoded.ids) + 1 > max_tokens:  # + the end-of-document token
                    fitting = [n for n, end in encoded.reply_ends if end + 1 <= max_tokens]
                    if fitting:
                        turns = turns[: fitting[-1]]
                        counts["truncated_at_turn"] = counts.get("truncated_at_turn", 0) + 1
                    else:
                        reason = "too_long"
            if reason:
                counts[reason] = counts.get(reason, 0) + 1
                continue
            counts["kept"] += 1
            keep["id"].append(ids[i] if ids[i] is not None else f"{os.path.basename(path)}:{i}")
            keep["text"].append("\n\n".join(f"{t['role']}: {t['content']}" for t in turns))
            keep["turns"].append(turns)
    if not keep["id"]:
        raise InputError(
            f"{dataset}: none of its {counts['conversations']:,} conversations can be trained on ({counts})"
        )
    os.makedirs(out_dir, exist_ok=True)
    tmp = os.path.join(out_dir, ".data.parquet.tmp")
    pq.write_table(pa.table(keep), tmp)
    os.replace(tmp, os.path.join(out_dir, "data.parquet"))
    return counts


def is_token_shards(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "meta.json")) and bool(glob.glob(os.path.join(path, "*.bin")))


def finetune(
    model: str,
    data: str,
    out: str,
    config: TrainConfig,
    *,
    lora: bool = False,
    overwrite: bool = False,
    val_fraction: float = 0.1,
    progress: bool = True,
    on_eval=None,
    seq_len_given: bool = False,
) -> dict[str, Any]:
    """Fine-tune MODEL on the conversations in `data` into the run folder `out`; returns run.json plus the
    counts of conversations kept and skipped."""
    loaded = load_model(model, device="cpu")  # refuses what is not a causal LM, in one line
    positions = loaded.model.config.max_seq_len
    if config.seq_len > positions:
        if seq_len_given:
            raise InputError(f"seq_len {config.seq_len} is longer than the model's {positions} positions")
        config.seq_len = positions  # the preset's default, shortened to what the model has
    config.lora = lora or config.lora
    encoder = chat_encoder(loaded.tokenizer_dir)
    if encoder.template is None:
        print(
            f"corpus: note: {model} has no chat template; conversations are encoded with corpus's "
            "(<|bos|><|user|>...<|end|><|assistant|>...<|end|>), and the run's tokenizer carries it",
            file=sys.stderr,
        )
    counts: dict[str, int] = {}
    tokens = data
    if not is_token_shards(data) and not os.path.isdir(data):
        raise InputError(f"--data {data}: not found")
    if overwrite and os.path.isfile(os.path.join(out, "run.json")):
        # start afresh here, before this run's conversations are staged in `out` (train() would otherwise
        # remove the earlier run, and with it the shards just written)
        shutil.rmtree(out)
    if not is_token_shards(data):
        chats_dir, tokens = os.path.join(out, "chats"), os.path.join(out, "data")
        # the run folder may hold only what fine-tuning itself put there before a first checkpoint
        counts = filter_chats(data, chats_dir + ".staging", loaded.tokenizer_dir, config.seq_len, encoder)
        if os.path.isdir(chats_dir) and _same_file(chats_dir, chats_dir + ".staging"):
            _remove_tree(chats_dir + ".staging")  # unchanged: keep the old file, so the shards stay current
        else:
            _remove_tree(chats_dir)
            os.replace(chats_dir + ".staging", chats_dir)
        write_chat_shards(chats_dir, encoder, tokens, val_fraction=val_fraction, seed=config.seed)
        print(conversations_line(counts, config.seq_len), file=sys.stderr)
    summary = train(
        config, tokens, out, init_from=model, overwrite=overwrite, on_eval=on_eval, progress=progress
    )
    if encoder.template is None:  # the run's chats, serve and evaluate render what it was trained on
        set_chat_template(os.path.join(out, "tokenizer"), CHAT_TEMPLATE)
    summary["conversations"] = counts
    write_atomic(os.path.join(out, "conversations.json"), json.dumps(counts, indent=2))
    return summary


def conversations_line(counts: dict[str, int], seq_len: int) -> str:
    skipped = {k: v for k, v in counts.items() if k not in ("conversations", "kept", "truncated_at_turn")}
    cut = counts.get("truncated_at_turn", 0)
    return (
        f"conversations: {counts['kept']:,} of {counts['conversations']:,} kept"
        + (f" ({cut:,} cut after the last reply that fits {seq_len} tokens)" if cut else "")
        + (f"; skipped {', '.join(f'{k} {v:,}' for k, v in sorted(skipped.items()))}" if skipped else "")
    )


def _same_file(a: str, b: str) -> bool:
    pa_, pb = os.path.join(a, "data.parquet"), os.path.join(b, "data.parquet")
    # compared in chunks (filecmp), so a large chat dataset is never read into memory whole
    return os.path.isfile(pa_) and os.path.isfile(pb) and filecmp.cmp(pa_, pb, shallow=False)


def _remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
