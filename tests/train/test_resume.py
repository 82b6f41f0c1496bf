"""--resume after an interruption gives the weights of an uninterrupted run, step for step.

Interruptions are injected deterministically: a hook raises SIGINT / SIGTERM (the real signal,
handled as Ctrl-C is) or a bare KeyboardInterrupt (a second Ctrl-C, which cannot wait for a step
boundary) at a chosen call of the dataset (data generation) or of the evaluation.
"""

from __future__ import annotations

import csv
import signal

import pytest
import torch

from asa_live.model.checkpoint import load_checkpoint
from asa_live.train import run_data, trainer
from asa_live.train.data import StreamDataset
from asa_live.train.train_state import load_train_state
from asa_live.train.trainer import TrainingInterrupted, run_training


def _interrupt(kind: str) -> None:
    if kind == "keyboard":
        raise KeyboardInterrupt
    signal.raise_signal(signal.SIGINT if kind == "sigint" else signal.SIGTERM)


def _rows(run_dir):
    with open(run_dir / "log.csv", newline="") as f:
        return [{k: v for k, v in r.items() if k != "epoch_s"} for r in csv.DictReader(f)]


def _assert_same_weights(a_dir, b_dir):
    a = load_checkpoint(a_dir / "last.safetensors").model.state_dict()
    b = load_checkpoint(b_dir / "last.safetensors").model.state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


# (where, which call, how, items the resumed run still draws): 12 items per epoch, batch 4
# -> 3 steps per epoch, 24 items in all; a resume that started over would draw 24.
CASES = [
    ("data", 6, "sigint", 16),  # epoch 1, second batch being generated: stop after it
    ("data", 17, "sigterm", 4),  # epoch 2, second batch
    ("data", 20, "keyboard", 12),  # epoch 2, third batch, no waiting: back to epoch 1's end
    ("eval", 1, "sigint", 12),  # during epoch 1's evaluation: it finishes, then stops
    ("eval", 1, "keyboard", 12),  # same, no waiting: back to "epoch 1 trained"
    ("eval", 2, "sigterm", 0),  # the last evaluation
]


@pytest.mark.parametrize(("where", "call", "kind", "remaining"), CASES)
def test_interrupted_run_resumes_to_the_same_weights(
    where, call, kind, remaining, resume_base_cfg, straight_run, tmp_path, monkeypatch
):
    cfg = resume_base_cfg.replace(out_dir=str(tmp_path / "run"))
    calls = {"n": 0}
    if where == "data":
        real_item = StreamDataset.__getitem__

        def item(self, index):
            calls["n"] += 1
            if calls["n"] == call:
                _interrupt(kind)
            return real_item(self, index)

        monkeypatch.setattr(StreamDataset, "__getitem__", item)
    else:
        real_eval = trainer.paper_protocol

        def evaluate(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == call:
                _interrupt(kind)
            return real_eval(*args, **kwargs)

        monkeypatch.setattr(trainer, "paper_protocol", evaluate)
    with pytest.raises(TrainingInterrupted, match="--resume"):
        run_training(cfg)
    monkeypatch.undo()
    drawn = {"n": 0}
    real_item = StreamDataset.__getitem__

    def counted(self, index):
        drawn["n"] += 1
        return real_item(self, index)

    monkeypatch.setattr(StreamDataset, "__getitem__", counted)
    summary = run_training(cfg, resume=True)
    assert drawn["n"] == remaining
    assert summary["last"]["epoch"] == 2
    _assert_same_weights(straight_run, tmp_path / "run")
    assert _rows(tmp_path / "run") == _rows(straight_run)


def test_stop_mid_epoch_saves_the_step_and_keeps_last_checkpoint(
    resume_base_cfg, tmp_path, monkeypatch
):
    """A stop in epoch 2 saves its step position; last.safetensors stays epoch 1's."""
    cfg = resume_base_cfg.replace(out_dir=str(tmp_path / "run"))
    calls = {"n": 0}
    real_item = StreamDataset.__getitem__

    def item(self, index):
        calls["n"] += 1
        if calls["n"] == 14:  # epoch 2, first batch
            _interrupt("sigint")
        return real_item(self, index)

    monkeypatch.setattr(StreamDataset, "__getitem__", item)
    with pytest.raises(TrainingInterrupted, match="epoch 2, step 1"):
        run_training(cfg)
    saved = load_train_state(tmp_path / "run" / "train_state.safetensors")
    assert saved["epoch"] == 1 and '"batch": 1' in saved["position"]
    assert load_checkpoint(tmp_path / "run" / "last.safetensors").provenance["epoch"] == 1


def test_keyboard_interrupt_before_any_save_says_start_over(resume_base_cfg, tmp_path, monkeypatch):
    cfg = resume_base_cfg.replace(out_dir=str(tmp_path / "run"))

    def item(self, index):
        raise KeyboardInterrupt

    monkeypatch.setattr(StreamDataset, "__getitem__", item)
    with pytest.raises(TrainingInterrupted, match="without --resume"):
        run_training(cfg)
    monkeypatch.undo()
    run_training(cfg)  # no resume file was left: the same command starts over


def test_ctrl_c_while_the_data_is_generated_quits_at_once(resume_base_cfg, tmp_path, monkeypatch):
    """No training state exists yet: nothing is saved, and the same command starts over."""
    cfg = resume_base_cfg.replace(out_dir=str(tmp_path / "run"))

    def generating(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_data, "load_split", generating)
    with pytest.raises(TrainingInterrupted, match="without --resume"):
        run_training(cfg)
    assert not (tmp_path / "run" / "train_state.safetensors").exists()
