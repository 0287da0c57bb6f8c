"""Benchmark: the bundled trainer against transformers' LlamaForCausalLM trained by a plain PyTorch loop.

Data: KJV (../shared/data/kjv.txt), one document per chapter (1,189), a byte-level BPE trained on it by corpus,
token shards with 5% of the chapters held out.

1. Training throughput (tokens/s), interleaved rounds, same architecture and parameter count (d_model 256,
   4 layers, 4 heads, vocabulary 8,192, sequence 256, batch 8, tied embeddings), same batches, same thread
   count, AdamW on both. "This trainer" is trainer.train's own step (Trainer.train_step: memory-mapped windows,
   loss, backward, clipping, optimizer); the peer is LlamaForCausalLM (sdpa attention) with
   torch.optim.AdamW in a loop: forward, cross-entropy, backward, clip_grad_norm_, step. Median per-round
   tokens/s; the ratio is the median of the per-round ratios (each round runs every variant back to back, so
   they see about the same machine load). The target comparison is fp32 eager against fp32 eager; unless
   --no-extra, both are also measured under torch.compile (time to the first step included, fresh cache) and
   under bf16 autocast, reported separately. Also measured: the step's fp32 floor on this machine (its matrix
   products and attention alone), which bounds the ratio any implementation can reach. litgpt: see
   LITGPT (it does not install beside this transformers).
2. Tokens to a target validation loss: the trainer's recipe (Muon for hidden matrices + AdamW, warmup-stable-
   decay; trainer.train.train) against LlamaForCausalLM with AdamW + cosine in a plain loop, the same model
   size, batch and data, each with the same learning-rate search (5 values a factor 2 apart, BASE_LRS and
   TRAINER_LRS). The target is the best final validation loss the baseline reaches in N tokens. The trainer's
   recipe is given N / 1.3 tokens: if its best run reaches the target, it needs at least 1.3x fewer tokens.
   Reported: both curves, whether each search brackets its best learning rate, the two best settings rerun
   with seeds 1 and 2, and how many tokens the baseline's best run needed to reach the trainer's best loss
   (the measured ratio, a lower bound when the baseline never gets there).

    flock /tmp/bench.lock .venv/bin/python tests/benchmarks/bench_train.py [--rounds 7] [--round-steps 3]
        [--threads 2] [--no-extra] [--skip-throughput (keep part 1's last result)]
        [--steps 150 (0: skip part 2, keep its last result)] [--target-model 64,2,64]
Writes reports/benchmarks/train.json and train.md (the demo section of train.md, not measured here, is kept).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[2]
REPORTS = REPO / "reports" / "benchmarks"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from trainer_fixtures import kjv_dataset  # noqa: E402

from corpus.files import write_atomic  # noqa: E402
from trainer.evaluate import loss_sums, make_batch  # noqa: E402
from trainer.model import IGNORE_INDEX  # noqa: E402
from trainer.train import (  # noqa: E402
    Dist,
    Trainer,
    TrainingError,
    build_optimizers,
    load_config,
    lr_factor,
    prepare,
    train,
    window_starts,
)


def build_shards(root: Path, vocab: int) -> Path:
    from corpus.tokenization import tokenize_dataset, train_tokenizer

    data = root / "kjv"
    if not data.exists():
        kjv_dataset(data, chapters=10_000)
    tok, tokens = root / f"tok{vocab}", root / f"tokens{vocab}"
    if not tok.exists():
        train_tokenizer(str(data), vocab, str(tok))
    if not tokens.exists():
        tokenize_dataset(str(data), str(tok), str(tokens), val_fraction=0.05)
    return tokens


def hf_llama(config, vocab: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    mc = config.model_config(vocab)
    hc = LlamaConfig(
        vocab_size=mc.vocab_size, hidden_size=mc.d_model, intermediate_size=mc.d_ff, num_hidden_layers=mc.n_layer,
        num_attention_heads=mc.n_head, num_key_value_heads=mc.n_kv_head, max_position_embeddings=mc.max_seq_len,
        tie_word_embeddings=mc.tie_embeddings, rope_theta=mc.rope_theta, rms_norm_eps=mc.norm_eps,
        attn_implementation="sdpa",
    )  # fmt: skip
    torch.manual_seed(config.seed)
    return LlamaForCausalLM(hc)


class HFLoss(nn.Module):
    """transformers' model behind the trainer's loss interface, so one evaluation function serves both."""

    def __init__(self, hf) -> None:
        super().__init__()
        self.hf = hf

    def forward(self, idx, targets, positions=None, attn_mask=None, reduction="mean"):
        logits = self.hf(input_ids=idx).logits
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=IGNORE_INDEX,
                               reduction=reduction)  # fmt: skip


def hf_step(model, opt, batch, clip: float, bf16: bool = False) -> float:
    """One plain training step of transformers' model (bf16: under CPU autocast, the loss in fp32)."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(input_ids=batch.x).logits
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), batch.y.view(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return float(loss.detach())


def adamw_for(model, config) -> torch.optim.AdamW:
    decay = [p for n, p in model.named_parameters() if p.ndim == 2 and "embed" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim == 2 and "embed" not in n)]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2))


# --- 1. throughput ----------------------------------------------------------------------------------------

THROUGHPUT_SETS = ["d_model=256", "n_layer=4", "n_head=4", "n_kv_head=4", "seq_len=256", "batch_size=8",
                   "grad_accum=1", "optimizer=adamw", "schedule=constant", "warmup_steps=0", "eval_every=0"]  # fmt: skip


def step_floor_ms(config, vocab: int, repeats: int = 3) -> dict:
    """What any fp32 implementation of one training step must spend on this machine: the step's matrix
    products (forward, input and weight gradients of every projection and of the output layer) run back to back
    as torch.mm on random tensors of the same shapes, plus scaled_dot_product_attention forward and backward;
    the best of `repeats` runs of each. The elementwise work (norms, rotary, SwiGLU, softmax, optimizer) comes on
    top, so transformers' time over this floor bounds the ratio any trainer could reach."""
    mc = config.model_config(vocab)
    n, d, f, v = config.batch_size * config.seq_len, mc.d_model, mc.d_ff, mc.vocab_size
    qkv = (mc.n_head + 2 * mc.n_kv_head) * mc.head_dim
    products = []
    for out_dim, in_dim, count in ((qkv, d, mc.n_layer), (d, d, mc.n_layer), (2 * f, d, mc.n_layer),
                                   (d, f, mc.n_layer), (v, d, 1)):  # fmt: skip
        # forward (n, in) x (in, out); input gradient (n, out) x (out, in); weight gradient (out, n) x (n, in)
        products += [
            ((n, in_dim, out_dim), count),
            ((n, out_dim, in_dim), count),
            ((out_dim, n, in_dim), count),
        ]

    def best(fn) -> float:
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    mm_s, flops = 0.0, 0
    for (m, k, n_), count in products:
        a, b = torch.randn(m, k), torch.randn(k, n_)
        mm_s += count * best(lambda a=a, b=b: torch.mm(a, b))
        flops += count * 2 * m * k * n_
    shape = (config.batch_size, mc.n_head, config.seq_len, mc.head_dim)
    q, k, v_ = (torch.randn(shape, requires_grad=True) for _ in range(3))
    grad = torch.randn(shape)

    def attention():
        F.scaled_dot_product_attention(q, k, v_, is_causal=True).backward(grad)

    attn_s = mc.n_layer * best(attention)
    total = mm_s + attn_s
    return {
        "matmul_ms": round(mm_s * 1000, 1),
        "matmul_gflop": round(flops / 1e9, 1),
        "matmul_gflop_per_s": round(flops / mm_s / 1e9, 1),
        "attention_ms": round(attn_s * 1000, 1),
        "floor_ms": round(total * 1000, 1),
        "floor_tokens_per_s": round(n / total),
    }


def step_profile(ours, hf, opt, batch, clip: float, repeats: int = 5) -> dict:
    """Where one fp32 step's time goes, on both sides: forward (for the trainer it includes the loss's
    gradient, which LinearCrossEntropy computes with the loss), backward and clipping + optimizer, the best of
    `repeats` steps in ms; and from torch.profiler over one step, the share of the time spent in matrix
    products (mm, addmm) and attention kernels, the rest being elementwise work and overhead."""
    from torch.profiler import ProfilerActivity, profile

    def ours_step():
        t0 = time.perf_counter()
        loss = ours.net(batch.x, batch.y, reduction="sum")
        t1 = time.perf_counter()
        (loss / batch.y.numel()).backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(ours.net.parameters(), clip)
        for o in ours.optimizers:
            o.step()
            o.zero_grad(set_to_none=True)
        return t1 - t0, t2 - t1, time.perf_counter() - t2

    def hf_parts():
        t0 = time.perf_counter()
        logits = hf(input_ids=batch.x).logits
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), batch.y.view(-1))
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(hf.parameters(), clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return t1 - t0, t2 - t1, time.perf_counter() - t2

    out = {}
    for name, fn in (("trainer", ours_step), ("transformers", hf_parts)):
        parts = [fn() for _ in range(repeats)]
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        events = prof.key_averages()
        total = sum(e.self_cpu_time_total for e in events)
        matmul = sum(
            e.self_cpu_time_total for e in events if e.key in ("aten::mm", "aten::addmm", "aten::addmm_")
        )
        attention = sum(e.self_cpu_time_total for e in events if "scaled_dot_product" in e.key)
        out[name] = {
            "forward_ms": round(1000 * min(p[0] for p in parts), 1),
            "backward_ms": round(1000 * min(p[1] for p in parts), 1),
            "optimizer_ms": round(1000 * min(p[2] for p in parts), 1),
            "matmul_share": round(matmul / total, 3),
            "attention_share": round(attention / total, 3),
        }
    return out


def throughput(tokens: Path, rounds: int, steps: int, threads: int, work: Path, extra: bool) -> dict:
    """Interleaved rounds of `steps` steps each of: the trainer's step (eager, fp32) and transformers' loop
    (eager, fp32); with `extra`, also both under torch.compile (time to the first step measured, with a fresh
    compile cache) and both under bf16 autocast on the CPU."""
    config = load_config("tiny", THROUGHPUT_SETS + [f"threads={threads}"])
    setup = prepare(config, str(tokens), None)
    ours = Trainer(setup, str(work / "throughput"), Dist(), progress=False, tensorboard=False)
    ours.optimizers = build_optimizers(ours.net, config, "cpu")
    vocab = setup.shards.vocab_size
    hf = hf_llama(config, vocab)
    opt = adamw_for(hf, config)
    torch.set_num_threads(threads)
    assert ours.model.num_parameters() == hf.num_parameters(), "the two models must have the same size"

    def batch_of(step: int):
        return ours.step_batches(step)[0][0]  # the same windows, read the same way

    variants = {
        "trainer": lambda s: ours.train_step(ours.net, s),
        "transformers": lambda s: hf_step(hf, opt, batch_of(s), config.grad_clip),
    }
    first_step_s = {}
    if extra:
        # compiled: the trainer's step on torch.compile(model), as the trainer does on CUDA; transformers'
        # model compiled the same way, its loss and optimizer eager as in its plain loop
        ours_c = Trainer(prepare(config, str(tokens), None), str(work / "tc"), Dist(), False, False)
        ours_c.optimizers = build_optimizers(ours_c.net, config, "cpu")
        net_c = torch.compile(ours_c.net)
        hf_c = torch.compile(hf_llama(config, vocab))
        opt_c = adamw_for(hf_c, config)
        t0 = time.perf_counter()
        ours_c.train_step(net_c, 1)
        first_step_s["trainer_compiled"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        hf_step(hf_c, opt_c, batch_of(1), config.grad_clip)
        first_step_s["transformers_compiled"] = round(time.perf_counter() - t0, 1)
        variants["trainer_compiled"] = lambda s: ours_c.train_step(net_c, s)
        variants["transformers_compiled"] = lambda s: hf_step(hf_c, opt_c, batch_of(s), config.grad_clip)
        # bf16 autocast: the trainer's own dtype=bfloat16 path; transformers' loop under torch.autocast
        bf16 = load_config("tiny", THROUGHPUT_SETS + [f"threads={threads}", "dtype=bfloat16"])
        ours_b = Trainer(prepare(bf16, str(tokens), None), str(work / "tb"), Dist(), False, False)
        ours_b.optimizers = build_optimizers(ours_b.net, bf16, "cpu")
        hf_b = hf_llama(config, vocab)
        opt_b = adamw_for(hf_b, config)
        variants["trainer_bf16"] = lambda s: ours_b.train_step(ours_b.net, s)
        variants["transformers_bf16"] = lambda s: hf_step(
            hf_b, opt_b, batch_of(s), config.grad_clip, bf16=True
        )
    tokens_per_step = config.batch_size * config.seq_len
    rows, floors, step = [], [], 1
    for r in range(rounds + 1):  # round 0 warms every variant up (allocator, kernels) and is not counted
        row = {}
        for name, run_step in variants.items():
            t0 = time.perf_counter()
            for _ in range(steps):
                step += 1
                run_step(step)
            row[name] = steps * tokens_per_step / (time.perf_counter() - t0)
        if r:
            floors.append(step_floor_ms(config, vocab))  # in the round too: it sees the round's machine load
            row["floor"] = floors[-1]["floor_tokens_per_s"]
            rows.append(row)
            print(
                f"round {r}: " + ", ".join(f"{k} {v:,.0f}" for k, v in row.items()) + " tokens/s", flush=True
            )

    def ratio(a: str, b: str) -> dict:
        ratios = [row[a] / row[b] for row in rows]
        return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}

    result = {
        "config": {
            "d_model": 256,
            "n_layer": 4,
            "n_head": 4,
            "vocab_size": ours.model.config.vocab_size,
            "seq_len": 256,
            "batch_size": 8,
            "threads": threads,
            "steps_per_round": steps,
        },  # fmt: skip
        "parameters": ours.model.num_parameters(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "rounds": rows,
        "tokens_per_s": {name: statistics.median(row[name] for row in rows) for name in variants},
        "floor_tokens_per_s": statistics.median(row["floor"] for row in rows),
        "trainer_tokens_per_s": statistics.median(r["trainer"] for r in rows),
        "transformers_tokens_per_s": statistics.median(r["transformers"] for r in rows),
        "ratio_median": ratio("trainer", "transformers")["median"],
        "ratio_min": ratio("trainer", "transformers")["min"],
        "ratio_max": ratio("trainer", "transformers")["max"],
        # the round whose floor is the median one, and the ceiling: transformers' step time over the floor's
        "profile": step_profile(ours, hf, opt, batch_of(1), config.grad_clip),
        "floor": sorted(floors, key=lambda f: f["floor_ms"])[len(floors) // 2],
        "ceiling_vs_transformers": ratio("floor", "transformers"),
        "trainer_vs_floor": ratio("trainer", "floor"),
    }
    if extra:
        result["first_step_s"] = first_step_s
        result["ratios"] = {
            "trainer_compiled_vs_transformers_eager": ratio("trainer_compiled", "transformers"),
            "trainer_compiled_vs_transformers_compiled": ratio("trainer_compiled", "transformers_compiled"),
            "transformers_compiled_vs_eager": ratio("transformers_compiled", "transformers"),
            "trainer_bf16_vs_transformers_bf16": ratio("trainer_bf16", "transformers_bf16"),
            "trainer_bf16_vs_trainer_fp32": ratio("trainer_bf16", "trainer"),
        }
    return result


# --- 2. tokens to a target loss ---------------------------------------------------------------------------


def baseline_run(tokens: Path, config, eval_every: int, eval_tokens: int) -> list[dict]:
    from corpus.tokenization import TokenShards

    shards = TokenShards(str(tokens))
    train_tokens, val = shards.train, shards.val
    model = hf_llama(config, shards.vocab_size)
    opt = adamw_for(model, config)
    evaluator = HFLoss(model)
    curve = []
    for step in range(1, config.max_steps + 1):
        factor = lr_factor(step, config, config.max_steps)
        for group in opt.param_groups:
            group["lr"] = config.lr * factor
        batch = make_batch(train_tokens, window_starts(step, config, len(train_tokens)), config.seq_len)
        hf_step(model, opt, batch, config.grad_clip)
        if step % eval_every == 0:
            nats, count = loss_sums(evaluator, val, config.seq_len, "cpu", max_tokens=eval_tokens)
            curve.append(
                {"step": step, "tokens": step * config.batch_size * config.seq_len, "val_loss": nats / count}
            )
    return curve


def trainer_run(tokens: Path, config, work: Path, name: str) -> tuple[list[dict], bool]:
    """The run's validation curve, and whether it diverged (the trainer stops on a non-finite loss)."""
    out = work / name
    diverged = False
    try:
        train(config, str(tokens), str(out), overwrite=True, progress=False)
    except TrainingError:
        diverged = True
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    curve = [
        {"step": r["step"], "tokens": r["tokens"], "val_loss": r["val_loss"]}
        for r in records
        if "val_loss" in r
    ]
    return curve, diverged


def final_loss(run: dict) -> float:
    """A run's last validation loss; infinite when it diverged or never evaluated."""
    if run["diverged"] or not run["curve"] or not math.isfinite(run["curve"][-1]["val_loss"]):
        return math.inf
    return run["curve"][-1]["val_loss"]


# the learning-rate searches: the same number of points for both, a factor 2 apart, wide enough that each
# best value lies inside its grid (the earlier 3-point grids ended at their best value)
BASE_LRS = (2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2)
TRAINER_LRS = (3e-3, 6e-3, 1.2e-2, 2.4e-2, 4.8e-2)


def first_reaching(curve: list[dict], target: float) -> int | None:
    return next((p["tokens"] for p in curve if p["val_loss"] <= target), None)


def tokens_to_target(
    tokens: Path,
    steps: int,
    threads: int,
    work: Path,
    d_model: int,
    n_layer: int,
    seq: int,
    base_lrs: tuple[float, ...] = BASE_LRS,
    ours_lrs: tuple[float, ...] = TRAINER_LRS,
    seeds: tuple[int, ...] = (1, 2),
) -> dict:
    eval_every, eval_tokens = 10, 16_384
    common = [f"d_model={d_model}", f"n_layer={n_layer}", "n_head=4", "n_kv_head=4", f"seq_len={seq}", "batch_size=8",
              "warmup_steps=20", "weight_decay=0.1", f"threads={threads}", "samples=0",
              f"eval_every={eval_every}", f"eval_tokens={eval_tokens}", "checkpoint_every=100000"]  # fmt: skip
    ours_steps = math.floor(steps / 1.3 / eval_every) * eval_every
    torch.set_num_threads(threads)

    def base_config(lr: float, seed: int = 0):
        return load_config("tiny", common + ["optimizer=adamw", "schedule=cosine", f"lr={lr}", f"min_lr={lr / 10}",
                                             f"max_steps={steps}", f"seed={seed}"])  # fmt: skip

    def ours_config(lr: float, seed: int = 0):
        return load_config("tiny", common + ["optimizer=muon", "schedule=wsd", f"lr={lr}", "min_lr=0",
                                             f"max_steps={ours_steps}", f"seed={seed}"])  # fmt: skip

    runs = {"baseline": {}, "trainer": {}}
    for lr_base, lr_ours in zip(base_lrs, ours_lrs):  # interleaved: one of each per grid point
        t0 = time.perf_counter()
        curve = baseline_run(tokens, base_config(lr_base), eval_every, eval_tokens)
        runs["baseline"][lr_base] = {"curve": curve, "diverged": not math.isfinite(curve[-1]["val_loss"])}
        runs["baseline"][lr_base]["wall_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        curve, diverged = trainer_run(tokens, ours_config(lr_ours), work, f"lr{lr_ours}")
        runs["trainer"][lr_ours] = {"curve": curve, "diverged": diverged}
        runs["trainer"][lr_ours]["wall_s"] = round(time.perf_counter() - t0, 1)
        print(
            f"lr {lr_base:g} adamw+cosine: {final_loss(runs['baseline'][lr_base]):.4f}; "
            f"lr {lr_ours:g} muon+wsd: {final_loss(runs['trainer'][lr_ours]):.4f}",
            flush=True,
        )
    best_base = min(runs["baseline"], key=lambda lr: final_loss(runs["baseline"][lr]))
    best_ours = min(runs["trainer"], key=lambda lr: final_loss(runs["trainer"][lr]))
    target = final_loss(runs["baseline"][best_base])
    ours_final = runs["trainer"][best_ours]["curve"][-1]
    base_curve = runs["baseline"][best_base]["curve"]
    base_tokens_to_ours = first_reaching(base_curve, ours_final["val_loss"])
    ours_tokens_to_target = first_reaching(runs["trainer"][best_ours]["curve"], target)
    budget = steps * 8 * seq
    # the two best settings again with other seeds (initialization and batches): does the result hold?
    by_seed = [{"seed": 0, "baseline_final": target, "trainer_final": ours_final["val_loss"],
                "trainer_tokens_to_target": ours_tokens_to_target}]  # fmt: skip
    for seed in seeds:
        base_curve_s = baseline_run(tokens, base_config(best_base, seed), eval_every, eval_tokens)
        ours_curve_s, _ = trainer_run(tokens, ours_config(best_ours, seed), work, f"seed{seed}")
        target_s = base_curve_s[-1]["val_loss"]
        by_seed.append({"seed": seed, "baseline_final": target_s, "trainer_final": ours_curve_s[-1]["val_loss"],
                        "trainer_tokens_to_target": first_reaching(ours_curve_s, target_s)})  # fmt: skip
        print(f"seed {seed}: {by_seed[-1]}", flush=True)
    for row in by_seed:
        reached = row["trainer_tokens_to_target"]
        row["ratio_to_target"] = budget / reached if reached else None
    return {
        "config": {
            "d_model": d_model,
            "n_layer": n_layer,
            "seq_len": seq,
            "batch_size": 8,
            "baseline_steps": steps,
            "trainer_steps": ours_steps,
            "eval_every": eval_every,
            "eval_tokens": eval_tokens,
        },  # fmt: skip
        "runs": {k: {str(lr): v for lr, v in d.items()} for k, d in runs.items()},
        "target_val_loss": target,
        "baseline_best_lr": best_base,
        "trainer_best_lr": best_ours,
        # the optimum is bracketed when the best learning rate is not at either end of its grid
        "baseline_bracketed": best_base not in (min(base_lrs), max(base_lrs)),
        "trainer_bracketed": best_ours not in (min(ours_lrs), max(ours_lrs)),
        "baseline_tokens": budget,
        "trainer_tokens": ours_final["tokens"],
        "trainer_final_val_loss": ours_final["val_loss"],
        "trainer_tokens_to_target": ours_tokens_to_target,
        "target_met_with_1_3x_fewer_tokens": ours_tokens_to_target is not None,
        # the baseline's budget over the tokens the trainer needed for the baseline's best loss (evaluations
        # every eval_every steps, so the trainer's count is rounded up to one)
        "ratio_to_target": budget / ours_tokens_to_target if ours_tokens_to_target else None,
        "baseline_tokens_to_trainer_final_loss": base_tokens_to_ours,
        # tokens the baseline needs for the trainer's final loss / tokens the trainer used; a lower bound when
        # the baseline never reaches it
        "ratio": (base_tokens_to_ours or budget) / ours_final["tokens"],
        "ratio_is_lower_bound": base_tokens_to_ours is None,
        "by_seed": by_seed,
    }


def pct(r: dict) -> str:
    return f"{r['median']:.2f}x (range {r['min']:.2f}-{r['max']:.2f})"


def throughput_markdown(result: dict) -> list[str]:
    t = result["throughput"]
    tps, floor = t["tokens_per_s"], t["floor"]
    met = t["ratio_median"] >= 1.3
    lines = [
        "## Training throughput (CPU)",
        "",
        f"Same model ({t['parameters']:,} parameters: d_model 256, 4 layers, 4 heads, vocabulary "
        f"{t['config']['vocab_size']:,}, sequence 256, batch 8), same batches, {t['config']['threads']} threads, "
        f"AdamW; {len(t['rounds'])} interleaved rounds of {t['config']['steps_per_round']} steps (each round runs "
        f"every variant back to back); load average at start {t['load_average_at_start']}.",
        "",
        "| | tokens/s (median) |",
        "|---|---:|",
    ]
    labels = {
        "trainer": "this trainer, fp32, eager",
        "transformers": "transformers LlamaForCausalLM, fp32, eager",
        "trainer_compiled": "this trainer, fp32, torch.compile",
        "transformers_compiled": "transformers, fp32, torch.compile",
        "trainer_bf16": "this trainer, bf16 autocast (dtype=bfloat16)",
        "transformers_bf16": "transformers, bf16 autocast",
    }
    lines += [f"| {labels[k]} | {v:,.0f} |" for k, v in tps.items()]
    lines += [
        "",
        f"**fp32 eager, the target comparison: {t['ratio_median']:.2f}x** transformers (median of per-round "
        f"ratios; range {t['ratio_min']:.2f}-{t['ratio_max']:.2f}); **target 1.3x: {'met' if met else 'not met'}.**",
        "",
    ]
    if "ratios" in t:
        r, first = t["ratios"], t["first_step_s"]
        lines += [
            f"- torch.compile (inductor, CPU): this trainer compiled vs transformers eager "
            f"{pct(r['trainer_compiled_vs_transformers_eager'])}; compiled vs compiled "
            f"{pct(r['trainer_compiled_vs_transformers_compiled'])}; transformers gains "
            f"{pct(r['transformers_compiled_vs_eager'])} from compiling. Time to the first step (compilation, "
            f"fresh cache): this trainer {first['trainer_compiled']} s, transformers {first['transformers_compiled']}"
            " s. The target claim rests on the eager fp32 ratio above, not on these.",
            f"- bf16 autocast (the CPU has avx512_bf16, no AMX): this trainer vs transformers "
            f"{pct(r['trainer_bf16_vs_transformers_bf16'])}; this trainer bf16 vs its fp32 "
            f"{pct(r['trainer_bf16_vs_trainer_fp32'])}. Not the target comparison (fp32 vs fp32).",
            "",
        ]
    if "profile" in t:
        lines += [
            "Where one fp32 step's time goes (best of 5 steps; shares from torch.profiler over one step; the "
            "trainer's forward includes the output layer's gradients, which its chunked loss computes with the "
            "loss):",
            "",
            "| | forward ms | backward ms | clip + AdamW ms | matrix products | attention | the rest |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, label in (("trainer", "this trainer"), ("transformers", "transformers")):
            p = t["profile"][name]
            rest = 1 - p["matmul_share"] - p["attention_share"]
            lines.append(
                f"| {label} | {p['forward_ms']} | {p['backward_ms']} | {p['optimizer_ms']} | "
                f"{p['matmul_share']:.0%} | {p['attention_share']:.0%} | {rest:.0%} |"
            )
        lines.append("")
    ceiling, share = t["ceiling_vs_transformers"], t["trainer_vs_floor"]
    lines += [
        f"**The fp32 floor of this step on this machine** (measured in every round). The step's matrix products "
        f"alone ({floor['matmul_gflop']} GFLOP: every projection and the output layer, forward and both "
        f"gradients) take {floor['matmul_ms']} ms as back-to-back torch.mm ({floor['matmul_gflop_per_s']} "
        f"GFLOP/s, MKL's sgemm), and causal attention forward and backward {floor['attention_ms']} ms (median "
        f"round): {floor['floor_ms']} ms a step, {t['floor_tokens_per_s']:,.0f} tokens/s (median), before any "
        "norm, rotary, activation, softmax or optimizer work. No fp32 implementation built on these kernels can "
        f"beat transformers by more than {pct(ceiling)} on this machine; this trainer reaches {pct(share)} of the "
        "floor's speed.",
        "",
    ]
    if result.get("throughput_previous"):
        p = result["throughput_previous"]
        lines += [
            f"Before the model's CPU training changes (stacked projections, Rotary, RMSNormFunction, "
            f"LinearCrossEntropy; same benchmark, fp32 eager, load average {p['load_average_at_start']}): "
            f"{p['ratio_median']:.2f}x (range {p['ratio_min']:.2f}-{p['ratio_max']:.2f}).",
            "",
        ]
    if result.get("litgpt"):
        lines += [f"litgpt: {result['litgpt']}", ""]
    return lines


def target_markdown(q: dict) -> list[str]:
    c = q["config"]
    lines = [
        "## Tokens to a target validation loss (KJV)",
        "",
        f"d_model {c['d_model']}, {c['n_layer']} layers, sequence {c['seq_len']}, batch 8, vocabulary 4,096; "
        f"{len(q['runs']['baseline'])} learning rates each, a factor 2 apart. Baseline: transformers' Llama, AdamW "
        f"+ cosine, {q['baseline_tokens']:,} tokens; target = its best final val loss {q['target_val_loss']:.4f} "
        f"(lr {q['baseline_best_lr']:g}). This trainer: Muon + AdamW, warmup-stable-decay, "
        f"{q['trainer_tokens']:,} tokens (1/1.3 of the budget): best final val loss "
        f"{q['trainer_final_val_loss']:.4f} (lr {q['trainer_best_lr']:g}).",
        "",
        "| lr | recipe | final val loss | wall s |",
        "|---:|---|---:|---:|",
    ]
    for kind, label in (("baseline", "transformers, AdamW + cosine"), ("trainer", "trainer, Muon + wsd")):
        for lr, run in q["runs"][kind].items():
            loss = "diverged" if run.get("diverged") else f"{run['curve'][-1]['val_loss']:.4f}"
            lines.append(f"| {float(lr):g} | {label} | {loss} | {run['wall_s']} |")
    bound = "at least " if q["ratio_is_lower_bound"] else ""
    met = q["target_met_with_1_3x_fewer_tokens"]
    lines += [
        "",
        f"Target reached with 1.3x fewer tokens: **{'yes' if met else 'no'}**"
        + (
            f" (first at {q['trainer_tokens_to_target']:,} tokens: **{q['ratio_to_target']:.2f}x** fewer than the "
            f"baseline's {q['baseline_tokens']:,})"
            if q["trainer_tokens_to_target"]
            else ""
        )
        + f". The baseline needs {bound}{q['baseline_tokens_to_trainer_final_loss'] or q['baseline_tokens']:,} "
        f"tokens for the trainer's final loss: **{bound}{q['ratio']:.2f}x** fewer tokens with the trainer's recipe.",
        "",
    ]
    brackets = {
        "baseline": q.get("baseline_bracketed"),
        "trainer": q.get("trainer_bracketed"),
    }
    said = [
        f"the {'baseline' if k == 'baseline' else 'trainer'}'s best learning rate is "
        + ("inside its grid (the optimum is bracketed)" if v else "at an end of its grid (not bracketed)")
        for k, v in brackets.items()
    ]
    lines += [f"Searches: {'; '.join(said)}.", ""]
    if q.get("by_seed"):
        lines += [
            "The two best settings with other seeds (initialization and batches); the target is each seed's own "
            "baseline final loss:",
            "",
            "| seed | baseline final val loss | trainer final val loss | trainer tokens to the target | fewer tokens |",
            "|---:|---:|---:|---:|---:|",
        ]
        for row in q["by_seed"]:
            reached = row["trainer_tokens_to_target"]
            lines.append(
                f"| {row['seed']} | {row['baseline_final']:.4f} | {row['trainer_final']:.4f} | "
                + (f"{reached:,} | {row['ratio_to_target']:.2f}x |" if reached else "not reached | - |")
            )
        lines += [
            "",
            "Caveats: the learning rates were searched with seed 0 only; a small model and budget.",
            "",
        ]
    else:
        lines += ["Caveats: one seed; a small model and budget.", ""]
    return lines


def markdown(result: dict, kept: str = "") -> str:
    lines = [
        "# Training benchmark: the bundled trainer vs transformers' LlamaForCausalLM (plain PyTorch loop)",
        "",
        f"Machine: {result['machine']}; torch {result['torch']}, transformers {result['transformers']}; "
        f"load average at start {result['load_average']}. Shared machine: absolute numbers move with the load, the "
        "interleaved ratios much less. Command: `" + result.get("command", "") + "`.",
        "",
    ]
    lines += throughput_markdown(result)
    if result.get("tokens_to_target"):
        lines += target_markdown(result["tokens_to_target"])
    return "\n".join(lines) + ("\n" + kept if kept else "")


def kept_sections(path: Path) -> str:
    """The report's sections this script does not measure (the demo, the GPU note), carried over as written."""
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    start = text.find("## The demo")
    return text[start:] if start >= 0 else ""


LITGPT = (
    "not measured: litgpt 0.5.13 cannot be installed beside this environment's transformers. It requires "
    "huggingface-hub<1.4 (>=0.30), transformers 5.25.0 requires huggingface-hub>=2.4.0,<3.0 (2.4.0 is installed); "
    "`pip install --dry-run litgpt==0.5.13` would downgrade huggingface_hub to 1.3.7 (and add lightning 2.6.6, "
    "jsonargparse, torchmetrics), breaking transformers, so it was not installed."
)


def litgpt_status() -> str:
    try:
        from importlib.metadata import version

        return f"installed ({version('litgpt')}) but not wired into this benchmark"
    except Exception:
        return LITGPT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--round-steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--no-extra", action="store_true", help="part 1 without the compiled and bf16 variants"
    )
    parser.add_argument("--skip-throughput", action="store_true", help="keep part 1's last result")
    parser.add_argument("--steps", type=int, default=150, help="baseline steps in part 2 (0: skip part 2)")
    parser.add_argument("--target-model", default="64,2,64", help="part 2: d_model,n_layer,seq_len")
    parser.add_argument("--work", default=None, help="folder for shards and runs (default: a temporary one)")
    parser.add_argument("--reports", default=str(REPORTS), help="where train.json and train.md go")
    args = parser.parse_args()
    reports = Path(args.reports)
    import transformers

    work = Path(args.work or tempfile.mkdtemp(prefix="bench-train-"))
    work.mkdir(parents=True, exist_ok=True)
    # a fresh compile cache, so that the time to the first compiled step includes the whole compilation
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="inductor-", dir=work)
    previous = {}
    if (reports / "train.json").is_file():
        previous = json.loads((reports / "train.json").read_text())
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "command": "bench_train.py " + " ".join(sys.argv[1:]),
        "litgpt": litgpt_status(),
    }
    if args.skip_throughput and previous.get("throughput"):  # not re-measured: kept as it was
        for key in ("throughput", "throughput_previous", "load_average"):
            if key in previous:
                result[key] = previous[key]
        result["command"] = previous.get("command", "") + "; part 2: " + result["command"]
    else:
        result["throughput"] = throughput(
            build_shards(work, 8192), args.rounds, args.round_steps, args.threads, work, not args.no_extra
        )
        # the reference kept across reruns: the last run before the model's CPU training changes (1b1c478)
        if previous.get("throughput_previous") or previous.get("throughput"):
            result["throughput_previous"] = previous.get("throughput_previous") or previous["throughput"]
    if args.steps:
        d_model, n_layer, seq = (int(v) for v in args.target_model.split(","))
        shards = build_shards(work, 4096)
        result["tokens_to_target"] = tokens_to_target(
            shards, args.steps, args.threads, work, d_model, n_layer, seq
        )
    elif previous.get("tokens_to_target"):
        result["tokens_to_target"] = previous["tokens_to_target"]  # not re-measured: kept as it was
        result["command"] += "; part 2 kept from: " + previous.get("command", "an earlier run")
    kept = kept_sections(reports / "train.md")
    reports.mkdir(parents=True, exist_ok=True)
    write_atomic(str(reports / "train.json"), json.dumps(result, indent=2) + "\n")
    write_atomic(str(reports / "train.md"), markdown(result, kept))
    print(markdown(result))


if __name__ == "__main__":
    main()
