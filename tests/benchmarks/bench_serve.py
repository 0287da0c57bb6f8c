"""Benchmark: `corpus serve` under 8 concurrent clients, dynamic batching on (--max-batch 8) against the same
server handling one request at a time (--max-batch 1).

Model: the random Llama-style GPT of bench_generate.py (d_model 256, 4 layers, 4 heads, vocabulary 8,192 from
a BPE trained on the KJV), saved as a run folder. Both servers run at once as real `corpus serve` processes
(uvicorn) on free ports; the idle one only waits on its queue. Clients: 8 threads with the official `openai`
client, each sending --requests chat completions one after the other (KJV verses as user turns, greedy,
max_tokens 64), so both servers generate exactly the same tokens (checked). Rounds alternate between the two
servers; per round: total completion tokens / wall time, and p50 / p95 of the request latencies.

    .venv/bin/python tests/benchmarks/bench_serve.py [--rounds 3] [--requests 4] [--clients 8]
Writes reports/benchmarks/serve.json and serve.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
REPORTS = REPO / "reports" / "benchmarks"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "benchmarks"))

from bench_generate import kjv_tokenizer  # noqa: E402

from trainer.checkpoint import save_checkpoint  # noqa: E402
from trainer.model import GPT, ModelConfig  # noqa: E402

MAX_TOKENS = 64


def start_server(run: Path, max_batch: int, threads: int) -> tuple[subprocess.Popen, str]:
    args = [
        sys.executable,
        "-m",
        "corpus.cli",
        "serve",
        str(run),
        "--port",
        "0",
        "--max-batch",
        str(max_batch),
        "--model-name",
        "run",
        "--threads",
        str(threads),
    ]
    proc = subprocess.Popen(
        args, stderr=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    line = ""
    while "serving" not in line:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            raise SystemExit(f"corpus serve exited with {proc.returncode}")
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    port = re.search(r":(\d+)/v1", line).group(1)
    return proc, f"http://127.0.0.1:{port}/v1"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc: the machine is shared, so the servers' own CPU time is
    reported beside wall time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_round(url: str, prompts: list[list[str]], pid: int) -> dict:
    """Every client sends its prompts in turn; all clients at once."""
    from openai import OpenAI

    client = OpenAI(base_url=url, api_key="none", max_retries=0, timeout=600)
    latencies: list[float] = []
    replies: dict[tuple[int, int], str] = {}
    tokens = [0]
    lock = threading.Lock()

    def run_client(c: int) -> None:
        for r, prompt in enumerate(prompts[c]):
            start = time.perf_counter()
            reply = client.chat.completions.create(
                model="run",
                messages=[{"role": "user", "content": prompt}],
                max_tokens=MAX_TOKENS,
                temperature=0,
            )
            took = time.perf_counter() - start
            with lock:
                latencies.append(took)
                replies[(c, r)] = reply.choices[0].message.content
                tokens[0] += reply.usage.completion_tokens

    start, cpu = time.perf_counter(), cpu_seconds(pid)
    with ThreadPoolExecutor(len(prompts)) as pool:
        list(pool.map(run_client, range(len(prompts))))
    wall, cpu = time.perf_counter() - start, cpu_seconds(pid) - cpu
    latencies.sort()
    return {
        "tokens": tokens[0],
        "wall_s": wall,
        "tokens_per_s": tokens[0] / wall,
        "server_cpu_s": cpu,
        "tokens_per_server_cpu_s": tokens[0] / cpu if cpu else None,
        "p50_s": statistics.median(latencies),
        "p95_s": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
        "replies": replies,
    }


SIZES = {
    # bench_generate.py's model: small enough that a single row's matrix products are not memory-bound
    "tiny": dict(n_layer=4, n_head=4, n_kv_head=4, d_model=256),
    # the `small` preset's shape: a single row reads every weight from memory for each token
    "small": dict(n_layer=6, n_head=8, n_kv_head=4, d_model=512),
}


def bench_size(size: str, args: argparse.Namespace, tok: Path, prompts: list[list[str]], tmp: Path) -> dict:
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=8192, max_seq_len=512, **SIZES[size])
    model = GPT(config)
    run = tmp / f"run-{size}"
    save_checkpoint(str(run), "last", model)
    shutil.copytree(tok, run / "tokenizer")
    servers = {}
    try:
        servers = {
            "batched": start_server(run, 8, args.threads),
            "one_at_a_time": start_server(run, 1, args.threads),
        }
        for proc, url in servers.values():  # warm-up
            one_round(url, [p[:1] for p in prompts[:2]], proc.pid)
        rounds = {name: [] for name in servers}
        for r in range(args.rounds):
            for name, (proc, url) in servers.items():
                result = one_round(url, prompts, proc.pid)
                rounds[name].append(result)
                print(f"{size} round {r} {name}: {result['tokens_per_s']:,.0f} tokens/s, p50 {result['p50_s']:.2f} s, "
                      f"p95 {result['p95_s']:.2f} s, {result['tokens']} tokens", flush=True)  # fmt: skip
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(timeout=30)
    same = all(
        a["replies"] == b["replies"] for a, b in zip(rounds["batched"], rounds["one_at_a_time"], strict=True)
    )
    summary = {}
    for name, rs in rounds.items():
        summary[name] = {
            "tokens_per_s_median": statistics.median(x["tokens_per_s"] for x in rs),
            "tokens_per_server_cpu_s_median": statistics.median(x["tokens_per_server_cpu_s"] for x in rs),
            "p50_s_median": statistics.median(x["p50_s"] for x in rs),
            "p95_s_median": statistics.median(x["p95_s"] for x in rs),
            "rounds": [{k: v for k, v in x.items() if k != "replies"} for x in rs],
        }
    ratios = [
        b["tokens_per_s"] / o["tokens_per_s"]
        for b, o in zip(rounds["batched"], rounds["one_at_a_time"], strict=True)
    ]
    return {
        "model": {**config.to_dict(), "parameters": model.num_parameters()},
        "throughput_ratio_median": statistics.median(ratios),
        "throughput_ratio_min": min(ratios),
        "throughput_ratio_max": max(ratios),
        "cpu_throughput_ratio_median": summary["batched"]["tokens_per_server_cpu_s_median"]
        / summary["one_at_a_time"]["tokens_per_server_cpu_s_median"],
        "p95_ratio": summary["batched"]["p95_s_median"] / summary["one_at_a_time"]["p95_s_median"],
        "same_replies": same,
        "results": summary,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=4, help="requests per client per round")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1, help="torch threads of each server (1)")
    ap.add_argument("--sizes", default="tiny,small", help="model sizes, comma-separated (tiny,small)")
    args = ap.parse_args()
    verses = (SHARED / "kjv.txt").read_text(encoding="utf-8").splitlines()
    prompts = [[verses[3000 + c * 50 + r] for r in range(args.requests)] for c in range(args.clients)]
    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    try:
        kjv_tokenizer(tmp / "tok", verses[:20000], 8192)
        sizes = {size: bench_size(size, args, tmp / "tok", prompts, tmp) for size in args.sizes.split(",")}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "benchmark": f"corpus serve, {args.clients} concurrent clients, {args.requests} chat completions each, "
        f"greedy, max_tokens {MAX_TOKENS}",
        "rounds": args.rounds,
        "server_threads": args.threads,
        "sizes": sizes,
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "serve.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Serving: dynamic batching vs one request at a time (CPU)",
        "",
        f"`corpus serve` (uvicorn, real processes) with {args.clients} concurrent `openai` clients, each sending "
        f"{args.requests} chat completions in turn (KJV verses, greedy, max_tokens {MAX_TOKENS}), against the same "
        "server with batching on (--max-batch 8) and off (--max-batch 1); random Llama-style GPTs, vocabulary "
        f"8,192, fp32; {args.threads} torch thread(s) per server; median of {args.rounds} interleaved rounds; "
        "server CPU time from /proc (the machine is shared). Written by `tests/benchmarks/bench_serve.py`.",
        "",
        "| model | server | tokens/s | p50 latency | p95 latency | tokens per server CPU-second |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for size, r in sizes.items():
        m = r["model"]
        name = f"{size}: d_model {m['d_model']}, {m['n_layer']} layers, {m['parameters'] / 1e6:.1f}M"
        for server, label in (("batched", "dynamic batching"), ("one_at_a_time", "one at a time")):
            x = r["results"][server]
            lines.append(
                f"| {name} | {label} | {x['tokens_per_s_median']:,.0f} | {x['p50_s_median']:.2f} s | "
                f"{x['p95_s_median']:.2f} s | {x['tokens_per_server_cpu_s_median']:,.0f} |"
            )
    lines.append("")
    for size, r in sizes.items():
        lines.append(
            f"- {size}: throughput {r['throughput_ratio_median']:.2f}x (per round {r['throughput_ratio_min']:.2f}-"
            f"{r['throughput_ratio_max']:.2f}x), by server CPU time {r['cpu_throughput_ratio_median']:.2f}x; "
            f"p95 latency batched / one at a time {r['p95_ratio']:.2f}; same replies: "
            f"{'yes' if r['same_replies'] else 'no'}"
        )
    lines.append("")
    (REPORTS / "serve.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
