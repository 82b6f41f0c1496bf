"""The frame cache: binned frames on disk, keyed by what makes them stale.

A key is a SHA-256 of the binning parameters, the cache format and the source's identity (path,
size and mtime of a file; classes, seed and generator source for a synthetic recording), so
changing ``window_us`` or ``downsample`` - or editing a recording - can never serve stale frames.
Frames are stored as their own ``.npy`` and memory-mapped on reading, so a dataset larger than
RAM works.

The cache never fills its disk: an entry that would leave less than ``min_free_bytes`` free
(default 2 GiB) is not stored, and a write that fails (disk full, read-only folder) is removed
again; either way the frames are used from memory for this run, with one warning. Frames are
large at full resolution (uint16 counts at 128x128: 64 KiB per 15 ms window, about 100 GB for
the IBM dataset), and a full disk kills every other job on the machine, not only this one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CACHE_FORMAT", "FrameCache", "file_identity"]

log = logging.getLogger(__name__)

#: Bump when the cached array layout changes (part of every cache key).
CACHE_FORMAT = 1

#: Free space an entry must leave on the cache's disk, or it is not stored.
MIN_FREE_BYTES = 2 * 1024**3


def file_identity(path: str | os.PathLike) -> dict[str, Any]:
    """What makes a file's frames stale: its absolute path, size and modification time."""
    path = Path(path).resolve()
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


class FrameCache:
    """Binned frames on disk, keyed by a hash of (binning parameters, source identity).

    ``root=None`` disables caching (everything is computed in memory). ``min_free_bytes``: the
    free space an entry must leave on the disk to be stored (see the module docstring).
    """

    def __init__(
        self, root: str | os.PathLike | None, min_free_bytes: int = MIN_FREE_BYTES
    ) -> None:
        self.root = Path(root) if root is not None else None
        if self.root is not None:
            self.root.mkdir(parents=True, exist_ok=True)
        self.min_free_bytes = int(min_free_bytes)
        self.hits = 0
        self.misses = 0
        self.not_stored = 0

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
        if path is None:
            return arrays
        reason = self._no_room(arrays)
        if reason is None:
            try:
                return self._store(path, arrays)
            except OSError as err:
                reason = f"writing it failed ({err.strerror or err})"
        self.not_stored += 1
        if self.not_stored == 1:
            log.warning(
                "frame cache: not storing frames in %s: %s; they are used from memory for this "
                "run (free some space or pass another --cache-dir)", self.root, reason,
            )  # fmt: skip
        return arrays

    def _no_room(self, arrays: dict[str, np.ndarray]) -> str | None:
        """Why the entry must not be stored (it would leave too little free space), or None."""
        need = sum(int(np.asarray(a).nbytes) for a in arrays.values())
        free = shutil.disk_usage(self.root).free
        if free - need >= self.min_free_bytes:
            return None
        return (
            f"{need / 2**20:.0f} MiB would leave {max(free - need, 0) / 2**30:.1f} GiB free, "
            f"under the {self.min_free_bytes / 2**30:.1f} GiB the cache keeps free"
        )

    @staticmethod
    def _store(path: Path, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        frames_path = path.with_suffix(".npy")
        tmps = [frames_path.with_suffix(f".tmp{os.getpid()}.npy"),
                path.with_suffix(f".tmp{os.getpid()}.npz")]  # fmt: skip
        try:
            np.save(tmps[0], arrays["frames"])
            os.replace(tmps[0], frames_path)
            small = {k: v for k, v in arrays.items() if k != "frames"}
            with open(tmps[1], "wb") as f:
                np.savez(f, **small)
            os.replace(tmps[1], path)  # written last: its presence marks a complete entry
        except OSError:
            for leftover in (*tmps, frames_path):  # no half entry, no space kept by a failure
                leftover.unlink(missing_ok=True)
            raise
        arrays = dict(arrays)
        arrays["frames"] = np.load(frames_path, mmap_mode="r")
        return arrays
