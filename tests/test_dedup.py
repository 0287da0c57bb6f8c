"""Near-duplicate removal (MinHash LSH): planted copies of real text (KJV and Python docs) edited at known
Jaccard levels are found at the configured threshold, distinct documents are not merged, worker counts give
identical bytes, incremental runs drop only duplicates of the earlier run, broken indexes and damaged
signature spills are caught, augmented copies are not dropped as duplicates of their own source, and the CLI
works."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasketch import MinHash
from processes import assert_terminated_cleanly, run_in_own_session

from corpus.cli import main
from corpus.dedup.engine import Candidates, Corpus, DedupConfig
from corpus.dedup.lsh import PairSet, bucket_edges
from corpus.dedup.params import bands_for_threshold, catch_probability, resolve_params
from corpus.dedup.shingles import reference_elements, reference_shingles, shingle_hashes
from corpus.dedup.signatures import RowStore, SetStore, minhash, shingle_sets
from corpus.dedup.unionfind import UnionFind
from corpus.errors import InputError, RecipeError
from corpus.pipeline import load_recipe, run_recipe
from corpus.processors.exact_dedup import normalized_text
from corpus.schema import SCHEMA

WORD = re.compile(r"[a-z0-9]+")


# --- real text, planted copies ------------------------------------------------------------------------------


def kjv_docs(shared: Path, words_per_doc: int = 200, limit: int = 240) -> list[str]:
    docs, current, size = [], [], 0
    for line in (shared / "kjv.txt").read_text().splitlines():
        current.append(line.split(" ", 1)[1])  # drop the "Ge1:1" reference: it makes every doc unique anyway
        size += len(current[-1].split())
        if size >= words_per_doc:
            docs.append(" ".join(current))
            current, size = [], 0
            if len(docs) >= limit:
                break
    return docs[::2]  # every other group: neighbours share no verse


def rst_docs(shared: Path, words_per_doc: int = 200, limit: int = 120) -> list[str]:
    docs, current, size = [], [], 0
    for path in sorted((shared / "python-docs" / "rst" / "library").glob("*.rst.txt")):
        for para in path.read_text().split("\n\n"):
            para = " ".join(para.split())
            if len(para.split()) < 25 or para.startswith("..") or "::" in para:
                continue
            current.append(para)
            size += len(para.split())
            if size >= words_per_doc:
                docs.append(" ".join(current))
                current, size = [], 0
                if len(docs) >= limit:
                    return docs
    return docs


def shingle_set(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = WORD.findall(text.lower())  # our word rule, for ASCII text
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))} if words else set()


def jaccard(a: str, b: str) -> float:
    x, y = shingle_set(a), shingle_set(b)
    return len(x & y) / len(x | y) if x | y else 1.0


def edit_to(text: str, target: float, rng: random.Random, vocab: list[str]) -> tuple[str, float]:
    """Copy edited word by word (substitutions, insertions, deletions at random places) until one more edit
    would take its Jaccard with the original below target; returns the copy and its Jaccard."""
    words = text.split()
    base = shingle_set(text)
    best, best_j = text, 1.0
    while True:
        i = rng.randrange(len(words))
        kind = rng.random()
        if kind < 0.6:
            words[i] = rng.choice(vocab)
        elif kind < 0.8:
            words.insert(i, rng.choice(vocab))
        elif len(words) > 10:
            del words[i]
        candidate = " ".join(words)
        s = shingle_set(candidate)
        j = len(base & s) / len(base | s)
        if j < target:
            return best, best_j
        best, best_j = candidate, j


def write_shards(folder: Path, docs: list[dict], shards: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "id": d["id"],
            "text": d["text"],
            "source": "test",
            "url": None,
            "metadata": orjson.dumps(d.get("meta", {})).decode(),
            "turns": None,
        }
        for d in docs
    ]
    per = -(-len(rows) // shards)
    for k in range(shards):
        pq.write_table(
            pa.Table.from_pylist(rows[k * per : (k + 1) * per], schema=SCHEMA), folder / f"p{k}.parquet"
        )


@pytest.fixture(scope="module")
def planted(shared, tmp_path_factory):
    """~300 documents: originals from KJV and the Python docs, copies at known Jaccard levels, distinct rest."""
    rng = random.Random(7)
    originals = kjv_docs(shared) + rst_docs(shared)
    vocab = sorted({w for d in originals for w in d.split()})
    docs, pairs = [], []  # pairs: (original id, copy id, jaccard)
    for i, text in enumerate(originals):
        docs.append({"id": f"o{i}", "text": text})
    levels = [1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.3]
    for i in range(0, 105):
        level = levels[i % len(levels)]
        text, j = (originals[i], 1.0) if level == 1.0 else edit_to(originals[i], level, rng, vocab)
        docs.append({"id": f"c{i}", "text": text})
        pairs.append((f"o{i}", f"c{i}", j))
    rng.shuffle(docs)  # copies land in other shards than their originals
    folder = tmp_path_factory.mktemp("planted")
    write_shards(folder, docs, 3)
    return folder, {d["id"]: d["text"] for d in docs}, pairs


def read_dataset(folder: Path) -> list[dict]:
    return [r for p in sorted(folder.rglob("*.parquet")) for r in pq.read_table(p).to_pylist()]


def clusters_of(out: Path) -> dict[str, str]:
    """doc id -> dedup_cluster, over kept and dropped documents."""
    rows = read_dataset(out / "data") + read_dataset(out / "rejected")
    return {r["id"]: orjson.loads(r["metadata"])["dedup_cluster"] for r in rows}


def files_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for sub in ("data", "rejected", "duplicates")
        for p in sorted((folder / sub).rglob("*"))
        if p.is_file()
    }


def recipe(**options) -> dict:
    return {"name": "t", "steps": [{"dedup": options}], "output": {"max_docs_per_shard": 80}}


# --- unit level ---------------------------------------------------------------------------------------------


def test_batch_shingles_equal_the_reference_on_awkward_text(shared):
    texts = [
        "Don't -- STOP! naïve café, Straße",
        "",
        "  ...  ",
        None,
        "北京 是 首都。“引用”",
        "Hello\u00a0world\u2014again «quoted» 3×4 ！ｆｕｌｌ",
        "word" * 20 + " end",
        "tab\tsep\n\nnew  line   ",
        "a b",
    ] + kjv_docs(shared, 30, 20)
    for unit in ("word", "char"):
        for n in (1, 5):
            flat, per_doc, _ = shingle_hashes(pa.array(texts, pa.string()), unit, n)
            pieces = np.split(flat, np.cumsum(per_doc)[:-1])
            assert [p.tolist() for p in pieces] == [reference_shingles(t or "", unit, n) for t in texts]


def test_exact_dedup_key_equals_the_str_methods(shared):
    """The byte-level fast path of exact_dedup's key gives what NFKC + casefold + split/join give."""

    def by_str(text: str) -> bytes:
        return " ".join(unicodedata.normalize("NFKC", text).casefold().split()).encode(
            "utf-8", "surrogatepass"
        )

    pages = [
        p.read_text() for p in sorted((shared / "python-docs" / "rst" / "library").glob("*.rst.txt"))[:60]
    ]
    for text in pages + kjv_docs(shared, 200, 20):
        assert normalized_text(text) == by_str(text)
    rng = random.Random(7)
    pieces = list(" \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u202f\u3000aAzZ.,ß\u212aİﬁÉé€¶’\ud800\U0001f600")
    pieces += ["Word", "naïve", "ΣΊΣΥΦΟΣ", "北京"]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        if rng.random() < 0.6:  # mostly ASCII with a few others: the fast path
            text = "Some Words " * rng.randint(0, 300) + text + "\tEnd " * rng.randint(0, 20)
        assert normalized_text(text) == by_str(text), repr(text)


def test_signatures_equal_datasketch(shared):
    for num_perm, seed in ((112, 1), (7, 42)):
        a, b = resolve_params("word", 5, num_perm, None, None, None, seed).permutations
        theirs = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        assert np.array_equal(a, theirs[0]) and np.array_equal(b, theirs[1])
    params = resolve_params("word", 5, None, None, None, None, 1)
    texts = kjv_docs(shared, 200, 20) + ["short text", ""]
    flat, per_doc, _ = shingle_hashes(pa.array(texts), "word", 5)
    signatures = minhash(flat, per_doc, params)
    for i, piece in enumerate(np.split(flat, np.cumsum(per_doc)[:-1])):
        m = MinHash(num_perm=112, seed=1, scheme="affine32", hashfunc=lambda x: x)
        if piece.size:
            m.update_batch((piece & np.uint64(0xFFFFFFFF)).tolist())
        assert np.array_equal(m.hashvalues, signatures[i])


def test_banding_for_a_threshold_catches_it():
    assert resolve_params("word", 5, None, None, None, None, 1).bands == 14
    bands, rows = bands_for_threshold(0.8, 112)
    assert bands * rows <= 112 and catch_probability(0.8, bands, rows) >= 0.95
    assert catch_probability(0.8, bands, rows + 1 if bands * (rows + 1) <= 112 else rows) >= 0.0
    assert resolve_params("word", 5, None, 20, 5, None, 1).num_perm == 100


def test_union_find_and_buckets_match_a_naive_version():
    rng = np.random.default_rng(3)
    u, v = rng.integers(0, 500, 300), rng.integers(0, 500, 300)
    uf = UnionFind(500)
    uf.union(u, v)
    naive = list(range(500))

    def root(x):
        while naive[x] != x:
            x = naive[x]
        return x

    for a, b in zip(u.tolist(), v.tolist()):
        ra, rb = root(a), root(b)
        naive[max(ra, rb)] = min(ra, rb)
    assert uf.labels().tolist() == [root(x) for x in range(500)]
    hashes = np.array([5, 3, 5, 9, 3, 5], np.uint64)
    heads, members = bucket_edges(hashes, np.arange(6), first_old=4)
    assert sorted(zip(heads.tolist(), members.tolist())) == [(0, 2), (0, 5), (1, 4)]
    heads, members = bucket_edges(hashes, np.arange(6), first_old=2)  # 2-5 are old: (2, 5) left out
    assert sorted(zip(heads.tolist(), members.tolist())) == [(0, 2), (0, 5), (1, 4)]


# --- runs -------------------------------------------------------------------------------------------------


def test_planted_copies_found_and_distinct_documents_kept(planted, tmp_path):
    folder, texts, pairs = planted
    out = tmp_path / "exact"
    stats = run_recipe(recipe(verify="exact"), str(folder), str(out), report=False)
    cluster = clusters_of(out)
    for original, copy, j in pairs:
        if j >= 0.85:
            assert cluster[original] == cluster[copy], (original, copy, j)
        if j < 0.5:
            assert cluster[original] != cluster[copy], (original, copy, j)
    audit = pq.read_table(out / "duplicates").to_pylist()
    assert audit and all(c["size"] == len(c["member_ids"]) >= 2 for c in audit)
    for c in audit:
        assert c["kept_id"] in c["member_ids"] and not c["kept_from_index"]
        for member, est, true in zip(c["member_ids"], c["estimated_jaccard"], c["true_jaccard"]):
            assert true == pytest.approx(jaccard(texts[member], texts[c["kept_id"]]), abs=1e-6)
            assert true >= 0.8 and abs(est - true) < 0.2
    dedup = stats["steps"][0]
    counters = dedup["counters"]
    assert (
        dedup["seen"] == len(texts) and dedup["dropped"]["near_duplicate"] == counters["duplicates_removed"]
    )
    assert counters["clusters"] == len(audit) and counters["verified_pairs"] >= counters["duplicates_removed"]
    assert sum(c["size"] - 1 for c in audit) == counters["duplicates_removed"]
    for row in read_dataset(out / "rejected"):
        meta = orjson.loads(row["metadata"])
        assert meta["dedup_kept"] is False and meta["filter_reason"] == "near_duplicate"
        assert jaccard(row["text"], texts[meta["duplicate_of"]]) >= 0.8
    kept = read_dataset(out / "data")
    assert all(orjson.loads(r["metadata"])["dedup_kept"] is True for r in kept)
    assert len(kept) + counters["duplicates_removed"] == len(texts)

    # without verification (FineWeb's setting) the planted copies are found too, and nothing unrelated merges
    loose = tmp_path / "none"
    run_recipe(recipe(verify="none"), str(folder), str(loose), report=False)
    cluster = clusters_of(loose)
    assert all(cluster[o] == cluster[c] for o, c, j in pairs if j >= 0.85)
    for c in pq.read_table(loose / "duplicates").to_pylist():
        assert all(jaccard(texts[m], texts[c["kept_id"]]) > 0.5 for m in c["member_ids"])


def test_planted_copies_found_at_the_configured_threshold(planted, tmp_path):
    folder, _, pairs = planted
    at_threshold = [(o, c, j) for o, c, j in pairs if 0.8 <= j < 0.85]
    below = [(o, c, j) for o, c, j in pairs if 0.5 <= j < 0.8]
    assert len(at_threshold) >= 10 and len(below) >= 10  # the 0.8 and 0.7 levels are there
    # loose banding (32 x 4 misses a pair at 0.8 with probability 5e-8) + exact verification at 0.8: the
    # threshold alone decides, so every copy at or above it is found and every one below it is not
    out = tmp_path / "loose"
    options = {"threshold": 0.8, "bands": 32, "rows": 4, "verify": "exact"}
    run_recipe(recipe(**options), str(folder), str(out), report=False)
    cluster = clusters_of(out)
    assert [p for p in pairs if p[2] >= 0.8 and cluster[p[0]] != cluster[p[1]]] == []
    assert [p for p in pairs if p[2] < 0.8 and cluster[p[0]] == cluster[p[1]]] == []
    # the banding chosen for threshold 0.8 (16 x 7) catches a pair at exactly 0.8 with probability 0.977
    out = tmp_path / "default"
    run_recipe(recipe(threshold=0.8, verify="exact"), str(folder), str(out), report=False)
    cluster = clusters_of(out)
    found = [cluster[o] == cluster[c] for o, c, _ in at_threshold]
    assert sum(found) >= 0.9 * len(found)
    assert [p for p in below if cluster[p[0]] == cluster[p[1]]] == []


def test_one_and_two_workers_give_identical_bytes(planted, tmp_path):
    folder, _, _ = planted
    options = {"verify": "estimate", "keep": "longest"}
    one = run_recipe(recipe(**options), str(folder), str(tmp_path / "w1"), workers=1, report=False)
    two = run_recipe(recipe(**options), str(folder), str(tmp_path / "w2"), workers=2, report=False)
    assert files_digest(tmp_path / "w1") == files_digest(tmp_path / "w2")
    timing = ("resolve_seconds", "signature_seconds", "signature_docs_per_s")
    c1, c2 = ({k: v for k, v in r["steps"][0]["counters"].items() if k not in timing} for r in (one, two))
    assert c1 == c2 and c1["clusters"] > 10


def test_keep_policies_and_bad_documents(shared, tmp_path):
    base = kjv_docs(shared, 120, 10)[0]
    docs = [
        {"id": "a", "text": base, "meta": {"q": {"score": 0.2}}},
        {"id": "b", "text": base + " And it was so.", "meta": {"q": {"score": 0.9}}},
        {"id": "c", "text": base + " And it was so. Amen.", "meta": {"q": "high"}},
        {"id": "p1", "text": "!!! ... ???"},  # no word: never clustered
        {"id": "p2", "text": "--- !!!"},
        {"id": "s1", "text": "Amen."},  # shorter than a shingle: one shingle, equal words match
        {"id": "s2", "text": "AMEN!"},
        {"id": "s3", "text": "Amen, brother"},
    ]
    folder = tmp_path / "in"
    write_shards(folder, docs, 2)
    expect = {"first": "a", "longest": "c", "quality": "b"}
    for keep, winner in expect.items():
        out = tmp_path / keep
        options = {"keep": keep, "score_field": "q.score"} if keep == "quality" else {"keep": keep}
        stats = run_recipe(recipe(**options), str(folder), str(out), report=False)
        kept = {r["id"] for r in read_dataset(out / "data")}
        assert kept == {winner, "p1", "p2", "s1", "s3"}, keep
        counters = stats["steps"][0]["counters"]
        assert counters["empty_documents"] == 2 and counters["short_documents"] == 3
        assert counters["missing_score"] == (6 if keep == "quality" else 0)
        cluster = clusters_of(out)
        assert cluster["p1"] != cluster["p2"] and cluster["s1"] == cluster["s2"] != cluster["s3"]


def test_incremental_run_drops_only_duplicates_of_the_earlier_run(planted, tmp_path, shared):
    folder, texts, pairs = planted
    index = tmp_path / "index"
    first = tmp_path / "month1"
    run_recipe(recipe(save_index=str(index), verify="exact"), str(folder), str(first), report=False)
    index_sums = {p.name: p.read_bytes() for p in index.iterdir()}
    earlier_cluster = clusters_of(first)
    earlier_kept = {r["id"] for r in read_dataset(first / "data")}

    rng = random.Random(11)
    vocab = sorted({w for t in texts.values() for w in t.split()})
    old_ids = sorted(earlier_kept)[:40]
    fresh = rst_docs(shared, 200, 160)[120:]  # documents the earlier run never saw
    docs = [{"id": f"n{i}", "text": edit_to(texts[d], 0.92, rng, vocab)[0]} for i, d in enumerate(old_ids)]
    docs += [{"id": f"f{i}", "text": t} for i, t in enumerate(fresh)]
    docs += [{"id": "f-copy", "text": fresh[0]}]  # a duplicate inside the new dump only
    new_folder = tmp_path / "in2"
    write_shards(new_folder, docs, 2)
    second = tmp_path / "month2"
    options = {"against_index": str(index), "verify": "exact"}  # verified against the index's shingle sets
    stats = run_recipe(recipe(**options), str(new_folder), str(second), report=False)

    rejected = {r["id"]: orjson.loads(r["metadata"]) for r in read_dataset(second / "rejected")}
    of_index = {i for i, m in rejected.items() if m["filter_reason"] == "near_duplicate_of_index"}
    assert of_index == {f"n{i}" for i in range(len(old_ids))}
    for i, d in enumerate(old_ids):  # linked to the earlier run's document and cluster
        meta = rejected[f"n{i}"]
        assert meta["duplicate_of"] == d and meta["dedup_cluster"] == earlier_cluster[d]
    assert set(rejected) - of_index == {"f-copy"} and rejected["f-copy"]["filter_reason"] == "near_duplicate"
    assert {r["id"] for r in read_dataset(second / "data")} == {f"f{i}" for i in range(len(fresh))}
    counters = stats["steps"][0]["counters"]
    assert counters["duplicates_of_index"] == len(old_ids) and counters["index_documents"] == len(
        earlier_kept
    )
    assert {p.name: p.read_bytes() for p in index.iterdir()} == index_sums  # earlier index untouched
    assert all(
        r["kept_from_index"]
        for r in pq.read_table(second / "duplicates").to_pylist()
        if r["size"] == 2 and r["member_ids"][0].startswith("n")
    )


def test_broken_or_mismatched_index_is_refused(planted, tmp_path, capsys):
    folder, _, _ = planted
    index, plain = tmp_path / "index", tmp_path / "plain"
    run_recipe(recipe(save_index=str(index)), str(folder), str(tmp_path / "a"), report=False)
    run_recipe(recipe(save_index=str(plain), verify="none"), str(folder), str(tmp_path / "a2"), report=False)

    with pytest.raises(RecipeError, match="other MinHash parameters: ngram=5"):
        load_recipe(recipe(against_index=str(index), ngram=3))
    with pytest.raises(RecipeError, match="no shingle sets"):
        load_recipe(recipe(against_index=str(plain)))  # verify: exact is the default
    load_recipe(recipe(against_index=str(plain), verify="estimate"))
    with pytest.raises(InputError, match="not a dedup index"):
        load_recipe(recipe(against_index=str(tmp_path)))
    with pytest.raises(InputError, match="does not exist"):
        load_recipe(recipe(against_index=str(tmp_path / "missing")))
    with pytest.raises(RecipeError, match="exists and is not a dedup index"):
        load_recipe(recipe(save_index=str(tmp_path / "a")))
    with pytest.raises(RecipeError, match="is also an against_index"):
        load_recipe(recipe(save_index=str(index), against_index=str(index)))
    load_recipe(recipe(save_index=str(index)))  # replacing an older index is fine

    sig = index / "signatures.npy"
    good = sig.read_bytes()
    sig.write_bytes(good[: len(good) // 2])  # truncated
    with pytest.raises(InputError, match="truncated"):
        load_recipe(recipe(against_index=str(index)))
    flipped = bytearray(good)
    flipped[-1] ^= 0xFF  # same size, other content: caught by the checksum before the run starts
    sig.write_bytes(bytes(flipped))
    with pytest.raises(InputError, match="does not match its checksum"):
        load_recipe(recipe(against_index=str(index)))
    code = main(["dedup", str(folder), "-o", str(tmp_path / "b"), "--against-index", str(index), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "signatures.npy does not match its checksum" in err
    assert not (tmp_path / "b").exists()  # nothing written, not even the work folder
    yaml = tmp_path / "r.yaml"
    yaml.write_text(f"name: r\nsteps:\n  - dedup: {{against_index: {index}}}\n")
    code = main(["prepare", str(yaml), "--input", str(folder), "-o", str(tmp_path / "p"), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "does not match its checksum" in err and not (tmp_path / "p").exists()
    sig.write_bytes(good)
    header = index / "index.json"
    header.write_text("{not json")
    code = main(["dedup", str(folder), "-o", str(tmp_path / "c"), "--against-index", str(index), "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("corpus: error: dedup index") and "Traceback" not in err


def test_bad_options_are_refused():
    for options, message in [
        ({"bands": 10}, "give both bands and rows"),
        ({"bands": 20, "rows": 8, "num_perm": 100}, "needs at least that many permutations"),
        ({"verify": "maybe"}, "verify must be one of"),
        ({"keep": "quality"}, "needs score_field"),
        ({"threshold": 1.5}, "threshold must be in"),
        ({"unit": "token"}, "unit must be one of"),
        ({"ngrams": 5}, "unknown option 'ngrams'"),
    ]:
        with pytest.raises(RecipeError, match=message):
            load_recipe(recipe(**options))


def test_signature_spill_is_reused_and_a_damaged_one_recomputed(planted, tmp_path):
    from corpus.processors.dedup import Dedup

    empty = Dedup(verify="exact").resolve([], str(tmp_path / "e"), 1, str(tmp_path / "eo"))
    assert empty["documents"] == 0 and empty["clusters"] == 0
    folder, _, _ = planted
    shards = sorted(str(p) for p in folder.glob("*.parquet"))
    step = Dedup(verify="estimate")
    work = tmp_path / "w"
    first = step.resolve(shards, str(work), 1, str(tmp_path / "o"))
    again = step.resolve(shards, str(work), 1, str(tmp_path / "o"))
    assert again["reused_signature_shards"] == len(shards) and again["corrupt_signature_shards"] == 0
    drop = ("resolve_seconds", "signature_seconds", "signature_docs_per_s")
    drop += ("reused_signature_shards", "corrupt_signature_shards")

    def same_result(stats: dict) -> bool:
        return {k: v for k, v in first.items() if k not in drop} == {
            k: v for k, v in stats.items() if k not in drop
        }

    truncated = work / "signatures" / "00001.sig.npy"
    truncated.write_bytes(truncated.read_bytes()[:100])
    bands = work / "signatures" / "00000.bands.npy"
    zeros = np.zeros_like(np.load(bands))  # same shape, same size: every document would share every band
    np.save(bands, zeros)
    assert bands.stat().st_size == (work / "signatures" / "00000.bands.npy").stat().st_size
    third = step.resolve(shards, str(work), 1, str(tmp_path / "o"))
    assert third["reused_signature_shards"] == len(shards) - 2 and third["corrupt_signature_shards"] == 2
    assert same_result(third)
    done = work / "signatures" / "00002.json"
    done.write_text("{not json")
    assert step.resolve(shards, str(work), 1, str(tmp_path / "o"))["corrupt_signature_shards"] == 1
    # a spill made with other parameters is recomputed too, but nothing is wrong with it
    other = Dedup(verify="estimate", keep="longest").resolve(shards, str(work), 1, str(tmp_path / "o"))
    assert other["reused_signature_shards"] == 0 and other["corrupt_signature_shards"] == 0


def test_resumed_run_recomputes_a_damaged_spill(planted, tmp_path):
    folder, _, _ = planted
    out = tmp_path / "out"
    plain = recipe(verify="none")  # no verification: a zeroed band file would merge the whole shard
    first = run_recipe(plain, str(folder), str(out), report=False, keep_work=True)["steps"][0]["counters"]
    # an interrupted run: not complete, the step's decisions are gone, its spills are there, one overwritten
    run_file = out / ".corpus" / "run.json"
    run_file.write_bytes(orjson.dumps({**orjson.loads(run_file.read_bytes()), "complete": False}))
    global_dir = out / ".corpus" / "global-0"
    (global_dir / "done.json").unlink()
    bands = global_dir / "signatures" / "00000.bands.npy"
    size = bands.stat().st_size
    np.save(bands, np.zeros_like(np.load(bands)))
    assert bands.stat().st_size == size
    second = run_recipe(plain, str(folder), str(out), report=False, keep_work=True)["steps"][0]["counters"]
    assert second["corrupt_signature_shards"] == 1
    for key in ("clusters", "duplicates_removed", "candidate_pairs", "clustered_documents"):
        assert second[key] == first[key], key


def test_cli_on_a_dataset_folder_with_char_shingles(planted, tmp_path, capsys):
    folder, texts, pairs = planted
    dataset = tmp_path / "dataset"
    run_recipe({"name": "copy", "steps": [{"exact_dedup": {}}]}, str(folder), str(dataset), report=False)
    out = tmp_path / "out"
    code = main(
        [
            "dedup",
            str(dataset),
            "-o",
            str(out),
            "--unit",
            "char",
            "--ngram",
            "9",
            "--threshold",
            "0.8",
            "-w",
            "2",
            "--no-report",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "dedup:" in printed and "clusters" in printed and "verified" in printed  # exact by default
    recipe_used = orjson.loads((out / "manifest.json").read_bytes())["recipe"]["steps"][0]["dedup"]
    assert recipe_used == {"unit": "char", "ngram": 9, "threshold": 0.8}
    cluster = clusters_of(out)
    found = [cluster[o] == cluster[c] for o, c, j in pairs if j >= 0.9 and o in cluster and c in cluster]
    assert found and all(found)
    assert main(["dedup", str(tmp_path / "nope"), "-o", str(tmp_path / "x")]) == 2


def test_augmented_copies_are_not_duplicates_of_their_own_source(shared, tmp_path, capsys):
    rng = random.Random(5)
    base = kjv_docs(shared, 200, 40)
    vocab = sorted({w for t in base for w in t.split()})
    mirror = edit_to(base[0], 0.9, rng, vocab)[0]  # a natural near-copy of a: another family
    folder = tmp_path / "in"
    write_shards(folder, [{"id": "a", "text": base[0]}, {"id": "b", "text": base[1]}], 1)
    write_shards(tmp_path / "in2", [{"id": "m", "text": mirror}, {"id": "d", "text": base[2]}], 1)
    (tmp_path / "in2" / "p0.parquet").rename(folder / "p1.parquet")
    augmented = tmp_path / "augmented"
    steps = [{"augment": {"transforms": [{"case_noise": {"p": 0.5}}], "copies": 2}}]
    run_recipe({"name": "aug", "steps": steps}, str(folder), str(augmented), report=False)
    rows = read_dataset(augmented / "data")
    source = {
        r["id"]: orjson.loads(r["metadata"]).get("augmentation", {}).get("source_id", r["id"]) for r in rows
    }
    assert (
        len(rows) == 12 and sum(s != i for i, s in source.items()) == 8
    )  # copies: same words as their source

    out, index = tmp_path / "dedup", tmp_path / "index"
    assert (
        main(["dedup", str(augmented), "-o", str(out), "--save-index", str(index), "--no-report", "-q"]) == 0
    )
    rejected = {r["id"]: orjson.loads(r["metadata"]) for r in read_dataset(out / "rejected")}
    # a's copies stay (they are a's family); the mirror and its copies are duplicates of a, another document
    assert set(rejected) == {i for i, s in source.items() if s == "m"}
    assert all(meta["duplicate_of"] == "a" for meta in rejected.values())
    kept = {r["id"]: orjson.loads(r["metadata"]) for r in read_dataset(out / "data")}
    assert {i for i, s in source.items() if s == "a"} <= set(kept)
    for doc_id, meta in rejected.items():  # never dropped in favour of its own source or a sibling copy
        assert source[meta["duplicate_of"]] != source[doc_id]
    stats = orjson.loads((out / "stats.json").read_bytes())["steps"][0]["counters"]
    assert stats["augmented_documents"] == 8 and stats["augmented_kept_apart"] == 2
    audit = pq.read_table(out / "duplicates").to_pylist()
    assert [sorted(c["member_ids"]) for c in audit] == [sorted(["a", *rejected])]
    with pa.ipc.open_file(index / "ids.arrow") as reader:  # the index remembers which documents are copies
        saved = reader.read_all().to_pylist()
    assert {r["id"] for r in saved if r["augmented"]} == {i for i, s in source.items() if s != i} - set(
        rejected
    )

    # --dedup-augmented: copies are deduplicated like any other document (same words: dropped)
    plain = tmp_path / "plain"
    assert main(["dedup", str(augmented), "-o", str(plain), "--no-report", "-q", "--dedup-augmented"]) == 0
    dropped = {r["id"] for r in read_dataset(plain / "rejected")}
    assert dropped == set(source) - {"a", "b", "d"}


# --- scaling rework (issue 13) and counters / normalization (issue 17) -------------------------------------


def test_pair_set_and_find_agree_with_python():
    rng = np.random.default_rng(5)
    pairs, reference = PairSet(), set()
    for size in (1, 7, 300, 3, 2000, 50, 0, 900):
        keys = rng.integers(0, 5000, size)
        assert pairs.contains(keys).tolist() == [k in reference for k in keys.tolist()]
        pairs.add(keys)
        reference.update(keys.tolist())
        assert len(pairs) == len(reference)
    uf = UnionFind(400)
    u, v = rng.integers(0, 400, 250), rng.integers(0, 400, 250)
    for lo in range(0, 250, 25):  # batches, with find() in between, as the verification rounds do
        uf.union(u[lo : lo + 25], v[lo : lo + 25])
        items = rng.integers(0, 400, 40)
        assert uf.find(items).tolist() == uf.labels()[items].tolist()
    whole = UnionFind(400)
    whole.union(u, v)
    assert uf.labels().tolist() == whole.labels().tolist()


def test_verification_has_no_round_cap(shared):
    """One bucket of 150 mutually dissimilar documents (every band hash equal) whose last two are copies:
    each round peels one head off, so the pair is reached after ~148 rounds. The old 64-round cap lost it."""
    texts = kjv_docs(shared, 60, 300)
    assert len(texts) == 150
    texts[-1] = texts[-2]
    flat, per_doc, _ = shingle_hashes(pa.array(texts), "word", 5)
    values, sizes = shingle_sets(flat, per_doc)
    params = resolve_params("word", 5, None, 2, 2, None, 1)
    n = len(texts)
    corpus = Corpus(
        shards=["x"],
        offsets=np.array([0, n]),
        signatures=RowStore([np.zeros((n, params.num_perm), np.uint32)]),
        band_parts=[np.zeros((params.bands, n), np.uint64)],
        valid=np.ones(n, bool),
        keys=np.zeros(n),
        sets=SetStore([(values, np.concatenate([[0], np.cumsum(sizes)]))]),
        indexes=[],
    )
    candidates = Candidates(corpus, DedupConfig(params=params))
    labels = candidates.run()
    assert labels[n - 1] == labels[n - 2] == n - 2
    assert np.unique(labels).size == n - 1  # nothing else merged
    assert candidates.counts["verify_rounds"] >= 140


def test_counters_leave_out_what_exact_dedup_dropped(shared, tmp_path):
    base = kjv_docs(shared, 120, 10)[0]
    docs = [
        {"id": "a", "text": base, "meta": {"q": 1}},
        {"id": "a2", "text": base, "meta": {"q": 1}},
        {"id": "e1", "text": "!!! ..."},  # empty for dedup (no word), twice: exact_dedup drops one
        {"id": "e2", "text": "!!! ..."},
        {"id": "s1", "text": "Amen."},  # short, missing score, three times
        {"id": "s2", "text": "Amen."},
        {"id": "s3", "text": "amen."},
    ]
    folder = tmp_path / "in"
    write_shards(folder, docs, 2)
    steps = [{"exact_dedup": {}}, {"dedup": {"keep": "quality", "score_field": "q"}}]
    stats = run_recipe({"name": "t", "steps": steps}, str(folder), str(tmp_path / "out"), report=False)
    counters = next(s for s in stats["steps"] if s["name"] == "dedup")["counters"]
    assert counters["documents"] == 3  # a, e1, s1 reach dedup
    assert (counters["empty_documents"], counters["short_documents"], counters["missing_score"]) == (1, 1, 2)


def test_normalize_none_shingles_raw_tokens(shared, tmp_path, capsys):
    texts = ["Don't -- STOP!\u00a0naïve\u2003café", "a\x1cb\u3000c\u205fd \u200bx", "", None, "Word " * 9]
    texts += kjv_docs(shared, 30, 10)
    for unit in ("word", "char"):
        flat, per_doc, _ = shingle_hashes(pa.array(texts, pa.string()), unit, 3, "none")
        pieces = np.split(flat, np.cumsum(per_doc)[:-1])
        assert [p.tolist() for p in pieces] == [reference_shingles(t or "", unit, 3, "none") for t in texts]
    words = [e.decode() for e in reference_elements("Don't -- STOP!\u00a0x", "word", "none")]
    assert words == "Don't -- STOP!\u00a0x".split()
    # case and punctuation only: one document by default, two raw
    base = kjv_docs(shared, 80, 1)[0]
    write_shards(tmp_path / "in", [{"id": "a", "text": base}, {"id": "b", "text": base.upper()}], 1)
    for normalize, removed in (("default", 1), ("none", 0)):
        options = {} if normalize == "default" else {"normalize": normalize}
        stats = run_recipe(recipe(**options), str(tmp_path / "in"), str(tmp_path / normalize), report=False)
        assert stats["steps"][0]["counters"]["duplicates_removed"] == removed
    code = main(["dedup", str(tmp_path / "in"), "-o", str(tmp_path / "cli"), "--normalize", "none", "-q"])
    assert code == 0 and len(read_dataset(tmp_path / "cli" / "data")) == 2
    with pytest.raises(RecipeError, match="normalize must be one of"):
        load_recipe(recipe(normalize="lower"))
    assert main(["steps", "dedup"]) == 0
    help_text = capsys.readouterr().out
    assert "lower-cased" in help_text and "normalize" in help_text and "text.split()" in help_text


def test_relative_index_paths_are_inside_the_output_folder(planted, tmp_path, monkeypatch):
    folder, _, _ = planted
    monkeypatch.chdir(tmp_path)  # a relative path resolved against the current directory would land here
    run_recipe(recipe(save_index="index"), str(folder), str(tmp_path / "runs" / "one"), report=False)
    assert (tmp_path / "runs" / "one" / "index" / "index.json").is_file()
    assert not (tmp_path / "index").exists()
    second = tmp_path / "runs" / "two"
    stats = run_recipe(recipe(against_index="../one/index"), str(folder), str(second), report=False)
    counters = stats["steps"][0]["counters"]
    assert counters["index_documents"] > 0 and counters["duplicates_of_index"] == counters["documents"]
    with pytest.raises(InputError, match="does not exist"):
        run_recipe(
            recipe(against_index="../nowhere"), str(folder), str(tmp_path / "runs" / "x"), report=False
        )
    assert not (tmp_path / "runs" / "x").exists()  # refused before anything was written
    with pytest.raises(RecipeError, match="also an against_index"):
        load_recipe(recipe(save_index="i", against_index="./i"))
    # on the command line a path is from the current directory, like any other
    code = main(["dedup", str(folder), "-o", "runs/cli", "--save-index", "cli-index", "-q", "--no-report"])
    assert code == 0 and (tmp_path / "cli-index" / "index.json").is_file()


def _one_band_corpus(texts: list[str], bucket: np.ndarray) -> tuple[Corpus, DedupConfig]:
    """A corpus of the given texts in one band whose hash is `bucket` (so each bucket is given, not drawn)."""
    flat, per_doc, _ = shingle_hashes(pa.array(texts), "word", 5)
    values, sizes = shingle_sets(flat, per_doc)
    params = resolve_params("word", 5, None, 1, 1, None, 1)
    n = len(texts)
    corpus = Corpus(
        shards=["x"],
        offsets=np.array([0, n]),
        signatures=RowStore([np.zeros((n, params.num_perm), np.uint32)]),
        band_parts=[bucket.astype(np.uint64)[None, :]],
        valid=np.ones(n, bool),
        keys=np.zeros(n),
        sets=SetStore([(values, np.concatenate([[0], np.cumsum(sizes)]))]),
        indexes=[],
    )
    return corpus, DedupConfig(params=params)


def test_prefix_filtered_peel_decides_like_the_plain_peel(shared, monkeypatch):
    """Buckets of documents sharing one long passage (alike, mostly below the threshold, some above): the
    peel continued with prefix filtering (from the first round here) merges exactly what the plain peel
    merges, with fewer comparisons."""
    import corpus.dedup.engine as engine

    verses = [line.split(" ", 1)[1] for line in (shared / "kjv.txt").read_text().splitlines()[:3000]]
    long_verses = sorted(verses, key=len)[-8:]
    rng = random.Random(5)
    texts, bucket = [], []
    for g, passage in enumerate(long_verses):
        for _ in range(45):
            other = rng.choice(verses)
            texts.append(passage + " " + (other if rng.random() < 0.7 else " ".join(other.split()[:3])))
            bucket.append(g)
    order = rng.sample(range(len(texts)), len(texts))
    texts, bucket = [texts[i] for i in order], np.array([bucket[i] for i in order])
    results = {}
    for rounds in (10**9, 0, 3):
        monkeypatch.setattr(engine, "EXACT_ROUNDS", rounds)
        candidates = Candidates(*_one_band_corpus(texts, bucket))
        results[rounds] = (candidates.run(), candidates.counts["verified_pairs"])
    plain, plain_pairs = results[10**9]
    assert 20 < np.unique(plain).size < len(texts) - 20  # some merged, many not
    for rounds in (0, 3):
        assert results[rounds][0].tolist() == plain.tolist()
        assert results[rounds][1] < plain_pairs / 2
    monkeypatch.setattr(engine, "BAND_SET_VALUES", 2000)  # a few buckets' sets in memory at a time
    assert Candidates(*_one_band_corpus(texts, bucket)).run().tolist() == plain.tolist()


def test_band_sorted_in_parts_gives_the_same_edges(monkeypatch):
    import corpus.dedup.lsh as lsh

    rng = np.random.default_rng(1)
    hashes = rng.integers(0, 2**63, 20_000, dtype=np.uint64) * np.uint64(2)
    hashes[rng.integers(0, 20_000, 6_000)] = hashes[rng.integers(0, 20_000, 6_000)]
    valid = rng.random(20_000) > 0.1
    whole = bucket_edges(hashes, None, 18_000, valid)
    monkeypatch.setattr(lsh, "PART_DOCS", 1000)
    parts = bucket_edges(hashes, None, 18_000, valid)
    assert whole[0].size > 1000 and all(np.array_equal(a, b) for a, b in zip(whole, parts))


# --- linear scaling (issue 13): sorting, prefix tokens, per-shard decisions ---------------------------------


def test_hash_order_equals_a_stable_argsort():
    """hash_order sorts packed keys (a hash's top bits, then its position): hashes that differ in their low
    bits only tie on the top bits, and must still come out in full hash order, equal ones by position."""
    from corpus.dedup.lsh import hash_order

    rng = np.random.default_rng(3)
    for trial in range(60):
        n = int(rng.integers(0, 4000))
        base = rng.integers(0, 2**62, max(1, n // 4), dtype=np.int64).astype(np.uint64) * np.uint64(4)
        hashes = base[rng.integers(0, base.size, n)]
        flip = rng.random(n) < 0.3  # same top bits, other low bits (the position bits are about 12)
        hashes[flip] ^= rng.integers(1, 1 << 11, int(flip.sum())).astype(np.uint64)
        if trial % 4 == 0:
            hashes[rng.random(n) < 0.2] = np.uint64(2**64 - 1)
        assert np.array_equal(hash_order(hashes), np.argsort(hashes, kind="stable")), trial


def test_dense_tokens_equal_numpy_unique():
    from corpus.dedup.prefix import _dense_tokens

    rng = np.random.default_rng(4)
    for high in (1, 7, 1000, 2**32):
        for n in (0, 1, 5, 3000):
            values = rng.integers(0, high, n).astype(np.uint32)
            _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
            token, frequency = _dense_tokens(values)
            assert np.array_equal(token, inverse) and np.array_equal(frequency, counts)


def test_sort_pairs_equals_a_lexsort():
    from corpus.dedup.lsh import sort_pairs

    rng = np.random.default_rng(7)
    for n, high in ((0, 5), (1, 5), (2000, 40), (5000, 10**9)):
        u, v = rng.integers(0, high, n), rng.integers(0, high, n)  # repeated pairs too
        order = np.lexsort((v, u))
        su, sv = sort_pairs(u, v)
        assert np.array_equal(su, u[order]) and np.array_equal(sv, v[order])


def test_set_bitmaps_bound_never_undercounts():
    """SetBitmaps.overlap_bound is at least the true overlap, and jaccard_bound at least SetStore.jaccard, for
    sets of every size (empty, crowded bitmaps, all values on one bit) drawn from a small pool so that they
    overlap; and it is tight enough to rule out most pairs of unrelated sets."""
    from corpus.dedup.bounds import SetBitmaps

    rng = np.random.default_rng(8)
    sets = [np.unique(rng.integers(0, 700, size)) for size in rng.integers(0, 400, 300)]
    # every value on one bit, whatever the width
    sets += [np.unique(rng.integers(1, 40, size)) * 8192 for size in (1, 5, 30)]
    sets += [np.unique(rng.integers(0, 2**32, 60)) for _ in range(100)]  # unrelated
    sizes = np.array([x.size for x in sets])
    values = np.concatenate(sets).astype(np.uint32)
    store = SetStore([(values, np.concatenate([[0], np.cumsum(sizes)]))])
    for chosen in (np.arange(len(sets)), np.arange(300, len(sets))):  # the bitmap width follows the mean size
        bitmaps = SetBitmaps(*store.gather(chosen))
        a, b = rng.integers(0, chosen.size, 20_000), rng.integers(0, chosen.size, 20_000)
        overlap = np.array([np.intersect1d(sets[chosen[x]], sets[chosen[y]]).size for x, y in zip(a, b)])
        assert (bitmaps.overlap_bound(a, b) >= overlap).all()
        assert (bitmaps.jaccard_bound(a, b) >= store.jaccard(chosen[a], chosen[b])).all()
    unrelated = bitmaps.jaccard_bound(a, b)[(a >= 3) & (b >= 3) & (a != b)]
    assert np.mean(unrelated < 0.5) > 0.99


def test_bitmap_bound_skips_only_pairs_below_the_threshold(monkeypatch):
    """One bucket of three documents. A and B have Jaccard exactly 0.8 (the threshold), with every value on
    one bitmap bit, so only the bound's collision term keeps them apart from a pair below: they must merge.
    C shares 4 of A's 9 values (Jaccard 0.29, sizes equal): the bound rules it out and its Jaccard is never
    computed."""
    a_set = np.arange(1, 10) * 8192
    b_set = np.r_[np.arange(1, 9), 100] * 8192
    c_set = np.r_[np.arange(1, 5) * 8192, [3, 5, 7, 9, 11]]
    sets = [np.sort(x).astype(np.uint32) for x in (a_set, b_set, c_set)]
    sizes = np.array([x.size for x in sets])
    params = resolve_params("word", 5, None, 1, 1, None, 1)
    corpus = Corpus(
        shards=["x"],
        offsets=np.array([0, 3]),
        signatures=RowStore([np.zeros((3, params.num_perm), np.uint32)]),
        band_parts=[np.zeros((1, 3), np.uint64)],
        valid=np.ones(3, bool),
        keys=np.zeros(3),
        sets=SetStore([(np.concatenate(sets), np.concatenate([[0], np.cumsum(sizes)]))]),
        indexes=[],
    )
    measured = []
    jaccard = SetStore.jaccard

    def recording(self: SetStore, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        measured.extend(zip(np.asarray(u).tolist(), np.asarray(v).tolist()))
        return jaccard(self, u, v)

    monkeypatch.setattr(SetStore, "jaccard", recording)
    candidates = Candidates(corpus, DedupConfig(params=params))
    assert candidates.run().tolist() == [0, 0, 2]
    assert measured == [(0, 1)]  # ranks among the band's documents, here their numbers
    assert candidates.counts["verified_pairs"] == 2 and candidates.counts["false_positives"] == 1


def test_decisions_are_read_a_shard_at_a_time(shared, tmp_path):
    """The dedup step writes one decisions file per stage shard holding clustered documents, and a worker
    reads only the file of the shard it is on: copies across and within shards are still all found."""
    from corpus.dedup.resolve import Decisions

    texts = kjv_docs(shared, 120, 40)
    docs = [{"id": f"d{i}", "text": t} for i, t in enumerate(texts)]
    docs += [{"id": "copy-of-d0", "text": texts[0]}, {"id": "copy-of-d3", "text": texts[3]}]
    folder = tmp_path / "in"
    write_shards(folder, docs, 4)  # d0 in the first shard, both copies in the last
    out = tmp_path / "out"
    recipe = load_recipe({"name": "t", "steps": [{"dedup": {}}], "output": {"rejected": True}})
    run_recipe(recipe, str(folder), str(out), report=False, keep_work=True)
    assert {r["id"]: orjson.loads(r["metadata"])["duplicate_of"] for r in read_dataset(out / "rejected")} == {
        "copy-of-d0": "d0",
        "copy-of-d3": "d3",
    }
    work = out / ".corpus" / "global-0"
    files = sorted(int(p.name[: -len(".pq")]) for p in (work / "decisions").iterdir())
    assert len(files) == 2  # the two shards holding clustered documents; the others have no file
    decisions = Decisions(str(work))
    rows = {}
    for shard in range(6):  # a shard without a file: nothing clustered
        decisions._load(shard)
        rows[shard] = sorted(decisions._rows.items())
    assert [shard for shard, r in rows.items() if r] == files
    kept = {d[0]: d[1] for r in rows.values() for _, d in r}  # cluster name -> kept, per member
    assert sum(len(r) for r in rows.values()) == 4 and len(kept) == 2  # d0, d3, their copies: two clusters
    dropped = {shard: [row for row, d in r if not d[1]] for shard, r in rows.items() if r}
    assert {k: v.tolist() for k, v in decisions.dropped_rows().items()} == {
        k: v for k, v in dropped.items() if v
    }
    assert sum(len(v) for v in dropped.values()) == 2


@pytest.mark.slow
def test_sigterm_while_exact_dedup_hashes_stops_without_hashing_the_queue(shared, tmp_path):
    """SIGTERM to `corpus prepare -w 2` while exact_dedup's pool hashes the stage shards: exit 143 with one
    line, no process left, and the shards still queued are not hashed first (the pool used to be closed and
    joined, which runs every queued task before the run could stop)."""
    verses = [line.split(" ", 1)[1] for line in (shared / "kjv.txt").read_text().splitlines()]
    folder = tmp_path / "in"
    folder.mkdir()
    shards = 40
    for f in range(shards):  # one stage shard per input file
        with open(folder / f"part-{f:02d}.jsonl", "w") as out:
            for i in range(600):
                start = (f * 600 + i) * 7 % (len(verses) - 20)
                out.write(json.dumps({"id": f"{f}-{i}", "text": " ".join(verses[start : start + 20])}) + "\n")
    recipe = tmp_path / "exact.json"
    recipe.write_text(json.dumps({"name": "exact", "steps": [{"exact_dedup": {}}]}))
    out = tmp_path / "out"
    cli = [sys.executable, "-m", "corpus.cli", "prepare", str(recipe), "-i", str(folder), "-o", str(out)]
    hashes = out / ".corpus" / "global-0" / "hashes"
    with run_in_own_session(
        [*cli, "-w", "2", "-q", "--no-report"], Path(__file__).resolve().parents[1]
    ) as proc:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list(hashes.glob("*-rows.bin")) and proc.poll() is None:
            time.sleep(0.01)
        assert proc.poll() is None, "the run finished before it could be stopped"
        seen = len(list(hashes.glob("*-rows.bin")))
        os.kill(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert_terminated_cleanly(proc, stderr)
    # at most the two shards being hashed when the signal came were finished; closing and joining the pool
    # (as it was) also hashed every shard already sent to the workers: 8 of 40 here
    assert seen <= len(list(hashes.glob("*-rows.bin"))) <= seen + 2 < shards
