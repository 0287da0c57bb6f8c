"""Devices and processes: the device a config asks for, the process group under torchrun (gloo on CPUs, NCCL
on GPUs), the model wrapped for DDP or FSDP2 (and torch.compile on CUDA), sums across processes, and the full
weights and optimizer states a checkpoint holds however the model is sharded."""

from __future__ import annotations

import os
import sys
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

    die_with_launcher()
    if not td.is_initialized():
        td.init_process_group("nccl" if device == "cuda" else "gloo")
    return Dist(td.get_rank(), td.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def die_with_launcher() -> None:
    """Under torchrun, end this worker when the launcher dies. torchrun starts each worker in its own session,
    so a SIGKILL to torchrun's process group (a killed job) would leave the workers running: still training,
    still writing checkpoints and metrics into the run folder that the restarted command resumes from.
    Linux only (prctl PR_SET_PDEATHSIG); elsewhere the workers end at their next collective's timeout."""
    if "TORCHELASTIC_RUN_ID" not in os.environ or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    launcher = os.getppid()
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) != 0:
        return
    if os.getppid() != launcher:  # the launcher died before the signal was armed
        os._exit(1)


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


def gather(dist: Dist, device: str, t: torch.Tensor) -> list[torch.Tensor]:
    """Every process's copy of a tensor of the same shape (on the CPU), in rank order."""
    if dist.world == 1:
        return [t]
    import torch.distributed as td

    local = t.to(device)  # NCCL gathers CUDA tensors only
    out = [torch.empty_like(local) for _ in range(dist.world)]
    td.all_gather(out, local)
    return [o.cpu() for o in out]


def _param_names(model: GPT, optimizer: torch.optim.Optimizer) -> list[str]:
    """The optimizer's parameters by name, in its own order (the numbering of optimizer.state_dict())."""
    names = {id(p): n for n, p in model.named_parameters()}
    return [names[id(p)] for group in optimizer.param_groups for p in group["params"]]


def _rekey(state: dict, keys: dict) -> dict:
    return {
        "state": {keys.get(k, k): v for k, v in state["state"].items()},
        "param_groups": [
            {**g, "params": [keys.get(k, k) for k in g["params"]]} for g in state["param_groups"]
        ],
    }


def optimizer_states(
    model: GPT, optimizers: list[torch.optim.Optimizer], config: TrainConfig, dist: Dist
) -> list[dict]:
    """Each optimizer's whole state in the one-process layout (parameters numbered in the optimizer's order),
    so a checkpoint resumes under any number of processes, sharded or not. Under FSDP the sharded states are
    gathered (a collective: every process calls it) and only the main process's copy is whole."""
    if sharded(config, dist):
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict

        opts = StateDictOptions(full_state_dict=True, cpu_offload=True)
        out = []
        for o in optimizers:
            full = get_optimizer_state_dict(model, o, options=opts)  # keyed by parameter name
            index = {name: i for i, name in enumerate(_param_names(model, o))}
            out.append(_rekey(full, index) if dist.main else {})
        return out
    return [o.state_dict() for o in optimizers]


def load_optimizer_states(
    model: GPT, optimizers: list[torch.optim.Optimizer], states: list[dict], config: TrainConfig, dist: Dist
) -> None:
    """Every process loads the whole saved state; FSDP keeps each process's shard of it. Checkpoints written
    by FSDP before the one-process layout (keyed by parameter name) load too."""
    for o, s in zip(optimizers, states):
        if sharded(config, dist):
            from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

            by_name = _rekey(s, dict(enumerate(_param_names(model, o))))
            set_optimizer_state_dict(model, o, by_name, options=StateDictOptions(full_state_dict=True))
        elif any(isinstance(k, str) for k in s["state"]):
            o.load_state_dict(_rekey(s, {name: i for i, name in enumerate(_param_names(model, o))}))
        else:
            o.load_state_dict(s)
