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
from corpus.errors import OutputError, RecipeError
from corpus.files import file_digest
from corpus.global_step import ApplyGlobal
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


def _check_output(output_dir: str, fingerprint: str, overwrite: bool) -> None:
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {output_dir} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        run_file = out / ".corpus" / "run.json"
        if overwrite:
            shutil.rmtree(out)
        elif not run_file.is_file():
            raise OutputError(
                f"output {output_dir} is not empty and holds no corpus run; use another --output or --overwrite"
            )
        elif json.loads(run_file.read_text()).get("fingerprint") != fingerprint:
            raise OutputError(
                f"output {output_dir} holds a run of another recipe or input; use another --output or --overwrite"
            )
    parent = out if out.is_dir() else next(p for p in [out, *out.parents] if p.exists())
    if not parent.is_dir():
        raise OutputError(f"output {output_dir} cannot be created: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"output {output_dir} is not writable")


def _fingerprint(recipe: Recipe, root: str, files: list[str]) -> str:
    sizes = [(f, os.path.getsize(os.path.join(root, f))) for f in files]
    blob = orjson.dumps({"recipe": recipe.to_dict(), "input": sizes}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(blob).hexdigest()


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
        input_bytes = sum(os.path.getsize(os.path.join(root, f)) for f in files)
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
        if not os.path.exists(done_marker):
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
) -> dict[str, Any]:
    """Run a recipe over an input file/folder/glob into output_dir. Returns the run statistics."""
    recipe = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    if workers < 1:
        raise RecipeError(f"--workers must be at least 1, got {workers}")
    if executor not in ("local", "ray"):
        raise RecipeError(f"executor must be local or ray, got {executor!r}")
    root, files = list_input_files(input_path, recipe.input.get("format", "auto"))
    fingerprint = _fingerprint(recipe, root, files)
    _check_output(output_dir, fingerprint, overwrite)
    stages = plan_stages(recipe)  # validates the step order before anything is written

    started = time.monotonic()
    work = os.path.join(output_dir, ".corpus")
    os.makedirs(work, exist_ok=True)
    _write_json_atomic(
        os.path.join(work, "run.json"), {"fingerprint": fingerprint, "recipe": recipe.to_dict()}
    )
    for stage in stages:
        _run_stage(stage, recipe, root, files, output_dir, workers, executor, progress)

    stats = collect_stats(output_dir, stages)
    for name, opts in recipe.steps:
        if is_after_run(name):
            result = build_step(name, opts).after_run_hook(output_dir, workers)
            stats["steps"].append({"name": name, "stage": "after_run", **(result or {})})
    stats["elapsed_s"] = round(time.monotonic() - started, 3)
    stats["workers"], stats["executor"] = workers, executor
    _write_json_atomic(os.path.join(output_dir, "stats.json"), stats)
    _write_json_atomic(
        os.path.join(output_dir, "manifest.json"), build_manifest(output_dir, recipe, root, files)
    )
    if report:
        _build_report(output_dir)
    return stats


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
            self.file.write(message)


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
    logger.add(sys.stderr, level=os.environ.get("CORPUS_LOG_LEVEL", "WARNING"))
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
            "bytes": sum(os.path.getsize(os.path.join(root, f)) for f in files),
        },
        "recipe": recipe.to_dict(),
        "versions": _versions(),
    }


def _write_json_atomic(path: str, data: Any) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    os.replace(tmp, path)
