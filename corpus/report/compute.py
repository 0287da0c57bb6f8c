"""The numbers of a report, computed with polars.

Two passes of very different cost:
- `per_document` is one streaming pass over every document computing what costs little per byte (bytes,
  characters, encoding damage, source, language, cluster, augmentation) and keeping the text of every k-th
  document only, so memory holds a few values per document plus the sample, never the dataset.
- `text_metrics`, `word_tokens` and `top_terms` work on that sample: lines, words, word length, the ratios,
  top words and n-grams. Splitting text into words and lines costs several times a plain read of it, which is
  why it runs on a sample once the dataset is larger than the sample budget (the report says so).

Definitions (the tests recompute them in plain Python):
- lines: newlines + 1, 0 for an empty text.
- words: whitespace-separated tokens (Python's `len(text.split())`).
- mean word length: non-whitespace characters / words.
- non-alphabetic ratio: share of the non-whitespace characters that are not letters.
- word tokens (stop words, top words, n-grams): lowercased runs of letters with inner apostrophes ("don't"),
  with ’ read as '. Stop-word ratio: share of a document's word tokens that are stop words.
- duplicate-line ratio: among the non-blank lines (stripped), the share that repeat an earlier line of the same
  document.
"""

from __future__ import annotations

import polars as pl

from corpus.report.stopwords import ENGLISH

# UTF-8 read as Latin-1/cp1252: "Ã©" for é, "â€™" for ’, "Â " for a no-break space
MOJIBAKE = (
    r"Ã[\x{80}-\x{BF}\x{152}\x{153}\x{160}\x{161}\x{178}\x{17D}\x{17E}\x{192}\x{2C6}\x{2DC}"
    r"\x{2013}-\x{203A}\x{20AC}\x{2122}]|Â[\x{A0}-\x{BF}]|â€"
)
# C0 controls other than tab, newline and carriage return, and DEL: left over from binary or broken decoding
CONTROL = r"[\x{00}-\x{08}\x{0B}\x{0C}\x{0E}-\x{1F}\x{7F}]"
WORD_TOKEN = r"\p{L}+(?:'\p{L}+)*"
AUGMENT_NAME = r'"name"\s*:\s*"([^"]*)"'
STOPS = sorted(ENGLISH)


def _meta(key: str) -> pl.Expr:
    return pl.col("metadata").str.json_path_match(f"$.{key}")


def _copy(expr: pl.Expr) -> pl.Expr:
    """A copy of the strings: polars string columns are views into the decoded pages, so keeping a few
    sampled texts as views would keep every page they came from (the whole dataset) in memory."""
    return pl.concat_str([expr, pl.lit("")])


# metadata keys the report reads; parsing JSON is the dearest part of a pass, so only keys that occur
META_KEYS = ("lang", "language", "split", "dedup_cluster", "augmentation")


def metadata_keys(lf: pl.LazyFrame) -> set[str]:
    """Which of META_KEYS appear anywhere in the metadata: a literal search over that one small column."""
    found = lf.select(
        [pl.col("metadata").str.contains(f'"{k}"', literal=True).any().alias(k) for k in META_KEYS]
    ).collect(engine="streaming")
    return {k for k in META_KEYS if found[k][0]}


def metadata_counts(lf: pl.LazyFrame, keys: set[str], clusters: bool) -> dict[str, pl.DataFrame]:
    """Documents per value of metadata lang (or language), split, augmentation transforms ("a+b") and, if
    `clusters`, dedup_cluster: (value, n) frames from passes over the metadata column alone, each parsing
    only the rows that contain the key."""
    out: dict[str, pl.DataFrame] = {}
    meta = pl.col("metadata")

    def count(name: str, present: list[str], expr: pl.Expr) -> None:
        has = pl.any_horizontal([meta.str.contains(f'"{k}"', literal=True) for k in present])
        rows = lf.filter(has).select(expr.alias("value")).drop_nulls()
        out[name] = rows.group_by("value").len("n").collect(engine="streaming")

    langs = [k for k in ("lang", "language") if k in keys]
    if langs:
        count("lang", langs, pl.coalesce([_meta(k) for k in langs]))
    if "split" in keys:
        count("split", ["split"], _meta("split"))
    if "augmentation" in keys:
        transforms = (
            _meta("augmentation.transforms")
            .str.extract_all(AUGMENT_NAME)
            .list.eval(pl.element().str.extract(AUGMENT_NAME, 1))
            .list.join("+")
        )
        count("augmentation", ["augmentation"], pl.when(transforms.str.len_bytes() > 0).then(transforms))
    if clusters and "dedup_cluster" in keys:
        count("dedup_cluster", ["dedup_cluster"], _meta("dedup_cluster"))
    return out


def per_document(lf: pl.LazyFrame, stride: int, offset: int = 0) -> pl.DataFrame:
    """One row per document: cheap measures of all of them (a few dozen bytes each), plus the text of every
    stride-th one. `key` is the source a document is counted under: the URL's host for web pages, else the
    source file."""
    text = pl.col("text").fill_null("")
    sampled = (pl.col("idx") % stride) == 0
    # "scheme://host...": a plain capture is several times faster than a full URL grammar (user info is rare)
    host = pl.col("url").str.extract(r"://([^/?#:]+)", 1).str.to_lowercase().str.strip_prefix("www.")
    # when/then, not replace(): replace() here made polars keep every decoded text page alive
    source = pl.when(pl.col("source") != "").then(pl.col("source"))
    query = lf.with_row_index("idx", offset=offset).select(
        "idx",
        text.str.len_bytes().alias("bytes"),
        text.str.len_chars().alias("chars"),
        text.str.contains("\ufffd", literal=True).alias("replacement_char"),
        text.str.contains(MOJIBAKE).alias("mojibake"),
        pl.coalesce(host, source, pl.lit("(unknown)")).alias("key"),
        host.is_not_null().alias("has_host"),
        pl.col("turns").list.len().alias("turns"),
        # a conversation with no assistant turn gets an all-zero loss mask: fine-tuning learns nothing from it
        pl.col("turns")
        .list.eval(pl.element().struct.field("role") == "assistant")
        .list.any()
        .alias("has_assistant"),
        _copy(pl.when(sampled).then(text)).alias("text"),
    )
    return query.collect(engine="streaming")


def rows_at(lf: pl.LazyFrame, positions: list[int], columns: list[str]) -> dict[int, dict]:
    """The given columns of the documents at these positions (small columns only: no text)."""
    found = lf.with_row_index("idx").filter(pl.col("idx").is_in(positions)).select("idx", *columns)
    return {row["idx"]: row for row in found.collect(engine="streaming").iter_rows(named=True)}


def text_metrics(sample: pl.DataFrame, tokens: pl.DataFrame) -> pl.DataFrame:
    """Per sampled document (idx, text): words, lines, mean_word_length, non_alpha_ratio, stopword_ratio,
    dup_line_ratio (null where undefined: no words, no non-blank lines) and control_chars."""
    text = pl.col("text")
    nonspace = text.str.replace_all(r"\s+", "").str.len_chars()
    letters = text.str.replace_all(r"[^\p{L}]+", "").str.len_chars()
    words = text.str.count_matches(r"\S+")
    stripped = text.str.split("\n").list.eval(pl.element().str.strip_chars())
    line_list = stripped.list.eval(pl.element().filter(pl.element().str.len_bytes() > 0))
    base = sample.lazy().select(
        "idx",
        words.alias("words"),
        pl.when(text.str.len_bytes() > 0)
        .then(text.str.count_matches("\n", literal=True) + 1)
        .otherwise(0)
        .alias("lines"),
        pl.when(words > 0).then(nonspace / words).alias("mean_word_length"),
        pl.when(nonspace > 0).then(1 - letters / nonspace).alias("non_alpha_ratio"),
        pl.when(line_list.list.len() > 0)
        .then(1 - line_list.list.n_unique() / line_list.list.len())
        .alias("dup_line_ratio"),
        text.str.contains(CONTROL).alias("control_chars"),
    )
    stop = tokens.lazy().group_by("idx").agg((pl.col("stop").sum() / pl.len()).alias("stopword_ratio"))
    # lazy, so that polars computes the shared sub-expressions (words, nonspace, lines) once
    return base.join(stop, on="idx", how="left").sort("idx").collect()


def word_tokens(sample: pl.DataFrame) -> pl.DataFrame:
    """(idx, tok, stop) in document order."""
    toks = (
        pl.col("text")
        .str.replace_all("\u2019", "'", literal=True)
        .str.to_lowercase()
        .str.extract_all(WORD_TOKEN)
    )
    return (
        sample.select("idx", toks.alias("tok"))
        .explode("tok")
        .drop_nulls("tok")
        .with_columns(pl.col("tok").is_in(STOPS).alias("stop"))
    )


def top_terms(tokens: pl.DataFrame, k: int = 25) -> dict[str, list[list]]:
    """Most frequent words, content words (not stop words), and bigrams/trigrams within a document that are
    not made of stop words only. Counted on 64-bit token hashes (far faster than grouping strings) and spelled
    back from their first occurrence; ties are broken by the text, so the lists never depend on the hash."""
    frame = tokens.lazy().with_row_index("row").with_columns(pl.col("tok").hash(7).alias("h0"))
    words = tokens["tok"]
    out = {
        "words": _top(frame, ["h0"], words, k),
        "content_words": _top(frame.filter(~pl.col("stop")), ["h0"], words, k),
    }
    for n, name in ((2, "bigrams"), (3, "trigrams")):
        grams = frame.with_columns(
            *[pl.col("h0").shift(-i).alias(f"h{i}") for i in range(1, n)],
            (pl.col("idx").shift(-(n - 1)) == pl.col("idx")).alias("same_doc"),
            pl.all_horizontal([pl.col("stop").shift(-i) for i in range(n)]).alias("all_stop"),
        ).filter(pl.col("same_doc") & ~pl.col("all_stop"))
        out[name] = _top(grams, [f"h{i}" for i in range(n)], words, k)
    return out


def _top(frame: pl.LazyFrame, keys: list[str], words: pl.Series, k: int) -> list[list]:
    counts = frame.group_by(keys).agg(pl.len().alias("count"), pl.col("row").min()).collect()
    if counts.height == 0:
        return []
    cutoff = counts["count"].top_k(k).min()
    # every term tied with the k-th is spelled out, so that the text (not the hash) decides among them
    best = counts.filter(pl.col("count") >= cutoff)
    parts = {f"w{i}": words.gather(best["row"] + i) for i in range(len(keys))}
    best = (
        pl.DataFrame({**parts, "count": best["count"]})
        .select(pl.concat_str(list(parts), separator=" ").alias("text"), "count")
        .sort(["count", "text"], descending=[True, False])
    )
    return [[t, int(c)] for t, c in best.head(k).iter_rows()]
