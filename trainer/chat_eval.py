"""`corpus evaluate MODEL --task chat --data CHATS`: every assistant turn of the held-out conversations is
generated from its context (greedy) and scored against the reference reply: BLEU, chrF, ROUGE-1/2/L, token
F1 and exact match (trainer/metrics.py), plus the perplexity (and bits per byte) of the reference replies
under the model. `--compare OTHER` scores a second model on exactly the same replies.

Which conversations: with token shards as --data, the split they were cut into (their meta.json names the
dataset, the seed and the fraction: a fine-tuning run's held-out conversations). With a chat dataset, the split
of the shards the model (or the --compare model) was trained on, when it is a run trained on that dataset or
fine-tuned on conversations (its run.json names the shards; the split is a function of the conversation id, so
it picks the same conversations in the original dataset); otherwise every conversation of the dataset. Bad conversations are counted under a reason and skipped: no assistant turn,
an empty reply, a reply with no user turn before it, roles out of order, an empty turn in the context, a role
the chat template does not know, a context and reference longer than the model.

Writes, in MODEL/eval/ (a run's own folder for a run or one of its checkpoints): chat.json (settings, scores,
skipped counts and every prediction with its context and reference), chat.md (the scores table) and chat.html
(a section for the run's report.html: the scores and the best and worst replies).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from html import escape
from typing import Any

import torch
import torch.nn.functional as F

from corpus.errors import InputError, OutputError
from corpus.files import write_atomic
from trainer.generate import GenerationConfig, Generator
from trainer.metrics import corpus_scores, sentence_scores

ROLES = ("system", "user", "assistant", "tool")
SCORES = ("bleu", "chrf", "rouge1", "rouge2", "rougeL", "f1", "exact_match")
SCORE_NAMES = {
    "bleu": "BLEU",
    "chrf": "chrF",
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
    "f1": "token F1",
    "exact_match": "exact match",
    "reference_perplexity": "reference perplexity",
    "reference_bpb": "reference bits per byte",
}
SHOWN = 5  # best and worst replies in the HTML section


@dataclass
class Item:
    """One assistant turn to reproduce: its conversation, index, the turns before it and the reply."""

    conversation: str
    turn: int
    context: list[dict[str, str]]
    reference: str


# --------------------------------------------------------------------------------------------------------------
# which conversations


def _read_json(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _shards_meta(path: str) -> dict[str, Any] | None:
    meta = os.path.join(path, "meta.json")
    return _read_json(meta) if os.path.isfile(meta) else None


def _run_root(path: str) -> str | None:
    """The run folder of a run or of one of its checkpoint folders; None for anything else."""
    if os.path.isdir(os.path.join(path, "checkpoints")):
        return path
    up = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    if os.path.isfile(os.path.join(path, "model.json")) and os.path.isdir(os.path.join(up, "checkpoints")):
        return up
    return None


def held_out_split(data: str, models: list[str]) -> tuple[str, dict[str, Any] | None]:
    """(chat dataset folder, split rule {seed, val_fraction} or None for every conversation)."""
    meta = _shards_meta(data)
    if meta is not None:
        source = meta.get("source_dataset")
        if not source or not os.path.isdir(source):
            raise InputError(
                f"{data}: token shards whose dataset ({source}) is not there to read replies from"
            )
        return source, {"seed": meta["seed"], "val_fraction": meta["val_fraction"], "shards": data}
    for model in models:
        run = _run_root(model)
        run_json = os.path.join(run, "run.json") if run else None
        if not run_json or not os.path.isfile(run_json):
            continue
        tokens = _read_json(run_json).get("tokens")
        shard_meta = _shards_meta(tokens) if isinstance(tokens, str) and os.path.isdir(tokens) else None
        same_data = shard_meta and os.path.abspath(shard_meta.get("source_dataset", "")) == os.path.abspath(
            data
        )
        # a fine-tuning run tokenizes its own filtered copy of the conversations (RUN/chats): same ids, so the
        # same rule picks the conversations it held out
        if same_data or (shard_meta and shard_meta.get("has_mask") and shard_meta.get("val_fraction")):
            rule = {"seed": shard_meta["seed"], "val_fraction": shard_meta["val_fraction"], "shards": tokens}
            return data, rule
    return data, None


def read_conversations(dataset: str, rule: dict[str, Any] | None, split: str):
    """(id, turns) of the dataset's conversations in file order, those of `split` under the rule."""
    from corpus.tokenization.shards import is_validation
    from corpus.tokenization.source import list_dataset_shards, plan_units, read_unit

    for unit in plan_units(list_dataset_shards(dataset)):
        for batch in read_unit(unit):
            if "turns" not in batch.schema.names:
                raise InputError(
                    f"{dataset} is not a chat dataset (no turns column); run corpus prepare chat"
                )
            ids = batch.column("id").to_pylist() if "id" in batch.schema.names else [None] * batch.num_rows
            texts = batch.column("text").to_pylist()
            for doc_id, text, turns in zip(ids, texts, batch.column("turns").to_pylist(), strict=True):
                key = doc_id if doc_id is not None else (text or "")
                if rule is not None and is_validation(key, rule["seed"], rule["val_fraction"]) != (
                    split == "val"
                ):
                    continue
                yield str(doc_id if doc_id is not None else key[:40]), turns


def extract_items(conversations, skipped: Counter) -> list[Item]:
    """Every assistant turn that can be scored; what cannot is counted in `skipped` under its reason."""
    items = []
    for conv_id, turns in conversations:
        turns = [t for t in (turns or []) if t is not None]
        if not turns:
            skipped["empty_conversation"] += 1
            continue
        roles = [t.get("role") for t in turns]
        if any(r not in ROLES for r in roles):
            skipped["unknown_role"] += 1
            continue
        if "assistant" not in roles:
            skipped["no_assistant_turn"] += 1
            continue
        for j, turn in enumerate(turns):
            if turn.get("role") != "assistant":
                continue
            context = [{"role": t["role"], "content": t.get("content") or ""} for t in turns[:j]]
            if not (turn.get("content") or "").strip():
                skipped["empty_reply"] += 1
            elif not any(t["role"] == "user" for t in context):
                skipped["no_user_turn_before_reply"] += 1
            elif context[-1]["role"] == "assistant" or any(t["role"] == "system" for t in context[1:]):
                skipped["roles_out_of_order"] += 1
            elif any(not t["content"].strip() for t in context):
                skipped["empty_turn_in_context"] += 1
            else:
                items.append(Item(conv_id, j, context, turn["content"]))
    return items


# --------------------------------------------------------------------------------------------------------------
# one model on the items


def reference_ids(gen: Generator, item: Item) -> tuple[list[int], list[int]]:
    """(prompt ids, reference reply ids): the template rendered with the reply, cut where the prompt ends, so
    the reply's closing token (<|end|>) counts; the reply's own tokens plus an end token where the rendering
    does not start with the prompt."""
    prompt = gen.encode_chat(item.context)
    messages = [*item.context, {"role": "assistant", "content": item.reference}]
    text = gen.tokenizer.apply_chat_template(messages, tokenize=False)
    full = gen.tokenizer(text, add_special_tokens=False)["input_ids"]
    if full[: len(prompt)] == prompt and len(full) > len(prompt):
        return prompt, full[len(prompt) :]
    reply = gen.tokenizer(item.reference, add_special_tokens=False)["input_ids"]
    return prompt, reply + sorted(gen.stop_ids)[:1]


@torch.inference_mode()
def reply_nll(gen: Generator, pairs: list[tuple[list[int], list[int]]], budget: int = 2**24) -> list[float]:
    """Summed negative log-likelihood (nats) of each reply given its prompt, in right-padded batches whose
    logits stay under `budget` floats."""
    out: list[float] = []
    vocab = gen.model.config.vocab_size
    i = 0
    while i < len(pairs):
        width = len(pairs[i][0]) + len(pairs[i][1])
        size = max(1, budget // max(1, width * vocab))
        chunk = pairs[i : i + size]
        width = max(len(p) + len(r) for p, r in chunk)
        ids = torch.full((len(chunk), width), gen.pad_id, dtype=torch.long)
        targets = torch.full((len(chunk), width), -100, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, (prompt, reply) in enumerate(chunk):
            seq = prompt + reply
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
            targets[row, len(prompt) - 1 : len(seq) - 1] = torch.tensor(reply)  # position t predicts t + 1
        ids, targets, mask = ids.to(gen.device), targets.to(gen.device), mask.to(gen.device)
        if gen.backend == "transformers":
            logits = gen.model(input_ids=ids, attention_mask=mask).logits
        else:
            logits = gen.model(ids)  # causal: right padding never reaches the real tokens
        nll = F.cross_entropy(logits.float().transpose(1, 2), targets, ignore_index=-100, reduction="none")
        out.extend(nll.sum(-1).tolist())
        i += len(chunk)
    return out


def generate_replies(
    gen: Generator, prompts: list[list[int]], max_new_tokens: int, batch_size: int, progress: bool
) -> list[Any]:
    """Greedy replies, batched by similar prompt length; in the order of `prompts`."""
    cfg = GenerationConfig(max_new_tokens=max_new_tokens, temperature=0)
    order = sorted(range(len(prompts)), key=lambda k: len(prompts[k]))
    out: list[Any] = [None] * len(prompts)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        for k, completion in zip(chunk, gen.generate_ids([prompts[k] for k in chunk], cfg), strict=True):
            out[k] = completion
        if progress:
            print(f"\r{gen.name}: {min(start + batch_size, len(order))}/{len(order)} replies", end="",
                  file=sys.stderr, flush=True)  # fmt: skip
    if progress and order:
        print(file=sys.stderr)
    return out


def _fits(gen: Generator, item: Item) -> tuple[list[int], list[int]] | None:
    prompt, reply = reference_ids(gen, item)
    return (prompt, reply) if len(prompt) + len(reply) <= gen.max_seq_len else None


def score_model(
    gen: Generator,
    items: list[Item],
    pairs: list[tuple[list[int], list[int]]],
    max_new_tokens: int,
    batch_size: int,
    progress: bool,
) -> dict[str, Any]:
    """Replies, corpus scores, per-reply scores and reference perplexity of one model."""
    started = time.monotonic()
    completions = generate_replies(gen, [p for p, _ in pairs], max_new_tokens, batch_size, progress)
    predictions = [c.text.strip() for c in completions]
    references = [it.reference for it in items]
    nll = reply_nll(gen, pairs)
    tokens = sum(len(r) for _, r in pairs)
    reply_bytes = sum(
        len(gen.tokenizer.decode(r, skip_special_tokens=False).encode("utf-8")) for _, r in pairs
    )
    scores = corpus_scores(predictions, references)
    scores["reference_perplexity"] = math.exp(sum(nll) / tokens) if tokens else float("nan")
    scores["reference_bpb"] = sum(nll) / math.log(2) / reply_bytes if reply_bytes else float("nan")
    return {
        "model": gen.path,
        "backend": gen.backend,
        "scores": scores,
        "reference_tokens": tokens,
        "reference_bytes": reply_bytes,
        "wall_s": round(time.monotonic() - started, 3),
        "predictions": predictions,
        "finish_reasons": [c.finish_reason for c in completions],
        "per_reply": [sentence_scores(p, r) for p, r in zip(predictions, references, strict=True)],
    }


# --------------------------------------------------------------------------------------------------------------
# the whole evaluation


def evaluate_chat(
    model: str,
    data: str,
    *,
    split: str = "val",
    max_new_tokens: int = 128,
    limit: int | None = None,
    compare: str | None = None,
    device: str = "cpu",
    batch_size: int = 16,
    out: str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Score MODEL's (and COMPARE's) replies on the held-out conversations of DATA; write eval/chat.json,
    chat.md and chat.html; return what chat.json holds."""
    if max_new_tokens < 1:
        raise InputError(f"--max-new-tokens must be at least 1, not {max_new_tokens}")
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, not {limit}")
    if not os.path.isdir(data):
        raise InputError(f"chat data not found: {data}")
    names = [model] + ([compare] if compare else [])
    out_dir = out or os.path.join(_run_root(model) or model, "eval")
    _check_writable(out_dir)
    dataset, rule = held_out_split(data, names)
    generators = [Generator.load(m, device=device) for m in names]
    skipped: Counter = Counter()
    conversations = list(read_conversations(dataset, rule, split))
    items = extract_items(conversations, skipped)
    kept, pairs = [], [[] for _ in generators]
    for item in items:
        if limit is not None and len(kept) >= limit:
            break
        fitted = [_fits(gen, item) for gen in generators]
        if any(f is None for f in fitted):
            skipped["context_longer_than_model"] += 1
            continue
        kept.append(item)
        for k, f in enumerate(fitted):
            pairs[k].append(f)
    if not kept:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(skipped.items())) or "none"
        raise InputError(
            f"no assistant reply to score in {data} ({len(conversations)} conversations in the "
            f"{'whole dataset' if rule is None else split + ' split'}; skipped: {reasons})"
        )
    results = [
        score_model(g, kept, p, max_new_tokens, batch_size, progress) for g, p in zip(generators, pairs)
    ]
    result = {
        "task": "chat",
        "data": os.path.abspath(data),
        "dataset": os.path.abspath(dataset),
        "split": split if rule is not None else "all",
        "split_rule": rule,
        "conversations": len(conversations),
        "replies": len(kept),
        "skipped": dict(sorted(skipped.items())),
        "settings": {"max_new_tokens": max_new_tokens, "temperature": 0, "limit": limit},
        "models": [
            {k: v for k, v in r.items() if k not in ("predictions", "finish_reasons", "per_reply")}
            for r in results
        ],  # fmt: skip
        "notes": [n for g in generators for n in g.notes],
        "predictions": [
            {
                **asdict(item),
                "predictions": [r["predictions"][i] for r in results],
                "finish_reasons": [r["finish_reasons"][i] for r in results],
                "scores": [r["per_reply"][i] for r in results],
            }
            for i, item in enumerate(kept)
        ],
    }
    write_outputs(result, out_dir)
    result["outputs"] = {name: os.path.join(out_dir, name) for name in ("chat.json", "chat.md", "chat.html")}
    return result


def _check_writable(out_dir: str) -> None:
    parent = out_dir
    while not os.path.exists(parent):
        parent = os.path.dirname(parent) or "."
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write the evaluation to {out_dir}: {parent} is not a writable folder")


def write_outputs(result: dict[str, Any], out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    write_atomic(os.path.join(out_dir, "chat.json"), json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    write_atomic(os.path.join(out_dir, "chat.md"), render_markdown(result))
    write_atomic(os.path.join(out_dir, "chat.html"), render_html(result))


# --------------------------------------------------------------------------------------------------------------
# Markdown and HTML


def _fmt(name: str, value: float) -> str:
    return f"{value:.3f}" if name in ("reference_perplexity", "reference_bpb") else f"{value:.2f}"


def _score_rows(result: dict[str, Any]) -> list[tuple[str, list[str], str | None]]:
    """(score name, value per model, difference second - first or None)."""
    rows = []
    for name in (*SCORES, "reference_perplexity", "reference_bpb"):
        values = [m["scores"][name] for m in result["models"]]
        delta = None
        if len(values) == 2:
            delta = (
                f"{values[1] - values[0]:+.3f}" if "reference" in name else f"{values[1] - values[0]:+.2f}"
            )
        rows.append((SCORE_NAMES[name], [_fmt(name, v) for v in values], delta))
    return rows


def _summary_line(result: dict[str, Any]) -> str:
    skipped = ", ".join(f"{k} {v}" for k, v in result["skipped"].items()) or "none"
    which = "every conversation" if result["split"] == "all" else f"the {result['split']} split"
    return (
        f"{result['replies']} assistant replies from {which} of {result['dataset']} "
        f"({result['conversations']} conversations), greedy, at most {result['settings']['max_new_tokens']} "
        f"new tokens; skipped: {skipped}"
    )


def render_markdown(result: dict[str, Any]) -> str:
    models = [os.path.basename(os.path.normpath(m["model"])) or m["model"] for m in result["models"]]
    diff = f" | {models[1]} - {models[0]} |" if len(models) == 2 else " |"
    head = "| score | " + " | ".join(models) + diff
    lines = [
        "# Chat evaluation",
        "",
        _summary_line(result) + ".",
        "",
        head,
        "| --- |" + " ---: |" * (len(models) + (1 if len(models) == 2 else 0)),
    ]
    for name, values, delta in _score_rows(result):
        lines.append(f"| {name} | " + " | ".join(values) + (f" | {delta} |" if delta is not None else " |"))
    lines += [
        "",
        "BLEU and chrF: corpus-level (sacrebleu); ROUGE, F1, exact match: means over replies; 0-100.",
        "",
    ]
    return "\n".join(lines)


def _reply_html(entry: dict[str, Any], models: list[str]) -> str:
    context = "".join(
        f"<p><b>{escape(t['role'])}</b>: {escape(t['content'])}</p>" for t in entry["context"][-4:]
    )
    s = entry["scores"][0]
    replies = "".join(
        f"<p><b>{escape(name)}</b> (chrF {sc['chrf']:.1f}, F1 {sc['f1']:.1f}):</p><pre>{escape(pred)}</pre>"
        for name, pred, sc in zip(models, entry["predictions"], entry["scores"], strict=True)
    )
    return (
        f"<details><summary>chrF {s['chrf']:.1f}, F1 {s['f1']:.1f}, ROUGE-L {s['rougeL']:.1f}: conversation "
        f"{escape(entry['conversation'])}, turn {entry['turn']}</summary>{context}"
        f"<p><b>reference</b>:</p><pre>{escape(entry['reference'])}</pre>{replies}</details>"
    )


def render_html(result: dict[str, Any]) -> str:
    """A <section> for the run's report.html (same style classes as the rest of the page)."""
    models = [os.path.basename(os.path.normpath(m["model"])) or m["model"] for m in result["models"]]
    head = "".join(f"<th>{escape(m)}</th>" for m in models) + (
        "<th>difference</th>" if len(models) == 2 else ""
    )
    body = "".join(
        f"<tr><td>{escape(name)}</td>"
        + "".join(f"<td>{v}</td>" for v in values)
        + (f"<td>{delta}</td>" if delta is not None else "")
        + "</tr>"
        for name, values, delta in _score_rows(result)
    )
    ranked = sorted(result["predictions"], key=lambda e: (e["scores"][0]["chrf"], e["scores"][0]["f1"]))
    shown = min(SHOWN, len(ranked) // 2) or 1
    best = "".join(_reply_html(e, models) for e in reversed(ranked[-shown:]))
    worst = "".join(_reply_html(e, models) for e in ranked[:shown])
    return (
        '<section id="chat-eval"><h2>Chat replies</h2>'
        f"<p>{escape(_summary_line(result))}.</p>"
        f"<table><tr><th>score</th>{head}</tr>{body}</table>"
        "<p class=note>BLEU and chrF: corpus-level (sacrebleu); ROUGE, F1, exact match: means over replies; "
        "0-100. Replies ranked by sentence chrF of the first model.</p>"
        f"<h3>Best replies</h3>{best}<h3>Worst replies</h3>{worst}</section>\n"
    )


# --------------------------------------------------------------------------------------------------------------
# the command


def main(args: argparse.Namespace) -> int:
    """`corpus evaluate MODEL --task chat --data CHATS [--max-new-tokens N] [--limit N] [--compare OTHER]`."""
    device = getattr(args, "device", "cpu") or "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is available")
    result = evaluate_chat(
        args.model,
        args.data,
        split=getattr(args, "split", "val") or "val",
        max_new_tokens=getattr(args, "max_new_tokens", 128),
        limit=getattr(args, "limit", None),
        compare=getattr(args, "compare", None),
        device=device,
        out=getattr(args, "out", None),
        progress=sys.stderr.isatty(),
    )
    run = _run_root(args.model)
    if run and os.path.isfile(os.path.join(run, "run.json")):
        from trainer.report import write_report

        write_report(run)  # the report includes eval/chat.html
    for note in result["notes"]:
        print(f"corpus: note: {note}", file=sys.stderr)
    if getattr(args, "json", False):
        summary = {k: v for k, v in result.items() if k != "predictions"}
        print(json.dumps(summary, indent=2, ensure_ascii=False))
        return 0
    print(render_markdown(result).split("\n", 2)[2].strip())
    print(f"\nwrote {', '.join(result['outputs'].values())}")
    return 0
