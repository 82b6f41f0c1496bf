"""The raw DVS128 Gesture layout: ``userNN_<lighting>.aedat`` + ``_labels.csv`` + trial lists.

One sequence per trial, every labels-CSV row a segment ``[start, end)`` (98 / 24 trials,
1176 / 288 segments, as SpikingJelly cuts them). Reading is asa_live.events.ibm, the reader
the live app's IbmAedatSource uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from asa_live.errors import InputFileError
from asa_live.events.ibm import read_aedat31, read_labels_csv, read_trial_list
from asa_live.train.data.cache import FrameCache, file_identity
from asa_live.train.data.config import DataConfig
from asa_live.train.data.frames import bin_recording
from asa_live.train.data.pool import map_jobs
from asa_live.train.data.sequences import DataSplit, sequence_from_arrays

__all__ = ["find_ibm_root", "load_ibm_split"]


def find_ibm_root(root: Path) -> Path:
    """The folder holding the trial lists: ``root`` or ``root/DvsGesture``."""
    for candidate in (root, root / "DvsGesture"):
        if (candidate / "trials_to_train.txt").is_file():
            return candidate
    raise InputFileError(
        f"No DVS128 Gesture trial lists under '{root}': expected trials_to_train.txt and "
        "trials_to_test.txt next to the .aedat files (the unpacked DvsGesture.tar.gz)."
    )


def _load_trial(job: tuple[str, DataConfig]) -> tuple[str, dict[str, np.ndarray]]:
    path_str, cfg = job
    path = Path(path_str)
    labels_path = path.with_name(path.stem + "_labels.csv")
    source = {"kind": "ibm", "file": file_identity(path), "labels": file_identity(labels_path)}

    def compute() -> dict[str, np.ndarray]:
        return bin_recording(read_aedat31(path), read_labels_csv(labels_path), cfg)

    return path.name, FrameCache(cfg.cache_dir).get_or_compute(cfg.binning_key, source, compute)


def load_ibm_split(root: str | Path, train: bool, cfg: DataConfig) -> DataSplit:
    """The raw IBM split: every trial of the trial list, one sequence per trial."""
    root = find_ibm_root(Path(root))
    names = read_trial_list(root / ("trials_to_train.txt" if train else "trials_to_test.txt"))
    missing = [n for n in names if not (root / n).is_file()]
    if missing:
        raise InputFileError(
            f"{len(missing)} trial(s) of the list are missing in '{root}' (first: {missing[0]}): "
            "unpack the whole DvsGesture.tar.gz there."
        )
    jobs = [(str(root / n), cfg) for n in names]
    results = map_jobs(_load_trial, jobs, cfg.data_workers, desc="reading + binning trials")
    sequences = [sequence_from_arrays(n, a, cfg.window_us) for n, a in results]
    split = DataSplit(sequences, "")
    split.description = (
        f"IBM raw {'train' if train else 'test'}: {len(sequences)} trials, "
        f"{split.num_segments} segments"
    )
    return split
