"""corpus ablate and corpus sweep: end to end on the sample web pages with a very small model, the verdict
rule, the search-space checks, and bad input refused with one line and exit 2 before any training."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import statistics

import pytest
import yaml

from corpus.cli import main

# a model small enough for a few seconds per run on a busy CPU; threads=1 because several test processes
# share the cores (more threads only spin)
TINY = [
    "d_model=64",
    "n_layer=2",
    "n_head=2",
    "n_kv_head=2",
    "seq_len=64",
    "batch_size=8",
    "eval_every=5",
    "warmup_steps=2",
    "samples=0",
    "threads=1",
]
BUDGET = 20 * 8 * 64  # 20 steps, 4 evaluations


def _sets(values: list[str]) -> list[str]:
    return [arg for v in values for arg in ("--set", v)]


@pytest.fixture(scope="module")
def tokens(sample, tmp_path_factory):
    """Token shards of the sample web pages (web recipe), 20% of documents for validation."""
    from corpus.pipeline import run_recipe
    from corpus.tokenization import tokenize_dataset, train_tokenizer

    root = tmp_path_factory.mktemp("tokens")
    run_recipe("web", str(sample / "web"), str(root / "data"), report=False)
    train_tokenizer(str(root / "data"), 512, str(root / "tokenizer"))
    tokenize_dataset(str(root / "data"), str(root / "tokenizer"), str(root / "tokens"), val_fraction=0.2)
    return str(root / "tokens")


def _write(path, text: str) -> str:
    path.write_text(text)
    return str(path)


# --- sweep ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sweep_jobs_share_one_study(tokens, tmp_path):
    """--jobs 2: two worker processes draw trials from the same SQLite study (random sampler, halving
    pruner); together they reach the total, each trial once, every run folder in place."""
    space = _write(tmp_path / "space.yaml", "lr: {low: 1.0e-3, high: 1.0e-2, log: true}\n")
    out = tmp_path / "sweep"
    args = ["sweep", tokens, "--space", space, "--out", str(out), "--trials", "4", "--jobs", "2"]
    args += ["--sampler", "random", "--pruner", "halving", "--budget-tokens", str(BUDGET // 2)]
    assert main(args + _sets(TINY)) == 0
    trials = json.loads((out / "sweep.json").read_text())["trials"]
    assert sorted(t["number"] for t in trials) == [0, 1, 2, 3]
    assert len({t["params"]["lr"] for t in trials}) == 4
    assert all(t["state"] in ("complete", "pruned") for t in trials)
    assert all(os.path.isfile(os.path.join(t["run"], "run.json")) for t in trials)


@pytest.mark.slow
def test_sweep_prunes_continues_and_its_best_config_trains(tokens, tmp_path, capsys):
    """A grid over lr in file order: two good values, two hopeless ones (the model barely moves). The median
    pruner (2 start-up trials) must prune the last hopeless trial at its first evaluation; a second run
    continues the study instead of starting again; best.yaml trains with `corpus train --config`."""
    space = _write(tmp_path / "space.yaml", "lr: {choices: [0.006, 1.0e-6, 0.01, 2.0e-6]}\n")
    out = tmp_path / "sweep"
    args = [
        "sweep",
        tokens,
        "--space",
        space,
        "--out",
        str(out),
        "--sampler",
        "grid",
        "--budget-tokens",
        str(BUDGET),
    ]
    args += _sets(TINY)
    assert main([*args, "--trials", "2"]) == 0
    first = json.loads((out / "sweep.json").read_text())
    assert [t["state"] for t in first["trials"]] == ["complete", "complete"]
    run_json = (out / "trials" / "trial-0000" / "run.json").read_text()

    assert main([*args, "--trials", "4"]) == 0  # continues: trials 2 and 3 only
    summary = json.loads((out / "sweep.json").read_text())
    trials = summary["trials"]
    assert [t["number"] for t in trials] == [0, 1, 2, 3]
    assert [t["params"]["lr"] for t in trials] == [0.006, 1e-6, 0.01, 2e-6]
    assert (out / "trials" / "trial-0000" / "run.json").read_text() == run_json  # not retrained
    assert trials[3]["state"] == "pruned"
    assert trials[3]["intermediate"][-1][0] < 20  # stopped before the end of its budget
    assert summary["counts"]["pruned"] >= 1
    assert summary["best"]["params"]["lr"] in (0.006, 0.01)
    assert summary["best"]["value"] == min(t["value"] for t in trials if t["state"] == "complete")
    with sqlite3.connect(out / "study.db") as db:  # the study itself, in SQLite under --out
        assert db.execute("select count(*) from trials").fetchone()[0] == 4

    assert main([*args, "--trials", "4"]) == 0  # nothing left to do
    assert len(json.loads((out / "sweep.json").read_text())["trials"]) == 4

    html = (out / "sweep.html").read_text()
    assert 'data-chart="objective"' in html and "best so far" in html and "Best config" in html
    assert "importances need at least 3" not in html  # 3 complete trials: importances computed
    assert "## Parameter importances" in (out / "sweep.md").read_text()

    # every trial folder is a run that loads; the best config trains as it is
    from trainer.checkpoint import load_model

    for t in trials:
        assert load_model(t["run"]).model is not None
    best = yaml.safe_load((out / "best.yaml").read_text())
    assert best["lr"] == summary["best"]["params"]["lr"] and best["max_tokens"] == BUDGET
    capsys.readouterr()
    assert (
        main(["train", tokens, "--config", str(out / "best.yaml"), "--out", str(tmp_path / "best"), "-q"])
        == 0
    )
    assert json.loads((tmp_path / "best" / "run.json").read_text())["steps"] == 20


def test_space_ranges_choices_and_grid(tmp_path):
    from trainer.sweep import load_space

    space = _write(
        tmp_path / "s.yaml",
        "lr: {low: 1.0e-4, high: 3.0e-2, log: true}\n"
        "warmup_steps: {low: 0, high: 100, step: 10}\n"
        "dropout: {low: 0.0, high: 0.2, step: 0.1}\n"
        "optimizer: {choices: [adamw, muon]}\n",
    )
    params = {p.name: p for p in load_space(space, "tiny", [])}
    assert params["lr"].kind == "float" and params["lr"].log
    assert params["warmup_steps"].kind == "int" and params["warmup_steps"].grid_values() == list(
        range(0, 101, 10)
    )
    assert params["dropout"].grid_values() == [0.0, 0.1, 0.2]
    assert params["optimizer"].grid_values() == ["adamw", "muon"]


# --- ablation -------------------------------------------------------------------------------------------

MINIMAL = """name: minimal
description: extraction only
input: {format: auto}
steps:
  - html_extract: {backend: selectolax}
output: {format: parquet, rejected: true}
"""


@pytest.mark.slow
def test_ablation_two_recipes_two_seeds_end_to_end(sample, tmp_path, capsys):
    minimal = _write(tmp_path / "minimal.yaml", MINIMAL)
    out = tmp_path / "ablation"
    args = ["ablate", "web", minimal, "--input", str(sample / "web"), "--out", str(out), "--seeds", "2"]
    args += ["--holdout", "0.2", "--vocab-size", "512", "--budget-tokens", str(BUDGET), *_sets(TINY)]
    assert main(args) == 0
    printed = capsys.readouterr()
    assert re.search(r"arm (web|minimal) seed 1: step 10/20 val_bpb [0-9.]+, ETA", printed.err)

    summary = json.loads((out / "ablation.json").read_text())
    arms = {a["name"]: a for a in summary["arms"]}
    assert set(arms) == {"web", "minimal"}
    for arm in arms.values():
        assert [r["seed"] for r in arm["runs"]] == [0, 1]
        values = [r["bpb"] for r in arm["runs"]]
        assert arm["bpb"]["mean"] == pytest.approx(statistics.fmean(values))
        assert arm["bpb"]["std"] == pytest.approx(statistics.stdev(values))
        for run in arm["runs"]:
            assert [int(t) for t, _ in run["curve"]] == [2560, 5120, 7680, 10240]  # the same budget for all
            assert run["tokens_seen"] == BUDGET
            assert os.path.isfile(os.path.join(run["run"], "checkpoints", "last", "model.safetensors"))
    # the web recipe removed the sample's near-duplicate pages; the minimal arm kept everything
    assert arms["web"]["data"]["duplicates_removed"] >= 1 and arms["minimal"]["data"]["dropped"] == 0
    assert arms["web"]["data"]["documents"] < arms["minimal"]["data"]["documents"]
    # both arms were validated on the same held-out text, and it is none of their training documents
    metas = [json.loads((out / "arms" / n / "tokens" / "meta.json").read_text()) for n in arms]
    assert metas[0]["splits"]["val"] == metas[1]["splits"]["val"]
    held = _ids(out / "heldout" / "data")
    assert held and all(held.isdisjoint(_ids(out / "arms" / n / "data")) for n in arms)

    verdict = summary["verdict"]
    assert verdict["winner"] in arms and "seed spread" in verdict["text"]
    comparison = verdict["comparisons"][0]
    better, worse = arms[comparison["better"]]["bpb"], arms[comparison["worse"]]["bpb"]
    assert comparison["exceeds_seed_spread"] == (better["max"] < worse["min"])

    html = (out / "ablation.html").read_text()
    assert html.count('<polyline class="line"') == 4  # one curve per arm and seed
    assert "web seed 1" in html and "minimal seed 0" in html and "Drops by reason" in html
    assert "Content-Security-Policy" in html and "<script" not in html
    md = (out / "ablation.md").read_text()
    assert "| web |" in md and "| minimal |" in md and "**Verdict.**" in md

    # run again: every run is done, nothing is trained again, the report is the same
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "results").rglob("*.json")}
    assert main(args) == 0
    assert {p: p.stat().st_mtime_ns for p in (out / "results").rglob("*.json")} == mtimes
    assert json.loads((out / "ablation.json").read_text())["arms"] == summary["arms"]


def _ids(dataset) -> set[str]:
    import pyarrow.parquet as pq

    return {
        i
        for f in sorted((dataset / "data").glob("*.parquet"))
        for i in pq.read_table(f, columns=["id"])["id"].to_pylist()
    }


def test_verdict_against_the_seed_spread():
    from trainer.ablate import spread, verdict

    def arm(name, values):
        return {"name": name, "bpb": spread(values)}

    clear = verdict([arm("a", [2.00, 2.01, 2.02]), arm("b", [2.10, 2.11, 2.12])])
    assert clear["winner"] == "a" and clear["comparisons"][0]["exceeds_seed_spread"]
    assert clear["comparisons"][0]["difference_bpb"] == pytest.approx(0.1)
    assert clear["comparisons"][0]["difference_in_std"] == pytest.approx(0.1 / 0.01)
    assert "larger than the seed spread" in clear["text"]
    close = verdict([arm("a", [2.00, 2.05, 2.10]), arm("b", [2.04, 2.08, 2.09])])
    assert close["winner"] == "a" and not close["comparisons"][0]["exceeds_seed_spread"]
    assert "NOT larger than the seed spread" in close["text"]
    single = verdict([arm("a", [2.0]), arm("b", [2.5])])
    assert not single["comparisons"][0]["exceeds_seed_spread"] and "unknown" in single["text"]


def test_chunking_cuts_at_line_breaks():
    from trainer.ablate import _chunk_lines

    text = "".join(f"Ge1:{i} verse {i}\n" for i in range(1000))
    pieces = _chunk_lines(text, 2000)
    assert "".join(pieces) == text and all(len(p) <= 2000 for p in pieces) and len(pieces) > 5
    assert all(p.endswith("\n") for p in pieces)
    assert _chunk_lines("short", 2000) == ["short"]


# --- bad input: one line, exit 2, nothing trained ----------------------------------------------------------


def _refused(capsys, args: list[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("corpus: error:") and "\n" not in err
    return err


def test_bad_input_is_refused_before_training(sample, tokens, tmp_path, capsys):
    minimal = _write(tmp_path / "minimal.yaml", MINIMAL)
    broken = _write(tmp_path / "broken.yaml", "name: broken\nsteps:\n  - no_such_step: {}\n")
    ablation = ["--input", str(sample / "web"), "--budget-tokens", str(BUDGET), *_sets(TINY)]
    out = tmp_path / "a"
    assert "no_such_step" in _refused(capsys, ["ablate", "web", broken, *ablation, "--out", str(out)])
    err = _refused(
        capsys, ["ablate", "web", minimal, *ablation, "--out", str(out), "--budget-tokens", "1000"]
    )
    assert "no evaluation would run" in err
    assert not out.exists()

    space = _write(tmp_path / "space.yaml", "lr: {low: 1.0e-4, high: 1.0e-2, log: true}\n")
    sweep = ["sweep", tokens, "--trials", "2", "--budget-tokens", str(BUDGET), *_sets(TINY)]
    s_out = str(tmp_path / "s")
    unknown = _write(tmp_path / "unknown.yaml", "learning_rate: {low: 1.0e-4, high: 1.0e-2}\n")
    assert "learning_rate" in _refused(capsys, [*sweep, "--space", unknown, "--out", s_out])
    empty = _write(tmp_path / "empty.yaml", "lr: {low: 1.0e-2, high: 1.0e-4}\n")
    assert "empty range" in _refused(capsys, [*sweep, "--space", empty, "--out", s_out])
    no_choice = _write(tmp_path / "none.yaml", "optimizer: {choices: []}\n")
    assert "non-empty" in _refused(capsys, [*sweep, "--space", no_choice, "--out", s_out])
    bad_value = _write(tmp_path / "bad.yaml", "optimizer: {choices: [adamw, sgd]}\n")
    assert "sgd" in _refused(capsys, [*sweep, "--space", bad_value, "--out", s_out])
    big_batch = _write(tmp_path / "batch.yaml", "batch_size: {choices: [8, 64]}\n")
    assert "no evaluation would run" in _refused(capsys, [*sweep, "--space", big_batch, "--out", s_out])
    for url in ("nosuchdb://x", f"sqlite:///{tmp_path}/missing/folder/study.db"):
        assert "cannot be opened" in _refused(
            capsys, [*sweep, "--space", space, "--out", s_out, "--storage", url]
        )
    assert not os.path.exists(s_out)


def test_eval_on_replaces_the_hold_out(sample, tmp_path):
    """--eval-on raw text: nothing is held out from the input, the given text is read and extracted instead;
    --eval-on a corpus dataset: used as it is."""
    from trainer.ablate import AblationConfig, hold_out, plan, prepare_heldout

    minimal = _write(tmp_path / "minimal.yaml", MINIMAL)
    cfg = AblationConfig(
        recipes=["web", minimal],
        inputs=[str(sample / "web")],
        out=str(tmp_path / "a"),
        eval_on=str(sample / "books"),
        overrides=TINY,
        budget_tokens=BUDGET,
        progress=False,
    )
    p = plan(cfg)
    info = hold_out(p)
    assert info["documents_held_out"] == 0 and info["documents_for_arms"] == 44  # every page the reader gives
    heldout = prepare_heldout(p)
    assert len(_ids(tmp_path / "a" / "heldout" / "data")) == 5  # the five sample books
    cfg.eval_on, cfg.out = heldout, str(tmp_path / "b")
    assert prepare_heldout(plan(cfg)) == heldout
