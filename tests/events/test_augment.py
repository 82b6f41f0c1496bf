"""Event augmentation (asa_live.events.augment): class map, exact transforms, invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asa_live.classes import GESTURE_CLASSES, SWIPE_CLASSES
from asa_live.errors import ConfigError
from asa_live.events import LABEL_DTYPE, make_events
from asa_live.events.augment import AugmentConfig, Augmenter, AugmentParams, mirror_class_map
from asa_live.events.transforms import (
    invert_polarity,
    mirror_x,
    scale_about_centre,
    time_stretch,
    transform,
    translate,
)

from .helpers import random_events

SENSOR = (128, 128)


def _labels(*rows) -> np.ndarray:
    return np.array(list(rows), dtype=LABEL_DTYPE)


# --- mirror class map --------------------------------------------------------------------


def test_mirror_map_of_the_gesture_classes_is_worked_out_from_their_semantics():
    by_name = dict(zip(GESTURE_CLASSES, mirror_class_map(GESTURE_CLASSES), strict=True))
    name = {k: GESTURE_CLASSES[v] for k, v in by_name.items()}
    assert name["right_hand_wave"] == "left_hand_wave"
    assert name["left_hand_wave"] == "right_hand_wave"
    # the side swaps AND the sense of rotation reverses
    assert name["right_arm_clockwise"] == "left_arm_counter_clockwise"
    assert name["right_arm_counter_clockwise"] == "left_arm_clockwise"
    assert name["left_arm_clockwise"] == "right_arm_counter_clockwise"
    assert name["left_arm_counter_clockwise"] == "right_arm_clockwise"
    for same in ("hand_clapping", "arm_roll", "air_drums", "air_guitar", "other_gestures"):
        assert name[same] == same
    assert mirror_class_map(GESTURE_CLASSES) == [0, 2, 1, 6, 5, 4, 3, 7, 8, 9, 10]


def test_mirror_map_of_swipes_and_other_spellings():
    assert mirror_class_map(SWIPE_CLASSES) == [1, 0, 2, 3]  # up / down keep their class
    names = ["RightArmClockwise", "left arm anticlockwise", "Left-Arm-CW", "right_arm_ccw"]
    assert mirror_class_map(names) == [1, 0, 3, 2]
    # a side class whose partner is missing must not be mirrored: -1
    assert mirror_class_map(["clap", "right_hand_wave", "spin_clockwise"]) == [0, -1, -1]
    assert mirror_class_map([]) == []
    with pytest.raises(ValueError, match="twice"):
        mirror_class_map(["left_wave", "Left Wave"])


_VOCAB = ["left", "right", "arm", "hand", "clockwise", "counter_clockwise", "wave", "up", "ccw"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_VOCAB), min_size=1, max_size=4), max_size=12))
def test_mirror_map_is_an_involution_for_any_class_list(token_lists):
    names = list(dict.fromkeys("_".join(tokens) for tokens in token_lists))
    try:
        m = mirror_class_map(names)
    except ValueError:  # two spellings of one class ("ccw" vs "counter_clockwise")
        return
    assert len(m) == len(names)
    for i, j in enumerate(m):
        assert -1 <= j < len(names)
        if j >= 0:
            assert m[j] == i
        has_side = any(tok in names[i] for tok in ("left", "right", "clockwise", "ccw"))
        if not has_side:
            assert j == i


# --- exact transforms ----------------------------------------------------------------------


def test_mirror_translate_polarity_are_exact(rng):
    ev = random_events(rng, 5000, (100, 60))
    out = mirror_x(ev, (100, 60))
    np.testing.assert_array_equal(out["x"], 99 - ev["x"].astype(int))
    np.testing.assert_array_equal(out[["t", "y", "p"]], ev[["t", "y", "p"]])
    np.testing.assert_array_equal(mirror_x(out, (100, 60)), ev)

    out = translate(ev, 7, -5, (100, 60))
    keep = (ev["x"] + 7 < 100) & (ev["y"] >= 5)
    np.testing.assert_array_equal(out["x"], ev["x"][keep] + 7)
    np.testing.assert_array_equal(out["y"], ev["y"][keep] - 5)
    np.testing.assert_array_equal(out[["t", "p"]], ev[keep][["t", "p"]])

    out = invert_polarity(ev)
    np.testing.assert_array_equal(out["p"], 1 - ev["p"])
    np.testing.assert_array_equal(invert_polarity(out), ev)


def test_time_stretch_is_exact_and_stretches_labels(rng):
    ev = random_events(rng, 2000, SENSOR, t_max_us=1_000_000)
    ev["t"] += 5_000_000
    t0 = int(ev["t"][0])
    out = time_stretch(ev, 1.5, t0)
    np.testing.assert_array_equal(out["t"], t0 + np.rint((ev["t"] - t0) * 1.5).astype(np.int64))
    assert np.all(np.diff(out["t"]) >= 0)

    labels = _labels((3, t0 + 100_000, t0 + 300_000), (4, t0 + 400_000, t0 + 400_001))
    aug = Augmenter(AugmentConfig.off())
    out, lab = aug.apply(ev, labels, AugmentParams(time_stretch=0.67), 0)
    np.testing.assert_array_equal(lab["class_id"], [3, 4])
    np.testing.assert_array_equal(lab["start_us"], [t0 + 67_000, t0 + 268_000])
    np.testing.assert_array_equal(lab["end_us"], [t0 + 201_000, t0 + 268_001])  # never empty
    assert out["t"][-1] - out["t"][0] == round((ev["t"][-1] - t0) * 0.67)


def test_scale_one_is_the_identity_and_events_stay_in_their_footprint(rng):
    ev = random_events(rng, 20_000, SENSOR)
    np.testing.assert_array_equal(scale_about_centre(ev, 1.0, SENSOR, rng), ev)
    # shrinking keeps every event; pixel x lands in floor([(x - 64) s + 64, (x + 1 - 64) s + 64))
    out = scale_about_centre(ev, 0.7, SENSOR, np.random.default_rng(1))
    assert len(out) == len(ev)
    for axis in ("x", "y"):
        c = ev[axis].astype(float)
        assert np.all(out[axis] >= np.floor((c - 64) * 0.7 + 64))
        assert np.all(out[axis] <= np.floor((c + 1 - 64) * 0.7 + 64))
    np.testing.assert_array_equal(out[["t", "p"]], ev[["t", "p"]])
    assert out["x"].min() >= 19 and out["x"].max() <= 108
    # enlarging a uniform scene keeps the central 1/s^2 of it
    out = scale_about_centre(ev, 1.3, SENSOR, np.random.default_rng(1))
    assert abs(len(out) / len(ev) - 1 / 1.3**2) < 0.02


@settings(max_examples=100, deadline=None)
@given(
    stretch=st.sampled_from([1.0, 0.5, 1.7]),
    mirror=st.booleans(),
    scale=st.sampled_from([1.0, 0.6, 1.4]),
    shift=st.tuples(st.integers(-30, 30), st.integers(-30, 30)),
    invert=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_fused_transform_follows_the_formulas(stretch, mirror, scale, shift, invert, seed):
    (w, h), n = (90, 70), 500
    ev = random_events(np.random.default_rng(seed), n, (w, h))
    t0 = int(ev["t"][0])
    kw = dict(mirror=mirror, scale=scale, shift_px=shift, invert_polarity=invert)
    fused = transform(ev, (w, h), time_stretch=stretch, anchor_us=t0, **kw, rng=seed)
    # the documented formulas; events are dropped once, after the whole geometric map
    rng = np.random.default_rng(seed)
    x, y = ev["x"].astype(np.int64), ev["y"].astype(np.int64)
    if mirror:
        x = w - 1 - x
    if scale != 1.0:
        ux, uy = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
        s32 = np.float32(scale)
        x = np.floor((x.astype(np.float32) + ux - w / 2) * s32 + w / 2).astype(np.int64)
        y = np.floor((y.astype(np.float32) + uy - h / 2) * s32 + h / 2).astype(np.int64)
    x, y = x + shift[0], y + shift[1]
    keep = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    np.testing.assert_array_equal(fused["x"], x[keep])
    np.testing.assert_array_equal(fused["y"], y[keep])
    t = t0 + np.rint((ev["t"][keep] - t0) * stretch).astype(np.int64)
    np.testing.assert_array_equal(fused["t"], t)
    np.testing.assert_array_equal(fused["p"], 1 - ev["p"][keep] if invert else ev["p"][keep])
    assert not np.shares_memory(fused, ev)
    # without a zoom and a shift together, the one-step functions compose to the same
    if scale == 1.0 or shift == (0, 0):
        steps = time_stretch(ev, stretch, t0)
        steps = mirror_x(steps, (w, h)) if mirror else steps
        steps = scale_about_centre(steps, scale, (w, h), np.random.default_rng(seed))
        steps = translate(steps, *shift, (w, h))
        steps = invert_polarity(steps) if invert else steps
        np.testing.assert_array_equal(fused, steps)


def test_upscaled_scene_has_no_holes():
    # 50 events on every pixel, enlarged 1.3x: every pixel still gets about 50 / 1.69 events
    # (nearest mapping, x' = floor((x + 0.5 - 64) * 1.3 + 64), would leave a quarter of the
    # rows and columns empty)
    yy, xx = np.divmod(np.repeat(np.arange(128 * 128), 50), 128)
    ev = make_events(np.arange(len(xx)), xx, yy, np.zeros(len(xx)))
    out = scale_about_centre(ev, 1.3, SENSOR, np.random.default_rng(2))
    counts = np.bincount(out["y"].astype(int) * 128 + out["x"], minlength=128 * 128)
    assert counts.min() > 0
    assert abs(counts.mean() - 50 / 1.3**2) < 1.0
    assert counts.std() / counts.mean() < 0.25


# --- the Augmenter -------------------------------------------------------------------------


def test_mirror_remaps_classes_and_skips_samples_without_partner(rng):
    ev = random_events(rng, 1000, SENSOR)
    aug = Augmenter(AugmentConfig.off())
    out, lab = aug.apply(ev, 3, AugmentParams(mirror=True), 0)
    assert lab == 6  # right_arm_clockwise -> left_arm_counter_clockwise
    np.testing.assert_array_equal(out["x"], 127 - ev["x"].astype(int))
    labels = _labels((1, 0, 10), (6, 10, 20), (-1, 20, 30))
    _, lab = aug.apply(ev, labels, AugmentParams(mirror=True), 0)
    np.testing.assert_array_equal(lab["class_id"], [2, 3, -1])

    lonely = Augmenter(AugmentConfig.off(), class_names=["clap", "right_hand_wave"])
    out, lab = lonely.apply(ev, 1, AugmentParams(mirror=True), 0)
    assert lab == 1
    np.testing.assert_array_equal(out, ev)
    out, lab = lonely.apply(ev, 0, AugmentParams(mirror=True), 0)
    assert lab == 0
    np.testing.assert_array_equal(out["x"], 127 - ev["x"].astype(int))


def test_off_config_is_the_identity_and_returns_copies(rng):
    ev = random_events(rng, 3000, SENSOR)
    labels = _labels((2, 10, 500_000))
    out, lab = Augmenter(AugmentConfig.off())(ev, labels, 0)
    np.testing.assert_array_equal(out, ev)
    np.testing.assert_array_equal(lab, labels)
    assert not np.shares_memory(out, ev) and not np.shares_memory(lab, labels)


def test_same_seed_same_output_and_unsorted_input_is_sorted(rng):
    ev = random_events(rng, 5000, SENSOR)
    aug = Augmenter()
    a = aug(ev, 1, np.random.default_rng(7))
    b = aug(ev, 1, 7)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]
    assert any(len(aug(ev, 1, s)[0]) != len(a[0]) for s in range(8, 12))
    shuffled = ev[rng.permutation(len(ev))]
    out, _ = Augmenter(AugmentConfig.off())(shuffled, None, 0)
    np.testing.assert_array_equal(out["t"], ev["t"])


def test_bad_events_and_labels_raise(rng):
    aug = Augmenter()
    with pytest.raises(ValueError, match="EVENT_DTYPE"):
        aug(np.zeros(3), 0, 0)
    with pytest.raises(ValueError, match="outside"):
        aug(make_events([0], [128], [0], [1]), 0, 0)
    with pytest.raises(ValueError, match="labels"):
        aug(random_events(rng, 10, SENSOR), "wave", 0)
    with pytest.raises(ValueError, match="class id"):
        aug.apply(random_events(rng, 10, SENSOR), 11, AugmentParams(mirror=True), 0)


@pytest.mark.parametrize(
    "kw",
    [
        {"p_mirror": 1.5},
        {"p_noise": float("nan")},
        {"scale": (1.4, 0.6)},
        {"scale": (0.0, 1.0)},
        {"time_stretch": (0.5, float("inf"))},
        {"noise_hz_per_px": (-1.0, 2.0)},
        {"hot_pixels": (0, 1, 2)},
        {"hot_pixels": (0, 2.5)},
        {"shift_x_px": (-3.5, 3)},
        {"p_mirror": "0.5"},
    ],
)
def test_bad_config_is_a_config_error(kw):
    with pytest.raises(ConfigError):
        AugmentConfig(**kw)


def test_default_config_covers_every_robustness_condition():
    from asa_live.events.robustness import ROBUSTNESS_CONDITIONS

    c = AugmentConfig()
    for cond in ROBUSTNESS_CONDITIONS.values():
        p = cond.params
        assert c.scale[0] <= p.scale <= c.scale[1]
        assert c.time_stretch[0] <= p.time_stretch <= c.time_stretch[1]
        assert c.shift_x_px[0] <= p.shift_px[0] <= c.shift_x_px[1]
        assert c.shift_y_px[0] <= p.shift_px[1] <= c.shift_y_px[1]
        assert c.noise_hz_per_px[0] <= p.noise_hz_per_px <= c.noise_hz_per_px[1]
        assert c.hot_pixels[0] <= p.hot_pixels <= c.hot_pixels[1]
        if p.hot_pixels:
            assert c.hot_pixel_hz[0] <= p.hot_pixel_hz <= c.hot_pixel_hz[1]
        assert not p.invert_polarity or c.p_invert_polarity > 0


def test_draws_follow_the_config():
    c = AugmentConfig()
    aug = Augmenter(c)
    rng = np.random.default_rng(0)
    draws = [aug.draw(rng) for _ in range(4000)]
    share = lambda pred: np.mean([pred(d) for d in draws])  # noqa: E731
    assert abs(share(lambda d: d.mirror) - c.p_mirror) < 0.03
    assert abs(share(lambda d: d.invert_polarity) - c.p_invert_polarity) < 0.03
    assert abs(share(lambda d: d.scale != 1.0) - c.p_scale) < 0.03
    assert abs(share(lambda d: d.shift_px != (0, 0)) - c.p_translate) < 0.03
    assert abs(share(lambda d: d.time_stretch != 1.0) - c.p_time_stretch) < 0.03
    assert not any(d.background for d in draws)  # no pool given
    scales = np.array([d.scale for d in draws if d.scale != 1.0])
    assert scales.min() >= 0.6 and scales.max() <= 1.4
    assert abs(np.median(scales) - np.sqrt(0.6 * 1.4)) < 0.03  # log-uniform
    shifts = np.array([d.shift_px for d in draws if d.shift_px != (0, 0)])
    assert shifts.min() == -25 and shifts.max() == 25
    stretches = np.array([d.time_stretch for d in draws if d.time_stretch != 1.0])
    assert stretches.min() >= 0.67 and stretches.max() <= 1.5
    hot = [(d.hot_pixels, d.hot_pixel_hz) for d in draws if d.hot_pixels]
    assert all(0 < n <= 50 and 1.0 <= hz <= 2000.0 for n, hz in hot)
    noise = np.array([d.noise_hz_per_px for d in draws])
    assert noise.max() <= 3.0 and abs(np.mean(noise > 0) - c.p_noise) < 0.03
    assert Augmenter(AugmentConfig.off()).draw(rng) == AugmentParams()


_params = st.builds(
    AugmentParams,
    time_stretch=st.sampled_from([1.0, 0.67, 1.5]) | st.floats(0.3, 3.0),
    mirror=st.booleans(),
    scale=st.sampled_from([1.0]) | st.floats(0.5, 1.6),
    shift_px=st.tuples(st.integers(-40, 40), st.integers(-40, 40)),
    invert_polarity=st.booleans(),
    noise_hz_per_px=st.sampled_from([0.0]) | st.floats(0.0, 5.0),
    hot_pixels=st.integers(0, 30),
    hot_pixel_hz=st.floats(1.0, 3000.0),
)


@settings(max_examples=150, deadline=None)
@given(
    params=_params,
    sensor=st.tuples(st.integers(1, 200), st.integers(1, 150)),
    n=st.integers(0, 400),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_params_give_sorted_in_sensor_events(params, sensor, n, seed):
    rng = np.random.default_rng(seed)
    ev = random_events(rng, n, sensor, t_max_us=200_000)
    labels = _labels((1, 1_000, 150_000)) if n % 2 else None
    aug = Augmenter(AugmentConfig.off(), sensor)
    out, lab = aug.apply(ev, labels if labels is not None else 4, params, seed)
    assert out.dtype == ev.dtype and out.ndim == 1
    assert np.all(np.diff(out["t"]) >= 0)
    if len(out):
        assert out["x"].max() < sensor[0] and out["y"].max() < sensor[1]
        assert out["p"].max() <= 1
    adds = params.noise_hz_per_px > 0 or params.hot_pixels > 0
    drops = params.scale > 1 or params.shift_px != (0, 0)
    if not adds:
        assert len(out) <= n
        if not drops:
            assert len(out) == n
    if labels is not None:
        assert np.all(lab["end_us"] > lab["start_us"])
    again, _ = aug.apply(ev, labels if labels is not None else 4, params, seed)
    np.testing.assert_array_equal(again, out)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 300))
def test_default_augmenter_invariants(seed, n):
    rng = np.random.default_rng(seed)
    ev = random_events(rng, n, SENSOR, t_max_us=100_000)
    out, cls = Augmenter()(ev, 3, rng)
    assert out.dtype == ev.dtype
    assert np.all(np.diff(out["t"]) >= 0)
    assert cls in (3, 6)
    if len(out):
        assert out["x"].max() < 128 and out["y"].max() < 128
