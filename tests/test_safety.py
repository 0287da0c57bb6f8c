"""Never lose a user's data, and fail in one line: --overwrite and the input, folders corpus did not make,
broken links and vanished files, a full disk, an unwritable output, SIGTERM, unfinished runs, an input that
gives no documents, the work folder, recipe syntax errors and report.md escaping. Every case runs the real
command on real files (KJV verses from ../shared/data, sample_data/web)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from processes import assert_terminated_cleanly, run_in_own_session

from corpus.cli import main
from corpus.errors import OutputError
from corpus.pipeline import run_recipe

REPO = Path(__file__).resolve().parents[1]
EXACT = {"name": "exact", "steps": [{"exact_dedup": {}}], "output": {"max_docs_per_shard": 500}}


def write_verses(folder: Path, kjv: Path, files: int, per_file: int, start: int = 0) -> None:
    verses = kjv.read_text().splitlines()
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        with open(folder / f"part-{f:02d}.jsonl", "w") as out:
            for i in range(per_file):
                n = start + (f * per_file + i) % (len(verses) - 2)
                out.write(json.dumps({"id": f"{f}-{i}", "text": " ".join(verses[n : n + 2])}) + "\n")


def tree_digest(*folders: Path) -> dict[str, str]:
    """Every file under the folders (links as their target path): what must survive a refused command."""
    out = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_symlink():
                out[str(path)] = "link:" + os.readlink(path)
            elif path.is_file():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def one_error_line(capsys) -> str:
    """The one line a refused command prints (augment's recipe may first warn about a missing optional
    transform's data: that line is not the error's)."""
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if not line.startswith("corpus: warning: augment")]
    assert len(lines) == 1 and lines[0].startswith("corpus: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def verses(tmp_path_factory, shared) -> Path:
    folder = tmp_path_factory.mktemp("verses") / "in"
    write_verses(folder, shared / "kjv.txt", files=3, per_file=200)
    return folder


@pytest.fixture(scope="module")
def dataset(verses, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dataset") / "run"
    run_recipe(EXACT, str(verses), str(out), report=False)
    return out


@pytest.fixture(scope="module")
def tokenizer(dataset, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tok") / "tok"
    assert main(["tokenizer", "train", str(dataset), "--vocab-size", "300", "-o", str(out)]) == 0
    return out


# --- 1. --overwrite never deletes the input, nor a folder corpus did not make ------------------------------


def test_overwrite_refuses_an_output_that_is_holds_or_lies_inside_the_input(
    verses, dataset, tokenizer, tmp_path, capsys
):
    recipe = tmp_path / "exact.json"
    recipe.write_text(json.dumps(EXACT))
    parent = verses.parent
    link = tmp_path / "link-to-input"
    link.symlink_to(verses)
    tok = ["-t", str(tokenizer)]
    cases = [
        # prepare: the input itself, its parent, a folder inside it, a symlink to it, a glob's folder, a file's
        ["prepare", str(recipe), "-i", str(verses), "-o", str(verses)],
        ["prepare", str(recipe), "-i", str(verses), "-o", str(parent)],
        ["prepare", str(recipe), "-i", str(verses), "-o", str(verses / "out")],
        ["prepare", str(recipe), "-i", str(verses), "-o", str(link)],
        ["prepare", str(recipe), "-i", str(link), "-o", str(verses / "out")],
        ["prepare", str(recipe), "-i", f"{verses}/*.jsonl", "-o", str(verses)],
        ["prepare", str(recipe), "-i", str(verses / "part-00.jsonl"), "-o", str(verses)],
        # the other commands with --output and --overwrite
        ["dedup", str(dataset), "-o", str(dataset)],
        ["dedup", str(dataset), "-o", str(dataset / "data" / "deduped")],
        ["augment", str(verses), "-o", str(parent)],
        ["tokenize", str(dataset), *tok, "-o", str(dataset)],
        ["tokenize", str(dataset), *tok, "-o", str(dataset / "data")],
        ["tokenizer", "train", str(dataset), "--vocab-size", "300", "-o", str(dataset / "data")],
        ["tokenizer", "train", str(dataset), "--vocab-size", "300", "-o", str(dataset)],
    ]
    before = tree_digest(parent, dataset)
    for argv in cases:
        assert main([*argv, "--overwrite"]) == 2, argv
        line = one_error_line(capsys)
        assert any(w in line for w in (" is the ", " would hold the ", " lies inside the ")), line
        assert tree_digest(parent, dataset) == before, argv  # nothing deleted, nothing written


def test_overwrite_replaces_only_what_a_corpus_command_made(verses, dataset, tokenizer, tmp_path, capsys):
    user = tmp_path / "user"
    user.mkdir()
    (user / "thesis.tex").write_text("years of work")
    (user / "manifest.json").write_text('{"mine": true}')  # a user's own manifest is not a corpus one
    for argv in (
        ["prepare", "web", "-i", str(verses), "-o", str(user)],
        ["dedup", str(dataset), "-o", str(user)],
        ["tokenize", str(dataset), "-t", str(tokenizer), "-o", str(user)],
        ["tokenizer", "train", str(dataset), "--vocab-size", "300", "-o", str(user)],
    ):
        assert main([*argv, "--overwrite"]) == 2
        line = one_error_line(capsys)
        assert "no corpus command made it" in line and "nothing was deleted" in line, line
        assert (user / "thesis.tex").read_text() == "years of work"
    # an empty folder, and folders corpus made, are replaced
    (tmp_path / "empty").mkdir()
    args = ["--no-report", "-q", "--overwrite"]
    assert main(["dedup", str(dataset), "-o", str(tmp_path / "empty"), *args]) == 0
    assert main(["dedup", str(dataset), "-o", str(tmp_path / "empty"), "--ngram", "3", *args]) == 0
    stats = json.loads((tmp_path / "empty" / "stats.json").read_text())
    assert stats["steps"][0]["name"] == "dedup" and stats["attempts"] == 1
    tokens = tmp_path / "tokens"
    assert main(["tokenize", str(dataset), "-t", str(tokenizer), "-o", str(tokens), "-q"]) == 0
    assert main(["tokenize", str(dataset), "-t", str(tokenizer), "-o", str(tokens), "--seed", "3", "-q"]) == 2
    capsys.readouterr()
    assert (
        main(
            [
                "tokenize",
                str(dataset),
                "-t",
                str(tokenizer),
                "-o",
                str(tokens),
                "--seed",
                "3",
                "-q",
                "--overwrite",
            ]
        )
        == 0
    )
    assert json.loads((tokens / "meta.json").read_text())["seed"] == 3
    assert (
        main(["tokenizer", "train", str(dataset), "--vocab-size", "280", "-o", str(tokenizer), "--overwrite"])
        == 0
    )
    assert json.loads((tokenizer / "training.json").read_text())["vocab_size_requested"] == 280


def test_unwritable_output_is_one_line(verses, dataset, tokenizer, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for output in ("/proc/x", str(blocker / "out"), str(blocker)):
        for argv in (
            ["prepare", "web", "-i", str(verses), "-q"],
            ["tokenize", str(dataset), "-t", str(tokenizer), "-q"],
            ["tokenizer", "train", str(dataset), "--vocab-size", "300"],
        ):
            assert main([*argv, "-o", output]) == 2, argv
            assert output in one_error_line(capsys)
    assert not os.path.exists("/proc/x")


def test_recipe_syntax_error_names_line_and_column(verses, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps:\n  - exact_dedup: {normalize: true\n  - dedup: {}\n")
    assert main(["prepare", str(bad), "-i", str(verses), "-o", str(tmp_path / "o")]) == 2
    line = one_error_line(capsys)
    assert "is not valid YAML: line 4, column 10: expected ',' or '}'" in line, line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", [0, -1, "64MB"])
def test_an_input_cap_that_drops_everything_is_refused_before_writing(verses, tmp_path, capsys, value):
    recipe = tmp_path / "cap.yaml"
    recipe.write_text(f"name: cap\ninput: {{max_document_bytes: {value}}}\nsteps: []\n")
    assert main(["prepare", str(recipe), "-i", str(verses), "-o", str(tmp_path / "o")]) == 2
    assert "max_document_bytes must be a positive number of bytes" in one_error_line(capsys)
    assert not (tmp_path / "o").exists()


# --- 2. counted, not crashed --------------------------------------------------------------------------------


def test_broken_links_are_counted_and_a_changed_input_is_named(verses, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for f in verses.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "dangling.jsonl").symlink_to(tmp_path / "never-written.jsonl")
    (folder / "loop-a.jsonl").symlink_to(folder / "loop-b.jsonl")
    (folder / "loop-b.jsonl").symlink_to(folder / "loop-a.jsonl")
    out = tmp_path / "out"
    stats = run_recipe(EXACT, str(folder), str(out), report=False)
    assert stats["reader"]["documents"] == 600  # every valid record went through
    assert stats["reader"]["dangling_symlink"] == 1 and stats["reader"]["symlink_loop"] == 2
    # the same input again: complete, nothing to redo; the same input with a file gone: refused, named
    assert run_recipe(EXACT, str(folder), str(out), report=False)["documents_out"] == stats["documents_out"]
    (folder / "part-01.jsonl").unlink()
    (folder / "part-02.jsonl").write_text('{"text": "changed"}\n')
    with pytest.raises(OutputError) as err:
        run_recipe(EXACT, str(folder), str(out), report=False)
    assert "part-01.jsonl is gone" in str(err.value) and "part-02.jsonl changed" in str(err.value)


def test_unreadable_file_is_counted(verses, shared):
    """chmod 000 stops a reader that is not root: the run goes as user nobody in a subprocess."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run the command as another user")
    base = Path(tempfile.mkdtemp(prefix="corpus-nobody-"))
    try:
        base.chmod(0o777)
        folder = base / "in"
        write_verses(folder, shared / "kjv.txt", files=2, per_file=50)
        (folder / "part-01.jsonl").chmod(0o000)
        for path in (base, folder):
            path.chmod(0o777)
        env = {**os.environ, "CORPUS_CACHE_DIR": str(base / "cache"), "HOME": str(base)}
        # the interpreter lives under /root, which nobody cannot enter: the run imports what it needs (one
        # run as root, elsewhere), then drops to nobody and runs for real
        code = (
            "import json, os, sys; from corpus.pipeline import run_recipe\n"
            f"run_recipe({EXACT!r}, sys.argv[1], sys.argv[3], report=False)\n"
            "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
            f"s = run_recipe({EXACT!r}, sys.argv[1], sys.argv[2], report=False)\n"
            "print(json.dumps(s['reader']))\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code, str(folder), str(base / "out"), str(base / "warm")],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        reader = json.loads(result.stdout.strip().splitlines()[-1])
        assert reader["documents"] == 50 and reader["permission_denied"] == 1
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)


def test_disk_full_is_one_line_and_the_rerun_finishes(shared, dataset, tokenizer, tmp_path, capsys):
    """A 256 KiB tmpfs as the output: the run stops with one line (exit 2); remounted larger, the same
    command finishes, and the reader counted no input file as unreadable."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill ({mounted.stderr.strip()}); needs root")
    try:
        folder = tmp_path / "in"
        write_verses(folder, shared / "kjv.txt", files=2, per_file=2000)  # ~1 MB of text
        recipe = tmp_path / "exact.json"
        recipe.write_text(json.dumps(EXACT))
        argv = ["prepare", str(recipe), "-i", str(folder), "-o", str(mnt / "out"), "-w", "2", "-q"]
        cli = [sys.executable, "-m", "corpus.cli", *argv]
        full = subprocess.run(cli, capture_output=True, text=True, cwd=REPO, timeout=120)
        assert full.returncode == 2, full.stderr[-2000:]
        lines = full.stderr.strip().splitlines()
        assert len(lines) == 1 and "no space left on the device" in lines[0], full.stderr[-2000:]
        assert "Traceback" not in full.stderr
        # the other commands on the full disk: one line too
        for argv in (
            ["tokenize", str(dataset), "-t", str(tokenizer), "-o", str(mnt / "tokens"), "-q"],
            ["tokenizer", "train", str(dataset), "--vocab-size", "300", "-o", str(mnt / "tok")],
        ):
            assert main(argv) == 2, argv
            assert "no space left" in one_error_line(capsys).lower()
        subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
        again = subprocess.run(cli, capture_output=True, text=True, cwd=REPO, timeout=120)
        assert again.returncode == 0, again.stderr[-2000:]
        reader = json.loads((mnt / "out" / "stats.json").read_text())["reader"]
        assert reader == {"documents": 4000, "files": 2}  # nothing counted as an unreadable input
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_forked_workers_die_of_sigterm_whatever_thread_takes_it(tmp_path):
    """A pool worker forked under corpus's SIGTERM handler gets the default action back: with the inherited
    Python handler, a SIGTERM that the kernel handed to one of the worker's other threads (pyarrow's,
    polars') never woke its main thread, asleep on the pool's lock, and pool.terminate() waited for ever (a
    `corpus prepare -w 2` hung in CI that way)."""
    script = tmp_path / "pool.py"
    script.write_text(
        "import multiprocessing, signal, threading, time\n"
        "import corpus.cli\n"
        "signal.signal(signal.SIGTERM, corpus.cli._raise_terminated)\n"
        "def job(_):\n"
        "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()  # a library's thread\n"
        "    return signal.getsignal(signal.SIGTERM) == signal.SIG_DFL\n"
        "for _ in range(20):\n"
        "    pool = multiprocessing.get_context('fork').Pool(2)\n"
        "    print(all(pool.map(job, range(4))))\n"
        "    pool.terminate()\n"
        "    pool.join()\n"
        "print(signal.getsignal(signal.SIGTERM) is corpus.cli._raise_terminated)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["True"] * 21  # every worker, and the main process keeps its handler


@pytest.mark.slow
def test_sigterm_stops_workers_and_the_run_resumes(shared, tmp_path, capsys):
    """SIGTERM to the main process of `corpus prepare -w 2`: exit 143 with one line, no traceback, no process
    left; inspect and report say the run is unfinished and how to resume; the same command then finishes it,
    and stats.json's elapsed_s counts both attempts."""
    folder = tmp_path / "in"
    write_verses(folder, shared / "kjv.txt", files=8, per_file=4000)
    recipe = tmp_path / "exact.json"
    # no global step: each finished task's shards go straight to data/, so the stopped run shows some
    recipe.write_text(
        json.dumps({**EXACT, "steps": [{"normalize": {}}, {"length_filter": {"min_words": 3}}]})
    )
    out = tmp_path / "out"
    cli = [sys.executable, "-m", "corpus.cli", "prepare", str(recipe), "-i", str(folder), "-o", str(out)]
    cli += ["-w", "2", "-q", "--no-report"]
    with run_in_own_session(cli, REPO) as proc:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(out.glob("data/*.parquet")):
            time.sleep(0.05)
        assert proc.poll() is None, "the run finished before it could be stopped"
        os.kill(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert_terminated_cleanly(proc, stderr)
    assert not (out / "manifest.json").exists()

    # the partial output: inspect and report say it is unfinished and give the command to resume it
    assert main(["inspect", str(out)]) == 0
    shown = capsys.readouterr()
    assert "this run is unfinished (no manifest.json)" in shown.out + shown.err
    assert f"-i {folder} -o {out} -w 2" in shown.out  # the command line, to run again
    assert main(["report", str(out), "-o", str(tmp_path / "report")]) == 0
    assert "warning: this run is unfinished" in capsys.readouterr().out
    assert "this run is unfinished" in (tmp_path / "report" / "report.md").read_text()
    before = json.loads((out / ".corpus" / "clock.json").read_text())["elapsed_s"]

    done = subprocess.run(cli, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["attempts"] == 2 and stats["elapsed_s"] >= before
    assert stats["reader"]["documents"] == 32000


def test_a_run_that_reads_no_documents_fails_with_what_it_found(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "export.jsonl").write_text(
        "".join(json.dumps({"n": i, "tags": [1, 2]}) + "\n" for i in range(20))
    )
    (folder / "more.json").write_text(json.dumps({"version": 2, "count": 20}))
    out = tmp_path / "out"
    assert main(["prepare", "web", "-i", str(folder), "-o", str(out), "-q"]) == 2
    line = one_error_line(capsys)
    assert "gave no documents: found 2 file(s)" in line and "1 .json, 1 .jsonl" in line, line
    assert "the reader counted record_without_text 21" in line, line
    assert "expected .json: a JSON array of records" in line and ".jsonl: one JSON object per line" in line
    assert not out.exists()  # nothing left behind: the corrected command needs no --overwrite


# --- the work folder, unfinished runs, report.md ------------------------------------------------------------


def test_work_folder_keeps_no_stage_data_once_complete(sample, tmp_path):
    out, kept = tmp_path / "web", tmp_path / "kept"
    args = ["-i", str(sample / "web"), "-q", "--no-report"]
    assert main(["prepare", "web", *args, "-o", str(out)]) == 0
    assert main(["prepare", "web", *args, "-o", str(kept), "--keep-work"]) == 0
    work = sorted(
        p.relative_to(out).as_posix() for p in (out / ".corpus").glob("*/*") if "logs" not in p.parts
    )
    assert work == [".corpus/global-0.1/done.json", ".corpus/global-0/done.json"], work
    assert not list((out / ".corpus").rglob("*.parquet")) and not list((out / ".corpus").rglob("*.arrow"))
    assert list((kept / ".corpus" / "stage-0").glob("*.arrow"))
    assert list((kept / ".corpus" / "global-0.1").iterdir()) != [
        kept / ".corpus" / "global-0.1" / "done.json"
    ]
    shards = {p.name: p.read_bytes() for p in (out / "data").iterdir()}
    assert shards == {p.name: p.read_bytes() for p in (kept / "data").iterdir()}
    # the complete run started again: nothing to redo, same shards, statistics rebuilt
    stats = json.loads((out / "stats.json").read_text())
    assert main(["prepare", "web", *args, "-o", str(out)]) == 0
    assert shards == {p.name: p.read_bytes() for p in (out / "data").iterdir()}
    again = json.loads((out / "stats.json").read_text())
    assert again["documents_out"] == stats["documents_out"] and again["steps"] == stats["steps"]


def test_inspect_names_an_unfinished_run_with_no_data(verses, tmp_path, capsys):
    out = tmp_path / "out"
    run_recipe(EXACT, str(verses), str(out), report=False, command="corpus prepare exact.json -o out")
    for path in [out / "manifest.json", *(out / "data").iterdir()]:
        path.unlink()  # what a run killed before its last stage wrote anything leaves
    run = json.loads((out / ".corpus" / "run.json").read_text())
    (out / ".corpus" / "run.json").write_text(json.dumps({**run, "complete": False}))
    assert main(["inspect", str(out)]) == 2
    line = one_error_line(capsys)
    assert "this run is unfinished" in line and "run `corpus prepare exact.json -o out` again" in line


def test_report_md_escapes_names_like_the_html(verses, tmp_path):
    evil = "x<img src=y onerror=alert(1)>[click](javascript:alert(2))|`z`"
    folder = tmp_path / "in"  # the input folder as a plain path ('[' would make it a glob); its file evil
    folder.mkdir()
    (folder / f"{evil}.jsonl").write_bytes((verses / "part-00.jsonl").read_bytes())
    out = tmp_path / f"out-{evil}"
    run_recipe(EXACT, str(folder), str(out))
    md = (out / "report" / "report.md").read_text()
    html = (out / "report" / "index.html").read_text()
    assert "<img" not in html  # what the HTML report does ...
    for raw in ("<img", "[click]", "|`z`"):  # ... and report.md now does too: no tag, link or code span
        assert raw not in md
    assert "&lt;img src=y onerror=alert(1)&gt;\\[click\\](javascript:alert(2))\\|\\`z\\`" in md


def test_no_internal_file_matches_a_users_parquet_glob(sample, tmp_path):
    """Even with --keep-work (or mid-run), OUT/**/*.parquet finds the dataset's shards and nothing internal."""
    out = tmp_path / "web"
    run_recipe("web", str(sample / "web"), str(out), report=False, keep_work=True)
    found = [os.path.join(d, f) for d, _, files in os.walk(out) for f in files if f.endswith(".parquet")]
    assert found and all(os.sep + ".corpus" + os.sep not in f for f in found), found
