"""Training runs on a tiny synthetic set: smoke, checkpoints, resume after Ctrl-C, DDP on gloo."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
import torch

from asa_live.model.checkpoint import load_checkpoint
from asa_live.train import trainer
from asa_live.train.recipes import TrainConfig
from asa_live.train.train_state import load_train_state, save_train_state
from asa_live.train.trainer import TrainingInterrupted, run_training


def _rows(run_dir):
    with open(run_dir / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("mode", ["clip", "stream"])
def test_one_epoch_writes_loadable_checkpoints(mode, tiny_clip_cfg, tiny_stream_cfg):
    cfg = tiny_clip_cfg if mode == "clip" else tiny_stream_cfg
    summary = run_training(cfg)
    run = cfg.out_dir
    from pathlib import Path

    run = Path(run)
    for name in ("last.safetensors", "best.safetensors"):
        ckpt = load_checkpoint(run / name)
        assert ckpt.model_config.channels == (4, 8, 8)
        assert ckpt.model_config.chunk_windows == cfg.chunk_windows
        assert ckpt.binning.window_us == cfg.window_us and ckpt.binning.downsample == 4
        assert ckpt.provenance["config"]["recipe"] == cfg.recipe
        assert len(ckpt.class_names) == 11
    assert TrainConfig.load(run / "config.json") == cfg
    rows = _rows(run)
    assert len(rows) == 1 and float(rows[0]["train_loss"]) > 0
    assert 0.0 <= float(rows[0]["val_segment_acc"]) <= 1.0
    assert summary["last"]["epoch"] == 1 and summary["best"]["epoch"] == 1
    # The curves are drawn beside log.csv (a real PNG, not an empty file).
    for png in ("training_curves.png", "firing_rates.png"):
        assert (run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The checkpoint runs in the streaming session of the live app.
    from asa_live.model.session import StreamingSession

    session = StreamingSession(load_checkpoint(run / "last.safetensors").model)
    results = []
    for _ in range(cfg.chunk_windows):
        results += session.push(torch.ones(2, 32, 32))
    assert len(results) == cfg.chunk_windows


def test_refuses_to_overwrite_a_run(tiny_stream_cfg):
    run_training(tiny_stream_cfg)
    from asa_live.errors import ConfigError

    with pytest.raises(ConfigError, match="--resume"):
        run_training(tiny_stream_cfg)


def test_ctrl_c_saves_and_resume_matches_an_uninterrupted_run(
    tmp_path, tiny_stream_cfg, monkeypatch
):
    straight = tiny_stream_cfg.replace(epochs=2, out_dir=str(tmp_path / "straight"))
    run_training(straight)

    interrupted = straight.replace(out_dir=str(tmp_path / "interrupted"))
    real_epoch = trainer.train_one_epoch
    calls = {"n": 0}

    def epoch_then_ctrl_c(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(trainer, "train_one_epoch", epoch_then_ctrl_c)
    with pytest.raises(TrainingInterrupted, match="--resume"):
        run_training(interrupted)
    saved = load_train_state(tmp_path / "interrupted" / "train_state.safetensors")
    assert saved["epoch"] == 1
    monkeypatch.setattr(trainer, "train_one_epoch", real_epoch)
    summary = run_training(interrupted, resume=True)
    assert summary["last"]["epoch"] == 2
    assert [r["epoch"] for r in _rows(tmp_path / "interrupted")] == ["1", "2"]
    a = load_checkpoint(tmp_path / "straight" / "last.safetensors").model.state_dict()
    b = load_checkpoint(tmp_path / "interrupted" / "last.safetensors").model.state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_resume_without_a_saved_state_is_a_user_error(tiny_stream_cfg):
    from asa_live.errors import ConfigError

    with pytest.raises(ConfigError, match="does not exist"):
        run_training(tiny_stream_cfg, resume=True)


def test_ddp_two_gloo_processes(tmp_path, tiny_stream_cfg):
    """torchrun with 2 CPU processes: sharded epochs, identical weights, one checkpoint."""
    cfg = tiny_stream_cfg.replace(out_dir=str(tmp_path / "ddp"), stream_samples_per_epoch=16)
    # Fill the frame cache here so the subprocesses only read it.
    from asa_live.train.data import DataConfig, load_splits

    load_splits(DataConfig.from_train(cfg))
    cfg.save(tmp_path / "ddp.json")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [
        # --standalone lets the rendezvous pick its own free port (no race with other tests).
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
        "-m", "asa_live.train.cli", "--config", str(tmp_path / "ddp.json"),
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "ddp" / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["ranks_in_sync"] is True
    # 16 items, batch 4 split over 2 ranks (2 per rank): 8 items per rank -> 4 steps each.
    assert _rows(tmp_path / "ddp")[0]["steps"] == "4"
    load_checkpoint(tmp_path / "ddp" / "last.safetensors")


def test_train_state_round_trips_without_pickle(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    state = {"optimizer": opt.state_dict(), "epoch": 3, "rng": torch.get_rng_state()}
    path = tmp_path / "state.safetensors"
    save_train_state(path, state)
    assert b"pickle" not in path.read_bytes()[:64] and path.read_bytes()[:1] != b"\x80"
    back = load_train_state(path)
    assert back["epoch"] == 3
    assert torch.equal(back["rng"], state["rng"])
    fresh = torch.optim.Adam(model.parameters(), lr=1e-3)
    fresh.load_state_dict(back["optimizer"])
    for key, value in opt.state_dict()["state"][0].items():
        torch.testing.assert_close(fresh.state_dict()["state"][0][key], value)


def test_damaged_train_state_is_one_sentence(tmp_path):
    from asa_live.errors import InputFileError

    path = tmp_path / "state.safetensors"
    path.write_bytes(b"\x00" * 40)
    with pytest.raises(InputFileError, match="without --resume"):
        load_train_state(path)
