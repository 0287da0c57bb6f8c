"""Tiny models for the tests: a tokenizer trained by corpus on the sample conversations, a run folder holding
a random GPT (no training needed to test decoding), the same weights exported as a transformers
LlamaForCausalLM folder, and a random LlamaForCausalLM saved as a user's Hugging Face model would be."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from corpus.cli import main as corpus_main
from trainer.checkpoint import save_checkpoint
from trainer.model import GPT, ModelConfig, to_hf_state_dict

REPO = Path(__file__).resolve().parents[1]


def make_tokenizer(root: Path) -> Path:
    """A 512-token BPE trained on the prepared sample conversations (chat template included)."""
    chats, tok = root / "chat", root / "tokenizer"
    args = ["prepare", "chat", "--input", str(REPO / "sample_data" / "chat"), "--output", str(chats)]
    assert corpus_main([*args, "--no-report", "--quiet"]) == 0
    assert corpus_main(["tokenizer", "train", str(chats), "--vocab-size", "512", "--output", str(tok)]) == 0
    return tok


def tiny_config(**overrides) -> ModelConfig:
    settings = dict(
        vocab_size=512, n_layer=2, n_head=4, n_kv_head=2, d_model=64, max_seq_len=256, tie_embeddings=False
    )
    return ModelConfig(**{**settings, **overrides})


def make_run(root: Path, tokenizer: Path, seed: int = 0, **overrides) -> Path:
    """A run folder with a random GPT in checkpoints/last and the tokenizer, as the trainer writes them."""
    torch.manual_seed(seed)
    run = root / "run"
    save_checkpoint(str(run), "last", GPT(tiny_config(**overrides)))
    shutil.copytree(tokenizer, run / "tokenizer")
    return run


def export_llama(model: GPT, tokenizer: Path, out: Path) -> Path:
    """The GPT's weights as a transformers LlamaForCausalLM folder, with the tokenizer files beside them."""
    from transformers import LlamaConfig, LlamaForCausalLM

    c = model.config
    config = LlamaConfig(
        vocab_size=c.vocab_size,
        hidden_size=c.d_model,
        intermediate_size=c.d_ff,
        num_hidden_layers=c.n_layer,
        num_attention_heads=c.n_head,
        num_key_value_heads=c.n_kv_head,
        max_position_embeddings=c.max_seq_len,
        rope_theta=c.rope_theta,
        rms_norm_eps=c.norm_eps,
        tie_word_embeddings=c.tie_embeddings,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
    )
    hf = LlamaForCausalLM(config)
    missing, unexpected = hf.load_state_dict(to_hf_state_dict(model), strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}
    hf.save_pretrained(out)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(tokenizer / name, out / name)
    return out


def save_random_llama(
    folder: Path, tokenizer: Path | None = None, chat_template: bool = True, **config
) -> Path:
    """A random LlamaForCausalLM (seed 0; grouped-query attention and untied embeddings unless `config` says
    otherwise) saved to `folder`, with `tokenizer`'s files beside it, less its chat template when
    `chat_template` is False."""
    from transformers import LlamaConfig, LlamaForCausalLM

    settings = dict(
        vocab_size=512, hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=False,
    )  # fmt: skip
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(**{**settings, **config})).save_pretrained(folder)
    if tokenizer is not None:
        for name in ("tokenizer.json", "special_tokens_map.json"):
            shutil.copy(tokenizer / name, folder / name)
        tok_config = json.loads((tokenizer / "tokenizer_config.json").read_text())
        if not chat_template:
            tok_config.pop("chat_template", None)
        (folder / "tokenizer_config.json").write_text(json.dumps(tok_config))
    return folder
