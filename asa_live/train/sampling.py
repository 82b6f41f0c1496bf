"""The batches of one training epoch, in an order fixed by (seed, epoch), from any batch on.

The order is drawn from generators seeded per epoch (never from the global RNG), so a resumed
epoch skips exactly the batches that already ran and sees the rest in the same order.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler
from torch.utils.data.distributed import DistributedSampler

from asa_live.train.ddp import DistInfo
from asa_live.train.recipes import TrainConfig

__all__ = ["epoch_loader"]


def epoch_loader(
    dataset: Dataset, cfg: TrainConfig, dist_info: DistInfo, epoch: int, skip_batches: int = 0
) -> tuple[DataLoader, int]:
    """The epoch's loader from batch ``skip_batches`` on, and the epoch's batch count."""
    if dist_info.enabled:
        sampler = DistributedSampler(
            dataset, num_replicas=dist_info.world_size, rank=dist_info.rank,
            shuffle=True, seed=cfg.seed, drop_last=False,
        )  # fmt: skip
        sampler.set_epoch(epoch)
    else:
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
        sampler = RandomSampler(dataset, generator=gen)
    per_rank = max(1, cfg.batch_size // dist_info.world_size)
    drop_last = len(dataset) >= per_rank * 2  # keep BN batches full once there are enough
    indices = list(sampler)  # the epoch's order, so a resumed epoch skips exactly what ran
    total = len(indices) // per_rank if drop_last else -(-len(indices) // per_rank)
    loader = DataLoader(
        dataset, batch_size=per_rank, sampler=indices[skip_batches * per_rank :],
        num_workers=cfg.num_workers, drop_last=drop_last, persistent_workers=False,
        # Its own generator: the loader's worker seed must not draw from the global torch RNG,
        # whose state a resumed run restores.
        generator=torch.Generator().manual_seed(cfg.seed + epoch),
    )  # fmt: skip
    return loader, total
