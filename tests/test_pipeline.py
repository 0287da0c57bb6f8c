"""The run itself: determinism across worker counts, resume after SIGKILL, fail-fast misuse, outputs that
pyarrow, polars and Hugging Face datasets read without corpus."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpus.cli import main
from corpus.errors import OutputError, RecipeError
from corpus.pipeline import load_recipe, run_recipe

DEDUP_ONLY = {"name": "t", "steps": [{"exact_dedup": {}}], "output": {"max_docs_per_shard": 150}}


def make_jsonl_corpus(folder: Path, kjv: Path, files: int = 6, per_file: int = 300) -> None:
    verses = kjv.read_text().splitlines()
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        with open(folder / f"part-{f:02d}.jsonl", "w") as out:
            for i in range(per_file):
                # every 7th record repeats an earlier verse: duplicates across files and workers
                n = (f * per_file + i) if i % 7 else (i * 3) % 500
                out.write(json.dumps({"id": f"{f}-{i}", "text": " ".join(verses[n : n + 3])}) + "\n")
            out.write("{not json\n")


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((folder / "data").iterdir())}


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory, shared):
    folder = tmp_path_factory.mktemp("in")
    make_jsonl_corpus(folder, shared / "kjv.txt")
    return folder


def test_same_bytes_whatever_the_worker_count(corpus_dir, tmp_path):
    one = run_recipe(DEDUP_ONLY, str(corpus_dir), str(tmp_path / "w1"), workers=1, report=False)
    two = run_recipe(DEDUP_ONLY, str(corpus_dir), str(tmp_path / "w2"), workers=2, report=False)
    assert digest(tmp_path / "w1") == digest(tmp_path / "w2")
    without_time = [
        [{k: v for k, v in step.items() if k != "time_s"} for step in r["steps"]] for r in (one, two)
    ]
    assert without_time[0] == without_time[1]
    dedup = one["steps"][0]
    assert dedup["seen"] == 1800 and dedup["kept"] + dedup["dropped"]["exact_duplicate"] == 1800
    assert one["reader"]["bad_json_line"] == 6
    manifest = json.loads((tmp_path / "w1" / "manifest.json").read_text())
    assert manifest["documents"] == dedup["kept"] == one["documents_out"]
    assert manifest["rejected"] == {"exact_duplicate": dedup["dropped"]["exact_duplicate"]}
    for shard in manifest["shards"]:
        path = tmp_path / "w1" / shard["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == shard["sha256"]
        assert shard["rows"] <= 150
    # no text appears twice among the kept documents
    texts = [
        t for s in manifest["shards"] for t in pq.read_table(tmp_path / "w1" / s["path"])["text"].to_pylist()
    ]
    assert len(texts) == len(set(texts))


def test_exact_dedup_decides_the_same_in_small_hash_buckets(corpus_dir, tmp_path, monkeypatch):
    """exact_dedup's hash table is split into buckets of hash ranges (bounded memory); 50-row buckets (36 of
    here) give the same shards as one, and every copy names a kept document with its text."""
    from corpus.processors import exact_dedup
    from corpus.processors.exact_dedup import normalized_text

    run_recipe(DEDUP_ONLY, str(corpus_dir), str(tmp_path / "one"), workers=2, report=False)
    monkeypatch.setattr(exact_dedup, "BUCKET_ROWS", 50)
    stats = run_recipe(DEDUP_ONLY, str(corpus_dir), str(tmp_path / "many"), workers=2, report=False)
    for name in ("data", "rejected"):
        a, b = (sorted((tmp_path / run / name).rglob("*.parquet")) for run in ("one", "many"))
        assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b] and a
    kept = {
        r["id"]: r["text"]
        for p in (tmp_path / "many" / "data").glob("*.parquet")
        for r in pq.read_table(p).to_pylist()
    }
    copies = [
        r for p in (tmp_path / "many" / "rejected").rglob("*.parquet") for r in pq.read_table(p).to_pylist()
    ]
    assert len(copies) == stats["steps"][0]["dropped"]["exact_duplicate"] > 200
    for row in copies:
        assert kept[json.loads(row["metadata"])["duplicate_of"]] == row["text"]
    texts = [*kept.values(), *(row["text"] for row in copies)]
    assert len(kept) == len({normalized_text(text) for text in texts})  # one kept per distinct text


def test_readable_without_corpus(corpus_dir, tmp_path):
    out = tmp_path / "o"
    run_recipe(DEDUP_ONLY, str(corpus_dir), str(out), report=False)
    code = (
        "import sys, polars as pl, pyarrow.dataset as ds, datasets\n"
        f"files = sorted(__import__('glob').glob('{out}/data/*.parquet'))\n"
        "a = ds.dataset(files).to_table().num_rows\n"
        "b = pl.scan_parquet(files).select(pl.len()).collect().item()\n"
        "c = datasets.load_dataset('parquet', data_files=files, split='train').num_rows\n"
        "assert 'corpus' not in sys.modules\n"
        "print(a, b, c)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd="/",
        env={**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")},
    )
    assert result.returncode == 0, result.stderr
    a, b, c = result.stdout.split()
    assert a == b == c == str(json.loads((out / "manifest.json").read_text())["documents"])


def test_resume_after_sigkill_gives_the_uninterrupted_output(corpus_dir, tmp_path, shared):
    big = tmp_path / "big"
    make_jsonl_corpus(big, shared / "kjv.txt", files=12, per_file=1500)
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({**DEDUP_ONLY, "output": {"max_docs_per_shard": 400}}))
    code = (
        "import json, sys; from corpus.pipeline import run_recipe\n"
        f"run_recipe(json.load(open('{recipe}')), '{big}', sys.argv[1], workers=2, report=False)\n"
    )
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-c", code, str(killed)], start_new_session=True)
    # kill once the first stage has written some shards but before the run finishes
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((killed / ".corpus").glob("stage-0/part-*")):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "manifest.json").exists(), "the run finished before it could be killed"
    # whatever made it to disk is whole: every visible shard opens; temporaries are hidden
    for path in (killed / "data").glob("*.parquet") if (killed / "data").exists() else []:
        pq.read_metadata(path)
    run_recipe(json.loads(recipe.read_text()), str(big), str(killed), workers=2, report=False)
    run_recipe(json.loads(recipe.read_text()), str(big), str(tmp_path / "clean"), workers=1, report=False)
    assert digest(killed) == digest(tmp_path / "clean")
    assert not list((killed / "data").glob(".*"))


def test_misuse_fails_fast_before_writing(corpus_dir, tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["prepare", "nope.yaml", "--input", str(corpus_dir), "--output", str(out)]) == 2
    assert "recipe not found" in capsys.readouterr().err
    good = tmp_path / "good.yaml"
    good.write_text("steps: [exact_dedup]\n")
    assert main(["prepare", str(good), "--input", str(tmp_path / "missing"), "--output", str(out)]) == 2
    assert "input not found" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - exact_dedup: {normalise: true}\n")
    assert main(["prepare", str(bad), "--input", str(corpus_dir), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown option 'normalise'" in err and "allowed options: normalize" in err
    assert err.count("\n") == 1
    bad.write_text("steps:\n  - extract_html: {}\n")
    assert main(["prepare", str(bad), "--input", str(corpus_dir), "--output", str(out)]) == 2
    assert "unknown step 'extract_html'; allowed steps:" in capsys.readouterr().err
    bad.write_text("steps: [exact_dedup]\noutputs: {}\n")
    assert main(["prepare", str(bad), "--input", str(corpus_dir), "--output", str(out)]) == 2
    assert "unknown recipe key(s) outputs" in capsys.readouterr().err
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="is not a directory"):
        run_recipe(DEDUP_ONLY, str(corpus_dir), str(blocker / "out"))
    assert not out.exists()


def test_output_guarded_against_other_runs(corpus_dir, tmp_path):
    out = tmp_path / "o"
    (out / "mine").mkdir(parents=True)
    with pytest.raises(OutputError, match="not empty"):
        run_recipe(DEDUP_ONLY, str(corpus_dir), str(out))
    # --overwrite replaces only what a corpus command made: a user's folder is refused, nothing deleted
    with pytest.raises(OutputError, match="no corpus command made it"):
        run_recipe(DEDUP_ONLY, str(corpus_dir), str(out), overwrite=True, report=False)
    assert (out / "mine").is_dir()
    (out / "mine").rmdir()
    run_recipe(DEDUP_ONLY, str(corpus_dir), str(out), report=False)
    run_recipe(DEDUP_ONLY, str(corpus_dir), str(out), overwrite=True, report=False)
    other = {**DEDUP_ONLY, "steps": [{"exact_dedup": {"normalize": False}}]}
    with pytest.raises(OutputError, match="another recipe"):
        run_recipe(other, str(corpus_dir), str(out))


def test_recipe_validation_messages():
    with pytest.raises(RecipeError, match="should be"):
        load_recipe({"steps": [{"exact_dedup": {"normalize": "yes"}}]})
    with pytest.raises(RecipeError, match="output: unknown option 'shards'"):
        load_recipe({"steps": ["exact_dedup"], "output": {"shards": 3}})
    with pytest.raises(RecipeError, match="input: unknown option"):
        load_recipe({"steps": ["exact_dedup"], "input": {"encoding": "x"}})
    with pytest.raises(RecipeError, match="non-empty list"):
        load_recipe({"steps": []})


def test_arrow_output(corpus_dir, tmp_path):
    import pyarrow.ipc as ipc

    recipe = {**DEDUP_ONLY, "output": {"format": "arrow", "max_docs_per_shard": 1000}}
    run_recipe(recipe, str(corpus_dir), str(tmp_path / "a"), report=False)
    shards = sorted((tmp_path / "a" / "data").glob("*.arrow"))
    assert shards
    rows = sum(ipc.open_file(str(p)).read_all().num_rows for p in shards)
    assert rows == json.loads((tmp_path / "a" / "manifest.json").read_text())["documents"]


@pytest.mark.slow
def _all_shards(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.parquet"))
        if ".corpus" not in p.parts
    }


def test_ray_round_trip_matches_local(corpus_dir, tmp_path, sample):
    pytest.importorskip("ray")
    run_recipe(DEDUP_ONLY, str(corpus_dir), str(tmp_path / "local"), workers=2, report=False)
    run_recipe("web", str(sample / "web"), str(tmp_path / "web-local"), workers=2, report=False)
    code = (
        "import ray; from corpus.pipeline import run_recipe\n"
        f"run_recipe({DEDUP_ONLY!r}, '{corpus_dir}', '{tmp_path / 'ray'}', workers=2, executor='ray', report=False)\n"
        f"run_recipe('web', '{sample / 'web'}', '{tmp_path / 'web-ray'}', workers=2, executor='ray', report=False)\n"
        "assert ray.is_initialized(); ray.shutdown()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # a local instance on loopback
    env["RAY_AUTH_MODE"] = "disabled"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert digest(tmp_path / "ray") == digest(tmp_path / "local")
    # the whole web recipe (every step, both global stages, rejected and duplicates datasets) on Ray
    web = _all_shards(tmp_path / "web-ray")
    assert web == _all_shards(tmp_path / "web-local") and any(k.startswith("duplicates/") for k in web)
    assert json.loads((tmp_path / "ray" / "stats.json").read_text())["executor"] == "ray"


def test_consecutive_global_steps_share_a_stage_and_agree_with_separate_stages(tmp_path):
    """exact_dedup then dedup resolve over one stage dataset (dedup skipping what exact_dedup drops); with a
    step between them they get a stage each. Both give the same kept documents and the same drops."""
    import random

    from corpus.pipeline import plan_stages

    rng = random.Random(5)
    words = "refund order parcel invoice account password login delivery courier warranty".split()
    words += "screen battery charger cable router printer laptop phone tablet camera".split()
    texts = [" ".join(rng.choice(words) for _ in range(40)) for _ in range(12)]
    texts += [
        texts[0],
        texts[0].upper(),
        texts[3] + " thanks",
    ]  # two exact (normalized) copies, one near copy
    texts += [" ".join(rng.choice(words) for _ in range(30)) for _ in range(6)]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"d{i:02d}", "text": t}) + "\n" for i, t in enumerate(texts)))

    def run(steps: list, name: str) -> tuple[dict, dict, dict]:
        recipe = load_recipe({"name": name, "steps": steps})
        out = tmp_path / name
        stats = run_recipe(recipe, str(source), str(out), report=False)
        kept = {r["id"]: r["text"] for r in pq.read_table(out / "data").to_pylist()}
        dropped = {}
        for reason in os.listdir(out / "rejected"):
            for row in pq.read_table(out / "rejected" / reason).to_pylist():
                dropped[row["id"]] = reason
        return kept, dropped, stats

    shared_steps = [{"exact_dedup": {}}, {"dedup": {"threshold": 0.7}}]
    apart_steps = [{"exact_dedup": {}}, {"length_filter": {}}, {"dedup": {"threshold": 0.7}}]
    stages = plan_stages(load_recipe({"steps": shared_steps}))
    assert [len(s.ends_with_globals) for s in stages] == [2, 0]
    assert [name for name, _ in stages[1].apply_globals] == ["exact_dedup", "dedup"]
    assert len(plan_stages(load_recipe({"steps": apart_steps}))) == 3

    kept, dropped, stats = run(shared_steps, "shared")
    kept_apart, dropped_apart, _ = run(apart_steps, "apart")
    assert kept == kept_apart and dropped == dropped_apart
    assert dropped["d12"] == dropped["d13"] == "exact_duplicate"
    assert dropped["d14"] == "near_duplicate"
    dedup = next(s for s in stats["steps"] if s["name"] == "dedup")
    assert dedup["seen"] == len(texts) - 2 and dedup["counters"]["documents"] == len(texts) - 2

    # the other order: dedup first, then exact_dedup skips what dedup dropped
    kept_rev, dropped_rev, _ = run(list(reversed(shared_steps)), "reversed")
    assert set(kept_rev) == set(kept)
    assert "d14" in dropped_rev and {"d12", "d13"} <= set(dropped_rev)


@pytest.mark.parametrize("older", ["drops.parquet", "drops.pq"])
def test_run_interrupted_after_an_older_global_step_layout_resolves_it_again(corpus_dir, tmp_path, older):
    # before the per-shard layout (drops/NNNNN.pq), exact_dedup wrote one drops.parquet (later drops.pq): a run
    # interrupted after that step and resumed by this version must resolve the step again, not find no drops
    recipe = {**DEDUP_ONLY, "steps": [{"exact_dedup": {}}, {"length_filter": {}}]}
    clean, resumed = tmp_path / "clean", tmp_path / "resumed"
    run_recipe(recipe, str(corpus_dir), str(clean), report=False)
    run_recipe(recipe, str(corpus_dir), str(resumed), report=False, keep_work=True)
    (global_folder,) = (resumed / ".corpus").glob("global-*")
    assert list((global_folder / "drops").glob("*.pq")), "the copies in the corpus are dropped somewhere"
    shutil.rmtree(global_folder / "drops")
    (global_folder / older).write_bytes(b"PAR1")
    for name in ("manifest.json", "data"):
        path = resumed / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    # as if killed once the global step was done: nothing of the stage after it on disk
    run_file = resumed / ".corpus" / "run.json"
    run_file.write_text(json.dumps({**json.loads(run_file.read_text()), "complete": False}))
    for later in [
        *(resumed / ".corpus").glob("stage-[1-9]*"),
        *(resumed / ".corpus" / "logs").glob("stage-[1-9]*"),
    ]:
        shutil.rmtree(later)
    run_recipe(recipe, str(corpus_dir), str(resumed), report=False)
    assert digest(resumed) == digest(clean)
    assert not (global_folder / older).exists()
