"""asa-live-calibrate: fits the decision on a validation split and stores it in the checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest

from asa_live.events.aedat4 import write_aedat4
from asa_live.events.dtype import make_events
from asa_live.model import load_checkpoint
from asa_live.synth import write_ibm_dataset
from asa_live.train.autocal import labels_with_grace
from asa_live.train.calibrate_cli import main
from asa_live.train.data.sequences import SEGMENT_DTYPE, LabelledSequence


def _ibm(root, users: int, seed: int, gesture_us: tuple[int, int], gap_us: tuple[int, int]):
    """A tiny IBM-layout dataset: ``users`` users with one trial each, the last one for test."""
    write_ibm_dataset(
        root, n_users=users, n_test_users=1, trials_per_user=1, seed=seed,
        gesture_duration_us=gesture_us, gap_us=gap_us,
    )  # fmt: skip
    return root


@pytest.fixture(scope="module")
def val_data(tmp_path_factory):
    root = _ibm(tmp_path_factory.mktemp("val"), 1, 7, (300_000, 400_000), (300_000, 400_000))
    neg = root / "neg"
    neg.mkdir()
    rng = np.random.default_rng(0)
    n = 20_000
    events = make_events(
        np.sort(rng.integers(0, 2_000_000, n)),
        rng.integers(0, 128, n),
        rng.integers(0, 128, n),
        rng.integers(0, 2, n),
    )
    write_aedat4(neg / "noise.aedat4", events, (128, 128))
    return root, neg


def test_calibrate_writes_the_readout(small_ckpt_path, val_data, tmp_path, capsys):
    root, neg = val_data
    out = tmp_path / "cal.safetensors"
    code = main(
        [
            str(small_ckpt_path),
            "--data-root",
            str(root),
            "--negatives",
            str(neg),
            "--readout",
            "leaky",
            "--readout-decay",
            "0.9",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    readout = load_checkpoint(out).readout
    assert readout.kind == "leaky" and readout.decay == 0.9
    assert readout.temperature is not None and readout.temperature > 0
    assert readout.to_spec() == printed["readout"]
    assert load_checkpoint(out).provenance["readout"]["calibration"]["val_negative_minutes"] > 0
    assert load_checkpoint(small_ckpt_path).readout.temperature is None  # source untouched


def test_bad_inputs_are_one_sentence(small_ckpt_path, val_data, tmp_path, capsys):
    root, _ = val_data
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(small_ckpt_path), "--data-root", str(root), "--negatives", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "holds no recording" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exc:
        main(
            [
                str(small_ckpt_path),
                "--data-root",
                str(root),
                "--negatives",
                str(empty),
                "--target-fa-per-min",
                "nan",
            ]
        )
    assert exc.value.code == 2


def test_grace_leaves_out_windows_around_gestures():
    seq = LabelledSequence(
        "s",
        np.zeros((20, 2, 1, 1)),
        np.full(20, -1),
        np.array([(3, 8, 12)], SEGMENT_DTYPE),
        0,
        15_000,
    )
    seq.window_labels[8:12] = 3
    labels = labels_with_grace(seq, 2)
    assert labels.tolist() == [-1] * 6 + [-2] * 4 + [-2] * 4 + [-1] * 6


@pytest.fixture(scope="module")
def train_root(tmp_path_factory):
    # gestures longer than twice the 300 ms grace: the presence head needs gesture windows
    return _ibm(tmp_path_factory.mktemp("train"), 2, 8, (1_000_000, 1_100_000), (700_000, 800_000))


def _background_checkpoint(path):
    import torch

    from asa_live.classes import GESTURE_CLASSES
    from asa_live.model import BinningConfig, ModelConfig, build_model, save_checkpoint

    torch.manual_seed(0)
    model = build_model(
        ModelConfig(channels=(8, 16, 16), hidden=32, num_classes=len(GESTURE_CLASSES) + 1)
    )
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight") and p.dim() > 1:
                p.mul_(6.0)
    readout = {"kind": "leaky", "decay": 0.9, "background": True}
    save_checkpoint(path, model, BinningConfig(), GESTURE_CLASSES, {"readout": readout})
    return path


def test_presence_head_is_fitted_on_training_data_and_stored(
    val_data, train_root, tmp_path, capsys
):
    root, neg = val_data
    ckpt = _background_checkpoint(tmp_path / "bg.safetensors")
    out = tmp_path / "cal.safetensors"
    args = [str(ckpt), "--data-root", str(root), "--negatives", str(neg), "--out", str(out)]
    code = main([*args, "--presence-data-root", str(train_root), "--presence-negatives", str(neg)])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    readout = load_checkpoint(out).readout
    assert len(readout.presence_weight) == 32  # one weight per hidden neuron
    assert readout.presence_gain in [r["gain"] for r in printed["calibration"]["presence"]["gains"]]
    assert printed["calibration"]["presence"]["windows"]["no_gesture"] > 0
    assert readout.to_spec() == printed["readout"]
    # recalibrating without --presence-data-root drops the head instead of keeping stale weights
    assert main([str(out), "--data-root", str(root), "--negatives", str(neg)]) == 0
    capsys.readouterr()
    assert load_checkpoint(out).readout.presence_weight == ()
    # and a head never blocks switching the readout kind
    code = main([str(ckpt), "--data-root", str(root), "--negatives", str(neg), "--out", str(out)]
                + ["--presence-data-root", str(train_root), "--presence-negatives", str(neg)])  # fmt: skip
    assert code == 0 and load_checkpoint(out).readout.presence_weight
    assert (
        main([str(out), "--data-root", str(root), "--negatives", str(neg), "--readout", "mean"])
        == 0
    )
    capsys.readouterr()
    assert load_checkpoint(out).readout.kind == "mean"


def test_presence_head_bad_inputs_are_one_sentence(small_ckpt_path, val_data, tmp_path, capsys):
    root, neg = val_data
    ckpt = _background_checkpoint(tmp_path / "bg.safetensors")
    base = ["--data-root", str(root), "--negatives", str(neg), "--out", str(tmp_path / "o")]
    assert main([str(ckpt), *base, "--presence-data-root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "--presence-negatives" in err and len(err.strip().splitlines()) == 1
    # a checkpoint without a background output cannot carry a head
    code = main(
        [str(small_ckpt_path), *base, "--presence-data-root", str(root)]
        + ["--presence-negatives", str(neg)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "background output" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exc:
        main([str(ckpt), *base, "--presence-l2", "nan"])
    assert exc.value.code == 2
