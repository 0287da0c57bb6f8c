"""What `corpus ablate` and `corpus sweep` share in their reports: a line chart (validation curves, objective
per trial) in the style of corpus/report/svg.py, the self-contained page around the sections (the data
report's CSS and Content-Security-Policy: no script, nothing fetched), tables, and atomic writes."""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any

from corpus.files import write_atomic
from corpus.report import svg
from corpus.report.html import CSP, CSS

Point = tuple[float, float]


def _ticks(low: float, high: float) -> list[float]:
    if high <= low:
        return [low]
    return [low + (high - low) * f for f in (0, 0.25, 0.5, 0.75, 1)]


def lines(
    name: str,
    title: str,
    series: list[tuple[str, list[Point]]],
    x_label: str = "",
    y_label: str = "",
    dashed: set[str] | None = None,
    colors: dict[str, str] | None = None,
) -> str:
    """Line chart: one polyline per (label, [(x, y)]) with a marker and a tooltip at each point; series named
    in `dashed` are drawn dashed (seeds of one arm share a colour through `colors`). Non-finite points are
    left out (a diverged run)."""
    height, left, right, top_pad, bottom = 260, 56, 12, 26, 40
    clean = [
        (label, [(x, y) for x, y in pts if math.isfinite(x) and math.isfinite(y)]) for label, pts in series
    ]
    xs = [x for _, pts in clean for x, _ in pts]
    ys = [y for _, pts in clean for _, y in pts]
    parts = [svg._open(name, height, title)]
    if not xs:
        parts.append(f'<text x="{left}" y="{height / 2}">no finite values</text></svg>')
        return "".join(parts)
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    pad = (y1 - y0) * 0.05 or abs(y0) * 0.05 or 1.0
    y0, y1 = y0 - pad, y1 + pad
    x1 = x1 if x1 > x0 else x0 + 1
    plot_w, plot_h = svg.WIDTH - left - right, height - top_pad - bottom

    def px(x: float) -> float:
        return left + plot_w * (x - x0) / (x1 - x0)

    def py(y: float) -> float:
        return top_pad + plot_h * (1 - (y - y0) / (y1 - y0))

    for tick in _ticks(y0 + pad, y1 - pad):
        parts.append(
            f'<line x1="{left}" x2="{svg.WIDTH - right}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{py(tick) + 4:.1f}" text-anchor="end">{tick:.4g}</text>'
        )
    for tick in _ticks(x0, x1):
        parts.append(
            f'<text x="{px(tick):.1f}" y="{height - bottom + 14}" text-anchor="middle">'
            f"{escape(svg.fmt_number(round(tick)))}</text>"
        )
    if x_label:
        parts.append(
            f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text>'
        )
    if y_label:
        parts.append(f'<text x="4" y="14">{escape(y_label)}</text>')
    legend: dict[str, str] = {}
    for i, (label, pts) in enumerate(clean):
        color = (colors or {}).get(label, svg.COLORS[i % len(svg.COLORS)])
        dash = ' stroke-dasharray="4 3"' if dashed and label in dashed else ""
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        parts.append(
            f'<polyline class="line" points="{coords}" fill="none" stroke="{color}" stroke-width="1.6"{dash}/>'
        )
        for x, y in pts:
            parts.append(
                f'<circle class="point" cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{color}">'
                f"<title>{escape(label)}: {y:.4f} at {svg.fmt_number(round(x))}</title></circle>"
            )
        legend.setdefault(label.split(" ")[0] if colors else label, color)
    for i, (label, color) in enumerate(list(legend.items())[:8]):
        x = left + i * 150
        parts.append(
            f'<rect x="{x}" y="6" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="15">{escape(label[:22])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def strip(name: str, title: str, rows: list[tuple[str, list[float]]], unit: str = "") -> str:
    """One row per (label, values): a dot per value and a bar at their mean, on an axis zoomed to the values
    (bits per byte of arms differ in the second decimal; bars from zero would hide that)."""
    row_h, left, right, top_pad, bottom = 26, 140, 20, 8, 26
    values = [v for _, vals in rows for v in vals if math.isfinite(v)]
    height = top_pad + max(1, len(rows)) * row_h + bottom
    parts = [svg._open(name, height, title)]
    if not values:
        parts.append(f'<text x="{left}" y="20">no finite values</text></svg>')
        return "".join(parts)
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.1 or abs(lo) * 0.01 or 1.0
    lo, hi = lo - pad, hi + pad
    span = svg.WIDTH - left - right

    def px(v: float) -> float:
        return left + span * (v - lo) / (hi - lo)

    for tick in _ticks(lo + pad, hi - pad):
        x = px(tick)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top_pad}" y2="{height - bottom}" stroke="#eee"/>'
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle">{tick:.4g}</text>'
        )
    for i, (label, vals) in enumerate(rows):
        y = top_pad + i * row_h + row_h / 2
        color = svg.COLORS[i % len(svg.COLORS)]
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{escape(label[:20])}</text>')
        finite = [v for v in vals if math.isfinite(v)]
        if finite:
            mean = sum(finite) / len(finite)
            parts.append(
                f'<rect class="bar" x="{px(mean) - 1.5:.1f}" y="{y - 9:.1f}" width="3" height="18" fill="{color}">'
                f"<title>{escape(label)} mean: {mean:.4f}{unit}</title></rect>"
            )
        for v in finite:
            parts.append(
                f'<circle class="point" cx="{px(v):.1f}" cy="{y:.1f}" r="4" fill="{color}" fill-opacity="0.55">'
                f"<title>{escape(label)}: {v:.4f}{unit}</title></circle>"
            )
    parts.append("</svg>")
    return "".join(parts)


def table(head: list[str], rows: list[list[Any]]) -> str:
    out = ["<table><tr>" + "".join(f"<th>{escape(str(h))}</th>" for h in head) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    return "".join(out) + "</table>"


def md_table(head: list[str], rows: list[list[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{body}</section>'


def page(title: str, subtitle: str, sections: list[str]) -> str:
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>"
        f"<main>{''.join(sections)}</main></body></html>\n"
    )


def write_json(path: str, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def fmt_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
