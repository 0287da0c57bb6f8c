"""Quality reports: numbers in report.json against the same numbers computed in plain Python over the rows,
sampling, comparison, tokens, bad inputs, the CLI, and the HTML in a real headless Chromium (network off)."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import statistics
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpus.cli import main as cli
from corpus.report import build_report
from corpus.report.stopwords import ENGLISH
from corpus.report.summary import log_edges
from corpus.schema import render_turns, rows_to_table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import check_page, find_chromium  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
GPT2 = SHARED / "tokenizers" / "gpt2"
WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
MOJIBAKE = re.compile(
    "Ã[\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
    "|Â[\xa0-\xbf]|â€"
)
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
INJECTION = "<script>alert('report')</script></pre></details></svg><b>bold</b> & <!-- -->"


# --- fixtures: a run's output written by hand, from real text --------------------------------------------


def _meta(**kw) -> str:
    return orjson.dumps(kw, option=orjson.OPT_SORT_KEYS).decode()


def _row(doc_id, text, source="", url=None, turns=None, **meta):
    return {
        "id": doc_id,
        "text": text,
        "source": source,
        "url": url,
        "metadata": _meta(**meta),
        "turns": turns,
    }


def _kept_rows(shared: Path) -> list[dict]:
    verses = (shared / "kjv.txt").read_text().splitlines()
    chapters: dict[str, list[str]] = {}
    for line in verses:
        chapters.setdefault(line.split(" ", 1)[0].split(":")[0], []).append(line)
    rows = []
    for name in list(chapters)[:30]:
        rows.append(_row(f"kjv-{name}", "\n".join(chapters[name]), "kjv.txt", lang="en", split="train"))
    rst = sorted((shared / "python-docs" / "rst" / "library").glob("*.rst.txt"))[:30]
    for path in rst:
        page = path.name.removesuffix(".rst.txt")
        rows.append(
            _row(
                f"py-{page}",
                path.read_text(encoding="utf-8")[:6000],
                f"python-docs/rst/library/{path.name}",
                f"https://docs.python.org/3/library/{page}.html",
                lang="en",
            )
        )
    for i in range(9):  # single verses: many short documents
        rows.append(_row(f"verse-{i}", verses[1000 + i], "kjv.txt", lang="en"))
    turns = [
        {"role": "user", "content": "What is a list?"},
        {"role": "assistant", "content": "An ordered, mutable sequence."},
    ]
    planted = [
        _row(
            "fffd", "The caf\ufffd was closed, so we went home.\n" * 3, url="https://www.Example.org/broken"
        ),
        _row(
            "mojibake",
            "CafÃ© owners donâ€™t like it when the menu reads Â£5.\nSecond line.",
            url="http://example.org/m",
        ),
        _row("control", "A bell\x07 rang out in the hall of the old mill.", url="https://example.org/c"),
        _row("empty", "", url="https://example.org/empty"),
        _row("injection", INJECTION * 3, url="https://evil.example.net/x"),
        _row(
            "dup-lines", "Home\nMenu\nHome\nMenu\n\nHome\nContact us\n  Menu  ", url="https://example.org/nav"
        ),
        _row("french", "Le cœur a ses raisons que la raison ne connaît point.", "pascal.txt", lang="fr"),
        _row("apostrophe", "Don’t stop; we can’t and won’t. Don't you see?\u00a0It’s\u2003fine.", "misc.txt"),
        _row("chat", render_turns(turns), "chat.jsonl", turns=turns),
    ]
    aug = []
    for i, (transforms, source_id) in enumerate(
        [
            (["keyboard"], "kjv-Ge1"),
            (["keyboard"], "kjv-Ge2"),
            (["keyboard"], "kjv-Ge3"),
            (["word_swap", "spelling"], "kjv-Ge4"),
        ]
    ):
        base = next(r for r in rows if r["id"] == source_id)
        info = {
            "copy": 0,
            "seed": 0,
            "source_id": source_id,
            "transforms": [{"name": t, "params": {"p": 0.1}} for t in transforms],
        }
        aug.append(
            _row(
                f"{source_id}~aug{i}",
                base["text"].replace("the", "teh"),
                "kjv.txt",
                augmented=True,
                augmentation=info,
            )
        )
    return rows + planted + aug


def _rejected_rows(kept: list[dict]) -> dict[str, list[dict]]:
    by_id = {r["id"]: r for r in kept}
    dups = [("kjv-Ge5", 2), ("kjv-Ge6", 1)]
    exact = []
    for doc_id, copies in dups:
        for k in range(copies):
            exact.append(
                _row(
                    f"{doc_id}-copy{k}",
                    by_id[doc_id]["text"],
                    "kjv-copy.txt",
                    filter_reason="exact_duplicate",
                    duplicate_of=doc_id,
                )
            )
    short = [_row(f"short-{i}", f"Tiny {i}.", "kjv.txt", filter_reason="too_short") for i in range(4)]
    short.insert(0, _row("short-html", INJECTION, "evil.html", filter_reason="too_short"))
    return {"exact_duplicate": exact, "too_short": short}


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(rows_to_table(rows), path, compression="zstd")


def make_run(root: Path, shared: Path) -> tuple[Path, list[dict], dict[str, list[dict]]]:
    """A dataset directory as `corpus prepare` writes it: data/, rejected/<reason>/, stats.json, manifest.json."""
    kept = _kept_rows(shared)
    rejected = _rejected_rows(kept)
    half = len(kept) // 2
    _write(root / "data" / "part-00000-00000.parquet", kept[:half])
    _write(root / "data" / "part-00001-00000.parquet", kept[half:])
    _write(root / "rejected" / "too_short" / "part-s000-00000-00000.parquet", rejected["too_short"])
    _write(
        root / "rejected" / "exact_duplicate" / "part-s100-00000-00000.parquet", rejected["exact_duplicate"]
    )
    n_short, n_dup = len(rejected["too_short"]), len(rejected["exact_duplicate"])
    originals = len(kept) - 4
    read = originals + n_short + n_dup + 20  # 20 dropped by quality_filter, whose rejects were not kept
    stats = {
        "reader": {"documents": read, "files": 3, "unreadable_file": 1},
        "steps": [
            {
                "name": "length_filter",
                "stage": 0,
                "seen": read,
                "kept": read - n_short,
                "dropped": {"too_short": n_short},
                "time_s": 0.01,
                "counters": {},
            },
            {
                "name": "quality_filter",
                "stage": 0,
                "seen": read - n_short,
                "kept": read - n_short - 20,
                "dropped": {"low_quality": 20},
                "time_s": 0.02,
                "counters": {},
            },
            {
                "name": "augment",
                "stage": 0,
                "seen": originals + n_dup,
                "kept": originals + n_dup + 4,
                "dropped": {},
                "time_s": 0.1,
                "counters": {"copies_keyboard": 3, "copies_word_swap": 1},
            },
            {
                "name": "exact_dedup",
                "stage": 1,
                "seen": len(kept) + n_dup,
                "kept": len(kept),
                "dropped": {"exact_duplicate": n_dup},
                "time_s": 0.01,
                "counters": {"unique_hashes": len(kept)},
            },
        ],
        "documents_out": len(kept),
    }
    (root / "stats.json").write_text(json.dumps(stats))
    (root / "manifest.json").write_text(
        json.dumps({"documents": len(kept), "format": "parquet", "recipe": {"name": "test"}})
    )
    return root, kept, rejected


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, shared) -> tuple[Path, list[dict], dict[str, list[dict]]]:
    return make_run(tmp_path_factory.mktemp("run"), shared)


@pytest.fixture(scope="module")
def report(run_dir, tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("report")
    build_report(str(run_dir[0]), str(out))
    return json.loads((out / "report.json").read_text()), out


# --- the same numbers in plain Python ---------------------------------------------------------------------


def percentile(values: list[float], percent: int) -> float:
    """The usual percentile, from Python's statistics module (p50 is statistics.median)."""
    if percent == 50:
        return statistics.median(values)
    if len(values) == 1:  # statistics.quantiles wants two points before Python 3.13
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def doc_numbers(text: str) -> dict:
    words = text.split()
    nonspace = sum(1 for c in text if not c.isspace())
    letters = sum(1 for c in text if c.isalpha())
    tokens = WORD.findall(text.replace("\u2019", "'").lower())
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    return {
        "chars": len(text),
        "bytes": len(text.encode("utf-8")),
        "words": len(words),
        "lines": text.count("\n") + 1 if text else 0,
        "mean_word_length": nonspace / len(words) if words else None,
        "non_alpha_ratio": 1 - letters / nonspace if nonspace else None,
        "stopword_ratio": sum(t in ENGLISH for t in tokens) / len(tokens) if tokens else None,
        "dup_line_ratio": 1 - len(set(lines)) / len(lines) if lines else None,
        "tokens": tokens,
    }


def check_distribution(got: dict, values: list, edges=None) -> None:
    values = [v for v in values if v is not None]
    assert got["count"] == len(values)
    assert got["mean"] == pytest.approx(sum(values) / len(values), rel=1e-6, abs=1e-6)
    for percent in (10, 50, 90, 99):
        # report.json rounds floats to 6 decimals
        assert got[f"p{percent}"] == pytest.approx(percentile(values, percent), rel=1e-9, abs=5e-7)
    assert got["quantile_method"] == "linear"
    assert got["min"] == pytest.approx(min(values), abs=1e-6) and got["max"] == pytest.approx(
        max(values), abs=1e-6
    )
    edges = got["histogram"]["edges"] if edges is None else edges
    counts = [0] * (len(edges) - 1)
    for v in values:
        i = max(0, min(len(edges) - 2, max(j for j, e in enumerate(edges) if e <= v)))
        counts[i] += 1
    assert got["histogram"]["counts"] == counts


def top(counter: Counter, k: int = 25) -> list[list]:
    return [[t, n] for t, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


# --- tests ------------------------------------------------------------------------------------------------


def test_totals_and_distributions_match_plain_python(report, run_dir):
    rep, _ = report
    _, kept, _ = run_dir
    nums = [doc_numbers(r["text"]) for r in kept]
    totals = rep["totals"]
    assert totals["documents"] == len(kept)
    assert totals["text_bytes"] == sum(n["bytes"] for n in nums)
    assert totals["chars"] == sum(n["chars"] for n in nums)
    assert totals["words"] == sum(n["words"] for n in nums) and totals["words_exact"]
    assert totals["lines"] == sum(n["lines"] for n in nums)
    assert totals["empty_documents"] == 1
    assert totals["short_documents"] == sum(n["chars"] < 200 for n in nums)
    assert totals["conversations"] == 1
    assert rep["sampling"]["sampled"] is False and rep["sampling"]["sample_documents"] == len(kept)
    assert log_edges(max(n["chars"] for n in nums)) == rep["distributions"]["chars"]["histogram"]["edges"]
    for key in (
        "chars",
        "bytes",
        "words",
        "lines",
        "mean_word_length",
        "non_alpha_ratio",
        "stopword_ratio",
        "dup_line_ratio",
    ):
        check_distribution(rep["distributions"][key], [n[key] for n in nums])
    chars = sorted(n["chars"] for n in nums)
    middle = chars[len(chars) // 2 - 1 : len(chars) // 2 + 1]
    assert len(chars) % 2 == 0 and middle[0] != middle[1]  # an even count, where median definitions differ
    assert rep["distributions"]["chars"]["p50"] == statistics.median(chars) == sum(middle) / 2
    dup = [n["dup_line_ratio"] for n in nums if n["dup_line_ratio"] is not None]
    assert rep["distributions"]["dup_line_ratio"]["over_threshold_share"] == pytest.approx(
        sum(d > 0.3 for d in dup) / len(dup), abs=1e-6
    )


def test_encoding_languages_sources_augmentation(report, run_dir):
    rep, _ = report
    _, kept, _ = run_dir
    assert rep["encoding"]["replacement_char_documents"] == sum("\ufffd" in r["text"] for r in kept) == 1
    assert rep["encoding"]["mojibake_documents"] == sum(bool(MOJIBAKE.search(r["text"])) for r in kept) == 1
    assert (
        rep["encoding"]["control_char_documents"] == sum(bool(CONTROL.search(r["text"])) for r in kept) == 1
    )

    langs = Counter(json.loads(r["metadata"]).get("lang", "(unknown)") for r in kept)
    assert dict(rep["languages"]["counts"]) == dict(langs)
    assert rep["splits"]["counts"][0] == [
        "(unknown)",
        sum(json.loads(r["metadata"]).get("split") is None for r in kept),
    ]

    def key(r):
        if r["url"]:
            host = urlparse(r["url"]).hostname
            return host.removeprefix("www.")
        return r["source"] or "(unknown)"

    sources = Counter(key(r) for r in kept)
    got = {s["key"]: s["documents"] for s in rep["sources"]["top"]}
    assert got == dict(sources)
    assert rep["sources"]["distinct"] == len(sources)
    assert rep["sources"]["kind"] == "domain or file"
    assert got["example.org"] == 5  # www.Example.org folds into example.org

    transforms = Counter()
    for r in kept:
        meta = json.loads(r["metadata"])
        for t in meta.get("augmentation", {}).get("transforms", []):
            transforms[t["name"]] += 1
    aug = rep["augmentation"]
    assert dict(aug["by_transform"]) == dict(transforms) == {"keyboard": 3, "word_swap": 1, "spelling": 1}
    assert aug["augmented_documents"] == 4 and dict(aug["by_combination"])["word_swap+spelling"] == 1
    assert aug["from_stats"] == {"keyboard": 3, "word_swap": 1}


def test_top_words_and_ngrams(report, run_dir):
    rep, _ = report
    _, kept, _ = run_dir
    words, content, bigrams, trigrams = Counter(), Counter(), Counter(), Counter()
    for r in kept:
        toks = doc_numbers(r["text"])["tokens"]
        words.update(toks)
        content.update(t for t in toks if t not in ENGLISH)
        for n, counter in ((2, bigrams), (3, trigrams)):
            for i in range(len(toks) - n + 1):
                gram = toks[i : i + n]
                if not all(t in ENGLISH for t in gram):
                    counter[" ".join(gram)] += 1
    terms = rep["top_terms"]
    assert terms["word_tokens"] == sum(words.values())
    assert terms["words"] == top(words)
    assert terms["content_words"] == top(content)
    assert terms["bigrams"] == top(bigrams)
    assert terms["trigrams"] == top(trigrams)


def test_pipeline_rejected_duplicates_and_warnings(report, run_dir):
    rep, _ = report
    _, kept, rejected = run_dir
    pipe = rep["pipeline"]
    assert [s["name"] for s in pipe["steps"]] == ["length_filter", "quality_filter", "augment", "exact_dedup"]
    assert [f["label"] for f in pipe["funnel"]] == [
        "read",
        "length_filter",
        "quality_filter",
        "augment",
        "exact_dedup",
        "written",
    ]
    assert pipe["funnel"][-1]["documents"] == len(kept)
    assert pipe["input_problems"] == {"unreadable_file": 1}

    reasons = rep["rejected"]["reasons"]
    assert [r["reason"] for r in reasons] == ["too_short", "exact_duplicate"]  # most common first
    for r in reasons:
        rows = rejected[r["reason"]]
        assert r["documents"] == len(rows)
        assert r["text_bytes"] == sum(len(x["text"].encode()) for x in rows)
        assert [s["id"] for s in r["samples"]] == [x["id"] for x in rows[:3]]

    dup = rep["duplicates"]
    assert dup["origin"] == "rejected duplicate_of"
    assert dup["clusters"] == 2 and dup["documents_in_clusters"] == 5 and dup["removed"] == 3
    assert dup["size_counts"] == [[2, 1], [3, 1]]
    largest = dup["largest"][0]
    assert largest["cluster"] == "kjv-Ge5" and largest["size"] == 3
    assert largest["samples"][0]["text"] == next(r["text"] for r in kept if r["id"] == "kjv-Ge5")[:1500]

    codes = Counter(w["code"] for w in rep["warnings"])
    assert codes["step_drop_rate"] == 0  # quality_filter drops 20 of 121: under 30%
    assert {
        "short_documents",
        "empty_documents",
        "encoding_damage",
        "control_characters",
        "input_problems",
    } <= set(codes)


def test_step_drop_warning(tmp_path, shared):
    root, kept, _ = make_run(tmp_path / "run", shared)
    stats = json.loads((root / "stats.json").read_text())
    stats["steps"][1].update(seen=200, kept=100, dropped={"low_quality": 100})
    (root / "stats.json").write_text(json.dumps(stats))
    rep = build_report(str(root), str(tmp_path / "out"))
    drops = [w for w in rep["warnings"] if w["code"] == "step_drop_rate"]
    assert (
        len(drops) == 1 and "quality_filter dropped 50.0%" in drops[0]["message"] and drops[0]["value"] == 0.5
    )


def test_sampled_report(tmp_path, run_dir):
    root, kept, _ = run_dir
    rep = build_report(str(root), str(tmp_path), sample_rows=10)
    stride = math.ceil(len(kept) / 10)
    assert rep["sampling"]["sampled"] and rep["sampling"]["stride"] == stride
    sample = kept[::stride]
    assert rep["sampling"]["sample_documents"] == len(sample)
    # all-document numbers stay exact; word-level ones come from every stride-th document
    assert rep["distributions"]["chars"]["count"] == len(kept)
    assert rep["distributions"]["chars"]["scope"] == "all documents"
    nums = [doc_numbers(r["text"]) for r in sample]
    assert rep["distributions"]["words"]["scope"] == "sample"
    check_distribution(rep["distributions"]["words"], [n["words"] for n in nums])
    check_distribution(rep["distributions"]["stopword_ratio"], [n["stopword_ratio"] for n in nums])
    sample_bytes = sum(n["bytes"] for n in nums)
    total_bytes = sum(len(r["text"].encode()) for r in kept)
    assert rep["totals"]["words"] == round(sum(n["words"] for n in nums) / sample_bytes * total_bytes)
    assert not rep["totals"]["words_exact"]
    assert "sample of 1 in every" in (tmp_path / "report.md").read_text()


def test_deterministic(tmp_path, run_dir):
    a, b = tmp_path / "a", tmp_path / "b"
    build_report(str(run_dir[0]), str(a))
    build_report(str(run_dir[0]), str(b))
    for name in ("report.json", "report.md", "index.html"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


@pytest.mark.skipif(not GPT2.is_dir(), reason="../shared/data/tokenizers/gpt2 is not present")
def test_tokens_with_gpt2_folder_and_tokenizer_json(tmp_path, run_dir):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    tok = Tokenizer(models.BPE.from_file(str(GPT2 / "vocab.json"), str(GPT2 / "merges.txt")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>"])
    tok.encode_special_tokens = True
    root, kept, _ = run_dir
    expected = sum(len(tok.encode(r["text"], add_special_tokens=False).ids) for r in kept)
    rep = build_report(str(root), str(tmp_path / "folder"), tokenizer=str(GPT2))
    assert rep["tokens"]["exact"] and rep["tokens"]["tokens"] == expected
    assert tok.encode("Hello world!").ids == [15496, 995, 0]
    tok.save(str(tmp_path / "tokenizer.json"))
    rep = build_report(str(root), str(tmp_path / "json"), tokenizer=str(tmp_path / "tokenizer.json"))
    assert rep["tokens"]["tokens"] == expected
    assert "tokens" in (tmp_path / "json" / "report.md").read_text()


def test_compare_raw_against_cleaned(tmp_path, run_dir):
    root, kept, rejected = run_dir
    raw = tmp_path / "raw"  # a plain folder of Parquet files: no stats, no manifest
    everything = kept + [r for rows in rejected.values() for r in rows]
    _write(raw / "a.parquet", everything[:40])
    _write(raw / "b.parquet", everything[40:])
    out = tmp_path / "cmp"
    rep = build_report(str(raw), str(out), compare=str(root))
    assert rep["mode"] == "compare" and rep["names"] == ["raw", root.name]
    assert rep["a"]["totals"]["documents"] == len(everything) and rep["b"]["totals"]["documents"] == len(kept)
    assert rep["a"]["dataset"]["layout"] == "folder" and not rep["a"]["pipeline"]["available"]
    assert rep["comparison"]["totals"]["documents"]["change"] == len(kept) - len(everything)
    html = (out / "index.html").read_text()
    assert html.count('class="dataset"') >= 8 and "raw" in html and root.name in html
    md = (out / "report.md").read_text()
    assert f"| documents | {len(everything):,} | {len(kept):,} |" in md


def test_html_is_self_contained_and_escaped(report):
    _, out = report
    html = (out / "index.html").read_text()
    assert "<script" not in html  # the planted document is shown as text
    assert "&lt;script&gt;alert(" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "Content-Security-Policy" in html


def test_bad_inputs_never_crash(tmp_path, run_dir):
    root = tmp_path / "run"
    shutil.copytree(run_dir[0], root)
    (root / "stats.json").write_text("{not json")
    (root / "data" / "part-00002-00000.parquet").write_bytes(b"PAR1 truncated")
    _write(root / "data" / "part-00003-00000.parquet", [])  # an empty shard is fine
    pq.write_table(pa.table({"other": ["x"]}), root / "data" / "part-00004-00000.parquet")
    damaged = bytearray((root / "data" / "part-00000-00000.parquet").read_bytes())
    for i in range(len(damaged) // 4, len(damaged) // 2, 7):  # data pages broken, footer intact
        damaged[i] ^= 0x5A
    (root / "data" / "part-00005-00000.parquet").write_bytes(bytes(damaged))
    rep = build_report(str(root), str(tmp_path / "out"))
    assert rep["totals"]["documents"] == len(run_dir[1])
    assert {u["path"].rsplit("/", 1)[1] for u in rep["dataset"]["unreadable_shards"]} == {
        "part-00002-00000.parquet",
        "part-00004-00000.parquet",
        "part-00005-00000.parquet",
    }
    codes = {w["code"] for w in rep["warnings"]}
    assert {"unreadable_shards", "dataset"} <= codes and not rep["pipeline"]["available"]


def test_text_only_arrow_folder_and_empty_dataset(tmp_path):
    folder = tmp_path / "plain" / "nested"
    folder.mkdir(parents=True)
    table = pa.table({"text": ["one two three", "four\nfive", ""]})
    with pa.ipc.new_file(str(folder / "x.arrow"), table.schema) as writer:
        writer.write_table(table)
    rep = build_report(str(tmp_path / "plain"), str(tmp_path / "out1"))
    assert rep["totals"]["documents"] == 3 and rep["totals"]["words"] == 5 and rep["totals"]["lines"] == 3
    assert rep["dataset"]["formats"] == ["arrow"] and rep["sources"]["top"][0]["key"] == "(unknown)"

    empty = tmp_path / "empty"
    (empty / "data").mkdir(parents=True)
    _write(
        empty / "rejected" / "too_short" / "part-s000-00000-00000.parquet",
        [_row("a", "x", filter_reason="too_short")],
    )
    rep = build_report(str(empty), str(tmp_path / "out2"))
    assert rep["totals"]["documents"] == 0 and rep["rejected"]["documents"] == 1
    assert {"no_documents", "step_drop_rate"} <= {w["code"] for w in rep["warnings"]}
    assert (tmp_path / "out2" / "index.html").is_file()


def test_duplicates_audit_dataset(tmp_path, run_dir):
    root = tmp_path / "run"
    shutil.copytree(run_dir[0], root)
    audit = pa.table(
        {
            "cluster_id": ["c1", "c2"],
            "size": [3, 2],
            "kept_id": ["kjv-Ge7", "py-abc"],
            "member_ids": [["kjv-Ge7", "kjv-Ge8", "kjv-Ge9"], ["py-abc", "kjv-Ge7"]],
            "estimated_jaccard": [[1.0, 0.8, 0.9], [1.0, 0.5]],
            "true_jaccard": pa.nulls(2, pa.list_(pa.float32())),
        }
    )
    (root / "duplicates").mkdir()
    pq.write_table(audit, root / "duplicates" / "part-00000.parquet")
    dup = build_report(str(root), str(tmp_path / "out"))["duplicates"]
    assert dup["origin"] == "duplicates/" and dup["clusters"] == 2 and dup["documents_in_clusters"] == 5
    assert dup["jaccard_mean"] == {"estimated_jaccard": pytest.approx((0.8 + 0.9 + 0.5) / 3, abs=1e-6)}
    first = dup["largest"][0]
    assert (
        first["cluster"] == "c1"
        and first["kept"] == "kjv-Ge7"
        and first["estimated_jaccard_min"] == pytest.approx(0.8, abs=1e-6)
    )
    assert [s["id"] for s in first["samples"]] == ["kjv-Ge7", "kjv-Ge8"]


def test_tokens_with_a_tokenizer_json_without_end_token(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"one": 0, "two": 1, "[UNK]": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    _write(tmp_path / "d" / "a.parquet", [_row("a", "one two three"), _row("b", "two")])
    rep = build_report(str(tmp_path / "d"), str(tmp_path / "out"), tokenizer=str(tmp_path))
    assert rep["tokens"]["tokens"] == 4 and rep["tokens"]["exact"]


def test_clusters_from_metadata(tmp_path):
    kept = [_row(f"k{i}", f"text {i}", dedup_cluster=c, dedup_kept=True) for i, c in enumerate("aabcc")]
    dropped = [_row("r1", "text", dedup_cluster="c", duplicate_of="k3", filter_reason="near_duplicate")]
    _write(tmp_path / "run" / "data" / "part-00000-00000.parquet", kept)
    _write(tmp_path / "run" / "rejected" / "near_duplicate" / "part-s100-00000-00000.parquet", dropped)
    dup = build_report(str(tmp_path / "run"), str(tmp_path / "out"))["duplicates"]
    assert dup["origin"] == "metadata.dedup_cluster"
    assert (
        dup["clusters"] == 2 and dup["documents_in_clusters"] == 5 and dup["size_counts"] == [[2, 1], [3, 1]]
    )
    assert [c["cluster"] for c in dup["largest"]] == ["c", "a"]


def test_cli(tmp_path, run_dir, capsys):
    root = run_dir[0]
    out = tmp_path / "reports" / "run"
    assert cli(["report", str(root), "--output", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"index.html", "report.json", "report.md"}
    assert "report written to" in capsys.readouterr().out
    assert cli(["report", str(tmp_path / "missing"), "--output", str(out)]) == 2
    assert "corpus: error: dataset not found" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert cli(["report", str(root), "--output", str(tmp_path / "file"), "-q"]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert cli(["report", str(root), "--tokenizer", str(tmp_path / "nope"), "-o", str(out)]) == 2
    assert "tokenizer not found" in capsys.readouterr().err
    notdata = tmp_path / "notdata"
    notdata.mkdir()
    (notdata / "readme.txt").write_text("hi")
    assert cli(["report", str(notdata)]) == 2
    assert "no Parquet or Arrow shards" in capsys.readouterr().err


@pytest.mark.slow
def test_prepare_writes_a_report(tmp_path, shared):
    from corpus.pipeline import run_recipe

    src = tmp_path / "in"
    src.mkdir()
    verses = (shared / "kjv.txt").read_text().splitlines()
    for i in range(3):
        (src / f"part{i}.txt").write_text("\n".join(verses[i * 50 : (i + 1) * 50]))
    recipe = {"name": "t", "steps": [{"exact_dedup": {}}], "output": {"format": "parquet"}}
    out = tmp_path / "out"
    run_recipe(recipe, str(src), str(out))
    rep = json.loads((out / "report" / "report.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert rep["totals"]["documents"] == manifest["documents"] and rep["pipeline"]["available"]


@pytest.mark.slow
@pytest.mark.skipif(not GPT2.is_dir(), reason="../shared/data/tokenizers/gpt2 is not present")
def test_prepare_with_a_tokenize_step_reports_the_token_shards(tmp_path, shared, capsys):
    """The report at the end of `corpus prepare` (no tokenizer given) reads the totals of the token shards
    the run's tokenize step wrote, per split, without tokenizing again."""
    from corpus.pipeline import run_recipe
    from corpus.tokenization import load_tokenizer

    src = tmp_path / "in"
    src.mkdir()
    verses = (shared / "kjv.txt").read_text().splitlines()
    for i in range(4):
        (src / f"part{i}.txt").write_text("\n".join(verses[i * 60 : (i + 1) * 60]))
    recipe = {
        "name": "t",
        "seed": 3,
        "steps": [{"exact_dedup": {}}, {"tokenize": {"tokenizer": str(GPT2), "val_fraction": 0.3}}],
        "output": {"format": "parquet"},
    }
    out = tmp_path / "out"
    run_recipe(recipe, str(src), str(out))
    rep = json.loads((out / "report" / "report.json").read_text())
    meta = json.loads((out / "tokens" / "meta.json").read_text())
    texts = pq.read_table(out / "data").column("text").to_pylist()
    tok = load_tokenizer(str(GPT2))
    expected = sum(len(ids) + 1 for ids in tok.encode_batch(texts))  # + the end-of-document token
    tokens = rep["tokens"]
    assert tokens is not None and tokens == rep["token_shards"]
    assert tokens["origin"] == "token shards" and tokens["exact"] and tokens["current"]
    assert tokens["tokens"] == meta["tokens"] == expected
    assert tokens["bytes_tokenized"] == rep["totals"]["text_bytes"] == sum(len(t.encode()) for t in texts)
    assert tokens["tokens_per_byte"] == pytest.approx(expected / tokens["bytes_tokenized"], abs=1e-6)
    assert tokens["sha256"] == tok.sha256 and tokens["vocab_size"] == 50257
    for split in ("train", "val"):
        got, want = tokens["splits"][split], meta["splits"][split]
        assert got["tokens"] == want["tokens"] > 0 and got["documents"] == want["documents"] > 0
        assert got["text_bytes"] == want["text_bytes"]
        assert got["tokens_per_byte"] == pytest.approx(want["tokens"] / want["text_bytes"], abs=1e-6)
    assert sum(s["documents"] for s in tokens["splits"].values()) == rep["totals"]["documents"]
    labels = [f["label"] for f in rep["pipeline"]["funnel"]]
    assert labels[-2:] == ["written", "tokenize"]  # tokenizing comes after the dataset is written
    assert f"{expected:,}" in (out / "report" / "index.html").read_text()
    assert f"{expected:,} tokens" in (out / "report" / "report.md").read_text()
    assert cli(["report", str(out), "-o", str(tmp_path / "cli")]) == 0
    assert f"tokens: {expected:,} " in capsys.readouterr().out

    # the dataset rewritten without tokenizing again: still reported, marked stale, with a warning
    shard = sorted((out / "data").glob("*.parquet"))[0]
    os.utime(shard, ns=(shard.stat().st_atime_ns, shard.stat().st_mtime_ns + 10**9))
    stale = build_report(str(out), str(tmp_path / "stale"))
    assert stale["tokens"]["tokens"] == expected and not stale["tokens"]["current"]
    assert "stale_token_shards" in {w["code"] for w in stale["warnings"]}
    # a damaged meta.json is named, never fatal
    (out / "tokens" / "meta.json").write_text("{not json")
    broken = build_report(str(out), str(tmp_path / "broken"))
    assert broken["tokens"] is None
    assert any("token shards left out" in p for p in broken["dataset"]["problems"])


# --- the page in a real browser ---------------------------------------------------------------------------


def in_ci() -> bool:
    """CI=true (GitHub, GitLab), CI=1 and the like: the browser test must run there, never skip."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _chromium() -> str:
    """Chromium and websocket-client, or a skip on a developer machine without them (a failure in CI)."""
    path = find_chromium()
    missing = None
    if path is None:
        missing = "chromium is not installed (apt-get install -y chromium, or make browser)"
    else:
        try:
            import websocket  # noqa: F401  (websocket-client drives Chromium over the DevTools protocol)
        except ImportError:
            missing = "websocket-client is not installed (pip install -e '.[dev]')"
    if missing and in_ci():
        pytest.fail(f"{missing}; CI must run the browser test")
    if missing:
        pytest.skip(missing)
    return path


def test_browser_test_fails_in_ci_without_chromium(monkeypatch):
    real = find_chromium
    monkeypatch.setitem(globals(), "find_chromium", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium is not installed.*CI must run"):
        _chromium()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        _chromium()
    monkeypatch.setitem(globals(), "find_chromium", lambda: real() or "/usr/bin/chromium")
    monkeypatch.setitem(sys.modules, "websocket", None)  # `import websocket` now raises ImportError
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="websocket-client is not installed.*CI must run"):
        _chromium()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.fixture(scope="module")
def run_with_tokens(run_dir, tmp_path_factory) -> Path:
    """The run with token shards next to its data, as a run with a tokenize step leaves it."""
    root = tmp_path_factory.mktemp("tokens-run") / "cleaned"
    shutil.copytree(run_dir[0], root)  # copy2 keeps the modification times, so the shards stay current
    if GPT2.is_dir():
        from corpus.tokenization import tokenize_dataset

        tokenize_dataset(str(root), str(GPT2), str(root / "tokens"), val_fraction=0.1)
    return root


@pytest.mark.slow
def test_browser_harness_sees_errors_and_network_use(tmp_path):
    """The check would catch a page that loads from the network or logs an error, and the network is off."""
    chromium = _chromium()
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="https://example.com/pixel.png">'
        "<script>console.error('planted error')</script>"
        '<svg class="chart" data-chart="empty" width="100" height="50"></svg></body></html>'
    )
    result = check_page(str(page), None, chromium)
    assert result["external_requests"] == ["https://example.com/pixel.png"]
    assert "planted error" in result["errors"]
    assert any(
        e.startswith("loading failed") for e in result["errors"]
    )  # offline: the request never went out
    assert result["charts"] == [{"name": "empty", "width": 100, "height": 50, "bars": 0, "visible": 0}]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["single", "compare"])
def test_html_in_headless_chromium(tmp_path, run_with_tokens, mode):
    """Network off, no console errors, every chart drawn and non-empty, a full-page screenshot saved (into
    REPORT_SCREENSHOT_DIR when set, e.g. reports/benchmarks, else the test's temporary folder)."""
    chromium = _chromium()
    root = run_with_tokens
    out = tmp_path / "report"
    build_report(str(root), str(out), compare=str(root / "rejected") if mode == "compare" else None)
    html = (out / "index.html").read_text()
    shots = Path(os.environ.get("REPORT_SCREENSHOT_DIR") or tmp_path)
    shot = shots / ("report-screenshot.png" if mode == "single" else "report-compare-screenshot.png")
    result = check_page(str(out / "index.html"), str(shot), chromium)
    assert result["errors"] == [] and result["external_requests"] == []
    charts = result["charts"]
    assert len(charts) == html.count('<svg class="chart"') >= 10
    empty = [c for c in charts if not (c["width"] > 0 and c["height"] > 0 and c["visible"] > 0)]
    assert empty == []
    names = {c["name"] for c in charts}
    assert {
        "funnel",
        "hist-chars",
        "hist-words",
        "hist-stopword_ratio",
        "sources",
        "top-bigrams",
    } <= names or mode == "compare"
    width, height = png_size(shot)
    assert shot.stat().st_size > 20_000 and width >= 800 and height == min(result["size"][1], 16000) > 2000
    if mode == "single" and GPT2.is_dir():
        assert 'id="tokens"' in html and "token shards" in html


def test_conversations_without_an_assistant_turn_are_warned_about(tmp_path):
    """The chat recipe drops them (warned as dropped); a recipe that keeps them is warned that tokenize will
    give them an all-zero loss mask."""
    chats = tmp_path / "in" / "chats.jsonl"
    chats.parent.mkdir()
    talk = "my lamp keeps blinking after the firmware update, what should I try first"
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"{talk} {i}"},
                {"role": "assistant", "content": f"Reset it {i}."},
            ]
        }
        for i in range(6)
    ] + [{"messages": [{"role": "user", "content": f"{talk} alone {i}"}]} for i in range(2)]
    chats.write_text("".join(json.dumps(r) + "\n" for r in rows))
    keep = tmp_path / "keep.yaml"
    keep.write_text("name: keep\nsteps:\n  - length_filter: {min_words: 3}\n")
    for recipe, code, count in (
        ("chat", "no_assistant_turn", 2),
        (str(keep), "conversations_without_assistant_turn", 2),
    ):
        out = tmp_path / f"out-{code}"
        assert cli(["prepare", recipe, "-i", str(chats.parent), "-o", str(out), "-q"]) == 0
        warnings = json.loads((out / "report" / "report.json").read_text())["warnings"]
        found = [w for w in warnings if w["code"] == code]
        assert len(found) == 1 and found[0]["value"] == count, warnings
