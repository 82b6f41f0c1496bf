"""The frame cache keeps its disk from filling: no room or a failed write -> frames from memory."""

from __future__ import annotations

import errno
import logging
import shutil
from collections import namedtuple

import numpy as np
import pytest

from asa_live.train.data import cache as cache_mod
from asa_live.train.data.cache import FrameCache

BINNING = {"window_us": 15_000, "downsample": 4}
SOURCE = {"file": "a.aedat"}


def _compute(calls: list[int]):
    def compute() -> dict[str, np.ndarray]:
        calls.append(1)
        return {"frames": np.ones((50, 2, 32, 32), np.float32), "labels": np.arange(3)}

    return compute


def _entries(root) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def test_stored_and_then_read_from_disk(tmp_path) -> None:
    calls: list[int] = []
    cache = FrameCache(tmp_path, min_free_bytes=0)
    first = cache.get_or_compute(BINNING, SOURCE, _compute(calls))
    again = FrameCache(tmp_path, min_free_bytes=0).get_or_compute(BINNING, SOURCE, _compute(calls))
    assert len(calls) == 1 and isinstance(again["frames"], np.memmap)
    assert np.array_equal(first["frames"], again["frames"])
    assert len(_entries(tmp_path)) == 2  # .npy + .npz


def test_entry_not_stored_when_it_would_leave_too_little_space(tmp_path, monkeypatch, caplog):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(cache_mod.shutil, "disk_usage", lambda _: usage(10**12, 0, 3 * 2**30))
    cache = FrameCache(tmp_path)  # default: keep 2 GiB free; 3 GiB free minus 400 KiB is fine
    cache.get_or_compute(BINNING, SOURCE, _compute([]))
    assert cache.not_stored == 0 and len(_entries(tmp_path)) == 2
    monkeypatch.setattr(cache_mod.shutil, "disk_usage", lambda _: usage(10**12, 0, 2 * 2**30))
    calls: list[int] = []
    small = FrameCache(tmp_path)
    with caplog.at_level(logging.WARNING):
        out = small.get_or_compute(BINNING, {"file": "b.aedat"}, _compute(calls))
        small.get_or_compute(BINNING, {"file": "c.aedat"}, _compute(calls))
    assert calls == [1, 1] and out["frames"].shape == (50, 2, 32, 32)
    assert small.not_stored == 2 and len(_entries(tmp_path)) == 2  # nothing new on disk
    warnings = [r.getMessage() for r in caplog.records if "frame cache" in r.getMessage()]
    assert len(warnings) == 1 and "GiB the cache keeps free" in warnings[0]  # once per cache


@pytest.mark.parametrize("fail_at", ["npy", "npz"])
def test_failed_write_leaves_no_half_entry(tmp_path, monkeypatch, caplog, fail_at) -> None:
    def disk_full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    target = "save" if fail_at == "npy" else "savez"
    monkeypatch.setattr(cache_mod.np, target, disk_full)
    cache = FrameCache(tmp_path, min_free_bytes=0)
    with caplog.at_level(logging.WARNING):
        out = cache.get_or_compute(BINNING, SOURCE, _compute([]))
    assert out["frames"].shape == (50, 2, 32, 32) and np.all(out["frames"] == 1)
    assert _entries(tmp_path) == []  # no temporary file, no frames without their .npz
    assert "No space left on device" in caplog.text
    monkeypatch.undo()
    calls: list[int] = []
    FrameCache(tmp_path, min_free_bytes=0).get_or_compute(BINNING, SOURCE, _compute(calls))
    assert calls == [1]  # recomputed, then stored normally


def test_real_disk_usage_is_read(tmp_path) -> None:
    assert shutil.disk_usage(tmp_path).free > 0
    cache = FrameCache(tmp_path, min_free_bytes=shutil.disk_usage(tmp_path).total * 2)
    cache.get_or_compute(BINNING, SOURCE, _compute([]))
    assert cache.not_stored == 1 and _entries(tmp_path) == []
