"""Data-parallel training: torchrun / DistributedDataParallel plumbing.

``torchrun --nproc-per-node=G asa-live-train ...`` (or ``--nnodes`` / ``--rdzv-endpoint`` for
several machines) sets RANK, WORLD_SIZE and LOCAL_RANK; :func:`setup` reads them and joins the
process group (NCCL when every rank has a GPU, gloo otherwise). Without those variables it is
a no-op, so the same code runs on a laptop. Each rank trains on its shard of every epoch
(DistributedSampler); gradients are averaged by DDP; only rank 0 evaluates, logs and writes
checkpoints, the others wait at a barrier.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "all_equal", "any_true", "barrier", "broadcast_object", "cleanup", "setup"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``world_size == 1`` means no process group."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    backend: str | None = None

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(backend: str | None = None) -> DistInfo:
    """Join the process group torchrun describes in the environment (no-op without one)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"
    if not dist.is_initialized():
        if backend == "nccl":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistInfo(rank, local_rank, world_size, backend)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def broadcast_object(info: DistInfo, value):
    """Rank 0's ``value`` on every rank (e.g. a flag saying "stop now")."""
    if not info.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def any_true(info: DistInfo, flag: bool) -> bool:
    """Whether ``flag`` is set on any rank (so that all ranks act on it at the same step)."""
    if not info.enabled:
        return flag
    box = torch.tensor([1.0 if flag else 0.0], device=_comm_device(info))
    dist.all_reduce(box, op=dist.ReduceOp.MAX)
    return bool(box.item() > 0)


def all_equal(info: DistInfo, tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` (on the CPU) is identical on every rank."""
    if not info.enabled:
        return True
    tensor = tensor.to(_comm_device(info))
    gathered = [torch.zeros_like(tensor) for _ in range(info.world_size)]
    dist.all_gather(gathered, tensor)
    return all(torch.equal(g, gathered[0]) for g in gathered)


def _comm_device(info: DistInfo) -> torch.device:
    """NCCL only moves CUDA tensors; gloo moves CPU tensors."""
    if info.backend == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
