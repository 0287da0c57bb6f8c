"""Fine-tuning on conversations: the loss covers assistant replies only (token by token), bad conversations
are counted and skipped, a tiny model fine-tuned on sample_data/chat lowers its held-out loss, and a random
LlamaForCausalLM saved by the test fine-tunes end to end with and without LoRA and exports back to
transformers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from trainer_fixtures import chat_dataset, kjv_tokens  # noqa: F401 (fixtures)

from corpus.cli import main as cli
from corpus.tokenization import CHAT_TEMPLATE, TokenShards, load_tokenizer, tokenize_dataset
from trainer.checkpoint import load_model
from trainer.evaluate import evaluate_lm, make_batch
from trainer.finetune import conversation_problem, filter_chats
from trainer.hf import chat_template_of
from trainer.train import load_config, train

SMALL = ["batch_size=4", "samples=1", "sample_tokens=8", "threads=1"]


@pytest.fixture(scope="module")
def base_run(kjv_tokens, tmp_path_factory) -> Path:  # noqa: F811
    """A small model pretrained a few steps on KJV, with 512 positions (the sample chats are long)."""
    out = tmp_path_factory.mktemp("base") / "run"
    config = load_config("tiny", ["d_model=64", "n_layer=2", "seq_len=512", "batch_size=4", "max_steps=10",
                                  "eval_every=10", "samples=0", "threads=1"])  # fmt: skip
    train(config, str(kjv_tokens), str(out), progress=False)
    return out


def test_conversation_problems():
    u, a = {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}
    assert conversation_problem([u, a]) is None
    assert conversation_problem([{"role": "system", "content": "be kind"}, u, a, u, a]) is None
    assert conversation_problem([u]) == "no_assistant_turn"
    assert conversation_problem([u, {"role": "assistant", "content": "  "}]) == "empty_turn"
    assert conversation_problem([a, u, a]) == "roles_out_of_order"
    assert conversation_problem([u, a, a]) == "roles_out_of_order"
    assert conversation_problem([{"role": "bot", "content": "x"}, a]) == "unknown_role"
    assert conversation_problem([]) == "empty_conversation"


def test_bad_conversations_counted_and_skipped(kjv_tokens, tmp_path):  # noqa: F811
    u, a = {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}
    long = {"role": "assistant", "content": "word " * 400}
    chats = [[u, a], [u], [a, u], [u, {"role": "assistant", "content": ""}], [u, long], [u, a, u, a]]
    data = tmp_path / "chats" / "data"
    data.mkdir(parents=True)
    table = pa.table({"id": [f"c{i}" for i in range(len(chats))], "text": ["x"] * len(chats), "turns": chats})
    pq.write_table(table, data / "part-0.parquet")
    counts = filter_chats(str(tmp_path / "chats"), str(tmp_path / "out"), str(kjv_tokens.parent / "tok"), 128)
    assert counts == {"conversations": 6, "kept": 2, "no_assistant_turn": 1, "roles_out_of_order": 1,
                      "empty_turn": 1, "longer_than_context": 1}  # fmt: skip
    assert pq.read_table(tmp_path / "out" / "data.parquet").column("id").to_pylist() == ["c0", "c5"]


def test_loss_on_assistant_tokens_only(chat_dataset, kjv_tokens, tmp_path):  # noqa: F811
    tok_dir = str(kjv_tokens.parent / "tok")
    filter_chats(str(chat_dataset), str(tmp_path / "chats"), tok_dir, 512)
    tokenize_dataset(str(tmp_path / "chats"), tok_dir, str(tmp_path / "tokens"), val_fraction=0.2)
    shards = TokenShards(str(tmp_path / "tokens"), tokenizer=tok_dir)
    tok = load_tokenizer(tok_dir)
    ids = {
        name: tok.tokenizer.token_to_id(name)
        for name in ("<|user|>", "<|assistant|>", "<|system|>", "<|end|>")
    }
    tokens, offsets = shards.train, shards.offsets("train")
    # independent of the mask writer: a token is trained on when it lies between <|assistant|> and its <|end|>
    expected = np.zeros(len(tokens), dtype=bool)
    inside = False
    for i, t in enumerate(tokens):
        if t in (ids["<|user|>"], ids["<|system|>"]):
            inside = False
        expected[i] = inside
        if t == ids["<|assistant|>"]:
            inside = True
        elif t == ids["<|end|>"]:
            inside = False
    seq = 128
    starts = list(range(0, len(tokens) - seq - 1, seq))
    batch = make_batch(tokens, starts, seq, shards.mask("train"), offsets)
    trained = (batch.y != -100).numpy()
    for row, s in enumerate(starts):
        assert (trained[row] == expected[s + 1 : s + seq + 1]).all(), f"window at {s}"
    # what is trained on decodes to the replies and their end markers, nothing of the prompts
    first = batch.y[0][batch.y[0] != -100].tolist()
    assert "<|user|>" not in tok.decode(first) and "<|end|>" in tok.decode(first)
    assert trained.any() and not trained.all()


def test_tiny_finetune_lowers_held_out_loss(base_run, chat_dataset, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "sft"
    argv = ["finetune", str(base_run), "--data", str(chat_dataset), "--out", str(out), "-q", "--max-steps", "20",
            "--val-fraction", "0.2"] + [f"--set={s}" for s in SMALL + ["eval_every=10", "checkpoint_every=10"]]  # fmt: skip
    assert cli(argv) == 0
    before = evaluate_lm(str(base_run), str(out / "data"), seq_len=256, doc_attention=True)
    summary = json.loads((out / "run.json").read_text())
    assert summary["best_val_loss"] < before["loss"] - 0.05
    counts = json.loads((out / "conversations.json").read_text())
    assert counts["kept"] + counts.get("longer_than_context", 0) == counts["conversations"] > 300
    assert summary["config"]["doc_attention"] and summary["config"]["seq_len"] == 256
    assert "conversations:" in capsys.readouterr().err
    # run again: resumes (nothing to do), the conversations are not tokenized anew
    assert cli(argv) == 0
    assert json.loads((out / "run.json").read_text())["steps"] == 20
    # --overwrite on the finished run starts afresh (it once deleted the shards it had just written)
    short = [a if a != "20" else "2" for a in argv]
    assert cli(short + ["--overwrite"]) == 0
    assert json.loads((out / "run.json").read_text())["steps"] == 2


def random_llama(folder: Path, tokenizer_dir: Path) -> Path:
    """A random LlamaForCausalLM (grouped-query attention, untied) with our tokenizer minus its chat template."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=512, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=False,
    )  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    for name in ("tokenizer.json", "special_tokens_map.json"):
        shutil.copy(tokenizer_dir / name, folder / name)
    tok_config = json.loads((tokenizer_dir / "tokenizer_config.json").read_text())
    tok_config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(tok_config))
    return folder


@pytest.mark.parametrize("lora", [False, True])
def test_hf_llama_finetunes_and_exports(lora, chat_dataset, kjv_tokens, tmp_path, capsys):  # noqa: F811
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf = random_llama(tmp_path / "llama", kjv_tokens.parent / "tok")
    out = tmp_path / "sft"
    argv = ["finetune", str(hf), "--data", str(chat_dataset), "--out", str(out), "-q", "--max-steps", "4",
            "--set=eval_every=2", "--set=lr=0.003"] + [f"--set={s}" for s in SMALL] + (["--lora"] if lora else [])  # fmt: skip
    assert cli(argv) == 0
    assert "has no chat template" in capsys.readouterr().err
    assert chat_template_of(str(out / "tokenizer")) == CHAT_TEMPLATE
    tuned, base = load_model(str(out), checkpoint="last").model, load_model(str(hf)).model
    assert not any("lora" in n for n, _ in tuned.named_parameters())
    changed = [
        n
        for (n, p), (_, q) in zip(tuned.named_parameters(), base.named_parameters())
        if not torch.equal(p, q)
    ]
    if lora:  # only the adapted projections moved (merged), never the norms or embeddings
        assert changed and all(n.endswith("_proj.weight") for n in changed)
    else:
        assert "embed_tokens.weight" in changed
    export = tmp_path / "export"
    assert cli(["export", str(out), "--hf", str(export), "--checkpoint", "last"]) == 0
    theirs = AutoModelForCausalLM.from_pretrained(export, dtype=torch.float32).eval()
    idx = torch.randint(0, 512, (1, 40), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert (tuned(idx) - theirs(idx).logits).abs().max().item() <= 1e-4
    tok = AutoTokenizer.from_pretrained(export)
    assert tok.chat_template == CHAT_TEMPLATE
