"""report.md: the summary to paste into a pull request or a wiki page; one column per dataset."""

from __future__ import annotations

from typing import Any

from corpus.report.summary import QUANTILE_NOTE

# Names, paths, sources, terms and messages come from the data: escaped like the HTML report escapes them, so
# that a folder or source named `<img src=x onerror=...>` or `[x](javascript:...)` stays text wherever the
# Markdown is rendered. HTML's three characters become entities; Markdown's link, emphasis, code and table
# characters get a backslash; line breaks become spaces (no heading or list can be started from a name).
_ESCAPES = str.maketrans(
    {**{c: "\\" + c for c in "\\`*_[]~|"}, "<": "&lt;", ">": "&gt;", "&": "&amp;", "\n": " ", "\r": " "}
)


def _esc(value: Any) -> str:
    return str(value).translate(_ESCAPES)


def _cell(value: Any) -> str:
    return _esc(value)


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(_cell(h) for h in head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out + [""]


def _n(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{int(value):,}"


def _approx(report: dict[str, Any], key: str) -> str:
    return ("" if report["totals"]["words_exact"] else "≈ ") + _n(report["totals"][key])


def _tokens(reports: list[dict[str, Any]], names: list[str]) -> list[str]:
    """Token totals, per split when they come from token shards."""
    if not any(r.get("tokens") for r in reports):
        return []
    lines = ["## Tokens", ""]
    for r, name in zip(reports, names):
        t, prefix = r.get("tokens"), f"{_esc(name)}: " if len(reports) > 1 else ""
        if not t:
            lines.append(f"- {prefix}not known")
            continue
        origin = f"token shards {_esc(t['path'])}" if t["origin"] == "token shards" else "tokenizing the text"
        lines.append(
            f"- {prefix}{'' if t['exact'] else '≈ '}{t['tokens']:,} tokens with {_esc(t['tokenizer'])} "
            f"(vocabulary {t['vocab_size']:,}), {t['tokens_per_byte']:.4f} tokens per byte, from {origin}"
        )
        for split, sp in (t.get("splits") or {}).items():
            lines.append(
                f"  - {split}: {_n(sp['tokens'])} tokens, {_n(sp['documents'])} documents, "
                f"{_n(sp['text_bytes'])} bytes, {_n(sp['tokens_per_byte'])} tokens per byte"
            )
    return lines + [""]


def render_markdown(reports: list[dict[str, Any]], names: list[str]) -> str:
    lines = [f"# Data quality report: {' vs '.join(_esc(n) for n in names)}", ""]
    for r, name in zip(reports, names):
        prefix = f"**{_esc(name)}**: " if len(reports) > 1 else ""
        note = r["sampling"]["note"]
        lines.append(
            f"{prefix}{_esc(r['dataset']['path'])} ({r['dataset']['layout']}). {_esc(note[0].upper() + note[1:])}."
        )
        lines.append("")

    def tokens(r):
        t = r.get("tokens")
        return "–" if not t else ("" if t["exact"] else "≈ ") + _n(t["tokens"])

    rows = [
        ["documents", *(_n(r["totals"]["documents"]) for r in reports)],
        ["text (MiB)", *(f"{r['totals']['text_bytes'] / 2**20:,.2f}" for r in reports)],
        ["words", *(_approx(r, "words") for r in reports)],
        ["tokens", *(tokens(r) for r in reports)],
        ["median characters / document", *(_n(r["distributions"]["chars"].get("p50")) for r in reports)],
        ["rejected documents", *(_n(r["rejected"]["documents"]) for r in reports)],
        ["short documents (< 200 chars)", *(_n(r["totals"]["short_documents"]) for r in reports)],
        [
            "documents with encoding damage",
            *(
                _n(r["encoding"]["replacement_char_documents"] + r["encoding"]["mojibake_documents"])
                for r in reports
            ),
        ],
        ["duplicate clusters", *(_n(r["duplicates"].get("clusters", 0)) for r in reports)],
        ["augmented copies", *(_n(r["augmentation"]["augmented_documents"]) for r in reports)],
    ]
    head = [""] + names
    if len(reports) == 2:  # how the second dataset compares with the first
        head.append("B / A")
        keys = ["documents", "text_bytes", "words"]
        for row, key in zip(rows, keys + [None] * len(rows)):
            a, b = (reports[0]["totals"][key], reports[1]["totals"][key]) if key else (0, 0)
            row.append(f"{b / a:.3f}" if a else "")
    lines += ["## Totals", ""] + _table(head, rows)

    lines += ["## Warnings", ""]
    for r, name in zip(reports, names):
        prefix = f"{_esc(name)}: " if len(reports) > 1 else ""
        if not r["warnings"]:
            lines.append(f"- {prefix}none")
        lines += [f"- {prefix}{_esc(w['message'])}" for w in r["warnings"]]
    lines.append("")

    for r, name in zip(reports, names):
        steps = r["pipeline"]["steps"]
        if steps:
            lines += [f"## Pipeline{': ' + _esc(name) if len(reports) > 1 else ''}", ""]
            rows = [
                [
                    s["name"],
                    _n(s["seen"]),
                    _n(s["kept"]),
                    f"{100 * s['drop_rate']:.1f}%",
                    ", ".join(f"{k} {v:,}" for k, v in s["dropped"].items()) or "–",
                ]
                for s in steps
            ]
            lines += _table(["step", "seen", "kept", "drop rate", "dropped by reason"], rows)
        if r["rejected"]["reasons"]:
            lines += [f"Rejected on disk{' (' + _esc(name) + ')' if len(reports) > 1 else ''}: "]
            lines += [f"- {_esc(x['reason'])}: {x['documents']:,}" for x in r["rejected"]["reasons"]] + [""]

    lines += ["## Distributions", ""]
    rows = []
    for key in (
        "chars",
        "words",
        "lines",
        "mean_word_length",
        "non_alpha_ratio",
        "stopword_ratio",
        "dup_line_ratio",
    ):
        for r, name in zip(reports, names):
            d = r["distributions"].get(key, {})
            label = key if len(reports) == 1 else f"{key} ({name})"
            rows.append(
                [label, *(_n(d.get(k)) for k in ("mean", "p10", "p50", "p90", "p99")), d.get("scope", "")]
            )
    lines += _table(["per document", "mean", "p10", "median", "p90", "p99", "computed on"], rows)
    lines += [f"{QUANTILE_NOTE[0].upper()}{QUANTILE_NOTE[1:]}.", ""]

    for key, title in (("languages", "Languages"), ("sources", "Top sources")):
        lines += [f"## {title}", ""]
        for r, name in zip(reports, names):
            part = r[key]
            entries = (
                part.get("counts")
                if key == "languages"
                else [[s["key"], s["documents"]] for s in part["top"]]
            )
            label = f"{_esc(name)}: " if len(reports) > 1 else ""
            if not part.get("available") or not entries:
                lines.append(f"- {label}not known")
                continue
            total = r["totals"]["documents"] or 1
            shown = ", ".join(f"{_esc(k)} {v:,} ({100 * v / total:.1f}%)" for k, v in entries[:10])
            lines.append(f"- {label}{shown}")
        lines.append("")

    lines += _tokens(reports, names)
    lines += ["## Top content words and bigrams", ""]
    for r, name in zip(reports, names):
        top = r["top_terms"]
        prefix = f"{_esc(name)}: " if len(reports) > 1 else ""
        lines.append(f"- {prefix}words: " + ", ".join(_esc(t) for t, _ in top["content_words"][:15]))
        lines.append(f"- {prefix}bigrams: " + ", ".join(_esc(t) for t, _ in top["bigrams"][:10]))
    lines.append("")
    lines.append("Full numbers in report.json; charts and samples in index.html.")
    return "\n".join(lines) + "\n"
