"""What is trained and how: the learning-rate schedule, the optimizers (AdamW, or Muon for the hidden matrices
with AdamW for the rest) and LoRA adapters (peft) with their merged weights."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from trainer.config import TrainConfig
from trainer.model import GPT

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def lr_factor(step: int, config: TrainConfig, max_steps: int) -> float:
    """Share of the peak learning rate at `step` (1-based), min_lr / lr at the floor."""
    floor = config.min_lr / config.lr
    if config.warmup_steps and step <= config.warmup_steps:
        return step / config.warmup_steps
    if config.schedule == "constant":
        return 1.0
    if config.schedule == "wsd":
        decay = max(1, round(config.decay_fraction * max_steps))
        start = max_steps - decay
        return 1.0 if step <= start else floor + (1 - floor) * (max_steps - step) / decay
    progress = (step - config.warmup_steps) / max(1, max_steps - config.warmup_steps)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def build_optimizers(model: nn.Module, config: TrainConfig, device: str) -> list[torch.optim.Optimizer]:
    """AdamW with weight decay on matrices only (not norms, not the input embedding); with optimizer=muon,
    Muon takes the hidden matrices (attention and MLP projections) and AdamW the rest."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    hidden = [p for n, p in named if p.ndim == 2 and ".layers." in f".{n}" and "embed" not in n]
    use_muon = config.optimizer == "muon" and not config.lora
    adam = [(n, p) for n, p in named if not (use_muon and any(p is h for h in hidden))]
    decay = [p for n, p in adam if p.ndim == 2 and "embed_tokens" not in n]
    no_decay = [p for n, p in adam if not (p.ndim == 2 and "embed_tokens" not in n)]
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    adamw = torch.optim.AdamW(
        [g for g in groups if g["params"]],
        lr=config.lr,
        betas=(config.beta1, config.beta2),
        fused=not config.fsdp,  # one kernel for all parameters (CUDA and CPU); FSDP's DTensors take foreach
    )
    optimizers: list[torch.optim.Optimizer] = [adamw]
    if use_muon and hidden:
        # match_rms_adamw scales each update to AdamW's size, so one lr (and one sweep range) serves both
        optimizers.append(
            torch.optim.Muon(
                hidden, lr=config.lr, weight_decay=config.weight_decay, adjust_lr_fn="match_rms_adamw"
            )
        )
    for opt in optimizers:
        for group in opt.param_groups:
            group["base_lr"] = config.lr
    return optimizers


def add_lora(model: GPT, config: TrainConfig) -> nn.Module:
    """LoRA adapters (peft) on every projection; the base weights are frozen."""
    import peft

    lora = peft.LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=LORA_TARGETS,
    )
    return peft.get_peft_model(model, lora).get_base_model()


def plain_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights under GPT's own names, LoRA deltas merged into their base weights, so a checkpoint
    of a LoRA run loads as a plain model everywhere."""
    from peft.tuners.lora import LoraLayer

    state = model.state_dict()
    out = {k.replace(".base_layer.", "."): v for k, v in state.items() if ".lora_" not in k}
    for name, module in model.named_modules():
        if isinstance(module, LoraLayer):
            out[f"{name}.weight"] = module.base_layer.weight + module.get_delta_weight("default")
    return {k: v.detach() for k, v in out.items()}


def lora_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if ".lora_" in k}
