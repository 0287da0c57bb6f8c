"""Inline SVG charts drawn in Python: no JavaScript, no external resources, readable in any browser offline.

Every chart is an <svg class="chart" data-chart=NAME> whose bars are <rect class="bar"> with a <title> tooltip;
the browser test checks each one has a size and at least one visible bar.
"""

from __future__ import annotations

from html import escape

COLORS = ("#3266a8", "#e3813c", "#4a9b5f", "#b94a48")
WIDTH = 640
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def fmt_number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        value = int(value)
        for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
            if abs(value) >= size * 10:
                return f"{value / size:.0f}{unit}"
        return f"{value:,}"
    return f"{value:.3g}"


def _clip(label: str, chars: int) -> str:
    return label if len(label) <= chars else label[: chars - 1] + "…"


def _open(name: str, height: int, title: str) -> str:
    return (
        f'<svg class="chart" data-chart="{escape(name)}" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg" {FONT}>'
        f"<title>{escape(title)}</title>"
    )


def hbar(name: str, title: str, rows: list[tuple[str, float]], unit: str = "", label_chars: int = 34) -> str:
    """Horizontal bars, one per (label, value), longest first as given."""
    bar_h, gap, left, right = 16, 4, 200, 70
    height = max(1, len(rows)) * (bar_h + gap) + gap
    top = max((v for _, v in rows), default=0) or 1
    span = WIDTH - left - right
    parts = [_open(name, height, title)]
    for i, (label, value) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = max(0.0, span * value / top)
        tip = f"{label}: {value:,}{unit}" if isinstance(value, int) else f"{label}: {value:.4g}{unit}"
        parts.append(
            f'<text x="{left - 6}" y="{y + bar_h - 4}" text-anchor="end">{escape(_clip(label, label_chars))}</text>'
            f'<rect class="bar" x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{COLORS[0]}">'
            f"<title>{escape(tip)}</title></rect>"
            f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 4}">{escape(fmt_number(value))}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def funnel(name: str, title: str, stages: list[dict]) -> str:
    """Centered bars shrinking from documents read to documents written; counts and drops on the right."""
    bar_h, gap, label_w, note_w = 22, 6, 150, 170
    height = max(1, len(stages)) * (bar_h + gap) + gap
    top = max((s["documents"] for s in stages), default=0) or 1
    span = WIDTH - label_w - note_w
    mid = label_w + span / 2
    parts = [_open(name, height, title)]
    for i, stage in enumerate(stages):
        y = gap + i * (bar_h + gap)
        w = max(1.0, span * stage["documents"] / top)
        dropped = stage.get("dropped")
        tip = f"{stage['label']}: {stage['documents']:,} documents" + (
            f", {dropped:,} dropped" if dropped else ""
        )
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar_h - 7}" text-anchor="end">{escape(_clip(stage["label"], 24))}</text>'
            f'<rect class="bar" x="{mid - w / 2:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
            f'fill="{COLORS[0] if i else "#6b8fc4"}"><title>{escape(tip)}</title></rect>'
            f'<text x="{WIDTH - note_w + 8}" y="{y + bar_h - 7}">{stage["documents"]:,}'
            + (f' <tspan fill="{COLORS[3]}">−{dropped:,}</tspan>' if dropped else "")
            + "</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def columns(
    name: str, title: str, labels: list[str], series: list[tuple[str, list[float]]], y_unit: str = ""
) -> str:
    """Vertical bars per bin (a histogram), one colour per series, side by side; a legend when several."""
    height, bottom, top_pad, left = 230, 58, 22 if len(series) > 1 else 8, 46
    plot_h = height - bottom - top_pad
    n = max(1, len(labels))
    slot = (WIDTH - left - 8) / n
    bar_w = max(1.0, (slot - 2) / max(1, len(series)))
    peak = max((v for _, vals in series for v in vals), default=0) or 1
    parts = [_open(name, height, title)]
    for frac in (0, 0.5, 1):
        tick = peak * frac if y_unit or peak < 10 else round(peak * frac)
        y = top_pad + plot_h * (1 - frac)
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt_number(tick))}{y_unit}</text>'
        )
    for s, (series_name, values) in enumerate(series):
        for i, value in enumerate(values):
            h = plot_h * value / peak
            x = left + i * slot + 1 + s * bar_w
            tip = f"{series_name + ': ' if len(series) > 1 else ''}{labels[i]}: {fmt_number(value)}{y_unit}"
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{top_pad + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{COLORS[s % len(COLORS)]}"><title>{escape(tip)}</title></rect>'
            )
    every = max(1, round(n / 16))
    for i, label in enumerate(labels):
        if i % every == 0:
            x = left + i * slot + slot / 2
            parts.append(
                f'<text x="{x:.1f}" y="{height - bottom + 14}" text-anchor="end" '
                f'transform="rotate(-40 {x:.1f} {height - bottom + 14})">{escape(label)}</text>'
            )
    if len(series) > 1:
        for s, (series_name, _) in enumerate(series):
            x = left + s * 200
            parts.append(
                f'<rect x="{x}" y="4" width="10" height="10" fill="{COLORS[s % len(COLORS)]}"/>'
                f'<text x="{x + 14}" y="13">{escape(_clip(series_name, 28))}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
