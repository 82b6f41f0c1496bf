"""Model selection never reads the test split: validation is held out of the training data."""

from __future__ import annotations

import numpy as np

from asa_live.train import run_data
from asa_live.train.data.sequences import SEGMENT_DTYPE, DataSplit, LabelledSequence
from asa_live.train.run_data import split_validation
from asa_live.train.trainer import run_training


def _seq(name: str) -> LabelledSequence:
    return LabelledSequence(name, np.zeros((4, 2, 2, 2)), np.zeros(4, np.int64),
                            np.array([(0, 0, 4)], SEGMENT_DTYPE), 0, 15_000)  # fmt: skip


def test_split_validation_holds_out_the_last_names_and_keeps_the_order():
    names = ["user03_led", "user01_lab", "user10_led", "user02_lab", "user07_lab"]
    train, val = split_validation(DataSplit([_seq(n) for n in names], "ibm"), 0.3)
    assert [s.name for s in val.sequences] == ["user10_led", "user07_lab"]  # input order
    assert [s.name for s in train.sequences] == ["user03_led", "user01_lab", "user02_lab"]
    one = split_validation(DataSplit([_seq("a")], "x"), 0.5)
    assert len(one[0].sequences) == 1 and not one[1].sequences  # nothing to hold out
    assert not split_validation(DataSplit([_seq("a"), _seq("b")], "x"), 0.0)[1].sequences


def test_training_never_loads_the_test_split(tiny_stream_cfg, monkeypatch):
    calls = []
    real_split, real_synth = run_data.load_split, run_data.make_synthetic_split

    def load_split(cfg, *, train):
        calls.append(("load_split", train))
        return real_split(cfg, train=train)

    def make_synthetic_split(cfg, **kw):
        calls.append(("synthetic", kw.get("train"), kw.get("validation", False)))
        return real_synth(cfg, **kw)

    monkeypatch.setattr(run_data, "load_split", load_split)
    monkeypatch.setattr(run_data, "make_synthetic_split", make_synthetic_split)
    summary = run_training(tiny_stream_cfg)
    assert ("load_split", False) not in calls
    assert ("synthetic", False, True) in calls  # validation seeds of their own
    assert "validation" in summary["data"]
