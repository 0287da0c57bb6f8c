"""corpus.cache: arrays built once, read back by later calls, rebuilt when damaged, and no error when the
cache cannot be written; and the two users of it give what their libraries give."""

from __future__ import annotations

import os

import numpy as np
import pytest

from corpus import cache


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CORPUS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _counting_build(calls: list):
    def build():
        calls.append(1)
        return {"a": np.arange(5, dtype=np.uint32), "names": np.array(["en", "fr"])}

    return build


def test_built_once_then_read_back(cache_dir):
    calls: list = []
    first = cache.cached_arrays("k1", _counting_build(calls))
    second = cache.cached_arrays("k1", _counting_build(calls))
    assert len(calls) == 1
    assert second["a"].tolist() == first["a"].tolist() == [0, 1, 2, 3, 4]
    assert second["names"].tolist() == ["en", "fr"]
    assert not second["a"].flags.writeable  # a read-only mapping of the cached file
    assert sorted(os.listdir(cache_dir)) == ["k1"]  # no temporary folder left behind


def test_damaged_entry_is_rebuilt(cache_dir):
    calls: list = []
    cache.cached_arrays("k2", _counting_build(calls))
    (cache_dir / "k2" / "a.npy").write_bytes(b"not an array")
    again = cache.cached_arrays("k2", _counting_build(calls))
    assert len(calls) == 2 and again["a"].tolist() == [0, 1, 2, 3, 4]
    assert cache.cached_arrays("k2", _counting_build(calls))["a"].tolist() == [0, 1, 2, 3, 4]
    assert len(calls) == 2


def test_unwritable_cache_still_gives_the_arrays(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("CORPUS_CACHE_DIR", str(blocker / "cache"))  # below a file: cannot be created
    calls: list = []
    assert cache.cached_arrays("k3", _counting_build(calls))["a"].tolist() == [0, 1, 2, 3, 4]
    assert cache.cached_arrays("k3", _counting_build(calls))["a"].tolist() == [0, 1, 2, 3, 4]
    assert len(calls) == 2  # built each time, as without a cache


def test_cached_language_model_classifies_like_py3langid(cache_dir, shared):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    from corpus.processors import language_id

    reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    texts = [
        (shared / "kjv.txt").read_text()[20000:21000],
        "Le client a demandé un remboursement parce que la commande est arrivée en retard.",
        "Der Kunde möchte sein Passwort zurücksetzen, aber die E-Mail kommt nicht an.",
        "El pedido llegó dañado y el cliente quiere un reembolso.",
    ]
    try:
        for _ in range(2):  # built, then read back from the cache
            language_id.identifier.cache_clear()
            model = language_id.identifier()
            assert any(p.name.startswith("py3langid-model-") for p in cache_dir.iterdir())
            for text in texts:
                assert model.classify(text) == reference.classify(text)
    finally:
        language_id.identifier.cache_clear()  # later tests load it from their own cache again


def test_cached_permutations_equal_datasketch(cache_dir):
    from datasketch import MinHash

    from corpus.dedup.params import datasketch_permutations

    for num_perm, seed in ((112, 1), (64, 7)):
        datasketch_permutations.cache_clear()
        built = datasketch_permutations(num_perm, seed)
        datasketch_permutations.cache_clear()
        read_back = datasketch_permutations(num_perm, seed)
        theirs = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        for ours in (built, read_back):
            assert ours[0].tolist() == theirs[0].tolist() and ours[1].tolist() == theirs[1].tolist()


def test_letter_table_matches_isalpha(cache_dir):
    from corpus import heuristics

    heuristics._char_classes.cache_clear()
    punct, letter = heuristics._char_classes()
    for c in "aZéßΩж中ك" + "1²½_-!¶·" + "\u0300\u2003":
        assert bool(letter[ord(c)]) == c.isalpha(), c
    assert punct[ord("!")] and punct[ord("~")] and not punct[ord("a")] and not punct[ord("\n")]
    heuristics._char_classes.cache_clear()
    assert np.array_equal(heuristics._char_classes()[1], letter)  # read back from the cache
