"""Hugging Face folders: export a run as a folder that `AutoModelForCausalLM.from_pretrained` and
`AutoTokenizer.from_pretrained` load (config.json, model.safetensors, the tokenizer files with their chat
template, generation_config.json), and the chat-template helpers fine-tuning needs for imported folders.
(Importing a Llama folder's weights is trainer.checkpoint.load_model.)"""

from __future__ import annotations

import json
import os
import shutil

from safetensors.torch import save_file

from corpus.errors import OutputError
from corpus.files import write_atomic
from corpus.tokenization import CHAT_TEMPLATE, load_tokenizer
from trainer.checkpoint import load_model
from trainer.model import GPT, to_hf_state_dict

# end-of-turn tokens of chat templates: corpus's, ChatML's, Llama 3's, Gemma's
END_OF_TURN = ("<|end|>", "<|im_end|>", "<|eot_id|>", "<end_of_turn>")


def llama_config(model: GPT, bos_id: int | None, eos_id: int, pad_id: int | None) -> dict:
    """transformers' LlamaConfig for this model, as transformers itself serializes it."""
    from transformers import LlamaConfig

    c = model.config
    return LlamaConfig(
        vocab_size=c.vocab_size,
        hidden_size=c.d_model,
        intermediate_size=c.d_ff,
        num_hidden_layers=c.n_layer,
        num_attention_heads=c.n_head,
        num_key_value_heads=c.n_kv_head,
        head_dim=c.head_dim,
        max_position_embeddings=c.max_seq_len,
        rms_norm_eps=c.norm_eps,
        rope_theta=c.rope_theta,
        tie_word_embeddings=c.tie_embeddings,
        attention_bias=False,
        mlp_bias=False,
        hidden_act="silu",
        bos_token_id=bos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        architectures=["LlamaForCausalLM"],
        torch_dtype="float32",
    ).to_dict()


def chat_template_of(folder: str) -> str | None:
    """The chat template a tokenizer folder carries (tokenizer_config.json or chat_template.jinja), if any."""
    jinja = os.path.join(folder, "chat_template.jinja")
    if os.path.isfile(jinja):
        with open(jinja, encoding="utf-8") as f:
            return f.read()
    config = os.path.join(folder, "tokenizer_config.json")
    if os.path.isfile(config):
        with open(config, encoding="utf-8") as f:
            template = json.load(f).get("chat_template")
        if isinstance(template, list):  # named templates: [{"name": "default", "template": ...}, ...]
            named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
            template = named.get("default")
        if isinstance(template, str) and template:
            return template
    return None


def set_chat_template(folder: str, template: str = CHAT_TEMPLATE) -> None:
    """Write `template` into the folder's tokenizer_config.json (created when missing)."""
    path = os.path.join(folder, "tokenizer_config.json")
    config = {}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    config["chat_template"] = template
    write_atomic(path, json.dumps(config, indent=2))


def export_hf(run: str, out: str, checkpoint: str = "best", overwrite: bool = False) -> dict:
    """Write the run's checkpoint as a Hugging Face Llama folder at `out` (built aside, then renamed)."""
    from transformers import GenerationConfig

    from trainer.train import copy_tokenizer

    loaded = load_model(run, device="cpu", checkpoint=checkpoint)
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        if not overwrite or not os.path.isfile(os.path.join(out, "config.json")):
            raise OutputError(
                f"--hf {out} exists and is not empty; choose another folder (or --overwrite one we wrote)"
            )
    tok = load_tokenizer(loaded.tokenizer_dir)
    pad_id = tok.tokenizer.token_to_id("<|pad|>")
    tmp = out.rstrip("/") + ".tmp-export"
    shutil.rmtree(tmp, ignore_errors=True)
    copy_tokenizer(loaded.tokenizer_dir, tmp)
    state = {k: v.contiguous() for k, v in to_hf_state_dict(loaded.model).items()}
    save_file(state, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
    config = llama_config(loaded.model, tok.bos_id, tok.eos_id, pad_id)
    with open(os.path.join(tmp, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    # a chat reply ends at its template's end-of-turn token; plain text at the end-of-document token
    ends = [tok.tokenizer.token_to_id(t) for t in END_OF_TURN]
    eos = [tok.eos_id] + [i for i in ends if i is not None and i != tok.eos_id]
    GenerationConfig(bos_token_id=tok.bos_id, eos_token_id=eos, pad_token_id=pad_id).save_pretrained(tmp)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.replace(tmp, out)
    return {
        "path": out,
        "checkpoint": loaded.checkpoint_dir,
        "parameters": loaded.model.num_parameters(),
        "chat_template": chat_template_of(out) is not None,
    }
