"""index.html: one self-contained page (inline CSS and SVG, no script, nothing fetched) for one dataset or two
side by side. A Content-Security-Policy forbids every external load and every script, so a page that tried
(or a document text that slipped through unescaped) would show up as a console error in the browser test."""

from __future__ import annotations

from html import escape
from typing import Any

from corpus.report import svg
from corpus.report.summary import QUANTILE_NOTE

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{background:#23395d;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;color:#d5def0}main{padding:8px 28px 40px;max-width:1500px}
section{background:#fff;border:1px solid #e1e4e8;border-radius:6px;margin:16px 0;padding:12px 18px}
h2{font-size:17px;margin:4px 0 10px}h3{font-size:14px;margin:12px 0 6px}
.grid{display:grid;gap:18px;grid-template-columns:repeat(auto-fit,minmax(420px,1fr))}
.cols{display:grid;gap:18px;grid-template-columns:repeat(var(--n),minmax(0,1fr))}
table{border-collapse:collapse;margin:6px 0}td,th{border-bottom:1px solid #eee;padding:3px 10px;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f0f2f5}
.warn{background:#fff4e5;border-left:4px solid #e3813c;padding:6px 10px;margin:6px 0}
.ok{background:#eef8f0;border-left:4px solid #4a9b5f;padding:6px 10px}
.note{color:#666;font-size:12px}.tag{display:inline-block;background:#e8edf5;border-radius:3px;padding:0 6px;margin-right:4px}
details{margin:4px 0;border:1px solid #eee;border-radius:4px;padding:4px 8px}summary{cursor:pointer}
pre{white-space:pre-wrap;word-break:break-word;background:#fafafa;padding:6px;max-height:320px;overflow:auto;margin:4px 0}
.dataset{font-weight:600;color:#23395d;border-bottom:2px solid #23395d;margin-bottom:6px}
svg.chart{display:block;max-width:680px}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
DISTRIBUTIONS = {
    "chars": "Characters per document",
    "words": "Words per document",
    "lines": "Lines per document",
    "mean_word_length": "Mean word length (characters)",
    "non_alpha_ratio": "Non-alphabetic ratio",
    "stopword_ratio": "Stop-word ratio",
    "dup_line_ratio": "Duplicate-line ratio",
}


def _n(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{int(value):,}"


def _mib(value: int) -> str:
    """A byte count in the unit that reads best (the name is for the common case)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            return f"{value / size:,.2f} {unit}"
    return f"{value:,} B"


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def _table(head: list[str], rows: list[list[Any]]) -> str:
    out = ["<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    return "".join(out) + "</table>"


class Page:
    """Collects the sections; `names` are the datasets' labels (one, or two when comparing)."""

    def __init__(self, reports: list[dict[str, Any]], names: list[str]) -> None:
        self.reports, self.names = reports, names
        self.sections: list[str] = []

    def chart_id(self, base: str, i: int) -> str:
        return f"{base}-{i}" if len(self.reports) > 1 else base

    def section(self, anchor: str, title: str, body: str) -> None:
        self.sections.append(f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>')

    def per_dataset(self, render) -> str:
        """A column per dataset, each headed by its name when comparing."""
        blocks = []
        for i, (report, name) in enumerate(zip(self.reports, self.names)):
            head = f'<div class="dataset">{escape(name)}</div>' if len(self.reports) > 1 else ""
            blocks.append(f"<div>{head}{render(report, i)}</div>")
        return f'<div class="cols" style="--n:{len(blocks)}">' + "".join(blocks) + "</div>"


def _summary(page: Page) -> str:
    reps = page.reports

    def row(label: str, fn) -> list[Any]:
        values = [fn(r) for r in reps]
        return [label, *values]

    def words(r):
        return ("" if r["totals"]["words_exact"] else "≈ ") + _n(r["totals"]["words"])

    def tokens(r):
        t = r.get("tokens")
        return "–" if not t else ("" if t["exact"] else "≈ ") + _n(t["tokens"])

    rows = [
        row("documents", lambda r: _n(r["totals"]["documents"])),
        row("text", lambda r: _mib(r["totals"]["text_bytes"])),
        row("characters", lambda r: _n(r["totals"]["chars"])),
        row("words", words),
        row("lines", lambda r: ("" if r["totals"]["words_exact"] else "≈ ") + _n(r["totals"]["lines"])),
        row("tokens", tokens),
        row("median characters / document", lambda r: _n(r["distributions"]["chars"].get("p50"))),
        row("shards (on disk)", lambda r: f"{r['totals']['shards']} ({_mib(r['totals']['shard_bytes'])})"),
        row("rejected documents", lambda r: _n(r["rejected"]["documents"])),
        row("empty documents", lambda r: _n(r["totals"]["empty_documents"])),
        row(
            "short documents (< 200 characters)",
            lambda r: _pct(r["totals"]["short_documents"], r["totals"]["documents"]),
        ),
        row("conversations", lambda r: _n(r["totals"]["conversations"])),
        row("warnings", lambda r: _n(len(r["warnings"]))),
    ]
    head = [""] + page.names
    if len(reps) == 2:
        head.append("B / A")
        for r, key in zip(rows, ("documents", "text_bytes", "chars", "words", "lines")):
            a, b = reps[0]["totals"][key], reps[1]["totals"][key]
            r.append("–" if not a else f"{b / a:.3f}" if b / a < 1000 else f"{b / a:,.0f}")
        for r in rows[5:]:
            r.append("")
    notes = "".join(
        f'<p class="note">{escape(n + ": " if len(reps) > 1 else "")}{escape(r["sampling"]["note"])}</p>'
        for r, n in zip(reps, page.names)
    )
    return _table(head, rows) + notes


def _warnings(report: dict[str, Any], _: int) -> str:
    if not report["warnings"]:
        return '<div class="ok">No warnings.</div>'
    return "".join(f'<div class="warn">{escape(w["message"])}</div>' for w in report["warnings"])


def _pipeline(page: Page):
    def render(report: dict[str, Any], i: int) -> str:
        pipe = report["pipeline"]
        out = []
        if pipe["funnel"]:
            out.append(
                svg.funnel(page.chart_id("funnel", i), "Documents through the pipeline", pipe["funnel"])
            )
        if pipe["steps"]:
            rows = [
                [
                    s["name"],
                    _n(s["seen"]),
                    _n(s["kept"]),
                    _n(s["dropped_total"]),
                    f"{100 * s['drop_rate']:.1f}%",
                    ", ".join(f"{k} {v:,}" for k, v in s["dropped"].items()) or "–",
                    "–" if s["time_s"] is None else f"{s['time_s']:.2f}",
                ]
                for s in pipe["steps"]
            ]
            out.append(
                _table(["step", "seen", "kept", "dropped", "drop rate", "by reason", "time (s)"], rows)
            )
        if pipe["input_problems"]:
            out.append(
                _table(["input problem", "count"], [[k, _n(v)] for k, v in pipe["input_problems"].items()])
            )
        if not out:
            out.append(
                '<p class="note">No stats.json and no rejected documents: the pipeline is not known.</p>'
            )
        return "".join(out)

    return render


def _rejected(page: Page):
    def render(report: dict[str, Any], i: int) -> str:
        rej = report["rejected"]
        if not rej["reasons"]:
            return '<p class="note">No rejected documents on disk.</p>'
        rows = [(r["reason"], r["documents"]) for r in rej["reasons"]]
        out = [svg.hbar(page.chart_id("rejected", i), "Rejected documents by reason", rows)]
        for r in rej["reasons"]:
            out.append(
                f"<h3>{escape(r['reason'])}: {r['documents']:,} documents, {_mib(r['text_bytes'])}, "
                f"{r['mean_chars']:,.0f} characters on average</h3>"
            )
            out.extend(_doc(d) for d in r["samples"])
        return "".join(out)

    return render


def _doc(doc: dict[str, Any]) -> str:
    bits = [f'<span class="tag">{escape(str(doc.get("id")))}</span>']
    for key in ("source", "url"):
        if doc.get(key):
            bits.append(f'<span class="tag">{escape(str(doc[key]))}</span>')
    bits.append(f'<span class="tag">{doc["chars"]:,} chars</span>')
    tail = " …" if doc.get("truncated") else ""
    meta = f'<p class="note">metadata {escape(doc["metadata"])}</p>' if doc.get("metadata") else ""
    return (
        f"<details><summary>{''.join(bits)}</summary>{meta}<pre>{escape(doc['text'])}{tail}</pre></details>"
    )


def _bin_labels(edges: list[float], integer: bool) -> list[str]:
    def f(x: float) -> str:
        return svg.fmt_number(int(x)) if integer else f"{x:g}"

    labels = []
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        if i == len(edges) - 2:
            labels.append(f"≥{f(lo)}")
        elif integer and hi - lo == 1:
            labels.append(f(lo))
        else:
            labels.append(f"{f(lo)}–{f(hi - 1) if integer else f(hi)}")
    return labels


def _histograms(page: Page, names: list[str]) -> str:
    blocks = []
    for name in names:
        dists = [r["distributions"].get(name, {}) for r in page.reports]
        present = [d for d in dists if d.get("histogram")]
        title = DISTRIBUTIONS[name]
        if not present:
            blocks.append(f'<div><h3>{escape(title)}</h3><p class="note">no data</p></div>')
            continue
        edges = max((d["histogram"]["edges"] for d in present), key=len)
        integer = name in ("chars", "words", "lines", "bytes")
        series = []
        for d, label in zip(dists, page.names):
            counts = list(d["histogram"]["counts"]) if d.get("histogram") else []
            counts += [0] * (len(edges) - 1 - len(counts))
            if len(page.reports) > 1:
                total = sum(counts) or 1
                counts = [100 * c / total for c in counts]
            series.append((label, counts))
        unit = "%" if len(page.reports) > 1 else ""
        chart = svg.columns(f"hist-{name}", title, _bin_labels(edges, integer), series, unit)
        stats = _table(
            ["", "mean", "p10", "median", "p90", "p99", "max"],
            [
                [label, *(_n(d.get(k)) for k in ("mean", "p10", "p50", "p90", "p99", "max"))]
                for d, label in zip(dists, page.names)
            ],
        )
        scope = ", ".join(sorted({d["scope"] for d in present}))
        blocks.append(
            f'<div><h3>{escape(title)} <span class="note">({escape(scope)})</span></h3>{chart}{stats}</div>'
        )
    note = f'<p class="note">{escape(QUANTILE_NOTE)}</p>'
    return '<div class="grid">' + "".join(blocks) + "</div>" + note


def _encoding(page: Page) -> str:
    rows = []
    for label, key in (
        ("documents with U+FFFD", "replacement_char_documents"),
        ("documents with mojibake (Ã©, â€™ ...)", "mojibake_documents"),
        ("documents with control characters", "control_char_documents"),
    ):
        rows.append([label, *(_n(r["encoding"][key]) for r in page.reports)])
    scope = [f"control characters: {r['encoding']['control_char_scope']}" for r in page.reports]
    return _table([""] + page.names, rows) + f'<p class="note">{escape("; ".join(sorted(set(scope))))}</p>'


def _counts_chart(page: Page, key: str, base: str, title: str):
    def render(report: dict[str, Any], i: int) -> str:
        part = report[key]
        if not part.get("available"):
            return f'<p class="note">not known: no {escape(part.get("origin", key))} in the documents</p>'
        rows = [(k, v) for k, v in part["counts"][:20]]
        return svg.hbar(page.chart_id(base, i), title, rows)

    return render


def _sources(page: Page):
    def render(report: dict[str, Any], i: int) -> str:
        src = report["sources"]
        if not src["available"]:
            return '<p class="note">no documents</p>'
        rows = [(s["key"], s["documents"]) for s in src["top"]]
        other = src["other"]
        note = (
            f'<p class="note">{src["distinct"]:,} distinct sources (by {escape(src["kind"])}); '
            f"{other['sources']:,} more sources hold {other['documents']:,} documents.</p>"
        )
        table = _table(
            ["source", "documents", "share", "text"],
            [
                [
                    s["key"],
                    _n(s["documents"]),
                    _pct(s["documents"], report["totals"]["documents"]),
                    _mib(s["text_bytes"]),
                ]
                for s in src["top"]
            ],
        )
        return svg.hbar(page.chart_id("sources", i), "Documents by source", rows) + note + table

    return render


def _duplicates(page: Page):
    def render(report: dict[str, Any], i: int) -> str:
        dup = report["duplicates"]
        if not dup["available"]:
            return f'<p class="note">{escape(dup["note"])}</p>'
        labels = [str(s) for s, _ in dup["size_counts"]]
        chart = svg.columns(
            page.chart_id("cluster-sizes", i),
            "Clusters by size",
            labels,
            [("clusters", [n for _, n in dup["size_counts"]])],
        )
        out = [
            f"<p>{dup['clusters']:,} clusters holding {dup['documents_in_clusters']:,} documents "
            f"({dup['removed']:,} beyond one per cluster), from {escape(dup['origin'])}.</p>",
            '<p class="note">cluster size (documents) along the bottom</p>',
            chart,
            "<h3>Largest clusters</h3>",
        ]
        for c in dup["largest"]:
            extra = "".join(
                f", {escape(k)} {v:.3f}"
                for k, v in c.items()
                if "jaccard" in k and isinstance(v, (int, float))
            )
            samples = "".join(
                f'<p class="note">{escape(str(s["id"]))}</p><pre>{escape(s["text"])}{" …" if s["truncated"] else ""}</pre>'
                for s in c["samples"]
            )
            out.append(
                f"<details><summary>cluster {escape(str(c['cluster']))}: {c['size']:,} documents{extra}</summary>"
                f'<p class="note">members: {escape(", ".join(map(str, c["members"])))}</p>{samples}</details>'
            )
        return "".join(out)

    return render


def _augmentation(page: Page):
    def render(report: dict[str, Any], i: int) -> str:
        aug = report["augmentation"]
        if not aug["available"]:
            return '<p class="note">no augmented documents (metadata.augmentation) and no augment step counters</p>'
        out = [
            f"<p>{aug['augmented_documents']:,} augmented copies, {aug['original_documents']:,} other documents.</p>"
        ]
        if aug["by_transform"]:
            out.append(
                svg.hbar(
                    page.chart_id("augmentation", i), "Augmented copies by transform", aug["by_transform"]
                )
            )
        if aug["by_combination"]:
            out.append(
                _table(["transforms of a copy", "copies"], [[k, _n(v)] for k, v in aug["by_combination"]])
            )
        if aug["from_stats"]:
            out.append(
                _table(
                    ["transform (step counters)", "copies"],
                    [[k, _n(v)] for k, v in aug["from_stats"].items()],
                )
            )
        return "".join(out)

    return render


def _top_terms(page: Page):
    def render(report: dict[str, Any], i: int) -> str:
        top = report["top_terms"]
        note = (
            f'<p class="note">{top["word_tokens"]:,} word tokens ({escape(top["scope"])}); '
            f"{escape(top['stopwords'])}</p>"
        )
        blocks = []
        for key, title in (
            ("content_words", "Top words (stop words left out)"),
            ("words", "Top words"),
            ("bigrams", "Top bigrams"),
            ("trigrams", "Top trigrams"),
        ):
            rows = [(t, n) for t, n in top[key][:15]]
            chart = (
                svg.hbar(page.chart_id(f"top-{key}", i), title, rows) if rows else '<p class="note">none</p>'
            )
            blocks.append(f"<div><h3>{title}</h3>{chart}</div>")
        return note + '<div class="grid">' + "".join(blocks) + "</div>"

    return render


def _tokens(report: dict[str, Any], _: int) -> str:
    t = report.get("tokens")
    if not t:
        return '<p class="note">No token shards and no --tokenizer.</p>'
    how = "exact" if t["exact"] else "estimated"
    rows = [
        ["from", "token shards " + t["path"] if t["origin"] == "token shards" else "tokenizing the text"],
        ["tokenizer", f"{t['tokenizer']} (vocabulary {t['vocab_size']:,}, sha256 {t['sha256'][:12]})"],
        ["tokens", f"{t['tokens']:,} ({how})"],
        ["tokens per byte", f"{t['tokens_per_byte']:.4f}"],
        ["tokens per document", f"{t['tokens_per_document']:,.1f}"],
    ]
    out = [_table(["", ""], rows)]
    if t.get("splits"):
        split_rows = [
            [
                name,
                _n(sp["tokens"]),
                _n(sp["documents"]),
                _mib(sp["text_bytes"] or 0),
                _n(sp["tokens_per_byte"]),
            ]
            for name, sp in t["splits"].items()
        ]
        out.append(_table(["split", "tokens", "documents", "text", "tokens / byte"], split_rows))
        skipped = ", ".join(f"{k} {v:,}" for k, v in t["skipped"].items())
        out.append(f'<p class="note">{escape(t["note"])}; bytes: {escape(t.get("text_bytes_of") or "")}</p>')
        if skipped:
            out.append(f'<p class="note">not tokenized: {escape(skipped)}</p>')
    elif t.get("note"):
        out.append(f'<p class="note">{escape(t["note"])}</p>')
    return "".join(out)


def _samples(report: dict[str, Any], _: int) -> str:
    if not report["samples"]:
        return '<p class="note">no documents</p>'
    return "".join(_doc(d) for d in report["samples"])


def render_html(reports: list[dict[str, Any]], names: list[str]) -> str:
    page = Page(reports, names)
    title = " vs ".join(names)
    page.section("summary", "Summary", _summary(page))
    page.section("warnings", "Warnings", page.per_dataset(_warnings))
    page.section("pipeline", "Pipeline: kept and dropped per step", page.per_dataset(_pipeline(page)))
    page.section("rejected", "Dropped documents by reason", page.per_dataset(_rejected(page)))
    page.section("lengths", "Document lengths", _histograms(page, ["chars", "words", "lines"]))
    page.section(
        "quality",
        "Quality signals",
        _histograms(page, ["mean_word_length", "non_alpha_ratio", "stopword_ratio", "dup_line_ratio"]),
    )
    page.section("encoding", "Encoding damage", _encoding(page))
    page.section(
        "languages", "Languages", page.per_dataset(_counts_chart(page, "languages", "languages", "Languages"))
    )
    if any(r["splits"]["available"] for r in reports):
        page.section("splits", "Splits", page.per_dataset(_counts_chart(page, "splits", "splits", "Splits")))
    page.section("sources", "Sources", page.per_dataset(_sources(page)))
    page.section("duplicates", "Duplicate clusters", page.per_dataset(_duplicates(page)))
    page.section("augmentation", "Augmentation", page.per_dataset(_augmentation(page)))
    page.section("terms", "Top words and n-grams", page.per_dataset(_top_terms(page)))
    if any(r.get("tokens") for r in reports):
        page.section("tokens", "Tokens", page.per_dataset(_tokens))
    page.section("samples", "Sample documents", page.per_dataset(_samples))
    nav = " · ".join(
        f'<a href="#{a}" style="color:#d5def0">{t}</a>'
        for a, t in (
            ("summary", "summary"),
            ("warnings", "warnings"),
            ("pipeline", "pipeline"),
            ("rejected", "dropped"),
            ("lengths", "lengths"),
            ("quality", "quality"),
            ("sources", "sources"),
            ("duplicates", "duplicates"),
            ("terms", "words"),
            *([("tokens", "tokens")] if any(r.get("tokens") for r in reports) else []),
            ("samples", "samples"),
        )
    )
    generated = escape(reports[0]["generated_by"])
    paths = "; ".join(escape(r["dataset"]["path"]) for r in reports)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Data quality report: {escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>Data quality report: {escape(title)}</h1><p>{paths}</p>"
        f"<p>{generated} · {nav}</p></header><main>{''.join(page.sections)}</main></body></html>\n"
    )
