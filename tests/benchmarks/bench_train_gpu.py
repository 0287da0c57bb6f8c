"""GPU benchmark: the gpt2-small preset (124M parameters with GPT-2's vocabulary) in bf16 with torch.compile,
trained by the trainer's own step on token shards; reports tokens/s and model FLOPs utilization (MFU).

FLOPs per token: 6 x (parameters without the embedding) + 12 x layers x d_model x sequence (attention
scores and values, forward and backward; PaLM's appendix B count). MFU = FLOPs per token x tokens/s / the
GPU's dense bf16 peak (H100/H200 SXM 989 TFLOPS, A100 312; --peak-tflops for others). Target on one H100: 40%.

Data: KJV (../shared/data/kjv.txt, or sample_data/books when absent) tokenized with the GPT-2 tokenizer
(../shared/data/tokenizers/gpt2, or a byte-level BPE of 50,257 tokens trained here when absent).

    .venv/bin/python tests/benchmarks/bench_train_gpu.py [--steps 10] [--grad-accum 8] [--batch-size 16]
Writes reports/benchmarks/train_gpu.json and train_gpu.md. On a machine without a CUDA GPU it says so in one
line and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
REPORTS = REPO / "reports" / "benchmarks"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0}


def shards(work: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from corpus.tokenization import tokenize_dataset, train_tokenizer

    data = work / "data"
    (data / "data").mkdir(parents=True)
    if (SHARED / "kjv.txt").is_file():
        from trainer_fixtures import kjv_dataset

        data = kjv_dataset(work / "kjv", chapters=10_000)
    else:
        texts = [p.read_text(encoding="utf-8") for p in (REPO / "sample_data" / "books").glob("*.txt")]
        pq.write_table(
            pa.table({"id": [str(i) for i in range(len(texts))], "text": texts}), data / "data" / "p.parquet"
        )
    tok = SHARED / "tokenizers" / "gpt2"
    if not tok.is_dir():
        tok = work / "tok"
        train_tokenizer(str(data), 50257, str(tok))
    tokenize_dataset(str(data), str(tok), str(work / "tokens"), val_fraction=0.02)
    return work / "tokens"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="timed optimizer steps (after 3 warm-up steps)")
    parser.add_argument("--grad-accum", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument(
        "--peak-tflops", type=float, help="the GPU's dense bf16 peak (default: from its name)"
    )
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("bench_train_gpu: no CUDA GPU is visible to PyTorch on this machine; run it on a GPU machine",
              file=sys.stderr)  # fmt: skip
        return 2
    from trainer.train import Dist, Trainer, build_optimizers, load_config, prepare

    name = torch.cuda.get_device_name()
    peak = args.peak_tflops or next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    work = Path(tempfile.mkdtemp(prefix="bench-train-gpu-"))
    tokens = shards(work)
    sets = [f"batch_size={args.batch_size}", f"grad_accum={args.grad_accum}", "eval_every=0", "device=cuda",
            f"compile={str(not args.no_compile).lower()}"]  # fmt: skip
    config = load_config("gpt2-small", sets)
    setup = prepare(config, str(tokens), None)
    trainer = Trainer(setup, str(work / "run"), Dist(), progress=False, tensorboard=False)
    net = trainer.wrap()
    trainer.optimizers = build_optimizers(trainer.net, config, "cuda")
    c, model = config, trainer.model
    n_params = model.num_parameters()
    non_embedding = model.num_parameters(exclude_embeddings=True)
    flops_per_token = 6 * non_embedding + 12 * c.n_layer * c.d_model * c.seq_len
    tokens_per_step = c.batch_size * c.grad_accum * c.seq_len
    t0 = time.perf_counter()
    for step in range(1, 4):
        trainer.train_step(net, step)
    torch.cuda.synchronize()
    warmup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for step in range(4, 4 + args.steps):
        loss, _ = trainer.train_step(net, step)
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - t0
    tokens_per_s = args.steps * tokens_per_step / elapsed
    mfu = flops_per_token * tokens_per_s / (peak * 1e12) if peak else None
    result = {
        "gpu": name, "torch": torch.__version__, "parameters": n_params, "non_embedding_parameters": non_embedding,
        "seq_len": c.seq_len, "batch_size": c.batch_size, "grad_accum": c.grad_accum, "compile": c.compile,
        "dtype": "bfloat16", "steps": args.steps, "warmup_s_with_compile": round(warmup_s, 1),
        "tokens_per_s": round(tokens_per_s), "flops_per_token": flops_per_token, "peak_tflops": peak,
        "mfu": round(mfu, 4) if mfu else None, "last_loss": loss,
        "max_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2),
    }  # fmt: skip
    md = (
        f"# GPU training benchmark (gpt2-small preset, bf16, torch.compile {'on' if c.compile else 'off'})\n\n"
        f"{name}: {n_params:,} parameters, sequence {c.seq_len}, {tokens_per_step:,} tokens per step; "
        f"**{tokens_per_s:,.0f} tokens/s**, MFU **{mfu:.1%}**" + (" (target 40%)" if mfu else "") + "\n"
        if mfu
        else f"# GPU training benchmark\n\n{name}: {tokens_per_s:,.0f} tokens/s (peak unknown: pass --peak-tflops)\n"
    )
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "train_gpu.json").write_text(json.dumps(result, indent=2) + "\n")
    (REPORTS / "train_gpu.md").write_text(md)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
