"""Loaders on synthetic IBM-layout and tonic-layout folders, and the frame cache's keys."""

from __future__ import annotations

import os

import numpy as np
import pytest

from asa_live.errors import InputFileError
from asa_live.events.ibm import read_aedat31, read_labels_csv, read_trial_list
from asa_live.synth.dataset import write_ibm_dataset, write_tonic_dataset
from asa_live.train.data import (
    ClipDataset,
    DataConfig,
    FrameCache,
    StreamDataset,
    load_ibm_split,
    load_splits,
    load_tonic_split,
)
from asa_live.train.data import frames as train_frames


def _cfg(cache, **kw):
    base = dict(
        window_us=15_000, sensor_size=(128, 128), downsample=4, cache_dir=str(cache),
        data_workers=0, data="synthetic", data_root=None,
    )  # fmt: skip
    base.update(kw)
    return DataConfig(**base)


@pytest.fixture(scope="module")
def ibm_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("ibm")
    write_ibm_dataset(
        root, n_users=2, n_test_users=1, trials_per_user=1,
        gesture_duration_us=(200_000, 300_000), gap_us=(100_000, 200_000),
    )  # fmt: skip
    return root


@pytest.fixture(scope="module")
def tonic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("tonic")
    write_tonic_dataset(
        root, n_users=2, n_test_users=1, trials_per_user=1, sample_duration_us=(150_000, 250_000)
    )
    return root


def test_ibm_layout_segments_follow_the_labels_csv(ibm_root, tmp_path):
    cfg = _cfg(tmp_path / "cache")
    train = load_ibm_split(ibm_root, True, cfg)
    test = load_ibm_split(ibm_root, False, cfg)
    folder = ibm_root / "DvsGesture"
    assert [s.name for s in train.sequences] == read_trial_list(folder / "trials_to_train.txt")
    assert len(test.sequences) == 1
    seq = train.sequences[0]
    labels = read_labels_csv(folder / seq.name.replace(".aedat", "_labels.csv"))
    events = read_aedat31(folder / seq.name)
    # Every CSV row is a segment (arm roll twice: 12 rows), in window units, [start, end).
    assert len(seq.segments) == len(labels) == 12
    assert seq.frames.shape[1:] == (2, 32, 32)
    for row, seg in zip(labels, seq.segments, strict=True):
        assert seg["class_id"] == row["class_id"]
        start_us = seq.t0_us + seg["start"] * seq.window_us
        end_us = seq.t0_us + seg["end"] * seq.window_us
        # Only whole windows inside the labelled span, losing less than one window per side.
        assert row["start_us"] <= start_us < row["start_us"] + seq.window_us
        assert row["end_us"] - seq.window_us < end_us <= row["end_us"]
        assert (seq.window_labels[seg["start"] : seg["end"]] == row["class_id"]).all()
        # The frames hold exactly the events of those windows.
        inside = ((events["t"] >= start_us) & (events["t"] < end_us)).sum()
        assert seq.frames[seg["start"] : seg["end"]].sum() == inside
    assert (seq.window_labels == -1).any()  # idle gaps stay unlabelled
    assert train.description == "IBM raw train: 1 trials, 12 segments"


def test_tonic_layout_one_segment_per_npy(tonic_root, tmp_path):
    cfg = _cfg(tmp_path / "cache")
    train = load_tonic_split(tonic_root, True, cfg)
    test = load_tonic_split(tonic_root, False, cfg)
    assert len(train.sequences) == 11 and len(test.sequences) == 11
    try:
        import tonic  # noqa: F401

        assert "listed by tonic" in train.description or "numpy" in train.description
    except ImportError:
        assert "numpy (tonic not installed" in train.description
    for seq in train.sequences:
        label = int(seq.name.split("/")[-1][:-4])
        assert seq.segments.tolist() == [(label, 0, seq.num_windows)]
        raw = np.load(tonic_root / "DVSGesture" / "ibmGestureTrain" / seq.name)
        # t in ms -> us: 150-250 ms samples give 10-17 windows of 15 ms, not 10000+.
        span_ms = raw[:, 3].max() - raw[:, 3].min()
        assert seq.num_windows == int(span_ms * 1000) // 15_000 + 1
        assert seq.frames.sum() == len(raw)


def test_autodetect_layout_and_missing_folder(ibm_root, tonic_root, tmp_path):
    cfg = _cfg(tmp_path / "cache", data_root=str(ibm_root))
    train, _ = load_splits(cfg)
    assert train.description.startswith("IBM raw")
    cfg = _cfg(tmp_path / "cache", data_root=str(tonic_root))
    assert load_splits(cfg)[0].description.startswith("tonic")
    with pytest.raises(InputFileError, match="does not exist"):
        load_splits(_cfg(tmp_path / "cache", data="ibm", data_root=str(tmp_path / "nope")))
    with pytest.raises(InputFileError, match="neither"):
        load_splits(_cfg(tmp_path / "cache", data_root=str(tmp_path)))


def test_cache_serves_hits_and_never_stale_frames(ibm_root, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = load_ibm_split(ibm_root, True, _cfg(cache))
    # A second load must not bin again: make binning fail to prove the cache is used.
    real_bin = train_frames.bin_to_grid

    def no_binning(*args, **kwargs):
        raise AssertionError("binned although the cache holds these frames")

    monkeypatch.setattr(train_frames, "bin_to_grid", no_binning)
    again = load_ibm_split(ibm_root, True, _cfg(cache))
    np.testing.assert_array_equal(first.sequences[0].frames, again.sequences[0].frames)
    # Other binning parameters: a new key, so binning runs (and here fails loudly).
    for changed in ({"window_us": 10_000}, {"downsample": 2}):
        with pytest.raises(AssertionError, match="binned"):
            load_ibm_split(ibm_root, True, _cfg(cache, **changed))
    monkeypatch.setattr(train_frames, "bin_to_grid", real_bin)
    finer = load_ibm_split(ibm_root, True, _cfg(cache, window_us=10_000))
    assert finer.sequences[0].num_windows > first.sequences[0].num_windows
    # An edited recording (new mtime / size) is a new key too.
    aedat = ibm_root / "DvsGesture" / first.sequences[0].name
    st = aedat.stat()
    os.utime(aedat, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    monkeypatch.setattr(train_frames, "bin_to_grid", no_binning)
    with pytest.raises(AssertionError, match="binned"):
        load_ibm_split(ibm_root, True, _cfg(cache))


def test_cache_key_depends_on_every_binning_parameter():
    base = {"window_us": 15_000, "sensor_size": [128, 128], "downsample": 4}
    source = {"kind": "x", "file": {"path": "/a", "size": 1, "mtime_ns": 2}}
    keys = {FrameCache.key(base, source)}
    for change in ({"window_us": 10_000}, {"sensor_size": [64, 128]}, {"downsample": 2}):
        keys.add(FrameCache.key({**base, **change}, source))
    keys.add(FrameCache.key(base, {**source, "file": {"path": "/a", "size": 1, "mtime_ns": 3}}))
    assert len(keys) == 5


def test_clip_and_stream_datasets_shapes_and_determinism(ibm_root, tmp_path):
    split = load_ibm_split(ibm_root, True, _cfg(tmp_path / "cache"))
    clips = ClipDataset(split.sequences, 12, train=True, seed=3)
    x, y = clips[0]
    assert tuple(x.shape) == (12, 2, 32, 32) and y == split.sequences[0].segments[0]["class_id"]
    np.testing.assert_array_equal(clips[5][0], clips[5][0])  # same epoch, same crop
    test_clips = ClipDataset(split.sequences, 12, train=False, num_clips=10)
    assert len(test_clips) == 12 * 10
    stream = StreamDataset(split.sequences, 40, samples_per_epoch=6, seed=1)
    xs, ys = stream[2]
    assert tuple(xs.shape) == (40, 2, 32, 32) and tuple(ys.shape) == (40,)
    assert (ys >= 0).any()  # every run overlaps a labelled gesture
    again = StreamDataset(split.sequences, 40, samples_per_epoch=6, seed=1)[2]
    np.testing.assert_array_equal(xs, again[0])
