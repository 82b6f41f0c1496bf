"""A checkpoint with a background output and a calibrated decision, through ``asa-live
--headless``: "no gesture" is ``"prediction": null, "class_id": -1`` with its reason, and the
gestures it shows pass the threshold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from pipeline.helpers import make_recording

from asa_live.classes import GESTURE_CLASSES
from asa_live.cli import main
from asa_live.model import BinningConfig, ModelConfig, build_model, save_checkpoint
from asa_live.model.readout import REASONS, Readout

READOUT = Readout(windows=10, background=True, temperature=0.05, threshold=0.5)


def _background_checkpoint(path: Path) -> Path:
    torch.manual_seed(0)
    cfg = ModelConfig(channels=(8, 16, 16), hidden=32, chunk_windows=1,
                      num_classes=len(GESTURE_CLASSES) + 1)  # fmt: skip
    model = build_model(cfg)
    with torch.no_grad():  # scaled so that the random net reaches its output layer
        for name, p in model.named_parameters():
            if name.endswith("weight") and p.dim() > 1:
                p.mul_(6.0)
    provenance = {"readout": READOUT.to_spec()}
    return save_checkpoint(path, model, BinningConfig(), GESTURE_CLASSES, provenance)


def test_headless_json_says_no_gesture(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ckpt = _background_checkpoint(tmp_path / "bg.safetensors")
    rec, _, _ = make_recording(tmp_path, class_ids=(2,), gesture_us=600_000)
    assert main(["--replay", str(rec), "--model", str(ckpt), "--headless"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    abstained = [r for r in rows if r["class_id"] == -1]
    shown = [r for r in rows if r["class_id"] >= 0]
    assert abstained and shown, "this stream must give both outcomes"
    for r in abstained:
        assert r["prediction"] is None and r["reason"] in REASONS[1:]
    for r in shown:
        assert r["prediction"] == GESTURE_CLASSES[r["class_id"]] and "reason" not in r
        assert r["confidence"] >= READOUT.threshold
    assert all(0.0 <= r["confidence"] <= 1.0 for r in rows)
