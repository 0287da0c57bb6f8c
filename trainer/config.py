"""The training configuration: one dataclass of every setting, presets (trainer/presets/*.yaml) and KEY=VALUE
overrides, checked on load so that a wrong key, type or value is one clear line before anything runs.

    load_config("tiny", ["lr=1e-3", "max_steps=100"])
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from typing import Any

import yaml

from corpus.errors import InputError
from trainer.model import ModelConfig

PRESETS = os.path.join(os.path.dirname(__file__), "presets")


@dataclass
class TrainConfig:
    # model (ignored, except dropout, when starting from --init-from: the model's own shape is kept)
    n_layer: int = 4
    n_head: int = 4
    n_kv_head: int = 4
    d_model: int = 128
    d_ff: int = 0  # 0: 8/3 d_model rounded up to 64
    seq_len: int = 128
    rope_theta: float = 10000.0
    tie_embeddings: bool = True
    dropout: float = 0.0
    vocab_multiple: int = 64  # embedding rows rounded up to this (the tokenizer's ids stay as they are)
    # batch: batch_size x grad_accum sequences per optimizer step (the global batch, for any number of processes)
    batch_size: int = 16
    grad_accum: int = 1
    data_order: str = "random"  # random windows, or "epoch": every window once per epoch, shuffled
    doc_attention: bool = False  # packed documents do not attend to each other
    # optimizer and schedule
    optimizer: str = "adamw"  # or "muon": Muon on the hidden matrices, AdamW on embeddings and norms
    lr: float = 3e-3
    min_lr: float = 3e-4
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    schedule: str = "cosine"  # cosine | wsd (warmup-stable-decay) | constant
    warmup_steps: int = 20
    decay_fraction: float = 0.2  # wsd: share of the steps spent decaying to min_lr
    max_steps: int = 300
    max_tokens: int = 0  # token budget; 0: max_steps decides
    # evaluation, checkpoints, logging
    eval_every: int = 50
    eval_tokens: int = 0  # validation tokens per evaluation during training; 0: the whole split
    checkpoint_every: int = 50
    patience: int = 0  # evaluations without improvement before stopping; 0: never stop early
    log_every: int = 1
    samples: int = 2  # texts generated from fixed prompts at each evaluation
    sample_tokens: int = 40
    seed: int = 0
    # hardware
    device: str = "auto"  # auto | cpu | cuda
    dtype: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU) | float32 | bfloat16
    compile: bool = True  # torch.compile on CUDA
    fsdp: bool = False  # FSDP2 fully_shard under torchrun instead of DDP
    threads: int = 0  # CPU threads per process; 0: the cores divided by the processes
    # fine-tuning
    lora: bool = False
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0

    def model_config(self, vocab_size: int) -> ModelConfig:
        rounded = self.vocab_multiple * math.ceil(vocab_size / self.vocab_multiple)
        return ModelConfig(
            vocab_size=rounded,
            n_layer=self.n_layer,
            n_head=self.n_head,
            n_kv_head=self.n_kv_head,
            d_model=self.d_model,
            d_ff=self.d_ff,
            max_seq_len=self.seq_len,
            rope_theta=self.rope_theta,
            tie_embeddings=self.tie_embeddings,
            dropout=self.dropout,
        )


CHOICES = {
    "schedule": ("cosine", "wsd", "constant"),
    "optimizer": ("adamw", "muon"),
    "data_order": ("random", "epoch"),
    "device": ("auto", "cpu", "cuda"),
    "dtype": ("auto", "float32", "bfloat16"),
}
POSITIVE = ("n_layer", "n_head", "n_kv_head", "d_model", "seq_len", "batch_size", "grad_accum", "max_steps")
# what may change when a run is resumed; anything else changes the model or its data and is refused
RESUMABLE = {
    "max_steps", "max_tokens", "eval_every", "eval_tokens", "checkpoint_every", "patience", "log_every",
    "samples", "sample_tokens", "device", "compile", "threads",
}  # fmt: skip


def _typed(name: str, value: Any, kind: type) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is float and isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):  # bool is an int subclass
        raise InputError(f"config key {name} must be {kind.__name__}, got {value!r}")
    return value


def apply_settings(config: TrainConfig, settings: dict[str, Any], source: str) -> TrainConfig:
    types = {f.name: type(f.default) for f in fields(TrainConfig)}
    for key, value in settings.items():
        if key not in types:
            raise InputError(f"{source}: unknown config key {key!r} (known: {', '.join(types)})")
        setattr(config, key, _typed(key, value, types[key]))
    return config


def validate(config: TrainConfig) -> TrainConfig:
    for key, allowed in CHOICES.items():
        if getattr(config, key) not in allowed:
            raise InputError(
                f"config key {key} must be one of {', '.join(allowed)}, got {getattr(config, key)!r}"
            )
    for key in POSITIVE:
        if getattr(config, key) < 1:
            raise InputError(f"config key {key} must be at least 1, got {getattr(config, key)}")
    if not 0 <= config.dropout < 1 or config.lr <= 0 or config.min_lr < 0:
        raise InputError("config: dropout must be in [0, 1), lr positive and min_lr not negative")
    try:
        config.model_config(256)
    except ValueError as err:
        raise InputError(f"config: {err}") from None
    return config


def load_config(preset_or_file: str | None, overrides: list[str] | None = None) -> TrainConfig:
    """A preset name (tiny, small, gpt2-small, finetune) or a YAML file, then KEY=VALUE overrides (values in
    YAML syntax). Unknown keys and wrong types are refused with one line naming them."""
    config = TrainConfig()
    if preset_or_file:
        path = preset_or_file
        if not os.path.isfile(path):
            path = os.path.join(PRESETS, f"{preset_or_file}.yaml")
        if not os.path.isfile(path):
            names = sorted(n[:-5] for n in os.listdir(PRESETS) if n.endswith(".yaml"))
            raise InputError(
                f"--config {preset_or_file}: no such file or preset (presets: {', '.join(names)})"
            )
        try:
            with open(path, encoding="utf-8") as f:
                settings = yaml.safe_load(f) or {}
        except yaml.YAMLError as err:
            raise InputError(f"{path} is not valid YAML: {str(err).splitlines()[0]}") from None
        if not isinstance(settings, dict):
            raise InputError(f"{path} must hold a mapping of config keys")
        apply_settings(config, settings, path)
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise InputError(f"--set {item!r}: expected KEY=VALUE")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        apply_settings(config, {key.strip(): value}, "--set")
    return validate(config)
