"""Device selection and seeding of a training or evaluation process."""

from __future__ import annotations

import random

import numpy as np
import torch

from asa_live.errors import ConfigError

__all__ = ["resolve_device", "seed_everything"]


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> the rank's CUDA device when present, else CPU; explicit names are checked."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"Unknown --device '{name}': use auto, cpu, cuda or cuda:N.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "--device cuda was asked for but no CUDA GPU is available: use auto or cpu."
        )
    return device


def seed_everything(seed: int) -> None:
    """Python, numpy and torch RNGs; data sampling is seeded separately per epoch and item."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
