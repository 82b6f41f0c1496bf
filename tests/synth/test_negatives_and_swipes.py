"""Negative ("no gesture") streams and hand swipes."""

from __future__ import annotations

import numpy as np
import pytest

from asa_live.classes import SWIPE_CLASSES
from asa_live.errors import ConfigError
from asa_live.events import EVENT_DTYPE
from asa_live.synth import NEGATIVE_KINDS, SYNTH_CLASSES, generate_negative, generate_sample

SHORT_US = 200_000


@pytest.mark.parametrize("kind", NEGATIVE_KINDS)
def test_every_negative_kind_is_a_valid_deterministic_stream(kind):
    ev = generate_negative(kind, 3, duration_us=SHORT_US)
    assert ev.dtype == EVENT_DTYPE and len(ev) > 0
    assert np.all(np.diff(ev["t"]) >= 0) and ev["t"].min() >= 0 and ev["t"].max() < SHORT_US
    assert ev["x"].max() < 128 and ev["y"].max() < 128
    assert generate_negative(kind, 3, duration_us=SHORT_US).tobytes() == ev.tobytes()


def test_negative_scenes_show_what_they_say():
    quiet = {"noise_rate_hz": 0.0, "hot_pixels": 0}
    # Pure sensor noise: spread over the whole array, no structure.
    noise = generate_negative(
        "sensor_noise", 0, duration_us=SHORT_US, noise_rate_hz=2.0, hot_pixels=0
    )
    assert abs(len(noise) / (128 * 128 * SHORT_US * 1e-6) - 2.0) < 0.2
    assert (
        len(np.unique(noise["y"].astype(int) * 128 + noise["x"])) > 0.2 * 128 * 128
    )  # spread, not a few pixels
    # A car crossing: its events move sideways over time.
    car = generate_negative("vehicle", 1, duration_us=600_000, **quiet)
    first, last = car[car["t"] < 150_000], car[car["t"] >= 450_000]
    assert len(first) > 50 and len(last) > 50
    assert abs(last["x"].mean() - first["x"].mean()) > 5
    # Walking in and out covers much of the width; a still subject stays put.
    walk = generate_negative("walk_in_out", 2, duration_us=1_500_000, **quiet)
    assert np.ptp(np.percentile(walk["x"], [5, 95])) > 60
    # A flickering lamp: the event rate beats at twice the mains flicker (ON and OFF halves).
    for seed in (0, 1):
        lamp = generate_negative("flicker_lamp", seed, duration_us=500_000, **quiet)
        counts = np.bincount(lamp["t"] // 1000, minlength=500)[:500].astype(float)
        spectrum = np.abs(np.fft.rfft(counts - counts.mean()))
        assert np.fft.rfftfreq(500, 1e-3)[np.argmax(spectrum)] in (200.0, 240.0)
    with pytest.raises(ConfigError, match="Unknown negative kind"):
        generate_negative("juggling", 0)


def test_swipes_are_synth_classes_after_the_eleven():
    assert SYNTH_CLASSES[11:] == SWIPE_CLASSES
    ev = generate_sample("swipe_up", 0, duration_us=SHORT_US)
    assert ev.tobytes() == generate_sample(13, 0, duration_us=SHORT_US).tobytes()


@pytest.mark.parametrize(
    ("name", "axis", "sign"),
    [
        ("swipe_left", "x", 1),
        ("swipe_right", "x", -1),
        ("swipe_up", "y", -1),
        ("swipe_down", "y", 1),
    ],
)
@pytest.mark.parametrize("randomize", [0, 1])
def test_swipe_direction_seen_in_the_events(name, axis, sign, randomize):
    # The first stroke runs from 0.25 s for at least 0.24 s (swipes.RAISE_S, STROKE_S).
    # swipe_left is towards the subject's left: the image's right edge (+x).
    for seed in (0, 1):
        ev = generate_sample(name, seed, duration_us=500_000, randomize=randomize)
        a = ev[(ev["t"] >= 250_000) & (ev["t"] < 370_000)]
        b = ev[(ev["t"] >= 370_000) & (ev["t"] < 490_000)]
        assert sign * (b[axis].mean() - a[axis].mean()) > 2.5, (
            seed,
            a[axis].mean(),
            b[axis].mean(),
        )
