"""Running a recipe: checks, stages, executors, statistics and the manifest.

A run is a list of stages. Stage 0 reads the input; each global step (dedup) ends a stage: the documents
that reach it are written to a stage dataset, the step resolves over all of it, and the next stage reads it
back and applies the decisions. The last stage writes OUT/data. Each stage is one datatrove pipeline run by
datatrove's local or Ray executor with a fixed number of tasks, so the output never depends on the number
of workers, and finished tasks are skipped when an interrupted run is started again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.stats import PipelineStats

import corpus
from corpus.dedup.signatures import shard_rows
from corpus.errors import InputError, OutputError, RecipeError
from corpus.files import file_digest, write_atomic
from corpus.global_step import ApplyGlobal
from corpus.output import (
    check_creatable,
    check_not_file,
    check_separate,
    clear_output,
    create_output,
    disk_full,
    folder_inputs,
)
from corpus.readers import InputReader, list_input_files
from corpus.recipe import Recipe, is_after_run, is_global, load_recipe
from corpus.registry import build_step
from corpus.schema import row_to_doc
from corpus.writer import EXTENSIONS, ShardWriter

__all__ = ["load_recipe", "run_recipe", "Recipe"]

# Default task count: one task per TASK_INPUT_BYTES of input, at least MIN_DEFAULT_TASKS (or one per file when
# there are fewer files), at most MAX_DEFAULT_TASKS. It depends on the input alone, never on --workers, so the
# output is the same whatever the worker count; each task costs a fixed set-up, so small inputs get few.
TASK_INPUT_BYTES = 32 * 2**20
MIN_DEFAULT_TASKS = 8
MAX_DEFAULT_TASKS = 1024


def default_tasks(files: int, input_bytes: int) -> int:
    by_size = -(-input_bytes // TASK_INPUT_BYTES)
    return max(1, min(files, max(MIN_DEFAULT_TASKS, min(by_size, MAX_DEFAULT_TASKS))))


VERSIONED = (
    "datatrove",
    "pyarrow",
    "polars",
    "selectolax",
    "beautifulsoup4",
    "ftfy",
    "nltk",
    "nlpaug",
    "datasketch",
    "tokenizers",
    "transformers",
    "torch",
    "py3langid",
    "warcio",
)


@dataclass
class Stage:
    index: int
    apply_globals: list[tuple[str, dict]]  # decisions of the previous stage's global steps, applied in order
    steps: list[tuple[str, dict]]
    ends_with_globals: list[tuple[str, dict]]  # resolved in order over this stage's dataset


def plan_stages(recipe: Recipe) -> list[Stage]:
    """Cut the recipe at its global steps. Global steps that follow each other share one stage dataset: each
    resolves over it skipping what the ones before it drop, so exact_dedup then dedup costs one write and
    read of the corpus, not two."""
    stages: list[Stage] = []
    current: list[tuple[str, dict]] = []
    pending: list[tuple[str, dict]] = []
    for name, opts in recipe.steps:
        if is_after_run(name):
            continue
        if is_global(name):
            if not current and stages and pending is stages[-1].ends_with_globals:
                pending.append((name, opts))  # straight after another global step: same boundary
                continue
            pending = [(name, opts)]
            stages.append(
                Stage(len(stages), stages[-1].ends_with_globals if stages else [], current, pending)
            )
            current = []
        else:
            current.append((name, opts))
    stages.append(Stage(len(stages), stages[-1].ends_with_globals if stages else [], current, []))
    return stages


def global_dir(work: str, stage_index: int, position: int) -> str:
    """Where the `position`-th global step ending stage `stage_index` keeps its decisions."""
    return os.path.join(work, f"global-{stage_index}" + (f".{position}" if position else ""))


# what a global step wrote before its decisions were split per stage shard (decisions/, drops/), named
# *.parquet at first, then *.pq: a run interrupted after such a step and resumed by this version resolves the
# step again rather than read nothing
OLDER_GLOBAL_FILES = ("decisions.npz", "clusters.parquet", "drops.parquet", "clusters.pq", "drops.pq")


def _older_layout(folder: str) -> bool:
    return any(os.path.exists(os.path.join(folder, name)) for name in OLDER_GLOBAL_FILES)


def _remove_older_layout(folder: str) -> None:
    if _older_layout(folder):
        for name in ("done.json",) + OLDER_GLOBAL_FILES:  # the marker first: a crash here leaves it undone
            path = os.path.join(folder, name)
            if os.path.exists(path):
                os.remove(path)


class StageReader(PipelineStep):
    """Reads a stage dataset back, shard by shard in fixed order, tagging each document with its position."""

    name = "read_stage"
    type = "corpus"

    def __init__(self, shards: list[str]) -> None:
        super().__init__()
        self.shards = shards

    def __repr__(self) -> str:
        return self.name

    def run(self, data=None, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        for index in range(rank, len(self.shards), world_size):
            for row_number, row in enumerate(_iter_rows(self.shards[index])):
                doc = row_to_doc(row)
                doc.metadata["_shard"], doc.metadata["_row"] = index, row_number
                yield doc


def _iter_rows(path: str) -> Iterator[dict]:
    if path.endswith(".parquet"):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
            yield from batch.to_pylist()
    else:
        with ipc.open_file(path) as reader:
            for i in range(reader.num_record_batches):
                yield from reader.get_batch(i).to_pylist()


def list_shards(folder: str) -> list[str]:
    if not os.path.isdir(folder):
        return []
    exts = tuple("." + e for e in EXTENSIONS.values())
    return sorted(
        os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(exts) and not f.startswith(".")
    )


# --- checks before anything is written -------------------------------------------------------------------


def _input_paths(input_path: str, root: str, files: list[str]) -> list[str]:
    """What the run reads, for the output checks: a folder input is the folder (it is listed recursively),
    a file or a glob the files themselves."""
    paths = [os.path.join(root, f) for f in files]
    if os.path.isdir(input_path) and not any(ch in input_path for ch in "*?["):
        return folder_inputs(input_path, paths)
    return paths


def _check_output(output_dir: str, inputs: list[str], listing: dict[str, Any], overwrite: bool) -> None:
    """Refuse an output that overlaps the input, is not a folder, belongs to something else, or holds a run
    of another recipe or input (naming what differs); with --overwrite, empty a folder of a corpus run.
    Raises before anything is deleted or written."""
    check_separate(output_dir, inputs)
    check_not_file(output_dir)
    out = Path(output_dir)
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        run_file = out / ".corpus" / "run.json"
        if not run_file.is_file():
            raise OutputError(
                f"output {output_dir} is not empty and holds no corpus run; use another --output or --overwrite"
            )
        try:
            previous = json.loads(run_file.read_text())
        except (OSError, ValueError):
            previous = {}
        if previous.get("fingerprint") != listing["fingerprint"]:
            previous["input"] = (_read_json(str(out / ".corpus" / "input.json")) or {}).get("input")
            raise OutputError(
                f"output {output_dir} holds a run of another {_what_changed(previous, listing)}; "
                "use another --output, or --overwrite to start again"
            )
    check_creatable(output_dir)
    if overwrite:
        clear_output(output_dir)  # refuses a folder that no corpus command made


def _what_changed(previous: dict[str, Any], listing: dict[str, Any]) -> str:
    """'recipe' or 'input (x is gone, ...)': what differs between an earlier run's listing and this one."""
    if previous.get("recipe") != listing["recipe"]:
        return "recipe"
    if not isinstance(previous.get("input"), list):
        return "input"  # a run of an older version, which did not keep its listing
    before = {f: size for f, size in previous["input"]}
    now = {f: size for f, size in listing["input"]}
    changes = [f"{f} is gone" for f in sorted(before.keys() - now.keys())]
    changes += [f"{f} is new" for f in sorted(now.keys() - before.keys())]
    for f in sorted(before.keys() & now.keys()):
        if before[f] != now[f]:
            was, is_ = (f"{v:,} bytes" if v is not None else "unreadable" for v in (before[f], now[f]))
            changes.append(f"{f} changed ({was}, now {is_})")
    if not changes:
        return "input"
    more = f" and {len(changes) - 3} more changes" if len(changes) > 3 else ""
    return "input (" + "; ".join(changes[:3]) + more + ")"


def file_size(path: str) -> int | None:
    """Size of an input file, or None where it cannot be had (a dangling symlink, a symlink loop, a file
    deleted or made unreadable since the listing): the reader counts such a file when it gets to it."""
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def _input_listing(recipe: Recipe, root: str, files: list[str]) -> dict[str, Any]:
    """The recipe and every input file's size, and their fingerprint: a rerun into the same output resumes
    only when both are unchanged, and is told which file changed otherwise."""
    sizes = [(f, file_size(os.path.join(root, f))) for f in files]
    blob = orjson.dumps({"recipe": recipe.to_dict(), "input": sizes}, option=orjson.OPT_SORT_KEYS)
    return {
        "fingerprint": hashlib.sha256(blob).hexdigest(),
        "recipe": orjson.loads(orjson.dumps(recipe.to_dict())),  # as run.json gives it back, to compare
        "input": [list(pair) for pair in sizes],
    }


# --- execution ---------------------------------------------------------------------------------------------


def _execute(pipeline: list, tasks: int, workers: int, logging_dir: str, executor: str) -> None:
    if executor == "local":
        from datatrove.executor import LocalPipelineExecutor

        if workers > 1:
            try:  # pyarrow imports pandas on the first table built from rows (0.3 s): once here, not per fork
                import pandas  # noqa: F401
            except ImportError:
                pass

        LocalPipelineExecutor(
            pipeline,
            tasks=tasks,
            workers=max(1, min(workers, tasks)),
            logging_dir=logging_dir,
            start_method="fork",
        ).run()
    elif executor == "ray":
        import ray
        from datatrove.executor.ray import RayPipelineExecutor

        if not ray.is_initialized():
            # RAY_ADDRESS joins an existing cluster; otherwise a local instance on loopback
            address = os.environ.get("RAY_ADDRESS") or None
            if not address:
                os.environ.pop("RAY_ADDRESS", None)  # ray reads it too and refuses an empty one
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if not address:
                kwargs.update(num_cpus=max(1, workers), _node_ip_address="127.0.0.1")
            ray.init(address=address, **kwargs)
        RayPipelineExecutor(
            pipeline,
            tasks=tasks,
            workers=max(1, min(workers, tasks)),
            logging_dir=logging_dir,
            mem_per_cpu_gb=1,
        ).run()
    else:
        raise RecipeError(f"executor must be local or ray, got {executor!r}")


class _ProgressPrinter(threading.Thread):
    """Sums the per-task progress files and prints docs/s, MB/s and ETA to stderr every few seconds."""

    def __init__(self, folder: str, label: str, interval: float = 5.0) -> None:
        super().__init__(daemon=True)
        self.folder, self.label, self.interval = folder, label, interval
        self.stop = threading.Event()
        self.start_time = time.monotonic()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            docs = done = total = 0
            for name in os.listdir(self.folder) if os.path.isdir(self.folder) else []:
                if name.endswith(".json"):
                    try:
                        p = json.loads(Path(self.folder, name).read_text())
                    except (OSError, ValueError):
                        continue
                    docs, done, total = docs + p["docs"], done + p["bytes"], total + p["total_bytes"]
            elapsed = time.monotonic() - self.start_time
            if not docs or not elapsed:
                continue
            rate = done / elapsed
            eta = (total - done) / rate if rate and total > done else 0
            print(
                f"[{self.label}] {docs:,} docs  {docs / elapsed:,.1f} docs/s  {rate / 2**20:.2f} MB/s  "
                f"{100 * done / max(total, 1):.0f}%  ETA {time.strftime('%H:%M:%S', time.gmtime(eta))}",
                file=sys.stderr,
                flush=True,
            )


def _build_steps(stage: Stage, out: str, recipe: Recipe, work: str) -> list:
    steps: list = [
        ApplyGlobal(build_step(name, opts), global_dir(work, stage.index - 1, position))
        for position, (name, opts) in enumerate(stage.apply_globals)
    ]
    steps += [build_step(name, opts) for name, opts in stage.steps]
    if recipe.output["rejected"]:
        for position, step in enumerate(steps):
            if hasattr(step, "exclusion_writer"):
                step.exclusion_writer = ShardWriter(
                    os.path.join(out, "rejected"),
                    format=recipe.output["format"],
                    max_docs_per_shard=recipe.output["max_docs_per_shard"],
                    max_bytes_per_shard=recipe.output["max_bytes_per_shard"],
                    prefix=f"part-s{stage.index}{position:02d}",
                    partition_by_reason=True,
                    compression=recipe.output["compression"],
                )
    return steps


def _run_stage(
    stage: Stage,
    recipe: Recipe,
    root: str,
    files: list[str],
    out: str,
    workers: int,
    executor: str,
    progress: bool,
) -> None:
    work = os.path.join(out, ".corpus")
    last = not stage.ends_with_globals
    target = os.path.join(out, "data") if last else os.path.join(work, f"stage-{stage.index}")
    progress_dir = os.path.join(work, "progress", f"stage-{stage.index}")
    os.makedirs(progress_dir, exist_ok=True)
    if stage.index == 0:
        reader: PipelineStep = InputReader(root, files, progress_dir=progress_dir, **recipe.input)
        input_bytes = sum(file_size(os.path.join(root, f)) or 0 for f in files)
        tasks = recipe.tasks or default_tasks(len(files), input_bytes)
    else:
        shards = list_shards(os.path.join(work, f"stage-{stage.index - 1}"))
        reader = StageReader(shards)
        tasks = recipe.tasks or max(1, min(len(shards), MAX_DEFAULT_TASKS))  # one task per stage shard
    writer = ShardWriter(
        target,
        # a stage dataset is read back right away by this run alone: Arrow IPC with LZ4 buffers (half the size
        # of uncompressed IPC on python-docs, for ~0.5% more instructions), no Parquet encoding and decoding
        format=recipe.output["format"] if last else "arrow",
        ipc_compression=None if last else "lz4",
        max_docs_per_shard=recipe.output["max_docs_per_shard"],
        max_bytes_per_shard=recipe.output["max_bytes_per_shard"],
        compression=recipe.output["compression"],
    )
    pipeline = [reader, *_build_steps(stage, out, recipe, work), writer]
    printer = _ProgressPrinter(progress_dir, f"stage {stage.index}") if progress else None
    if printer:
        printer.start()
    try:
        _execute(pipeline, tasks, workers, os.path.join(work, "logs", f"stage-{stage.index}"), executor)
    finally:
        if printer:
            printer.stop.set()
    skip: dict[int, np.ndarray] = {}  # stage shard -> rows that an earlier global step of this boundary drops
    shards = list_shards(target) if stage.ends_with_globals else []
    for position, (name, opts) in enumerate(stage.ends_with_globals):
        folder = global_dir(work, stage.index, position)
        done_marker = os.path.join(folder, "done.json")
        step = build_step(name, opts)
        if not os.path.exists(done_marker) or _older_layout(folder):
            _remove_older_layout(folder)
            os.makedirs(folder, exist_ok=True)
            counters = step.resolve(shards, folder, workers, out, skip=skip)
            _write_json_atomic(done_marker, counters or {})
        if position + 1 < len(stage.ends_with_globals):
            for shard, rows in step.dropped_rows(folder).items():
                skip[shard] = np.union1d(skip[shard], rows) if shard in skip else rows


def run_recipe(
    recipe: Recipe | dict | str,
    input_path: str,
    output_dir: str,
    workers: int = 1,
    executor: str = "local",
    report: bool = True,
    progress: bool = False,
    overwrite: bool = False,
    keep_work: bool = False,
    command: str | None = None,
) -> dict[str, Any]:
    """Run a recipe over an input file/folder/glob into output_dir. Returns the run statistics.

    Every check comes before anything is deleted or written. A run that stops (killed, SIGTERM, full disk)
    resumes where it stopped when started again with the same recipe and input. Once it is complete, the
    stage datasets and global-step decisions under OUT/.corpus are removed unless keep_work; what stays
    there (run.json, task logs and statistics) is small. `command` (the command line) is kept in run.json,
    so that `corpus inspect` can say how to resume an unfinished run."""
    recipe = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    if workers < 1:
        raise RecipeError(f"--workers must be at least 1, got {workers}")
    if executor not in ("local", "ray"):
        raise RecipeError(f"executor must be local or ray, got {executor!r}")
    root, files = list_input_files(input_path, recipe.input.get("format", "auto"))
    listing = _input_listing(recipe, root, files)
    stages = plan_stages(recipe)  # validates the step order before anything is written
    _check_output(output_dir, _input_paths(input_path, root, files), listing, overwrite)
    _check_dedup_indexes(recipe, output_dir)
    created = not os.path.exists(output_dir)
    create_output(output_dir)
    try:
        return _run(
            recipe,
            stages,
            input_path,
            root,
            files,
            listing,
            output_dir,
            workers,
            executor,
            report,
            progress,
            keep_work,
            command,
            created,
        )
    except Exception as err:
        if not disk_full(err):
            raise
        raise OutputError(
            f"no space left on the device of {output_dir} ({getattr(err, 'strerror', None) or err}); free some "
            "space and run the same command again: the finished tasks are kept"
        ) from None


def _run(
    recipe: Recipe,
    stages: list[Stage],
    input_path: str,
    root: str,
    files: list[str],
    listing: dict[str, Any],
    output_dir: str,
    workers: int,
    executor: str,
    report: bool,
    progress: bool,
    keep_work: bool,
    command: str | None,
    created: bool,
) -> dict[str, Any]:
    work = os.path.join(output_dir, ".corpus")
    os.makedirs(work, exist_ok=True)
    run_file = os.path.join(work, "run.json")
    previous = _read_json(run_file) or {}
    complete = bool(previous.get("complete")) and previous.get("fingerprint") == listing["fingerprint"]
    attempts = int(previous.get("attempts", 0)) + 1 if previous.get("fingerprint") else 1
    # the listing apart (it can be large): run.json stays small for inspect and report to read
    _write_json_atomic(os.path.join(work, "input.json"), {"input": listing["input"]})
    state = {
        "fingerprint": listing["fingerprint"],
        "recipe": listing["recipe"],
        "complete": complete,
        "attempts": attempts,
        "command": command,
    }
    _write_json_atomic(run_file, state)
    clock = _Clock(os.path.join(work, "clock.json"))
    clock.start()
    try:
        if not complete:  # a complete run started again only rebuilds its statistics, manifest and report
            for stage in stages:
                _run_stage(stage, recipe, root, files, output_dir, workers, executor, progress)
                if stage.index == 0:
                    _check_documents_read(
                        input_path, recipe.input.get("format", "auto"), root, files, output_dir, created
                    )

        stats = collect_stats(output_dir, stages)
        for name, opts in recipe.steps:
            if is_after_run(name):
                result = build_step(name, opts).after_run_hook(output_dir, workers)
                stats["steps"].append({"name": name, "stage": "after_run", **(result or {})})
    finally:
        elapsed = clock.finish()
    stats["elapsed_s"] = round(elapsed, 3)  # every attempt of this run, not only the last
    stats["attempts"] = attempts
    stats["workers"], stats["executor"] = workers, executor
    _write_json_atomic(os.path.join(output_dir, "stats.json"), stats)
    _write_json_atomic(
        os.path.join(output_dir, "manifest.json"), build_manifest(output_dir, recipe, root, files)
    )
    _write_json_atomic(run_file, {**state, "complete": True})
    if not keep_work:
        remove_stage_work(output_dir)
    if report:
        _build_report(output_dir)
    return stats


def remove_stage_work(output_dir: str) -> None:
    """Once a run is complete nothing reads its stage datasets, global-step decisions or progress files again
    (a rerun only rebuilds its statistics, from the task logs and each global step's done.json): remove
    them. run.json, logs/ and the done.json files (a few KB) stay."""
    work = os.path.join(output_dir, ".corpus")
    for name in os.listdir(work) if os.path.isdir(work) else []:
        path = os.path.join(work, name)
        if name.startswith("stage-") or name == "progress":
            shutil.rmtree(path, ignore_errors=True)
        elif name.startswith("global-"):
            for entry in os.listdir(path):
                if entry != "done.json":
                    inner = os.path.join(path, entry)
                    shutil.rmtree(inner) if os.path.isdir(inner) else os.unlink(inner)


def _check_dedup_indexes(recipe: Recipe, output_dir: str) -> None:
    """A relative save_index/against_index lies inside the output folder, known only now: check it before
    anything is written, not when the dedup step starts after a whole stage has run."""
    from corpus.processors.dedup import check_index_paths, in_output_folder

    for name, opts in recipe.steps:
        if name == "dedup":
            config = in_output_folder(build_step(name, opts).config, output_dir)
            check_index_paths(config.params, config.verify, config.save_index, config.against)


# What each kind of input file must hold, for the message of a run that read no documents.
EXPECTED = {
    "jsonl": "one JSON object per line with a text field, messages or turns (input: {text_key: NAME} names "
    "another field)",
    "json": "a JSON array of records (or JSON Lines) with a text field, messages or turns (input: "
    "{text_key: NAME} names another field)",
    "parquet": "a table with a text column",
    "arrow": "a table with a text column",
    "warc": "WARC response records holding HTML pages",
    "html": "an HTML page",
    "text": "plain text",
}


def _check_documents_read(
    input_path: str, fmt: str, root: str, files: list[str], output_dir: str, created: bool
) -> None:
    """A run that read nothing from its input stops with one line (exit 2): what was found, what the reader
    counted instead, and what each format should hold. The output it started is removed if this call made
    it, so that the corrected command needs no --overwrite."""
    reader = _reader_counters(output_dir)
    if reader.get("documents", 0) > 0:
        return
    from corpus.readers import detect_format

    found: dict[str, int] = {}
    expected: dict[str, str] = {}
    for f in files:
        kind = fmt if fmt != "auto" else (detect_format(f) or "text")
        ext = os.path.splitext(f.lower().removesuffix(".gz").removesuffix(".zst"))[1] or "no extension"
        found[ext] = found.get(ext, 0) + 1
        expected[ext] = EXPECTED["json"] if ext == ".json" and kind == "jsonl" else EXPECTED.get(kind, kind)
    size = sum(file_size(os.path.join(root, f)) or 0 for f in files)
    counted = ", ".join(
        f"{k} {v:,}" for k, v in sorted(reader.items()) if k not in ("documents", "files") and v
    )
    message = (
        f"input {input_path} gave no documents: found {len(files):,} file(s) of {size:,} bytes "
        f"({', '.join(f'{n:,} {ext}' for ext, n in sorted(found.items()))})"
        + (f", the reader counted {counted}" if counted else "")
        + "; expected "
        + "; ".join(f"{ext}: {text}" for ext, text in sorted(expected.items()))
    )
    if created:
        shutil.rmtree(output_dir, ignore_errors=True)
    else:
        clear_output(output_dir)
    raise InputError(message)


def _reader_counters(output_dir: str) -> dict[str, int]:
    merged = _load_stage_stats(os.path.join(output_dir, ".corpus", "logs", "stage-0"))
    if not merged.stats:
        return {}
    return {k: int(_metric(v)) for k, v in merged.stats[0].stats.items()}


class _Clock(threading.Thread):
    """The run's wall time over every attempt: what earlier attempts spent (clock.json) plus this one,
    saved every few seconds so that a killed attempt still counts (up to the last save)."""

    def __init__(self, path: str, interval: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.path, self.interval = path, interval
        self.before = float((_read_json(path) or {}).get("elapsed_s", 0.0))
        self.started = time.monotonic()
        self.stop = threading.Event()

    def elapsed(self) -> float:
        return self.before + time.monotonic() - self.started

    def save(self) -> None:
        try:
            _write_json_atomic(self.path, {"elapsed_s": round(self.elapsed(), 3)})
        except OSError:
            pass  # a full disk is reported by the run itself; the clock never fails it

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.save()

    def finish(self) -> float:
        self.stop.set()
        self.save()
        return self.elapsed()


def _read_json(path: str) -> Any:
    try:
        with open(path, "rb") as f:
            return orjson.loads(f.read())
    except (OSError, ValueError):
        return None


def _build_report(output_dir: str) -> None:
    try:
        from corpus.report import build_report
    except ImportError:
        return
    build_report(output_dir, os.path.join(output_dir, "report"))


class _TaskLog:
    """The one loguru sink for every task's log file. loguru builds an exception formatter on each
    logger.add (about 11 ms: it scans sysconfig paths), and datatrove adds two handlers per task, which came
    to most of a second per run on small inputs; this sink is added once and pointed at each task's file."""

    file = None

    def write(self, message: str) -> None:
        if self.file is not None:
            try:
                self.file.write(message)
            except OSError:  # a full disk: the run's own writes fail and report it, in one line
                pass


_TASK_LOG = _TaskLog()
_TASK_FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} - {message}"


def _quiet_datatrove() -> None:
    """datatrove logs every task start and stat table to the console at INFO; keep the console for warnings
    and progress (CORPUS_LOG_LEVEL=INFO brings them back). Task log files under .corpus/logs keep everything."""
    import datatrove.executor.base as base
    import datatrove.executor.ray as ray_executor
    from datatrove.utils.logging import logger

    def task_logger(logging_dir, rank, local_rank=0, node_rank=-1):
        _TASK_LOG.file = logging_dir.open(f"logs/task_{rank:05d}.log", "w")
        return _TASK_LOG.file

    def close_task_logger(logfile):
        logger.complete()
        _TASK_LOG.file = None
        logfile.close()

    base.add_task_logger = ray_executor.add_task_logger = task_logger
    base.close_task_logger = ray_executor.close_task_logger = close_task_logger
    logger.remove()
    # a task that fails logs its traceback: it goes to the task's log file, not the console, where the run
    # reports the failure once (one line for a full disk, the exception itself otherwise)
    logger.add(
        sys.stderr,
        level=os.environ.get("CORPUS_LOG_LEVEL", "WARNING"),
        filter=lambda record: record["exception"] is None,
    )
    logger.add(_TASK_LOG.write, level="DEBUG", format=_TASK_FORMAT, colorize=False)


_quiet_datatrove()


# --- statistics and manifest -------------------------------------------------------------------------------


def _load_stage_stats(logs: str) -> PipelineStats:
    folder = os.path.join(logs, "stats")
    total = PipelineStats()
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        with open(os.path.join(folder, name)) as f:
            total = total + PipelineStats.from_json(json.load(f))
    return total


def _metric(value: Any) -> float:
    # merged stats hold MetricStats; a stage with a single task file keeps datatrove's raw dicts
    if isinstance(value, dict):
        return float(value.get("total", 0))
    return value.total if hasattr(value, "total") else float(value)


def collect_stats(output_dir: str, stages: list[Stage]) -> dict[str, Any]:
    """Merge every task's datatrove stats into one JSON: per step seen, kept, dropped by reason, time."""
    work = os.path.join(output_dir, ".corpus")
    steps_out: list[dict[str, Any]] = []
    reader: dict[str, float] = {}
    documents_out = 0
    for stage in stages:
        merged = _load_stage_stats(os.path.join(work, "logs", f"stage-{stage.index}"))
        for position, step_stats in enumerate(merged.stats):
            counters = {k: _metric(v) for k, v in step_stats.stats.items()}
            name = step_stats.name
            if position == 0:
                if stage.index == 0:
                    reader = {k: int(v) for k, v in counters.items()}
                continue
            if position == len(merged.stats) - 1:
                if not stage.ends_with_globals:
                    documents_out = int(counters.get("written", 0))
                continue
            entry: dict[str, Any] = {
                "name": name,
                "stage": stage.index,
                "seen": int(counters.pop("total", 0)),
                "kept": int(counters.pop("forwarded", 0)),
                "dropped": {},
                "time_s": round(step_stats.time_stats.total, 4),
            }
            counters.pop("dropped", None)
            for key in sorted(counters):
                if key.startswith("dropped_"):
                    entry["dropped"][key.removeprefix("dropped_")] = int(counters.pop(key))
            counters.pop("doc_len", None)
            entry["counters"] = {k: (int(v) if float(v).is_integer() else v) for k, v in counters.items()}
            if 1 <= position <= len(stage.apply_globals):
                done = os.path.join(global_dir(work, stage.index - 1, position - 1), "done.json")
                if os.path.exists(done):
                    entry["counters"].update(json.loads(Path(done).read_text()))
            steps_out.append(entry)
    return {"reader": reader, "steps": steps_out, "documents_out": documents_out}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"corpus": corpus.__version__, "python": sys.version.split()[0]}
    for name in VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def build_manifest(output_dir: str, recipe: Recipe, root: str, files: list[str]) -> dict[str, Any]:
    shards = []
    for path in list_shards(os.path.join(output_dir, "data")):
        shards.append(
            {
                "path": os.path.relpath(path, output_dir),
                "rows": shard_rows(path),
                "bytes": os.path.getsize(path),
                "sha256": file_digest(path),
            }
        )
    rejected: dict[str, int] = {}
    rejected_dir = os.path.join(output_dir, "rejected")
    for reason in sorted(os.listdir(rejected_dir)) if os.path.isdir(rejected_dir) else []:
        rejected[reason] = sum(shard_rows(p) for p in list_shards(os.path.join(rejected_dir, reason)))
    return {
        "format": recipe.output["format"],
        "documents": sum(s["rows"] for s in shards),
        "bytes": sum(s["bytes"] for s in shards),
        "shards": shards,
        "rejected": rejected,
        "schema": ["id", "text", "source", "url", "metadata", "turns"],
        "input": {
            "root": os.path.abspath(root),
            "files": len(files),
            "bytes": sum(file_size(os.path.join(root, f)) or 0 for f in files),
        },
        "recipe": recipe.to_dict(),
        "versions": _versions(),
    }


def _write_json_atomic(path: str, data: Any) -> None:
    write_atomic(path, orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
