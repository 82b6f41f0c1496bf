"""bench_teach's per-user protocol (issue 9): one synthetic session per user, cut in time into
the training takes and the test rounds, each file on its own clock."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from asa_live.events.aedat4 import iter_aedat4
from asa_live.events.ibm import read_labels_csv

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_teach.py"
NAMES = ["swipe_left", "swipe_right", "swipe_up", "swipe_down"]
# Short takes and gaps keep the test fast; the benchmark uses 900 ms and 900 ms.
SHORT = {"gesture_ms": 200, "gap_us": 150_000}


def _bench():
    spec = importlib.util.spec_from_file_location("bench_teach", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(folder: Path, stem: str):
    events = np.concatenate(list(iter_aedat4(folder / f"{stem}.aedat4")))
    return events, read_labels_csv(folder / f"{stem}_labels.csv", num_classes=len(NAMES))


def _per_class(labels) -> list[int]:
    return np.bincount(labels["class_id"], minlength=len(NAMES)).tolist()


def test_per_user_split_is_one_session_cut_after_the_training_rounds(tmp_path):
    bench = _bench()
    takes, seed = 2, 510_007
    events, labels, cut = bench.user_session(NAMES, seed, takes, SHORT["gesture_ms"],
                                             gap_us=SHORT["gap_us"])  # fmt: skip
    train, test, inverted = bench.make_user_folders(tmp_path, NAMES, seed, takes, **SHORT)
    train_ev, train_lab = _read(train, f"user{seed}_train")
    test_ev, test_lab = _read(test, f"user{seed}_test")
    # every class `takes` times in training, the 3 test rounds after it; rounds are shuffled
    assert _per_class(train_lab) == [takes] * 4
    assert _per_class(test_lab) == [bench.TEST_ROUNDS] * 4
    rounds = labels["class_id"].reshape(-1, 4)
    assert all(sorted(r) == [0, 1, 2, 3] for r in rounds.tolist())
    assert len({tuple(r) for r in rounds.tolist()}) > 1
    # the labels lie inside their own file, each file starts at 0, and no take is cut
    for ev, lab in ((train_ev, train_lab), (test_ev, test_lab)):
        assert ev["t"].min() >= 0 and np.all(np.diff(ev["t"]) >= 0)
        assert np.all(lab["start_us"] < lab["end_us"]) and lab["start_us"].min() > 0
        assert lab["end_us"].max() < ev["t"].max()
    assert train_ev["t"].max() < cut and train_lab["end_us"].max() < cut
    assert len(train_lab) + len(test_lab) == len(labels)
    # one scene: the two files are the one recording of this seed, split at the cut (the
    # generator is deterministic: make_user_folders drew the same session again)
    whole = np.concatenate([train_ev, test_ev])
    whole["t"][len(train_ev) :] += cut
    assert np.array_equal(whole, events)
    assert np.array_equal(test_lab["start_us"] + cut, labels["start_us"][takes * 4 :])
    # the inverted test folder: the same events with ON and OFF swapped
    inv_ev, inv_lab = _read(inverted, f"user{seed}_test")
    assert np.array_equal(inv_ev["p"], 1 - test_ev["p"]) and np.array_equal(inv_lab, test_lab)
    assert (test / "trials_to_test.txt").read_text().split() == [f"user{seed}_test.aedat4"]
    assert not (train / "trials_to_test.txt").exists()  # fine-tuning holds out its own takes
