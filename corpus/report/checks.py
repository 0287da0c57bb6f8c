"""Warnings against thresholds: what a user should look at before spending GPU hours on a dataset."""

from __future__ import annotations

from typing import Any

THRESHOLDS = {
    "step_drop_rate": 0.30,  # one step (or, without stats, one reason) dropping more than this share
    "short_document_chars": 200,  # a document under this many characters is "short"
    "short_document_share": 0.10,  # ... and more than this share of them is "many"
    "encoding_damage_documents": 0,  # any document with U+FFFD or mojibake left over
    "duplicate_line_ratio": 0.30,  # a document repeating more than this share of its lines ...
    "duplicate_line_share": 0.10,  # ... in more than this share of the documents
}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def warnings_for(report: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def warn(code: str, message: str, value: Any = None, threshold: Any = None) -> None:
        out.append({"code": code, "message": message, "value": value, "threshold": threshold})

    totals = report["totals"]
    n = totals["documents"]
    limit = THRESHOLDS["step_drop_rate"]
    if report["dataset"].get("unfinished"):
        warn("unfinished_run", report["dataset"]["unfinished"])
    if n == 0:
        warn("no_documents", "the dataset has no documents")
    for step in report["pipeline"]["steps"]:
        if step["seen"] and step["drop_rate"] > limit:
            reasons = ", ".join(f"{k} {v:,}" for k, v in step["dropped"].items())
            warn(
                "step_drop_rate",
                f"step {step['name']} dropped {_pct(step['drop_rate'])} of the {step['seen']:,} documents it saw "
                f"({reasons})",
                step["drop_rate"],
                limit,
            )
    if not report["pipeline"]["steps"] and report["rejected"]["reasons"]:
        total = n + report["rejected"]["documents"]
        for r in report["rejected"]["reasons"]:
            share = r["documents"] / total if total else 0.0
            if share > limit:
                warn(
                    "step_drop_rate",
                    f"{r['reason']} rejected {_pct(share)} of the documents (kept + rejected)",
                    share,
                    limit,
                )
    no_reply = sum((s.get("dropped") or {}).get("no_assistant_turn", 0) for s in report["pipeline"]["steps"])
    if no_reply:
        warn(
            "no_assistant_turn",
            f"{no_reply:,} conversation(s) had no assistant turn and were dropped (fine-tuning would learn "
            "nothing from them)",
            no_reply,
            0,
        )
    kept_no_reply = totals.get("conversations_without_assistant_turn", 0)
    if kept_no_reply:
        warn(
            "conversations_without_assistant_turn",
            f"{kept_no_reply:,} conversation(s) have no assistant turn: `corpus tokenize` gives them an all-zero "
            "loss mask; `length_filter: {require_assistant_turn: true}` drops them",
            kept_no_reply,
            0,
        )
    problems = report["pipeline"].get("input_problems") or {}
    if problems:
        detail = ", ".join(f"{k} {v:,}" for k, v in problems.items())
        warn("input_problems", f"the reader skipped bad input: {detail}", sum(problems.values()), 0)
    if n:
        short = totals["short_documents"] / n
        if short > THRESHOLDS["short_document_share"]:
            warn(
                "short_documents",
                f"{_pct(short)} of the documents are shorter than {THRESHOLDS['short_document_chars']} characters",
                short,
                THRESHOLDS["short_document_share"],
            )
        if totals["empty_documents"]:
            warn(
                "empty_documents",
                f"empty documents: {totals['empty_documents']:,}",
                totals["empty_documents"],
                0,
            )
    enc = report["encoding"]
    damaged = {k: enc[k] for k in ("replacement_char_documents", "mojibake_documents") if enc.get(k)}
    if damaged:
        detail = " and ".join(
            f"{v:,} with {'U+FFFD replacement characters' if k.startswith('replacement') else 'mojibake'}"
            for k, v in damaged.items()
        )
        warn("encoding_damage", f"encoding damage left over: {detail}", sum(damaged.values()), 0)
    if enc.get("control_char_documents"):
        warn(
            "control_characters",
            f"documents with control characters: {enc['control_char_documents']:,} (looked for in "
            f"{'the sample' if enc['control_char_scope'] == 'sample' else 'all documents'})",
            enc["control_char_documents"],
            0,
        )
    dup = report["distributions"].get("dup_line_ratio", {})
    share = dup.get("over_threshold_share")
    if share is not None and share > THRESHOLDS["duplicate_line_share"]:
        warn(
            "duplicate_lines",
            f"{_pct(share)} of the documents repeat more than {_pct(THRESHOLDS['duplicate_line_ratio'])} of their lines",
            share,
            THRESHOLDS["duplicate_line_share"],
        )
    unreadable = report["dataset"]["unreadable_shards"]
    if unreadable:
        warn(
            "unreadable_shards",
            f"{len(unreadable)} shard(s) could not be read and are left out",
            len(unreadable),
            0,
        )
    shards = report.get("token_shards")
    if shards and not shards["current"]:
        warn(
            "stale_token_shards",
            f"the token shards in {shards['path']} were made from other shards than the dataset's current ones; "
            "run corpus tokenize again",
        )
    for problem in report["dataset"]["problems"]:
        warn("dataset", problem)
    return out
