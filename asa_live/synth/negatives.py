"""Negative ("no gesture") streams: scenes a gesture model must not fire on.

``generate_negative(kind, seed, duration_us)`` renders one of :data:`NEGATIVE_KINDS`:

* a person who is there but not gesturing: ``idle_sway`` (standing, balance and
  breathing), ``idle_fidget`` (shifting, stepping, hands to face and belly), ``walk_in_out``
  (walks into view, stops, walks out);
* scenes with no subject: ``passing_person`` (someone walking past behind), ``passing_objects``
  (a ball, a swinging pendulum), ``vehicle`` (cars crossing), ``plants`` (leaves in the wind),
  ``fan`` (rotating blades), ``flicker_lamp`` (a lamp with strong 100/120 Hz flicker),
  ``camera_shake`` (a cluttered room, the camera shaking by 1-3 px);
* ``sensor_noise``: background activity and hot pixels only.

Scenes are randomised (``randomize=1``) unless an override says otherwise; any
:class:`~asa_live.synth.scene.SceneParams` field can be pinned through ``**overrides``.
Training labels these windows "no gesture" (:data:`asa_live.classes.NO_GESTURE`).
"""

from __future__ import annotations

import numpy as np

from asa_live.errors import ConfigError
from asa_live.synth.distractors import make_distractor
from asa_live.synth.domain import idle_motion, walk_in_out
from asa_live.synth.recording import _check_duration, _frame_times_us, _sense
from asa_live.synth.scene import build_scene

NEGATIVE_KINDS: tuple[str, ...] = (
    "idle_sway",
    "idle_fidget",
    "walk_in_out",
    "passing_person",
    "passing_objects",
    "vehicle",
    "plants",
    "fan",
    "flicker_lamp",
    "camera_shake",
    "sensor_noise",
)

# Kinds with a subject in view; the others show the room only.
_WITH_SUBJECT = ("idle_sway", "idle_fidget", "walk_in_out")
# Distractors of each subject-less kind: (kinds to pick from, how many at most).
_THINGS: dict[str, tuple[tuple[str, ...], int]] = {
    "passing_person": (("person",), 2),
    "passing_objects": (("ball", "pendulum"), 3),
    "vehicle": (("car",), 2),
    "plants": (("plant",), 3),
    "fan": (("fan",), 1),
    "flicker_lamp": (("lamp",), 1),
}


def _scene_overrides(kind: str, rng: np.random.Generator) -> dict:
    """What makes a kind: the scene options it needs (the user's overrides win)."""
    out: dict = {"randomize": 1, "distractors": 0}
    if kind == "flicker_lamp":
        out["flicker_depth"] = rng.uniform(0.03, 0.1)
        out["lighting"] = "fluorescent"
    elif kind == "camera_shake":
        out["clutter"] = rng.uniform(15.0, 40.0)
        out["shake_px"] = rng.uniform(1.0, 3.0)
    elif kind == "sensor_noise":
        out["shake_px"] = 0.0
        out["flicker_depth"] = 0.0
    return out


def generate_negative(
    kind: str,
    seed: int,
    duration_us: int = 1_500_000,
    sensor_size: tuple[int, int] = (128, 128),
    **overrides,
) -> np.ndarray:
    """A "no gesture" stream of ``kind`` (one of :data:`NEGATIVE_KINDS`).

    Returns an EVENT_DTYPE array sorted by ``t`` (``0 <= t < duration_us``); the same
    arguments give the same bytes. ``overrides`` pin :class:`SceneParams` fields.
    """
    if kind not in NEGATIVE_KINDS:
        raise ConfigError(
            f"Unknown negative kind '{kind}'; expected one of {', '.join(NEGATIVE_KINDS)}."
        )
    duration_us = _check_duration("duration_us", duration_us)
    rng = np.random.default_rng([int(seed), 8_000 + NEGATIVE_KINDS.index(kind)])
    options = {**_scene_overrides(kind, rng), **overrides}
    scene = build_scene(rng, sensor_size, **options)
    if kind == "sensor_noise":
        return scene.dvs.noise(0, duration_us, rng)
    frame_t_us = _frame_times_us(duration_us, scene.params.fps)
    t_s = frame_t_us * 1e-6
    tracks = None
    if kind in ("idle_sway", "idle_fidget"):
        amount = rng.uniform(0.3, 1.5) if kind == "idle_sway" else rng.uniform(3.0, 10.0)
        tracks = idle_motion(scene.body, t_s, scene.rng, amount)
    elif kind == "walk_in_out":
        tracks = walk_in_out(scene.body, t_s, scene.rng, float(rng.choice([-1.0, 1.0])))
    if kind in _THINGS:
        _add_things(scene, kind, rng)
    return _sense(scene, tracks, frame_t_us, rng, duration_us)


def _add_things(scene, kind: str, rng: np.random.Generator) -> None:
    """Put the kind's moving things into the room (and a lamp's own strong flicker)."""
    renderer = scene.renderer
    pool, most = _THINGS[kind]
    pad = renderer.pad
    wall = float(np.median(renderer.background[pad:-pad, pad:-pad]))
    n = int(rng.integers(1, most + 1))
    renderer.distractors = tuple(
        make_distractor(pool[int(rng.integers(0, len(pool)))], scene.rng, wall) for _ in range(n)
    )
    if kind == "flicker_lamp":
        # The lamp itself flickers far more than the light it throws on the room (20-60 %).
        cover = np.zeros((renderer.height, renderer.width), np.float32)
        for lamp in renderer.distractors:
            lamp.draw(renderer, cover, 0.0)
        renderer.flicker_map = (cover / np.float32(0.95)) * np.float32(rng.uniform(0.2, 0.6))
