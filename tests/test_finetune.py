"""Fine-tuning on conversations: the loss covers assistant replies only (token by token), bad conversations
are counted and skipped, a tiny model fine-tuned on sample_data/chat lowers its held-out loss, and a random
LlamaForCausalLM saved by the test fine-tunes end to end with and without LoRA and exports back to
transformers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from tiny_models import save_random_llama
from trainer_fixtures import chat_dataset, kjv_tokens  # noqa: F401 (fixtures)

from corpus.cli import main as cli
from corpus.tokenization import CHAT_TEMPLATE, TokenShards, load_tokenizer, tokenize_dataset
from corpus.tokenization.shards import is_validation
from trainer.chat_data import CorpusChats, EncodedChat, TemplateChats, chat_encoder, write_chat_shards
from trainer.checkpoint import load_model
from trainer.evaluate import evaluate_lm, make_batch
from trainer.finetune import conversation_problem, filter_chats
from trainer.generate import Generator
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
    chats = [[u, a], [u], [a, u], [u, {"role": "assistant", "content": ""}], [u, long], [u, a, u, a],
             [u, a, u, long, u, a]]  # fmt: skip
    data = tmp_path / "chats" / "data"
    data.mkdir(parents=True)
    table = pa.table({"id": [f"c{i}" for i in range(len(chats))], "text": ["x"] * len(chats), "turns": chats})
    pq.write_table(table, data / "part-0.parquet")
    counts = filter_chats(str(tmp_path / "chats"), str(tmp_path / "out"), str(kjv_tokens.parent / "tok"), 128)
    assert counts == {"conversations": 7, "kept": 3, "no_assistant_turn": 1, "roles_out_of_order": 1,
                      "empty_turn": 1, "too_long": 1, "truncated_at_turn": 1}  # fmt: skip
    kept = pq.read_table(tmp_path / "out" / "data.parquet").to_pylist()
    assert [k["id"] for k in kept] == ["c0", "c5", "c6"]
    assert kept[2]["turns"] == [u, a]  # cut after the last reply that fits, never inside a turn


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
    assert counts["kept"] + counts.get("too_long", 0) == counts["conversations"] > 300
    assert summary["config"]["doc_attention"] and summary["config"]["seq_len"] == 256
    assert "conversations:" in capsys.readouterr().err
    # run again: resumes (nothing to do), the conversations are not tokenized anew
    assert cli(argv) == 0
    assert json.loads((out / "run.json").read_text())["steps"] == 20
    # --overwrite on the finished run starts afresh (it once deleted the shards it had just written)
    short = [a if a != "20" else "2" for a in argv]
    assert cli(short + ["--overwrite"]) == 0
    assert json.loads((out / "run.json").read_text())["steps"] == 2


@pytest.mark.parametrize("lora", [False, True])
def test_hf_llama_finetunes_and_exports(lora, chat_dataset, kjv_tokens, tmp_path, capsys):  # noqa: F811
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf = save_random_llama(tmp_path / "llama", kjv_tokens.parent / "tok", chat_template=False)
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


# --------------------------------------------------------------------------------------------------------------
# a Hugging Face model with its own chat template (ChatML on the GPT-2 tokenizer)

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
GPT2 = Path(__file__).resolve().parents[2] / "shared" / "data" / "tokenizers" / "gpt2"


def chatml_tokenizer(folder: Path, template: str = CHATML) -> Path:
    """GPT-2's BPE (../shared/data) with ChatML's markers added as special tokens and a ChatML template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    if not GPT2.is_dir():
        pytest.skip("../shared/data is not present")
    tok = Tokenizer(models.BPE.from_file(str(GPT2 / "vocab.json"), str(GPT2 / "merges.txt")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "<|endoftext|>",
              "clean_up_tokenization_spaces": False, "chat_template": template}  # fmt: skip
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def chatml_llama(tmp_path_factory) -> Path:
    """A random LlamaForCausalLM saved with the ChatML GPT-2 tokenizer (50,259 ids)."""
    folder = chatml_tokenizer(tmp_path_factory.mktemp("chatml") / "llama")
    return save_random_llama(
        folder, vocab_size=50259, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256,
    )  # fmt: skip


def test_model_template_masks_exactly_the_replies(chatml_llama, chat_dataset, tmp_path):  # noqa: F811
    """Shards written with the model's ChatML template: each document is the template's rendering of a kept
    conversation, and the masked tokens are exactly each reply, its <|im_end|> and newline, token by token."""
    from transformers import AutoTokenizer

    encoder = chat_encoder(str(chatml_llama))
    assert isinstance(encoder, TemplateChats)
    counts = filter_chats(str(chat_dataset), str(tmp_path / "chats"), str(chatml_llama), 160, encoder)
    assert counts["truncated_at_turn"] > 0 and counts["kept"] > 300
    write_chat_shards(str(tmp_path / "chats"), encoder, str(tmp_path / "tokens"), val_fraction=0.2, seed=0)
    shards = TokenShards(str(tmp_path / "tokens"), tokenizer=str(chatml_llama))
    hf = AutoTokenizer.from_pretrained(chatml_llama)
    im_start, im_end, eot = hf.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>", "<|endoftext|>"])
    kept = pq.read_table(tmp_path / "chats" / "data.parquet").to_pylist()
    train = [c for c in kept if not is_validation(c["id"], 0, 0.2)]
    assert shards.documents("train") == len(train) and shards.documents("val") == len(kept) - len(train)
    offsets, tokens, mask = shards.offsets("train"), shards.train, shards.mask("train")
    for i, chat in enumerate(train):
        doc = tokens[offsets[i] : offsets[i + 1]].tolist()
        trained = mask[offsets[i] : offsets[i + 1]].tolist()
        assert doc[-1] == eot and trained[-1] == 0 and len(doc) <= 160
        assert doc[:-1] == hf(hf.apply_chat_template(chat["turns"], tokenize=False))["input_ids"]
        # independent of the writer: a token is trained on from after a "<|im_start|>assistant\n" header up to
        # and with the newline after the next <|im_end|>
        expected, inside, header = [], False, None
        for k, t in enumerate(doc):
            expected.append(int(inside))
            if t == im_start:
                header, inside = k + 1, False
            elif header is not None and hf.decode([t]) == "\n":
                inside, header = hf.decode(doc[header:k]) == "assistant", None
            elif k >= 1 and doc[k - 1] == im_end:
                inside = False
        assert trained == expected, chat["id"]
        replies = [t["content"] for t in chat["turns"] if t["role"] == "assistant"]
        runs = hf.decode([t for t, m in zip(doc, trained) if m])
        assert runs == "".join(r + "<|im_end|>\n" for r in replies)
    assert shards.mask_text_bytes("train") == sum(
        len((t["content"] + "<|im_end|>\n").encode())
        for c in train
        for t in c["turns"]
        if t["role"] == "assistant"
    )


def test_corpus_template_shards_match_corpus_tokenize(chat_dataset, kjv_tokens, tmp_path):  # noqa: F811
    """Without a template of its own, fine-tuning writes byte for byte what `corpus tokenize` writes."""
    tok_dir = str(kjv_tokens.parent / "tok")
    encoder = chat_encoder(tok_dir)
    assert isinstance(encoder, CorpusChats) and encoder.template == CHAT_TEMPLATE
    filter_chats(str(chat_dataset), str(tmp_path / "chats"), tok_dir, 512, encoder)
    tokenize_dataset(str(tmp_path / "chats"), tok_dir, str(tmp_path / "a"), val_fraction=0.2)
    write_chat_shards(str(tmp_path / "chats"), encoder, str(tmp_path / "b"), val_fraction=0.2, seed=0)
    for name in ("train.bin", "val.bin", "train.mask.bin", "val.mask.bin", "train.idx.npy", "val.idx.npy"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    a, b = (json.loads((tmp_path / d / "meta.json").read_text()) for d in "ab")
    assert a["splits"] == b["splits"] and a["fingerprint"] == b["fingerprint"]


def test_templates_that_break_the_prefix_rule_are_counted(tmp_path):
    """A template that renders the last message differently, or refuses a system turn: counted, not a crash."""
    u, a = {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}
    system = {"role": "system", "content": "be brief"}
    last_differs = CHATML.replace("'<|im_end|>' + '\\n'", "('<|im_end|>' if loop.last else '<|im_end|>\\n')")
    refuses = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('no system') }}{% endif %}" + CHATML
    assert isinstance(chat_encoder(str(chatml_tokenizer(tmp_path / "ok"))).encode([u, a]), EncodedChat)
    assert (
        chat_encoder(str(chatml_tokenizer(tmp_path / "l", last_differs))).encode([u, a])
        == "template_not_prefix"
    )
    refusing = chat_encoder(str(chatml_tokenizer(tmp_path / "r", refuses)))
    assert refusing.encode([system, u, a]) == "template_error" and not isinstance(
        refusing.encode([u, a]), str
    )
    assert (
        refusing.encode([u, {"role": "assistant", "content": "a <|im_end|> b"}]) == "special_token_in_content"
    )


def test_hf_model_with_own_template_finetunes_end_to_end(chatml_llama, chat_dataset, tmp_path, capsys):  # noqa: F811
    from transformers import AutoTokenizer

    out, export = tmp_path / "sft", tmp_path / "export"
    argv = ["finetune", str(chatml_llama), "--data", str(chat_dataset), "--out", str(out), "-q", "--max-steps",
            "2", "--set=seq_len=128", "--set=batch_size=2", "--set=eval_every=2", "--set=eval_tokens=512",
            "--set=samples=0", "--set=threads=1"]  # fmt: skip
    assert cli(argv) == 0
    err = capsys.readouterr().err
    assert "chat template" not in err and "cut after the last reply that fits 128 tokens" in err
    assert chat_template_of(str(out / "tokenizer")) == CHATML
    meta = json.loads((out / "data" / "meta.json").read_text())
    assert meta["chat_template"]["source"] == "model" and meta["has_mask"]
    assert json.loads((out / "run.json").read_text())["steps"] == 2
    # chat, serve and evaluate --task chat prompt the run as it was trained
    gen = Generator.load(str(out), checkpoint="last")
    prompt = gen.chat_prompt([{"role": "user", "content": "hi"}])
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert cli(["export", str(out), "--hf", str(export), "--checkpoint", "last"]) == 0
    assert AutoTokenizer.from_pretrained(export).chat_template == CHATML
    # transformers' generate() on the export ends a reply where the template ends a turn
    assert json.loads((export / "generation_config.json").read_text())["eos_token_id"] == [50256, 50258]
    assert gen._end_token_ids() >= {50256, 50258}  # and corpus's own generation ends there too
