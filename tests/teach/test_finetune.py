"""asa-live-train --recipe finetune on a recordings folder: a loadable checkpoint, and bad input
as one sentence with exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from asa_live.events.aedat4 import write_aedat4
from asa_live.events.dtype import make_events
from asa_live.events.ibm import LABEL_DTYPE, write_labels_csv
from asa_live.model.checkpoint import load_checkpoint
from asa_live.train.cli import main as train_main

BASE = "models/gesture-3layer-asa.safetensors"
NAMES = ["swipe_left", "swipe_right"]
SPANS = [(0, 500_000, 1_100_000), (1, 1_700_000, 2_300_000), (0, 2_900_000, 3_500_000),
         (1, 4_100_000, 4_700_000)]  # fmt: skip
TINY = ["--epochs", "1", "--stream-samples-per-epoch", "4", "--batch-size", "2",
        "--bptt-chunks", "6", "--segments-per-sample", "1", "--burn-in-windows", "2",
        "--no-tensorboard", "--no-progress", "--test-clips", "1", "--clip-windows", "10"]  # fmt: skip


def _events(spans, length_us=5_200_000, seed=0):
    rng = np.random.default_rng(seed)
    n = length_us // 500
    t = np.sort(rng.integers(0, length_us, n))
    x = rng.integers(0, 128, n)
    for c, a, b in spans:  # the gesture: events on one half of the sensor
        inside = (t >= a) & (t < b)
        x[inside] = rng.integers(0, 64, inside.sum()) + (0 if c == 0 else 64)
    return make_events(t, x, rng.integers(0, 128, n), rng.integers(0, 2, n))


def make_folder(root, names=NAMES, spans=SPANS, sessions=2, classes_txt=None):
    root.mkdir(parents=True, exist_ok=True)
    (root / "classes.txt").write_text(
        classes_txt if classes_txt is not None else "\n".join(names) + "\n"
    )
    for s in range(sessions):
        write_aedat4(root / f"me_{s + 1:03d}.aedat4", _events(spans, seed=s), (128, 128))
        write_labels_csv(root / f"me_{s + 1:03d}_labels.csv", np.array(spans, LABEL_DTYPE),
                         num_classes=len(names))  # fmt: skip
    return root


def _run(tmp_path, root, *extra):
    return train_main(["--recipe", "finetune", "--init", BASE, "--data-root", str(root),
                       "--out-dir", str(tmp_path / "run"), "--cache-dir", str(tmp_path / "c"),
                       *TINY, *extra])  # fmt: skip


def test_finetune_writes_a_checkpoint_with_the_folder_classes(tmp_path):
    root = make_folder(tmp_path / "mine")
    assert _run(tmp_path, root) == 0
    ckpt = load_checkpoint(tmp_path / "run" / "last.safetensors")
    assert ckpt.class_names == tuple(NAMES)
    assert ckpt.model_config.num_classes == 3  # + "no gesture"
    readout = ckpt.provenance["readout"]
    assert readout["background"] is True and readout["kind"] == "leaky"  # the base's readout
    base = load_checkpoint(BASE)
    assert ckpt.model_config.channels == base.model_config.channels
    assert ckpt.binning == base.binning
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["augment"] and cfg["no_gesture"] and cfg["mode"] == "stream"
    # --resume takes the saved config (network from --init included): nothing left to train
    assert _run(tmp_path, root, "--resume") == 0


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("empty classes", "class list is empty"),
        ("no classes.txt", "has no classes.txt"),
        ("no labels", "no recording with a labels CSV"),
        ("label outside", "outside the recording"),
        ("class without take", "has no take"),
        ("incompatible init", "channels"),
        ("missing init", "missing"),
        ("no init", "needs --init"),
    ],
)
def test_bad_input_is_one_sentence_exit_2(case, message, tmp_path, capsys):
    root = tmp_path / "mine"
    extra: list[str] = []
    if case == "empty classes":
        make_folder(root, classes_txt="\n")
    elif case == "no classes.txt":
        make_folder(root)
        (root / "classes.txt").unlink()
    elif case == "no labels":
        make_folder(root)
        for p in root.glob("*_labels.csv"):
            p.unlink()
    elif case == "label outside":
        make_folder(root, spans=[*SPANS, (0, 9_000_000, 9_600_000)])
    elif case == "class without take":
        make_folder(root, names=[*NAMES, "swipe_up"])
    elif case == "incompatible init":
        make_folder(root)
        extra = ["--channels", "8,8,8"]
    elif case == "missing init":
        make_folder(root)
    else:
        make_folder(root)
    if case == "missing init":
        code = train_main(["--recipe", "finetune", "--init", str(tmp_path / "missing.safetensors"),
                           "--data-root", str(root), "--out-dir", str(tmp_path / "run")])  # fmt: skip
    elif case == "no init":
        code = train_main(["--recipe", "finetune", "--data-root", str(root),
                           "--out-dir", str(tmp_path / "run"), *TINY])  # fmt: skip
    else:
        code = _run(tmp_path, root, *extra)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert len([ln for ln in err.splitlines() if ln.startswith("asa-live-train:")]) == 1
