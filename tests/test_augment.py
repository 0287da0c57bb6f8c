"""Augmentation: every transform does what its name says (measured on KJV verses), copies carry their
provenance, chats keep their structure and only the chosen roles change, protected spans survive, held-out
documents never get copies, WordNet present vs absent, and the same bytes whatever the worker count."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nltk
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document

from corpus.augment import TRANSFORMS, build_transform, derive_seed, n_changes, parse_transforms
from corpus.augment.copies import _differs
from corpus.augment.nlpaug_transforms import spelling_dictionary, synonym_candidates
from corpus.augment.protect import compile_protect, mask, restore
from corpus.augment.tokens import FaithfulTokenizer
from corpus.cli import main
from corpus.errors import RecipeError
from corpus.pipeline import load_recipe, run_recipe
from corpus.processors.augment import Augment
from corpus.processors.split import Split
from corpus.schema import render_turns

REPO = Path(__file__).resolve().parents[1]
NLTK_SHARED = REPO.parent / "shared" / "data" / "nltk_data"

CHATS = [
    [
        ("system", "You are the support assistant of Northwind Outfitters. Be brief and polite."),
        (
            "user",
            "Hi, my order #48213 still hasn't arrived. I paid on 2024-03-02 and the tracking link "
            "https://track.example.com/p/48213 shows nothing since Monday.",
        ),
        ("assistant", "I'm sorry about the delay. Could you confirm the e-mail address on the order?"),
        ("user", "Sure, it's jane.doe@example.org. Can you refund me if it doesn't come by Friday?"),
        ("assistant", "Yes. If the parcel has not arrived by Friday we will refund the full 89.90 EUR."),
    ],
    [
        ("user", "The desktop app crashes when I run `sync --all` right after the update. Any idea why?"),
        ("assistant", "Please reinstall version 3.2.1 and send us the log from ~/.northwind/logs."),
        ("user", "Reinstalled it, same crash. The log says <|error|> at line 212 of the sync module."),
    ],
    [
        ("user", "I was charged twice for my subscription this month. Please help, this is urgent."),
        ("assistant", "I can see two charges of 12.99 on March 3. I have refunded one of them."),
        ("user", "Thanks a lot! How long until the money is back on my card?"),
        ("assistant", "Usually three to five business days, depending on your bank."),
    ],
    [
        ("user", "How do I change the shipping address of an order that has not shipped yet?"),
        ("assistant", "Open Orders, choose the order and click Edit address before it ships."),
        ("user", "There is no Edit button for me. My order number is 55102 if that helps."),
    ],
]


def chat_doc(i: int, turns: list[tuple[str, str]]) -> Document:
    t = [{"role": r, "content": c} for r, c in turns]
    return Document(text=render_turns(t), id=f"chat-{i}", metadata={"source": "support", "turns": t})


@pytest.fixture(scope="module")
def verses(shared) -> list[str]:
    lines = (shared / "kjv.txt").read_text().splitlines()
    return lines[:2000]


@pytest.fixture(scope="module")
def passages(verses) -> list[str]:
    """Three-verse passages: several sentences, punctuation, references like Ge1:3."""
    return [" ".join(verses[i : i + 3]) for i in range(0, 600, 3)]


@pytest.fixture
def wordnet(monkeypatch):
    if not (NLTK_SHARED / "corpora" / "wordnet").is_dir():
        pytest.skip("shared nltk_data with WordNet is not present")
    monkeypatch.setattr(nltk.data, "path", [str(NLTK_SHARED), *nltk.data.path])


@pytest.fixture
def no_wordnet(monkeypatch, tmp_path):
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "empty")])


def apply(name: str, text: str, seed: int = 0, **params) -> str:
    return build_transform(name, parse_transforms([{name: params}])[0][1])(text, seed)


def words(text: str) -> list[str]:
    return text.split()


def changed_positions(a: list[str], b: list[str]) -> int:
    assert len(a) == len(b)
    return sum(x != y for x, y in zip(a, b))


def is_subsequence(small: list[str], big: list[str]) -> bool:
    it = iter(big)
    return all(any(s == b for b in it) for s in small)


# --- each transform does what its name says ----------------------------------------------------------------


def test_word_swap_keeps_the_word_multiset(passages):
    for seed, text in enumerate(passages[:40]):
        out = apply("word_swap", text, seed, p=1.0, min=1, max=3)
        assert out != text
        assert Counter(w.lower() for w in re.findall(r"\w+", out)) == Counter(
            w.lower() for w in re.findall(r"\w+", text)
        )
        # each swap moves two words: at most 2 * max positions differ
        assert 2 <= changed_positions(re.findall(r"\w+", out), re.findall(r"\w+", text)) <= 6


def test_word_delete_removes_exactly_the_bounded_count(passages):
    for seed, text in enumerate(passages[:40]):
        out = apply("word_delete", text, seed, p=1.0, min=1, max=4)
        before, after = re.findall(r"[\w']+", text), re.findall(r"[\w']+", out)
        assert len(before) - len(after) == 4
        assert is_subsequence([w.lower() for w in after[1:]], [w.lower() for w in before])


def test_word_crop_removes_one_contiguous_run(passages):
    for seed, text in enumerate(passages[:40]):
        tok = FaithfulTokenizer()
        before = [str(t) for t in tok.tokenize(text)]
        out = apply("word_crop", text, seed, p=0.1, min=2, max=5)
        after = [str(t) for t in FaithfulTokenizer().tokenize(out)]
        removed = len(before) - len(after)
        assert removed == n_changes(len(before), 0.1, 2, 5)
        # after = before[:i] + before[i + removed:] for some i (case of the new first word aside)
        assert any(
            [a.lower() for a in after] == [b.lower() for b in before[:i] + before[i + removed :]]
            for i in range(len(before) - removed + 1)
        )


def _char_edits(name: str, passages: list[str], at_least: int = 1, **params) -> list[tuple[str, str]]:
    pairs = []
    for seed, text in enumerate(passages[:40]):
        out = apply(name, text, seed, **params)
        a, b = words(text), words(out)
        assert len(a) == len(b), (text, out)
        changed = [(x, y) for x, y in zip(a, b) if x != y]
        assert at_least <= len(changed) <= params["max"]
        pairs += changed
    return pairs


def test_keyboard_typos_are_neighbouring_keys(passages):
    layout = json.loads(
        (Path(spelling_dictionary("")).parents[2] / "char" / "keyboard" / "en.json").read_text()
    )
    neighbours = {k: set(v) | {c.upper() for c in v} for k, v in layout.items()}
    neighbours.update({k.upper(): neighbours[k] for k in list(neighbours)})
    for old, new in _char_edits("keyboard", passages, p=1.0, max=3, char_p=1.0, char_max=2):
        assert len(old) == len(new)
        diffs = [(x, y) for x, y in zip(old, new) if x != y]
        assert 1 <= len(diffs) <= 2
        assert all(y in neighbours[x] for x, y in diffs), (old, new)


def test_ocr_errors_are_lookalike_characters(passages):
    table = json.loads((Path(spelling_dictionary("")).parents[2] / "char" / "ocr" / "en.json").read_text())
    lookalike = {(k, v) for k, vs in table.items() for v in vs}
    lookalike |= {(v, k) for k, v in lookalike}
    # a chosen word without look-alike characters ("the") stays as it is: 0 to max words change
    pairs = _char_edits("ocr", passages, at_least=0, p=1.0, max=3, char_p=1.0, char_max=2)
    assert len(pairs) >= 40
    for old, new in pairs:
        diffs = [(x, y) for x, y in zip(old, new) if x != y]
        assert len(old) == len(new) and 1 <= len(diffs) <= 2 and all(d in lookalike for d in diffs)


def test_char_insert_and_substitute(passages):
    for old, new in _char_edits("char_insert", passages, p=1.0, max=3, char_p=1.0, char_max=2):
        assert 1 <= len(new) - len(old) <= 2 and is_subsequence(list(old), list(new))
    for old, new in _char_edits("char_substitute", passages, p=1.0, max=3, char_p=1.0, char_max=2):
        assert len(old) == len(new) and 1 <= sum(x != y for x, y in zip(old, new)) <= 2


def test_spelling_errors_come_from_the_dictionary_shipped_in_nlpaug(passages):
    path = Path(spelling_dictionary(""))
    assert path.is_file()  # nlpaug 1.1.11 ships res/word/spelling/spelling_en.txt
    pairs = set()
    for line in path.read_text().splitlines():
        key, *values = line.split(" ")
        pairs |= {(key, v) for v in values} | {(v, key) for v in values}
    seen = 0
    for seed, text in enumerate(passages[:40]):
        out = apply("spelling", text, seed, p=1.0, max=3)
        a, b = re.findall(r"[\w']+", text), re.findall(r"[\w']+", out)
        if len(a) != len(b):  # a few misspellings are two words ("a lot"); compare the simple ones only
            continue
        for x, y in zip(a, b):
            if x != y:
                seen += 1
                assert (x, y) in pairs or (x.lower(), y.lower()) in pairs, (x, y)
    assert seen >= 40


def wordnet_candidates(word: str, **rules) -> list[str]:
    from nltk.corpus import wordnet as wn

    return synonym_candidates(word, wn.synsets(word.lower()), **rules)


def test_synonym_candidates_are_filtered(wordnet):
    from nltk.corpus import wordnet as wn

    # unfiltered, WordNet offers these (what nlpaug would pick from)
    raw = {lem.name() for w in ("re", "hour") for s in wn.synsets(w) for lem in s.lemmas()}
    assert {"atomic_number_75", "60_minutes", "hr", "Re"} <= raw
    assert wordnet_candidates("re") == []  # too short to be worth a synonym
    assert wordnet_candidates("hour") == [] and wordnet_candidates("hour", min_count=0) == ["minute"]
    loose = wordnet_candidates("hour", multiword=True, min_char=2, min_count=0)
    assert {"time_of_day", "hr"} <= set(loose) and "60_minutes" not in loose  # digits: never
    assert wordnet_candidates("created") == []  # only reached as create.v.*: "create" is the wrong form
    assert wordnet_candidates("the") == wordnet_candidates("third") == wordnet_candidates("Moses") == []
    # rare senses: "saw" as a saying, "appreciate" as raising a value
    assert "proverb" in wordnet_candidates("saw", min_count=0) and wordnet_candidates("saw") == []
    assert "revalue" in wordnet_candidates("appreciate", min_count=0)
    assert "revalue" not in wordnet_candidates("appreciate") and "treasure" in wordnet_candidates(
        "appreciate"
    )
    for word in ("God", "light", "earth", "beginning", "want", "great"):
        for c in wordnet_candidates(word):
            assert c.isalpha() and c == c.lower() and len(c) >= 3, (word, c)


def test_synonyms_on_kjv_are_single_real_words(verses, wordnet):
    from nltk.corpus import wordnet as wn

    pairs = []
    for seed, text in enumerate(verses[:300]):
        out = apply("synonym", text, seed, p=1.0, max=5)
        a, b = words(text), words(out)
        assert len(a) == len(b), (text, out)  # one word for one word by default
        pairs += [(x, y) for x, y in zip(a, b) if x != y]
    assert len(pairs) >= 300
    for x, y in pairs:
        x, y = x.strip(".,;:!?()"), y.strip(".,;:!?()")
        assert y.isalpha() and len(x) >= 3 and len(y) >= 3, (x, y)
        assert x.lower() not in {"the", "and", "unto", "shall", "first", "third"}, (x, y)
        # a lemma of a synset that names the word itself (not its uninflected form)
        lemmas = {
            lem.name().lower()
            for s in wn.synsets(x.lower())
            if x.lower() in {n.lower() for n in s.lemma_names()}
            for lem in s.lemmas()
        }
        assert y.lower() in lemmas and y.lower() != x.lower(), (x, y)
    # multi-word synonyms only when asked
    grew = [
        apply("synonym", t, s, p=1.0, max=5, multiword=True, min_count=0) for s, t in enumerate(verses[:60])
    ]
    assert any(len(words(out)) > len(words(t)) for out, t in zip(grew, verses))
    assert not any(re.search(r"\d", out) and not re.search(r"\d", t) for out, t in zip(grew, verses))


def sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+", text)


def test_sentence_shuffle_and_rotation(passages):
    # a last sentence without a full stop would merge with the next once moved; measure on clean ones
    multi = [t for t in passages if len(sentences(t)) >= 3 and t[-1] in ".!?"][:40]
    assert len(multi) == 40
    for seed, text in enumerate(multi):
        shuffled = apply("sentence_shuffle", text, seed)
        assert sorted(sentences(shuffled)) == sorted(sentences(text)) and shuffled != text
        # p=1: every sentence moves
        assert all(x != y for x, y in zip(sentences(shuffled), sentences(text)))
        rotated = sentences(apply("sentence_rotation", text, seed))
        n = len(sentences(text))
        assert rotated in [sentences(text)[r:] + sentences(text)[:r] for r in range(1, n)]
    single = "Ge1:1 In the beginning God created the heaven and the earth."
    assert apply("sentence_shuffle", single) == single


def test_word_dropout_and_span_masking_stay_within_bounds(passages):
    counts = set()
    for seed, text in enumerate(passages[:40]):
        out = words(apply("word_dropout", text, seed, p=0.03, min=1, max=5))
        assert is_subsequence(out, words(text)) and 1 <= len(words(text)) - len(out) <= 5
        counts.add(len(words(text)) - len(out))
        masked = apply("span_masking", text, seed, p=0.2, min=2, max=6, span=3, mask="<mask>")
        kept = [w for w in words(masked) if w != "<mask>"]
        assert is_subsequence(kept, words(text)) and 2 <= len(words(text)) - len(kept) <= 6
        assert 1 <= words(masked).count("<mask>") <= 6
    assert len(counts) > 1  # dropout is per word: the count varies


def test_whitespace_punctuation_and_case_noise(passages):
    for seed, text in enumerate(passages[:40]):
        out = apply("whitespace_noise", text, seed, p=1.0, min=1, max=4)
        assert re.sub(r"\s", "", out) == re.sub(r"\s", "", text) and out != text
        out = apply("whitespace_noise", text, seed, p=1.0, min=1, max=4, kinds=["double", "tab", "newline"])
        gaps_before, gaps_after = re.findall(r"\s+", text), re.findall(r"\s+", out)
        assert len(gaps_before) == len(gaps_after)
        assert 1 <= sum(a != b for a, b in zip(gaps_before, gaps_after)) <= 4

        out = apply("punctuation_noise", text, seed, p=1.0, min=1, max=3)
        strip = lambda s: re.sub(r"[^\w\s]", "", s)  # noqa: E731
        assert strip(out) == strip(text) and 1 <= changed_positions(words(out), words(text)) <= 3

        out = apply("case_noise", text, seed, p=1.0, min=1, max=3)
        assert out.lower() == text.lower() and 1 <= changed_positions(words(out), words(text)) <= 3


def test_untouched_text_keeps_its_exact_spacing():
    text = "Hi,  I can't log in.\n\nMy e-mail is bob@example.com -- it worked (v2.3.1) yesterday!"
    tok = FaithfulTokenizer()
    assert tok.detokenize(tok.tokenize(text)) == text
    out = apply("word_swap", text, 3, p=0.01, min=1, max=1)
    assert "\n\n" in out and "can't" in out and "  " in out


# --- provenance, fan-out, guard rails ----------------------------------------------------------------------


def run_step(docs: list[Document], **options) -> tuple[list[Document], dict[str, float]]:
    step = Augment(**options)
    out = list(step.run(iter(docs)))
    return out, {k: v.total if hasattr(v, "total") else v for k, v in step.stats.stats.items()}


def test_copies_carry_provenance_and_originals_stay(passages):
    docs = [Document(text=t, id=f"kjv-{i}", metadata={"source": "kjv"}) for i, t in enumerate(passages[:30])]
    out, stats = run_step(docs, transforms=[{"keyboard": {"p": 0.2}}, "case_noise"], copies=2, seed=7)
    originals = [d for d in out if not d.metadata.get("augmented")]
    copies = [d for d in out if d.metadata.get("augmented")]
    assert [d.id for d in originals] == [d.id for d in docs]
    assert len(copies) == 60 == stats["copies"] == stats["copies_keyboard"] == stats["copies_case_noise"]
    for c in copies:
        prov = c.metadata["augmentation"]
        assert c.id == f"{prov['source_id']}~aug{prov['copy']}" and prov["copy"] in (1, 2)
        assert prov["seed"] == 7 and [t["name"] for t in prov["transforms"]] == ["keyboard", "case_noise"]
        assert [t["position"] for t in prov["transforms"]] == [0, 1] and prov["unchanged"] == []
        assert prov["transforms"][0]["params"]["p"] == 0.2 and c.metadata["source"] == "kjv"
    assert stats["total"] == 30 and stats["forwarded"] == 90

    replaced, stats = run_step(docs[:10], transforms=["case_noise"], copies=1, replace=True)
    assert all(d.metadata.get("augmented") for d in replaced) and stats["originals_replaced"] == 10

    some, stats = run_step(docs, transforms=["case_noise"], fraction=0.5, seed=1)
    assert 0 < stats["copies"] < 30 and stats["not_selected"] == 30 - stats["copies"]

    one_of, stats = run_step(docs, transforms=["case_noise", "whitespace_noise"], mode="one_of", copies=3)
    assert all(
        len(d.metadata["augmentation"]["transforms"]) == 1 for d in one_of if d.metadata.get("augmented")
    )
    assert stats["copies_case_noise"] > 0 and stats["copies_whitespace_noise"] > 0


def test_per_transform_counts_and_provenance_name_only_real_changes(verses, passages):
    singles = [v for v in verses if len(sentences(v)) == 1][:20]
    multis = [t for t in passages if len(sentences(t)) >= 3 and t[-1] in ".!?"][:10]
    docs = [Document(text=t, id=f"d{i}") for i, t in enumerate(singles + multis)]
    out, stats = run_step(docs, transforms=["sentence_rotation", "case_noise"], seed=4)
    assert stats["copies"] == 30 == stats["copies_case_noise"]
    # a rotation of one sentence is no rotation: counted apart, not as a copy it made
    assert stats["copies_sentence_rotation"] == 10 and stats["unchanged_sentence_rotation"] == 20
    assert "unchanged_case_noise" not in stats
    for c in (d for d in out if d.metadata.get("augmented")):
        prov = c.metadata["augmentation"]
        single = c.metadata["augmentation"]["source_id"] in {f"d{i}" for i in range(20)}
        names = [(t["name"], t["position"]) for t in prov["transforms"]]
        assert names == ([("case_noise", 1)] if single else [("sentence_rotation", 0), ("case_noise", 1)])
        assert prov["unchanged"] == (["sentence_rotation"] if single else [])
        # the provenance is enough to make the copy again
        text = next(d.text for d in docs if d.id == prov["source_id"])
        for t in prov["transforms"]:
            seed = derive_seed(prov["seed"], prov["source_id"], prov["copy"], t["name"], t["position"], 0)
            text = build_transform(t["name"], t["params"])(text, seed)
        assert text == c.text

    out, stats = run_step(docs[:20], transforms=["sentence_rotation"], mode="one_of")
    assert stats["skipped_identical"] == stats["unchanged_sentence_rotation"] == 20
    assert "copies_sentence_rotation" not in stats and len(out) == 20


def test_moving_equal_protected_spans_is_no_change():
    # a swap of two placeholders that stand for the same span changes the masked text, not the copy
    assert not _differs("QXPROTECT1XQ or QXPROTECT0XQ", "QXPROTECT0XQ or QXPROTECT1XQ", ["5", "5"])
    assert _differs("QXPROTECT1XQ or QXPROTECT0XQ", "QXPROTECT0XQ or QXPROTECT1XQ", ["5", "6"])
    assert _differs("Pay QXPROTECT0XQ", "pay QXPROTECT0XQ", ["5"])


def test_guard_rails_count_skipped_copies(monkeypatch):
    single = "Ge1:1 In the beginning God created the heaven and the earth."
    docs = [
        Document(text=single, id="one-sentence"),
        Document(text="   ", id="blank"),
        Document(text="word " * 50, id="long"),
        Document(text="Hi", id="one-word", metadata={"augmented": True}),
    ]
    out, stats = run_step(docs, transforms=["sentence_shuffle"], copies=2, max_chars=200)
    assert [d.id for d in out] == ["one-sentence", "blank", "long", "one-word"]
    assert stats["skipped_identical"] == 2 and stats["no_target_text"] == 1
    assert stats["skipped_too_long"] == 1 and stats["already_augmented"] == 1

    broken = Document(text="user: ?", id="odd-chat", metadata={"turns": [{"role": "user", "content": None}]})
    out, stats = run_step([broken], transforms=["case_noise"])
    assert out == [broken] and stats["no_target_text"] == 1

    out, stats = run_step([Document(text="Amen.", id="amen")], transforms=[{"word_dropout": {"p": 1.0}}])
    assert stats["skipped_identical"] == 1  # the one word always stays: nothing to drop
    out, stats = run_step([Document(text="Amen.", id="amen")], transforms=["case_noise"], copies=12)
    assert stats["skipped_duplicate_copy"] > 0 and len({d.text for d in out}) == len(out)

    def boom(self, text, seed):
        raise ValueError("odd input")

    monkeypatch.setattr(TRANSFORMS["case_noise"], "transform", boom)
    out, stats = run_step([Document(text=single, id="x")], transforms=["case_noise"])
    assert len(out) == 1 and stats["transform_error_case_noise"] == 1


# --- chats and protected spans -----------------------------------------------------------------------------


def test_only_the_chosen_roles_change_and_the_structure_stays():
    docs = [chat_doc(i, turns) for i, turns in enumerate(CHATS)]
    transforms = [{"keyboard": {"p": 0.3}}, {"word_swap": {"p": 0.2}}, "case_noise"]
    out, stats = run_step(docs, transforms=transforms, copies=3, seed=3)
    copies = [d for d in out if d.metadata.get("augmented")]
    assert len(copies) == 12
    by_id = {d.id: d for d in docs}
    for c in copies:
        orig = by_id[c.metadata["augmentation"]["source_id"]].metadata["turns"]
        turns = c.metadata["turns"]
        assert [t["role"] for t in turns] == [t["role"] for t in orig]
        assert c.text == render_turns(turns)
        for new, old in zip(turns, orig):
            if new["role"] != "user":
                assert new["content"] == old["content"]
        assert any(n["content"] != o["content"] for n, o in zip(turns, orig) if n["role"] == "user")
    # the originals were not touched
    assert [d.metadata["turns"] for d in out if not d.metadata.get("augmented")] == [
        chat_doc(i, t).metadata["turns"] for i, t in enumerate(CHATS)
    ]
    everyone, _ = run_step(docs, transforms=[{"case_noise": {"p": 1.0}}], roles=["*"])
    for c in [d for d in everyone if d.metadata.get("augmented")]:
        assert all(n != o for n, o in zip(c.metadata["turns"], by_id[c.id.split("~")[0]].metadata["turns"]))


PROTECTED = [
    "https://track.example.com/p/48213",
    "jane.doe@example.org",
    "`sync --all`",
    "<|error|>",
    "2024-03-02",
    "89.90",
    "55102",
]


def test_protected_spans_stay_intact_under_heavy_noise():
    docs = [chat_doc(i, turns) for i, turns in enumerate(CHATS)]
    protect = ["code", "special_token", "url", "email", "number"]
    heavy = {
        "char_substitute": {"p": 1.0, "max": None, "char_p": 1.0},
        "keyboard": {"p": 1.0, "max": None, "char_p": 1.0, "numeric": True, "special_char": True},
        "case_noise": {"p": 1.0, "max": None},
        "punctuation_noise": {"p": 1.0, "max": None},
        "word_swap": {"p": 1.0, "max": None},
        "word_delete": {"p": 0.5, "max": None},
        "span_masking": {"p": 0.5, "max": None},
        "whitespace_noise": {"p": 1.0, "max": None, "kinds": ["double", "tab", "newline"]},
        "ocr": {"p": 1.0, "max": None, "char_p": 1.0},
    }
    for name, params in heavy.items():
        out, stats = run_step(docs, transforms=[{name: params}], copies=3, protect=protect, roles=["*"])
        copies = [d for d in out if d.metadata.get("augmented")]
        assert copies, name
        for c in copies:
            source = next(d for d in docs if d.id == c.metadata["augmentation"]["source_id"])
            for span in PROTECTED:
                assert c.text.count(span) == source.text.count(span), (name, span, c.text)
        # without protection the same noise does reach them
        if name == "char_substitute":
            bare, _ = run_step(docs, transforms=[{name: params}], copies=3, roles=["*"])
            assert any(
                d.text.count(PROTECTED[0]) < docs[0].text.count(PROTECTED[0])
                for d in bare
                if d.metadata.get("augmented")
            )


def test_a_lost_placeholder_refuses_the_copy():
    pattern = compile_protect(["url", "re:ORD-\\d{4}"])
    masked, spans = mask("see https://a.example/x and ORD-1234 now", pattern)
    assert spans == ["https://a.example/x", "ORD-1234"] and "https" not in masked
    assert restore(masked, spans) == "see https://a.example/x and ORD-1234 now"
    first, second = masked.split()[1], masked.split()[3]
    assert restore(masked.replace(first, ""), spans) is None  # dropped
    assert restore(masked.replace(second, second + " " + second), spans) is None  # duplicated
    assert mask("text with QXPROTECT1XQ in it", pattern) is None  # ambiguous: refused
    # crop ignores nlpaug's stopwords, so it can cut a placeholder: such copies are skipped and counted
    docs = [
        Document(text=f"Visit https://example.com/{i} for the refund form today.", id=str(i))
        for i in range(30)
    ]
    out, stats = run_step(docs, transforms=[{"word_crop": {"p": 0.6, "max": None}}], protect=["url"])
    assert stats.get("skipped_protected_span_lost", 0) > 0
    assert all(f"https://example.com/{d.id.split('~')[0]}" in d.text for d in out)


# --- splits: no held-out document reaches training ---------------------------------------------------------


def test_split_is_by_original_id_and_heldout_docs_get_no_copies(passages):
    docs = [Document(text=t, id=f"kjv-{i}", metadata={}) for i, t in enumerate(passages)]
    split = Split(train=0.6, validation=0.2, test=0.2, seed=5)
    labelled = [d for d in split.run(iter(docs))]
    counts = Counter(d.metadata["split"] for d in labelled)
    assert set(counts) == {"train", "validation", "test"} and counts["train"] > counts["test"]
    out, stats = run_step(labelled, transforms=["case_noise"], copies=2)
    train = {d.id for d in labelled if d.metadata["split"] == "train"}
    copies = [d for d in out if d.metadata.get("augmented")]
    assert {c.metadata["augmentation"]["source_id"] for c in copies} == train
    assert all(c.metadata["split"] == "train" for c in copies)
    assert stats["heldout_not_augmented"] == len(docs) - len(train)

    # split after augment: copies follow their original, and any copy outside train is dropped
    unsplit, _ = run_step(
        [Document(text=t, id=f"kjv-{i}") for i, t in enumerate(passages)], transforms=["case_noise"]
    )
    resplit = Split(train=0.6, validation=0.2, test=0.2, seed=5)
    kept = list(resplit.run(iter(unsplit)))
    assert {d.id for d in kept if d.metadata.get("augmented")} == {f"{i}~aug1" for i in train}
    for d in kept:
        assert d.metadata["split"] == ("train" if d.id.split("~")[0] in train else d.metadata["split"])
    assert resplit.stats["dropped_augmented_copy_in_heldout"].total == len(docs) - len(train)


# --- recipes, WordNet, CLI, determinism --------------------------------------------------------------------


def test_recipe_validation_messages(no_wordnet):
    def refused(options: dict, words_in_message: str) -> None:
        with pytest.raises(RecipeError, match=words_in_message):
            load_recipe({"steps": [{"augment": options}]})

    refused({"transforms": ["word_swop"]}, "unknown transform 'word_swop'; allowed: word_swap")
    refused({"transforms": [{"keyboard": {"rate": 0.1}}]}, "unknown parameter 'rate'; allowed: p, min, max")
    refused({"transforms": [{"case_noise": {"p": 1.5}}]}, "p must be in")
    refused({"transforms": [{"case_noise": {"min": 5, "max": 2}}]}, "min <= max")
    refused({"transforms": ["case_noise"], "mode": "all"}, "mode must be one of chain, one_of")
    refused({"transforms": ["case_noise"], "protect": ["phone"]}, "unknown protect kind 'phone'")
    refused({"transforms": ["case_noise"], "fraction": 0}, "fraction must be in")
    refused({"transforms": []}, "non-empty list")
    refused({"transforms": [{"synonym": {"min_char": 0}}]}, "min_char must be >= 1")
    refused({"transforms": [{"synonym": {"multiword": "yes"}}]}, "multiword should be bool")
    refused({"transforms": ["synonym"]}, "transform 'synonym' cannot run: NLTK WordNet data not found")
    with pytest.raises(RecipeError, match="sum to 1"):
        load_recipe({"steps": [{"split": {"train": 0.9, "validation": 0.2}}]})


def test_wordnet_absent_optional_is_skipped_with_one_warning(no_wordnet, capsys):
    import corpus.processors.augment as module

    module._warned.discard("synonym")
    options = {"transforms": ["case_noise", {"synonym": {"optional": True}}]}
    load_recipe({"steps": [{"augment": options}]})
    step = Augment(**options)
    assert [name for name, _ in step.options["transforms"]] == ["case_noise"]
    err = capsys.readouterr().err
    assert err.count("skipping optional transform 'synonym'") == 1 and "NLTK_DATA" in err
    with pytest.raises(RecipeError, match="none of the transforms can run"):
        Augment(transforms=[{"synonym": {"optional": True}}])


def test_wordnet_present_is_used(wordnet):
    step = Augment(transforms=[{"synonym": {"p": 0.3, "optional": True}}])
    assert [name for name, _ in step.options["transforms"]] == ["synonym"]
    out = list(step.run(iter([Document(text="The quick brown fox jumps over the lazy dog.", id="fox")])))
    assert len(out) == 2 and out[1].metadata["augmentation"]["transforms"][0]["name"] == "synonym"


def test_same_text_in_any_process_and_hash_seed(tmp_path):
    """nlpaug's spelling candidates come from a set: without sorting, outputs changed with PYTHONHASHSEED."""
    code = (
        "import json, nltk, sys\n"
        f"nltk.data.path.insert(0, {str(NLTK_SHARED)!r})\n"
        "from corpus.augment import build_transform, parse_transforms\n"
        "text = 'I believe the weather is different today, their house is beautiful and quite big.'\n"
        "names = ['spelling', 'keyboard', 'word_swap', 'case_noise']\n"
        "names += ['synonym'] if __import__('os').path.isdir(nltk.data.path[0]) else []\n"
        "out = {n: [build_transform(n, parse_transforms([{n: {'p': 0.5}}])[0][1])(text, s) for s in range(20)]"
        " for n in names}\n"
        "print(json.dumps(out))\n"
    )
    procs = [  # both at once: each pays the nlpaug (torch) and WordNet imports
        subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            cwd=REPO,
        )
        for hash_seed in ("1", "2")
    ]
    outputs = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        outputs.append(json.loads(stdout))
    assert outputs[0] == outputs[1]
    assert len(set(outputs[0]["spelling"])) > 5


def write_inputs(folder: Path, passages: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(3):
        with open(folder / f"kjv-{f}.jsonl", "w") as out:
            for i in range(40):
                out.write(json.dumps({"id": f"kjv-{f}-{i}", "text": passages[f * 40 + i]}) + "\n")
            out.write("{broken line\n")
    with open(folder / "support.jsonl", "w") as out:
        for i, turns in enumerate(CHATS * 5):
            messages = [{"role": r, "content": c} for r, c in turns]
            out.write(json.dumps({"id": f"support-{i}", "messages": messages}) + "\n")


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((folder / "data").iterdir())}


RECIPE = {
    "name": "aug-test",
    "seed": 11,
    "steps": [
        {"split": {"train": 0.8, "validation": 0.1, "test": 0.1}},
        {
            "augment": {
                "copies": 2,
                "protect": ["url", "email", "number", "code", "special_token"],
                "transforms": [
                    {"spelling": {"p": 0.2, "apply_p": 0.7}},
                    {"keyboard": {"p": 0.1, "apply_p": 0.5}},
                    {"word_swap": {"p": 0.1, "apply_p": 0.5}},
                    {"sentence_shuffle": {"apply_p": 0.3}},
                    {"word_dropout": {"p": 0.1, "apply_p": 0.5}},
                    {"case_noise": {"p": 0.1}},
                ],
            }
        },
    ],
    "output": {"max_docs_per_shard": 100},
}


@pytest.mark.slow
def test_same_bytes_whatever_the_worker_count(tmp_path, passages):
    write_inputs(tmp_path / "in", passages)
    one = run_recipe(RECIPE, str(tmp_path / "in"), str(tmp_path / "w1"), workers=1, report=False)
    two = run_recipe(RECIPE, str(tmp_path / "in"), str(tmp_path / "w2"), workers=2, report=False)
    assert digest(tmp_path / "w1") == digest(tmp_path / "w2")
    aug = [s for s in one["steps"] if s["name"] == "augment"]
    assert aug == [s for s in two["steps"] if s["name"] == "augment"] or all(
        {k: v for k, v in a.items() if k != "time_s"} == {k: v for k, v in b.items() if k != "time_s"}
        for a, b in zip(aug, [s for s in two["steps"] if s["name"] == "augment"])
    )
    counters = aug[0]["counters"]
    assert counters["copies"] > 100 and counters["copies_case_noise"] == counters["copies"]
    assert counters["heldout_not_augmented"] > 0
    rows = [r for p in sorted((tmp_path / "w1" / "data").iterdir()) for r in pq.read_table(p).to_pylist()]
    assert len(rows) == one["documents_out"] == 140 + counters["copies"]
    meta = {r["id"]: json.loads(r["metadata"]) for r in rows}
    for r in rows:
        if meta[r["id"]].get("augmented"):
            source = meta[r["id"]]["augmentation"]["source_id"]
            assert meta[source]["split"] == "train" == meta[r["id"]]["split"]
            if r["turns"]:
                assert r["text"] == render_turns(r["turns"])


@pytest.mark.slow
def test_cli_default_recipe_and_fail_fast(tmp_path, passages, capsys):
    write_inputs(tmp_path / "in", passages)
    out = tmp_path / "out"
    assert (
        main(["augment", str(tmp_path / "in"), "--output", str(out), "--no-report", "-q", "--seed", "3"]) == 0
    )
    stats = json.loads((out / "stats.json").read_text())
    assert [s["name"] for s in stats["steps"]] == ["split", "augment"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["recipe"]["seed"] == 3 and manifest["documents"] == stats["documents_out"]

    # one file as INPUT (not a folder), with the summary printed
    capsys.readouterr()
    single = tmp_path / "in" / "support.jsonl"
    assert main(["augment", str(single), "--output", str(tmp_path / "one"), "--no-report"]) == 0
    stats = json.loads((tmp_path / "one" / "stats.json").read_text())
    counters = next(s for s in stats["steps"] if s["name"] == "augment")["counters"]
    assert stats["documents_out"] == 20 + counters["copies"] and counters["copies"] > 0
    summary = capsys.readouterr().out
    assert "per transform: copies changed, ran without a change" in summary
    assert not re.search(r"^  (copies|unchanged)_", summary, re.M)  # folded into the per-transform lines

    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - augment: {transforms: [synonym]}\n")
    env = {k: v for k, v in os.environ.items() if k != "NLTK_DATA"}
    env["HOME"] = str(tmp_path)  # no ~/nltk_data either
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "corpus.cli",
            "augment",
            str(tmp_path / "in"),
            "-o",
            str(tmp_path / "o2"),
            "-r",
            str(bad),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("corpus: error: augment: transform 'synonym' cannot run: NLTK WordNet data not found")
    )
    assert not (tmp_path / "o2").exists()
