"""Robustness conditions (asa_live.events.robustness): one fixed factor each."""

from __future__ import annotations

import numpy as np
import pytest

from asa_live.errors import InputFileError
from asa_live.events import LABEL_DTYPE
from asa_live.events.robustness import (
    ROBUSTNESS_CONDITIONS,
    background_condition,
    robustness_conditions,
)

from .helpers import random_events

NAMES = [
    "clean",
    "noise_0.5hz",
    "noise_2hz",
    "hot_20x100hz",
    "hot_20x1khz",
    "shift_x+15",
    "shift_x-15",
    "shift_y+15",
    "shift_y-15",
    "scale_0.7",
    "scale_1.3",
    "stretch_0.67",
    "stretch_1.5",
    "polarity_inverted",
]


@pytest.fixture
def sample(rng):
    ev = random_events(rng, 20_000, (128, 128), t_max_us=1_000_000)
    labels = np.array([(4, 100_000, 700_000)], dtype=LABEL_DTYPE)
    return ev, labels


def _is_subsequence(small: np.ndarray, big: np.ndarray) -> bool:
    """Every event of ``small`` appears in ``big`` in the same order."""
    key = lambda e: e.tobytes()  # noqa: E731
    it = iter(key(e) for e in big)
    return all(any(k == b for b in it) for k in map(key, small))


def test_names_and_order():
    assert list(ROBUSTNESS_CONDITIONS) == NAMES
    assert all(c.name == n for n, c in ROBUSTNESS_CONDITIONS.items())
    with pytest.raises(TypeError):
        ROBUSTNESS_CONDITIONS["mine"] = ROBUSTNESS_CONDITIONS["clean"]  # read-only


@pytest.mark.parametrize("name", NAMES)
def test_every_condition_is_sorted_in_sensor_and_repeatable(name, sample):
    ev, labels = sample
    cond = ROBUSTNESS_CONDITIONS[name]
    out, lab = cond(ev, labels, np.random.default_rng(3))
    assert out.dtype == ev.dtype and np.all(np.diff(out["t"]) >= 0)
    assert out["x"].max() < 128 and out["y"].max() < 128 and out["p"].max() <= 1
    again, lab2 = cond(ev, labels, np.random.default_rng(3))
    np.testing.assert_array_equal(again, out)
    np.testing.assert_array_equal(lab2, lab)
    assert not np.shares_memory(out, ev)
    if not name.startswith("stretch"):
        np.testing.assert_array_equal(lab, labels)
    # on another sensor too
    big = random_events(np.random.default_rng(0), 2000, (346, 260))
    out, _ = cond(big, 2, 0, sensor_size=(346, 260))
    assert out["x"].max() < 346 and out["y"].max() < 260


def test_exact_conditions(sample):
    ev, labels = sample
    c = ROBUSTNESS_CONDITIONS
    np.testing.assert_array_equal(c["clean"](ev, labels, 0)[0], ev)
    np.testing.assert_array_equal(c["polarity_inverted"](ev, labels, 0)[0]["p"], 1 - ev["p"])
    for name, axis, d in [
        ("shift_x+15", "x", 15),
        ("shift_x-15", "x", -15),
        ("shift_y+15", "y", 15),
        ("shift_y-15", "y", -15),
    ]:
        out, _ = c[name](ev, labels, 0)
        moved = ev[axis].astype(int) + d
        keep = (moved >= 0) & (moved < 128)
        np.testing.assert_array_equal(out[axis], moved[keep])
        other = "y" if axis == "x" else "x"
        np.testing.assert_array_equal(out[["t", other, "p"]], ev[keep][["t", other, "p"]])
    t0 = int(ev["t"][0])
    for name, f in (("stretch_0.67", 0.67), ("stretch_1.5", 1.5)):
        out, lab = c[name](ev, labels, 0)
        assert len(out) == len(ev)
        assert lab["start_us"][0] == t0 + round((100_000 - t0) * f)
        assert lab["end_us"][0] == t0 + round((700_000 - t0) * f)
        assert lab["class_id"][0] == 4


@pytest.mark.parametrize(
    ("name", "per_second"),
    [("noise_0.5hz", 0.5 * 128 * 128), ("noise_2hz", 2 * 128 * 128), ("hot_20x1khz", 20_000)],
)
def test_additive_conditions_keep_the_sample_and_add_the_rate(name, per_second, rng):
    ev = random_events(rng, 3000, (128, 128), t_max_us=2_000_000)
    out, _ = ROBUSTNESS_CONDITIONS[name](ev, 1, 5)
    duration_s = (int(ev["t"][-1]) + 1 - int(ev["t"][0])) * 1e-6
    added = len(out) - len(ev)
    expected = per_second * duration_s
    assert abs(added - expected) < 5 * np.sqrt(expected)
    assert _is_subsequence(ev[:300], out)


def test_hot_pixel_condition_uses_twenty_pixels(rng):
    ev = random_events(rng, 10, (128, 128), t_max_us=10)  # a tiny sample in a 1 s span
    ev["t"][-1] = 1_000_000
    out, _ = ROBUSTNESS_CONDITIONS["hot_20x100hz"](ev, None, 1)
    hot = np.setdiff1d(out, ev)
    assert len(np.unique(hot[["x", "y"]])) == 20


def test_scale_conditions(sample):
    ev, labels = sample
    small, _ = ROBUSTNESS_CONDITIONS["scale_0.7"](ev, labels, 0)
    assert len(small) == len(ev)
    assert small["x"].min() >= 19 and small["x"].max() <= 108
    large, _ = ROBUSTNESS_CONDITIONS["scale_1.3"](ev, labels, 0)
    assert abs(len(large) / len(ev) - 1 / 1.69) < 0.03


def test_background_condition(tmp_path):
    from asa_live.events.aedat4 import write_aedat4

    bg = random_events(np.random.default_rng(9), 5000, (346, 260), t_max_us=500_000)
    write_aedat4(tmp_path / "room.aedat4", bg, (346, 260))
    conditions = robustness_conditions(background=tmp_path / "room.aedat4")
    assert list(conditions) == [*NAMES, "background"]
    ev = random_events(np.random.default_rng(1), 1000, (128, 128), t_max_us=1_000_000)
    out, lab = conditions["background"](ev, 7, 0)
    assert lab == 7
    assert len(out) > len(ev) + 5000  # about two passes of the 0.5 s room, some cropped away
    assert np.all(np.diff(out["t"]) >= 0) and out["x"].max() < 128
    assert _is_subsequence(ev[:100], out)
    with pytest.raises(InputFileError):
        background_condition(tmp_path / "missing.aedat4")
    assert "background" not in robustness_conditions()
