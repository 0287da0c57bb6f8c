"""The checkpoint format: a full disk while a checkpoint is written leaves the previous one intact."""

from __future__ import annotations

import os
import subprocess

import pytest
import torch
from safetensors.torch import load_file

from corpus.output import disk_full
from trainer.checkpoint import WEIGHTS, checkpoint_dir, load_model, recover_checkpoints, save_checkpoint
from trainer.model import GPT, ModelConfig


def test_a_full_disk_mid_checkpoint_keeps_the_previous_one(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill ({mounted.stderr.decode().strip()}); needs root")
    try:
        run = mnt / "run"
        (run / "tokenizer").mkdir(parents=True)
        torch.manual_seed(0)
        model = GPT(ModelConfig(vocab_size=256, n_layer=2, n_head=2, n_kv_head=1, d_model=64, max_seq_len=32))
        save_checkpoint(str(run), "last", model, {"step": 1})  # ~400 KB: fits
        before = load_file(os.path.join(checkpoint_dir(str(run), "last"), WEIGHTS))
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
        # leave too little room for a second copy of the weights
        free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
        (mnt / "filler").write_bytes(b"\0" * (free - 100_000))
        with pytest.raises(Exception) as err:  # safetensors' own error type, which the CLI shows as one line
            save_checkpoint(str(run), "last", model, {"step": 2})
        assert disk_full(err.value), err.value
        recover_checkpoints(str(run))
        assert sorted(os.listdir(run / "checkpoints")) == ["last"]  # no half-written folder left
        after = load_file(os.path.join(checkpoint_dir(str(run), "last"), WEIGHTS))
        assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
        load_model(str(run), checkpoint="last")  # still loads as a model
    finally:
        # lazily: tensors read from the mount may still map its files
        subprocess.run(["umount", "--lazy", str(mnt)], capture_output=True)
