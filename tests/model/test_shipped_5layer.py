"""The shipped 5-layer model (issue 13): what it is, fast == eager on it, and it replays live."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asa_live.events import bin_events
from asa_live.model import load_checkpoint
from asa_live.synth import generate_sample

from .parity import assert_session_parity

MODEL = Path(__file__).resolve().parents[2] / "models" / "gesture-5layer-asa-nogesture.safetensors"


@pytest.fixture(scope="module")
def ckpt():
    return load_checkpoint(MODEL)


def _held_out_frames(ckpt, seconds: float = 3.0) -> np.ndarray:
    """A synthetic gesture from a seed no training run used (test seeds are 100000+)."""
    b = ckpt.binning
    events = generate_sample(3, seed=777_123, duration_us=int(seconds * 1e6))
    return bin_events(events, b.window_us, b.sensor_size, b.downsample)


def test_it_is_the_papers_5layer_net_narrowed(ckpt) -> None:
    cfg = ckpt.model.config
    assert cfg.arch == "5layer" and cfg.attention == "asa" and cfg.chunk_windows == 1
    assert len(cfg.channels) == 5 and ckpt.model.layer_names[-2:] == ("fc1", "fc2")
    assert ckpt.binning.window_us == 15_000 and ckpt.binning.downsample == 2
    assert cfg.input_size == (64, 64)
    assert ckpt.class_names[:2] == ("hand_clapping", "right_hand_wave")
    assert len(ckpt.class_names) == 11
    readout = ckpt.readout  # a calibrated "no gesture" decision rides along
    assert readout.background and 0 < readout.threshold < 1 and readout.temperature > 0
    assert ckpt.provenance["trainer"] == "asa-live-train"


def test_fast_backend_agrees_with_eager(ckpt) -> None:
    """The parity rule of issue 13 on this checkpoint: >= 99.5 % equal predictions, spike
    counts within 1 % per layer (whichever backend "auto" picks for it)."""
    assert_session_parity(ckpt.model, ckpt.readout, _held_out_frames(ckpt))


def test_replays_the_demo_recording_headless(capsys, ckpt) -> None:
    """``asa-live --replay recordings/demo.aedat4 --model <5-layer> --headless``: one JSON row
    per 15 ms window, seven layers of spike counts, no window dropped."""
    import json

    from asa_live.cli import main

    demo = MODEL.parents[1] / "recordings" / "demo.aedat4"
    code = main(["--replay", str(demo), "--model", str(MODEL), "--headless", "--max-seconds", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert 66 <= len(rows) <= 68 and all(len(r["spikes"]) == 7 for r in rows)
    assert sum(sum(r["spikes"]) for r in rows) > 0
    summary = err.strip().splitlines()[-1]
    assert summary.startswith("asa-live: windows ") and "dropped 0" in summary.replace(",", "")
