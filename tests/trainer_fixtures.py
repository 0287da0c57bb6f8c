"""Token shards for the trainer's tests, built once per session: KJV chapters (real text from ../shared/data)
as a small Parquet dataset, a 512-token BPE trained on it, and its token shards; and the sample chats
prepared by `corpus prepare chat`."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]
KJV = REPO.parent / "shared" / "data" / "kjv.txt"


def kjv_dataset(out: Path, chapters: int) -> Path:
    """The first `chapters` chapters of KJV, one document each (the verse references stripped)."""
    docs: dict[str, list[str]] = {}
    with open(KJV, encoding="utf-8") as f:
        for line in f:
            ref, _, verse = line.strip().partition(" ")
            chapter = re.sub(r":\d+$", "", ref)
            if chapter not in docs and len(docs) == chapters:
                break
            docs.setdefault(chapter, []).append(verse)
    (out / "data").mkdir(parents=True)
    table = pa.table({"id": list(docs), "text": ["\n".join(v) for v in docs.values()]})
    pq.write_table(table, out / "data" / "part-00000.parquet")
    return out


def corpus_cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "corpus.cli", *map(str, args)], check=True, capture_output=True)


def build_kjv_tokens(root: Path, chapters: int = 150, vocab: int = 512, val_fraction: float = 0.1) -> Path:
    from corpus.tokenization import tokenize_dataset, train_tokenizer

    data = kjv_dataset(root / "kjv", chapters)
    train_tokenizer(str(data), vocab, str(root / "tok"))
    tokenize_dataset(str(data), str(root / "tok"), str(root / "tokens"), val_fraction=val_fraction)
    return root / "tokens"


@pytest.fixture(scope="session")
def kjv_tokens(tmp_path_factory) -> Path:
    if not KJV.is_file():
        pytest.skip("../shared/data is not present")
    return build_kjv_tokens(tmp_path_factory.mktemp("kjv"))


@pytest.fixture(scope="session")
def chat_dataset(tmp_path_factory) -> Path:
    """sample_data/chat through `corpus prepare chat`."""
    out = tmp_path_factory.mktemp("chat") / "prepared"
    corpus_cli("prepare", "chat", "--input", REPO / "sample_data" / "chat", "--output", out)
    return out
