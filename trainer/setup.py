"""Before a run: the configuration checked against the token shards and the model (a fresh one, or one from
--init-from), every check done before anything is written."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from corpus.errors import InputError
from trainer.checkpoint import load_model
from trainer.config import TrainConfig, validate
from trainer.distributed import resolve_device
from trainer.model import GPT


@dataclass
class Setup:
    """Everything checked before anything is written."""

    config: TrainConfig
    device: str
    model: GPT
    tokenizer_dir: str
    shards: Any  # TokenShards
    identity: dict[str, Any]


def prepare(config: TrainConfig, tokens: str, init_from: str | None) -> Setup:
    from corpus.tokenization import TokenShards, read_meta

    validate(config)
    device = resolve_device(config)
    init = load_model(init_from, device="cpu") if init_from else None
    if init is not None:
        tokenizer_dir = init.tokenizer_dir
    else:
        tokenizer_dir = read_meta(tokens)["tokenizer"]["path"]
        if not os.path.exists(tokenizer_dir):
            raise InputError(
                f"the tokenizer that made {tokens} is gone ({tokenizer_dir}); it is needed for the run"
            )
    shards = TokenShards(tokens, tokenizer=tokenizer_dir)
    train_tokens = shards.train  # maps the file, which checks its size against meta.json
    shards.val  # noqa: B018 (the same check for the validation split)
    if len(train_tokens) < config.seq_len + 2:
        raise InputError(
            f"{tokens}: {len(train_tokens):,} training tokens, fewer than one window of {config.seq_len}"
        )
    if config.eval_every and len(shards.val) < 2:
        raise InputError(
            f"{tokens} has no validation tokens: tokenize with a larger --val-fraction, or --set eval_every=0"
        )
    if init is not None:
        model = init.model
        mc = model.config
        model.config.dropout = config.dropout
        for block in model.layers:  # dropout is a fine-tuning setting, the shape is the model's
            block.dropout.p = config.dropout
            block.self_attn.dropout = config.dropout
        model.dropout.p = config.dropout
        for key, value in {"n_layer": mc.n_layer, "n_head": mc.n_head, "n_kv_head": mc.n_kv_head,
                           "d_model": mc.d_model, "d_ff": mc.d_ff, "rope_theta": mc.rope_theta,
                           "tie_embeddings": mc.tie_embeddings}.items():  # fmt: skip
            setattr(config, key, value)
        if config.seq_len > mc.max_seq_len:
            raise InputError(
                f"seq_len {config.seq_len} is longer than the model's {mc.max_seq_len} positions"
            )
    else:
        torch.manual_seed(config.seed)
        model = GPT(config.model_config(shards.vocab_size))
    if shards.vocab_size > model.config.vocab_size:
        raise InputError(
            f"the tokenizer's vocabulary ({shards.vocab_size:,}) is larger than the model's embedding "
            f"({model.config.vocab_size:,})"
        )
    identity = {
        "tokens_fingerprint": shards.meta.get("fingerprint"),
        "init_from": os.path.abspath(init_from) if init_from else None,
    }
    return Setup(config, device, model, tokenizer_dir, shards, identity)
