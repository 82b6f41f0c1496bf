"""The DVS pixel model on hand-made intensity ramps."""

from __future__ import annotations

import numpy as np
import pytest

from asa_live.synth.dvs import DvsParams, DvsPixelArray


def _pixel(params: DvsParams, seed: int = 0) -> DvsPixelArray:
    return DvsPixelArray(4, 4, params, np.random.default_rng(seed))


def _exact(**kw) -> DvsParams:
    base = {"mismatch_sigma": 0.0, "refractory_us": 0.0, "noise_rate_hz": 0.0, "hot_pixels": 0}
    base.update(kw)
    return DvsParams(**base)


def test_crossings_get_interpolated_timestamps():
    """log I rises by 1.0 linearly over one 4 ms frame step with C = 0.2: five ON events at
    t0 + 0.8, 1.6, 2.4, 3.2, 4.0 ms (with the reference exactly at the start level)."""
    dvs = _pixel(
        _exact(threshold_on=0.2, threshold_off=0.2, dark_level=1e-9, max_events_per_step=50)
    )
    frame0 = np.ones((4, 4), np.float32)
    dvs.reset(frame0, 0.0)
    dvs.ref[:] = dvs.level  # drop the random start offset for an exact check
    frame1 = frame0.copy()
    frame1[1, 2] = np.e  # log rises by exactly 1
    ev = dvs.step(frame1, 4000.0)
    assert np.all(ev["x"] == 2) and np.all(ev["y"] == 1) and np.all(ev["p"] == 1)
    np.testing.assert_allclose(ev["t"], [800, 1600, 2400, 3200, 4000], atol=2)
    # Falling back gives OFF events in the next step.
    back = dvs.step(frame0, 8000.0)
    assert len(back) == 5 and np.all(back["p"] == 0)
    assert back["t"].min() > 4000 and back["t"].max() <= 8000


def test_refractory_period_limits_the_event_rate_of_a_pixel():
    fast = _pixel(_exact(threshold_on=0.1, dark_level=1e-9, max_events_per_step=100))
    slow = _pixel(
        _exact(threshold_on=0.1, dark_level=1e-9, refractory_us=1000.0, max_events_per_step=100)
    )
    for dvs in (fast, slow):
        dvs.reset(np.ones((4, 4), np.float32), 0.0)
        dvs.ref[:] = dvs.level
    bright = np.full((4, 4), np.e**2, np.float32)  # 20 crossings in 4 ms
    n_fast = len(fast.step(bright, 4000.0)) // 16
    ev_slow = slow.step(bright, 4000.0)
    assert n_fast == 20
    per_pixel = np.bincount(ev_slow["y"].astype(int) * 4 + ev_slow["x"], minlength=16)
    assert per_pixel.max() <= 4  # at most one event per 1 ms
    for pix in range(16):
        t = np.sort(ev_slow["t"][ev_slow["y"].astype(int) * 4 + ev_slow["x"] == pix])
        assert np.all(np.diff(t) >= 1000)


def test_threshold_mismatch_spreads_thresholds():
    dvs = DvsPixelArray(
        64, 64, DvsParams(threshold_on=0.2, mismatch_sigma=0.03), np.random.default_rng(1)
    )
    assert dvs.c_on.std() / dvs.c_on.mean() == pytest.approx(0.03, rel=0.1)


def test_background_noise_rate_and_hot_pixels():
    params = DvsParams(noise_rate_hz=0.5, hot_pixels=3, hot_rate_hz=(100.0, 100.0))
    dvs = DvsPixelArray(32, 32, params, np.random.default_rng(2))
    ev = dvs.noise(0, 10_000_000, np.random.default_rng(3))
    expected = 0.5 * 32 * 32 * 10 + 3 * 100 * 10
    assert abs(len(ev) - expected) < 5 * np.sqrt(expected)
    assert np.all(np.diff(ev["t"]) >= 0) and ev["t"].max() < 10_000_000
    counts = np.bincount(ev["y"].astype(int) * 32 + ev["x"], minlength=32 * 32)
    hot = np.sort(counts)[-3:]
    assert np.all(hot > 700)  # ~1000 each, far above the ~5 of a normal pixel


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="threshold_on"):
        DvsPixelArray(4, 4, DvsParams(threshold_on=0.0), np.random.default_rng(0))
    with pytest.raises(ValueError, match="dark_level"):
        DvsPixelArray(4, 4, DvsParams(dark_level=0.0), np.random.default_rng(0))
