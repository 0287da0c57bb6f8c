"""Devices and processes: the device a config asks for, the process group under torchrun (gloo on CPUs, NCCL
on GPUs), the model wrapped for DDP or FSDP2 (and torch.compile on CUDA), sums across processes, and the full
weights and optimizer states a checkpoint holds however the model is sharded."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn as nn

from corpus.errors import InputError
from trainer.config import TrainConfig
from trainer.model import GPT
from trainer.optim import plain_weights


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str) -> Dist:
    """Under torchrun (WORLD_SIZE > 1): one process group, NCCL on GPUs, gloo on CPUs."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Dist()
    import torch.distributed as td

    if not td.is_initialized():
        td.init_process_group("nccl" if device == "cuda" else "gloo")
    return Dist(td.get_rank(), td.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def resolve_device(config: TrainConfig) -> str:
    if config.device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is visible to PyTorch on this machine")
    if config.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return config.device


def sharded(config: TrainConfig, dist: Dist) -> bool:
    return config.fsdp and dist.world > 1


def wrap(model: GPT, net: nn.Module, config: TrainConfig, dist: Dist, device: str) -> nn.Module:
    """The module a training step calls: FSDP2 (fully_shard per block, then the model) or DDP under torchrun,
    compiled on CUDA when config.compile."""
    if sharded(config, dist):
        from torch.distributed.fsdp import fully_shard

        for block in model.layers:
            fully_shard(block)
        fully_shard(model)
        net = model
    elif dist.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(net, device_ids=[dist.local_rank] if "cuda" in device else None)
    if "cuda" in device and config.compile:
        net = torch.compile(net)
    return net


def all_sum(dist: Dist, device: str, *values: float) -> list[float]:
    if dist.world == 1:
        return list(values)
    import torch.distributed as td

    t = torch.tensor(values, dtype=torch.float64, device=device)
    td.all_reduce(t)
    return t.tolist()


def full_state(model: GPT, net: nn.Module, config: TrainConfig, dist: Dist) -> dict[str, torch.Tensor]:
    """The whole model's weights (gathered under FSDP: a collective, every process calls it; LoRA merged)."""
    if sharded(config, dist):
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    return plain_weights(net) if config.lora else model.state_dict()


def optimizer_states(
    model: GPT, optimizers: list[torch.optim.Optimizer], config: TrainConfig, dist: Dist
) -> list[dict]:
    if sharded(config, dist):
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

        opts = StateDictOptions(full_state_dict=True, cpu_offload=True)
        return [get_optimizer_state_dict(model, o, options=opts) for o in optimizers]
    return [o.state_dict() for o in optimizers]


def load_optimizer_states(
    model: GPT, optimizers: list[torch.optim.Optimizer], states: list[dict], config: TrainConfig, dist: Dist
) -> None:
    if sharded(config, dist):
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

        opts = StateDictOptions(full_state_dict=True)
        for o, s in zip(optimizers, states):
            set_optimizer_state_dict(model, o, s, options=opts)
        return
    for o, s in zip(optimizers, states):
        o.load_state_dict(s)
