"""Turning per-document columns into the report's numbers: distributions with histograms, counts by key."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

PERCENTILES = (10, 50, 90, 99)
# 1-2-5 steps: lengths span several orders of magnitude, from one-line pages to whole books
_STEPS = (1, 2, 5)


def log_edges(maximum: float) -> list[float]:
    edges = [0.0, 1.0]
    scale = 1
    while edges[-1] <= maximum:
        for step in _STEPS[1:] + (10,):
            edges.append(float(step * scale))
            if edges[-1] > maximum:
                break
        scale *= 10
    return edges


def linear_edges(low: float, high: float, bins: int) -> list[float]:
    width = (high - low) / bins
    return [round(low + i * width, 10) for i in range(bins + 1)]


# how each per-document measure is binned: ratios on [0, 1], word length on [0, 15] with a last open bin
BINNING: dict[str, Any] = {
    "chars": "log",
    "bytes": "log",
    "words": "log",
    "lines": "log",
    "mean_word_length": linear_edges(0, 15, 30),
    "non_alpha_ratio": linear_edges(0, 1, 20),
    "stopword_ratio": linear_edges(0, 1, 20),
    "dup_line_ratio": linear_edges(0, 1, 20),
}


def histogram(values: np.ndarray, edges: list[float]) -> list[int]:
    """Counts per bin [edges[i], edges[i+1]); the last bin also takes values equal to or above its upper edge."""
    index = np.searchsorted(np.asarray(edges), values, side="right") - 1
    index = np.clip(index, 0, len(edges) - 2)
    return np.bincount(index, minlength=len(edges) - 1).astype(int).tolist()


QUANTILE_METHOD = "linear"  # numpy's default, R's type 7, Python's statistics.quantiles(method="inclusive")
QUANTILE_NOTE = (
    "p10, median, p90, p99: linear interpolation between the two closest ranks (numpy's default), so the "
    "median of an even count is the mean of the two middle values"
)


def quantile(sorted_values: np.ndarray, percent: int) -> float:
    """Linear interpolation between the two closest ranks, at position (n - 1) * percent / 100 of the sorted
    values: the usual definition, so p50 is the median (the midpoint of the two middle values of an even
    count). The position is split in integers, as statistics.quantiles does, so no rounding picks a rank."""
    rank, rest = divmod((len(sorted_values) - 1) * percent, 100)
    below = float(sorted_values[rank])
    if rest == 0:
        return below
    return below + (float(sorted_values[rank + 1]) - below) * rest / 100


def distribution(series: pl.Series, name: str, scope: str) -> dict[str, Any]:
    """Summary numbers and a histogram of one per-document measure (nulls, where undefined, left out)."""
    values = series.drop_nulls().to_numpy().astype(float)
    out: dict[str, Any] = {
        "scope": scope,
        "count": int(len(values)),
        "undefined": int(series.null_count()),
        "quantile_method": QUANTILE_METHOD,
    }
    if len(values) == 0:
        return out
    ordered = np.sort(values)
    out.update(
        {
            "min": float(ordered[0]),
            "max": float(ordered[-1]),
            "mean": float(ordered.mean()),
            "sum": float(ordered.sum()),
        }
    )
    for percent in PERCENTILES:
        out[f"p{percent}"] = quantile(ordered, percent)
    edges = BINNING[name]
    if edges == "log":
        edges = log_edges(ordered[-1])
    out["histogram"] = {"edges": edges, "counts": histogram(ordered, edges)}
    return out


def counts(series: pl.Series, null_label: str, limit: int | None = None) -> list[list]:
    """[[value, documents], ...] most frequent first, ties by value; nulls under null_label."""
    frame = series.fill_null(null_label).value_counts(name="n")
    frame = frame.sort(["n", frame.columns[0]], descending=[True, False])
    rows = [[str(v), int(n)] for v, n in frame.iter_rows()]
    return rows[:limit] if limit else rows


def clean(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, floats rounded to 6 decimals, NaN to None."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, 6)
    return value
