"""RUN/report.html: one self-contained page per run (inline CSS and SVG, no script, nothing fetched, the data
quality report's style and chart code): training and validation loss, validation bits per byte and learning
rate against tokens seen, the samples generated at each evaluation, the summary and the config. Also the
samples themselves (generated from fixed prompts taken from the validation split)."""

from __future__ import annotations

import json
import os
from html import escape
from typing import Any

import numpy as np
import yaml

from corpus.files import write_atomic
from corpus.report import svg
from corpus.report.html import CSP, CSS


def sample_prompts(shards, tokenizer_dir: str, count: int, limit: int) -> list[str]:
    """Fixed prompts: the start of the first validation documents (8 tokens), or for conversations the first
    prompt up to where the reply starts."""
    from corpus.tokenization import load_tokenizer

    tok = load_tokenizer(tokenizer_dir)
    split = "val" if shards.documents("val") else "train"
    mask, offsets, tokens = shards.mask(split), shards.offsets(split), shards.tokens(split)
    prompts = []
    for i in range(min(count, shards.documents(split))):
        start, end = int(offsets[i]), int(offsets[i + 1])
        n = 8
        if mask is not None:
            trained = np.flatnonzero(np.asarray(mask[start:end]))
            n = int(trained[0]) if len(trained) else n
        n = max(1, min(n, end - start - 1, limit // 2))
        prompts.append(tok.decode([int(t) for t in tokens[start : start + n]]))
    return prompts


def generate_samples(model, tokenizer_dir: str, prompts: list[str], config) -> list[dict[str, Any]]:
    """Continuations of the prompts by trainer.generate (seeded; temperature 0.8, top-k 40)."""
    from trainer.checkpoint import LoadedModel
    from trainer.generate import GenerationConfig, Generator

    was_training = model.training
    model.eval()
    try:
        generator = Generator(LoadedModel(model, tokenizer_dir, "run", tokenizer_dir, None))
        cfg = GenerationConfig(
            max_new_tokens=config.sample_tokens, temperature=0.8, top_k=40, seed=config.seed
        )
        done = generator.generate(prompts, cfg)
    finally:
        model.train(was_training)
    return [{"prompt": p, "completion": c.text} for p, c in zip(prompts, done)]


# --- charts -----------------------------------------------------------------------------------------------


def lines(name: str, title: str, series: list[tuple[str, list[tuple[float, float]]]], x_label: str) -> str:
    """Line chart of (x, y) series sharing axes; points drawn when a series is sparse (evaluations)."""
    height, left, bottom, top_pad, right = 240, 56, 40, 24, 12
    pts = [p for _, s in series for p in s]
    if not pts:
        return ""
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + 1e-9 + abs(y0) * 0.01)
    w, h = svg.WIDTH - left - right, height - top_pad - bottom

    def xy(x: float, y: float) -> str:
        return f"{left + w * (x - x0) / (x1 - x0):.1f},{top_pad + h * (1 - (y - y0) / (y1 - y0)):.1f}"

    parts = [svg._open(name, height, title)]
    for frac in (0, 0.25, 0.5, 0.75, 1):
        y = top_pad + h * (1 - frac)
        parts.append(
            f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{escape(svg.fmt_number(y0 + (y1 - y0) * frac))}</text>'
        )
    for frac in (0, 0.5, 1):
        x = left + w * frac
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
            f"{escape(svg.fmt_number(round(x0 + (x1 - x0) * frac)))}</text>"
        )
    parts.append(f'<text x="{left + w / 2}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text>')
    for i, (label, points) in enumerate(series):
        color = svg.COLORS[i % len(svg.COLORS)]
        if len(points) > 1:
            path = " ".join(xy(x, y) for x, y in points)
            parts.append(
                f'<polyline class="line" fill="none" stroke="{color}" stroke-width="1.5" points="{path}"/>'
            )
        if len(points) <= 60:
            for x, y in points:
                cx, cy = xy(x, y).split(",")
                parts.append(
                    f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{color}">'
                    f"<title>{escape(label)}: {y:.4g} at {svg.fmt_number(x)}</title></circle>"
                )
        parts.append(
            f'<rect x="{left + 8 + i * 160}" y="6" width="10" height="10" fill="{color}"/>'
            f'<text x="{left + 22 + i * 160}" y="15">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _read_jsonl(path: str) -> list[dict[str, Any]]:
    out = []
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
    return out


def _table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><td>{escape(str(k))}</td><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def render(run: str) -> str:
    metrics = _read_jsonl(os.path.join(run, "metrics.jsonl"))
    samples = _read_jsonl(os.path.join(run, "samples.jsonl"))
    summary = {}
    if os.path.isfile(os.path.join(run, "run.json")):
        with open(os.path.join(run, "run.json"), encoding="utf-8") as f:
            summary = json.load(f)
    config = summary.get("config") or {}
    train = [(m["tokens"], m["loss"]) for m in metrics if "loss" in m]
    val = [(m["tokens"], m["val_loss"]) for m in metrics if "val_loss" in m]
    bpb = [(m["tokens"], m["val_bpb"]) for m in metrics if "val_bpb" in m]
    lr = [(m["tokens"], m["lr"]) for m in metrics if "lr" in m]
    charts = [
        lines(
            "loss", "Training and validation loss", [("train loss", train), ("val loss", val)], "tokens seen"
        ),
        lines("val_bpb", "Validation bits per byte", [("val bpb", bpb)], "tokens seen"),
        lines("lr", "Learning rate", [("lr", lr)], "tokens seen"),
    ]
    keys = ("status", "stopped", "parameters", "steps", "tokens_seen", "best_val_loss", "best_val_bpb",
            "final_val_bpb", "wall_s", "device", "processes", "tokens", "init_from")  # fmt: skip
    facts = [(k, summary[k]) for k in keys if summary.get(k) is not None]
    sample_html = "".join(
        f"<details{' open' if i >= len(samples) - 2 else ''}><summary>step {s['step']}</summary>"
        f"<pre><b>{escape(s['prompt'])}</b>{escape(s['completion'])}</pre></details>"
        for i, s in enumerate(samples)
    )
    # `corpus evaluate --task chat` leaves its section (scores, best and worst replies; escaped) in eval/chat.html
    chat_section = ""
    if os.path.isfile(os.path.join(run, "eval", "chat.html")):
        with open(os.path.join(run, "eval", "chat.html"), encoding="utf-8") as f:
            chat_section = f.read()
    title = os.path.basename(os.path.abspath(run))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>Training run: {escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>Training run {escape(title)}</h1><p>{escape(os.path.abspath(run))}</p></header><main>"
        f"<section><h2>Summary</h2>{_table(facts)}</section>"
        f'<section><h2>Curves</h2><div class="grid">{"".join(c for c in charts if c)}</div></section>'
        f"<section><h2>Samples</h2>{sample_html or '<p class=note>no evaluation yet</p>'}</section>{chat_section}"
        f"<section><h2>Config</h2><pre>{escape(yaml.safe_dump(config, sort_keys=False))}</pre></section>"
        "</main></body></html>"
    )


def write_report(run: str) -> str:
    path = os.path.join(run, "report.html")
    write_atomic(path, render(run))
    return path
