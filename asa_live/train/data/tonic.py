"""tonic's DVSGesture layout: ``DVSGesture/ibmGestureTrain/userNN_<lighting>/<label>.npy``.

One sequence (= one segment) per ``.npy`` (1077 / 264). The file list comes from tonic's own
DVSGesture when it is installed and accepts the folder, else from walking the folders in the
same order; the files are always read by asa_live.events.tonic_npy, the reader of the live
app's TonicNpySource (t in ms -> us).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from asa_live.classes import NUM_GESTURE_CLASSES
from asa_live.errors import InputFileError
from asa_live.events.dtype import EVENT_DTYPE
from asa_live.events.tonic_npy import iter_tonic_npy
from asa_live.train.data.cache import FrameCache, file_identity
from asa_live.train.data.config import DataConfig
from asa_live.train.data.frames import bin_recording
from asa_live.train.data.pool import map_jobs
from asa_live.train.data.sequences import DataSplit, sequence_from_arrays

__all__ = ["load_tonic_split", "read_tonic_npy", "tonic_folder"]

log = logging.getLogger(__name__)


def tonic_folder(root: Path, train: bool) -> Path:
    """``root/DVSGesture/ibmGesture{Train,Test}`` (or without the DVSGesture level)."""
    name = "ibmGestureTrain" if train else "ibmGestureTest"
    for candidate in (root / "DVSGesture" / name, root / name):
        if candidate.is_dir():
            return candidate
    raise InputFileError(
        f"No tonic DVSGesture folder under '{root}': expected DVSGesture/{name} with one "
        "<label>.npy per class in each userNN_<lighting> folder."
    )


def read_tonic_npy(path: str | os.PathLike) -> np.ndarray:
    """One whole tonic sample as EVENT_DTYPE (t in us), sorted by time (stable)."""
    packets = list(iter_tonic_npy(path))
    events = np.concatenate(packets) if packets else np.empty(0, dtype=EVENT_DTYPE)
    return events[np.argsort(events["t"], kind="stable")]


def _files_numpy(folder: Path) -> list[tuple[Path, int]]:
    """``(path, label)`` in tonic's order: folders sorted, files as tonic lists them (sorted)."""
    items = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for fname in sorted(filenames):
            if fname.endswith(".npy"):
                try:
                    label = int(fname[:-4])
                except ValueError:
                    continue
                items.append((Path(dirpath) / fname, label))
    return items


def _files_with_tonic(root: Path, train: bool) -> list[tuple[Path, int]] | None:
    """The file list as tonic's DVSGesture builds it, or None when tonic is unavailable."""
    try:
        # tonic is GPL-3.0-only: an optional extra, imported only here.
        from tonic.datasets import DVSGesture
    except Exception:  # ImportError, or a broken install pulling in torchvision
        return None
    try:
        ds = DVSGesture(save_to=str(root), train=train)
    except Exception as err:  # tonic tries a (broken) download when its archive is absent
        log.warning("tonic could not open %s (%s); reading the .npy files with numpy", root, err)
        return None
    paths = getattr(ds, "data", None) or getattr(ds, "samples", None)
    if not paths:
        return None
    return [(Path(p), int(t)) for p, t in zip(paths, ds.targets, strict=True)]


def _load_file(job: tuple[str, int, DataConfig]) -> tuple[str, dict[str, np.ndarray]]:
    path_str, label, cfg = job
    path = Path(path_str)
    source = {"kind": "tonic", "file": file_identity(path), "label": label}

    def compute() -> dict[str, np.ndarray]:
        return bin_recording(read_tonic_npy(path), None, cfg, class_id=label)

    arrays = FrameCache(cfg.cache_dir).get_or_compute(cfg.binning_key, source, compute)
    return f"{path.parent.name}/{path.name}", arrays


def load_tonic_split(root: str | Path, train: bool, cfg: DataConfig) -> DataSplit:
    """tonic's DVSGesture split: one sequence (= one segment) per ``<label>.npy``."""
    root = Path(root)
    folder = tonic_folder(root, train)
    # tonic's DVSGesture(save_to) reads save_to/DVSGesture/<split folder>; a folder without the
    # DVSGesture level can only be listed with numpy.
    items = None
    if folder.parent.name == "DVSGesture":
        items = _files_with_tonic(folder.parent.parent, train)
    lister = "tonic"
    if items is None:
        items = _files_numpy(folder)
        lister = "numpy (tonic not installed or not usable)"
    if not items:
        raise InputFileError(f"No <label>.npy files under '{folder}': expected tonic's layout.")
    bad = [label for _, label in items if not 0 <= label < NUM_GESTURE_CLASSES]
    if bad:
        raise InputFileError(
            f"tonic labels must be 0..{NUM_GESTURE_CLASSES - 1}, found {bad[0]} under '{folder}'."
        )
    jobs = [(str(p), label, cfg) for p, label in items]
    results = map_jobs(_load_file, jobs, cfg.data_workers, desc="reading + binning samples")
    sequences = [sequence_from_arrays(n, a, cfg.window_us) for n, a in results]
    return DataSplit(
        sequences,
        f"tonic {'train' if train else 'test'}: {len(sequences)} samples (listed by {lister})",
    )
