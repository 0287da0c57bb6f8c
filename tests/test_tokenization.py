"""Tokenizer training and token shards, on real text from ../shared/data (KJV verses, Python docs rst)."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest

from corpus.cli import main
from corpus.errors import InputError, OutputError, RecipeError
from corpus.schema import SCHEMA, rows_to_table
from corpus.tokenization import (
    TokenShards,
    check_tokenizer,
    choose_dtype,
    encode_chats,
    load_tokenizer,
    tokenize_dataset,
    tokenizer_hash,
    train_tokenizer,
)
from corpus.tokenization import shards as shards_module
from corpus.tokenization import source as source_module
from corpus.tokenization.chat import chat_bytes, chat_text
from corpus.tokenization.shards import is_validation

CHATS = [
    [
        {"role": "user", "content": "Who created the heaven and the earth?"},
        {"role": "assistant", "content": "In the beginning God created the heaven and the earth."},
    ],
    [
        {"role": "system", "content": "Answer with a verse."},
        {"role": "user", "content": "What was upon the face of the deep?"},
        {"role": "assistant", "content": "And darkness was upon the face of the deep."},
        {"role": "user", "content": "And then?"},
        {"role": "assistant", "content": "And the Spirit of God moved upon the face of the waters.\n"},
    ],
    [  # a role with no token of its own, and an assistant turn with unicode
        {"role": "tool", "content": '{"verse": "Ge1:3"}'},
        {"role": "assistant", "content": "Let there be light — « lumière » ✓"},
    ],
    [{"role": "user", "content": ""}, {"role": "assistant", "content": ""}],  # nothing to learn from
]


def _row(doc_id: str, text: str | None, turns=None, source: str = "test") -> dict:
    return {"id": doc_id, "text": text, "source": source, "url": None, "metadata": "{}", "turns": turns}


def _kjv_chunks(shared: Path, lines: int, per_chunk: int) -> list[str]:
    verses = (shared / "kjv.txt").read_text(encoding="utf-8").splitlines()[:lines]
    return ["\n".join(verses[i : i + per_chunk]) for i in range(0, len(verses), per_chunk)]


def _rst_texts(shared: Path, n: int) -> list[str]:
    files = sorted((shared / "python-docs" / "rst" / "library").glob("*.rst.txt"))[:n]
    return [f.read_text(encoding="utf-8")[:20_000] for f in files]


@pytest.fixture(scope="module")
def dataset(shared: Path, tmp_path_factory) -> Path:
    """Two shards, one Parquet and one Arrow, small row groups: KJV chunks, rst pages, chats, bad rows."""
    rows = [_row(f"kjv-{i}", t, source="kjv") for i, t in enumerate(_kjv_chunks(shared, 6000, 3))]
    rows += [_row(f"rst-{i}", t, source="python-docs") for i, t in enumerate(_rst_texts(shared, 30))]
    rows += [_row(f"chat-{i}", "rendered elsewhere", turns) for i, turns in enumerate(CHATS)]
    rows += [
        _row("empty-1", ""),
        _row("empty-2", None),
        _row("forged", "text that spells <|eos|> and <|end|>"),
    ]
    order = np.random.default_rng(0).permutation(len(rows))  # chats and bad rows land in both shards
    table = rows_to_table([rows[i] for i in order])
    root = tmp_path_factory.mktemp("tok-dataset")
    (root / "data").mkdir()
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), root / "data" / "part-00000-00000.parquet", row_group_size=200)
    with ipc.new_file(str(root / "data" / "part-00001-00000.arrow"), SCHEMA) as writer:
        for batch in table.slice(half).to_batches(max_chunksize=200):
            writer.write_batch(batch)
    return root


@pytest.fixture(scope="module")
def tokenizer(dataset: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tok") / "bpe"
    info = train_tokenizer(str(dataset), 1024, str(out))
    assert info["vocab_size"] == 1024 and info["documents"] > 2000
    return out


@pytest.fixture(autouse=True)
def small_units(monkeypatch):
    """Several units per shard, so worker-count and resume tests have something to split."""
    monkeypatch.setattr(source_module, "UNIT_ROWS", 500)


def _dataset_rows(dataset: Path) -> list[dict]:
    rows = pq.read_table(dataset / "data" / "part-00000-00000.parquet").to_pylist()
    with pa.memory_map(str(dataset / "data" / "part-00001-00000.arrow")) as source:
        rows += ipc.open_file(source).read_all().to_pylist()
    return rows


def _decoded_bytes(tok, ids: list[int]) -> int:
    return len(tok.decode(ids).encode("utf-8"))


def _expected(tok, rows: list[dict], seed: int, fraction: float) -> dict[str, dict[str, list]]:
    """What the shards must hold, computed document by document with the tokenizer alone. Bytes are those of
    the text the tokens decode to (what bits per byte divides by): for a chat the rendered template, not the
    `text` column and not the contents alone; mask bytes those of the tokens under the loss mask."""
    out = {s: {"ids": [], "mask": [], "lengths": [], "bytes": 0, "mask_bytes": 0} for s in ("train", "val")}
    for row in rows:
        split = out["val" if is_validation(row["id"], seed, fraction) else "train"]
        if row["turns"]:
            encoded = encode_chats(tok, [row["turns"]])[0]
            if encoded is None:
                continue
            ids, mask = encoded
        else:
            ids = tok.tokenizer.encode(row["text"] or "", add_special_tokens=False).ids
            if not ids:
                continue
            mask = [1] * len(ids)
        split["ids"] += ids + [tok.eos_id]
        split["mask"] += mask + [0 if row["turns"] else 1]
        split["lengths"].append(len(ids) + 1)
        split["bytes"] += _decoded_bytes(tok, ids)
        split["mask_bytes"] += _decoded_bytes(tok, [i for i, m in zip(ids, mask) if m])
    return out


# --- the tokenizer ------------------------------------------------------------------------------------


def test_roundtrip_on_real_text(shared, tokenizer):
    texts = _kjv_chunks(shared, 400, 20) + _rst_texts(shared, 12) + ["", "  \n\t ", "naïve café — 東京 🙂"]
    for path in (tokenizer, shared / "tokenizers" / "gpt2"):
        tok = load_tokenizer(str(path))
        for text, ids in zip(texts, tok.encode_batch(texts)):
            assert tok.decode(ids) == text


def test_special_token_strings_in_text_are_plain_text(tokenizer):
    tok = load_tokenizer(str(tokenizer))
    text = "a document quoting <|eos|> and <|user|> literally"
    ids = tok.encode_batch([text])[0]
    assert tok.eos_id not in ids and tok.marker("<|user|>")[0] not in ids
    assert tok.decode(ids) == text


def test_trained_folder_loads_in_transformers_with_same_ids(shared, tokenizer):
    transformers = pytest.importorskip("transformers")
    hf = transformers.AutoTokenizer.from_pretrained(str(tokenizer))
    fast = transformers.PreTrainedTokenizerFast.from_pretrained(str(tokenizer))
    tok = load_tokenizer(str(tokenizer))
    texts = _kjv_chunks(shared, 200, 10) + _rst_texts(shared, 3)
    for text, ids in zip(texts, tok.encode_batch(texts)):
        assert hf(text, add_special_tokens=False)["input_ids"] == ids
        assert fast.encode(text, add_special_tokens=False) == ids
    assert (hf.bos_token, hf.eos_token, hf.pad_token) == ("<|bos|>", "<|eos|>", "<|pad|>")
    for chat in CHATS[:2]:  # standard roles: the saved chat template renders exactly what the shards hold
        rendered = hf.apply_chat_template(chat, tokenize=True, return_dict=False)
        assert rendered == encode_chats(tok, [chat])[0][0]


def test_training_is_deterministic(dataset, tokenizer, tmp_path):
    train_tokenizer(str(dataset), 1024, str(tmp_path / "again"))
    assert (tmp_path / "again" / "tokenizer.json").read_bytes() == (tokenizer / "tokenizer.json").read_bytes()


def test_gpt2_folder_is_accepted(shared):
    tok = load_tokenizer(str(shared / "tokenizers" / "gpt2"))
    assert (tok.eos_token, tok.eos_id, tok.vocab_size) == ("<|endoftext|>", 50256, 50257)
    assert tok.encode_batch(["Hello world!"]) == [[15496, 995, 0]]
    assert choose_dtype(tok.vocab_size) == "uint16"


def test_bad_tokenizer_and_training_options(dataset, tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_tokenizer(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="neither tokenizer.json"):
        load_tokenizer(str(tmp_path / "empty"))
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(InputError, match="cannot be loaded"):
        load_tokenizer(str(tmp_path / "broken.json"))
    with pytest.raises(InputError, match="at least 263"):
        train_tokenizer(str(dataset), 100, str(tmp_path / "t"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="not empty"):
        train_tokenizer(str(dataset), 300, str(tmp_path / "full"))


# --- token shards -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tokens(dataset, tokenizer, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tokens") / "w1"
    source_module.UNIT_ROWS, before = 500, source_module.UNIT_ROWS  # module scope: no monkeypatch here
    try:
        tokenize_dataset(str(dataset), str(tokenizer), str(out), workers=1, val_fraction=0.1, seed=7)
    finally:
        source_module.UNIT_ROWS = before
    return out


def test_shards_hold_exactly_the_tokenizers_ids(dataset, tokenizer, tokens):
    tok = load_tokenizer(str(tokenizer))
    expected = _expected(tok, _dataset_rows(dataset), seed=7, fraction=0.1)
    shards = TokenShards(str(tokens), tokenizer=str(tokenizer))
    assert shards.dtype == np.uint16 and isinstance(shards.train, np.memmap)
    for split in ("train", "val"):
        want = expected[split]
        assert shards.tokens(split).tolist() == want["ids"]
        assert shards.mask(split).tolist() == want["mask"]
        assert np.diff(shards.offsets(split)).tolist() == want["lengths"]
        assert shards.meta["splits"][split]["tokens"] == len(want["ids"])
        assert shards.meta["splits"][split]["documents"] == len(want["lengths"])
        assert shards.text_bytes(split) == want["bytes"]
        assert shards.mask_text_bytes(split) == want["mask_bytes"]
        assert want["mask_bytes"] < want["bytes"] or not shards.meta["splits"][split]["conversations"]
    assert 0 < shards.documents("val") < shards.documents("train")
    assert shards.meta["skipped"] == {"encodes_to_nothing": 2, "empty_conversation": 1}
    assert shards.meta["counters"]["conversation_with_other_role"] == 1
    # every document ends with exactly one end-of-document token, and none occur elsewhere
    train, offsets = shards.train, shards.offsets("train")
    assert (train[offsets[1:] - 1] == tok.eos_id).all()
    assert int((train == tok.eos_id).sum()) == shards.documents("train")


def test_chat_bytes_count_the_rendered_template(shared, tokenizer, tokens):
    """Bits per byte divides by the bytes of what was encoded: a conversation's rendered chat template."""
    for path in (tokenizer, shared / "tokenizers" / "gpt2"):  # role tokens, and roles spelled as text
        tok = load_tokenizer(str(path))
        for chat in CHATS[:3]:
            ids, mask = encode_chats(tok, [chat])[0]
            assert tok.decode(ids) == chat_text(tok, chat)
            assert chat_bytes(tok, chat) == (
                _decoded_bytes(tok, ids),
                _decoded_bytes(tok, [i for i, m in zip(ids, mask) if m]),
            )
    tok = load_tokenizer(str(tokenizer))
    assert chat_text(tok, CHATS[0]) == (
        "<|bos|><|user|>Who created the heaven and the earth?<|end|>"
        "<|assistant|>In the beginning God created the heaven and the earth.<|end|>"
    )
    meta = json.loads((tokens / "meta.json").read_text())
    assert "rendered chat template" in meta["text_bytes_of"] and "assistant" in meta["mask_text_bytes_of"]
    assert meta["format"] == "corpus-tokens/2"


def test_chat_mask_covers_exactly_the_assistant_turns(tokenizer, tokens):
    tok = load_tokenizer(str(tokenizer))
    shards = TokenShards(str(tokens))
    found = 0
    for split in ("train", "val"):
        ids, mask, offsets = shards.tokens(split), shards.mask(split), shards.offsets(split)
        for i in range(shards.documents(split)):
            doc, doc_mask = ids[offsets[i] : offsets[i + 1]], mask[offsets[i] : offsets[i + 1]]
            text = tok.decode(doc.tolist())
            chat = next(
                (c for c in CHATS[:3] if text.startswith("<|bos|>") and c[0]["content"] in text), None
            )
            if chat is None:
                assert doc_mask.all()  # plain documents train on every token
                continue
            found += 1
            edges = np.flatnonzero(np.diff(np.concatenate([[0], doc_mask.astype(int), [0]])))
            spans = [tok.decode(doc[a:b].tolist()) for a, b in zip(edges[::2], edges[1::2])]
            assert spans == [t["content"] + "<|end|>" for t in chat if t["role"] == "assistant"]
    assert found == 3


def test_output_is_identical_with_two_workers(dataset, tokenizer, tokens, tmp_path):
    out = tmp_path / "w2"
    tokenize_dataset(str(dataset), str(tokenizer), str(out), workers=2, val_fraction=0.1, seed=7)
    names = sorted(os.listdir(tokens))
    assert names == sorted(os.listdir(out))
    assert "train.mask.bin" in names and not (out / ".parts").exists()
    match, mismatch, errors = filecmp.cmpfiles(tokens, out, names, shallow=False)
    assert mismatch == [] and errors == []


def test_resume_after_interruption(dataset, tokenizer, tokens, tmp_path, monkeypatch):
    out = tmp_path / "resumed"
    real, done = shards_module.tokenize_unit, []

    def dies_after_three(unit, *args):
        if len(done) == 3:
            raise KeyboardInterrupt
        done.append(unit.name)
        return real(unit, *args)

    monkeypatch.setattr(shards_module, "tokenize_unit", dies_after_three)
    with pytest.raises(KeyboardInterrupt):
        tokenize_dataset(str(dataset), str(tokenizer), str(out), val_fraction=0.1, seed=7)
    assert len(list((out / ".parts").glob("part-*.npz"))) == 3 and not (out / "meta.json").exists()
    monkeypatch.setattr(shards_module, "tokenize_unit", real)
    meta = tokenize_dataset(str(dataset), str(tokenizer), str(out), val_fraction=0.1, seed=7)
    assert meta["resumed_units"] == 3
    assert (out / "train.bin").read_bytes() == (tokens / "train.bin").read_bytes()
    assert (out / "meta.json").read_bytes() == (tokens / "meta.json").read_bytes()
    again = tokenize_dataset(str(dataset), str(tokenizer), str(out), val_fraction=0.1, seed=7)
    assert again["already_done"]


def test_other_tokenizer_or_options_refused(shared, dataset, tokenizer, tokens, tmp_path):
    gpt2 = str(shared / "tokenizers" / "gpt2")
    other = tmp_path / "other"  # a fresh tokenizer trained on the same data, with another vocabulary
    train_tokenizer(str(dataset), 300, str(other), max_documents=300)
    for wrong in (gpt2, str(other), load_tokenizer(gpt2)):
        with pytest.raises(InputError) as err:
            TokenShards(str(tokens), tokenizer=wrong)
        message = str(err.value)
        assert "\n" not in message and "were made with another tokenizer" in message
        assert str(tokenizer) in message and (str(other) in message or gpt2 in message)
        assert f"--output {tokens}" in message
        with pytest.raises(InputError, match="were made with another tokenizer"):
            check_tokenizer(str(tokens), wrong)
    assert check_tokenizer(str(tokens), str(tokenizer / "tokenizer.json"))["dtype"] == "uint16"
    assert len(TokenShards(str(tokens), tokenizer=load_tokenizer(str(tokenizer))).train) > 0
    with pytest.raises(OutputError, match="another dataset, tokenizer or split"):
        tokenize_dataset(str(dataset), gpt2, str(tokens), val_fraction=0.1, seed=7)
    with pytest.raises(OutputError, match="another dataset, tokenizer or split"):
        tokenize_dataset(str(dataset), str(tokenizer), str(tokens), val_fraction=0.1, seed=8)


def test_tokenizer_hash_ignores_file_formatting(tokenizer, tokens, tmp_path, capsys):
    """The hash is that of the canonical JSON: re-saving tokenizer.json differently keeps it (and the shards
    usable); another end-of-document token in tokenizer_config.json is another tokenizer."""
    meta = json.loads((tokens / "meta.json").read_text())
    original = json.loads((tokenizer / "tokenizer.json").read_text())
    training = json.loads((tokenizer / "training.json").read_text())
    assert meta["tokenizer"]["sha256"] == training["sha256"] == tokenizer_hash(str(tokenizer))
    assert main(["tokenizer", "info", str(tokenizer)]) == 0
    assert json.loads(capsys.readouterr().out)["sha256"] == training["sha256"]
    for name, dump in (
        ("compact", lambda d: json.dumps(d, separators=(",", ":"))),
        ("sorted", lambda d: json.dumps(d, indent=4, sort_keys=True, ensure_ascii=False)),
    ):
        shutil.copytree(tokenizer, tmp_path / name)
        (tmp_path / name / "tokenizer.json").write_text(dump(original))
        tok = load_tokenizer(str(tmp_path / name))
        assert tok.file_sha256 != meta["tokenizer"]["file_sha256"]
        assert tok.sha256 == meta["tokenizer"]["sha256"] == tokenizer_hash(str(tmp_path / name))
        assert TokenShards(str(tokens), tokenizer=str(tmp_path / name)).documents("train") > 0
    shutil.copytree(tokenizer, tmp_path / "eos")
    config = json.loads((tokenizer / "tokenizer_config.json").read_text())
    (tmp_path / "eos" / "tokenizer_config.json").write_text(json.dumps({**config, "eos_token": "<|end|>"}))
    assert tokenizer_hash(str(tmp_path / "eos")) == meta["tokenizer"]["sha256"]
    with pytest.raises(InputError, match="eos id"):
        TokenShards(str(tokens), tokenizer=str(tmp_path / "eos"))


def test_gpt2_shards(shared, dataset, tmp_path):
    out = tmp_path / "gpt2"
    gpt2 = shared / "tokenizers" / "gpt2"
    meta = tokenize_dataset(str(dataset), str(gpt2), str(out), workers=2, val_fraction=0.0)
    shards = TokenShards(str(out), tokenizer=str(gpt2))
    assert meta["dtype"] == "uint16" and meta["tokenizer"]["eos_id"] == 50256
    assert shards.documents("val") == 0 and len(shards.val) == 0
    assert int((shards.train == 50256).sum()) == shards.documents("train")
    # GPT-2 has no role tokens: markers are spelled as text, the mask still isolates the answers
    mask = shards.mask("train")
    answers = load_tokenizer(str(gpt2)).decode(shards.train[mask == 0].tolist())
    assert (
        "Who created the heaven" in answers
        and "In the beginning God created the heaven and the" not in answers
    )


def test_vocabulary_too_large_for_dtype(dataset, tokenizer, tmp_path):
    from tokenizers import Tokenizer

    big = Tokenizer.from_file(str(tokenizer / "tokenizer.json"))
    big.add_tokens([f"zzqx{i}" for i in range(66_000)])
    (tmp_path / "big").mkdir()
    big.save(str(tmp_path / "big" / "tokenizer.json"))
    with pytest.raises(InputError, match="does not fit in uint16"):
        tokenize_dataset(str(dataset), str(tmp_path / "big"), str(tmp_path / "t16"), dtype="uint16")
    meta = tokenize_dataset(str(dataset), str(tmp_path / "big"), str(tmp_path / "t32"), val_fraction=0.0)
    assert meta["dtype"] == "uint32"
    assert TokenShards(str(tmp_path / "t32")).train.dtype == np.uint32


def test_bad_datasets_and_outputs(dataset, tokenizer, tmp_path):
    with pytest.raises(InputError, match="dataset not found"):
        tokenize_dataset(str(tmp_path / "nope"), str(tokenizer), str(tmp_path / "o"))
    (tmp_path / "bare").mkdir()
    with pytest.raises(InputError, match="no Parquet or Arrow shards"):
        tokenize_dataset(str(tmp_path / "bare"), str(tokenizer), str(tmp_path / "o"))
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "bare" / "other.parquet")
    with pytest.raises(InputError, match="no 'text' column"):
        tokenize_dataset(str(tmp_path / "bare"), str(tokenizer), str(tmp_path / "o"))
    (tmp_path / "bare" / "junk.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="not a readable"):
        tokenize_dataset(str(tmp_path / "bare"), str(tokenizer), str(tmp_path / "o"))
    with pytest.raises(OutputError, match="would hold the dataset"):
        tokenize_dataset(str(dataset), str(tokenizer), str(dataset))
    with pytest.raises(InputError, match="val-fraction"):
        tokenize_dataset(str(dataset), str(tokenizer), str(tmp_path / "o"), val_fraction=1.5)
    with pytest.raises(InputError, match="no meta.json"):
        TokenShards(str(tmp_path))


# --- command line and recipe step ---------------------------------------------------------------------


def test_cli_train_and_tokenize(dataset, tmp_path, capsys):
    tok, out = tmp_path / "tok", tmp_path / "tokens"
    argv = [
        "tokenizer",
        "train",
        str(dataset),
        "--vocab-size",
        "300",
        "--output",
        str(tok),
        "--max-documents",
        "500",
    ]
    assert main(argv) == 0
    assert json.loads((tok / "training.json").read_text())["documents"] == 500
    assert main(["tokenize", str(dataset), "--tokenizer", str(tok), "--output", str(out), "-w", "2"]) == 0
    assert "tokens" in capsys.readouterr().out
    assert json.loads((out / "meta.json").read_text())["tokenizer"]["vocab_size"] == 300
    assert main(["tokenizer", "train", str(dataset), "--vocab-size", "300", "--output", str(tok)]) == 2
    assert main(["tokenize", str(dataset), "--tokenizer", str(tmp_path / "x"), "--output", str(out)]) == 2
    assert "corpus: error: tokenizer not found" in capsys.readouterr().err
    assert main(["tokenizer", "info", str(tok)]) == 0
    assert json.loads(capsys.readouterr().out)["vocab_size"] == 300


def test_recipe_step(dataset, tokenizer, tokens, tmp_path):
    from corpus.recipe import is_after_run, load_recipe
    from corpus.registry import build_step

    recipe = load_recipe(
        {"seed": 7, "steps": [{"tokenize": {"tokenizer": str(tokenizer), "val_fraction": 0.1}}]}
    )
    name, opts = recipe.steps[0]
    assert is_after_run(name) and opts["seed"] == 7
    with pytest.raises(RecipeError, match="tokenizer not found"):
        load_recipe({"steps": [{"tokenize": {"tokenizer": str(tmp_path / "none")}}]})
    with pytest.raises(RecipeError, match="val_fraction"):
        load_recipe({"steps": [{"tokenize": {"tokenizer": str(tokenizer), "val_fraction": 2.0}}]})
    run_dir = tmp_path / "run"
    (run_dir / "data").mkdir(parents=True)
    for shard in (dataset / "data").iterdir():
        os.link(shard, run_dir / "data" / shard.name)  # same files: same mtimes, same shards
    result = build_step(name, opts).after_run_hook(str(run_dir), 2)
    assert result["output"] == str(run_dir / "tokens") and result["kept"] == result["documents"]
    assert result["dropped"] == {"encodes_to_nothing": 2, "empty_conversation": 1}
    assert (run_dir / "tokens" / "train.bin").read_bytes() == (tokens / "train.bin").read_bytes()


@pytest.mark.slow
def test_prepare_then_tokenize_end_to_end(shared, tokenizer, tmp_path):
    from corpus.pipeline import run_recipe

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "kjv.txt").write_text("\n".join(_kjv_chunks(shared, 800, 1)) + "\n")
    recipe = {"seed": 1, "steps": [{"tokenize": {"tokenizer": str(tokenizer), "val_fraction": 0.2}}]}
    stats = run_recipe(recipe, str(tmp_path / "in"), str(tmp_path / "out"), workers=2, report=False)
    step = next(s for s in stats["steps"] if s["name"] == "tokenize")
    shards = TokenShards(str(tmp_path / "out" / "tokens"), tokenizer=str(tokenizer))
    assert step["tokens"] == len(shards.train) + len(shards.val) > 0
    assert shards.documents("train") + shards.documents("val") == stats["documents_out"]


def test_killed_worker_fails_clearly_and_run_resumes(dataset, tokenizer, tokens, tmp_path, monkeypatch):
    import signal

    from corpus.errors import CorpusError

    out, real = tmp_path / "killed", shards_module.tokenize_unit

    def killed_on_unit_two(unit, *args):
        if unit.name == "part-00000-00002":
            os.kill(os.getpid(), signal.SIGKILL)
        return real(unit, *args)

    monkeypatch.setattr(shards_module, "tokenize_unit", killed_on_unit_two)
    with pytest.raises(CorpusError, match="worker died"):
        tokenize_dataset(str(dataset), str(tokenizer), str(out), workers=2, val_fraction=0.1, seed=7)
    monkeypatch.setattr(shards_module, "tokenize_unit", real)
    meta = tokenize_dataset(str(dataset), str(tokenizer), str(out), workers=2, val_fraction=0.1, seed=7)
    assert meta["resumed_units"] >= 1
    assert (out / "train.bin").read_bytes() == (tokens / "train.bin").read_bytes()
