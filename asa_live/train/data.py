"""Training data: DVS128 Gesture (IBM raw or tonic layout) and synthetic gestures as binned frames.

Everything is reduced to one structure, :class:`LabelledSequence`: a stack of binned frames
``[T, 2, H, W]`` (counts per polarity and per block, OFF plane first) on a fixed window grid,
with a label per window (``-1`` where no gesture is labelled) and the list of labelled segments
in window units. A whole IBM trial is one sequence with eleven or more segments and idle gaps;
a tonic ``<label>.npy`` or a synthetic sample is a sequence that is one segment from end to end.

* The paper's recipe trains on random ``clip_windows`` crops of segments (:class:`ClipDataset`)
  and tests on 10 evenly spread clips per segment (asa_live.train.evaluation).
* The streaming recipe draws long runs of consecutive windows from whole sequences, gaps and
  gesture changes included (:class:`StreamDataset`).

Binned frames are cached on disk (:class:`FrameCache`) as ``.npy`` files named by a hash of the
binning parameters and the source's identity (path, size and mtime of a file; class, seed and
generator source for a synthetic sample), so changing ``window_us`` or ``downsample`` - or
editing a recording - can never serve stale frames. Cached frames are memory-mapped, so a
dataset larger than RAM works.

Splits:

* IBM raw: ``trials_to_train.txt`` / ``trials_to_test.txt`` (98 / 24 trials, 1176 / 288
  segments when every labels-CSV row is cut, as SpikingJelly does; segments are ``[start, end)``).
* tonic: ``ibmGestureTrain`` / ``ibmGestureTest`` (1077 / 264: one ``<label>.npy`` per class and
  trial, so a class labelled twice in a trial keeps one segment). ``t`` is in milliseconds there.
  tonic itself is optional: without it the folders are read with numpy (same files, same order).
* synthetic: recordings from asa_live.synth made on the fly (train seeds from 0, test
  seeds from 100_000), or a folder written by its IBM / tonic writers (read as above).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from asa_live.errors import InputFileError

log = logging.getLogger(__name__)

__all__ = [
    "CACHE_FORMAT",
    "TRAIN_SEED_BASE",
    "TEST_SEED_BASE",
    "ClipDataset",
    "DataSplit",
    "FrameCache",
    "LabelledSequence",
    "StreamDataset",
    "bin_to_grid",
    "even_clip_starts",
    "load_ibm_split",
    "load_splits",
    "load_tonic_split",
    "make_synthetic_split",
    "random_crop",
    "segments_of",
]

#: Bump when the cached array layout changes (part of every cache key).
CACHE_FORMAT = 1
TRAIN_SEED_BASE = 0
TEST_SEED_BASE = 100_000

SEGMENT_DTYPE = np.dtype([("class_id", "<i4"), ("start", "<i8"), ("end", "<i8")])


# ------------------------------------------------------------------------------------------
# sequences
# ------------------------------------------------------------------------------------------
@dataclass
class LabelledSequence:
    """Binned frames of one recording (or one segment) on a fixed window grid.

    Attributes:
        name: where it came from (file name, or ``synth-seed<N>``).
        frames: ``[T, 2, H, W]`` event counts (uint16, possibly a read-only memory map).
        window_labels: ``[T]`` int64 class of each window, ``-1`` outside labelled gestures.
        segments: SEGMENT_DTYPE rows (class_id, start, end) in windows, ``[start, end)``.
        t0_us: start time of window 0 in microseconds.
        window_us: window length in microseconds.
    """

    name: str
    frames: np.ndarray
    window_labels: np.ndarray
    segments: np.ndarray
    t0_us: int
    window_us: int

    @property
    def num_windows(self) -> int:
        return int(self.frames.shape[0])


@dataclass
class DataSplit:
    """One split: the sequences, and a description for logs and the model card."""

    sequences: list[LabelledSequence]
    description: str

    @property
    def num_segments(self) -> int:
        return sum(len(s.segments) for s in self.sequences)


def segments_of(split: DataSplit | Sequence[LabelledSequence]) -> list[tuple[int, int, int, int]]:
    """All labelled segments as ``(sequence index, class_id, start window, end window)``."""
    sequences = split.sequences if isinstance(split, DataSplit) else split
    out = []
    for i, seq in enumerate(sequences):
        for row in seq.segments:
            out.append((i, int(row["class_id"]), int(row["start"]), int(row["end"])))
    return out


def _window_labels_from_segments(num_windows: int, segments: np.ndarray) -> np.ndarray:
    labels = np.full(num_windows, -1, dtype=np.int64)
    for row in segments:
        labels[int(row["start"]) : int(row["end"])] = int(row["class_id"])
    return labels


def _segments_to_windows(labels_us: np.ndarray, t0_us: int, window_us: int, n: int) -> np.ndarray:
    """Labelled ``[start_us, end_us)`` rows -> window rows holding only whole windows.

    A window belongs to a segment when it lies entirely inside it, so no window mixes the idle
    gap (or the previous gesture) with the labelled gesture. Rows that cover no whole window
    are dropped.
    """
    rows = []
    for row in labels_us:
        start = math.ceil((int(row["start_us"]) - t0_us) / window_us)
        end = (int(row["end_us"]) - t0_us) // window_us
        start, end = max(start, 0), min(end, n)
        if end > start:
            rows.append((int(row["class_id"]), start, end))
    return np.array(rows, dtype=SEGMENT_DTYPE)


# ------------------------------------------------------------------------------------------
# binning + cache
# ------------------------------------------------------------------------------------------
def bin_to_grid(
    events: np.ndarray,
    *,
    window_us: int,
    sensor_size: tuple[int, int],
    downsample: int,
    t0_us: int,
    num_windows: int,
) -> np.ndarray:
    """Bin events into exactly ``num_windows`` windows starting at ``t0_us``.

    Returns uint16 counts ``[num_windows, 2, H // downsample, W // downsample]``; events
    before ``t0_us`` or after the last window are dropped (asa_live.events.binning does the
    counting; this only fixes the length, which the paper protocol needs to be exact).
    """
    from asa_live.events.binning import bin_events

    width, height = sensor_size
    shape = (num_windows, 2, height // downsample, width // downsample)
    end_us = t0_us + num_windows * window_us
    if len(events):
        keep = (events["t"] >= t0_us) & (events["t"] < end_us)
        events = events[keep]
    if num_windows <= 0:
        return np.zeros((0,) + shape[1:], dtype=np.uint16)
    if not len(events):
        return np.zeros(shape, dtype=np.uint16)
    frames = bin_events(events, window_us, sensor_size, downsample=downsample, t0_us=t0_us)
    out = np.zeros(shape, dtype=np.uint16)
    n = min(num_windows, frames.shape[0])
    # Counts of one 4x4 block in 15 ms stay far below 65535; clip anyway so a pathological
    # burst saturates instead of wrapping around.
    out[:n] = np.minimum(frames[:n], np.iinfo(np.uint16).max).astype(np.uint16)
    return out


def file_identity(path: str | os.PathLike) -> dict[str, Any]:
    """What makes a file's frames stale: its absolute path, size and modification time."""
    path = Path(path).resolve()
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


class FrameCache:
    """Binned frames on disk, keyed by a hash of (binning parameters, source identity).

    ``root=None`` disables caching (everything is computed in memory).
    """

    def __init__(self, root: str | os.PathLike | None) -> None:
        self.root = Path(root) if root is not None else None
        if self.root is not None:
            self.root.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(binning: dict[str, Any], source: dict[str, Any]) -> str:
        blob = json.dumps(
            {"format": CACHE_FORMAT, "binning": binning, "source": source},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def path_for(self, binning: dict[str, Any], source: dict[str, Any]) -> Path | None:
        if self.root is None:
            return None
        return self.root / f"{self.key(binning, source)}.npz"

    def get_or_compute(
        self,
        binning: dict[str, Any],
        source: dict[str, Any],
        compute: Callable[[], dict[str, np.ndarray]],
    ) -> dict[str, np.ndarray]:
        """Arrays of ``compute()`` (a dict with at least ``frames``), from disk when cached.

        ``frames`` is stored as its own ``.npy`` so it can be memory-mapped; the small arrays
        go into an ``.npz`` beside it. Writes are atomic (temporary file + rename), so two
        processes filling the same cache, or an interrupted run, never leave a half file.
        """
        path = self.path_for(binning, source)
        if path is not None and path.exists() and path.with_suffix(".npy").exists():
            try:
                small = dict(np.load(path))
                small["frames"] = np.load(path.with_suffix(".npy"), mmap_mode="r")
                self.hits += 1
                return small
            except (OSError, ValueError) as err:
                log.warning("ignoring unreadable cache entry %s (%s)", path, err)
        self.misses += 1
        arrays = compute()
        if path is not None:
            frames_path = path.with_suffix(".npy")
            tmp = frames_path.with_suffix(f".tmp{os.getpid()}.npy")
            np.save(tmp, arrays["frames"])
            os.replace(tmp, frames_path)
            small = {k: v for k, v in arrays.items() if k != "frames"}
            tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
            with open(tmp, "wb") as f:
                np.savez(f, **small)
            os.replace(tmp, path)  # written last: its presence marks a complete entry
            arrays = dict(arrays)
            arrays["frames"] = np.load(frames_path, mmap_mode="r")
        return arrays


def _binning_key(cfg: Any) -> dict[str, Any]:
    return {
        "window_us": int(cfg.window_us),
        "sensor_size": [int(v) for v in cfg.sensor_size],
        "downsample": int(cfg.downsample),
    }


def _sequence_from_arrays(name: str, arrays: dict[str, np.ndarray], window_us: int):
    segments = np.asarray(arrays["segments"]).astype(SEGMENT_DTYPE)
    frames = arrays["frames"]
    return LabelledSequence(
        name=name,
        frames=frames,
        window_labels=_window_labels_from_segments(frames.shape[0], segments),
        segments=segments,
        t0_us=int(arrays["t0_us"]),
        window_us=window_us,
    )


def _bin_recording(events: np.ndarray, labels_us: np.ndarray | None, cfg: Any, class_id=None):
    """Frames + window segments of one recording (``labels_us=None``: one whole segment)."""
    window_us = int(cfg.window_us)
    if len(events) == 0:
        raise InputFileError("A recording holds no events: expected a non-empty event stream.")
    t_first, t_last = int(events["t"][0]), int(events["t"][-1])
    if labels_us is None:
        t0 = t_first
        n = max(1, (t_last - t0) // window_us + 1)
        segments = np.array([(int(class_id), 0, n)], dtype=SEGMENT_DTYPE)
    else:
        t0 = min(t_first, int(labels_us["start_us"].min()))
        n = max(1, (max(t_last, int(labels_us["end_us"].max())) - t0) // window_us + 1)
        segments = _segments_to_windows(labels_us, t0, window_us, n)
    frames = bin_to_grid(
        events,
        window_us=window_us,
        sensor_size=tuple(cfg.sensor_size),
        downsample=int(cfg.downsample),
        t0_us=t0,
        num_windows=n,
    )
    return {"frames": frames, "segments": segments, "t0_us": np.int64(t0)}


# ------------------------------------------------------------------------------------------
# IBM raw layout
# ------------------------------------------------------------------------------------------
def _find_ibm_root(root: Path) -> Path:
    for candidate in (root, root / "DvsGesture"):
        if (candidate / "trials_to_train.txt").is_file():
            return candidate
    raise InputFileError(
        f"No DVS128 Gesture trial lists under '{root}': expected trials_to_train.txt and "
        "trials_to_test.txt next to the .aedat files (the unpacked DvsGesture.tar.gz)."
    )


def _load_ibm_trial(args: tuple[str, Any]) -> tuple[str, dict[str, np.ndarray]]:
    path_str, cfg = args
    from asa_live.events.ibm import read_aedat31, read_labels_csv

    path = Path(path_str)
    labels_path = path.with_name(path.stem + "_labels.csv")
    source = {"kind": "ibm", "file": file_identity(path), "labels": file_identity(labels_path)}
    cache = FrameCache(cfg.cache_dir)

    def compute() -> dict[str, np.ndarray]:
        return _bin_recording(read_aedat31(path), read_labels_csv(labels_path), cfg)

    return path.name, cache.get_or_compute(_binning_key(cfg), source, compute)


def load_ibm_split(root: str | os.PathLike, train: bool, cfg: Any) -> DataSplit:
    """The raw IBM split: every trial of the trial list, one sequence per trial.

    ``cfg`` needs window_us, sensor_size, downsample, cache_dir, data_workers.
    """
    root = _find_ibm_root(Path(root))
    from asa_live.events.ibm import read_trial_list

    names = read_trial_list(root / ("trials_to_train.txt" if train else "trials_to_test.txt"))
    missing = [n for n in names if not (root / n).is_file()]
    if missing:
        raise InputFileError(
            f"{len(missing)} trial(s) of the list are missing in '{root}' (first: {missing[0]}): "
            "unpack the whole DvsGesture.tar.gz there."
        )
    jobs = [(str(root / n), cfg) for n in names]
    results = _map(_load_ibm_trial, jobs, int(getattr(cfg, "data_workers", 0)))
    sequences = [_sequence_from_arrays(n, a, int(cfg.window_us)) for n, a in results]
    split = DataSplit(sequences, "")
    split.description = (
        f"IBM raw {'train' if train else 'test'}: {len(sequences)} trials, "
        f"{split.num_segments} segments"
    )
    return split


# ------------------------------------------------------------------------------------------
# tonic layout
# ------------------------------------------------------------------------------------------
def _tonic_folder(root: Path, train: bool) -> Path:
    name = "ibmGestureTrain" if train else "ibmGestureTest"
    for candidate in (root / "DVSGesture" / name, root / name):
        if candidate.is_dir():
            return candidate
    raise InputFileError(
        f"No tonic DVSGesture folder under '{root}': expected DVSGesture/{name} with one "
        "<label>.npy per class in each userNN_<lighting> folder."
    )


def _tonic_files_numpy(folder: Path) -> list[tuple[Path, int]]:
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


def _tonic_files_with_tonic(root: Path, train: bool) -> list[tuple[Path, int]] | None:
    """The file list as tonic's DVSGesture builds it, or None when tonic is unavailable."""
    try:
        import tonic  # noqa: F401  (GPL-3.0-only, an optional extra)
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


def read_tonic_npy(path: str | os.PathLike) -> np.ndarray:
    """One tonic ``<label>.npy`` ((N, 4) columns x, y, p, t in ms) as EVENT_DTYPE (t in us)."""
    from asa_live.events.dtype import make_events

    try:
        raw = np.load(path)
    except (OSError, ValueError) as err:
        raise InputFileError(f"Cannot read the tonic sample '{path}' ({err}).") from None
    if raw.ndim != 2 or raw.shape[1] != 4:
        raise InputFileError(
            f"The tonic sample '{path}' has shape {raw.shape}: expected (N, 4) columns x, y, p, t."
        )
    order = np.argsort(raw[:, 3], kind="stable")
    raw = raw[order]
    # tonic's preprocessed copy stores milliseconds (tonic multiplies by 1000 on load).
    t_us = np.round(raw[:, 3].astype(np.float64) * 1000.0).astype(np.int64)
    return make_events(t_us, raw[:, 0], raw[:, 1], (raw[:, 2] > 0).astype(np.uint8))


def _load_tonic_file(args: tuple[str, int, Any]) -> tuple[str, dict[str, np.ndarray]]:
    path_str, label, cfg = args
    path = Path(path_str)
    source = {"kind": "tonic", "file": file_identity(path), "label": label}
    cache = FrameCache(cfg.cache_dir)

    def compute() -> dict[str, np.ndarray]:
        return _bin_recording(read_tonic_npy(path), None, cfg, class_id=label)

    return f"{path.parent.name}/{path.name}", cache.get_or_compute(
        _binning_key(cfg), source, compute
    )


def load_tonic_split(root: str | os.PathLike, train: bool, cfg: Any) -> DataSplit:
    """tonic's DVSGesture split: one sequence (= one segment) per ``<label>.npy``.

    With tonic installed its ``DVSGesture`` lists the files; otherwise (or when tonic refuses
    the folder, e.g. without its archive) the same folders are walked with numpy.
    """
    root = Path(root)
    folder = _tonic_folder(root, train)
    # tonic's DVSGesture(save_to) reads save_to/DVSGesture/<split folder>; a folder without the
    # DVSGesture level can only be read with numpy.
    items = None
    if folder.parent.name == "DVSGesture":
        items = _tonic_files_with_tonic(folder.parent.parent, train)
    reader = "tonic"
    if items is None:
        items = _tonic_files_numpy(folder)
        reader = "numpy (tonic not installed or not usable)"
    if not items:
        raise InputFileError(f"No <label>.npy files under '{folder}': expected tonic's layout.")
    bad = [label for _, label in items if not 0 <= label < 11]
    if bad:
        raise InputFileError(f"tonic labels must be 0..10, found {bad[0]} under '{folder}'.")
    jobs = [(str(p), label, cfg) for p, label in items]
    results = _map(_load_tonic_file, jobs, int(getattr(cfg, "data_workers", 0)))
    sequences = [_sequence_from_arrays(n, a, int(cfg.window_us)) for n, a in results]
    return DataSplit(
        sequences,
        f"tonic {'train' if train else 'test'}: {len(sequences)} samples (read by {reader})",
    )


# ------------------------------------------------------------------------------------------
# synthetic, made on the fly
# ------------------------------------------------------------------------------------------
# Modules of asa_live.synth that never change what generate_recording returns (the
# command line, the figures, the dataset writers): editing them keeps cached frames valid.
_SYNTH_FILES_WITHOUT_EFFECT = frozenset({"cli.py", "figures.py", "dataset.py"})


def _synth_source_hash() -> str:
    """Hash of the generator's source: editing the generator invalidates cached frames."""
    import asa_live.synth as synth

    digest = hashlib.sha256()
    base = Path(synth.__file__).parent
    for path in sorted(base.rglob("*.py")):
        if path.name in _SYNTH_FILES_WITHOUT_EFFECT:
            continue
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _make_synth_recording(args: tuple[list[int], int, Any, str]) -> tuple[str, dict]:
    class_ids, seed, cfg, generator_hash = args
    source = {
        "kind": "synth-recording",
        "class_ids": list(class_ids),
        "seed": seed,
        "gesture_ms": int(cfg.synth_duration_ms),
        "generator": generator_hash,
    }
    cache = FrameCache(cfg.cache_dir)

    def compute() -> dict[str, np.ndarray]:
        from asa_live.synth import generate_recording

        events, labels = generate_recording(
            class_ids, seed, gesture_duration_us=int(cfg.synth_duration_ms) * 1000
        )
        return _bin_recording(events, labels, cfg)

    return f"synth-seed{seed}", cache.get_or_compute(_binning_key(cfg), source, compute)


def make_synthetic_split(
    cfg: Any,
    *,
    train: bool,
    num_recordings: int,
    gestures_per_recording: int,
) -> DataSplit:
    """Synthetic continuous recordings (gestures with idle gaps), like IBM's trials.

    Recording ``i`` of the train split has seed ``TRAIN_SEED_BASE + i``, of the test split
    ``TEST_SEED_BASE + i`` (never seen in training). Its gestures cycle through the 11 classes
    in an order shuffled by that seed, so every class appears equally often overall.
    """
    base = TRAIN_SEED_BASE if train else TEST_SEED_BASE
    generator_hash = _synth_source_hash()
    jobs = []
    for i in range(num_recordings):
        seed = base + i
        order = np.random.default_rng(seed).permutation(11)
        start = (i * gestures_per_recording) % 11
        class_ids = [int(order[(start + j) % 11]) for j in range(gestures_per_recording)]
        jobs.append((class_ids, seed, cfg, generator_hash))
    results = _map(_make_synth_recording, jobs, int(getattr(cfg, "data_workers", 0)))
    sequences = [_sequence_from_arrays(n, a, int(cfg.window_us)) for n, a in results]
    split = DataSplit(sequences, "")
    split.description = (
        f"synthetic {'train' if train else 'test'}: {len(sequences)} recordings (seeds "
        f"{base}..{base + num_recordings - 1}), {split.num_segments} gestures of "
        f"{cfg.synth_duration_ms} ms"
    )
    return split


def _detect_layout(root: Path) -> str:
    try:
        _find_ibm_root(root)
        return "ibm"
    except InputFileError:
        pass
    for name in ("ibmGestureTrain", "ibmGestureTest"):
        if (root / "DVSGesture" / name).is_dir() or (root / name).is_dir():
            return "tonic"
    raise InputFileError(
        f"'{root}' is neither an IBM DvsGesture folder (trials_to_train.txt) nor a tonic "
        "DVSGesture folder (ibmGestureTrain/): point --data-root at one of them."
    )


def load_splits(cfg: Any) -> tuple[DataSplit, DataSplit]:
    """(train, test) for a TrainConfig: picks the loader by ``cfg.data`` / ``cfg.data_root``."""
    if cfg.data == "synthetic" and cfg.data_root is None:
        n_train = max(
            1, math.ceil(cfg.synth_train_per_class * 11 / cfg.synth_gestures_per_recording)
        )
        n_test = max(1, math.ceil(cfg.synth_test_per_class * 11 / cfg.synth_gestures_per_recording))
        train = make_synthetic_split(
            cfg,
            train=True,
            num_recordings=n_train,
            gestures_per_recording=cfg.synth_gestures_per_recording,
        )
        test = make_synthetic_split(
            cfg,
            train=False,
            num_recordings=n_test,
            gestures_per_recording=cfg.synth_gestures_per_recording,
        )
        return train, test
    if cfg.data_root is None:
        raise InputFileError(
            f"--data {cfg.data} needs --data-root: the folder of the downloaded dataset."
        )
    root = Path(cfg.data_root)
    if not root.is_dir():
        raise InputFileError(f"The dataset folder '{root}' does not exist: check --data-root.")
    layout = cfg.data if cfg.data != "synthetic" else _detect_layout(root)
    loader = load_ibm_split if layout == "ibm" else load_tonic_split
    return loader(root, True, cfg), loader(root, False, cfg)


def _map(fn: Callable, jobs: list, workers: int) -> list:
    if workers <= 1 or len(jobs) <= 1:
        return [fn(job) for job in jobs]
    # spawn, not fork: forking a process that already runs torch threads can deadlock.
    import multiprocessing as mp

    ctx = mp.get_context("spawn" if sys.platform != "linux" else "forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        return list(pool.map(fn, jobs, chunksize=1))


# ------------------------------------------------------------------------------------------
# clip sampling
# ------------------------------------------------------------------------------------------
def even_clip_starts(num_windows: int, clip_windows: int, num_clips: int = 10) -> np.ndarray:
    """Start windows of ``num_clips`` clips spread evenly over ``num_windows`` windows.

    The first clip starts at 0 and the last ends at the segment's end; a segment shorter than
    a clip gives ``num_clips`` clips starting at 0 (each padded by :func:`crop`).
    """
    last = max(0, num_windows - clip_windows)
    return np.round(np.linspace(0, last, num_clips)).astype(np.int64)


def random_crop(num_windows: int, clip_windows: int, rng: np.random.Generator) -> int:
    """Start window of a uniformly random crop (0 when the segment is shorter than a clip)."""
    return int(rng.integers(0, max(0, num_windows - clip_windows) + 1))


def crop(frames: np.ndarray, start: int, length: int) -> np.ndarray:
    """``frames[start:start+length]`` as float32, zero-padded at the end when too short."""
    part = np.asarray(frames[start : start + length], dtype=np.float32)
    if part.shape[0] < length:
        pad = np.zeros((length - part.shape[0],) + part.shape[1:], dtype=np.float32)
        part = np.concatenate([part, pad])
    return part


class ClipDataset(Dataset):
    """Segments as fixed-length clips: ``(x [T, 2, H, W] float32, label)``.

    ``train=True``: a random crop per access (seeded by ``seed``, the epoch and the index, so a
    run is reproducible with any number of loader workers). ``train=False``: clip ``clip_index``
    of :func:`even_clip_starts`, for the paper's test protocol.
    """

    def __init__(
        self,
        sequences: Sequence[LabelledSequence],
        clip_windows: int,
        *,
        train: bool,
        seed: int = 0,
        num_clips: int = 10,
        max_items: int = 0,
    ) -> None:
        self.sequences = list(sequences)
        self.segments = segments_of(self.sequences)
        if max_items:
            self.segments = self.segments[:max_items]
        if not self.segments:
            raise InputFileError("The dataset holds no labelled gesture segment to train on.")
        self.clip_windows = clip_windows
        self.train = train
        self.seed = seed
        self.num_clips = num_clips
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.segments) if self.train else len(self.segments) * self.num_clips

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if self.train:
            seq_i, label, start, end = self.segments[index]
            rng = np.random.default_rng([self.seed, self.epoch, index])
            offset = random_crop(end - start, self.clip_windows, rng)
        else:
            seq_i, label, start, end = self.segments[index // self.num_clips]
            starts = even_clip_starts(end - start, self.clip_windows, self.num_clips)
            offset = int(starts[index % self.num_clips])
        frames = self.sequences[seq_i].frames[start:end]
        return torch.from_numpy(crop(frames, offset, self.clip_windows)), label


class StreamDataset(Dataset):
    """Runs of consecutive windows from whole sequences: ``(x [W, 2, H, W], labels [W])``.

    Each item starts at a random window of a random sequence (seeded by seed, epoch, index).
    Starts are drawn so that the run ends inside or right after a labelled gesture more often
    than it would by chance: gaps carry no loss, so runs that are all gap would waste compute.
    Labels are ``-1`` where no gesture is labelled (and in the zero padding past the end).
    """

    def __init__(
        self,
        sequences: Sequence[LabelledSequence],
        run_windows: int,
        *,
        samples_per_epoch: int = 0,
        seed: int = 0,
        max_items: int = 0,
    ) -> None:
        self.sequences = [s for s in sequences if len(s.segments)]
        if max_items:
            self.sequences = self.sequences[:max_items]
        if not self.sequences:
            raise InputFileError("The dataset holds no labelled gesture segment to train on.")
        self.run_windows = run_windows
        self.segments = segments_of(self.sequences)
        self.samples_per_epoch = samples_per_epoch or len(self.segments)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.samples_per_epoch

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        # Pick a gesture, then a start such that the run overlaps it; the start may lie in the
        # previous gesture or the gap before, so the net learns to switch classes mid-stream.
        seq_i, _, seg_start, seg_end = self.segments[int(rng.integers(len(self.segments)))]
        seq = self.sequences[seq_i]
        lo = max(0, seg_start - self.run_windows + 1)
        hi = max(lo, min(seg_end - 1, seq.num_windows - 1))
        start = int(rng.integers(lo, hi + 1))
        x = crop(seq.frames, start, self.run_windows)
        labels = np.full(self.run_windows, -1, dtype=np.int64)
        part = seq.window_labels[start : start + self.run_windows]
        labels[: len(part)] = part
        return torch.from_numpy(x), torch.from_numpy(labels)
