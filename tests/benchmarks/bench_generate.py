"""Benchmark: generation tokens/s on the CPU, the trainer's KV-cached decoding (trainer/generate.py) against
transformers' `generate()` on the same weights (exported as a LlamaForCausalLM) and the same prompts.

Model: a random Llama-style GPT, d_model 256, 4 layers, 4 heads, vocabulary 8,192 (a byte-level BPE trained
by corpus on the KJV, ../shared/data/kjv.txt), fp32. Prompts: KJV verses (batch 1: one verse; batch 8: eight
verses of different lengths, left padded on both sides). Greedy, exactly 128 new tokens per row (end tokens
ignored on both sides), so both generate the same number of tokens; the greedy tokens are checked equal.

Measured, interleaved, --repeats rounds, at each intra-op thread count of --threads (both sides run at the
same count; a ratio never mixes two counts):
  ours          Generator.generate_ids(prompts, GenerationConfig(temperature=0, max_new_tokens=128)): prefill,
                one token per step with the KV cache on the fused decode weights (trainer.generate.decode_step),
                incremental detokenization of every row included
  ours, plain   the same with the fused weights turned off (FUSED_WEIGHTS_MAX_BYTES = 0): each step runs
                last_logits on the model's own weights, as before the fused step existed (for reference)
  transformers  LlamaForCausalLM.generate(input_ids, attention_mask, max_new_tokens=128, do_sample=False),
                its own KV cache (DynamicCache), token ids only
Tokens/s = rows x 128 / wall time; the headline is the median over rounds of the per-round ratio. The fused
weights are built once per model, before the timed rounds (the build time is reported on its own).

    .venv/bin/python tests/benchmarks/bench_generate.py [--repeats 5] [--threads 1,2] [--compile]
Writes reports/benchmarks/generate.json and generate.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
REPORTS = REPO / "reports" / "benchmarks"
sys.path.insert(0, str(REPO))

from trainer import generate  # noqa: E402
from trainer.checkpoint import LoadedModel  # noqa: E402
from trainer.generate import GenerationConfig, Generator  # noqa: E402
from trainer.model import GPT, ModelConfig, to_hf_state_dict  # noqa: E402

NEW_TOKENS = 128


def kjv_tokenizer(folder: Path, verses: list[str], vocab: int) -> None:
    from tokenizers import pre_tokenizers, trainers

    from corpus.tokenization.load import SPECIAL_TOKENS
    from corpus.tokenization.train import new_bpe, save_folder

    tok = new_bpe()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(verses, trainer=trainer)
    save_folder(tok, str(folder), {"dataset": "kjv.txt"})


def hf_llama(model: GPT):
    """The same weights as transformers' LlamaForCausalLM, configured as `corpus export` writes it."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from trainer.hf import llama_config

    hf = LlamaForCausalLM(LlamaConfig.from_dict(llama_config(model, None, None, None)))
    hf.load_state_dict(to_hf_state_dict(model), strict=False)
    hf.generation_config.eos_token_id = None
    hf.generation_config.pad_token_id = 0
    return hf.eval()


def timed(fn, *args):
    """(wall seconds, CPU seconds of this process, result): the machine is shared, so CPU time is reported
    beside wall time (it leaves out the time other processes held the cores)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def run_ours(gen: Generator, prompts: list[list[int]]) -> list[list[int]]:
    cfg = GenerationConfig(max_new_tokens=NEW_TOKENS, temperature=0, ignore_eos=True)
    return [c.token_ids for c in gen.generate_ids(prompts, cfg)]


def run_hf(hf, prompts: list[list[int]], pad_id: int) -> list[list[int]]:
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, width - len(p) :] = torch.tensor(p)
        mask[i, width - len(p) :] = 1
    with torch.inference_mode():
        out = hf.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            do_sample=False,
            pad_token_id=pad_id,
        )
    return out[:, width:].tolist()


def run_ours_plain(gen: Generator, prompts: list[list[int]]) -> list[list[int]]:
    limit, generate.FUSED_WEIGHTS_MAX_BYTES = generate.FUSED_WEIGHTS_MAX_BYTES, 0
    try:
        return run_ours(gen, prompts)
    finally:
        generate.FUSED_WEIGHTS_MAX_BYTES = limit


SIDES = ("ours", "ours_plain", "transformers")


def compiled_step(gen: Generator, batches: dict, threads: int, repeats: int) -> dict:
    """torch.compile (inductor, default mode) of the one-token step against the eager step, per batch: the
    first generation's extra time (a cold compile, caches off, and the recompiles it triggers: the cache
    length turns dynamic, a batch of other rows or positions is another graph) and tokens/s after it.
    Dynamo cannot trace oneDNN's packed weights, so both run on the MKL-only fused weights."""
    import torch._inductor.config as inductor_config

    inductor_config.force_disable_caches = True
    torch.set_num_threads(threads)
    eager = generate.decode_step
    compiled = torch.compile(eager)
    onednn_usable = generate._onednn_usable
    generate._onednn_usable = lambda device: False
    generate._decode_weights.clear()
    out = {}
    for b, prompts in batches.items():
        wall_eager, _, made_eager = timed(run_ours, gen, prompts)
        generate.decode_step = compiled
        try:
            first, _, _ = timed(run_ours, gen, prompts)
            rates = {"eager": [], "compiled": []}
            for _ in range(repeats):
                for side, step in (("eager", eager), ("compiled", compiled)):
                    generate.decode_step = step
                    wall, _, made = timed(run_ours, gen, prompts)
                    rates[side].append(len(prompts) * NEW_TOKENS / wall)
        finally:
            generate.decode_step = eager
            if b == max(batches):
                generate._onednn_usable = onednn_usable
                generate._decode_weights.clear()
        out[f"batch_{b}"] = {
            "compile_s": first - wall_eager,
            "eager_tokens_per_s_median": statistics.median(rates["eager"]),
            "compiled_tokens_per_s_median": statistics.median(rates["compiled"]),
            "same_tokens": made == made_eager,
        }
        print(f"torch.compile batch {b}: {out[f'batch_{b}']}", flush=True)
    return out


def one_round(gen: Generator, hf, prompts: list[list[int]]) -> dict:
    """The three sides on the same prompts, one after the other; tokens/s by wall and by CPU time."""
    runs = {
        "ours": lambda: run_ours(gen, prompts),
        "ours_plain": lambda: run_ours_plain(gen, prompts),
        "transformers": lambda: run_hf(hf, prompts, gen.pad_id),
    }
    tokens = len(prompts) * NEW_TOKENS
    out, made = {}, {}
    for side, fn in runs.items():
        wall, cpu, made[side] = timed(fn)
        out[f"{side}_tokens_per_s"] = tokens / wall
        out[f"{side}_tokens_per_cpu_s"] = tokens / cpu
    out["ratio"] = out["ours_tokens_per_s"] / out["transformers_tokens_per_s"]
    out["cpu_ratio"] = out["ours_tokens_per_cpu_s"] / out["transformers_tokens_per_cpu_s"]
    out["plain_ratio"] = out["ours_plain_tokens_per_s"] / out["transformers_tokens_per_s"]
    out["same_tokens"] = made["ours"] == made["transformers"] == made["ours_plain"]
    return out


def summarize(rounds: list[dict], prompts: list[list[int]]) -> dict:
    med = {k: statistics.median(x[k] for x in rounds) for k in rounds[0] if k != "same_tokens"}
    return {
        "prompt_tokens": [len(p) for p in prompts],
        **{f"{k}_median": v for k, v in med.items()},
        "ratio_min": min(x["ratio"] for x in rounds),
        "ratio_max": max(x["ratio"] for x in rounds),
        "same_tokens_every_round": all(x["same_tokens"] for x in rounds),
        "rounds": rounds,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", default="1,2", help="intra-op thread counts, comma-separated")
    ap.add_argument("--compile", action="store_true", help="also time torch.compile of the step (1 thread)")
    args = ap.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]
    import transformers

    load_before = os.getloadavg()
    verses = (SHARED / "kjv.txt").read_text(encoding="utf-8").splitlines()
    with tempfile.TemporaryDirectory() as tmp:
        tok_dir = Path(tmp) / "tok"
        kjv_tokenizer(tok_dir, verses[:20000], 8192)
        torch.manual_seed(0)
        config = ModelConfig(vocab_size=8192, n_layer=4, n_head=4, n_kv_head=4, d_model=256, max_seq_len=512)
        model = GPT(config).eval()
        gen = Generator(LoadedModel(model, str(tok_dir), "run", "bench", None))
        build = time.perf_counter()
        assert generate.decode_weights(model) is not None
        build_s = time.perf_counter() - build
        hf = hf_llama(model)
        batches = {
            1: [gen.encode(verses[1000])],
            8: [gen.encode(v) for v in verses[2000:2008]],
        }
        for threads in thread_counts:  # warm-up (first calls allocate, load kernels)
            torch.set_num_threads(threads)
            for prompts in batches.values():
                one_round(gen, hf, prompts)
        rounds: dict[tuple[int, int], list[dict]] = {(t, b): [] for t in thread_counts for b in batches}
        for r in range(args.repeats):
            for threads in thread_counts:
                torch.set_num_threads(threads)
                for b, prompts in batches.items():
                    x = one_round(gen, hf, prompts)
                    rounds[threads, b].append(x)
                    print(
                        f"round {r} threads {threads} batch {b}: ours {x['ours_tokens_per_s']:,.0f} tok/s, "
                        f"plain {x['ours_plain_tokens_per_s']:,.0f}, transformers "
                        f"{x['transformers_tokens_per_s']:,.0f}: {x['ratio']:.2f}x (CPU time "
                        f"{x['cpu_ratio']:.2f}x), same tokens {x['same_tokens']}",
                        flush=True,
                    )
        compile_result = compiled_step(gen, batches, 1, 3) if args.compile else None
    load_after = os.getloadavg()
    summary = {
        f"threads_{t}": {f"batch_{b}": summarize(rounds[t, b], batches[b]) for b in batches}
        for t in thread_counts
    }
    result = {
        "benchmark": "generation tokens/s, greedy, 128 new tokens, CPU",
        "model": {**config.to_dict(), "parameters": model.num_parameters()},
        "threads": thread_counts,
        "repeats": args.repeats,
        "fused_weights_build_s": build_s,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "results": summary,
        "torch_compile": compile_result,
    }
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "generate.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Generation: KV-cached decoding vs transformers' generate() (CPU)",
        "",
        f"Random Llama-style GPT (d_model 256, 4 layers, 4 heads, vocabulary 8,192, "
        f"{model.num_parameters() / 1e6:.1f}M parameters), fp32, greedy, {NEW_TOKENS} new tokens per row, KJV "
        f"verses as prompts; median of {args.repeats} interleaved rounds, both sides at the same intra-op "
        f"thread count. Load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after, on "
        f"{os.cpu_count()} cores. Written by `tests/benchmarks/bench_generate.py`.",
        "",
        "| threads | batch | ours tokens/s | transformers tokens/s | ratio (median, min-max) | ratio by CPU time "
        "| ours, plain step, tokens/s (ratio) | same tokens |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for t in thread_counts:
        for b in batches:
            s = summary[f"threads_{t}"][f"batch_{b}"]
            lines.append(
                f"| {t} | {b} | {s['ours_tokens_per_s_median']:,.0f} | "
                f"{s['transformers_tokens_per_s_median']:,.0f} | {s['ratio_median']:.2f}x "
                f"({s['ratio_min']:.2f}-{s['ratio_max']:.2f}) | {s['cpu_ratio_median']:.2f}x | "
                f"{s['ours_plain_tokens_per_s_median']:,.0f} ({s['plain_ratio_median']:.2f}x) | "
                f"{'yes' if s['same_tokens_every_round'] else 'no'} |"
            )
    lines.append("")
    for t in thread_counts:
        one, eight = summary[f"threads_{t}"]["batch_1"], summary[f"threads_{t}"]["batch_8"]
        lines.append(
            f"- {t} thread(s): batch 1 {one['ratio_median']:.2f}x transformers (target 2x: "
            f"{'met' if one['ratio_median'] >= 2 else 'not met'}), batch 8 {eight['ratio_median']:.2f}x (target "
            f"ahead: {'met' if eight['ratio_median'] > 1 else 'not met'})"
        )
    lines += [
        "",
        f"Fused decode weights built in {build_s * 1000:.0f} ms, once per model (not in the timed rounds). "
        f"torch {torch.__version__}, transformers {transformers.__version__}.",
        "",
    ]
    if compile_result:
        lines += [
            "torch.compile (inductor, default mode, cold: caches off) of the one-token step, 1 thread, against "
            "the same step in eager mode, both on the MKL-only fused weights (dynamo cannot trace oneDNN's "
            "packed ones); 3 interleaved rounds. Not used by default:",
            "",
            "| batch | compile and recompiles | eager tokens/s | compiled tokens/s | same tokens |",
            "| ---: | ---: | ---: | ---: | --- |",
        ]
        for b in batches:
            c = compile_result[f"batch_{b}"]
            lines.append(
                f"| {b} | {c['compile_s']:.1f} s | {c['eager_tokens_per_s_median']:,.0f} | "
                f"{c['compiled_tokens_per_s_median']:,.0f} | {'yes' if c['same_tokens'] else 'no'} |"
            )
        lines.append("")
    (REPORTS / "generate.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
