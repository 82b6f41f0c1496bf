"""Added events (asa_live.events.background): noise, hot pixels, merging, background crops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asa_live.errors import InputFileError
from asa_live.events import ArraySource, make_events, write_aedat31
from asa_live.events import background as bg
from asa_live.events.background import (
    BackgroundPool,
    background_activity,
    hot_pixels,
    merge_sorted,
    poisson_times,
)

from .helpers import random_events


def test_poisson_times_are_sorted_in_range_with_the_right_count():
    rng = np.random.default_rng(0)
    counts = []
    for _ in range(200):
        t = poisson_times(500.0, 1_000, 201_000, rng)  # 100 expected
        assert np.all(np.diff(t) >= 0)
        assert len(t) == 0 or (t[0] >= 1_000 and t[-1] < 201_000)
        counts.append(len(t))
    assert abs(np.mean(counts) - 100) < 3  # sd of the mean: 10 / sqrt(200) = 0.7
    assert abs(np.var(counts) - 100) < 30  # Poisson: variance = mean
    assert len(poisson_times(0.0, 0, 10**6, rng)) == 0
    assert len(poisson_times(1e3, 10, 10, rng)) == 0


def test_background_activity_rate_pixels_and_polarity():
    rng = np.random.default_rng(1)
    ev = background_activity(2.0, 0, 2_000_000, (64, 32), rng)  # 2 Hz x 2048 px x 2 s
    assert abs(len(ev) - 8192) < 5 * np.sqrt(8192)
    assert np.all(np.diff(ev["t"]) >= 0) and ev["t"].min() >= 0 and ev["t"].max() < 2_000_000
    assert ev["x"].max() < 64 and ev["y"].max() < 32
    assert abs(ev["p"].mean() - 0.5) < 0.03
    per_pixel = np.bincount(ev["y"].astype(int) * 64 + ev["x"], minlength=2048)
    assert abs(per_pixel.var() / per_pixel.mean() - 1) < 0.15  # independent Poisson pixels


def test_hot_pixels_are_distinct_fixed_polarity_and_fire_at_their_rate():
    rng = np.random.default_rng(2)
    ev = hot_pixels(20, 1000.0, 0, 1_000_000, (128, 128), rng)
    assert np.all(np.diff(ev["t"]) >= 0)
    pixel = ev["y"].astype(int) * 128 + ev["x"]
    ids, counts = np.unique(pixel, return_counts=True)
    assert len(ids) == 20
    assert np.all(np.abs(counts - 1000) < 5 * np.sqrt(1000))
    for i in ids:
        assert len(np.unique(ev["p"][pixel == i])) == 1
    assert len(hot_pixels(0, 1000.0, 0, 10**6, (8, 8), rng)) == 0
    assert len(np.unique(hot_pixels(100, 500.0, 0, 10**6, (4, 4), rng)[["x", "y"]])) == 16


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 60), st.integers(0, 60), st.integers(0, 2**32 - 1))
def test_merge_sorted_equals_a_stable_sort(na, nb, seed):
    rng = np.random.default_rng(seed)
    a = random_events(rng, na, (16, 16), t_max_us=50)  # many ties
    b = random_events(rng, nb, (16, 16), t_max_us=50)
    both = np.concatenate([a, b])
    np.testing.assert_array_equal(merge_sorted(a, b), both[np.argsort(both["t"], kind="stable")])


# --- BackgroundPool ------------------------------------------------------------------------


def _ramp(n: int, step_us: int, width: int, height: int, t0: int = 0) -> np.ndarray:
    """One event every ``step_us``; its x counts up so a crop's origin is readable."""
    i = np.arange(n)
    return make_events(t0 + i * step_us, i % width, (i // width) % height, i % 2)


def test_pool_errors(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        BackgroundPool.from_dir(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputFileError, match="not a folder"):
        BackgroundPool.from_dir(tmp_path / "notes.txt")
    with pytest.raises(InputFileError, match="holds no"):
        BackgroundPool.from_dir(tmp_path)
    with pytest.raises(InputFileError, match="aedat4"):
        BackgroundPool([tmp_path / "notes.txt"])
    with pytest.raises(InputFileError):
        BackgroundPool([])
    (tmp_path / "broken.aedat4").write_bytes(b"not an aedat4 file at all")
    with pytest.raises(InputFileError):
        BackgroundPool.from_dir(tmp_path)


@pytest.mark.parametrize("suffix", [".aedat4", ".aedat"])
def test_crop_is_a_contiguous_span_shifted_onto_the_sample(tmp_path, suffix):
    src = _ramp(16_000, 125, 128, 128, t0=5_000_000)  # 2 s, each pixel once, no adaptation
    path = tmp_path / f"bg{suffix}"
    if suffix == ".aedat4":
        from asa_live.events.aedat4 import write_aedat4

        write_aedat4(path, src, (128, 128))
    else:
        write_aedat31(path, src)
    pool = BackgroundPool.from_dir(tmp_path)
    assert len(pool) == 1 and pool.time_range(0) == (5_000_000, 6_999_875)
    starts = set()
    for seed in range(4):
        out = pool.crop(300_000, 800_000, (128, 128), np.random.default_rng(seed))
        assert len(out) == 4000 and out["t"][0] >= 300_000 and out["t"][-1] < 800_000
        # the same events as the source from some index k on, moved in time
        k = int(np.nonzero((src["x"] == out["x"][0]) & (src["y"] == out["y"][0]))[0][0])
        np.testing.assert_array_equal(out[["x", "y", "p"]], src[k : k + 4000][["x", "y", "p"]])
        np.testing.assert_array_equal(np.diff(out["t"]), 125)
        starts.add(k)
    assert len(starts) > 1  # the start is random


def test_short_recording_repeats_and_large_sensor_is_adapted(tmp_path):
    src = _ramp(1000, 100, 346, 260)  # 0.1 s of a 346x260 sensor
    from asa_live.events.aedat4 import write_aedat4

    write_aedat4(tmp_path / "short.aedat4", src, (346, 260))
    pool = BackgroundPool([tmp_path / "short.aedat4"])
    out = pool.crop(0, 350_000, (128, 128), np.random.default_rng(0))
    assert np.all(np.diff(out["t"]) >= 0) and out["t"].max() < 350_000
    assert out["x"].max() < 128 and out["y"].max() < 128
    length = 99_901  # first to last event + 1 us: the period of the repetition
    whole = pool.crop(0, length, (346, 260), np.random.default_rng(0))
    np.testing.assert_array_equal(whole[["x", "y", "p"]], src[["x", "y", "p"]])
    three = pool.crop(0, 350_000, (346, 260), np.random.default_rng(0))
    assert len(three) == 3000 + 503  # 3 copies, then the events before 350_000 - 3 * length
    np.testing.assert_array_equal(three["t"][1000:1003], [length, length + 100, length + 200])
    np.testing.assert_array_equal(three[["x", "y"]][:1000], src[["x", "y"]])
    np.testing.assert_array_equal(three[["x", "y"]][1000:2000], src[["x", "y"]])


def test_streamed_formats_read_only_up_to_the_span(monkeypatch):
    events = _ramp(100_000, 10, 128, 128)  # 1 s in 100 packets of 10 ms
    seen = []

    class Counting(ArraySource):
        def __iter__(self):
            for packet in super().__iter__():
                seen.append(len(packet))
                yield packet

    monkeypatch.setattr(bg, "open_source", lambda path: Counting(events, (128, 128)))
    out = bg._read_span(bg.Path("x.aedat"), 200_000, 250_000)
    np.testing.assert_array_equal(out, events[20_000:25_000])
    assert len(seen) <= 26  # stopped right after the span, not at the end of the file


def test_real_dvxplorer_background(shared_real):
    pool = BackgroundPool([shared_real / "aedat4" / "dvxplorer_person_events_imu.aedat4"])
    assert pool.sensor_sizes == [(320, 240)]
    out = pool.crop(10**6, 10**6 + 200_000, (128, 128), np.random.default_rng(0))
    assert len(out) > 10_000  # ~190 k events/s in that recording
    assert np.all(np.diff(out["t"]) >= 0) and out["x"].max() < 128 and out["y"].max() < 128
