"""Training loop (nanoGPT style): token shards in, a run folder out.

    train(load_config("tiny", ["lr=1e-3"]), "tokens/", "runs/tiny")

Data: the shards stay memory-mapped. The batch of step s is drawn from a generator seeded with (seed, s), so the
data of any step is known without replaying the ones before it: resuming needs no data position, and under
DDP each process takes its share of the same global batch (batch_size x grad_accum sequences per step; the
grad_accum micro-batches are split across processes), so `torchrun --nproc_per_node N` trains exactly the
same model as one process, only faster.

Loss: summed over the trained targets of the whole global batch, divided by their count (loss masks of chats
drop prompt tokens; the count is known before the step, from the mask), so micro-batches and processes add up
to the same number however the batch is split.

Resume: `last` is saved every checkpoint_every steps with the optimizer and RNG states; `best` at each
evaluation that improves the validation loss. Running the same call again on the same folder continues from
`last` and truncates metrics.jsonl to it, so a killed and resumed run logs the losses of an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import yaml

from corpus.errors import CorpusError, InputError, OutputError
from corpus.files import write_atomic
from trainer.checkpoint import (
    TOKENIZER,
    checkpoint_dir,
    load_model,
    load_train_state,
    recover_checkpoints,
    save_checkpoint,
)
from trainer.evaluate import loss_sums, make_batch, summarize, to_device
from trainer.model import GPT, ModelConfig

PRESETS = os.path.join(os.path.dirname(__file__), "presets")
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


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


# what `corpus finetune` writes into a run folder before training starts (its conversations and their tokens)
FINETUNE_INPUTS = {"chats", "chats.staging", "data"}


class StopTraining(Exception):
    """Raised by an on_eval callback to end the run cleanly (a pruned sweep trial)."""


class TrainingError(CorpusError):
    """The run cannot go on (a loss that became NaN or infinite)."""


# --- config ---------------------------------------------------------------------------------------------


def _typed(name: str, value: Any, kind: type) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is float and isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if (
        kind is bool
        and not isinstance(value, bool)
        or not isinstance(value, kind)
        or (kind is int and isinstance(value, bool))
    ):
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


# --- set-up ---------------------------------------------------------------------------------------------


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> Dist:
    """Under torchrun (WORLD_SIZE > 1): one process group, NCCL on GPUs, gloo on CPUs."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Dist()
    import torch.distributed as td

    if not td.is_initialized():
        td.init_process_group("nccl" if device == "cuda" else "gloo")
    return Dist(td.get_rank(), td.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def resolve_device(config: TrainConfig) -> str:
    if config.device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is visible to PyTorch on this machine")
    if config.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return config.device


def window_starts(step: int, config: TrainConfig, n_tokens: int) -> np.ndarray:
    """Start offsets of the global batch of `step` (1-based): a pure function of (seed, step), see the module
    docstring."""
    count = config.batch_size * config.grad_accum
    if config.data_order == "random":
        return np.random.default_rng([config.seed, step]).integers(0, n_tokens - config.seq_len, size=count)
    n_windows = (n_tokens - 1) // config.seq_len  # full windows only
    first = (step - 1) * count
    out = []
    for k in range(first, first + count):
        epoch, i = divmod(k, n_windows)
        order = np.random.default_rng([config.seed, 1_000_003, epoch]).permutation(n_windows)
        out.append(int(order[i]) * config.seq_len)
    return np.array(out, dtype=np.int64)


def lr_factor(step: int, config: TrainConfig, max_steps: int) -> float:
    """Share of the peak learning rate at `step` (1-based), min_lr / lr at the floor."""
    floor = config.min_lr / config.lr
    if config.warmup_steps and step <= config.warmup_steps:
        return step / config.warmup_steps
    if config.schedule == "constant":
        return 1.0
    if config.schedule == "wsd":
        decay = max(1, round(config.decay_fraction * max_steps))
        start = max_steps - decay
        return 1.0 if step <= start else floor + (1 - floor) * (max_steps - step) / decay
    progress = (step - config.warmup_steps) / max(1, max_steps - config.warmup_steps)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def build_optimizers(model: nn.Module, config: TrainConfig, device: str) -> list[torch.optim.Optimizer]:
    """AdamW with weight decay on matrices only (not norms, not the input embedding); with optimizer=muon,
    Muon takes the hidden matrices (attention and MLP projections) and AdamW the rest."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    hidden = [p for n, p in named if p.ndim == 2 and ".layers." in f".{n}" and "embed" not in n]
    use_muon = config.optimizer == "muon" and not config.lora
    adam = [(n, p) for n, p in named if not (use_muon and any(p is h for h in hidden))]
    decay = [p for n, p in adam if p.ndim == 2 and "embed_tokens" not in n]
    no_decay = [p for n, p in adam if not (p.ndim == 2 and "embed_tokens" not in n)]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    adamw = torch.optim.AdamW(
        [g for g in groups if g["params"]],
        lr=config.lr,
        betas=(config.beta1, config.beta2),
        fused=not config.fsdp,  # one kernel for all parameters (CUDA and CPU); FSDP's DTensors take foreach
    )
    optimizers: list[torch.optim.Optimizer] = [adamw]
    if use_muon and hidden:
        # match_rms_adamw scales each update to AdamW's size, so one lr (and one sweep range) serves both
        optimizers.append(
            torch.optim.Muon(
                hidden, lr=config.lr, weight_decay=config.weight_decay, adjust_lr_fn="match_rms_adamw"
            )
        )
    for opt in optimizers:
        for group in opt.param_groups:
            group["base_lr"] = config.lr
    return optimizers


def add_lora(model: GPT, config: TrainConfig) -> nn.Module:
    """LoRA adapters (peft) on every projection; the base weights are frozen."""
    import peft

    lora = peft.LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=LORA_TARGETS,
    )
    return peft.get_peft_model(model, lora).get_base_model()


def plain_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights under GPT's own names, LoRA deltas merged into their base weights, so a checkpoint
    of a LoRA run loads as a plain model everywhere."""
    from peft.tuners.lora import LoraLayer

    state = model.state_dict()
    out = {k.replace(".base_layer.", "."): v for k, v in state.items() if ".lora_" not in k}
    for name, module in model.named_modules():
        if isinstance(module, LoraLayer):
            out[f"{name}.weight"] = module.base_layer.weight + module.get_delta_weight("default")
    return {k: v.detach() for k, v in out.items()}


def lora_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if ".lora_" in k}


# --- the run folder -------------------------------------------------------------------------------------


def _read_json(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def check_run_folder(out: str, config: TrainConfig, identity: dict[str, Any], overwrite: bool) -> bool:
    """True to resume. Refuses a folder that is not a run, and a run whose model or data differ (naming the
    first difference) unless overwrite."""
    if not os.path.exists(out):
        return False
    if not os.path.isdir(out):
        raise OutputError(f"--out {out} exists and is not a folder")
    run_json = os.path.join(out, "run.json")
    if not os.path.isfile(run_json):
        if set(os.listdir(out)) - FINETUNE_INPUTS:
            raise OutputError(f"--out {out} is not empty and holds no trainer run; choose another folder")
        return False
    if overwrite:
        return False
    before = _read_json(run_json)
    old = before.get("config", {})
    for key, value in asdict(config).items():
        if key not in RESUMABLE and old.get(key) != value:
            raise OutputError(
                f"--out {out} holds a run with {key}={old.get(key)!r}, not {value!r}: use another --out, "
                "or --overwrite to start afresh"
            )
    for key, value in identity.items():
        if before.get(key) != value:
            raise OutputError(
                f"--out {out} holds a run with another {key} ({before.get(key)!r}): use another --out, "
                "or --overwrite to start afresh"
            )
    return os.path.isdir(os.path.join(out, "checkpoints", "last"))


def copy_tokenizer(src: str, dst: str) -> None:
    """The tokenizer files (and chat template) a model folder needs, loadable by corpus and AutoTokenizer."""
    names = (
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
        "chat_template.jinja", "chat_template.json", "added_tokens.json", "tokenizer.model",
    )  # fmt: skip
    folder = src if os.path.isdir(src) else os.path.dirname(src)
    tmp = dst + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name in names:
        if os.path.isfile(os.path.join(folder, name)):
            shutil.copy2(os.path.join(folder, name), os.path.join(tmp, name))
    shutil.rmtree(dst, ignore_errors=True)
    os.replace(tmp, dst)


def truncate_metrics(path: str, step: int) -> None:
    """Keep the records up to `step` (a resumed run logs the steps after it again)."""
    if not os.path.isfile(path):
        return
    kept = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # the half-written last line of a killed run
            if record.get("step", 0) <= step:
                kept.append(json.dumps(record))
    write_atomic(path, "".join(k + "\n" for k in kept))


def versions() -> dict[str, str]:
    import corpus

    return {"python": platform.python_version(), "torch": torch.__version__, "corpus": corpus.__version__}


# --- training -------------------------------------------------------------------------------------------


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


class Trainer:
    def __init__(self, setup: Setup, out: str, dist: Dist, progress: bool, tensorboard: bool) -> None:
        self.c, self.out, self.dist = setup.config, out, dist
        c = self.c
        self.device = f"cuda:{dist.local_rank}" if setup.device == "cuda" else "cpu"
        if setup.device == "cuda":
            torch.cuda.set_device(self.device)
            torch.backends.cuda.matmul.allow_tf32 = True
        else:
            torch.set_num_threads(c.threads or max(1, (os.cpu_count() or 1) // dist.world))
        bf16 = c.dtype == "bfloat16" or (c.dtype == "auto" and setup.device == "cuda")
        self.amp_dtype = torch.bfloat16 if bf16 else None
        self.shards = setup.shards
        self.train_tokens, self.val_tokens = setup.shards.train, setup.shards.val
        self.train_mask, self.val_mask = setup.shards.mask("train"), setup.shards.mask("val")
        self.train_offsets = setup.shards.offsets("train") if c.doc_attention else None
        self.val_offsets = setup.shards.offsets("val") if c.doc_attention else None
        self.model = setup.model.to(self.device)
        self.net: nn.Module = add_lora(self.model, c) if c.lora else self.model
        self.tokenizer_dir = os.path.join(out, TOKENIZER)
        self.progress, self.tensorboard = progress, tensorboard
        if c.grad_accum % dist.world:
            raise InputError(f"grad_accum {c.grad_accum} must divide by the {dist.world} processes")
        tokens_per_step = c.batch_size * c.grad_accum * c.seq_len
        self.max_steps = math.ceil(c.max_tokens / tokens_per_step) if c.max_tokens else c.max_steps

    # -- distributed wrappers --
    def wrap(self) -> nn.Module:
        c, net = self.c, self.net
        if self.dist.world > 1 and c.fsdp:
            from torch.distributed.fsdp import fully_shard

            for block in self.model.layers:
                fully_shard(block)
            fully_shard(self.model)
            net = self.model
        elif self.dist.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(
                net, device_ids=[self.dist.local_rank] if "cuda" in self.device else None
            )
        if "cuda" in self.device and c.compile:
            net = torch.compile(net)
        return net

    def all_sum(self, *values: float) -> list[float]:
        if self.dist.world == 1:
            return list(values)
        import torch.distributed as td

        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        td.all_reduce(t)
        return t.tolist()

    def full_state(self) -> dict[str, torch.Tensor]:
        if self.c.fsdp and self.dist.world > 1:
            from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

            return get_model_state_dict(
                self.model, options=StateDictOptions(full_state_dict=True, cpu_offload=True)
            )
        return plain_weights(self.net) if self.c.lora else self.model.state_dict()

    def optimizer_states(self) -> list[dict]:
        if self.c.fsdp and self.dist.world > 1:
            from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

            opts = StateDictOptions(full_state_dict=True, cpu_offload=True)
            return [get_optimizer_state_dict(self.model, o, options=opts) for o in self.optimizers]
        return [o.state_dict() for o in self.optimizers]

    def load_optimizer_states(self, states: list[dict]) -> None:
        if self.c.fsdp and self.dist.world > 1:
            from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

            opts = StateDictOptions(full_state_dict=True)
            for o, s in zip(self.optimizers, states):
                set_optimizer_state_dict(self.model, o, s, options=opts)
            return
        for o, s in zip(self.optimizers, states):
            o.load_state_dict(s)

    # -- one step --
    def step_batches(self, step: int) -> tuple[list, int]:
        """This process's micro-batches of `step`, and the trained targets of the whole global batch."""
        c = self.c
        starts = window_starts(step, c, len(self.train_tokens))
        if self.train_mask is None:
            n_targets = len(starts) * c.seq_len
        else:
            n_targets = int(sum(np.count_nonzero(self.train_mask[s + 1 : s + c.seq_len + 1]) for s in starts))
        per_rank = c.grad_accum // self.dist.world
        mine = range(self.dist.rank * per_rank, (self.dist.rank + 1) * per_rank)
        micro = [starts[m * c.batch_size : (m + 1) * c.batch_size] for m in mine]
        batches = [
            make_batch(self.train_tokens, s, c.seq_len, self.train_mask, self.train_offsets) for s in micro
        ]
        return batches, max(1, n_targets)

    def train_step(self, net: nn.Module, step: int) -> tuple[float, float]:
        batches, n_targets = self.step_batches(step)
        factor = lr_factor(step, self.c, self.max_steps)
        for opt in self.optimizers:
            for group in opt.param_groups:
                group["lr"] = group["base_lr"] * factor
        local = 0.0
        for i, batch in enumerate(batches):
            b = to_device(batch, self.device)
            sync = i == len(batches) - 1 or self.dist.world == 1 or self.c.fsdp
            ctx = net.no_sync() if not sync and hasattr(net, "no_sync") else contextlib.nullcontext()
            with (
                ctx,
                torch.autocast(
                    self.device.split(":")[0], dtype=self.amp_dtype, enabled=self.amp_dtype is not None
                ),
            ):
                loss_sum = net(b.x, b.y, positions=b.positions, attn_mask=b.attn_mask, reduction="sum")
                # DDP averages gradients over processes; the sum over the global batch is what we want
                (loss_sum * (self.dist.world / n_targets)).backward()
            local += float(loss_sum.detach())
        grad_norm = torch.nn.utils.clip_grad_norm_(
            [p for p in self.net.parameters() if p.requires_grad], self.c.grad_clip or float("inf")
        )
        if hasattr(grad_norm, "full_tensor"):
            grad_norm = grad_norm.full_tensor()
        (total,) = self.all_sum(local)
        if not (math.isfinite(total) and math.isfinite(float(grad_norm))):
            return total / n_targets, float(grad_norm)  # no step: the caller stops, weights stay good
        for opt in self.optimizers:
            opt.step()
            opt.zero_grad(set_to_none=True)
        return total / n_targets, float(grad_norm)

    def evaluate(self, net: nn.Module) -> dict[str, float]:
        # FSDP's forward is a collective, so every process reads every window; otherwise each process takes
        # its share of the windows through the unwrapped model and the sums are added up
        fsdp = self.c.fsdp and self.dist.world > 1
        rank, world = (0, 1) if fsdp else (self.dist.rank, self.dist.world)
        nats, count = loss_sums(
            net if fsdp else self.net, self.val_tokens, self.c.seq_len, self.device, self.val_mask,
            self.val_offsets, batch_size=self.c.batch_size, max_tokens=self.c.eval_tokens, rank=rank,
            world=world, amp_dtype=self.amp_dtype,
        )  # fmt: skip
        if not fsdp:
            nats, count = self.all_sum(nats, count)
        n = len(self.val_tokens)
        share = 1.0 if not self.c.eval_tokens else min(1.0, count / max(1, n - 1))
        text_bytes = (
            self.shards.mask_text_bytes("val") if self.val_mask is not None else self.shards.text_bytes("val")
        )
        out = summarize(nats, int(count), max(1, round(text_bytes * share)))
        return {"val_loss": out["loss"], "val_bpb": out["bpb"], "val_perplexity": out["perplexity"]}

    def samples(self, step: int, weights: dict[str, torch.Tensor] | None) -> list[dict[str, Any]]:
        """Texts generated from fixed prompts (main process only). A LoRA or FSDP model is sampled through a
        plain copy of its full weights."""
        from trainer.report import generate_samples, sample_prompts

        model = self.model
        if self.c.lora or (self.c.fsdp and self.dist.world > 1):
            model = GPT(self.model.config).to(self.device)
            model.load_state_dict({k: v.to(self.device) for k, v in weights.items()}, strict=False)
        prompts = sample_prompts(self.shards, self.tokenizer_dir, self.c.samples, model.config.max_seq_len)
        return [{"step": step, **s} for s in generate_samples(model, self.tokenizer_dir, prompts, self.c)]

    # -- the loop --
    def run(self, resume: bool, on_eval: Callable[[int, dict], None] | None) -> dict[str, Any]:
        c, out, main = self.c, self.out, self.dist.main
        metrics_path = os.path.join(out, "metrics.jsonl")
        step, tokens_seen, best, bad_evals, wall_before = 0, 0, float("inf"), 0, 0.0
        best_bpb = last_bpb = None
        if resume:
            state = load_train_state(checkpoint_dir(out, "last"))
            step, tokens_seen, best, bad_evals = (
                state["step"],
                state["tokens"],
                state["best_val_loss"],
                state["bad_evals"],
            )
            best_bpb, last_bpb, wall_before = (
                state.get("best_val_bpb"),
                state.get("last_val_bpb"),
                state["wall_s"],
            )
            if c.lora:
                self.net.load_state_dict(state["lora"], strict=False)
            else:
                from safetensors.torch import load_file

                from trainer.checkpoint import WEIGHTS, load_weights

                load_weights(self.model, load_file(os.path.join(checkpoint_dir(out, "last"), WEIGHTS)), out)
            torch.set_rng_state(state["rng"]["torch"])
            if "cuda" in self.device and "cuda" in state["rng"]:
                torch.cuda.set_rng_state(state["rng"]["cuda"])
            if main:
                truncate_metrics(metrics_path, step)
        else:
            torch.manual_seed(c.seed + 1)  # dropout
        net = self.wrap()  # FSDP replaces the parameters: the optimizers are built on the wrapped ones
        self.optimizers = build_optimizers(self.net, c, self.device.split(":")[0])
        if resume:
            self.load_optimizer_states(state["optimizers"])
        net.train()
        writer = None
        if main and self.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(os.path.join(out, "tensorboard"), purge_step=step + 1)
        tokens_per_step = c.batch_size * c.grad_accum * c.seq_len
        bar = None
        if main and self.progress:
            from tqdm import tqdm

            bar = tqdm(
                total=self.max_steps,
                initial=step,
                desc="train",
                unit="step",
                dynamic_ncols=True,
                file=sys.stderr,
            )
        stopped, started = "max_steps" if not c.max_tokens else "budget", time.monotonic()
        metrics_file = open(metrics_path, "a", encoding="utf-8") if main else None
        last_saved = step
        try:
            while step < self.max_steps:
                t0 = time.monotonic()
                step += 1
                loss, grad_norm = self.train_step(net, step)
                tokens_seen += tokens_per_step
                evaluated = c.eval_every and (step % c.eval_every == 0 or step == self.max_steps)
                saving = evaluated or step % c.checkpoint_every == 0 or step == self.max_steps
                # a huge update can leave finite loss and gradients but infinite weights: never save those
                weights_ok = not saving or all(bool(torch.isfinite(p).all()) for p in self.net.parameters())
                if not (math.isfinite(loss) and math.isfinite(grad_norm) and weights_ok):
                    stopped = "non_finite_loss"
                    what = f"loss {loss}, gradient norm {grad_norm}" + (
                        "" if weights_ok else ", weights not finite"
                    )
                    raise TrainingError(
                        f"training diverged at step {step} ({what}); stopped, the last good checkpoint "
                        f"(step {last_saved}) is kept in {out}/checkpoints: lower lr or raise warmup_steps"
                    )
                dt = time.monotonic() - t0
                record: dict[str, Any] = {
                    "step": step, "tokens": tokens_seen, "loss": loss, "lr": c.lr * lr_factor(step, c, self.max_steps),
                    "grad_norm": grad_norm, "tokens_per_s": round(tokens_per_step / max(dt, 1e-9), 1),
                }  # fmt: skip
                stop_now = False
                if evaluated:
                    record.update(self.evaluate(net))
                    last_bpb = record["val_bpb"]
                    improved = record["val_loss"] < best
                    if improved:
                        best, best_bpb, bad_evals = record["val_loss"], record["val_bpb"], 0
                        weights = self.full_state()  # a collective under FSDP: every process gathers
                        if main:
                            save_checkpoint(out, "best", self.model, weights=weights)
                    else:
                        bad_evals += 1
                    weights = (
                        self.full_state() if c.samples and (c.lora or c.fsdp) else None
                    )  # FSDP: collective
                    if main and c.samples:
                        with open(os.path.join(out, "samples.jsonl"), "a", encoding="utf-8") as f:
                            for s in self.samples(step, weights):
                                f.write(json.dumps(s) + "\n")
                    if c.patience and bad_evals >= c.patience:
                        stopped, stop_now = "early_stopping", True
                if main and (step % c.log_every == 0 or evaluated or step == self.max_steps):
                    metrics_file.write(json.dumps(record) + "\n")
                    metrics_file.flush()
                    if writer:
                        for key in ("loss", "lr", "grad_norm", "val_loss", "val_bpb"):
                            if key in record:
                                writer.add_scalar(key, record[key], step)
                if bar:
                    bar.update(1)
                    bar.set_postfix(
                        loss=f"{loss:.4f}", tok_s=f"{record['tokens_per_s']:,.0f}", lr=f"{record['lr']:.2e}"
                    )
                if evaluated and on_eval is not None:
                    try:
                        on_eval(step, dict(record))
                    except StopTraining:
                        stopped, stop_now = "stopped_by_callback", True
                done = stop_now or step >= self.max_steps
                if done or step % c.checkpoint_every == 0:
                    state = self.train_state(step, tokens_seen, best, bad_evals, best_bpb, last_bpb,
                                             wall_before + time.monotonic() - started)  # fmt: skip
                    weights = self.full_state()
                    if main:
                        save_checkpoint(out, "last", self.model, state, weights=weights)
                        write_report(out)
                    last_saved = step
                if done:
                    break
        finally:
            if bar:
                bar.close()
            if metrics_file:
                metrics_file.close()
            if writer:
                writer.close()
            if main:
                summary = {
                    "status": "finished" if stopped != "non_finite_loss" else "failed",
                    "parameters": sum(p.numel() for n, p in self.model.named_parameters() if ".lora_" not in n), "tokens_seen": tokens_seen,
                    "best_val_loss": best if math.isfinite(best) else None, "best_val_bpb": best_bpb,
                    "final_val_bpb": last_bpb, "steps": step, "wall_s": round(wall_before + time.monotonic() - started, 2),
                    "device": self.device, "processes": self.dist.world, "stopped": stopped,
                }  # fmt: skip
                update_run_json(out, summary)
        return _read_json(os.path.join(out, "run.json"))

    def train_state(self, step, tokens, best, bad_evals, best_bpb, last_bpb, wall) -> dict[str, Any]:
        rng = {"torch": torch.get_rng_state()}
        if "cuda" in self.device:
            rng["cuda"] = torch.cuda.get_rng_state()
        state = {
            "step": step, "tokens": tokens, "best_val_loss": best, "bad_evals": bad_evals, "best_val_bpb": best_bpb,
            "last_val_bpb": last_bpb, "wall_s": wall, "optimizers": self.optimizer_states(), "rng": rng,
        }  # fmt: skip
        if self.c.lora:
            state["lora"] = lora_weights(self.net)
        return state


def update_run_json(out: str, values: dict[str, Any]) -> None:
    path = os.path.join(out, "run.json")
    data = {**_read_json(path), **values}
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def write_report(out: str) -> None:
    from trainer.report import write_report as write

    try:
        write(out)
    except Exception as err:  # the report is a view of the run: never let it stop training
        print(f"corpus: warning: report.html not written: {type(err).__name__}: {err}", file=sys.stderr)


def train(
    config: TrainConfig,
    tokens: str,
    out: str,
    *,
    init_from: str | None = None,
    overwrite: bool = False,
    on_eval: Callable[[int, dict], None] | None = None,
    progress: bool = True,
    tensorboard: bool = False,
) -> dict:
    """Train (or resume training) a model on token shards into the run folder `out`; returns run.json."""
    setup = prepare(config, tokens, init_from)  # every check before anything is written
    resume = check_run_folder(out, setup.config, setup.identity, overwrite)
    dist = init_distributed(setup.device)
    if dist.main:
        if overwrite and os.path.isfile(os.path.join(out, "run.json")) and not resume:
            shutil.rmtree(out)
        os.makedirs(out, exist_ok=True)
        recover_checkpoints(out)
        if not resume:
            for name in ("metrics.jsonl", "samples.jsonl"):
                if os.path.exists(os.path.join(out, name)):
                    os.remove(os.path.join(out, name))
            copy_tokenizer(setup.tokenizer_dir, os.path.join(out, TOKENIZER))
        write_atomic(os.path.join(out, "config.yaml"), yaml.safe_dump(asdict(setup.config), sort_keys=False))
        update_run_json(
            out,
            {"status": "running", "config": asdict(setup.config), "tokens": os.path.abspath(tokens),
             **setup.identity, "versions": versions()},
        )  # fmt: skip
    if dist.world > 1:
        import torch.distributed as td

        td.barrier()
    trainer = Trainer(setup, out, dist, progress, tensorboard)
    summary = trainer.run(resume, on_eval)
    if dist.main:
        write_report(out)
    return summary
