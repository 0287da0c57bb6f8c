"""The run folder: refusing one that holds something else or another run, the tokenizer copy, metrics kept up
to a resumed step, what a run logs while it trains (RunLog), run.json and the HTML report."""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
from dataclasses import asdict
from typing import Any

import torch

from corpus.errors import OutputError
from corpus.files import write_atomic
from trainer.config import RESUMABLE, TrainConfig

# what `corpus finetune` writes into a run folder before training starts (its conversations and their tokens)
FINETUNE_INPUTS = {"chats", "chats.staging", "data"}


def read_json(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def check_run_folder(out: str, config: TrainConfig, identity: dict[str, Any], overwrite: bool) -> bool:
    """True when the folder holds this run (to resume from its `last` checkpoint, if it has one). Refuses a
    folder that is not a run, and a run whose model or data differ (naming the first difference) unless
    overwrite."""
    if not os.path.exists(out):
        return False
    if not os.path.isdir(out):
        raise OutputError(f"--out {out} exists and is not a folder")
    run_json = os.path.join(out, "run.json")
    if not os.path.isfile(run_json):
        if set(os.listdir(out)) - FINETUNE_INPUTS:
            raise OutputError(f"--out {out} is not empty and holds no trainer run; choose another folder")
        return False
    if overwrite:
        return False
    before = read_json(run_json)
    old = before.get("config", {})
    for key, value in asdict(config).items():
        if key not in RESUMABLE and old.get(key) != value:
            raise OutputError(
                f"--out {out} holds a run with {key}={old.get(key)!r}, not {value!r}: use another --out, "
                "or --overwrite to start afresh"
            )
    for key, value in identity.items():
        if before.get(key) != value:
            raise OutputError(
                f"--out {out} holds a run with another {key} ({before.get(key)!r}): use another --out, "
                "or --overwrite to start afresh"
            )
    return True


def copy_tokenizer(src: str, dst: str) -> None:
    """The tokenizer files (and chat template) a model folder needs, loadable by corpus and AutoTokenizer."""
    names = (
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
        "chat_template.jinja", "chat_template.json", "added_tokens.json", "tokenizer.model",
    )  # fmt: skip
    folder = src if os.path.isdir(src) else os.path.dirname(src)
    tmp = dst + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name in names:
        if os.path.isfile(os.path.join(folder, name)):
            shutil.copy2(os.path.join(folder, name), os.path.join(tmp, name))
    shutil.rmtree(dst, ignore_errors=True)
    os.replace(tmp, dst)


def truncate_metrics(path: str, step: int) -> None:
    """Keep the records up to `step` (a resumed run logs the steps after it again)."""
    if not os.path.isfile(path):
        return
    kept = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # the half-written last line of a killed run
            if record.get("step", 0) <= step:
                kept.append(json.dumps(record))
    write_atomic(path, "".join(k + "\n" for k in kept))


def versions() -> dict[str, str]:
    import corpus

    return {"python": platform.python_version(), "torch": torch.__version__, "corpus": corpus.__version__}


def update_run_json(out: str, values: dict[str, Any]) -> None:
    path = os.path.join(out, "run.json")
    data = {**read_json(path), **values}
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def write_report(out: str) -> None:
    from trainer.report import write_report as write

    try:
        write(out)
    except Exception as err:  # the report is a view of the run: never let it stop training
        print(f"corpus: warning: report.html not written: {type(err).__name__}: {err}", file=sys.stderr)


class RunLog:
    """What the user sees (main process only; the others get a RunLog that does nothing): metrics.jsonl, one
    JSON object per logged step; TensorBoard scalars; the progress bar."""

    def __init__(self, out: str, step: int, max_steps: int, main: bool, bar: bool, tensorboard: bool) -> None:
        self.metrics = open(os.path.join(out, "metrics.jsonl"), "a", encoding="utf-8") if main else None
        self.writer = self.bar = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(os.path.join(out, "tensorboard"), purge_step=step + 1)
        if bar:
            from tqdm import tqdm

            self.bar = tqdm(
                total=max_steps, initial=step, desc="train", unit="step", dynamic_ncols=True, file=sys.stderr
            )

    def write(self, record: dict[str, Any]) -> None:
        if self.metrics:
            self.metrics.write(json.dumps(record) + "\n")
            self.metrics.flush()
        if self.writer:
            for key in ("loss", "lr", "grad_norm", "val_loss", "val_bpb"):
                if key in record:
                    self.writer.add_scalar(key, record[key], record["step"])

    def advance(self, record: dict[str, Any]) -> None:
        if self.bar:
            self.bar.update(1)
            self.bar.set_postfix(
                loss=f"{record['loss']:.4f}", tok_s=f"{record['tokens_per_s']:,.0f}", lr=f"{record['lr']:.2e}"
            )

    def close(self) -> None:
        for handle in (self.bar, self.metrics, self.writer):
            if handle:
                handle.close()
