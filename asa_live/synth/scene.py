"""The scene of a synthetic recording: its parameters, subject, room, light and sensor.

:class:`SceneParams` holds every scene-level number; :func:`build_scene` draws them from one
seed and builds the renderer and the pixel array. ``randomize`` picks how wide the draws are:

* ``0`` - the clean generator (one subject, centred, plain clothes, a static room, quiet
  sensor): what the demo recording and the first models were made with;
* ``1`` - domain randomisation (docs/synthetic.md): subject position +-25 px and distance
  x0.6-1.4, camera height and tilt, body proportions, printed and folded clothes, thick
  ragged outlines, up to 50 hot pixels at 1 Hz-2 kHz, background activity 0.05-3 Hz/px,
  threshold mismatch up to 8 %, mains flicker sampled between frames, moving distractors
  behind the subject, and a subject who moves between gestures.

The randomised fields are drawn from a stream of their own (the seed's generator jumped
ahead), so ``randomize=1`` keeps the clean scene of the same seed underneath, and any field
pinned by an override leaves the others as they were: a benchmark can vary one factor at a
time (``randomize=0, distractors=2``, or ``randomize=1, hot_pixels=0``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from asa_live.errors import ConfigError
from asa_live.synth.body import Body, draw_body
from asa_live.synth.distractors import DISTRACTOR_KINDS, make_distractor
from asa_live.synth.domain import Placement, vary_proportions
from asa_live.synth.dvs import DvsParams, DvsPixelArray
from asa_live.synth.kinematics import smooth_noise
from asa_live.synth.render import Appearance, Lighting, Renderer, make_background

#: IBM's lighting tags (facts file): each picks a distribution of illumination and flicker.
LIGHTING_TAGS: tuple[str, ...] = ("fluorescent", "fluorescent_led", "led", "lab", "natural")


@dataclass(frozen=True)
class SceneParams:
    """Everything about one synthetic session except the gestures' own motion.

    Any field can be fixed through ``**overrides`` of :func:`generate_sample` /
    :func:`generate_recording`; the rest is drawn from the seed. The fields after
    ``randomize`` are the randomisation factors (docs/synthetic.md has their ranges): their
    defaults are the clean scene, :func:`draw_domain` draws them when ``randomize`` is 1.
    Lengths are in reference pixels of the 128x128 frame; ``distance`` is a scale factor.
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
    # Domain randomisation (clean values by default; drawn when randomize >= 1).
    randomize: int = 0
    subject_x_px: float = 0.0
    subject_y_px: float = 0.0
    distance: float = 1.0
    tilt: float = 0.0
    proportions: float = 0.0
    print_contrast: float = 0.0
    fold_depth: float = 0.0
    edge_px: float = 0.0
    ragged_px: float = 0.0
    hot_rate_max_hz: float = 60.0
    distractors: int = 0
    idle_motion_px: float = 0.0


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
    randomize = overrides.get("randomize", 0)
    if randomize not in (0, 1):
        raise ConfigError(
            f"randomize must be 0 (clean) or 1 (domain randomisation), got {randomize!r}."
        )
    if randomize:
        params = replace(params, **draw_domain(domain_rng(rng)))
    checked = {}
    for name, value in overrides.items():
        if name in ("lighting", "randomize"):
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
        checked[name] = int(number) if name in ("hot_pixels", "distractors") else number
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
    "subject_x_px": (-60.0, 60.0),
    "subject_y_px": (-40.0, 40.0),
    "distance": (0.3, 2.0),
    "tilt": (-0.5, 0.5),
    "proportions": (0.0, 0.3),
    "print_contrast": (0.0, 0.9),
    "fold_depth": (0.0, 0.6),
    "edge_px": (0.0, 6.0),
    "ragged_px": (0.0, 4.0),
    "hot_rate_max_hz": (1.0, 10_000.0),
    "distractors": (0, 6),
    "idle_motion_px": (0.0, 40.0),
}


def domain_rng(rng: np.random.Generator) -> np.random.Generator:
    """The randomisation stream of a scene: ``rng`` jumped ahead, ``rng`` itself untouched."""
    return np.random.Generator(rng.bit_generator.jumped())


def draw_domain(rng: np.random.Generator) -> dict:
    """The randomised fields of :class:`SceneParams` (issue 8: domain randomisation)."""
    return {
        "randomize": 1,
        "subject_x_px": rng.uniform(-25.0, 25.0),
        "subject_y_px": rng.uniform(-10.0, 10.0),  # camera height
        "distance": rng.uniform(0.6, 1.4),
        "tilt": rng.uniform(-0.25, 0.25),
        "proportions": rng.uniform(0.05, 0.15),
        "print_contrast": rng.uniform(0.0, 0.5) if rng.random() < 0.7 else 0.0,
        "fold_depth": rng.uniform(0.05, 0.3),
        "edge_px": rng.uniform(1.0, 3.0),
        "ragged_px": rng.uniform(0.3, 1.5),
        "hot_pixels": int(rng.integers(0, 51)),
        "hot_rate_max_hz": float(np.exp(rng.uniform(np.log(20.0), np.log(2000.0)))),
        "noise_rate_hz": float(np.exp(rng.uniform(np.log(0.05), np.log(3.0)))),
        "mismatch_sigma": rng.uniform(0.02, 0.08),
        "distractors": int(rng.choice([0, 0, 1, 1, 2])),
        "idle_motion_px": rng.uniform(2.0, 10.0),
    }


@dataclass
class Scene:
    """A drawn scene: parameters, body and the objects that render and sense it."""

    params: SceneParams
    body: Body
    renderer: Renderer
    dvs: DvsPixelArray
    sensor_size: tuple[int, int]
    placement: Placement = Placement()
    rng: np.random.Generator | None = None  # the randomisation stream (distractors, idling)


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
    drng = domain_rng(rng)
    params = draw_scene_params(rng, **overrides)
    # Jumped twice: a stream apart from draw_domain's (which jumps from a later state).
    drng = np.random.Generator(drng.bit_generator.jumped())
    body = draw_body(rng)
    if params.proportions > 0.0:
        body = vary_proportions(body, drng, params.proportions)
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
    appearance = _dress(appearance, params, drng)
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
    placement = Placement(params.distance, params.subject_x_px, params.subject_y_px, params.tilt)
    things = tuple(
        make_distractor(DISTRACTOR_KINDS[int(drng.integers(0, 4))], drng, wall)
        for _ in range(params.distractors)
    )  # person, car, pendulum or ball behind the subject
    renderer = Renderer(
        (width, height),
        placement.body(body),
        appearance,
        lighting,
        background,
        background_pad,
        ragged=_ragged_field(drng, width, height, params.ragged_px),
        distractors=things,
    )
    spread_hot = bool(params.randomize) or params.hot_rate_max_hz != SceneParams.hot_rate_max_hz
    dvs_params = DvsParams(
        threshold_on=params.threshold_on,
        threshold_off=params.threshold_off,
        mismatch_sigma=params.mismatch_sigma,
        refractory_us=params.refractory_us,
        noise_rate_hz=params.noise_rate_hz,
        hot_pixels=params.hot_pixels,
        # Clean scenes keep their 5-60 Hz hot pixels unless the maximum rate is overridden.
        hot_rate_hz=(1.0, params.hot_rate_max_hz) if spread_hot else (5.0, 60.0),
        hot_rate_log_uniform=spread_hot,
    )
    try:
        dvs = DvsPixelArray(width, height, dvs_params, rng)
    except ValueError as err:
        raise ConfigError(f"Bad DVS parameter override: {err}.") from None
    return Scene(
        params=params,
        body=body,
        renderer=renderer,
        dvs=dvs,
        sensor_size=(width, height),
        placement=placement,
        rng=drng,
    )


def _dress(look: Appearance, params: SceneParams, rng: np.random.Generator) -> Appearance:
    """Prints, folds and thick edges of a randomised scene (no change when all are 0)."""
    return replace(
        look,
        edge_px=params.edge_px if params.edge_px > 0.0 else look.edge_px,
        print_contrast=params.print_contrast,
        print_period=rng.uniform(4.0, 14.0),
        print_angle=rng.uniform(0.0, np.pi),
        print_checks=bool(rng.random() < 0.4),
        fold_depth=params.fold_depth,
        fold_period=rng.uniform(8.0, 20.0),
    )


def _ragged_field(
    rng: np.random.Generator, width: int, height: int, amount_px: float
) -> np.ndarray | None:
    """A smooth random field ``[H, W]`` of about +-``amount_px``: uneven shape outlines."""
    if amount_px <= 0.0:
        return None
    xs = np.arange(width, dtype=np.float64)
    ys = np.arange(height, dtype=np.float64)
    scale = min(width, height) / 128.0
    fx = smooth_noise(rng, xs / scale, 5, 0.08, 0.5)
    fy = smooth_noise(rng, ys / scale, 5, 0.08, 0.5)
    grain = rng.standard_normal((height, width)) * 0.3
    return (amount_px * (fy[:, None] + fx[None, :] + grain)).astype(np.float32)


def _contrasting(rng: np.random.Generator, wall: float, lo: float, hi: float) -> float:
    """A reflectance in [lo, hi] at least ~0.8 log units away from ``wall``."""
    for _ in range(20):
        value = rng.uniform(lo, hi)
        if abs(np.log(value / wall)) > 0.8:
            return value
    return hi if wall < 0.5 * (lo + hi) else lo
