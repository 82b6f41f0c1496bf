"""The frame cache: binned frames on disk, keyed by what makes them stale.

A key is a SHA-256 of the binning parameters, the cache format and the source's identity (path,
size and mtime of a file; classes, seed and generator source for a synthetic recording), so
changing ``window_us`` or ``downsample`` - or editing a recording - can never serve stale frames.
Frames are stored as their own ``.npy`` and memory-mapped on reading, so a dataset larger than
RAM works.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CACHE_FORMAT", "FrameCache", "file_identity"]

log = logging.getLogger(__name__)

#: Bump when the cached array layout changes (part of every cache key).
CACHE_FORMAT = 1


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
            arrays = self._store(path, arrays)
        return arrays

    @staticmethod
    def _store(path: Path, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
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
