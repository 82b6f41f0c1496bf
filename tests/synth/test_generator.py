"""generate_sample / generate_recording: format, determinism, rates, direction classes."""

from __future__ import annotations

import numpy as np
import pytest

from asa_live.classes import NUM_GESTURE_CLASSES
from asa_live.errors import ConfigError
from asa_live.events import EVENT_DTYPE
from asa_live.events.ibm import LABEL_DTYPE
from asa_live.synth import (
    DEMO_SEED,
    TEST_SEEDS,
    TRAIN_SEEDS,
    generate_recording,
    generate_sample,
)
from asa_live.synth.body import draw_body
from asa_live.synth.kinematics import draw_style, gesture_motion
from asa_live.synth.recording import build_scene, draw_scene_params

SHORT_US = 300_000


def _check_stream(ev: np.ndarray, duration_us: int, width: int = 128, height: int = 128) -> None:
    assert ev.dtype == EVENT_DTYPE
    assert len(ev) > 0
    assert np.all(np.diff(ev["t"]) >= 0), "events must be time-sorted"
    assert ev["t"].min() >= 0 and ev["t"].max() < duration_us
    assert ev["x"].max() < width and ev["y"].max() < height
    assert set(np.unique(ev["p"])) <= {0, 1}


@pytest.mark.parametrize("class_id", range(NUM_GESTURE_CLASSES))
def test_sample_format_every_class(class_id):
    ev = generate_sample(class_id, seed=class_id, duration_us=SHORT_US)
    _check_stream(ev, SHORT_US)
    # Both polarities occur: moving edges make ON and OFF events.
    assert 0.2 < ev["p"].mean() < 0.8


def test_same_seed_same_bytes_other_seed_differs():
    a = generate_sample(3, seed=42, duration_us=SHORT_US)
    b = generate_sample(3, seed=42, duration_us=SHORT_US)
    c = generate_sample(3, seed=43, duration_us=SHORT_US)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_large_sensor_with_strong_shake_stays_in_bounds():
    ev = generate_sample(3, seed=2, duration_us=100_000, sensor_size=(1280, 720), shake_px=3.0)
    _check_stream(ev, 100_000, 1280, 720)


def test_non_square_sensor_keeps_bounds():
    ev = generate_sample(1, seed=5, duration_us=SHORT_US, sensor_size=(240, 180))
    _check_stream(ev, SHORT_US, 240, 180)
    # The subject is scaled to the shorter side and centred: events use the wider area.
    assert ev["x"].max() > 150


def test_event_rate_in_a_realistic_band():
    """Mean rate over classes near the real dataset's ~56 k ev/s; idle noise far lower."""
    duration = 1_000_000
    rates = [
        len(generate_sample(c, seed=1000 + c, duration_us=duration)) / 1.0
        for c in range(NUM_GESTURE_CLASSES)
    ]
    assert 20_000 < np.mean(rates) < 120_000, rates
    assert min(rates) > 5_000, rates
    events, labels = generate_recording(
        [0], seed=7, gesture_duration_us=1_000_000, lead_us=1_000_000, tail_us=0
    )
    idle = events[events["t"] < 1_000_000]
    active = events[events["t"] >= 1_000_000]
    assert len(idle) < 0.3 * len(active)


def test_timestamps_are_finer_than_the_frame_period():
    """Crossing times are interpolated between the 250 Hz frames: >= 1 kHz resolution."""
    ev = generate_sample(3, seed=3, duration_us=SHORT_US, noise_rate_hz=0.0, hot_pixels=0)
    frame_us = 4000
    phase = ev["t"] % frame_us
    # Spread over the whole frame interval, not stacked on frame boundaries.
    hist = np.bincount(phase // 500, minlength=8)
    assert hist.min() > 0.05 * hist.sum(), hist


def _rotation_sense(ev: np.ndarray, bin_us: int = 25_000) -> float:
    """Slope (rad per bin) of the event centroid's angle about its mean: > 0 is clockwise
    in image (y-down) coordinates."""
    b = ev["t"] // bin_us
    n = int(b.max()) + 1
    cnt = np.bincount(b, minlength=n)
    cx = np.bincount(b, ev["x"].astype(float), n)
    cy = np.bincount(b, ev["y"].astype(float), n)
    ok = cnt > 50
    cx, cy = cx[ok] / cnt[ok], cy[ok] / cnt[ok]
    ang = np.unwrap(np.arctan2(cy - cy.mean(), cx - cx.mean()))
    return float(np.polyfit(np.arange(len(ang)), ang, 1)[0])


@pytest.mark.parametrize(("cw", "ccw", "seed"), [(3, 4, 11), (5, 6, 12)])
def test_clockwise_and_counter_clockwise_differ_only_in_time(cw, ccw, seed):
    kw = {"duration_us": 1_500_000, "noise_rate_hz": 0.0, "hot_pixels": 0}
    a = generate_sample(cw, seed, **kw)
    b = generate_sample(ccw, seed, **kw)
    fa = np.bincount(a["y"].astype(np.int64) * 128 + a["x"], minlength=128 * 128)
    fb = np.bincount(b["y"].astype(np.int64) * 128 + b["x"], minlength=128 * 128)
    assert np.corrcoef(fa, fb)[0, 1] > 0.95, "same seed: the same disc must be swept"
    assert abs(len(a) - len(b)) < 0.05 * len(a)
    assert _rotation_sense(a) > 0.03
    assert _rotation_sense(b) < -0.03


def test_ccw_kinematics_are_the_cw_motion_played_backwards():
    t_s = np.arange(300) / 250.0
    for cw, ccw in ((3, 4), (5, 6)):
        tracks = []
        for c in (cw, ccw):
            rng = np.random.default_rng(99)
            body = draw_body(rng)
            tracks.append(gesture_motion(c, body, t_s, rng, draw_style(rng)))
        for name in ("right_hand", "left_hand", "right_elbow", "left_elbow", "body_offset"):
            np.testing.assert_allclose(getattr(tracks[1], name), getattr(tracks[0], name)[::-1])


def test_right_arm_is_on_the_image_left():
    ev = generate_sample(3, seed=21, duration_us=1_000_000, noise_rate_hz=0.0, hot_pixels=0)
    ev_left = generate_sample(5, seed=21, duration_us=1_000_000, noise_rate_hz=0.0, hot_pixels=0)
    assert np.median(ev["x"]) < 60 < np.median(ev_left["x"])


def test_hand_waves_happen_above_the_shoulders_and_clapping_in_front_of_the_chest():
    wave = generate_sample(1, seed=8, duration_us=1_000_000, noise_rate_hz=0.0, hot_pixels=0)
    clap = generate_sample(0, seed=8, duration_us=1_000_000, noise_rate_hz=0.0, hot_pixels=0)
    assert np.median(wave["y"]) < np.median(clap["y"])
    assert abs(np.median(clap["x"]) - 66) < 15


def test_recording_layout_and_labels():
    events, labels = generate_recording(
        [0, 3, 10],
        seed=DEMO_SEED,
        gesture_duration_us=400_000,
        gap_us=200_000,
        lead_us=100_000,
        tail_us=100_000,
    )
    assert labels.dtype == LABEL_DTYPE
    assert labels["class_id"].tolist() == [0, 3, 10]
    assert labels["start_us"].tolist() == [100_000, 700_000, 1_300_000]
    assert labels["end_us"].tolist() == [500_000, 1_100_000, 1_700_000]
    _check_stream(events, 1_800_000)
    again, _ = generate_recording(
        [0, 3, 10],
        seed=DEMO_SEED,
        gesture_duration_us=400_000,
        gap_us=200_000,
        lead_us=100_000,
        tail_us=100_000,
    )
    assert events.tobytes() == again.tobytes()


def test_overrides_and_bad_arguments():
    params = draw_scene_params(np.random.default_rng(0), lighting="natural", fps=500.0)
    assert params.lighting == "natural" and params.fps == 500.0
    scene = build_scene(np.random.default_rng(0), lighting="fluorescent")
    assert scene.renderer.light.flicker_depth > 0
    with pytest.raises(ConfigError, match="Unknown synthetic-scene option"):
        generate_sample(0, 0, duration_us=SHORT_US, colour="red")
    with pytest.raises(ConfigError, match="Unknown lighting"):
        generate_sample(0, 0, duration_us=SHORT_US, lighting="candle")
    with pytest.raises(ConfigError, match="class_id"):
        generate_sample(15, 0)
    with pytest.raises(ConfigError, match="duration_us"):
        generate_sample(0, 0, duration_us=5)
    with pytest.raises(ConfigError, match="sensor_size"):
        generate_sample(0, 0, sensor_size=(8,))
    with pytest.raises(ConfigError, match="empty"):
        generate_recording([], seed=0)
    with pytest.raises(ConfigError, match="out of range"):
        generate_sample(0, 0, duration_us=SHORT_US, fps="fast")
    with pytest.raises(ConfigError, match="out of range"):
        generate_sample(0, 0, duration_us=SHORT_US, threshold_on=-1)
    with pytest.raises(ConfigError, match="one per gesture"):
        generate_recording([0, 1], seed=0, gesture_duration_us=[100_000])


def test_seed_ranges_do_not_overlap():
    assert TRAIN_SEEDS.stop <= TEST_SEEDS.start
    assert TEST_SEEDS.stop <= DEMO_SEED
