"""Parity: the training loaders and the live path bin the same file into the same frames.

Training: asa_live.train.data (IBM / tonic loaders, frame grid, cache) with the DataConfig a
checkpoint's BinningConfig gives. Live: the asa_live.events source the app opens for that file
-> SensorAdapter -> StreamingBinner, configured from the same BinningConfig, exactly as
asa_live.pipeline.runner builds them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asa_live.events.adapt import SensorAdapter
from asa_live.events.binning import StreamingBinner
from asa_live.events.sources import IbmAedatSource, TonicNpySource
from asa_live.model.config import BinningConfig
from asa_live.synth.dataset import write_ibm_dataset, write_tonic_dataset
from asa_live.train.data import DataConfig, LabelledSequence, load_ibm_split, load_tonic_split

BINNING = BinningConfig(window_us=15_000, sensor_size=(128, 128), downsample=4)


def _live_frames(source, binning: BinningConfig, t0_us: int) -> dict[int, np.ndarray]:
    """Window index -> frame, as the live runner bins the source (packets of any size)."""
    adapter = SensorAdapter(
        source.sensor_size, target_size=tuple(binning.sensor_size), mode=binning.adapt_mode
    )
    binner = StreamingBinner(
        binning.window_us, tuple(binning.sensor_size), downsample=binning.downsample, t0_us=t0_us
    )
    windows = []
    with source:
        for packet in source:
            windows += binner.push(adapter(packet))
    windows += binner.flush()
    assert binner.late_events == 0 and binner.skipped_windows == 0
    return {w.index: w.frame for w in windows}


def _assert_frames_equal(seq: LabelledSequence, live: dict[int, np.ndarray]) -> None:
    train = np.asarray(seq.frames, dtype=np.float32)
    assert train.sum() > 0
    compared = 0
    for index, frame in live.items():
        if index < seq.num_windows:
            np.testing.assert_array_equal(train[index], frame, err_msg=f"window {index}")
            compared += 1
        else:  # past the training grid's end: nothing may be lost there
            assert frame.sum() == 0
    # Every training window with events was produced live too.
    busy = {int(i) for i in np.flatnonzero(train.sum(axis=(1, 2, 3)))}
    assert busy <= set(live) and compared >= len(busy)


@pytest.fixture(scope="module")
def ibm_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ibm-parity")
    write_ibm_dataset(
        root, n_users=1, n_test_users=1, trials_per_user=1,
        gesture_duration_us=(150_000, 250_000), gap_us=(50_000, 100_000),
    )  # fmt: skip
    return root


def test_ibm_training_frames_equal_live_frames(ibm_root, tmp_path):
    cfg = DataConfig.from_binning(BINNING, cache_dir=str(tmp_path / "cache"))
    split = load_ibm_split(ibm_root, False, cfg)
    seq = split.sequences[0]
    path = ibm_root / "DvsGesture" / seq.name
    live = _live_frames(IbmAedatSource(path, max_events_per_packet=997), BINNING, seq.t0_us)
    _assert_frames_equal(seq, live)
    # The cached copy (memory-mapped uint16) is the same frames.
    again = load_ibm_split(ibm_root, False, cfg).sequences[0]
    np.testing.assert_array_equal(again.frames, seq.frames)


def test_tonic_training_frames_equal_live_frames(tmp_path):
    root = tmp_path / "tonic"
    write_tonic_dataset(
        root, n_users=1, n_test_users=1, trials_per_user=1, sample_duration_us=(100_000, 150_000)
    )
    cfg = DataConfig.from_binning(BINNING, cache_dir=None)
    split = load_tonic_split(root, False, cfg)
    folder = next(root.rglob("ibmGestureTest"))
    for seq in split.sequences[:3]:
        path = folder / seq.name
        live = _live_frames(TonicNpySource(path, packet_events=500), BINNING, seq.t0_us)
        _assert_frames_equal(seq, live)
