"""SensorAdapter rules on every supported geometry; NoiseFilter."""

from __future__ import annotations

import numpy as np
import pytest

from asa_live.errors import ConfigError
from asa_live.events import NoiseFilter, SensorAdapter, bin_events, make_events

from .helpers import random_events

SENSORS = [(128, 128), (240, 180), (320, 240), (346, 260), (640, 480), (1280, 720)]


def _reference(events, adapter):
    """Straight from the documented formulas."""
    x0, y0, cw, ch = adapter.region
    tw, th = adapter.target_size
    x = events["x"].astype(np.int64) - x0
    y = events["y"].astype(np.int64) - y0
    if adapter.mode != "crop":
        x, y = x * tw // cw, y * th // ch
    keep = (x >= 0) & (x < tw) & (y >= 0) & (y < th)
    return keep, x[keep], y[keep]


@pytest.mark.parametrize("sensor", SENSORS)
@pytest.mark.parametrize("mode", ["crop_scale", "crop", "scale"])
def test_nearest_modes_follow_the_documented_formulas(sensor, mode, rng):
    events = random_events(rng, 20_000, sensor)
    adapter = SensorAdapter(sensor, mode=mode, area=False)
    out = adapter(events)
    keep, x, y = _reference(events, adapter)
    np.testing.assert_array_equal(out["x"], x)
    np.testing.assert_array_equal(out["y"], y)
    np.testing.assert_array_equal(out["t"], events["t"][keep])
    np.testing.assert_array_equal(out["p"], events["p"][keep])
    assert out["x"].max() < 128 and out["y"].max() < 128


@pytest.mark.parametrize("sensor", SENSORS)
@pytest.mark.parametrize("mode", ["crop_scale", "scale"])
def test_area_mapping_moves_events_at_most_one_pixel_within_their_footprint(sensor, mode, rng):
    events = random_events(rng, 20_000, sensor)
    adapter = SensorAdapter(sensor, mode=mode)
    out = adapter(events)
    keep, x, y = _reference(events, adapter)  # nearest = first target pixel of the footprint
    assert len(out) == int(keep.sum())
    dx = out["x"].astype(np.int64) - x
    dy = out["y"].astype(np.int64) - y
    assert set(np.unique(dx)) <= {0, 1} and set(np.unique(dy)) <= {0, 1}
    # an event moves on only if its source pixel reaches into the next target pixel
    x0, y0, cw, ch = adapter.region
    src_x = events["x"][keep].astype(np.int64) - x0
    reaches = (src_x + 1) * 128 > (x + 1) * cw
    assert not (dx.astype(bool) & ~reaches).any()
    assert out["x"].max() < 128 and out["y"].max() < 128
    np.testing.assert_array_equal(adapter(events), out)  # deterministic


@pytest.mark.parametrize("sensor", [(240, 180), (320, 240), (346, 260)])
def test_area_mapping_removes_the_stripes_of_nearest_scaling(sensor):
    """A uniform scene must give a flat 128x128 count image (non-integer ratios)."""
    xs, ys = np.meshgrid(np.arange(sensor[0]), np.arange(sensor[1]))
    one = make_events(np.zeros(xs.size), xs.ravel(), ys.ravel(), np.ones(xs.size))
    events = np.tile(one, 30)
    events["t"] = np.arange(len(events))
    spread = {}
    for area in (False, True):
        frame = bin_events(SensorAdapter(sensor, area=area)(events), 10**9, (128, 128))[0, 1]
        spread[area] = frame.std() / frame.mean()
    assert spread[False] > 0.1  # nearest: alternately 1 and 2 (or 2 and 3) source columns
    assert spread[True] < 0.1 and spread[True] < spread[False] / 1.5  # only the draw's noise


def test_integer_ratio_needs_no_draw(rng):
    events = random_events(rng, 5000, (256, 256))
    out = SensorAdapter((256, 256))(events)
    np.testing.assert_array_equal(out["x"], events["x"] // 2)
    np.testing.assert_array_equal(out["y"], events["y"] // 2)


def test_regions():
    assert SensorAdapter((346, 260)).region == (43, 0, 260, 260)
    assert SensorAdapter((240, 180)).region == (30, 0, 180, 180)
    assert SensorAdapter((1280, 720)).region == (280, 0, 720, 720)
    assert SensorAdapter((346, 260), mode="crop").region == (109, 66, 128, 128)
    assert SensorAdapter((346, 260), mode="scale").region == (0, 0, 346, 260)
    assert SensorAdapter((200, 400), target_size=(100, 100)).region == (0, 100, 200, 200)


def test_scale_keeps_every_event_and_the_counts():
    # a full-sensor uniform count image scales to a target whose total equals the event count
    xs, ys = np.meshgrid(np.arange(346), np.arange(260))
    events = make_events(np.zeros(xs.size), xs.ravel(), ys.ravel(), np.ones(xs.size))
    for area in (False, True):
        out = SensorAdapter((346, 260), mode="scale", area=area)(events)
        assert len(out) == len(events)
        frame = bin_events(out, 1000, (128, 128))
        assert frame.sum() == xs.size
    nearest = bin_events(
        SensorAdapter((346, 260), mode="scale", area=False)(events), 1000, (128, 128)
    )
    assert nearest[0, 1].min() >= 2  # every target pixel receives at least 2x2 source pixels


def test_identity_and_smaller_sensor_in_crop_mode():
    events = make_events([1, 2], [0, 127], [5, 127], [0, 1])
    assert SensorAdapter((128, 128))(events) is events
    small = make_events([1, 2], [0, 63], [0, 63], [1, 1])
    out = SensorAdapter((64, 64), mode="crop")(small)  # centred, padded
    np.testing.assert_array_equal(out["x"], [32, 95])


def test_bad_mode_and_sizes():
    with pytest.raises(ConfigError, match="Unknown sensor adaptation mode 'zoom'"):
        SensorAdapter((346, 260), mode="zoom")
    with pytest.raises(ValueError):
        SensorAdapter((0, 260))


def test_noise_filter_drops_isolated_events_and_keeps_supported_ones():
    pytest.importorskip("dv_processing")
    rng = np.random.default_rng(0)
    n = 2000
    noise = make_events(
        np.sort(rng.integers(0, 1_000_000, n)),
        rng.integers(0, 128, n),
        rng.integers(0, 128, n),
        rng.integers(0, 2, n),
    )
    # an edge: neighbouring pixels firing 10 us apart
    edge = make_events(
        2_000_000 + np.arange(100) * 10, 10 + np.arange(100) % 50, np.full(100, 64), np.ones(100)
    )
    filt = NoiseFilter((128, 128), background_activity_us=2000)
    kept_noise = filt(noise)
    kept_edge = filt(edge)
    assert len(kept_noise) < 0.1 * n
    assert len(kept_edge) > 0.9 * len(edge)
    assert filt(noise[:0]).size == 0
    with pytest.raises(ConfigError):
        NoiseFilter((128, 128), background_activity_us=0)
