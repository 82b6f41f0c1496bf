"""Event-level augmentation for training: seeded, composable, vectorised numpy.

One sample's events (EVENT_DTYPE, time-sorted, inside ``sensor_size`` = (W, H)) go through, in
this order (each step with its own probability; see :class:`AugmentConfig`):

    time stretch   t' = t0 + rint((t - t0) * f)          t0: first event or label time; labels too
    mirror         x' = W - 1 - x                          classes through mirror_class_map
    scale          x' = floor((x + u - W/2) * s + W/2)    u ~ U[0, 1) per event; y the same
    translate      x' = x + dx,  y' = y + dy
    polarity       p' = 1 - p
    noise          + every pixel firing at R Hz (background activity)
    hot pixels     + N pixels firing at F Hz each
    background     + a random time crop of a real recording (BackgroundPool)

Why this order: time first, so the added noise keeps its rate per real second; geometry
before the additive steps, because noise and hot pixels belong to the sensor, not the scene.
The per-event steps are asa_live.events.transforms (one fused pass), the added events
asa_live.events.background. Events that leave the sensor are dropped; the output is a new
time-sorted EVENT_DTYPE array.

``Augmenter(config, sensor_size)(events, labels, rng) -> (events, labels)``; ``labels`` is a
class id (int), a LABEL_DTYPE span array (class_id, start_us, end_us; time stretch stretches
the spans) or None. ``draw(rng)`` and ``apply(...)`` split the random choice from the work, so
a fixed :class:`AugmentParams` is a deterministic condition (asa_live.events.robustness).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from asa_live.classes import GESTURE_CLASSES
from asa_live.errors import ConfigError
from asa_live.events.background import (
    BackgroundPool,
    background_activity,
    hot_pixels,
    merge_sorted,
)
from asa_live.events.dtype import EVENT_DTYPE
from asa_live.events.ibm import LABEL_DTYPE
from asa_live.events.transforms import RECORD, stretch_times, transform

__all__ = [
    "AugmentConfig",
    "AugmentParams",
    "Augmenter",
    "mirror_class_map",
]

Labels = int | np.ndarray | None


def mirror_class_map(class_names: Sequence[str]) -> list[int]:
    """``m[i]``: the class that class ``i`` becomes in a left-right mirrored recording.

    A mirror (x -> W - 1 - x) moves the subject's right arm to where the left arm is, and turns
    every rotation in the image plane the other way. So a name's ``left`` and ``right`` swap and
    so do ``clockwise`` and ``counter_clockwise`` (also ``counterclockwise``, ``anticlockwise``,
    ``cw``, ``ccw``): right_arm_clockwise <-> left_arm_counter_clockwise, right_arm_counter_
    clockwise <-> left_arm_clockwise, right_hand_wave <-> left_hand_wave, swipe_left <->
    swipe_right. The map does not depend on whether "clockwise" is meant as the camera or the
    subject sees it: both senses flip together. Classes whose name has neither (clapping, arm
    roll, drums, guitar, other, swipe_up) map to themselves. A class whose mirror image is not
    in the list maps to -1 (a sample of it must not be mirrored). Tokens are split at ``_``,
    ``-``, spaces and camelCase, case-insensitively.
    """
    keys = [_mirror_key(name) for name in class_names]
    index: dict[tuple[str, ...], int] = {}
    for i, key in enumerate(keys):
        if key in index:
            raise ValueError(f"mirror_class_map: '{class_names[i]}' occurs twice in the classes")
        index[key] = i
    swap = {"left": "right", "right": "left", "cw": "ccw", "ccw": "cw"}
    return [index.get(tuple(swap.get(tok, tok) for tok in key), -1) for key in keys]


def _mirror_key(name: str) -> tuple[str, ...]:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    tokens = [t for t in re.split(r"[\s_\-]+", words.lower()) if t]
    out: list[str] = []
    for tok in tokens:
        if tok == "clockwise" and out and out[-1] in ("counter", "anti"):
            out[-1] = "ccw"
        elif tok in ("counterclockwise", "anticlockwise", "ccw"):
            out.append("ccw")
        else:
            out.append("cw" if tok == "clockwise" else tok)
    return tuple(out)


# --- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of the training augmentation (frozen; validated).

    Scale, time stretch and hot-pixel rate are drawn log-uniformly (a factor f and 1/f are
    equally likely where both are in range), shifts and hot-pixel counts as uniform integers,
    noise uniformly. The default covers every
    robustness condition (asa_live.events.robustness) with margin or at its ends: shifts of
    +-15 px inside +-25, scales 0.7 / 1.3 inside 0.6-1.4, stretch 0.67 / 1.5 the ends of
    0.67-1.5, noise 0.5 / 2 Hz/px inside 0-3, hot pixels 20 at 100 Hz / 1 kHz inside 0-50 at
    1 Hz-2 kHz. Geometry and time fire with p = 0.8, so a fifth of the samples keep each clean
    factor. Mirroring is an exact symmetry of the labels (through mirror_class_map), hence
    p = 0.5. Polarity inversion p = 0.5: the sign of an edge's contrast is the subject's
    clothing against the wall (a dark sleeve on a light wall, or the reverse), not the gesture,
    so the label is invariant and both signs deserve equal weight. The price is that a single
    frame no longer tells the direction of motion from which edge is ON; the network must take
    it from the order of windows. Lower ``p_invert_polarity`` if clean accuracy matters more.
    ``p_background`` applies only when the Augmenter has a BackgroundPool.
    """

    p_mirror: float = 0.5
    p_scale: float = 0.8
    scale: tuple[float, float] = (0.6, 1.4)
    p_translate: float = 0.8
    shift_x_px: tuple[int, int] = (-25, 25)
    shift_y_px: tuple[int, int] = (-25, 25)
    p_time_stretch: float = 0.8
    time_stretch: tuple[float, float] = (0.67, 1.5)
    p_invert_polarity: float = 0.5
    p_noise: float = 0.8
    noise_hz_per_px: tuple[float, float] = (0.0, 3.0)
    p_hot_pixels: float = 0.5
    hot_pixels: tuple[int, int] = (0, 50)
    hot_pixel_hz: tuple[float, float] = (1.0, 2000.0)
    p_background: float = 0.5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            values = value if isinstance(value, tuple) else (value,)
            if not all(isinstance(v, int | float) and np.isfinite(v) for v in values):
                raise ConfigError(f"Augmentation '{f.name}' must be finite numbers, got {value}.")
            if f.name.startswith("p_") and not 0.0 <= value <= 1.0:
                raise ConfigError(f"Augmentation '{f.name}' must be in [0, 1], got {value}.")
            if isinstance(value, tuple) and (len(value) != 2 or value[0] > value[1]):
                raise ConfigError(
                    f"Augmentation '{f.name}' must be a range (low, high), got {value}."
                )
        for name in ("scale", "time_stretch", "hot_pixel_hz"):
            if getattr(self, name)[0] <= 0:
                raise ConfigError(
                    f"Augmentation '{name}' must be positive, got {getattr(self, name)}."
                )
        if self.noise_hz_per_px[0] < 0 or self.hot_pixels[0] < 0:
            raise ConfigError("Augmentation noise rates and hot-pixel counts must be >= 0.")
        for name in ("shift_x_px", "shift_y_px", "hot_pixels"):
            if not all(float(v).is_integer() for v in getattr(self, name)):
                raise ConfigError(f"Augmentation '{name}' must be whole numbers.")

    @classmethod
    def off(cls) -> AugmentConfig:
        """Every probability zero: the identity."""
        return cls(**{f.name: 0.0 for f in fields(cls) if f.name.startswith("p_")})


@dataclass(frozen=True)
class AugmentParams:
    """One concrete choice of every factor (the identity by default)."""

    time_stretch: float = 1.0
    mirror: bool = False
    scale: float = 1.0
    shift_px: tuple[int, int] = (0, 0)
    invert_polarity: bool = False
    noise_hz_per_px: float = 0.0
    hot_pixels: int = 0
    hot_pixel_hz: float = 0.0
    background: bool = False


class Augmenter:
    """``Augmenter(config, sensor_size)(events, labels, rng) -> (events, labels)``.

    ``class_names`` give the mirror map (default: the 11 DVS128 Gesture classes); a sample
    with a class that has no mirror partner is never mirrored, and class ids < 0 (no gesture)
    are kept. ``background``: a BackgroundPool to mix in with ``config.p_background``.
    ``rng`` is a numpy Generator (or an int seed): the same seed gives the same output.
    """

    def __init__(
        self,
        config: AugmentConfig | None = None,
        sensor_size: tuple[int, int] = (128, 128),
        class_names: Sequence[str] = GESTURE_CLASSES,
        background: BackgroundPool | None = None,
    ) -> None:
        self.config = AugmentConfig() if config is None else config
        self.sensor_size = (int(sensor_size[0]), int(sensor_size[1]))
        self.class_map = np.asarray(mirror_class_map(class_names), dtype=np.int64)
        self.background = background

    def __call__(
        self, events: np.ndarray, labels: Labels, rng: np.random.Generator | int
    ) -> tuple[np.ndarray, Labels]:
        rng = np.random.default_rng(rng)
        return self.apply(events, labels, self.draw(rng), rng)

    def draw(self, rng: np.random.Generator) -> AugmentParams:
        """Draw every factor from the config (a factor with p = 0 consumes no draws)."""
        c = self.config

        def happens(p: float) -> bool:
            return p > 0 and bool(rng.random() < p)

        def log_uniform(lo: float, hi: float) -> float:
            return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))

        kw: dict = {}
        if happens(c.p_time_stretch):
            kw["time_stretch"] = log_uniform(*c.time_stretch)
        kw["mirror"] = happens(c.p_mirror)
        if happens(c.p_scale):
            kw["scale"] = log_uniform(*c.scale)
        if happens(c.p_translate):
            kw["shift_px"] = tuple(
                int(rng.integers(int(lo), int(hi) + 1)) for lo, hi in (c.shift_x_px, c.shift_y_px)
            )
        kw["invert_polarity"] = happens(c.p_invert_polarity)
        if happens(c.p_noise):
            kw["noise_hz_per_px"] = float(rng.uniform(*c.noise_hz_per_px))
        if happens(c.p_hot_pixels):
            kw["hot_pixels"] = int(rng.integers(int(c.hot_pixels[0]), int(c.hot_pixels[1]) + 1))
            kw["hot_pixel_hz"] = log_uniform(*c.hot_pixel_hz)
        kw["background"] = self.background is not None and happens(c.p_background)
        return AugmentParams(**kw)

    def apply(
        self,
        events: np.ndarray,
        labels: Labels,
        params: AugmentParams,
        rng: np.random.Generator | int,
    ) -> tuple[np.ndarray, Labels]:
        """Apply one fixed choice of factors (``rng`` only draws the added events and the
        sub-pixel positions of a scale)."""
        rng = np.random.default_rng(rng)
        given = events, labels
        events = self._checked(events)
        labels = _checked_labels(labels)
        span = _span(events, labels)
        stretch = params.time_stretch if span is not None else 1.0
        if stretch != 1.0:
            labels = _stretch_labels(labels, stretch, span[0])
            span = (
                span[0],
                max(int(stretch_times(np.int64(span[1]), stretch, span[0])), span[0] + 1),
            )
        mirror = params.mirror and self._has_mirror(labels)
        if mirror:
            labels = self._mirror_labels(labels)
        events = transform(
            events,
            self.sensor_size,
            time_stretch=stretch,
            anchor_us=span[0] if span is not None else 0,
            mirror=mirror,
            scale=params.scale,
            shift_px=params.shift_px,
            invert_polarity=params.invert_polarity,
            rng=rng,
        )
        if span is not None:
            events = merge_sorted(events, self._added(params, span, rng))
        # never hand back the caller's labels: the output may be modified freely
        if isinstance(labels, np.ndarray) and labels is given[1]:
            labels = labels.copy()
        return events, labels

    def _added(
        self, params: AugmentParams, span: tuple[int, int], rng: np.random.Generator
    ) -> np.ndarray:
        extra = background_activity(params.noise_hz_per_px, *span, self.sensor_size, rng)
        if params.hot_pixels > 0:
            hot = hot_pixels(params.hot_pixels, params.hot_pixel_hz, *span, self.sensor_size, rng)
            extra = merge_sorted(extra, hot)
        if params.background and self.background is not None:
            extra = merge_sorted(extra, self.background.crop(*span, self.sensor_size, rng))
        return extra

    def _checked(self, events: np.ndarray) -> np.ndarray:
        if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE or events.ndim != 1:
            raise ValueError("Augmenter: events must be a 1-D EVENT_DTYPE array")
        if len(events) == 0:
            return events
        width, height = self.sensor_size
        if events["x"].max() >= width or events["y"].max() >= height or events["p"].max() > 1:
            raise ValueError(
                f"Augmenter: events lie outside the {width}x{height} sensor or have p > 1"
            )
        t = events["t"]
        if np.any(t[1:] < t[:-1]):
            events = events.view(RECORD)[np.argsort(t, kind="stable")].view(EVENT_DTYPE)
        return events

    def _has_mirror(self, labels: Labels) -> bool:
        if labels is None:
            return True
        ids = np.atleast_1d(labels["class_id"] if isinstance(labels, np.ndarray) else labels)
        if len(ids) == 0:
            return True
        if ids.max() >= len(self.class_map):
            raise ValueError(f"Augmenter: class id {ids.max()} is not one of the classes")
        return bool(np.all(self.class_map[ids[ids >= 0]] >= 0))

    def _mirror_labels(self, labels: Labels) -> Labels:
        if labels is None:
            return None
        if isinstance(labels, np.ndarray):
            out = labels.copy()
            ids = labels["class_id"]
            out["class_id"] = np.where(ids >= 0, self.class_map[np.maximum(ids, 0)], ids)
            return out
        return labels if labels < 0 else int(self.class_map[labels])


def _checked_labels(labels: Labels) -> Labels:
    if labels is None:
        return None
    if isinstance(labels, np.ndarray) and labels.dtype == LABEL_DTYPE and labels.ndim == 1:
        return labels
    if isinstance(labels, int | np.integer) and not isinstance(labels, bool):
        return int(labels)
    raise ValueError("Augmenter: labels must be a class id, a LABEL_DTYPE array or None")


def _span(events: np.ndarray, labels: Labels) -> tuple[int, int] | None:
    """``[first, last + 1)`` of the events and label spans together (None if both empty)."""
    ends: list[int] = []
    starts: list[int] = []
    if len(events):
        starts.append(int(events["t"][0]))
        ends.append(int(events["t"][-1]) + 1)
    if isinstance(labels, np.ndarray) and len(labels):
        starts.append(int(labels["start_us"].min()))
        ends.append(int(labels["end_us"].max()))
    return (min(starts), max(ends)) if starts else None


def _stretch_labels(labels: Labels, factor: float, anchor_us: int) -> Labels:
    if not isinstance(labels, np.ndarray):
        return labels
    out = labels.copy()
    out["start_us"] = stretch_times(labels["start_us"], factor, anchor_us)
    out["end_us"] = np.maximum(
        stretch_times(labels["end_us"], factor, anchor_us), out["start_us"] + 1
    )
    return out
