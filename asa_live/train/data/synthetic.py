"""Synthetic continuous recordings made on the fly by asa_live.synth, binned and cached.

Recording ``i`` of the train split has seed ``TRAIN_SEED_BASE + i``, of the test split
``TEST_SEED_BASE + i`` (never seen in training). The cache key holds a hash of the generator's
source code, so editing the generator never serves stale frames.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np

import asa_live.synth as synth
from asa_live.classes import NUM_GESTURE_CLASSES
from asa_live.synth import generate_recording
from asa_live.train.data.cache import FrameCache
from asa_live.train.data.config import DataConfig
from asa_live.train.data.frames import bin_recording
from asa_live.train.data.pool import map_jobs
from asa_live.train.data.sequences import DataSplit, sequence_from_arrays

__all__ = [
    "TEST_SEED_BASE",
    "TRAIN_SEED_BASE",
    "VAL_SEED_BASE",
    "make_synthetic_split",
    "recording_plan",
    "recordings_for",
]

TRAIN_SEED_BASE = 0
TEST_SEED_BASE = 100_000
#: Validation recordings (model selection, calibration): held out like the test seeds, never
#: the same ones.
VAL_SEED_BASE = 101_000

# Modules of asa_live.synth that never change what generate_recording returns (the
# command line, the figures, the dataset writers): editing them keeps cached frames valid.
_SYNTH_FILES_WITHOUT_EFFECT = frozenset({"cli.py", "figures.py", "dataset.py"})


def _synth_source_hash() -> str:
    """Hash of the generator's source: editing the generator invalidates cached frames."""
    digest = hashlib.sha256()
    base = Path(synth.__file__).parent
    for path in sorted(base.rglob("*.py")):
        if path.name in _SYNTH_FILES_WITHOUT_EFFECT:
            continue
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _make_recording(job: tuple[list[int], int, DataConfig, str]) -> tuple[str, dict]:
    class_ids, seed, cfg, generator_hash = job
    source = {
        "kind": "synth-recording",
        "class_ids": list(class_ids),
        "seed": seed,
        "gesture_ms": int(cfg.synth_duration_ms),
        "generator": generator_hash,
    }

    def compute() -> dict[str, np.ndarray]:
        events, labels = generate_recording(
            class_ids, seed, gesture_duration_us=int(cfg.synth_duration_ms) * 1000
        )
        return bin_recording(events, labels, cfg)

    arrays = FrameCache(cfg.cache_dir).get_or_compute(cfg.binning_key, source, compute)
    return f"synth-seed{seed}", arrays


def recordings_for(per_class: int, gestures_per_recording: int) -> int:
    """Recordings needed for ``per_class`` gestures of every class (at least one)."""
    return max(1, math.ceil(per_class * NUM_GESTURE_CLASSES / gestures_per_recording))


def recording_plan(
    *, train: bool, num_recordings: int, gestures_per_recording: int, base: int | None = None
) -> list[tuple[list[int], int]]:
    """``(class_ids, seed)`` of each recording of a split.

    A recording's gestures cycle through the classes in an order shuffled by its seed, so
    every class appears equally often overall.
    """
    base = base if base is not None else (TRAIN_SEED_BASE if train else TEST_SEED_BASE)
    n = NUM_GESTURE_CLASSES
    plan = []
    for i in range(num_recordings):
        seed = base + i
        order = np.random.default_rng(seed).permutation(n)
        start = (i * gestures_per_recording) % n
        plan.append(([int(order[(start + j) % n]) for j in range(gestures_per_recording)], seed))
    return plan


def make_synthetic_split(
    cfg: DataConfig,
    *,
    train: bool,
    num_recordings: int,
    gestures_per_recording: int,
    validation: bool = False,
) -> DataSplit:
    """Synthetic continuous recordings (gestures with idle gaps), like IBM's trials.

    A recording's gestures cycle through the classes in an order shuffled by its seed, so
    every class appears equally often overall.
    """
    base = VAL_SEED_BASE if validation else (TRAIN_SEED_BASE if train else TEST_SEED_BASE)
    generator_hash = _synth_source_hash()
    plan = recording_plan(train=train, num_recordings=num_recordings,
                          gestures_per_recording=gestures_per_recording, base=base)  # fmt: skip
    jobs = [(class_ids, seed, cfg, generator_hash) for class_ids, seed in plan]
    results = map_jobs(_make_recording, jobs, cfg.data_workers, desc="synthetic data")
    sequences = [sequence_from_arrays(name, a, cfg.window_us) for name, a in results]
    split = DataSplit(sequences, "")
    split.description = (
        f"synthetic {'validation' if validation else 'train' if train else 'test'}: "
        f"{len(sequences)} recordings (seeds "
        f"{base}..{base + num_recordings - 1}), {split.num_segments} gestures of "
        f"{cfg.synth_duration_ms} ms"
    )
    return split
