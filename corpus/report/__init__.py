"""Dataset quality reports: `build_report` writes index.html (self-contained), report.json (every number) and
report.md (a summary) for one dataset, or for two side by side with `compare`.

Numbers over all documents come from one lazy, streaming polars pass over the shards; word-level numbers come
from a sample of every k-th document once the dataset is larger than the sample budget, and the report says
which is which (see corpus/report/compute.py for the definitions)."""

from __future__ import annotations

import os
from typing import Any

import orjson

from corpus.errors import OutputError
from corpus.files import write_atomic
from corpus.report.analyze import DEFAULT_SAMPLE_BYTES, DEFAULT_SAMPLE_ROWS, REPORT_VERSION, analyze
from corpus.report.html import render_html
from corpus.report.markdown import render_markdown
from corpus.report.summary import clean

__all__ = ["build_report", "analyze", "DEFAULT_SAMPLE_ROWS", "DEFAULT_SAMPLE_BYTES"]


def _names(paths: list[str]) -> list[str]:
    names = [os.path.basename(os.path.normpath(os.path.abspath(p))) or p for p in paths]
    if len(set(names)) < len(names):  # e.g. two runs' data/ folders: add the parent folder
        names = [os.path.join(*os.path.normpath(os.path.abspath(p)).split(os.sep)[-2:]) for p in paths]
    if len(set(names)) < len(names):
        names = [f"{label}: {n}" for label, n in zip("AB", names)]
    return names


def _comparison(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"totals": {}, "medians": {}}
    for key in ("documents", "text_bytes", "chars", "words", "lines", "empty_documents", "short_documents"):
        va, vb = a["totals"][key], b["totals"][key]
        out["totals"][key] = {"a": va, "b": vb, "change": vb - va, "ratio": vb / va if va else None}
    for key, dist in a["distributions"].items():
        ma, mb = dist.get("p50"), b["distributions"].get(key, {}).get("p50")
        out["medians"][key] = {"a": ma, "b": mb}
    ta, tb = a.get("tokens"), b.get("tokens")
    if ta and tb:
        out["tokens"] = {"a": ta["tokens"], "b": tb["tokens"], "change": tb["tokens"] - ta["tokens"]}
    return out


def build_report(
    dataset_dir: str,
    output_dir: str,
    compare: str | None = None,
    tokenizer: str | None = None,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    sample_bytes: int = DEFAULT_SAMPLE_BYTES,
) -> dict[str, Any]:
    """Analyse dataset_dir (and compare, if given) and write index.html, report.json and report.md to
    output_dir. Returns what report.json holds."""
    paths = [dataset_dir] + ([compare] if compare else [])
    reports = [clean(analyze(p, tokenizer, sample_rows, sample_bytes)) for p in paths]
    names = _names(paths)
    if compare:
        result = {
            "report_version": REPORT_VERSION,
            "mode": "compare",
            "names": names,
            "a": reports[0],
            "b": reports[1],
            "comparison": clean(_comparison(reports[0], reports[1])),
        }
    else:
        result = {"mode": "single", **reports[0]}
    if os.path.exists(output_dir) and not os.path.isdir(output_dir):
        raise OutputError(f"report output {output_dir} exists and is not a directory")
    try:
        os.makedirs(output_dir, exist_ok=True)
        write_atomic(
            os.path.join(output_dir, "report.json"), orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n"
        )
        write_atomic(os.path.join(output_dir, "report.md"), render_markdown(reports, names).encode("utf-8"))
        write_atomic(os.path.join(output_dir, "index.html"), render_html(reports, names).encode("utf-8"))
    except OSError as err:
        raise OutputError(f"cannot write the report to {output_dir}: {err.strerror or err}") from None
    return result
