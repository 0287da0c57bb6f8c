"""Benchmark: generation tokens/s on the CPU, the trainer's KV-cached decoding (trainer/generate.py) against
transformers' `generate()` on the same weights (exported as a LlamaForCausalLM) and the same prompts.

Model: a random Llama-style GPT, d_model 256, 4 layers, 4 heads, vocabulary 8,192 (a byte-level BPE trained
by corpus on the KJV, ../shared/data/kjv.txt), fp32. Prompts: KJV verses (batch 1: one verse; batch 8: eight
verses of different lengths, left padded on both sides). Greedy, exactly 128 new tokens per row (end tokens
ignored on both sides), so both generate the same number of tokens; the greedy tokens are checked equal.

Measured, interleaved, --repeats rounds:
  ours          Generator.generate_ids(prompts, GenerationConfig(temperature=0, max_new_tokens=128)): prefill,
                one token per step with the KV cache, incremental detokenization of every row included
  transformers  LlamaForCausalLM.generate(input_ids, attention_mask, max_new_tokens=128, do_sample=False),
                its own KV cache (DynamicCache), token ids only
Tokens/s = rows x 128 / wall time; the headline is the median over rounds of the per-round ratio.

    .venv/bin/python tests/benchmarks/bench_generate.py [--repeats 5] [--threads 2]
Writes reports/benchmarks/generate.json and generate.md.
"""

from __future__ import annotations

import argparse
import json
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import transformers

    verses = (SHARED / "kjv.txt").read_text(encoding="utf-8").splitlines()
    with tempfile.TemporaryDirectory() as tmp:
        tok_dir = Path(tmp) / "tok"
        kjv_tokenizer(tok_dir, verses[:20000], 8192)
        torch.manual_seed(0)
        config = ModelConfig(vocab_size=8192, n_layer=4, n_head=4, n_kv_head=4, d_model=256, max_seq_len=512)
        model = GPT(config).eval()
        gen = Generator(LoadedModel(model, str(tok_dir), "run", "bench", None))
        hf = hf_llama(model)
        batches = {
            1: [gen.encode(verses[1000])],
            8: [gen.encode(v) for v in verses[2000:2008]],
        }
        for prompts in batches.values():  # warm-up (first calls allocate, load kernels)
            run_ours(gen, prompts)
            run_hf(hf, prompts, gen.pad_id)
        rounds: dict[int, list[dict]] = {b: [] for b in batches}
        for r in range(args.repeats):
            for b, prompts in batches.items():
                wall_ours, cpu_ours, toks_ours = timed(run_ours, gen, prompts)
                wall_hf, cpu_hf, toks_hf = timed(run_hf, hf, prompts, gen.pad_id)
                tokens = len(prompts) * NEW_TOKENS
                same = toks_ours == toks_hf
                rounds[b].append(
                    {
                        "ours_tokens_per_s": tokens / wall_ours,
                        "transformers_tokens_per_s": tokens / wall_hf,
                        "ratio": wall_hf / wall_ours,
                        "ours_tokens_per_cpu_s": tokens / cpu_ours,
                        "transformers_tokens_per_cpu_s": tokens / cpu_hf,
                        "cpu_ratio": cpu_hf / cpu_ours,
                        "same_tokens": same,
                    }
                )
                print(
                    f"round {r} batch {b}: ours {tokens / wall_ours:,.0f} tok/s, transformers "
                    f"{tokens / wall_hf:,.0f} tok/s, {wall_hf / wall_ours:.2f}x (CPU time {cpu_hf / cpu_ours:.2f}x), "
                    f"same tokens {same}",
                    flush=True,
                )
    summary = {}
    for b, rs in rounds.items():
        med = {k: statistics.median(x[k] for x in rs) for k in rs[0] if k != "same_tokens"}
        summary[f"batch_{b}"] = {
            "prompt_tokens": [len(p) for p in batches[b]],
            **{f"{k}_median": v for k, v in med.items()},
            "ratio_min": min(x["ratio"] for x in rs),
            "ratio_max": max(x["ratio"] for x in rs),
            "same_tokens_every_round": all(x["same_tokens"] for x in rs),
            "rounds": rs,
        }
    result = {
        "benchmark": "generation tokens/s, greedy, 128 new tokens, CPU",
        "model": {**config.to_dict(), "parameters": model.num_parameters()},
        "threads": args.threads,
        "repeats": args.repeats,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "machine": platform.processor() or platform.machine(),
        "results": summary,
    }
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "generate.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Generation: KV-cached decoding vs transformers' generate() (CPU)",
        "",
        f"Random Llama-style GPT (d_model 256, 4 layers, 4 heads, vocabulary 8,192, "
        f"{model.num_parameters() / 1e6:.1f}M parameters), fp32, {args.threads} threads, greedy, "
        f"{NEW_TOKENS} new tokens per row, KJV verses as prompts; median of {args.repeats} interleaved rounds. "
        "Written by `tests/benchmarks/bench_generate.py`.",
        "",
        "| batch | ours tokens/s | transformers tokens/s | ratio (median, min-max) | ratio by CPU time "
        "| ours tokens per CPU-s | transformers tokens per CPU-s | same tokens |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for b in batches:
        s = summary[f"batch_{b}"]
        lines.append(
            f"| {b} | {s['ours_tokens_per_s_median']:,.0f} | {s['transformers_tokens_per_s_median']:,.0f} | "
            f"{s['ratio_median']:.2f}x ({s['ratio_min']:.2f}-{s['ratio_max']:.2f}) | {s['cpu_ratio_median']:.2f}x | "
            f"{s['ours_tokens_per_cpu_s_median']:,.0f} | {s['transformers_tokens_per_cpu_s_median']:,.0f} | "
            f"{'yes' if s['same_tokens_every_round'] else 'no'} |"
        )
    lines += ["", f"torch {torch.__version__}, transformers {transformers.__version__}.", ""]
    (REPORTS / "generate.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
