"""Fixtures of the training tests: one tiny synthetic dataset, binned once per session."""

from __future__ import annotations

import pytest

from asa_live.train.recipes import get_recipe

# Tiny: 1 train + 1 test recording of 11 gestures x 300 ms, a net with 4/8/8 channels.
TINY = {
    "synth_train_per_class": 1,
    "synth_test_per_class": 1,
    "synth_gestures_per_recording": 11,
    "synth_duration_ms": 300,
    "data_workers": 0,
    "channels": (4, 8, 8),
    "hidden": 16,
    "batch_size": 4,
    "epochs": 1,
    "clip_windows": 10,
    "test_clips": 3,
    "progress": False,
    "tensorboard": False,
    "torch_threads": 1,
}


@pytest.fixture(scope="session")
def frame_cache(tmp_path_factory):
    """A frame cache shared by the tests, so the synthetic recordings are binned once."""
    return tmp_path_factory.mktemp("frame-cache")


@pytest.fixture
def tiny_clip_cfg(tmp_path, frame_cache):
    """The paper recipe (clip mode) shrunk: K = T = 10 windows, 1 epoch."""
    return get_recipe("paper-3layer").replace(
        **TINY, chunk_windows=10, cache_dir=str(frame_cache), out_dir=str(tmp_path / "run")
    )


@pytest.fixture
def tiny_stream_cfg(tmp_path, frame_cache):
    """The streaming recipe shrunk: K = 1, 2 segments of 4 chunks after 3 burn-in windows."""
    return get_recipe("streaming").replace(
        **TINY,
        chunk_windows=1,
        bptt_chunks=4,
        segments_per_sample=2,
        burn_in_windows=3,
        stream_samples_per_epoch=8,
        cache_dir=str(frame_cache),
        out_dir=str(tmp_path / "run"),
    )


@pytest.fixture(scope="session")
def resume_base_cfg(frame_cache):
    """Streaming, 2 epochs of 3 steps, dropout on (so the torch RNG matters); no out_dir yet."""
    return (
        get_recipe("streaming")
        .replace(
            **TINY,
            chunk_windows=1,
            bptt_chunks=3,
            segments_per_sample=2,
            burn_in_windows=2,
            stream_samples_per_epoch=12,
            cache_dir=str(frame_cache),
        )
        .replace(epochs=2, test_clips=2)
    )


@pytest.fixture(scope="session")
def straight_run(resume_base_cfg, tmp_path_factory):
    """The uninterrupted run every interrupted one must match: its folder."""
    from asa_live.train.trainer import run_training

    out = tmp_path_factory.mktemp("straight")
    run_training(resume_base_cfg.replace(out_dir=str(out)))
    return out
