"""One checkpoint format for every command, and one way to load a model: a trainer run or a Hugging Face folder.

A run folder:
    RUN/config.yaml                 the resolved training config
    RUN/tokenizer/                  the tokenizer the model speaks (tokenizer.json, tokenizer_config.json with
                                    the chat template): loadable by corpus and by transformers' AutoTokenizer
    RUN/checkpoints/last/           model.safetensors (weights, this model's names), model.json (ModelConfig),
    RUN/checkpoints/best/           state.pt (optimizer, schedule, data position, RNG states: training only,
                                    read with torch.load(weights_only=True))

A checkpoint folder is written whole under a temporary name and renamed into place, so a crash or a full disk
mid-write leaves the previous checkpoint as it was. Nothing is ever unpickled: weights are safetensors, the
training state holds only tensors, numbers, strings, lists and dicts.

`load_model(path)` takes a run folder, one of its checkpoint folders, or a local Hugging Face Llama-family
folder (config.json + safetensors), and returns the same `LoadedModel` for all of them.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from corpus.errors import InputError
from trainer.model import GPT, ModelConfig, from_hf_state_dict

CHECKPOINTS = "checkpoints"
TOKENIZER = "tokenizer"
WEIGHTS = "model.safetensors"
MODEL_CONFIG = "model.json"
TRAIN_STATE = "state.pt"


@dataclass
class LoadedModel:
    model: GPT
    tokenizer_dir: str  # a folder that corpus.load_tokenizer and AutoTokenizer.from_pretrained both load
    kind: str  # "run" or "hf"
    path: str  # what the user named
    checkpoint_dir: str | None  # the checkpoint folder read (runs), or the HF folder


def is_run(path: str) -> bool:
    return os.path.isdir(os.path.join(path, CHECKPOINTS))


def is_hf_folder(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "config.json"))


def checkpoint_dir(run: str, name: str = "best") -> str:
    """RUN/checkpoints/NAME; "best" falls back to "last" when the run never evaluated."""
    path = os.path.join(run, CHECKPOINTS, name)
    if name == "best" and not os.path.isdir(path):
        path = os.path.join(run, CHECKPOINTS, "last")
    if not os.path.isfile(os.path.join(path, WEIGHTS)):
        raise InputError(f"{run} has no {name} checkpoint ({path} missing): the run has not saved one yet")
    return path


def save_checkpoint(
    run: str,
    name: str,
    model: GPT,
    state: dict[str, Any] | None = None,
    weights: dict[str, torch.Tensor] | None = None,
) -> str:
    """Write RUN/checkpoints/NAME atomically: the folder is built under a temporary name, then swapped in.
    `state` (optional) is the training state, saved with torch.save (tensors and plain values only);
    `weights` (optional) replaces model.state_dict() (LoRA merged into the base weights, an FSDP-gathered
    state dict)."""
    root = os.path.join(run, CHECKPOINTS)
    os.makedirs(root, exist_ok=True)
    final = os.path.join(root, name)
    tmp = os.path.join(root, f".{name}.tmp-{uuid.uuid4().hex[:8]}")
    os.makedirs(tmp)
    try:
        source = model.state_dict() if weights is None else weights
        weights = {k: v.detach().to("cpu").contiguous() for k, v in source.items()}
        if model.config.tie_embeddings:
            weights.pop("lm_head.weight", None)  # safetensors refuses shared storage; rebuilt on load
        save_file(weights, os.path.join(tmp, WEIGHTS), metadata={"format": "pt"})
        with open(os.path.join(tmp, MODEL_CONFIG), "w", encoding="utf-8") as f:
            json.dump(model.config.to_dict(), f, indent=2)
        if state is not None:
            torch.save(state, os.path.join(tmp, TRAIN_STATE))
        _fsync_dir(tmp)
        old = None
        if os.path.exists(final):
            old = os.path.join(root, f".{name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(final, old)
        os.replace(tmp, final)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def recover_checkpoints(run: str) -> None:
    """After a crash between the two renames of save_checkpoint, put the previous checkpoint back; remove
    temporary folders of writes that never finished."""
    root = os.path.join(run, CHECKPOINTS)
    if not os.path.isdir(root):
        return
    for entry in sorted(os.listdir(root)):
        if not entry.startswith("."):
            continue
        path = os.path.join(root, entry)
        name = entry[1:].split(".old-")[0] if ".old-" in entry else None
        if name and not os.path.exists(os.path.join(root, name)):
            os.replace(path, os.path.join(root, name))
        else:
            shutil.rmtree(path, ignore_errors=True)


def _fsync_dir(folder: str) -> None:
    for entry in os.listdir(folder):
        with open(os.path.join(folder, entry), "rb") as f:
            os.fsync(f.fileno())


def load_train_state(ckpt: str) -> dict[str, Any] | None:
    path = os.path.join(ckpt, TRAIN_STATE)
    if not os.path.isfile(path):
        return None
    return torch.load(path, map_location="cpu", weights_only=True)


def read_model_config(ckpt: str) -> ModelConfig:
    with open(os.path.join(ckpt, MODEL_CONFIG), encoding="utf-8") as f:
        return ModelConfig.from_dict(json.load(f))


def load_weights(model: GPT, state: dict[str, torch.Tensor], source: str) -> None:
    if model.config.tie_embeddings:
        state = {**state, "lm_head.weight": state["embed_tokens.weight"]}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise InputError(
            f"{source}: weights do not fit the model (missing {', '.join(missing[:3]) or 'none'}; "
            f"unexpected {', '.join(unexpected[:3]) or 'none'})"
        )


def _load_run(path: str, name: str, device: str | torch.device) -> LoadedModel:
    run = path if is_run(path) else os.path.dirname(os.path.dirname(path))
    ckpt = checkpoint_dir(run, name) if is_run(path) else path
    model = GPT(read_model_config(ckpt))
    load_weights(model, load_file(os.path.join(ckpt, WEIGHTS)), ckpt)
    tokenizer_dir = os.path.join(run, TOKENIZER)
    if not os.path.isdir(tokenizer_dir):
        raise InputError(f"{run} has no tokenizer folder ({tokenizer_dir})")
    return LoadedModel(model.to(device).eval(), tokenizer_dir, "run", path, ckpt)


# Llama-family architectures whose weights map one to one onto trainer.model.GPT
LLAMA_TYPES = ("llama", "mistral")


def hf_model_config(config: dict[str, Any], source: str) -> ModelConfig:
    """A Hugging Face config.json as a ModelConfig; refuses what GPT cannot represent, naming it."""
    kind = config.get("model_type")
    if kind not in LLAMA_TYPES:
        raise InputError(
            f"{source} is a {kind or 'unknown'} model; the trainer loads Llama-family causal LMs "
            f"({', '.join(LLAMA_TYPES)})"
        )
    d_model, n_head = config["hidden_size"], config["num_attention_heads"]
    unsupported = {
        "attention_bias": config.get("attention_bias", False),
        "mlp_bias": config.get("mlp_bias", False),
        "rope_scaling": config.get("rope_scaling") not in (None, {})
        and (config.get("rope_scaling") or {}).get("rope_type", "default") != "default",
        "hidden_act": config.get("hidden_act", "silu") != "silu",
        "head_dim": config.get("head_dim", d_model // n_head) != d_model // n_head,
        "sliding_window": bool(config.get("sliding_window")),
    }
    bad = [k for k, v in unsupported.items() if v]
    if bad:
        raise InputError(f"{source}: {', '.join(bad)} not supported by the trainer's Llama model")
    rope = config.get("rope_theta") or (config.get("rope_parameters") or {}).get("rope_theta", 10000.0)
    return ModelConfig(
        vocab_size=config["vocab_size"],
        n_layer=config["num_hidden_layers"],
        n_head=n_head,
        n_kv_head=config.get("num_key_value_heads") or n_head,
        d_model=d_model,
        d_ff=config["intermediate_size"],
        max_seq_len=config.get("max_position_embeddings", 2048),
        rope_theta=float(rope),
        norm_eps=config.get("rms_norm_eps", 1e-6),
        tie_embeddings=bool(config.get("tie_word_embeddings", False)),
    )


def _load_hf(path: str, device: str | torch.device) -> LoadedModel:
    try:
        with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
            config = hf_model_config(json.load(f), path)
    except (OSError, ValueError, KeyError) as err:
        raise InputError(
            f"{path}/config.json is not a causal-LM config: {type(err).__name__} {err}"
        ) from None
    files = sorted(f for f in os.listdir(path) if f.endswith(".safetensors"))
    if not files:
        raise InputError(f"{path} has no .safetensors weights (pickled .bin weights are not loaded)")
    state: dict[str, torch.Tensor] = {}
    for name in files:
        state.update(load_file(os.path.join(path, name)))
    model = GPT(config)
    load_weights(model, {k: v.float() for k, v in from_hf_state_dict(state, config).items()}, path)
    if not (
        os.path.isfile(os.path.join(path, "tokenizer.json"))
        or os.path.isfile(os.path.join(path, "vocab.json"))
    ):
        raise InputError(f"{path} has no tokenizer files (tokenizer.json)")
    return LoadedModel(model.to(device).eval(), path, "hf", path, path)


def load_model(path: str, device: str | torch.device = "cpu", checkpoint: str = "best") -> LoadedModel:
    """A trainer run (its `checkpoint`: best, falling back to last), a checkpoint folder, or a local Hugging
    Face Llama-family folder; one line (InputError) for anything else."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise InputError(f"model not found: {path}")
    if is_run(path) or os.path.isfile(os.path.join(path, MODEL_CONFIG)):
        return _load_run(path, checkpoint, device)
    if is_hf_folder(path):
        return _load_hf(path, device)
    raise InputError(
        f"{path} is neither a trainer run (no checkpoints/) nor a Hugging Face model (no config.json)"
    )
