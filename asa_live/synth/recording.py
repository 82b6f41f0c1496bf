"""Synthetic DVS128-Gesture-like samples and continuous recordings.

One seed fixes everything (``numpy.random.default_rng(seed)``): the scene (body, clothes,
room, lighting, sensor), then the motion. The scene and motion draws do not depend on the
class, so classes 3/4 (and 5/6) of one seed show the same circle traversed in opposite
directions. Seed convention: training 0..99_999, held-out test 100_000..199_999, the bundled
demo recording 900_000 and up (see :data:`TRAIN_SEEDS`, :data:`TEST_SEEDS`, :data:`DEMO_SEED`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from asa_live.errors import ConfigError
from asa_live.events.dtype import EVENT_DTYPE
from asa_live.events.ibm import LABEL_DTYPE
from asa_live.synth.domain import idle_motion
from asa_live.synth.kinematics import ArmTracks, draw_style, rest_pose, smooth_noise
from asa_live.synth.scene import (
    LIGHTING_TAGS,
    Scene,
    SceneParams,
    build_scene,
    draw_scene_params,
)
from asa_live.synth.swipes import SYNTH_CLASSES, synth_motion

TRAIN_SEEDS = range(0, 100_000)
TEST_SEEDS = range(100_000, 200_000)
DEMO_SEED = 900_000

__all__ = [
    "DEMO_SEED",
    "LIGHTING_TAGS",
    "TEST_SEEDS",
    "TRAIN_SEEDS",
    "SceneParams",
    "build_scene",
    "draw_scene_params",
    "generate_recording",
    "generate_sample",
    "recording_frame_count",
]


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


def _flicker_substeps(scene: Scene, frame_step_us: float) -> int:
    """Pixel-model steps per rendered frame that sample the mains flicker properly.

    Flicker at 100/120 Hz sampled once per 4 ms frame aliases into a slow beat; 8 samples
    per flicker period, with the scene interpolated linearly between frames, do not.
    Only randomised scenes do this (the clean generator keeps its exact old output).
    """
    light = scene.renderer.light
    flickers = light.flicker_depth > 0.0 or scene.renderer.flicker_map is not None
    if not scene.params.randomize or not flickers:
        return 1
    return max(1, int(np.ceil(frame_step_us * 1e-6 * light.flicker_hz * 8.0)))


def _sense(
    scene: Scene,
    tracks: ArmTracks | None,
    frame_t_us: np.ndarray,
    rng: np.random.Generator,
    end_us: int,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Render every frame, run the pixel model, add noise; events in ``[0, end_us)``.

    ``tracks`` None renders the room without a subject (negative scenes).
    """
    t_s = frame_t_us * 1e-6
    shake = _shake(rng, t_s, scene.params.shake_px) * scene.renderer.scale
    renderer, dvs = scene.renderer, scene.dvs
    if tracks is not None:
        tracks = scene.placement.tracks(tracks)
    n_sub = _flicker_substeps(scene, float(frame_t_us[1] - frame_t_us[0]))
    dvs.reset(renderer.intensity(tracks, 0, float(t_s[0]), shake[0]), float(frame_t_us[0]))
    parts = []
    prev = renderer.lit(tracks, 0, float(t_s[0]), shake[0]) if n_sub > 1 else None
    for k in range(1, frame_t_us.shape[0]):
        if n_sub == 1:
            frame = renderer.intensity(tracks, k, float(t_s[k]), shake[k])
            ev = [dvs.step(frame, float(frame_t_us[k]))]
        else:
            frame = renderer.lit(tracks, k, float(t_s[k]), shake[k])
            ev = []
            t0, t1 = float(frame_t_us[k - 1]), float(frame_t_us[k])
            for j in range(1, n_sub + 1):
                a = j / n_sub
                t_us = t0 + a * (t1 - t0)
                mix = (1.0 - a) * prev + a * frame
                gain = renderer.gain(t_us * 1e-6)
                ev.append(
                    dvs.step(
                        mix * (gain if isinstance(gain, np.ndarray) else np.float32(gain)), t_us
                    )
                )
            prev = frame
        parts.extend(e for e in ev if e.size)
        if progress is not None and k % 250 == 0:
            progress(250)
    if progress is not None:
        progress((frame_t_us.shape[0] - 1) % 250)
    parts.append(dvs.noise(0, end_us, rng))
    events = np.concatenate(parts) if parts else np.zeros(0, EVENT_DTYPE)
    events = events[events["t"] < end_us]
    return events[np.argsort(events["t"], kind="stable")]


def _check_class(class_id) -> int:
    """A class index into SYNTH_CLASSES (0..10 the gestures, 11..14 the swipes) or a name."""
    if isinstance(class_id, str) and class_id in SYNTH_CLASSES:
        return SYNTH_CLASSES.index(class_id)
    try:
        c = int(class_id)
    except (TypeError, ValueError):
        raise ConfigError(
            f"Unknown class {class_id!r}; give an index 0..{len(SYNTH_CLASSES) - 1} or one of "
            f"{', '.join(SYNTH_CLASSES)}."
        ) from None
    if not 0 <= c < len(SYNTH_CLASSES):
        raise ConfigError(
            f"class_id must be in 0..{len(SYNTH_CLASSES) - 1} (0..10 gestures, 11..14 swipes), "
            f"got {class_id}."
        )
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
    """One gesture of class ``class_id`` performed for ``duration_us``.

    ``class_id``: an index into :data:`SYNTH_CLASSES` (0..10 the DVS128 Gesture classes,
    11..14 the swipes) or a class name.

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
    tracks = synth_motion(class_id, scene.body, t_s, rng, style)
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
    structured array with fields ``class_id`` (index into SYNTH_CLASSES), ``start_us``, ``end_us`` - the dtype
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
    if scene.params.idle_motion_px > 0.0:
        # A randomised subject shifts, steps and fidgets between gestures (own stream).
        tracks = idle_motion(scene.body, t_s, scene.rng, scene.params.idle_motion_px)
    else:
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
        motion = synth_motion(int(c), scene.body, local, rng, style)
        span = (stop - start) * 1e-6
        ease = np.clip(np.minimum(local, span - local) / ramp_s, 0.0, 1.0)
        weight = 0.5 - 0.5 * np.cos(np.pi * ease)  # smooth start and stop
        _set_rows(tracks, idx, _take_rows(tracks, idx).blend(motion, weight))
    events = _sense(scene, tracks, frame_t_us, rng, end_us, progress)
    return events, labels


def recording_frame_count(end_us: int, fps: float = 250.0) -> int:
    """Frames rendered for a recording of ``end_us`` (for progress bars)."""
    return int(np.ceil(end_us / int(round(1e6 / fps))))
