"""The trainer on real shards (KJV chapters): loss falls, SIGKILL then resume logs the same losses, DDP on 2
gloo processes equals 1 process, export to transformers gives the same logits, a random LlamaForCausalLM
imports with transformers' logits, early stopping, NaN, and every bad input gets one line and exit 2."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_models import save_random_llama
from trainer_fixtures import REPO, build_kjv_tokens, kjv_tokens  # noqa: F401 (fixture)

from corpus.cli import main as cli
from corpus.errors import InputError
from trainer.checkpoint import load_model, load_train_state
from trainer.evaluate import evaluate_lm, make_batch
from trainer.train import StopTraining, TrainingError, load_config, train

# a model small enough for a busy 2-core machine
SMALL = ["d_model=64", "n_layer=2", "n_head=4", "n_kv_head=2", "seq_len=64", "batch_size=8", "samples=1",
         "sample_tokens=8", "log_every=1", "threads=1"]  # fmt: skip
CORPUS = [sys.executable, "-m", "corpus.cli"]


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def small(*extra: str):
    return load_config("tiny", SMALL + list(extra))


@pytest.fixture(scope="module")
def tiny_run(kjv_tokens, tmp_path_factory) -> Path:  # noqa: F811
    """The tiny preset (its optimizer and schedule), shortened: 40 steps, evaluated every 20."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    config = load_config(
        "tiny", ["seq_len=64", "max_steps=40", "eval_every=20", "checkpoint_every=20", "threads=1"]
    )
    train(config, str(kjv_tokens), str(out), progress=False)
    return out


def test_loss_falls_and_run_folder(tiny_run):
    records = metrics(tiny_run)
    evals = [r for r in records if "val_loss" in r]
    assert [r["step"] for r in evals] == [20, 40]
    assert evals[1]["val_loss"] < evals[0]["val_loss"] < math.log(512)
    assert np.mean([r["loss"] for r in records[-5:]]) < records[0]["loss"] - 1.0
    summary = json.loads((tiny_run / "run.json").read_text())
    assert summary["stopped"] == "max_steps" and summary["steps"] == 40
    assert summary["best_val_bpb"] == pytest.approx(evals[1]["val_bpb"])
    assert 0.8e6 < summary["parameters"] < 1.2e6
    for name in ("config.yaml", "report.html", "samples.jsonl", "tokenizer/tokenizer.json"):
        assert (tiny_run / name).is_file()
    html = (tiny_run / "report.html").read_text()
    assert (
        'data-chart="loss"' in html and "<polyline" in html and "<script" not in html and "src=" not in html
    )
    assert load_config(str(tiny_run / "config.yaml"), []).max_steps == 40  # the resolved config loads back


def test_evaluate_matches_training_eval(tiny_run, kjv_tokens):  # noqa: F811
    result = evaluate_lm(str(tiny_run), str(kjv_tokens), seq_len=64)
    last = [r for r in metrics(tiny_run) if "val_loss" in r][-1]
    assert result["loss"] == pytest.approx(last["val_loss"], abs=1e-5)
    assert result["bpb"] == pytest.approx(last["val_bpb"], abs=1e-5)
    meta = json.loads((kjv_tokens / "meta.json").read_text())
    assert result["tokens"] == meta["splits"]["val"]["tokens"] - 1  # every token but the first, once
    assert result["bytes"] == meta["splits"]["val"]["text_bytes"]


def test_make_batch_doc_attention():
    tokens = np.arange(20, dtype=np.uint16)
    offsets = np.array([0, 5, 12, 20])
    mask = np.ones(20, dtype=np.uint8)
    mask[7] = 0
    b = make_batch(tokens, [3], 8, mask, offsets)
    assert b.x[0].tolist() == list(range(3, 11)) and b.y[0].tolist()[3] == -100  # target token 7 masked
    assert b.positions[0].tolist() == [0, 1, 0, 1, 2, 3, 4, 5, 6][:8]  # restart at 5; the cut doc at 3
    m = b.attn_mask[0, 0]
    assert (
        m[2, 1].item() is False
        and m[2, 2].item() is True
        and m[1, 0].item() is True
        and m[0, 1].item() is False
    )


def test_export_logits_and_evaluate_equal(tiny_run, kjv_tokens, tmp_path):  # noqa: F811
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "hf"
    assert cli(["export", str(tiny_run), "--hf", str(out)]) == 0
    ours = load_model(str(tiny_run)).model
    theirs = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    idx = torch.randint(0, 512, (2, 64), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        diff = (ours(idx) - theirs(idx).logits).abs().max().item()
    assert diff <= 1e-4
    tok = AutoTokenizer.from_pretrained(out)
    ids = tok.apply_chat_template(
        [{"role": "user", "content": "Hi"}], add_generation_prompt=True, tokenize=True
    )
    assert tok.decode(ids if isinstance(ids[0], int) else ids["input_ids"]).endswith("<|assistant|>")
    on_run = evaluate_lm(str(tiny_run), str(kjv_tokens), seq_len=64)
    on_hf = evaluate_lm(str(out), str(kjv_tokens), seq_len=64)
    assert on_hf["loss"] == pytest.approx(on_run["loss"], abs=1e-5) and on_hf["bytes"] == on_run["bytes"]


def random_llama(folder: Path, tokenizer: Path, vocab: int = 512) -> Path:
    return save_random_llama(
        folder, tokenizer, vocab_size=vocab, max_position_embeddings=128, rope_theta=5000.0
    )


def test_import_random_llama_and_continue(kjv_tokens, tmp_path):  # noqa: F811
    from transformers import AutoModelForCausalLM

    hf = random_llama(tmp_path / "llama", kjv_tokens.parent / "tok")
    ours = load_model(str(hf)).model
    theirs = AutoModelForCausalLM.from_pretrained(hf, dtype=torch.float32).eval()
    idx = torch.randint(0, 512, (2, 48), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert (ours(idx) - theirs(idx).logits).abs().max().item() <= 1e-4
    config = load_config("tiny", ["seq_len=64", "max_steps=4", "eval_every=4", "batch_size=4", "samples=0"])
    summary = train(config, str(kjv_tokens), str(tmp_path / "continued"), init_from=str(hf), progress=False)
    assert summary["steps"] == 4 and summary["parameters"] == ours.num_parameters()
    assert summary["config"]["n_kv_head"] == 2 and summary["config"]["d_model"] == 64  # the model's shape


@pytest.mark.parametrize("tied", [False, True])
def test_training_loss_and_gradients_equal_transformers(tied):
    """The training path (stacked projections, Rotary, RMSNormFunction, the chunked LinearCrossEntropy) gives
    transformers' loss and every parameter's gradient on the same weights, masked targets included; and the
    positions + mask path gives the plain path's loss."""
    from transformers import LlamaConfig, LlamaForCausalLM

    import trainer.model as model_module
    from trainer.hf import llama_config
    from trainer.model import GPT, IGNORE_INDEX, ModelConfig, apply_rotary, to_hf_state_dict

    torch.manual_seed(0)
    ours = GPT(ModelConfig(vocab_size=300, n_layer=2, n_head=4, n_kv_head=2, d_model=64, max_seq_len=40,
                           tie_embeddings=tied, rope_theta=5000.0))  # fmt: skip
    theirs = LlamaForCausalLM(LlamaConfig(**llama_config(ours, None, 0, None), attn_implementation="sdpa"))
    theirs.load_state_dict(to_hf_state_dict(ours), strict=not tied)
    idx = torch.randint(0, 300, (3, 40), generator=torch.Generator().manual_seed(2))
    targets = torch.randint(0, 300, (3, 40), generator=torch.Generator().manual_seed(3))
    targets[0, :7] = IGNORE_INDEX
    old_chunk, model_module.LOSS_CHUNK = model_module.LOSS_CHUNK, 32  # several chunks, a partial last one
    try:
        loss = ours(idx, targets)
    finally:
        model_module.LOSS_CHUNK = old_chunk
    loss.backward()
    logits = theirs(input_ids=idx).logits
    expected = torch.nn.functional.cross_entropy(
        logits.view(-1, 300), targets.view(-1), ignore_index=IGNORE_INDEX
    )
    expected.backward()
    assert abs(loss.item() - expected.item()) <= 1e-5
    grads = {n: p.grad for n, p in theirs.named_parameters()}
    for name, p in ours.named_parameters():
        hf_name = name if name == "lm_head.weight" else "model." + name
        assert (p.grad - grads[hf_name]).abs().max().item() <= 1e-5, name
    # explicit positions and a causal boolean mask take the same path as the default
    positions = torch.arange(40).expand(3, 40)
    mask = torch.ones(40, 40, dtype=torch.bool).tril()[None, None]
    with torch.no_grad():
        assert abs(ours(idx, targets, positions=positions, attn_mask=mask).item() - loss.item()) <= 1e-5
    # Rotary is transformers' rotate-half rotation
    x = torch.randn(2, 5, 3, 16)
    cos, sin = ours.rope_cos[:5, :8][None, :, None], ours.rope_sin[:5, :8][None, :, None]
    ref = apply_rotary(x.transpose(1, 2), ours.rope_cos[:5][None, None], ours.rope_sin[:5][None, None])
    assert torch.allclose(model_module.Rotary.apply(x, cos, sin).transpose(1, 2), ref, atol=1e-6)


def test_sigkill_then_resume_logs_the_same_losses(kjv_tokens, tmp_path):  # noqa: F811
    args = ["train", str(kjv_tokens), "--config", "tiny", "-q", "--max-steps", "30"]
    args += [f"--set={s}" for s in SMALL + ["eval_every=10", "checkpoint_every=4", "dropout=0.1"]]
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run(CORPUS + args + ["--out", str(straight)], check=True, cwd=REPO)
    proc = subprocess.Popen(CORPUS + args + ["--out", str(killed)], cwd=REPO)
    log = killed / "metrics.jsonl"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if log.is_file() and len(log.read_text().splitlines()) >= 14:  # between checkpoints 12 and 16
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(metrics(killed)) < 30
    subprocess.run(CORPUS + args + ["--out", str(killed)], check=True, cwd=REPO)
    a, b = metrics(straight), metrics(killed)
    assert [r["step"] for r in b] == list(range(1, 31))
    assert [r["loss"] for r in a] == [r["loss"] for r in b]
    assert [r.get("val_loss") for r in a] == [r.get("val_loss") for r in b]
    # a changed model or data is refused, naming the key; nothing changes
    before = (killed / "run.json").read_text()
    r = subprocess.run(
        CORPUS + args + ["--out", str(killed), "--set", "lr=0.01"], capture_output=True, text=True
    )
    assert r.returncode == 2 and "lr=0.006" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (killed / "run.json").read_text() == before


def test_killed_between_the_checkpoint_renames_resumes(kjv_tokens, tmp_path):  # noqa: F811
    """A kill between save_checkpoint's two renames leaves `last` as .last.old-*: the next call puts it back
    and resumes from it (it used to decide before the repair, and start afresh)."""
    out = tmp_path / "run"
    train(small("max_steps=4", "checkpoint_every=2", "eval_every=0", "samples=0"), str(kjv_tokens), str(out),
          progress=False)  # fmt: skip
    last = out / "checkpoints" / "last"
    last.rename(out / "checkpoints" / ".last.old-0123abcd")
    records = metrics(out)
    records[1]["mark"] = "from the first session"  # kept by a resume, gone if the run started afresh
    (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    summary = train(small("max_steps=6", "checkpoint_every=2", "eval_every=0", "samples=0"), str(kjv_tokens),
                    str(out), progress=False)  # fmt: skip
    assert summary["steps"] == 6 and sorted(os.listdir(out / "checkpoints")) == ["last"]
    after = metrics(out)
    assert [r["step"] for r in after] == list(range(1, 7)) and after[1].get(
        "mark"
    ) == "from the first session"


TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "corpus.cli"]
TORCHRUN_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def kill_after_a_checkpoint(command: list[str], run: Path, steps: int, every: int) -> None:
    """Start `command` (torchrun) in its own process group and SIGKILL the whole group once a checkpoint is
    written and the run has gone past it, before it ends."""
    proc = subprocess.Popen(command, cwd=REPO, env=TORCHRUN_ENV, start_new_session=True)
    log, deadline = run / "metrics.jsonl", time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if (
            (run / "checkpoints" / "last").is_dir()
            and log.is_file()
            and len(log.read_text().splitlines()) > every
        ):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert every <= load_train_state(str(run / "checkpoints" / "last"))["step"] < steps
    assert len(metrics(run)) < steps


def kill_and_resume_under_torchrun(args: list[str], runs: Path, steps: int, every: int) -> Path:
    """A 2-process run killed mid-run, then resumed by the same command; returns a copy of the folder as the
    kill left it."""
    killed = runs / "killed"
    kill_after_a_checkpoint(TORCHRUN + args + ["--out", str(killed)], killed, steps, every)
    # the workers died with the launcher: nothing writes into the folder any more
    time.sleep(0.5)
    before = (killed / "metrics.jsonl").read_text()
    time.sleep(0.5)
    assert (killed / "metrics.jsonl").read_text() == before
    shutil.copytree(killed, runs / "one-after-two")
    subprocess.run(TORCHRUN + args + ["--out", str(killed)], check=True, cwd=REPO, env=TORCHRUN_ENV)
    return runs / "one-after-two"


@pytest.mark.slow
def test_ddp_two_processes_equal_one_and_resume(kjv_tokens, tmp_path):  # noqa: F811
    """2 processes equal 1; a 2-process run with dropout SIGKILLed and resumed under torchrun logs the
    uninterrupted run's losses exactly (each process's RNG state restored); resuming it with 1 process is
    refused (the dropout masks depend on the process count)."""
    steps, every = 10, 3
    sets = SMALL + ["batch_size=4", "grad_accum=2", "eval_every=6", f"checkpoint_every={every}", "threads=0",
                    "dropout=0.1"]  # fmt: skip
    args = ["train", str(kjv_tokens), "-q", "--max-steps", str(steps)] + [f"--set={s}" for s in sets]
    subprocess.run(CORPUS + args + ["--set=dropout=0", "--out", str(tmp_path / "one")], check=True, cwd=REPO)
    nodrop = args + ["--set=dropout=0", "--out", str(tmp_path / "two")]
    subprocess.run(TORCHRUN + nodrop, check=True, cwd=REPO, env=TORCHRUN_ENV)
    one, two = metrics(tmp_path / "one"), metrics(tmp_path / "two")
    assert len(one) == len(two) == steps
    for a, b in zip(one, two):
        assert abs(a["loss"] - b["loss"]) <= 1e-5
    assert abs(one[-1]["val_loss"] - two[-1]["val_loss"]) <= 1e-5
    assert json.loads((tmp_path / "two" / "run.json").read_text())["processes"] == 2

    # with dropout: each process's RNG state is saved and restored
    straight = tmp_path / "straight"
    subprocess.run(TORCHRUN + args + ["--out", str(straight)], check=True, cwd=REPO, env=TORCHRUN_ENV)
    one_after_two = kill_and_resume_under_torchrun(args, tmp_path, steps, every)
    a, b = metrics(straight), metrics(tmp_path / "killed")
    assert [r["step"] for r in b] == list(range(1, steps + 1))
    assert [r["loss"] for r in a] == [r["loss"] for r in b]
    assert [r.get("val_loss") for r in a] == [r.get("val_loss") for r in b]
    # with dropout, one process cannot draw the 2 processes' masks: refused, one line, nothing written
    before = (one_after_two / "run.json").read_text()
    with pytest.raises(InputError, match="resume with torchrun --nproc_per_node 2$"):
        train(small(*sets[len(SMALL) :], f"max_steps={steps}"), str(kjv_tokens), str(one_after_two))
    assert (one_after_two / "run.json").read_text() == before


@pytest.mark.slow
def test_fsdp_two_processes_close_to_one_resume_and_load(kjv_tokens, tmp_path):  # noqa: F811
    """FSDP2 on 2 processes: close to 1 process; SIGKILLed and resumed under torchrun, the same losses exactly;
    resumed by 1 process, the same to float rounding; its checkpoints load, evaluate and export in one
    process."""
    steps, every = 9, 3
    sets = SMALL + ["batch_size=4", "grad_accum=2", "eval_every=6", f"checkpoint_every={every}", "threads=0"]
    args = ["train", str(kjv_tokens), "-q", "--max-steps", str(steps)] + [f"--set={s}" for s in sets]
    subprocess.run(CORPUS + args + ["--out", str(tmp_path / "one")], check=True, cwd=REPO)
    fsdp = args + ["--set", "fsdp=true"]
    straight = tmp_path / "straight"
    subprocess.run(TORCHRUN + fsdp + ["--out", str(straight)], check=True, cwd=REPO, env=TORCHRUN_ENV)
    one, two = metrics(tmp_path / "one"), metrics(straight)
    # FSDP reduce-scatters gradients in another order: equal to float32 rounding, not bit for bit
    assert max(abs(a["loss"] - b["loss"]) for a, b in zip(one, two)) <= 1e-4

    one_after_two = kill_and_resume_under_torchrun(fsdp, tmp_path, steps, every)
    b = metrics(tmp_path / "killed")
    assert [r["step"] for r in b] == list(range(1, steps + 1))
    assert [r["loss"] for r in two] == [r["loss"] for r in b]
    assert [r.get("val_loss") for r in two] == [r.get("val_loss") for r in b]
    # one process resumes the 2-process run (no dropout): the same global batches, the same losses to float
    # rounding
    train(small(*sets[len(SMALL) :], f"max_steps={steps}", "fsdp=true"), str(kjv_tokens), str(one_after_two),
          progress=False)  # fmt: skip
    c = metrics(one_after_two)
    assert [r["step"] for r in c] == list(range(1, steps + 1))
    assert max(abs(x["loss"] - y["loss"]) for x, y in zip(two, c)) <= 1e-4
    assert json.loads((one_after_two / "run.json").read_text())["processes"] == 1

    # the gathered checkpoint is a plain model: evaluate and export in one process
    assert load_model(str(straight), checkpoint="last").model.num_parameters() > 0
    result = evaluate_lm(str(straight), str(kjv_tokens), seq_len=64)
    assert result["loss"] == pytest.approx(two[-1]["val_loss"], abs=1e-5)
    assert cli(["export", str(straight), "--hf", str(tmp_path / "hf")]) == 0
    exported = evaluate_lm(str(tmp_path / "hf"), str(kjv_tokens), seq_len=64)
    assert exported["loss"] == pytest.approx(result["loss"], abs=1e-5)


def test_early_stopping_and_callback(kjv_tokens, tmp_path):  # noqa: F811
    # a learning rate too small to move any float32 weight: the validation loss never improves
    config = small("lr=1e-30", "min_lr=0", "eval_every=2", "patience=2", "max_steps=50", "samples=0")
    summary = train(config, str(kjv_tokens), str(tmp_path / "early"), progress=False)
    assert summary["stopped"] == "early_stopping" and summary["steps"] == 6

    seen = []

    def prune(step, record):
        seen.append((step, record["val_loss"]))
        if step >= 4:
            raise StopTraining

    config = small("eval_every=2", "max_steps=50", "samples=0")
    summary = train(
        config, str(kjv_tokens), str(tmp_path / "pruned"), on_eval=prune, progress=False, tensorboard=True
    )
    assert list((tmp_path / "pruned" / "tensorboard").glob("events.out.tfevents.*"))
    assert (
        summary["stopped"] == "stopped_by_callback"
        and summary["steps"] == 4
        and [s for s, _ in seen] == [2, 4]
    )
    assert load_train_state(str(tmp_path / "pruned" / "checkpoints" / "last"))["step"] == 4


def test_non_finite_loss_stops_keeping_the_last_good_checkpoint(kjv_tokens, tmp_path):  # noqa: F811
    config = small("lr=1e30", "warmup_steps=0", "schedule=constant", "grad_clip=0", "checkpoint_every=1",
                   "eval_every=0", "max_steps=20", "optimizer=adamw")  # fmt: skip
    with pytest.raises(TrainingError, match="last good checkpoint"):
        train(config, str(kjv_tokens), str(tmp_path / "nan"), progress=False)
    state = load_train_state(str(tmp_path / "nan" / "checkpoints" / "last"))
    model = load_model(str(tmp_path / "nan"), checkpoint="last").model
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert json.loads((tmp_path / "nan" / "run.json").read_text())["stopped"] == "non_finite_loss"
    assert state["step"] >= 1


def one_line_exit_2(capsys, argv: list[str], expect: str) -> None:
    capsys.readouterr()  # what the test itself printed before
    assert cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expect in err, err


def test_bad_inputs_one_line_exit_2_nothing_written(kjv_tokens, tiny_run, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "out"
    base = ["train", str(kjv_tokens), "--out", str(out), "-q"]
    one_line_exit_2(capsys, ["train", str(tmp_path / "nothing"), "--out", str(out)], "no meta.json")
    damaged = tmp_path / "damaged"
    shutil.copytree(kjv_tokens, damaged)
    with open(damaged / "train.bin", "r+b") as f:
        f.truncate(1000)
    one_line_exit_2(capsys, ["train", str(damaged), "--out", str(out)], "damaged")
    one_line_exit_2(capsys, base + ["--set", "colour=blue"], "unknown config key 'colour'")
    one_line_exit_2(capsys, base + ["--set", "lr=fast"], "lr must be float")
    one_line_exit_2(capsys, base + ["--set", "n_layer=2.5"], "n_layer must be int")
    one_line_exit_2(capsys, base + ["--init-from", str(tiny_run), "--set", "seq_len=4096"], "positions")
    if not torch.cuda.is_available():
        one_line_exit_2(capsys, base + ["--device", "cuda"], "no CUDA GPU")
    # shards of another tokenizer than the model's
    other = build_kjv_tokens(tmp_path / "other", chapters=20, vocab=300)
    one_line_exit_2(
        capsys, ["train", str(other), "--out", str(out), "--init-from", str(tiny_run)], "another tokenizer"
    )
    # a model whose embedding is smaller than the tokenizer's vocabulary
    small_vocab = random_llama(tmp_path / "small-vocab", kjv_tokens.parent / "tok", vocab=256)
    one_line_exit_2(capsys, base + ["--init-from", str(small_vocab)], "larger than the model's embedding")
    assert not out.exists()
    # a folder holding something else, or another run
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    one_line_exit_2(
        capsys, ["train", str(kjv_tokens), "--out", str(tmp_path / "busy")], "holds no trainer run"
    )
    assert os.listdir(tmp_path / "busy") == ["notes.txt"]
    one_line_exit_2(
        capsys, ["train", str(kjv_tokens), "--out", str(tiny_run), "--set", "d_model=96"], "d_model"
    )
    with pytest.raises(InputError):
        load_config("no-such-preset", [])
