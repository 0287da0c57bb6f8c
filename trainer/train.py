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
Under torchrun (DDP or FSDP2) the main process writes the checkpoints (FSDP gathers the full weights and
optimizer states to it; every process's RNG state is gathered too) and every process loads them; the workers
die with their launcher, so a killed torchrun leaves nothing writing into the folder. Another number of
processes may resume a run (the optimizer states are stored as one process holds them); not with dropout.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import yaml
from safetensors.torch import load_file

from corpus.errors import CorpusError, InputError
from corpus.files import write_atomic
from trainer.checkpoint import (
    CHECKPOINTS,
    TOKENIZER,
    TRAIN_STATE,
    WEIGHTS,
    checkpoint_dir,
    load_train_state,
    load_weights,
    recover_checkpoints,
    save_checkpoint,
)
from trainer.config import TrainConfig, load_config  # noqa: F401 (re-exported, see below)
from trainer.distributed import (
    Dist,
    all_sum,
    full_state,
    gather,
    init_distributed,
    load_optimizer_states,
    optimizer_states,
    resolve_device,  # noqa: F401 (re-exported)
    sharded,
    wrap,
)
from trainer.evaluate import loss_sums, make_batch, summarize, to_device
from trainer.model import GPT
from trainer.optim import add_lora, build_optimizers, lora_weights, lr_factor
from trainer.run_folder import (
    RunLog,
    check_run_folder,
    copy_tokenizer,
    read_json,
    truncate_metrics,
    update_run_json,
    versions,
    write_report,
)
from trainer.setup import Setup, prepare

# The configuration (trainer.config), devices and processes (trainer.distributed), optimizers and LoRA
# (trainer.optim), the checks before a run (trainer.setup) and the run folder (trainer.run_folder) live in their
# own modules; the names callers have always imported from here (TrainConfig, load_config, resolve_device,
# copy_tokenizer, build_optimizers, lr_factor, add_lora, prepare, Dist) stay importable from trainer.train.


class StopTraining(Exception):
    """Raised by an on_eval callback to end the run cleanly (a pruned sweep trial)."""


class TrainingError(CorpusError):
    """The run cannot go on (a loss that became NaN or infinite)."""


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


# --- training -------------------------------------------------------------------------------------------


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
        self.tokens_per_step = c.batch_size * c.grad_accum * c.seq_len
        self.max_steps = math.ceil(c.max_tokens / self.tokens_per_step) if c.max_tokens else c.max_steps

    # -- distributed (trainer.distributed) --
    def wrap(self) -> nn.Module:
        return wrap(self.model, self.net, self.c, self.dist, self.device)

    def all_sum(self, *values: float) -> list[float]:
        return all_sum(self.dist, self.device, *values)

    def full_state(self) -> dict[str, torch.Tensor]:
        return full_state(self.model, self.net, self.c, self.dist)

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
        # a non-finite loss or gradient takes no step: the caller stops, the weights stay good
        if math.isfinite(total) and math.isfinite(float(grad_norm)):
            for opt in self.optimizers:
                opt.step()
                opt.zero_grad(set_to_none=True)
        return total / n_targets, float(grad_norm)

    def evaluate(self, net: nn.Module) -> dict[str, float]:
        # FSDP's forward is a collective, so every process reads every window; otherwise each process takes
        # its share of the windows through the unwrapped model and the sums are added up
        fsdp = sharded(self.c, self.dist)
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
        if self.c.lora or sharded(self.c, self.dist):
            model = GPT(self.model.config).to(self.device)
            model.load_state_dict({k: v.to(self.device) for k, v in weights.items()}, strict=False)
        prompts = sample_prompts(self.shards, self.tokenizer_dir, self.c.samples, model.config.max_seq_len)
        return [{"step": step, **s} for s in generate_samples(model, self.tokenizer_dir, prompts, self.c)]

    # -- the loop --
    def restore(self) -> tuple[Progress, list[dict]]:
        """The `last` checkpoint's weights, RNG state and progress (metrics.jsonl cut back to its step); the
        optimizer states are returned, to load once the optimizers are built on the wrapped model."""
        last = checkpoint_dir(self.out, "last")
        state = load_train_state(last)
        progress = Progress(
            step=state["step"], tokens=state["tokens"], best_val_loss=state["best_val_loss"],
            bad_evals=state["bad_evals"], best_val_bpb=state.get("best_val_bpb"),
            last_val_bpb=state.get("last_val_bpb"), wall_s=state["wall_s"], last_saved=state["step"],
        )  # fmt: skip
        if self.c.lora:
            self.net.load_state_dict(state["lora"], strict=False)
        else:
            load_weights(self.model, load_file(os.path.join(last, WEIGHTS)), self.out)
        rng = state["rng"]
        torch.set_rng_state(self.own_rng_state(rng, "torch"))
        if "cuda" in self.device and "cuda" in rng:
            torch.cuda.set_rng_state(self.own_rng_state(rng, "cuda"))
        if self.dist.main:
            truncate_metrics(os.path.join(self.out, "metrics.jsonl"), progress.step)
        return progress, state["optimizers"]

    def run(self, resume: bool, on_eval: Callable[[int, dict], None] | None) -> dict[str, Any]:
        c, main = self.c, self.dist.main
        if resume:
            progress, saved_optimizers = self.restore()
        else:
            progress, saved_optimizers = Progress(), None
            torch.manual_seed(c.seed + 1)  # dropout
        progress.stopped = "max_steps" if not c.max_tokens else "budget"
        net = self.wrap()  # FSDP replaces the parameters: the optimizers are built on the wrapped ones
        self.optimizers = build_optimizers(self.net, c, self.device.split(":")[0])
        if saved_optimizers is not None:
            load_optimizer_states(self.model, self.optimizers, saved_optimizers, c, self.dist)
        net.train()
        tokens_per_step = self.tokens_per_step
        log = RunLog(
            self.out, progress.step, self.max_steps, main, main and self.progress, main and self.tensorboard
        )
        started = time.monotonic()
        try:
            while progress.step < self.max_steps:
                t0 = time.monotonic()
                progress.step += 1
                step = progress.step
                loss, grad_norm = self.train_step(net, step)
                progress.tokens += tokens_per_step
                evaluated = c.eval_every and (step % c.eval_every == 0 or step == self.max_steps)
                saving = evaluated or step % c.checkpoint_every == 0 or step == self.max_steps
                self.check_finite(loss, grad_norm, saving, progress)
                record: dict[str, Any] = {
                    "step": step, "tokens": progress.tokens, "loss": loss,
                    "lr": c.lr * lr_factor(step, c, self.max_steps), "grad_norm": grad_norm,
                    "tokens_per_s": round(tokens_per_step / max(time.monotonic() - t0, 1e-9), 1),
                }  # fmt: skip
                stop_now = bool(evaluated) and self.evaluate_and_keep_best(net, record, progress)
                if step % c.log_every == 0 or evaluated or step == self.max_steps:
                    log.write(record)
                log.advance(record)
                if evaluated and on_eval is not None:
                    try:
                        on_eval(step, dict(record))
                    except StopTraining:
                        progress.stopped, stop_now = "stopped_by_callback", True
                done = stop_now or step >= self.max_steps
                if done or step % c.checkpoint_every == 0:
                    self.save_last(progress, progress.wall_s + time.monotonic() - started)
                if done:
                    break
        finally:
            log.close()
            if main:
                update_run_json(
                    self.out, self.summary(progress, progress.wall_s + time.monotonic() - started)
                )
        return read_json(os.path.join(self.out, "run.json"))

    def check_finite(self, loss: float, grad_norm: float, saving: bool, progress: Progress) -> None:
        # a huge update can leave finite loss and gradients but infinite weights: never save those
        weights_ok = not saving or all(bool(torch.isfinite(p).all()) for p in self.net.parameters())
        if math.isfinite(loss) and math.isfinite(grad_norm) and weights_ok:
            return
        progress.stopped = "non_finite_loss"
        what = f"loss {loss}, gradient norm {grad_norm}" + ("" if weights_ok else ", weights not finite")
        raise TrainingError(
            f"training diverged at step {progress.step} ({what}); stopped, the last good checkpoint "
            f"(step {progress.last_saved}) is kept in {self.out}/checkpoints: lower lr or raise warmup_steps"
        )

    def evaluate_and_keep_best(self, net: nn.Module, record: dict[str, Any], progress: Progress) -> bool:
        """Validation loss into the record, `best` saved when it improves, samples written; True to stop early
        (no improvement in `patience` evaluations)."""
        c, main = self.c, self.dist.main
        record.update(self.evaluate(net))
        progress.last_val_bpb = record["val_bpb"]
        if record["val_loss"] < progress.best_val_loss:
            progress.best_val_loss, progress.best_val_bpb = record["val_loss"], record["val_bpb"]
            progress.bad_evals = 0
            weights = self.full_state()  # a collective under FSDP: every process gathers
            if main:
                save_checkpoint(self.out, "best", self.model, weights=weights)
        else:
            progress.bad_evals += 1
        weights = self.full_state() if c.samples and (c.lora or c.fsdp) else None  # FSDP: collective
        if main and c.samples:
            with open(os.path.join(self.out, "samples.jsonl"), "a", encoding="utf-8") as f:
                for s in self.samples(record["step"], weights):
                    f.write(json.dumps(s) + "\n")
        if c.patience and progress.bad_evals >= c.patience:
            progress.stopped = "early_stopping"
            return True
        return False

    def save_last(self, progress: Progress, wall_s: float) -> None:
        state = self.train_state(progress, wall_s)
        weights = self.full_state()
        if self.dist.main:
            save_checkpoint(self.out, "last", self.model, state, weights=weights)
            write_report(self.out)
        progress.last_saved = progress.step

    def own_rng_state(self, rng: dict[str, Any], kind: str) -> torch.Tensor:
        """This process's saved RNG state; the main process's when the run was saved by another number of
        processes (every process seeds alike, so theirs is what a fresh process would hold)."""
        per_rank = rng.get(f"{kind}_ranks")
        return per_rank[self.dist.rank] if per_rank and len(per_rank) == self.dist.world else rng[kind]

    def train_state(self, progress: Progress, wall_s: float) -> dict[str, Any]:
        """What `last` holds besides the weights. Every process calls it (FSDP gathers the optimizer states,
        and every process's RNG state is gathered: its dropout masks are its own)."""
        rng: dict[str, Any] = {"torch": torch.get_rng_state()}
        if "cuda" in self.device:
            rng["cuda"] = torch.cuda.get_rng_state()
        if self.dist.world > 1:
            for kind in list(rng):
                rng[f"{kind}_ranks"] = gather(self.dist, self.device, rng[kind])
        state = {
            "step": progress.step, "tokens": progress.tokens, "best_val_loss": progress.best_val_loss,
            "bad_evals": progress.bad_evals, "best_val_bpb": progress.best_val_bpb,
            "last_val_bpb": progress.last_val_bpb, "wall_s": wall_s,
            "optimizers": optimizer_states(self.model, self.optimizers, self.c, self.dist), "rng": rng,
            "processes": self.dist.world,
        }  # fmt: skip
        if self.c.lora:
            state["lora"] = lora_weights(self.net)
        return state

    def summary(self, progress: Progress, wall_s: float) -> dict[str, Any]:
        best = progress.best_val_loss
        return {
            "status": "finished" if progress.stopped != "non_finite_loss" else "failed",
            "parameters": sum(p.numel() for n, p in self.model.named_parameters() if ".lora_" not in n),
            "tokens_seen": progress.tokens, "best_val_loss": best if math.isfinite(best) else None,
            "best_val_bpb": progress.best_val_bpb, "final_val_bpb": progress.last_val_bpb, "steps": progress.step,
            "wall_s": round(wall_s, 2), "device": self.device, "processes": self.dist.world,
            "stopped": progress.stopped,
        }  # fmt: skip


@dataclass
class Progress:
    """Where a run stands (what a checkpoint's training state records) and why it ended."""

    step: int = 0
    tokens: int = 0
    best_val_loss: float = float("inf")
    bad_evals: int = 0
    best_val_bpb: float | None = None
    last_val_bpb: float | None = None
    wall_s: float = 0.0  # the earlier sessions' wall time, for a resumed run
    last_saved: int = 0  # the step of the last checkpoint
    stopped: str = "max_steps"


def has_last(out: str) -> bool:
    return os.path.isfile(os.path.join(out, CHECKPOINTS, "last", TRAIN_STATE))


def check_process_count(out: str, config: TrainConfig, dist: Dist) -> None:
    """Another number of processes may resume a run: the global batch of a step, its data and the loss are
    the same (float rounding aside: the sums run in another order). Not with dropout: a process draws the
    masks of its own share of the batch from its own RNG stream, so the masks would differ from the saved
    run's; refused, naming the count to use."""
    saved = torch.load(os.path.join(out, CHECKPOINTS, "last", TRAIN_STATE), mmap=True, weights_only=True)
    processes = saved.get("processes", dist.world)
    dropout = config.dropout or (config.lora and config.lora_dropout)
    if processes != dist.world and dropout:
        raise InputError(
            f"--out {out} was saved by {processes} process(es), this is {dist.world}: with dropout the random "
            f"masks depend on the process count; resume with torchrun --nproc_per_node {processes}"
        )


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
    # every process checks (so all refuse alike); the main process alone writes, and decides to resume only
    # once a checkpoint that a kill left between its two renames is put back; the others read its decision
    # from the folder after the barrier, which nothing changes before the first step
    same_run = check_run_folder(out, setup.config, setup.identity, overwrite)
    dist = init_distributed(setup.device)
    if same_run and has_last(out):
        check_process_count(out, setup.config, dist)
    if dist.main:
        if overwrite and os.path.isfile(os.path.join(out, "run.json")):
            shutil.rmtree(out)
        os.makedirs(out, exist_ok=True)
        recover_checkpoints(out)
        resume = same_run and has_last(out)
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
    resume = same_run and has_last(out)
    trainer = Trainer(setup, out, dist, progress, tensorboard)
    summary = trainer.run(resume, on_eval)
    if dist.main:
        write_report(out)
    return summary
