"""Synthetic DVS128-Gesture-like samples and continuous recordings.

One seed fixes everything (``numpy.random.default_rng(seed)``): the scene (body, clothes,
room, lighting, sensor), then the motion. The scene and motion draws do not depend on the
class, so classes 3/4 (and 5/6) of one seed show the same circle traversed in opposite
directions. Seed convention: training 0..99_999, held-out test 100_000..199_999, the bundled
demo recording 900_000 and up (see :data:`TRAIN_SEEDS`, :data:`TEST_SEEDS`, :data:`DEMO_SEED`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace

import numpy as np

from asa_live.classes import NUM_GESTURE_CLASSES
from asa_live.errors import ConfigError
from asa_live.events.dtype import EVENT_DTYPE
from asa_live.events.ibm import LABEL_DTYPE
from asa_live.synth.dvs import DvsParams, DvsPixelArray
from asa_live.synth.kinematics import (
    ArmTracks,
    Body,
    draw_body,
    draw_style,
    gesture_motion,
    rest_pose,
    smooth_noise,
)
from asa_live.synth.render import Appearance, Lighting, Renderer, make_background

TRAIN_SEEDS = range(0, 100_000)
TEST_SEEDS = range(100_000, 200_000)
DEMO_SEED = 900_000

#: IBM's lighting tags (facts file): each picks a distribution of illumination and flicker.
LIGHTING_TAGS: tuple[str, ...] = ("fluorescent", "fluorescent_led", "led", "lab", "natural")


@dataclass(frozen=True)
class SceneParams:
    """Everything about one synthetic session except the gestures' own motion.

    Any field can be fixed through ``**overrides`` of :func:`generate_sample` /
    :func:`generate_recording`; the rest is drawn from the seed.
    """

    lighting: str
    illumination: float
    flicker_depth: float
    clutter: float
    shake_px: float
    fps: float
    threshold_on: float
    threshold_off: float
    mismatch_sigma: float
    refractory_us: float
    noise_rate_hz: float
    hot_pixels: int
    speed: float
    amplitude: float


_OVERRIDABLE = {f.name for f in fields(SceneParams)}


def draw_scene_params(rng: np.random.Generator, **overrides) -> SceneParams:
    """Random scene parameters; ``overrides`` fix named fields (unknown names: ConfigError)."""
    unknown = sorted(set(overrides) - _OVERRIDABLE)
    if unknown:
        raise ConfigError(
            f"Unknown synthetic-scene option(s) {unknown}; expected some of {sorted(_OVERRIDABLE)}."
        )
    tag = overrides.get("lighting", LIGHTING_TAGS[int(rng.integers(0, len(LIGHTING_TAGS)))])
    if tag not in LIGHTING_TAGS:
        raise ConfigError(f"Unknown lighting '{tag}'; expected one of {', '.join(LIGHTING_TAGS)}.")
    # Always draw every value so that an override does not shift the random stream.
    level = {
        "fluorescent": rng.uniform(0.8, 1.3),
        "fluorescent_led": rng.uniform(0.8, 1.3),
        "led": rng.uniform(0.6, 1.1),
        "lab": rng.uniform(0.4, 0.9),
        "natural": rng.uniform(0.25, 1.6),
    }[tag]
    flicker = {
        "fluorescent": rng.uniform(0.03, 0.08),
        "fluorescent_led": rng.uniform(0.01, 0.04),
    }.get(tag, 0.0)
    base_threshold = rng.uniform(0.1, 0.2)
    params = SceneParams(
        lighting=tag,
        illumination=level,
        flicker_depth=flicker,
        clutter=rng.uniform(1.0, 6.0),
        shake_px=rng.uniform(0.05, 0.35),
        fps=250.0,
        threshold_on=base_threshold,
        threshold_off=base_threshold * rng.uniform(0.85, 1.2),
        mismatch_sigma=rng.uniform(0.02, 0.03),
        refractory_us=rng.uniform(100.0, 500.0),
        noise_rate_hz=float(rng.uniform(0.05, 0.3) / np.sqrt(level)),
        hot_pixels=int(rng.poisson(2.0)),
        speed=1.0,
        amplitude=1.0,
    )
    checked = {}
    for name, value in overrides.items():
        if name == "lighting":
            checked[name] = value
            continue
        lo, hi = _OVERRIDE_RANGES[name]
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not lo <= number <= hi:
            raise ConfigError(
                f"Scene option {name}={value!r} is out of range; give a number in [{lo}, {hi}]."
            )
        checked[name] = int(number) if name == "hot_pixels" else number
    return replace(params, **checked)


# Accepted ranges of the numeric overrides (inclusive).
_OVERRIDE_RANGES: dict[str, tuple[float, float]] = {
    "illumination": (0.01, 100.0),
    "flicker_depth": (0.0, 0.5),
    "clutter": (0.0, 50.0),
    "shake_px": (0.0, 3.0),
    "fps": (50.0, 5000.0),
    "threshold_on": (0.01, 2.0),
    "threshold_off": (0.01, 2.0),
    "mismatch_sigma": (0.0, 0.5),
    "refractory_us": (0.0, 100_000.0),
    "noise_rate_hz": (0.0, 1000.0),
    "hot_pixels": (0, 10_000),
    "speed": (0.05, 20.0),
    "amplitude": (0.05, 5.0),
}


@dataclass
class Scene:
    """A drawn scene: parameters, body and the objects that render and sense it."""

    params: SceneParams
    body: Body
    renderer: Renderer
    dvs: DvsPixelArray
    sensor_size: tuple[int, int]


def _check_sensor_size(sensor_size) -> tuple[int, int]:
    try:
        width, height = int(sensor_size[0]), int(sensor_size[1])
    except (TypeError, ValueError, IndexError):
        raise ConfigError(f"sensor_size must be (width, height), got {sensor_size!r}.") from None
    if not (16 <= width <= 4096 and 16 <= height <= 4096) or len(sensor_size) != 2:
        raise ConfigError(f"sensor_size must be two integers in 16..4096, got {sensor_size!r}.")
    return width, height


def build_scene(rng: np.random.Generator, sensor_size=(128, 128), **overrides) -> Scene:
    """Draw a whole scene (subject, clothes, room, lighting, sensor) from ``rng``."""
    width, height = _check_sensor_size(sensor_size)
    params = draw_scene_params(rng, **overrides)
    body = draw_body(rng)
    # The room is rendered with a margin wide enough for the largest camera shake.
    background_pad = int(np.ceil(params.shake_px * min(width, height) / 128.0)) + 3
    background = make_background(rng, (width, height), background_pad, params.clutter)
    # The visible part only, so that the shake margin does not change the clothes drawn.
    p = background_pad
    wall = float(np.median(background[p:-p, p:-p]))
    # Clothes and skin must stand out from the wall, or the subject would be invisible.
    shirt = _contrasting(rng, wall, 0.04, 0.9)
    sleeve = shirt if rng.random() < 0.5 else _contrasting(rng, wall, 0.1, 0.9)
    skin = _contrasting(rng, wall, 0.25, 0.9)
    appearance = Appearance(
        shirt=shirt,
        sleeve=sleeve,
        skin=skin,
        hair=rng.uniform(0.03, 0.25),
        edge_px=rng.uniform(0.7, 1.3),
        # Arms in front of the torso are lit differently (rounded, closer to the light).
        limb_shade=rng.uniform(0.55, 0.8) if rng.random() < 0.5 else rng.uniform(1.25, 1.6),
        limb_rounding=rng.uniform(0.2, 0.6),
    )
    lighting = Lighting(
        tag=params.lighting,
        level=params.illumination,
        gradient_x=rng.uniform(-0.3, 0.3) * (2.0 if params.lighting == "natural" else 1.0),
        gradient_y=rng.uniform(-0.15, 0.15),
        flicker_depth=params.flicker_depth,
        flicker_hz=100.0 if rng.random() < 0.5 else 120.0,
        flicker_phase=rng.uniform(0, 2 * np.pi),
        # Point-like lamps cast visible shadows; diffuse daylight and tube banks hardly do.
        shadow_strength=rng.uniform(0.2, 0.6)
        if params.lighting in ("led", "lab", "fluorescent_led")
        else rng.uniform(0.0, 0.25),
        shadow_offset=(rng.uniform(-7.0, 7.0), rng.uniform(1.0, 7.0)),
    )
    renderer = Renderer((width, height), body, appearance, lighting, background, background_pad)
    dvs_params = DvsParams(
        threshold_on=params.threshold_on,
        threshold_off=params.threshold_off,
        mismatch_sigma=params.mismatch_sigma,
        refractory_us=params.refractory_us,
        noise_rate_hz=params.noise_rate_hz,
        hot_pixels=params.hot_pixels,
    )
    try:
        dvs = DvsPixelArray(width, height, dvs_params, rng)
    except ValueError as err:
        raise ConfigError(f"Bad DVS parameter override: {err}.") from None
    return Scene(params=params, body=body, renderer=renderer, dvs=dvs, sensor_size=(width, height))


def _contrasting(rng: np.random.Generator, wall: float, lo: float, hi: float) -> float:
    """A reflectance in [lo, hi] at least ~0.8 log units away from ``wall``."""
    for _ in range(20):
        value = rng.uniform(lo, hi)
        if abs(np.log(value / wall)) > 0.8:
            return value
    return hi if wall < 0.5 * (lo + hi) else lo


def _frame_times_us(duration_us: int, fps: float) -> np.ndarray:
    if not 50.0 <= fps <= 5000.0:
        raise ConfigError(f"fps must be in 50..5000 Hz, got {fps}.")
    step = int(round(1e6 / fps))
    n = int(np.ceil(duration_us / step))
    return np.arange(n + 1, dtype=np.int64) * step


def _shake(rng: np.random.Generator, t_s: np.ndarray, amplitude_px: float) -> np.ndarray:
    """Small camera shake ``[T, 2]`` in sensor pixels (a few Hz, sub-pixel)."""
    return amplitude_px * np.stack(
        [smooth_noise(rng, t_s, 4, 0.5, 8.0), smooth_noise(rng, t_s, 4, 0.5, 8.0)], axis=1
    )


def _sense(
    scene: Scene,
    tracks: ArmTracks,
    frame_t_us: np.ndarray,
    rng: np.random.Generator,
    end_us: int,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Render every frame, run the pixel model, add noise; events in ``[0, end_us)``."""
    t_s = frame_t_us * 1e-6
    shake = _shake(rng, t_s, scene.params.shake_px) * scene.renderer.scale
    renderer, dvs = scene.renderer, scene.dvs
    dvs.reset(renderer.intensity(tracks, 0, float(t_s[0]), shake[0]), float(frame_t_us[0]))
    parts = []
    for k in range(1, frame_t_us.shape[0]):
        frame = renderer.intensity(tracks, k, float(t_s[k]), shake[k])
        ev = dvs.step(frame, float(frame_t_us[k]))
        if ev.size:
            parts.append(ev)
        if progress is not None and k % 250 == 0:
            progress(250)
    if progress is not None:
        progress((frame_t_us.shape[0] - 1) % 250)
    parts.append(dvs.noise(0, end_us, rng))
    events = np.concatenate(parts) if parts else np.zeros(0, EVENT_DTYPE)
    events = events[events["t"] < end_us]
    return events[np.argsort(events["t"], kind="stable")]


def _check_class(class_id) -> int:
    try:
        c = int(class_id)
    except (TypeError, ValueError):
        raise ConfigError(f"class_id must be an integer 0..10, got {class_id!r}.") from None
    if not 0 <= c < NUM_GESTURE_CLASSES:
        raise ConfigError(f"class_id must be in 0..{NUM_GESTURE_CLASSES - 1}, got {class_id}.")
    return c


def _check_duration(name: str, value_us) -> int:
    v = int(value_us)
    if not 10_000 <= v <= 3_600_000_000:
        raise ConfigError(f"{name} must be between 10 ms and 1 h in microseconds, got {value_us}.")
    return v


def generate_sample(
    class_id: int,
    seed: int,
    duration_us: int = 1_500_000,
    sensor_size: tuple[int, int] = (128, 128),
    **overrides,
) -> np.ndarray:
    """One gesture of class ``class_id`` (0..10) performed for ``duration_us``.

    Returns an EVENT_DTYPE array sorted by ``t`` (microseconds, ``0 <= t < duration_us``),
    ``x < width``, ``y < height`` of ``sensor_size = (width, height)``. The same
    ``(class_id, seed, duration_us, sensor_size, overrides)`` always gives identical events.
    ``overrides`` fix fields of :class:`SceneParams` (e.g. ``lighting="led"``, ``fps=500``,
    ``speed=1.2``, ``noise_rate_hz=0``).
    """
    class_id = _check_class(class_id)
    duration_us = _check_duration("duration_us", duration_us)
    rng = np.random.default_rng(int(seed))
    scene = build_scene(rng, sensor_size, **overrides)
    frame_t_us = _frame_times_us(duration_us, scene.params.fps)
    t_s = frame_t_us * 1e-6
    style = draw_style(rng)
    style = replace(
        style,
        speed=style.speed * scene.params.speed,
        amplitude=style.amplitude * scene.params.amplitude,
    )
    tracks = gesture_motion(class_id, scene.body, t_s, rng, style)
    return _sense(scene, tracks, frame_t_us, rng, duration_us)


def _set_rows(dst: ArmTracks, idx: np.ndarray, src: ArmTracks) -> None:
    for name in dst.__dataclass_fields__:
        getattr(dst, name)[idx] = getattr(src, name)


def _take_rows(tracks: ArmTracks, idx: np.ndarray) -> ArmTracks:
    return ArmTracks(**{name: getattr(tracks, name)[idx] for name in tracks.__dataclass_fields__})


def generate_recording(
    class_ids: Sequence[int],
    seed: int,
    gesture_duration_us: int | Sequence[int] = 2_500_000,
    gap_us: int = 800_000,
    lead_us: int = 500_000,
    tail_us: int = 500_000,
    ramp_us: int = 300_000,
    sensor_size: tuple[int, int] = (128, 128),
    progress: Callable[[int], None] | None = None,
    **overrides,
) -> tuple[np.ndarray, np.ndarray]:
    """A continuous recording: the subject performs ``class_ids`` in order, idle in between.

    Layout: ``lead_us`` idle, then per gesture ``gesture_duration_us`` (one value or one per
    gesture) of motion, ``gap_us`` idle between gestures, ``tail_us`` idle at the end. Each
    gesture eases in and out of the resting pose over ``ramp_us`` (inside its labelled span).
    During idle spans the subject stands still, so only noise and a few edge events remain.

    Returns ``(events, labels)``: events EVENT_DTYPE sorted by ``t`` (from 0), labels a
    structured array with fields ``class_id`` (0..10), ``start_us``, ``end_us`` - the dtype
    :func:`asa_live.events.ibm.read_labels_csv` returns. ``progress(n_frames)`` is called as
    frames are rendered (total: :func:`recording_frame_count`).
    """
    classes = [_check_class(c) for c in class_ids]
    if not classes:
        raise ConfigError("class_ids is empty; give at least one gesture class (0..10).")
    if isinstance(gesture_duration_us, (int, np.integer)):
        durations = [int(gesture_duration_us)] * len(classes)
    else:
        durations = [int(d) for d in gesture_duration_us]
        if len(durations) != len(classes):
            raise ConfigError(
                f"gesture_duration_us has {len(durations)} values for {len(classes)} gestures; give one per gesture."
            )
    durations = [_check_duration("gesture_duration_us", d) for d in durations]
    for name, v in (
        ("gap_us", gap_us),
        ("lead_us", lead_us),
        ("tail_us", tail_us),
        ("ramp_us", ramp_us),
    ):
        if int(v) < 0:
            raise ConfigError(f"{name} must be >= 0 microseconds, got {v}.")
    labels = np.zeros(len(classes), LABEL_DTYPE)
    t = int(lead_us)
    for i, (c, d) in enumerate(zip(classes, durations, strict=True)):
        labels[i] = (c, t, t + d)
        t += d + (int(gap_us) if i < len(classes) - 1 else 0)
    end_us = t + int(tail_us)

    rng = np.random.default_rng(int(seed))
    scene = build_scene(rng, sensor_size, **overrides)
    frame_t_us = _frame_times_us(end_us, scene.params.fps)
    t_s = frame_t_us * 1e-6
    tracks = rest_pose(scene.body, t_s, rng)
    ramp_s = max(int(ramp_us), 1) * 1e-6
    for c, start, stop in zip(
        labels["class_id"], labels["start_us"], labels["end_us"], strict=True
    ):
        idx = np.flatnonzero((frame_t_us >= start) & (frame_t_us < stop))
        if idx.size == 0:
            continue
        local = t_s[idx] - start * 1e-6
        style = draw_style(rng)
        style = replace(
            style,
            speed=style.speed * scene.params.speed,
            amplitude=style.amplitude * scene.params.amplitude,
        )
        motion = gesture_motion(int(c), scene.body, local, rng, style)
        span = (stop - start) * 1e-6
        ease = np.clip(np.minimum(local, span - local) / ramp_s, 0.0, 1.0)
        weight = 0.5 - 0.5 * np.cos(np.pi * ease)  # smooth start and stop
        _set_rows(tracks, idx, _take_rows(tracks, idx).blend(motion, weight))
    events = _sense(scene, tracks, frame_t_us, rng, end_us, progress)
    return events, labels


def recording_frame_count(end_us: int, fps: float = 250.0) -> int:
    """Frames rendered for a recording of ``end_us`` (for progress bars)."""
    return int(np.ceil(end_us / int(round(1e6 / fps))))
