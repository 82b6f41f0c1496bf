"""Exact resume with the augmented event dataset (fine-tuning from --init on a folder)."""

from __future__ import annotations

import signal

import numpy as np
import pytest
import torch

from asa_live.events.aedat4 import write_aedat4
from asa_live.events.dtype import make_events
from asa_live.events.ibm import LABEL_DTYPE, write_labels_csv
from asa_live.model.checkpoint import load_checkpoint
from asa_live.train.data import EventStreamDataset
from asa_live.train.init import adopt_init
from asa_live.train.recipes import get_recipe
from asa_live.train.trainer import TrainingInterrupted, run_training

SPANS = [(0, 400_000, 900_000), (1, 1_400_000, 1_900_000), (0, 2_400_000, 2_900_000)]


def _folder(root):
    root.mkdir()
    (root / "classes.txt").write_text("swipe_left\nswipe_right\n")
    for s in range(2):
        rng = np.random.default_rng(s)
        n = 8000
        t = np.sort(rng.integers(0, 3_300_000, n))
        ev = make_events(t, rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n))
        write_aedat4(root / f"me_{s}.aedat4", ev, (128, 128))
        write_labels_csv(root / f"me_{s}_labels.csv", np.array(SPANS, LABEL_DTYPE), num_classes=2)
    return root


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    root = _folder(tmp_path_factory.mktemp("data") / "mine")
    base = get_recipe("finetune").replace(
        init="models/gesture-3layer-asa.safetensors", data_root=str(root), epochs=2,
        stream_samples_per_epoch=6, batch_size=2, bptt_chunks=4, segments_per_sample=2,
        burn_in_windows=2, test_clips=1, clip_windows=8, tensorboard=False, progress=False,
    )  # fmt: skip
    return adopt_init(base)


def test_interrupted_augmented_run_resumes_to_the_same_weights(cfg, tmp_path, monkeypatch):
    straight = tmp_path / "straight"
    run_training(cfg.replace(out_dir=str(straight)))
    real_item = EventStreamDataset.__getitem__
    calls = {"n": 0}

    def item(self, index):
        calls["n"] += 1
        if calls["n"] == 8:  # epoch 2, first batch
            signal.raise_signal(signal.SIGINT)
        return real_item(self, index)

    monkeypatch.setattr(EventStreamDataset, "__getitem__", item)
    run_cfg = cfg.replace(out_dir=str(tmp_path / "run"))
    with pytest.raises(TrainingInterrupted, match="--resume"):
        run_training(run_cfg)
    monkeypatch.undo()
    run_training(run_cfg, resume=True)
    a = load_checkpoint(straight / "last.safetensors").model.state_dict()
    b = load_checkpoint(tmp_path / "run" / "last.safetensors").model.state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
