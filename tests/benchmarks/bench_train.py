"""Benchmark: the bundled trainer against transformers' LlamaForCausalLM trained by a plain PyTorch loop.

Data: KJV (../shared/data/kjv.txt), one document per chapter (1,189), a byte-level BPE trained on it by corpus,
token shards with 5% of the chapters held out.

1. Training throughput (tokens/s), interleaved rounds, same architecture and parameter count (d_model 256,
   4 layers, 4 heads, vocabulary 8,192, sequence 256, batch 8, tied embeddings), same batches, same thread
   count, AdamW on both. "This trainer" is trainer.train's own step (Trainer.train_step: memory-mapped windows,
   loss, backward, clipping, optimizer); the peer is LlamaForCausalLM (sdpa attention) with
   torch.optim.AdamW in a loop: forward, cross-entropy, backward, clip_grad_norm_, step. Median per-round
   tokens/s; the ratio is the median of the per-round ratios (each round runs both back to back, so a pair sees
   the same machine load).
2. Tokens to a target validation loss: the trainer's recipe (Muon for hidden matrices + AdamW, warmup-stable-
   decay; trainer.train.train) against LlamaForCausalLM with AdamW + cosine in a plain loop, the same model
   size, batch and data, each with the same learning-rate search (3 values). The target is the best final
   validation loss the baseline reaches in N tokens. The trainer's recipe is given N / 1.3 tokens: if its best
   run reaches the target, it needs at least 1.3x fewer tokens. Reported: both curves, and how many tokens the
   baseline's best run needed to reach the trainer's best loss (the measured ratio, a lower bound when the
   baseline never gets there).

    .venv/bin/python tests/benchmarks/bench_train.py [--rounds 3] [--round-steps 3] [--threads 2] [--steps 150]
Writes reports/benchmarks/train.json and train.md.
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

from trainer.evaluate import loss_sums, make_batch  # noqa: E402
from trainer.model import IGNORE_INDEX  # noqa: E402
from trainer.train import Dist, Trainer, build_optimizers, load_config, lr_factor, prepare, train  # noqa: E402


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


def hf_step(model, opt, batch, clip: float) -> float:
    logits = model(input_ids=batch.x).logits
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), batch.y.view(-1))
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


def throughput(tokens: Path, rounds: int, steps: int, threads: int, work: Path) -> dict:
    sets = ["d_model=256", "n_layer=4", "n_head=4", "n_kv_head=4", "seq_len=256", "batch_size=8", "grad_accum=1",
            "optimizer=adamw", "schedule=constant", "warmup_steps=0", "eval_every=0", f"threads={threads}"]  # fmt: skip
    config = load_config("tiny", sets)
    setup = prepare(config, str(tokens), None)
    ours = Trainer(setup, str(work / "throughput"), Dist(), progress=False, tensorboard=False)
    ours.optimizers = build_optimizers(ours.net, config, "cpu")
    vocab = setup.shards.vocab_size
    hf = hf_llama(config, vocab)
    opt = adamw_for(hf, config)
    torch.set_num_threads(threads)
    assert ours.model.num_parameters() == hf.num_parameters(), "the two models must have the same size"
    tokens_per_step = config.batch_size * config.seq_len
    rows, step = [], 0
    for r in range(rounds + 1):  # round 0 warms both up (allocator, kernels) and is not counted
        row = {}
        for name in ("trainer", "transformers"):
            t0 = time.perf_counter()
            for _ in range(steps):
                step += 1
                if name == "trainer":
                    ours.train_step(ours.net, step)
                else:
                    batch = ours.step_batches(step)[0][0]  # the same windows, read the same way
                    hf_step(hf, opt, batch, config.grad_clip)
            row[name] = steps * tokens_per_step / (time.perf_counter() - t0)
        if r:
            rows.append(row)
            print(
                f"round {r}: trainer {row['trainer']:,.0f} tokens/s, transformers {row['transformers']:,.0f}"
            )
    ratios = [row["trainer"] / row["transformers"] for row in rows]
    return {
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
        "rounds": rows,
        "trainer_tokens_per_s": statistics.median(r["trainer"] for r in rows),
        "transformers_tokens_per_s": statistics.median(r["transformers"] for r in rows),
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
    }


# --- 2. tokens to a target loss ---------------------------------------------------------------------------


def baseline_run(tokens: Path, config, eval_every: int, eval_tokens: int) -> list[dict]:
    from corpus.tokenization import TokenShards

    shards = TokenShards(str(tokens))
    train_tokens, val = shards.train, shards.val
    model = hf_llama(config, shards.vocab_size)
    opt = adamw_for(model, config)
    evaluator = HFLoss(model)
    from trainer.train import window_starts

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


def trainer_run(tokens: Path, config, work: Path, name: str) -> list[dict]:
    out = work / name
    train(config, str(tokens), str(out), overwrite=True, progress=False)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [
        {"step": r["step"], "tokens": r["tokens"], "val_loss": r["val_loss"]}
        for r in records
        if "val_loss" in r
    ]


def first_reaching(curve: list[dict], target: float) -> int | None:
    return next((p["tokens"] for p in curve if p["val_loss"] <= target), None)


def tokens_to_target(
    tokens: Path, steps: int, threads: int, work: Path, d_model: int, n_layer: int, seq: int
) -> dict:
    eval_every, eval_tokens = 10, 16_384
    common = [f"d_model={d_model}", f"n_layer={n_layer}", "n_head=4", "n_kv_head=4", f"seq_len={seq}", "batch_size=8",
              "warmup_steps=20", "weight_decay=0.1", f"threads={threads}", "samples=0",
              f"eval_every={eval_every}", f"eval_tokens={eval_tokens}", "checkpoint_every=100000"]  # fmt: skip
    ours_steps = math.floor(steps / 1.3 / eval_every) * eval_every
    torch.set_num_threads(threads)
    runs = {"baseline": {}, "trainer": {}}
    for lr_base, lr_ours in zip((1e-3, 2e-3, 4e-3), (3e-3, 6e-3, 1.2e-2)):  # interleaved: one of each per lr
        base = load_config("tiny", common + ["optimizer=adamw", "schedule=cosine", f"lr={lr_base}",
                                             f"min_lr={lr_base / 10}", f"max_steps={steps}"])  # fmt: skip
        t0 = time.perf_counter()
        runs["baseline"][lr_base] = {"curve": baseline_run(tokens, base, eval_every, eval_tokens)}
        runs["baseline"][lr_base]["wall_s"] = round(time.perf_counter() - t0, 1)
        ours = load_config("tiny", common + ["optimizer=muon", "schedule=wsd", f"lr={lr_ours}", "min_lr=0",
                                             f"max_steps={ours_steps}"])  # fmt: skip
        t0 = time.perf_counter()
        runs["trainer"][lr_ours] = {"curve": trainer_run(tokens, ours, work, f"lr{lr_ours}")}
        runs["trainer"][lr_ours]["wall_s"] = round(time.perf_counter() - t0, 1)
        print(
            f"lr {lr_base:g} adamw+cosine: {runs['baseline'][lr_base]['curve'][-1]['val_loss']:.4f}; "
            f"lr {lr_ours:g} muon+wsd: {runs['trainer'][lr_ours]['curve'][-1]['val_loss']:.4f}"
        )
    best_base = min(runs["baseline"], key=lambda lr: runs["baseline"][lr]["curve"][-1]["val_loss"])
    best_ours = min(runs["trainer"], key=lambda lr: runs["trainer"][lr]["curve"][-1]["val_loss"])
    target = runs["baseline"][best_base]["curve"][-1]["val_loss"]
    ours_final = runs["trainer"][best_ours]["curve"][-1]
    base_curve = runs["baseline"][best_base]["curve"]
    base_tokens_to_ours = first_reaching(base_curve, ours_final["val_loss"])
    ours_tokens_to_target = first_reaching(runs["trainer"][best_ours]["curve"], target)
    budget = steps * 8 * seq
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
    }


def markdown(result: dict) -> str:
    t, q = result["throughput"], result.get("tokens_to_target")
    lines = [
        "# Training benchmark: the bundled trainer vs transformers' LlamaForCausalLM (plain PyTorch loop)",
        "",
        f"Machine: {result['machine']}; torch {result['torch']}, transformers {result['transformers']}; "
        f"load average at start {result['load_average']}. Shared machine: absolute numbers move with the load, the "
        "interleaved ratios much less.",
        "",
        "## Training throughput (CPU)",
        "",
        f"Same model ({t['parameters']:,} parameters: d_model 256, 4 layers, 4 heads, vocabulary "
        f"{t['config']['vocab_size']:,}, sequence 256, batch 8), same batches, {t['config']['threads']} threads, "
        f"AdamW; {len(t['rounds'])} interleaved rounds of {t['config']['steps_per_round']} steps.",
        "",
        "| | tokens/s (median) |",
        "|---|---:|",
        f"| this trainer | {t['trainer_tokens_per_s']:,.0f} |",
        f"| transformers LlamaForCausalLM | {t['transformers_tokens_per_s']:,.0f} |",
        "",
        f"**Ratio {t['ratio_median']:.2f}x** (median of per-round ratios; range {t['ratio_min']:.2f}-"
        f"{t['ratio_max']:.2f}); target 1.3x: {'met' if t['ratio_median'] >= 1.3 else 'not met'} in this run, at load "
        f"average {result['load_average'][0]} (above 1 on 2 cores, a round's two halves do not see the same machine "
        "and the ratios are noise).",
        "",
    ]
    if result.get("throughput_previous"):
        p = result["throughput_previous"]
        lines += [
            f"An earlier run ({len(p['rounds'])} rounds, load average {p['load_average_at_start']}) gave "
            f"{p['ratio_median']:.2f}x (range {p['ratio_min']:.2f}-{p['ratio_max']:.2f}).",
            "",
        ]
    if q:
        lines += [
            "## Tokens to a target validation loss (KJV)",
            "",
            f"d_model {q['config']['d_model']}, {q['config']['n_layer']} layers, sequence {q['config']['seq_len']}, "
            f"batch 8, vocabulary 4,096; 3 learning rates each. Baseline: AdamW + cosine, "
            f"{q['baseline_tokens']:,} tokens; target = its best final val loss {q['target_val_loss']:.4f} "
            f"(lr {q['baseline_best_lr']:g}). This trainer: Muon + AdamW, warmup-stable-decay, "
            f"{q['trainer_tokens']:,} tokens (1/1.3 of the budget): best final val loss "
            f"{q['trainer_final_val_loss']:.4f} (lr {q['trainer_best_lr']:g}).",
            "",
            "| lr | recipe | final val loss | wall s |",
            "|---:|---|---:|---:|",
        ]
        for kind, label in (("baseline", "transformers, AdamW + cosine"), ("trainer", "trainer, Muon + wsd")):
            for lr, run in q["runs"][kind].items():
                lines.append(
                    f"| {float(lr):g} | {label} | {run['curve'][-1]['val_loss']:.4f} | {run['wall_s']} |"
                )
        bound = "at least " if q["ratio_is_lower_bound"] else ""
        lines += [
            "",
            f"Target reached with 1.3x fewer tokens: **{'yes' if q['target_met_with_1_3x_fewer_tokens'] else 'no'}**"
            + (
                f" (first at {q['trainer_tokens_to_target']:,} tokens: **{q['ratio_to_target']:.2f}x** fewer than "
                f"the baseline's {q['baseline_tokens']:,})"
                if q["trainer_tokens_to_target"]
                else ""
            )
            + f". The baseline needs {bound}{q['baseline_tokens_to_trainer_final_loss'] or q['baseline_tokens']:,} "
            f"tokens for the trainer's final loss: **{bound}{q['ratio']:.2f}x** fewer tokens with the trainer's recipe.",
            "",
            "Caveats: the best learning rate of both recipes is the largest of its grid, so neither search brackets "
            "its optimum; one seed; a small model and budget (the machine was shared with other jobs).",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--round-steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=150, help="baseline steps in part 2 (0: skip part 2)")
    parser.add_argument("--target-model", default="128,4,128", help="part 2: d_model,n_layer,seq_len")
    parser.add_argument("--work", default=None, help="folder for shards and runs (default: a temporary one)")
    args = parser.parse_args()
    import transformers

    work = Path(args.work or tempfile.mkdtemp(prefix="bench-train-"))
    work.mkdir(parents=True, exist_ok=True)
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    result["throughput"] = throughput(
        build_shards(work, 8192), args.rounds, args.round_steps, args.threads, work
    )
    if args.steps:
        d_model, n_layer, seq = (int(v) for v in args.target_model.split(","))
        shards = build_shards(work, 4096)
        result["tokens_to_target"] = tokens_to_target(
            shards, args.steps, args.threads, work, d_model, n_layer, seq
        )
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "train.json").write_text(json.dumps(result, indent=2) + "\n")
    (REPORTS / "train.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
