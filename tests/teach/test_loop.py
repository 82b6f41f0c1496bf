"""The whole teach loop on synthetic data: record from a replay (asa-live-record --replay),
fine-tune with a tiny budget (asa-live-train --recipe finetune), replay the session with the new
model (asa-live --headless) and read the custom class names in its JSON."""

from __future__ import annotations

import json

import numpy as np

from asa_live.cli import main as live_main
from asa_live.events.aedat4 import write_aedat4
from asa_live.events.dtype import make_events
from asa_live.model.checkpoint import load_checkpoint
from asa_live.teach.cli import main as record_main
from asa_live.train.cli import main as train_main

NAMES = ["swipe_left", "swipe_right"]


def _camera_stand_in(path, seconds=12.0):
    rng = np.random.default_rng(0)
    n = int(seconds * 20_000)
    t = np.sort(rng.integers(0, int(seconds * 1e6), n))
    x = rng.integers(0, 128, n)
    # a moving blob, so there is something to look at
    x[::3] = (t[::3] // 20_000) % 128
    write_aedat4(
        path, make_events(t, x, rng.integers(0, 128, n), rng.integers(0, 2, n)), (128, 128)
    )


def test_record_finetune_replay(tmp_path, capsys):
    camera = tmp_path / "camera.aedat4"
    _camera_stand_in(camera)
    folder = tmp_path / "mine"
    for session in range(2):  # two sessions of 2 takes per class
        code = record_main([str(folder), "--classes", ",".join(NAMES), "--repeats", "2",
                            "--replay", str(camera), "--speed", "100", "--gesture-s", "0.6",
                            "--pause-s", "0.6", "--seed", str(session), "--user", "me"])  # fmt: skip
        assert code == 0
    assert (folder / "classes.txt").read_text().split() == NAMES
    code = train_main([
        "--recipe", "finetune", "--init", "models/gesture-3layer-asa.safetensors",
        "--data", "folder", "--data-root", str(folder), "--out-dir", str(tmp_path / "run"),
        "--epochs", "1", "--stream-samples-per-epoch", "2", "--batch-size", "2",
        "--bptt-chunks", "5", "--segments-per-sample", "1", "--burn-in-windows", "2",
        "--test-clips", "1", "--clip-windows", "10", "--no-tensorboard", "--no-progress",
    ])  # fmt: skip
    assert code == 0
    model = tmp_path / "run" / "last.safetensors"
    assert load_checkpoint(model).class_names == tuple(NAMES)
    capsys.readouterr()
    session = sorted(folder.glob("me_*.aedat4"))[0]
    code = live_main(["--replay", str(session), "--model", str(model), "--headless"])
    assert code == 0
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines() if ln.startswith("{")]
    assert len(lines) > 50
    assert {ln["prediction"] for ln in lines} <= {*NAMES, None}
    assert {ln["truth"] for ln in lines if "truth" in ln} == set(NAMES)  # the session's labels
