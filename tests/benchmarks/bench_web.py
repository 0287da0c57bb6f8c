"""Benchmark: corpus' web recipe on the python-docs HTML against its peers, same pages, same worker count, one run.

Contenders, each in its own subprocess (so peak RSS is its own), each reading the same HTML files from disk:
  corpus_recipe          corpus.pipeline.run_recipe(load_recipe("pipelines/web.yaml"), ...) end to end:
                         read, html_extract, the recipe's other steps, sharded Parquet writing (no quality report)
  corpus_html_extract    the html_extract step alone (selectolax backend) in a plain loop
  corpus_html_extract_bs4  the same step with backend=bs4
  bs4_get_text           BeautifulSoup(html, "lxml").get_text("\\n"): the bare loop, no boilerplate removal
  trafilatura            trafilatura.extract(html), default options
  datatrove_trafilatura  a datatrove pipeline: file reader -> datatrove.pipeline.extractors.Trafilatura (its
                         defaults: favour_precision, 1 s timeout per page) -> JsonlWriter, LocalPipelineExecutor
With --workers W the plain loops use a multiprocessing pool of W processes and the two pipelines W tasks'
worth of workers. Throughput counts the input pages and their HTML bytes over the contender's processing time
(imports excluded). Peak RSS is the largest of the contender's own high-water mark and that of any of its
worker processes. Quality is computed afterwards, untimed, on each contender's output against the rst sources
(corpus.html.quality): word recall (a page a contender dropped counts as recall 0) and the share of boilerplate
lines (navigation text: found outside the page's role=main div and not inside it).

Second part, main content of article pages: the 130 pages of ../shared/data/readability (news sites, blogs,
wikis, forums; Mozilla Readability's test pages, each with the expected content), one process per contender,
one worker: corpus_html_extract, trafilatura (default settings), readability_lxml (readability-lxml's
Document(html).summary(), its HTML turned into text by corpus.html.quality.html_text) and resiliparse
(extract_plain_text(html, main_content=True)). Quality: shingle precision, recall and F1 of each page's text
against the text of its expected.html (corpus.html.quality.shingle_f1: word 5-gram shingles of case-folded
words, as multisets), averaged over pages; throughput as above; the worst pages listed.

    .venv/bin/python tests/benchmarks/bench_web.py [--limit N] [--workers W] [--only name,name]
                                                   [--sets python-docs,articles] [--repeats R]
Writes reports/benchmarks/web.json and web.md.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import multiprocessing
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
DOCS = SHARED / "python-docs"
REPORTS = REPO / "reports" / "benchmarks"
WEB_RECIPE = REPO / "pipelines" / "web.yaml"
sys.path.insert(0, str(REPO))

CONTENDERS = (
    "corpus_recipe",
    "corpus_html_extract",
    "corpus_html_extract_bs4",
    "bs4_get_text",
    "trafilatura",
    "datatrove_trafilatura",
)
BASELINE = "datatrove_trafilatura"
ARTICLES = SHARED / "readability" / "pages"
ARTICLE_CONTENDERS = ("corpus_html_extract", "trafilatura", "readability_lxml", "resiliparse")
ARTICLE_BASELINE = "trafilatura"
SETS = ("python-docs", "articles")
# --- the contenders (run in a child process) ----------------------------------------------------------


def _read(path: str) -> str:
    with open(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace")


def _corpus_step(paths: list[str], backend: str) -> list[tuple[str, str]]:
    from datatrove.data import Document

    from corpus.processors.html_extract import HtmlExtract

    step = HtmlExtract(backend=backend)
    out = []
    for path in paths:
        doc = Document(text=_read(path), id=path, metadata={"content_type": "html"})
        out.append((path, doc.text if step.apply(doc) is None else ""))
    return out


def _bs4(paths: list[str]) -> list[tuple[str, str]]:
    from bs4 import BeautifulSoup

    return [(p, BeautifulSoup(_read(p), "lxml").get_text("\n")) for p in paths]


def _trafilatura(paths: list[str]) -> list[tuple[str, str]]:
    import trafilatura

    return [(p, trafilatura.extract(_read(p)) or "") for p in paths]


def _readability_lxml(paths: list[str]) -> list[tuple[str, str]]:
    from readability import Document

    from corpus.html.quality import html_text

    out = []
    for p in paths:
        try:
            out.append((p, html_text(Document(_read(p)).summary(html_partial=True))))
        except Exception:  # it raises on pages it cannot parse: no output for that page
            out.append((p, ""))
    return out


def _resiliparse(paths: list[str]) -> list[tuple[str, str]]:
    from resiliparse.extract.html2text import extract_plain_text

    return [(p, extract_plain_text(_read(p), main_content=True)) for p in paths]


LOOPS = {
    "corpus_html_extract": lambda paths: _corpus_step(paths, "selectolax"),
    "corpus_html_extract_bs4": lambda paths: _corpus_step(paths, "bs4"),
    "bs4_get_text": _bs4,
    "trafilatura": _trafilatura,
    "readability_lxml": _readability_lxml,
    "resiliparse": _resiliparse,
}


class Clock:
    """Wall time and CPU time (this process plus the worker processes it reaped) of a block. On a shared
    machine the CPU time is the steadier measure: it does not grow when other jobs take the cores."""

    @staticmethod
    def _cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def __enter__(self) -> Clock:
        self._wall, self._cpu0 = time.perf_counter(), self._cpu()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = self._cpu() - self._cpu0

    def info(self) -> dict:
        return {"seconds": self.seconds, "cpu_seconds": self.cpu_seconds}


def _loop_chunk(args: tuple[str, list[str]]) -> list[tuple[str, str]]:
    name, paths = args
    return LOOPS[name](paths)


def run_loop(name: str, root: str, files: list[str], workers: int) -> tuple[dict[str, str], dict]:
    paths = [os.path.join(root, f) for f in files]
    LOOPS[name](paths[:1])  # warm-up: lazy imports and first-call setup are not throughput
    with Clock() as clock:
        if workers == 1:
            results = LOOPS[name](paths)
        else:
            chunks = [(name, paths[i : i + 8]) for i in range(0, len(paths), 8)]
            pool = multiprocessing.get_context("fork").Pool(workers)
            results = [r for chunk in pool.imap(_loop_chunk, chunks) for r in chunk]
            pool.close()
            pool.join()  # reaped, so their CPU time is counted
    return {os.path.relpath(p, root): t for p, t in results}, clock.info()


def _one_page(root: str, files: list[str], work: str) -> str:
    """A folder holding the first page only: the pipelines' untimed warm-up input."""
    one = tempfile.mkdtemp(dir=work)
    os.symlink(os.path.join(root, files[0]), os.path.join(one, "page.html"))
    return one


def run_recipe_contender(root: str, files: list[str], workers: int, work: str) -> tuple[dict[str, str], dict]:
    import pyarrow.parquet as pq

    from corpus.pipeline import load_recipe, run_recipe

    recipe = load_recipe(str(WEB_RECIPE))
    with Clock() as warm_up:  # one page, untimed: lazy imports and per-process set-up are not throughput
        warm_out = os.path.join(tempfile.mkdtemp(dir=work), "out")
        run_recipe(recipe, _one_page(root, files, work), warm_out, workers=workers, report=False)
    out = os.path.join(tempfile.mkdtemp(dir=work), "recipe-out")  # fresh: a rerun would resume, not redo
    with Clock() as clock:
        stats = run_recipe(recipe, root, out, workers=workers, report=False)
    texts = {}
    for shard in sorted(glob.glob(os.path.join(out, "data", "*.parquet"))):
        for row in pq.read_table(shard, columns=["id", "text"]).to_pylist():
            texts[row["id"]] = row["text"]
    steps = [
        {k: s.get(k) for k in ("name", "seen", "kept", "dropped", "time_s")} for s in stats.get("steps", [])
    ]
    extra = {
        "recipe": str(WEB_RECIPE.relative_to(REPO)),
        "recipe_steps": [name for name, _ in recipe.steps],
        "step_stats": steps,
    }
    return texts, {**clock.info(), **extra, "warm_up_seconds": warm_up.seconds}


def run_datatrove(root: str, files: list[str], workers: int, work: str) -> tuple[dict[str, str], dict]:
    from datatrove.data import Document
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.base import PipelineStep
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.writers import JsonlWriter

    class HtmlFiles(PipelineStep):
        name = "html files"

        def __init__(self, root: str, files: list[str]) -> None:
            super().__init__()
            self.root, self.files = root, files

        def run(self, data=None, rank: int = 0, world_size: int = 1):
            for rel in self.files[rank::world_size]:
                yield Document(text=_read(os.path.join(self.root, rel)), id=rel, metadata={})

    def executor(files: list[str]) -> tuple[LocalPipelineExecutor, str]:
        run_dir = tempfile.mkdtemp(dir=work)  # fresh: datatrove skips tasks its logging dir marks completed
        out = os.path.join(run_dir, "datatrove-out")
        pipeline = [HtmlFiles(root, files), Trafilatura(), JsonlWriter(out)]
        logs = os.path.join(run_dir, "datatrove-logs")
        return LocalPipelineExecutor(pipeline=pipeline, tasks=workers, workers=workers, logging_dir=logs), out

    with Clock() as warm_up:  # as the recipe's: one page, untimed
        executor(files[:1])[0].run()
    timed, out = executor(files)
    with Clock() as clock:
        stats = timed.run()
    texts = {}
    for shard in sorted(glob.glob(os.path.join(out, "*.jsonl.gz"))):
        with gzip.open(shard, "rt") as f:
            for line in f:
                row = json.loads(line)
                texts[row["id"]] = row["text"]
    extractor = next((s for s in stats.stats if "Trafilatura" in s.name), None)
    counters = {k: v for k, v in (extractor.stats.items() if extractor else []) if not isinstance(v, dict)}
    counters = {k: (v.total if hasattr(v, "total") else v) for k, v in counters.items()}
    extra = {k: counters.get(k, 0) for k in ("timeout", "broken_process", "clean_error", "dropped")}
    return texts, {**clock.info(), "extractor_counters": extra, "warm_up_seconds": warm_up.seconds}


def _peak_rss_mb() -> dict[str, float]:
    own = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                own = int(line.split()[1]) / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"own_mb": round(own, 1), "largest_child_mb": round(children, 1)}


def child_main(args: argparse.Namespace) -> None:
    files = json.loads(Path(args.files).read_text())
    if args.contender == "corpus_recipe":
        texts, info = run_recipe_contender(args.input, files, args.workers, args.work)
    elif args.contender == "datatrove_trafilatura":
        texts, info = run_datatrove(args.input, files, args.workers, args.work)
    else:
        texts, info = run_loop(args.contender, args.input, files, args.workers)
    info["peak_rss"] = _peak_rss_mb()
    info["docs_out"] = sum(1 for t in texts.values() if t and t.strip())
    Path(args.texts).write_text(json.dumps(texts))
    Path(args.result).write_text(json.dumps(info))


# --- the parent: inputs, subprocesses, quality, report ------------------------------------------------


def prepare_input(work: Path, limit: int | None) -> tuple[Path, list[str], int]:
    html_root = DOCS / "html"
    files = sorted(str(p.relative_to(html_root)) for p in html_root.rglob("*.html"))
    if limit:
        files = files[:: max(1, len(files) // limit)][:limit]  # spread over the folders, not the first N
    root = work / "input"
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(html_root / rel, root / rel)
    return root, files, sum((html_root / f).stat().st_size for f in files)


def quality(texts: dict[str, str], files: list[str], refs: dict) -> dict:
    from corpus.html.quality import word_recall

    recalls, shares = [], []
    for rel in files:
        text = texts.get(rel) or ""
        reference, boiler = refs[rel]
        recalls.append(word_recall(reference, text))
        if text.strip():
            shares.append(boiler.share(text))
    return {
        "word_recall_mean": round(statistics.fmean(recalls), 4),
        "word_recall_median": round(statistics.median(recalls), 4),
        "pages_below_0.8_recall": sum(r < 0.8 for r in recalls),
        "boilerplate_share_mean": round(statistics.fmean(shares), 4) if shares else None,
        "pages_with_boilerplate": sum(s > 0 for s in shares),
        "pages_empty_or_dropped": len(files) - len(shares),
    }


def references(files: list[str]) -> dict:
    from corpus.html.quality import boilerplate_reference, rst_text

    refs = {}
    for rel in files:
        html = (DOCS / "html" / rel).read_text()
        rst = (DOCS / "rst" / rel).with_suffix(".rst.txt").read_text()
        refs[rel] = (rst_text(rst), boilerplate_reference(html))
    return refs


def backend_agreement(runs: dict[str, list[dict]], files: list[str]) -> dict | None:
    """How many pages the selectolax and bs4 backends of html_extract turn into exactly the same text."""
    a, b = (runs.get(n, [{}])[0].get("texts") for n in ("corpus_html_extract", "corpus_html_extract_bs4"))
    if a is None or b is None:
        return None
    return {"pages": len(files), "identical": sum(a.get(f) == b.get(f) for f in files)}


def run_contender(name: str, root: Path, files_json: Path, workers: int, work: Path) -> dict:
    result, texts = work / f"{name}.json", work / f"{name}.texts.json"
    cmd = [sys.executable, __file__, "--contender", name, "--input", str(root), "--files", str(files_json)]
    cmd += ["--workers", str(workers), "--work", str(work), "--result", str(result), "--texts", str(texts)]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        print(proc.stdout[-2000:], proc.stderr[-4000:], file=sys.stderr)
        return {
            "error": f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1:]}",
            "process_wall_s": wall,
        }
    info = json.loads(result.read_text())
    info["process_wall_s"] = round(wall, 2)
    info["texts"] = json.loads(texts.read_text())
    return info


def summarize(
    name: str, runs: list[dict], n_docs: int, n_bytes: int, files: list[str], refs: dict, kept: list[str]
) -> dict:
    failed = [r for r in runs if "error" in r]
    if failed:
        return {"contender": name, **failed[0]}
    times = sorted(r["seconds"] for r in runs)
    seconds = statistics.median(times)
    cpu = statistics.median(r["cpu_seconds"] for r in runs)
    first = runs[0]
    texts = first.pop("texts")
    for r in runs[1:]:
        r.pop("texts", None)
    return {
        "contender": name,
        "seconds": round(seconds, 2),
        "seconds_all_runs": [round(t, 2) for t in times],
        "docs_per_s": round(n_docs / seconds, 2),
        "docs_per_s_best": round(n_docs / times[0], 2),
        "mb_per_s": round(n_bytes / 1e6 / seconds, 3),
        "cpu_seconds": round(cpu, 2),
        "docs_per_cpu_s": round(n_docs / cpu, 2),
        "peak_rss_mb": max(max(r["peak_rss"]["own_mb"], r["peak_rss"]["largest_child_mb"]) for r in runs),
        **{k: v for k, v in first.items() if k not in ("seconds", "cpu_seconds", "peak_rss")},
        "peak_rss_detail": first["peak_rss"],
        **quality(texts, files, refs),
        # the same measure on the pages the recipe's filters keep: extraction quality of every contender on
        # one page set, apart from the recipe's decision to drop pages
        "word_recall_on_recipe_kept": quality(texts, kept, refs)["word_recall_mean"] if kept else None,
    }


def with_ratios(rows: list[dict]) -> None:
    base = next((r for r in rows if r["contender"] == BASELINE and "docs_per_s" in r), None)
    for row in rows:
        if base and "docs_per_s" in row:
            row["throughput_vs_datatrove_trafilatura"] = round(row["docs_per_s"] / base["docs_per_s"], 2)
            row["cpu_throughput_vs_datatrove_trafilatura"] = round(
                row["docs_per_cpu_s"] / base["docs_per_cpu_s"], 2
            )
            row["recall_minus_datatrove_trafilatura"] = round(
                row["word_recall_mean"] - base["word_recall_mean"], 4
            )


def markdown(report: dict) -> str:
    rows = report.get("results")
    if not rows:  # the article part alone
        lines = ["# Web extraction benchmark"]
        lines += articles_markdown(report["articles"]) + ["", "## Notes", ""]
        return "\n".join(lines + [f"- {n}" for n in article_notes(report["articles"])]) + "\n"
    lines = [
        "# Web extraction benchmark",
        "",
        f"{report['pages']} python-docs pages ({report['html_mb']} MB of HTML), {report['workers']} worker(s), "
        f"{report['machine']}, load average {report['load_average_at_end']} at the end. Median of "
        f"{report['repeats']} run(s) per contender, interleaved. Generated by `tests/benchmarks/bench_web.py` "
        f"on {report['date']}.",
        f"Recipe: {report['recipe']}.",
        "",
        "| contender | docs/s | MB/s | x datatrove+Trafilatura | docs per CPU-s | x (CPU) | peak RSS MB "
        "| word recall | recall on recipe-kept pages | boilerplate share | empty/dropped pages |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['contender']} | error: {r['error']} |||||||||")
            continue
        lines.append(
            f"| {r['contender']} | {r['docs_per_s']} | {r['mb_per_s']} | "
            f"{r.get('throughput_vs_datatrove_trafilatura', '')} | {r['docs_per_cpu_s']} | "
            f"{r.get('cpu_throughput_vs_datatrove_trafilatura', '')} | {r['peak_rss_mb']} | {r['word_recall_mean']} | "
            f"{r['word_recall_on_recipe_kept']} | {r['boilerplate_share_mean']} | {r['pages_empty_or_dropped']} |"
        )
    article_part = report.get("articles")
    if article_part:
        lines += articles_markdown(article_part)
    all_notes = report["notes"] + (article_notes(article_part) if article_part else [])
    lines += ["", "## Notes", ""] + [f"- {n}" for n in all_notes]
    return "\n".join(lines) + "\n"


def notes(rows: list[dict], report: dict) -> list[str]:
    by = {r["contender"]: r for r in rows if "error" not in r}
    out = [
        "Throughput: input pages (and HTML bytes) over the contender's processing time, interpreter start and "
        "imports excluded; every contender first handles one page untimed in the same process (the loops one "
        "call, the two pipelines one whole run), so that lazy imports and per-process set-up, which a dump of "
        "millions of pages pays once, are not counted as throughput. The machine is shared, so wall-clock numbers "
        "move with the other jobs' load; docs per CPU-second (the contender's own CPU time plus that of the "
        "worker processes it started) is the steadier comparison. With --workers > 1 datatrove's extraction "
        "sandboxes (grandchildren) escape that count: compare wall-clock numbers there.",
        "Word recall: bag-of-words recall of each page's rst source (markup, directive and role names, "
        "comments and link targets removed), averaged over pages; a page with no output counts as 0. The recipe "
        "drops pages on purpose (length, Gopher quality and repetition rules, duplicates), which costs it "
        "recall over all pages; 'recall on recipe-kept pages' scores every contender on the pages the recipe "
        "kept, so that extraction quality is compared on one page set.",
        "Boilerplate share: extracted lines that are navigation text (outside the role=main div and not "
        "inside it, or Sphinx's stock labels), averaged over pages with output.",
        "bs4_get_text uses get_text('\\n') so that words of adjacent elements are not glued together.",
    ]
    if "corpus_recipe" in by:
        r = by["corpus_recipe"]
        out.append(
            f"corpus_recipe ran {r['recipe']} with steps {', '.join(r['recipe_steps'])}; output is the "
            "written Parquet dataset (the after-run quality report is not included). Its untimed one-page run "
            "also builds corpus' per-user array cache on a fresh machine (py3langid's decompressed model, MinHash "
            "permutations, a letter table: once per machine, ~2 s)."
        )
    if "corpus_recipe" in by and BASELINE in by:
        r, b = by["corpus_recipe"], by[BASELINE]
        if r.get("warm_up_seconds") is not None and b.get("warm_up_seconds") is not None:
            n_docs = report["pages"]
            cold = (n_docs + 1) / (r["seconds"] + r["warm_up_seconds"])
            cold_base = (n_docs + 1) / (b["seconds"] + b["warm_up_seconds"])
            out.append(
                f"The one-page warm-up runs took {r['warm_up_seconds']:.2f} s (corpus_recipe: pyarrow's lazy "
                f"import of pandas alone is ~0.4 s) and {b['warm_up_seconds']:.2f} s ({BASELINE}). Counted in, "
                f"as for a fresh process on these {n_docs} pages only, the recipe's ratio would be "
                f"{cold / cold_base:.2f}x by wall clock."
            )
    if "corpus_recipe" in by:
        r = by["corpus_recipe"]
        inner = {s["name"]: s["time_s"] for s in r.get("step_stats", []) if s.get("time_s") is not None}
        if "html_extract" in inner:
            out.append(
                f"Inside corpus_recipe, html_extract took {inner['html_extract']:.2f} s of the run's {r['seconds']} s "
                "(wall); the rest is reading, the other steps, stage datasets, writing and per-task set-up."
            )
    if report.get("backend_agreement"):
        agree = report["backend_agreement"]
        out.append(
            f"html_extract's selectolax and bs4 backends gave identical text on {agree['identical']} of "
            f"{agree['pages']} pages."
        )
    if BASELINE in by:
        c = by[BASELINE].get("extractor_counters", {})
        out.append(
            f"datatrove+Trafilatura dropped {c.get('timeout', 0)} page(s) on its 1 s timeout, "
            f"{c.get('broken_process', 0)} on a dead worker, {c.get('clean_error', 0)} on errors, "
            f"{c.get('dropped', 0)} with empty output."
        )
    if "corpus_recipe" in by and BASELINE in by:
        r, b = by["corpus_recipe"], by[BASELINE]
        dropped = {k: v for s in r.get("step_stats", []) for k, v in (s.get("dropped") or {}).items()}
        out.append(
            f"corpus_recipe kept {report['pages'] - r['pages_empty_or_dropped']} of {report['pages']} pages; dropped by reason: "
            + ", ".join(f"{k} {v}" for k, v in sorted(dropped.items(), key=lambda kv: -kv[1]))
            + "."
        )
        quality_ok = (
            r["word_recall_on_recipe_kept"] >= b["word_recall_on_recipe_kept"] and r["peak_rss_mb"] < 1024
        )
        verdict = {
            clock: "met" if quality_ok and r[key] >= 10 else "NOT met"
            for clock, key in (
                ("wall clock", "throughput_vs_datatrove_trafilatura"),
                ("CPU time", "cpu_throughput_vs_datatrove_trafilatura"),
            )
        }
        out.append(
            f"Target (recipe >= 10x datatrove+Trafilatura throughput with >= its word recall, peak RSS per "
            f"worker < 1 GB): {r['throughput_vs_datatrove_trafilatura']}x by wall clock ({verdict['wall clock']}), "
            f"{r['cpu_throughput_vs_datatrove_trafilatura']}x by CPU time ({verdict['CPU time']}); recall on the "
            f"pages the recipe keeps {r['word_recall_on_recipe_kept']} vs {b['word_recall_on_recipe_kept']} "
            f"(over all pages {r['word_recall_mean']} vs {b['word_recall_mean']}); peak RSS {r['peak_rss_mb']} MB."
        )
    return out


# --- second part: article pages (../shared/data/readability) ------------------------------------------


def article_quality(texts: dict[str, str], files: list[str], expected: dict[str, str]) -> tuple[dict, dict]:
    from corpus.html.quality import shingle_f1

    scores = {rel: shingle_f1(texts.get(rel) or "", expected[rel]) for rel in files}
    f1 = [s.f1 for s in scores.values()]
    summary = {
        "f1_mean": round(statistics.fmean(f1), 4),
        "precision_mean": round(statistics.fmean(s.precision for s in scores.values()), 4),
        "recall_mean": round(statistics.fmean(s.recall for s in scores.values()), 4),
        "f1_median": round(statistics.median(f1), 4),
        "pages_below_0.5_f1": sum(x < 0.5 for x in f1),
        "pages_empty": sum(not (texts.get(rel) or "").strip() for rel in files),
    }
    return summary, {
        rel: (round(s.f1, 3), round(s.precision, 3), round(s.recall, 3)) for rel, s in scores.items()
    }


def run_articles(names: list[str], repeats: int, work: Path, passes: int) -> dict:
    from corpus.html.quality import html_text

    files = sorted(f"{p.name}/source.html" for p in ARTICLES.iterdir() if (p / "expected.html").is_file())
    expected = {rel: html_text((ARTICLES / rel).with_name("expected.html").read_text()) for rel in files}
    n_bytes = sum((ARTICLES / rel).stat().st_size for rel in files)
    files_json = work / "article-files.json"
    # each run goes over the pages `passes` times: one pass takes html_extract well under a second, too short
    # a window on a shared machine
    files_json.write_text(json.dumps(files * passes))
    n_docs = len(files) * passes
    print(f"articles: {len(files)} pages, {n_bytes / 1e6:.1f} MB", flush=True)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for repeat in range(repeats):  # interleaved, as the first part
        for name in names:
            info = run_contender(name, ARTICLES, files_json, 1, work)
            runs[name].append(info)
            shown = f"{n_docs / info['seconds']:.1f} docs/s" if "seconds" in info else info.get("error")
            print(f"[{repeat + 1}/{repeats}] articles {name}: {shown}", flush=True)
    rows, per_page = [], {}
    for name in names:
        done = [r for r in runs[name] if "error" not in r]
        if len(done) < len(runs[name]):
            rows.append({"contender": name, "error": next(r for r in runs[name] if "error" in r)["error"]})
            continue
        seconds = statistics.median(r["seconds"] for r in done)
        cpu = statistics.median(r["cpu_seconds"] for r in done)
        summary, per_page[name] = article_quality(done[0]["texts"], files, expected)
        rows.append(
            {
                "contender": name,
                "seconds": round(seconds, 3),
                "seconds_all_runs": sorted(round(r["seconds"], 3) for r in done),
                "docs_per_s": round(n_docs / seconds, 1),
                "docs_per_cpu_s": round(n_docs / cpu, 1),
                "peak_rss_mb": max(
                    max(r["peak_rss"]["own_mb"], r["peak_rss"]["largest_child_mb"]) for r in done
                ),
                **summary,
            }
        )
    base = next((r for r in rows if r["contender"] == ARTICLE_BASELINE and "docs_per_s" in r), None)
    for row in rows:
        if base and "docs_per_s" in row:
            row["throughput_vs_trafilatura"] = round(row["docs_per_s"] / base["docs_per_s"], 2)
            row["cpu_throughput_vs_trafilatura"] = round(row["docs_per_cpu_s"] / base["docs_per_cpu_s"], 2)
            row["f1_minus_trafilatura"] = round(row["f1_mean"] - base["f1_mean"], 4)
    ours = per_page.get("corpus_html_extract") or next(iter(per_page.values()), {})
    worst = sorted(ours, key=lambda rel: ours[rel][0])[:12]
    return {
        "pages": len(files),
        "html_mb": round(n_bytes / 1e6, 1),
        "repeats": repeats,
        "passes": passes,
        "results": rows,
        "worst_pages": [
            {"page": rel.split("/")[0], **{name: per_page[name][rel] for name in per_page}} for rel in worst
        ],
        "per_page_f1_precision_recall": {
            rel.split("/")[0]: {n: per_page[n][rel] for n in per_page} for rel in files
        },
    }


def articles_markdown(part: dict) -> list[str]:
    lines = [
        "",
        "## Article pages: main content",
        "",
        f"{part['pages']} pages of ../shared/data/readability ({part['html_mb']} MB of HTML: news sites, blogs, "
        f"wikis, forums, in several languages), 1 worker, median of {part['repeats']} interleaved run(s), each "
        f"over the pages {part.get('passes', 1)} time(s). "
        "Shingle F1 / precision / recall against each page's expected.html, averaged over pages.",
        "",
        "| contender | F1 | precision | recall | F1 median | pages F1 < 0.5 | empty | docs/s | x trafilatura "
        "| docs per CPU-s | x trafilatura (CPU) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in part["results"]:
        if "error" in r:
            lines.append(f"| {r['contender']} | error: {r['error']} ||||||||||")
            continue
        lines.append(
            f"| {r['contender']} | {r['f1_mean']} | {r['precision_mean']} | {r['recall_mean']} | {r['f1_median']} "
            f"| {r['pages_below_0.5_f1']} | {r['pages_empty']} | {r['docs_per_s']} | "
            f"{r.get('throughput_vs_trafilatura', '')} | {r['docs_per_cpu_s']} | "
            f"{r.get('cpu_throughput_vs_trafilatura', '')} |"
        )
    names = [r["contender"] for r in part["results"] if "error" not in r]
    lines += [
        "",
        "Worst pages of corpus_html_extract (F1 / precision / recall of each contender):",
        "",
        "| page | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for row in part["worst_pages"]:
        cells = [" / ".join(f"{x:.2f}" for x in row[n]) for n in names]
        lines.append(f"| {row['page']} | " + " | ".join(cells) + " |")
    return lines


def article_notes(part: dict) -> list[str]:
    by = {r["contender"]: r for r in part["results"] if "error" not in r}
    out = [
        "Shingle F1 (article pages): corpus.html.quality.shingle_f1, the one function the benchmark and the "
        "tests use. Text is case-folded and split into words (runs of Unicode letters and digits; each CJK "
        "character is a word); its shingles are the multiset of word 5-grams (a text shorter than 5 words is "
        "one shorter shingle). Precision = shared shingles / shingles of the extraction, recall = shared "
        "shingles / shingles of the expected text (expected.html's visible text, one line per block), F1 their "
        "harmonic mean; a page with no output scores 0. The expected content is Readability's own output, "
        "which leaves the page title to metadata (as trafilatura does; html_extract and resiliparse keep the "
        "headline as a line, which costs them a little precision), so readability_lxml, its Python port, is "
        "favoured by construction.",
    ]
    r, b = by.get("corpus_html_extract"), by.get(ARTICLE_BASELINE)
    if r and b:
        met = r["f1_mean"] >= b["f1_mean"] and r["cpu_throughput_vs_trafilatura"] >= 10
        out.append(
            f"Target (html_extract's F1 >= trafilatura's at >= 10x its speed): F1 {r['f1_mean']} vs "
            f"{b['f1_mean']}, {r['throughput_vs_trafilatura']}x by wall clock, "
            f"{r['cpu_throughput_vs_trafilatura']}x by CPU time ({'met' if met else 'NOT met'})."
        )
    return out


def parent_main(args: argparse.Namespace) -> None:
    sets = [x for x in args.sets.split(",") if x]
    if set(sets) - set(SETS):
        sys.exit(
            f"bench_web: unknown set(s) {', '.join(sorted(set(sets) - set(SETS)))}; known: {', '.join(SETS)}"
        )
    if "python-docs" in sets and not DOCS.is_dir():
        sys.exit(f"bench_web: {DOCS} not found")
    if "articles" in sets and not ARTICLES.is_dir():
        sys.exit(f"bench_web: {ARTICLES} not found")
    known = set(CONTENDERS) | set(ARTICLE_CONTENDERS)
    wanted = args.only.split(",") if args.only else []
    unknown = set(wanted) - known
    if unknown:
        sys.exit(
            f"bench_web: unknown contender(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    names = [n for n in CONTENDERS if not wanted or n in wanted] if "python-docs" in sets else []
    article_names = [n for n in ARTICLE_CONTENDERS if not wanted or n in wanted] if "articles" in sets else []
    previous = json.loads((REPORTS / "web.json").read_text()) if (REPORTS / "web.json").is_file() else {}
    work = Path(tempfile.mkdtemp(prefix="bench_web_"))
    try:
        articles = (
            run_articles(article_names, args.repeats, work, args.article_passes)
            if article_names
            else previous.get("articles")
        )
        if not names:  # only the article part: the python-docs part of the last report is kept
            report = {**previous, "articles": articles}
            report["notes"] = [
                n for n in previous.get("notes", []) if not n.startswith(("Shingle F1", "Target (html"))
            ]
            write_report(report)
            return
        parent_python_docs(args, names, work, articles)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_report(report: dict) -> None:
    text_md = markdown(report)
    REPORTS.mkdir(parents=True, exist_ok=True)
    for path, text in (
        (REPORTS / "web.json", json.dumps(report, indent=2) + "\n"),
        (REPORTS / "web.md", text_md),
    ):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    print(text_md)


def parent_python_docs(args: argparse.Namespace, names: list[str], work: Path, articles: dict | None) -> None:
    root, files, n_bytes = prepare_input(work, args.limit)
    files_json = work / "files.json"
    files_json.write_text(json.dumps(files))
    print(f"{len(files)} pages, {n_bytes / 1e6:.1f} MB, workers={args.workers}", flush=True)
    refs = references(files)
    # round-robin over repeats, so that each contender sees the same share of a shared machine's load
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for repeat in range(args.repeats):
        for name in names:
            info = run_contender(name, root, files_json, args.workers, work)
            runs[name].append(info)
            shown = f"{len(files) / info['seconds']:.1f} docs/s" if "seconds" in info else info.get("error")
            print(f"[{repeat + 1}/{args.repeats}] {name}: {shown}", flush=True)
    agreement = backend_agreement(runs, files)
    recipe_runs = [r for r in runs.get("corpus_recipe", []) if "texts" in r]
    kept = [f for f in files if recipe_runs and recipe_runs[0]["texts"].get(f)]
    rows = [summarize(name, runs[name], len(files), n_bytes, files, refs, kept) for name in names]
    with_ratios(rows)
    recipe_row = next((r for r in rows if r["contender"] == "corpus_recipe" and "recipe" in r), None)
    report = {
        "benchmark": "web extraction",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared)",
        "python": platform.python_version(),
        "pages": len(files),
        "html_mb": round(n_bytes / 1e6, 1),
        "workers": args.workers,
        "limit": args.limit,
        "repeats": args.repeats,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "recipe": recipe_row["recipe"] if recipe_row else "not run",
        "backend_agreement": agreement,
        "results": rows,
        "articles": articles,
    }
    report["notes"] = notes(rows, report)
    write_report(report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--limit", type=int, default=None, help="use N pages spread over the set (default: all 496)"
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--repeats", type=int, default=1, help="run every contender N times, report the median"
    )
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated subset of: {', '.join(dict.fromkeys(CONTENDERS + ARTICLE_CONTENDERS))}",
    )
    parser.add_argument(
        "--sets", default=",".join(SETS), help="comma-separated page sets to run: python-docs, articles"
    )
    parser.add_argument(
        "--article-passes", type=int, default=5, help="times each article run goes over the pages (default 5)"
    )
    # internal: one contender in this process
    parser.add_argument("--contender", help=argparse.SUPPRESS)
    for name in ("input", "files", "work", "result", "texts"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        child_main(args)
    else:
        parent_main(args)


if __name__ == "__main__":
    main()
