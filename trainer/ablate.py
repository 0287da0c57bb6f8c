"""`corpus ablate`: which data recipe makes the better model, measured fairly.

The same raw input goes through each recipe (an "arm"); one proxy model per arm and seed is trained with the
same config, the same token budget and the same seeds; every model is evaluated on the same held-out text in
bits per byte. Steps, each resumable (a rerun skips what is done):

1. Hold out. The raw input is read once (the arms' shared `input` options), documents are cut into pieces of
   at most --chunk-chars at line breaks when asked (one big book can then lend held-out passages), and a
   seeded hash of each document id puts a --holdout share of them aside, before any recipe runs, so that no
   arm's filters choose its own test set. The rest is written as one corpus-format Arrow file that every arm
   reads (OUT/raw/). The held-out documents are only extracted (html_extract: HTML to text; plain text as it
   is), nothing filtered or deduplicated: they are the raw distribution. --eval-on replaces the held-out
   text by a dataset or raw text of your own (nothing is held out then).
2. Prepare each arm with its recipe (OUT/arms/NAME/data, with stats.json: drops by reason, duplicates).
3. One tokenizer for all (byte-level BPE trained on the union of the arms), or --tokenizer.
4. Token shards per arm whose validation split is the held-out text (OUT/arms/NAME/tokens): the training
   curves of every arm are measured on the same text.
5. Train (OUT/runs/NAME/seed-S, ordinary run folders) and evaluate the last checkpoint with evaluate_lm on
   the whole held-out text (OUT/results/NAME/seed-S.json).
6. Report: OUT/ablation.html (self-contained), ablation.json, ablation.md, with a plain verdict: which arm has
   the lower mean bits per byte, by how much, and whether the difference is larger than the seed spread (the
   seeds' ranges do not overlap) or not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import math
import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import yaml

from corpus.errors import InputError, OutputError, RecipeError
from corpus.files import write_atomic
from trainer.experiment_report import fmt_duration, write_json

DEFAULT_VOCAB = 4096
HELDOUT_RECIPE_NAME = "heldout"
ROWS_PER_BATCH = 512  # rows buffered before an Arrow record batch is written (memory stays bounded)


@dataclass
class AblationConfig:
    recipes: list[str]
    inputs: list[str]
    out: str
    config: str | None = "tiny"
    overrides: list[str] = field(default_factory=list)
    budget_tokens: int = 0  # 0: the config's own max_tokens / max_steps
    seeds: int = 3
    eval_on: str | None = None
    tokenizer: str | None = None
    vocab_size: int = DEFAULT_VOCAB
    holdout: float = 0.1
    holdout_seed: int = 0
    chunk_chars: int = 0
    workers: int = 1
    progress: bool = True
    command: str | None = None  # the command line, shown in the report


@dataclass
class Arm:
    name: str
    recipe: Any  # corpus.recipe.Recipe

    def dir(self, out: str) -> str:
        return os.path.join(out, "arms", self.name)


@dataclass
class Plan:
    cfg: AblationConfig
    arms: list[Arm]
    input_opts: dict[str, Any]
    train_config: Any  # trainer.train.TrainConfig
    steps: int
    seeds: list[int]
    fingerprint: str


# --- checks ---------------------------------------------------------------------------------------------


def _reader_defaults() -> dict[str, Any]:
    from corpus.readers import InputReader

    params = inspect.signature(InputReader.__init__).parameters
    return {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}


def _arm_names(recipes: list[Any]) -> list[str]:
    names, seen = [], {}
    for recipe in recipes:
        base = "".join(c if c.isalnum() or c in "-_." else "-" for c in recipe.name) or "arm"
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return names


def shared_input_options(recipes: list[Any], names: list[str]) -> dict[str, Any]:
    """The reader options every arm uses. Arms that read the input differently would not compare steps on
    the same documents, so that is refused."""
    defaults = _reader_defaults()
    effective = [{**{k: defaults.get(k) for k in r.input}, **r.input} for r in recipes]
    keys = sorted({k for e in effective for k in e})
    chosen = {}
    for key in keys:
        values = [e.get(key, defaults.get(key)) for e in effective]
        if any(v != values[0] for v in values):
            shown = ", ".join(f"{n}: {v!r}" for n, v in zip(names, values))
            raise RecipeError(
                f"the recipes read the input differently (input.{key}: {shown}); an ablation compares steps on "
                "the same documents: give them the same input options"
            )
        if values[0] != defaults.get(key):
            chosen[key] = values[0]
    return chosen


def plan(cfg: AblationConfig) -> Plan:
    """Every check before anything is prepared, trained or written."""
    from corpus.pipeline import load_recipe
    from corpus.readers import list_input_files
    from trainer.sweep import budget_overrides, check_budget
    from trainer.train import load_config

    if len(cfg.recipes) < 2:
        raise InputError("an ablation needs at least two recipes (arms) to compare")
    if cfg.seeds < 1:
        raise InputError(f"--seeds must be at least 1, got {cfg.seeds}")
    if not 0 <= cfg.holdout < 1 or (cfg.holdout == 0 and not cfg.eval_on):
        raise InputError(f"--holdout must be in (0, 1) (or give --eval-on), got {cfg.holdout}")
    if cfg.chunk_chars < 0 or cfg.workers < 1 or cfg.vocab_size < 1:
        raise InputError("--chunk-chars must not be negative, --workers and --vocab-size must be positive")
    recipes = [load_recipe(r) for r in cfg.recipes]  # a recipe that fails validation: one line, exit 2
    names = _arm_names(recipes)
    input_opts = shared_input_options(recipes, names)
    for path in cfg.inputs:
        list_input_files(path, input_opts.get("format", "auto"))
    if cfg.eval_on and not os.path.exists(cfg.eval_on) and not any(ch in cfg.eval_on for ch in "*?["):
        raise InputError(f"--eval-on {cfg.eval_on}: not found")
    if cfg.tokenizer:
        from corpus.tokenization import load_tokenizer

        load_tokenizer(cfg.tokenizer)
    train_config = load_config(cfg.config, [*cfg.overrides, *budget_overrides(cfg.budget_tokens)])
    steps = check_budget(train_config, cfg.budget_tokens)
    seeds = [train_config.seed + k for k in range(cfg.seeds)]
    fingerprint = _fingerprint(cfg, recipes, input_opts, train_config)
    _check_out(cfg.out, fingerprint)
    arms = [Arm(n, r) for n, r in zip(names, recipes)]
    return Plan(cfg, arms, input_opts, train_config, steps, seeds, fingerprint)


def _input_listing(path: str) -> list[tuple[str, int]]:
    from corpus.readers import list_input_files

    root, files = list_input_files(path)
    return [(f, os.path.getsize(os.path.join(root, f))) for f in files]


def _fingerprint(cfg: AblationConfig, recipes: list[Any], input_opts: dict, train_config: Any) -> str:
    """What the results depend on, the number of seeds aside (more seeds may be added to a finished ablation)."""
    config = {k: v for k, v in dataclasses.asdict(train_config).items() if k != "seed"}
    data = {
        "recipes": [r.to_dict() for r in recipes],
        "inputs": [[os.path.abspath(p), _input_listing(p)] for p in cfg.inputs],
        "input_opts": input_opts,
        "holdout": [cfg.holdout, cfg.holdout_seed, cfg.chunk_chars],
        "eval_on": os.path.abspath(cfg.eval_on) if cfg.eval_on else None,
        "tokenizer": os.path.abspath(cfg.tokenizer) if cfg.tokenizer else cfg.vocab_size,
        "train": config,
        "first_seed": train_config.seed,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _check_out(out: str, fingerprint: str) -> None:
    if os.path.exists(out) and not os.path.isdir(out):
        raise OutputError(f"--out {out} exists and is not a folder")
    plan_file = os.path.join(out, "plan.json")
    if os.path.isfile(plan_file):
        with open(plan_file, encoding="utf-8") as f:
            if json.load(f).get("fingerprint") != fingerprint and os.path.isfile(
                os.path.join(out, "holdout.json")
            ):
                raise OutputError(
                    f"--out {out} holds an ablation of other recipes, input, holdout or config; use another --out"
                )
    elif os.path.isdir(out) and os.listdir(out):
        raise OutputError(f"--out {out} is not empty and holds no ablation; use another --out")


# --- 1. hold out ----------------------------------------------------------------------------------------


def _chunk_lines(text: str, max_chars: int) -> list[str]:
    """Cut a text at line breaks into pieces of at most about max_chars (a longer single line stays whole)."""
    if max_chars <= 0 or len(text) <= max_chars:
        return [text]
    pieces, current, size = [], [], 0
    for line in text.splitlines(keepends=True):
        if current and size + len(line) > max_chars:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line)
    if current:
        pieces.append("".join(current))
    return pieces


class _ArrowSink:
    """Rows of corpus's schema into one Arrow IPC file, a record batch at a time, renamed into place at the end."""

    def __init__(self, path: str) -> None:
        import pyarrow as pa

        from corpus.schema import SCHEMA

        os.makedirs(os.path.dirname(path), exist_ok=True)
        # a hidden temp name: readers skip it, should a run die before the rename
        self.path = path
        self.tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp-{os.getpid()}")
        self.sink = pa.OSFile(self.tmp, "wb")
        self.writer = pa.ipc.new_file(self.sink, SCHEMA)
        self.rows: list[dict[str, Any]] = []
        self.count = 0

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        self.count += 1
        if len(self.rows) >= ROWS_PER_BATCH:
            self.flush()

    def flush(self) -> None:
        from corpus.schema import rows_to_table

        if self.rows:
            for batch in rows_to_table(self.rows).to_batches():
                self.writer.write_batch(batch)
            self.rows = []

    def close(self) -> None:
        self.flush()
        self.writer.close()
        self.sink.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.writer.close()
        self.sink.close()
        os.remove(self.tmp)


def _read_documents(path: str, input_opts: dict[str, Any], prefix: str, chunk_chars: int, counters: dict):
    """Documents of a raw input with the arms' reader options; ids prefixed when several inputs are given."""
    from datatrove.data import Document

    from corpus.readers import InputReader, list_input_files

    root, files = list_input_files(path, input_opts.get("format", "auto"))
    reader = InputReader(root, files, **input_opts)
    for doc in reader.run(None, 0, 1):
        pieces = (
            _chunk_lines(doc.text, chunk_chars) if doc.metadata.get("content_type") == "text" else [doc.text]
        )
        for i, piece in enumerate(pieces):
            doc_id = prefix + (doc.id if len(pieces) == 1 else f"{doc.id}@{i}")
            meta = dict(doc.metadata) if len(pieces) == 1 else {**doc.metadata, "piece": i}
            yield Document(text=piece, id=doc_id, metadata=meta)
    for key, value in reader.stats.to_dict().get("stats", {}).items():
        total = value.get("total", value) if isinstance(value, dict) else value
        counters[key] = counters.get(key, 0) + int(total)


def hold_out(p: Plan) -> dict[str, Any]:
    """OUT/raw/rest.arrow (what the arms prepare) and OUT/heldout/raw/heldout.arrow; OUT/holdout.json last."""
    from corpus.schema import doc_to_row
    from corpus.tokenization.shards import is_validation

    cfg, out = p.cfg, p.cfg.out
    done = os.path.join(out, "holdout.json")
    if os.path.isfile(done):
        with open(done, encoding="utf-8") as f:
            return json.load(f)
    fraction = 0.0 if cfg.eval_on else cfg.holdout
    for folder in ("raw", "heldout"):  # what an interrupted hold-out left
        shutil.rmtree(os.path.join(out, folder), ignore_errors=True)
    rest = _ArrowSink(os.path.join(out, "raw", "rest.arrow"))
    held = _ArrowSink(os.path.join(out, "heldout", "raw", "heldout.arrow"))
    counters: dict[str, int] = {}
    held_bytes = rest_bytes = 0
    for n, path in enumerate(cfg.inputs):
        prefix = f"{n}:" if len(cfg.inputs) > 1 else ""
        for doc in _read_documents(path, p.input_opts, prefix, cfg.chunk_chars, counters):
            row = doc_to_row(doc)
            size = len(doc.text.encode("utf-8", "surrogatepass"))
            if is_validation(doc.id, cfg.holdout_seed, fraction):
                held.add(row)
                held_bytes += size
            else:
                rest.add(row)
                rest_bytes += size
    if rest.count == 0 or (held.count == 0 and not cfg.eval_on):
        rest.abort()
        held.abort()
    if rest.count == 0:
        raise InputError("no documents are left for the arms once the held-out text is set aside")
    if held.count == 0 and not cfg.eval_on:
        raise InputError(
            f"no document was held out ({rest.count:,} documents, --holdout {cfg.holdout}): raise --holdout, "
            "cut long texts with --chunk-chars, or give --eval-on"
        )
    rest.close()
    held.close()
    info = {
        "inputs": [os.path.abspath(x) for x in cfg.inputs],
        "reader_options": p.input_opts,
        "reader_counters": dict(sorted(counters.items())),
        "holdout_fraction": fraction,
        "holdout_seed": cfg.holdout_seed,
        "chunk_chars": cfg.chunk_chars,
        "documents_for_arms": rest.count,
        "raw_bytes_for_arms": rest_bytes,
        "documents_held_out": held.count,
        "raw_bytes_held_out": held_bytes,
        "split_by": "xxh3_64(document id, holdout_seed) < holdout * 2**64",
    }
    write_json(done, info)
    return info


def heldout_recipe(p: Plan) -> dict[str, Any]:
    """Extraction only, with the first arm's html_extract options (so the held-out text is extracted like
    the arms' pages): no filter, no dedup."""
    opts = next((dict(o) for a in p.arms for n, o in a.recipe.steps if n == "html_extract"), {})
    return {
        "name": HELDOUT_RECIPE_NAME,
        "description": "held-out evaluation text: HTML extracted to text, nothing filtered or deduplicated",
        "input": {"format": "arrow"},
        "steps": [{"html_extract": opts}],
        "output": {"format": "parquet", "rejected": True},
    }


def _is_dataset(path: str) -> bool:
    from corpus.tokenization.source import list_dataset_shards

    if not os.path.isdir(path):
        return False
    try:
        list_dataset_shards(path)
    except InputError:
        return False
    return True


def prepare_heldout(p: Plan) -> str:
    """The held-out dataset (OUT/heldout/data), or --eval-on when it already is a corpus dataset."""
    from corpus.pipeline import run_recipe

    cfg = p.cfg
    if cfg.eval_on and _is_dataset(cfg.eval_on):
        return cfg.eval_on
    data = os.path.join(cfg.out, "heldout", "data")
    if os.path.isfile(os.path.join(data, "stats.json")):
        return data
    raw = os.path.join(cfg.out, "heldout", "raw")
    if cfg.eval_on:  # raw text of the user's: read it like the input, all of it held out
        sink, counters = _ArrowSink(os.path.join(raw, "heldout.arrow")), {}
        for doc in _read_documents(cfg.eval_on, p.input_opts, "", cfg.chunk_chars, counters):
            from corpus.schema import doc_to_row

            sink.add(doc_to_row(doc))
        if sink.count == 0:
            raise InputError(f"--eval-on {cfg.eval_on} holds no documents")
        sink.close()
    _say(p, "preparing the held-out text (extraction only)")
    run_recipe(
        heldout_recipe(p), raw, data, workers=cfg.workers, report=False, progress=False, overwrite=True
    )
    return data


# --- 2-4. arms, tokenizer, token shards -----------------------------------------------------------------


def arm_recipe(arm: Arm) -> dict[str, Any]:
    """The arm's recipe reading the shared raw file (its reader options were applied when holding out)."""
    data = arm.recipe.to_dict()
    data["input"] = {"format": "arrow"}
    return data


def prepare_arm(p: Plan, arm: Arm) -> str:
    from corpus.pipeline import run_recipe

    data = os.path.join(arm.dir(p.cfg.out), "data")
    if not os.path.isfile(os.path.join(data, "stats.json")):
        _say(p, f"preparing arm {arm.name} with its recipe")
        run_recipe(
            arm_recipe(arm),
            os.path.join(p.cfg.out, "raw"),
            data,
            workers=p.cfg.workers,
            report=False,
            progress=p.cfg.progress and sys.stderr.isatty(),
            overwrite=not os.path.isfile(os.path.join(data, ".corpus", "run.json")),
        )
    return data


def shared_tokenizer(p: Plan, datasets: dict[str, str]) -> str:
    """--tokenizer, or a BPE tokenizer trained on the union of the arms' data (OUT/tokenizer)."""
    from corpus.tokenization import train_tokenizer
    from corpus.tokenization.source import list_dataset_shards

    if p.cfg.tokenizer:
        return p.cfg.tokenizer
    folder = os.path.join(p.cfg.out, "tokenizer")
    if os.path.isfile(os.path.join(folder, "tokenizer.json")):
        return folder
    union = os.path.join(p.cfg.out, "tokenizer-data", "data")
    shutil.rmtree(os.path.dirname(union), ignore_errors=True)
    os.makedirs(union)
    for name, data in datasets.items():  # links, not copies: the union is only read
        for shard in list_dataset_shards(data):
            os.symlink(os.path.abspath(shard), os.path.join(union, f"{name}--{os.path.basename(shard)}"))
    _say(p, f"training one tokenizer ({p.cfg.vocab_size} ids) on the union of the arms")
    train_tokenizer(os.path.dirname(union), p.cfg.vocab_size, folder, overwrite=True)
    return folder


def _link(src: str, dst: str) -> None:
    tmp = dst + f".tmp-{os.getpid()}"
    try:
        os.link(src, tmp)
    except OSError:  # another file system
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def compose_shards(train_dir: str, val_dir: str, out: str) -> dict[str, Any]:
    """Token shards whose train split is train_dir's and whose validation split is the train split of
    val_dir (both made with one tokenizer, val_fraction 0): every arm is validated on the same text."""
    from corpus.tokenization import read_meta

    tm, vm = read_meta(train_dir), read_meta(val_dir)
    if tm["tokenizer"]["sha256"] != vm["tokenizer"]["sha256"] or tm["dtype"] != vm["dtype"]:
        raise InputError(f"{train_dir} and {val_dir} were tokenized differently")
    fingerprint = hashlib.sha256(f"{tm['fingerprint']}+{vm['fingerprint']}".encode()).hexdigest()
    meta_path = os.path.join(out, "meta.json")
    if os.path.isfile(meta_path):
        with open(meta_path, encoding="utf-8") as f:
            if json.load(f).get("fingerprint") == fingerprint:
                return read_meta(out)
    os.makedirs(out, exist_ok=True)
    splits = {}
    for split, src_dir, src_meta in (("train", train_dir, tm), ("val", val_dir, vm)):
        info = dict(src_meta["splits"]["train"])
        files = {}
        for kind, name in info["files"].items():
            if name:
                files[kind] = name.replace("train", split, 1)
                _link(os.path.join(src_dir, name), os.path.join(out, files[kind]))
            else:
                files[kind] = None
        info["files"] = files
        splits[split] = info
    meta = {
        **tm,
        "splits": splits,
        "documents": sum(s["documents"] for s in splits.values()),
        "tokens": sum(s["tokens"] for s in splits.values()),
        "has_mask": bool(tm.get("has_mask") or vm.get("has_mask")),
        "val_source_dataset": vm["source_dataset"],
        "composed_from": {"train": os.path.abspath(train_dir), "val": os.path.abspath(val_dir)},
        "fingerprint": fingerprint,
    }
    write_json(meta_path, meta)
    return meta


def tokenize_all(p: Plan, datasets: dict[str, str], heldout: str, tokenizer: str) -> dict[str, str]:
    """Per arm: OUT/arms/NAME/tokens (train: the arm; val: the held-out text). Returns {arm: token dir}."""
    from corpus.tokenization import tokenize_dataset

    out = p.cfg.out
    held_tokens = os.path.join(out, "heldout", "tokens")
    tokenize_dataset(heldout, tokenizer, held_tokens, workers=p.cfg.workers, val_fraction=0.0, overwrite=True)
    result = {}
    for name, data in datasets.items():
        arm_dir = os.path.join(out, "arms", name)
        train_tokens = os.path.join(arm_dir, "tokens-train")
        tokenize_dataset(
            data, tokenizer, train_tokens, workers=p.cfg.workers, val_fraction=0.0, overwrite=True
        )
        composed = os.path.join(arm_dir, "tokens")
        compose_shards(train_tokens, held_tokens, composed)
        result[name] = composed
    return result


# --- 5. training and evaluation -------------------------------------------------------------------------


def read_curve(run: str) -> list[list[float]]:
    """(tokens seen, val bpb) at each evaluation, from the run's metrics.jsonl."""
    curve = []
    path = os.path.join(run, "metrics.jsonl")
    if not os.path.isfile(path):
        return curve
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("val_bpb") is not None:
                curve.append([record["tokens"], record["val_bpb"]])
    return curve


class Progress:
    """Lines on stderr: the run (arm, seed), its step and the ETA of the whole ablation."""

    def __init__(self, p: Plan, todo: int) -> None:
        self.p, self.todo_steps = p, todo * p.steps
        self.done_steps, self.started = 0, time.monotonic()

    def line(self, index: int, total: int, arm: str, seed: int, step: int, metrics: dict) -> None:
        done = self.done_steps + step
        elapsed = time.monotonic() - self.started
        eta = elapsed / done * (self.todo_steps - done) if done else 0.0
        _say(
            self.p,
            f"[{index}/{total}] arm {arm} seed {seed}: step {step}/{self.p.steps} "
            f"val_bpb {metrics.get('val_bpb', float('nan')):.4f}, ETA {fmt_duration(eta)}",
        )


def train_one(p: Plan, arm: str, seed: int, tokens: str, on_eval) -> dict[str, Any]:
    from trainer.checkpoint import load_model
    from trainer.evaluate import evaluate_lm
    from trainer.train import TrainingError, resolve_device, train

    run = os.path.join(p.cfg.out, "runs", arm, f"seed-{seed}")
    config = dataclasses.replace(p.train_config, seed=seed)
    result: dict[str, Any] = {"arm": arm, "seed": seed, "run": os.path.abspath(run)}
    try:
        summary = train(config, tokens, run, on_eval=on_eval, progress=False)
    except TrainingError as err:  # a diverged run is a result too (the arm's data or config failed)
        return {**result, "status": "failed", "error": str(err), "curve": read_curve(run)}
    device = resolve_device(config)
    evaluation = evaluate_lm(
        load_model(run, device=device, checkpoint="last"), tokens, split="val", device=device
    )
    return {
        **result,
        "status": "done",
        "bpb": evaluation["bpb"],
        "loss": evaluation["loss"],
        "eval_tokens": evaluation["tokens"],
        "eval_bytes": evaluation["bytes"],
        "tokens_seen": summary.get("tokens_seen"),
        "steps": summary.get("steps"),
        "wall_s": summary.get("wall_s"),
        "parameters": summary.get("parameters"),
        "curve": read_curve(run),
    }


def train_all(p: Plan, tokens: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Seed by seed, every arm (partial results cover all arms early); finished runs are skipped."""
    results: dict[str, list[dict[str, Any]]] = {a.name: [] for a in p.arms}
    jobs = [(seed, arm.name) for seed in p.seeds for arm in p.arms]
    paths = {job: os.path.join(p.cfg.out, "results", job[1], f"seed-{job[0]}.json") for job in jobs}
    todo = [job for job in jobs if not os.path.isfile(paths[job])]
    progress = Progress(p, len(todo))
    if todo:
        _say(
            p,
            f"{len(jobs) - len(todo)} of {len(jobs)} runs done; training {len(todo)} ({p.steps} steps each)",
        )
    for index, (seed, arm) in enumerate(jobs, 1):
        path = paths[(seed, arm)]
        if not os.path.isfile(path):

            def on_eval(step: int, metrics: dict, index=index, seed=seed, arm=arm) -> None:
                progress.line(index, len(jobs), arm, seed, step, metrics)

            result = train_one(p, arm, seed, tokens[arm], on_eval)
            progress.done_steps += p.steps
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_json(path, result)
            shown = f"{result['bpb']:.4f} bpb" if result["status"] == "done" else f"failed: {result['error']}"
            _say(p, f"[{index}/{len(jobs)}] arm {arm} seed {seed}: {shown} on the held-out text")
        with open(path, encoding="utf-8") as f:
            results[arm].append(json.load(f))
    return results


# --- 6. summary and verdict -----------------------------------------------------------------------------


def data_stats(data: str, tokens: str) -> dict[str, Any]:
    """Documents, tokens, drops by reason and duplicates removed, from the arm's stats.json and token meta."""
    from corpus.tokenization import read_meta

    with open(os.path.join(data, "stats.json"), encoding="utf-8") as f:
        stats = json.load(f)
    drops: dict[str, int] = {}
    duplicates = 0
    documents_in = None
    for step in stats.get("steps", []):
        if documents_in is None and step.get("stage") == 0:
            documents_in = step.get("seen")
        for reason, count in step.get("dropped", {}).items():
            drops[f"{step['name']}: {reason}"] = drops.get(f"{step['name']}: {reason}", 0) + count
            if "dedup" in step["name"]:
                duplicates += count
    train = read_meta(tokens)["splits"]["train"]
    return {
        "documents_in": documents_in if documents_in is not None else stats.get("documents_out"),
        "documents": stats.get("documents_out"),
        "dropped": sum(drops.values()),
        "drops_by_reason": dict(sorted(drops.items(), key=lambda kv: -kv[1])),
        "duplicates_removed": duplicates,
        "tokens": train["tokens"],
        "text_bytes": train["text_bytes"],
        "epochs_in_budget": None,
    }


def spread(values: list[float]) -> dict[str, Any]:
    return {
        "mean": statistics.fmean(values) if values else None,
        "std": statistics.stdev(values) if len(values) > 1 else None,
        "min": min(values) if values else None,
        "max": max(values) if values else None,
        "seeds": len(values),
    }


def verdict(arms: list[dict[str, Any]]) -> dict[str, Any]:
    """The arm with the lowest mean bits per byte, and for every other arm the difference and whether it is
    larger than the seed spread: it is when the seeds' ranges do not overlap (every seed of the better arm
    beats every seed of the other), the difference also given in units of the larger standard deviation."""
    scored = [a for a in arms if a["bpb"]["mean"] is not None]
    if len(scored) < 2:
        return {
            "winner": scored[0]["name"] if scored else None,
            "comparisons": [],
            "text": "not enough arms finished",
        }
    ranked = sorted(scored, key=lambda a: a["bpb"]["mean"])
    best = ranked[0]
    comparisons, sentences = [], []
    for other in ranked[1:]:
        b, o = best["bpb"], other["bpb"]
        diff = o["mean"] - b["mean"]
        stds = [s for s in (b["std"], o["std"]) if s is not None]
        larger_std = max(stds) if stds else None
        separated = b["max"] < o["min"]
        known = b["seeds"] > 1 and o["seeds"] > 1
        exceeds = known and separated
        ratio = diff / larger_std if larger_std else None
        comparisons.append(
            {
                "better": best["name"],
                "worse": other["name"],
                "difference_bpb": diff,
                "relative": diff / o["mean"] if o["mean"] else None,
                "larger_std": larger_std,
                "difference_in_std": ratio,
                "seed_ranges_overlap": not separated,
                "exceeds_seed_spread": exceeds,
            }
        )
        head = (
            f"{best['name']} beats {other['name']} by {diff:.4f} bits per byte "
            f"({b['mean']:.4f} vs {o['mean']:.4f}, {100 * diff / o['mean']:.2f}% lower)"
        )
        if not known:
            tail = "with one seed the seed spread is unknown, so this is not a significant result"
        elif exceeds:
            tail = (
                f"the difference is larger than the seed spread: every {best['name']} seed beats every "
                f"{other['name']} seed, and it is {ratio:.1f}x the larger standard deviation ({larger_std:.4f})"
            )
        else:
            tail = (
                f"the difference is NOT larger than the seed spread: the seeds' ranges overlap "
                f"({b['min']:.4f}-{b['max']:.4f} vs {o['min']:.4f}-{o['max']:.4f}; "
                + (
                    f"{ratio:.1f}x the larger standard deviation {larger_std:.4f}"
                    if ratio is not None
                    else ""
                )
                + "); more seeds or a larger budget are needed to tell them apart"
            )
        sentences.append(f"{head}; {tail}.")
    return {"winner": best["name"], "comparisons": comparisons, "text": " ".join(sentences)}


def summarize(p: Plan, holdout: dict, heldout: str, tokens: dict[str, str], results: dict) -> dict[str, Any]:
    from corpus.tokenization import read_meta

    held_meta = read_meta(tokens[p.arms[0].name])["splits"]["val"]
    arms = []
    for arm in p.arms:
        runs = results[arm.name]
        values = [r["bpb"] for r in runs if r["status"] == "done" and math.isfinite(r["bpb"])]
        stats = data_stats(os.path.join(arm.dir(p.cfg.out), "data"), tokens[arm.name])
        budget = p.steps * p.train_config.batch_size * p.train_config.grad_accum * p.train_config.seq_len
        stats["epochs_in_budget"] = round(budget / stats["tokens"], 3) if stats["tokens"] else None
        arms.append(
            {
                "name": arm.name,
                "recipe": arm.recipe.to_dict(),
                "data": stats,
                "bpb": spread(values),
                "runs": runs,
            }
        )
    c = p.train_config
    return {
        "arms": arms,
        "verdict": verdict(arms),
        "heldout": {
            "source": os.path.abspath(p.cfg.eval_on) if p.cfg.eval_on else "held out from the raw input",
            "dataset": os.path.abspath(heldout),
            "documents": held_meta["documents"],
            "tokens": held_meta["tokens"],
            "text_bytes": held_meta["text_bytes"],
            "recipe": None if (p.cfg.eval_on and _is_dataset(p.cfg.eval_on)) else heldout_recipe(p),
        },
        "holdout": holdout,
        "training": {
            "config": p.cfg.config,
            "overrides": p.cfg.overrides,
            "budget_tokens": p.steps * c.batch_size * c.grad_accum * c.seq_len,
            "steps": p.steps,
            "seeds": p.seeds,
            "train_config": dataclasses.asdict(c),
            "tokenizer": os.path.abspath(p.cfg.tokenizer)
            if p.cfg.tokenizer
            else "trained on the union of arms",
            "vocab_size": read_meta(tokens[p.arms[0].name])["tokenizer"]["vocab_size"],
        },
        "inputs": [os.path.abspath(x) for x in p.cfg.inputs],
        "command": p.cfg.command,
        "metric": "bits per byte of the last checkpoint on the whole held-out text (evaluate_lm); lower is better",
    }


def run_ablation(cfg: AblationConfig) -> dict[str, Any]:
    """Run (or resume) the ablation; writes OUT/ablation.html, ablation.json, ablation.md; returns the summary."""
    p = plan(cfg)
    os.makedirs(cfg.out, exist_ok=True)
    write_json(
        os.path.join(cfg.out, "plan.json"), {"fingerprint": p.fingerprint, "arms": [a.name for a in p.arms]}
    )
    holdout = hold_out(p)
    _say(
        p,
        f"{holdout['documents_for_arms']:,} documents for the arms, {holdout['documents_held_out']:,} held out"
        + (f" (--eval-on {cfg.eval_on})" if cfg.eval_on else ""),
    )
    heldout = prepare_heldout(p)
    datasets = {arm.name: prepare_arm(p, arm) for arm in p.arms}
    tokenizer = shared_tokenizer(p, datasets)
    tokens = tokenize_all(p, datasets, heldout, tokenizer)
    results = train_all(p, tokens)
    summary = summarize(p, holdout, heldout, tokens, results)
    write_reports(summary, cfg.out)
    return summary


def _say(p: Plan, message: str) -> None:
    if p.cfg.progress:
        print(f"ablate: {message}", file=sys.stderr, flush=True)


# --- report --------------------------------------------------------------------------------------------


def _f(value: Any, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _mib(n: int) -> str:
    return f"{n / 2**20:,.2f} MiB"


def _data_rows(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    arms = summary["arms"]
    head = ["", *[a["name"] for a in arms]]
    keys = [
        ("documents in", lambda d: f"{d['documents_in']:,}" if d["documents_in"] is not None else "–"),
        ("documents kept", lambda d: f"{d['documents']:,}"),
        ("documents dropped", lambda d: f"{d['dropped']:,}"),
        ("duplicates removed", lambda d: f"{d['duplicates_removed']:,}"),
        ("training tokens", lambda d: f"{d['tokens']:,}"),
        ("training text", lambda d: _mib(d["text_bytes"])),
        ("epochs in the budget", lambda d: f"{d['epochs_in_budget']:.2f}" if d["epochs_in_budget"] else "–"),
    ]
    return head, [[label, *[fn(a["data"]) for a in arms]] for label, fn in keys]


def _drop_rows(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    arms = summary["arms"]
    reasons = sorted({r for a in arms for r in a["data"]["drops_by_reason"]})
    rows = [[r, *[f"{a['data']['drops_by_reason'].get(r, 0):,}" for a in arms]] for r in reasons]
    return ["step: reason", *[a["name"] for a in arms]], rows


def _bpb_rows(summary: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    seeds = summary["training"]["seeds"]
    rows = []
    for a in summary["arms"]:
        by_seed = {r["seed"]: r for r in a["runs"]}
        cells = []
        for s in seeds:
            r = by_seed.get(s)
            cells.append("–" if r is None else (_f(r.get("bpb")) if r["status"] == "done" else "failed"))
        b = a["bpb"]
        rows.append([a["name"], _f(b["mean"]), _f(b["std"]), f"{_f(b['min'])}–{_f(b['max'])}", *cells])
    return ["arm", "mean bpb", "std", "range", *[f"seed {s}" for s in seeds]], rows


def _setup_rows(summary: dict[str, Any]) -> list[list[Any]]:
    t, h, ho = summary["training"], summary["heldout"], summary["holdout"]
    c = t["train_config"]
    return [
        ["inputs", "; ".join(summary["inputs"])],
        ["held-out text", f"{h['source']}: {h['documents']:,} documents, {h['tokens']:,} tokens, {_mib(h['text_bytes'])}"],
        ["hold-out", f"{ho['holdout_fraction']:.0%} of documents by seeded id hash (seed {ho['holdout_seed']})"
         + (f", text cut at line breaks into pieces of {ho['chunk_chars']:,} characters" if ho["chunk_chars"] else "")],
        ["model", f"{c['n_layer']} layers, d_model {c['d_model']}, {c['n_head']} heads, seq {c['seq_len']}, "
         f"{t['vocab_size']:,} ids ({t['tokenizer']})"],
        ["training", f"config {t['config']} {' '.join(t['overrides'])}; {c['optimizer']}, lr {c['lr']}, "
         f"{c['schedule']}, batch {c['batch_size']}x{c['grad_accum']}"],
        ["equal budget", f"{t['budget_tokens']:,} tokens = {t['steps']} steps per run, seeds {t['seeds']}"],
        ["metric", summary["metric"]],
        *([["command", summary["command"]]] if summary.get("command") else []),
    ]  # fmt: skip


def render_markdown(summary: dict[str, Any]) -> str:
    from trainer.experiment_report import md_table

    names = " vs ".join(a["name"] for a in summary["arms"])
    out = [f"# Ablation: {names}", "", f"**Verdict.** {summary['verdict']['text']}", "", "## Setup", ""]
    out += [md_table(["", ""], _setup_rows(summary)), "", "## Final bits per byte on the held-out text", ""]
    out += [md_table(*_bpb_rows(summary)), "", "## Data per arm", "", md_table(*_data_rows(summary)), ""]
    head, rows = _drop_rows(summary)
    if rows:
        out += ["### Drops by reason", "", md_table(head, rows), ""]
    out += ["## Validation curves (val bpb on the held-out text, by tokens seen)", ""]
    for a in summary["arms"]:
        for r in a["runs"]:
            points = ", ".join(f"{int(t):,}: {v:.4f}" for t, v in r["curve"])
            out.append(f"- {a['name']} seed {r['seed']}: {points}")
    return "\n".join(out) + "\n"


def render_html(summary: dict[str, Any]) -> str:
    from html import escape

    from corpus.report import svg
    from trainer.experiment_report import lines, page, section, strip, table

    arms = summary["arms"]
    colors = {a["name"]: svg.COLORS[i % len(svg.COLORS)] for i, a in enumerate(arms)}
    series, series_colors = [], {}
    for a in arms:
        for r in a["runs"]:
            label = f"{a['name']} seed {r['seed']}"
            series.append((label, [(t, v) for t, v in r["curve"]]))
            series_colors[label] = colors[a["name"]]
    curves = lines(
        "curves",
        "Validation bits per byte on the held-out text",
        series,
        x_label="tokens seen",
        y_label="val bpb",
        colors=series_colors,
    )
    final_chart = strip(
        "final-bpb",
        "Final bits per byte on the held-out text: a dot per seed, a bar at the mean (lower is better)",
        [(a["name"], [r["bpb"] for r in a["runs"] if r["status"] == "done"]) for a in arms],
    )
    v = summary["verdict"]
    separated = v["comparisons"] and all(c["exceeds_seed_spread"] for c in v["comparisons"])
    box = f'<div class="{"ok" if separated else "warn"}"><b>Verdict.</b> {escape(v["text"])}</div>'
    head, drop_rows = _drop_rows(summary)
    recipes = "".join(
        f"<details><summary>{escape(a['name'])} recipe</summary><pre>{escape(yaml.safe_dump(a['recipe'], sort_keys=False))}</pre></details>"
        for a in arms
    )
    body = [
        section("verdict", "Verdict", box + table(*_bpb_rows(summary)) + final_chart),
        section(
            "curves",
            "Validation curves",
            curves + '<p class="note">One line per run; one colour per arm.</p>',
        ),
        section(
            "data",
            "Data per arm",
            table(*_data_rows(summary))
            + (
                "<h3>Drops by reason</h3>" + table(head, drop_rows)
                if drop_rows
                else "<p>No document dropped.</p>"
            ),
        ),
        section("setup", "Setup", table(["", ""], _setup_rows(summary)) + recipes),
    ]
    names = " vs ".join(a["name"] for a in arms)
    return page(f"Ablation: {names}", "; ".join(summary["inputs"]), body)


def write_reports(summary: dict[str, Any], out: str) -> None:
    write_json(os.path.join(out, "ablation.json"), _clean(summary))
    write_atomic(os.path.join(out, "ablation.md"), render_markdown(summary))
    write_atomic(os.path.join(out, "ablation.html"), render_html(summary))


def _clean(value: Any) -> Any:
    """NaN and infinities become null: ablation.json stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


__all__ = ["AblationConfig", "run_ablation", "plan", "compose_shards", "verdict", "write_reports"]
