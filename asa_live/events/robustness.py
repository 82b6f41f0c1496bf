"""Robustness conditions: fixed, one-factor transforms of a labelled sample, for evaluation.

``ROBUSTNESS_CONDITIONS`` maps a name to a :class:`RobustnessCondition`, in this order:

| name | what changes |
|---|---|
| clean | nothing |
| noise_0.5hz, noise_2hz | + background activity, every pixel at 0.5 / 2 Hz (polarity 50/50) |
| hot_20x100hz, hot_20x1khz | + 20 random pixels firing at 100 Hz / 1 kHz, one polarity each |
| shift_x+15, shift_x-15 | the scene moves 15 px right (+x) / left; events that leave are dropped |
| shift_y+15, shift_y-15 | the scene moves 15 px down (+y, rows) / up |
| scale_0.7, scale_1.3 | zoom about the sensor centre (farther from / nearer to the camera) |
| stretch_0.67, stretch_1.5 | time x 0.67 (faster gesture) / x 1.5 (slower); label spans too |
| polarity_inverted | ON <-> OFF |

and ``background_condition(path)`` makes the condition "background": a random time crop of a
real recording (AEDAT4, or .aedat / .npy) mixed in, mapped onto the sensor with
SensorAdapter's crop_scale rule. ``robustness_conditions(background=path)`` returns all of them.

Use::

    for name, condition in ROBUSTNESS_CONDITIONS.items():
        events2, labels2 = condition(events, labels, np.random.default_rng(seed))

``labels`` is a class id, a LABEL_DTYPE array or None and comes back transformed (only the
stretches change it). ``sensor_size`` (keyword, default 128x128, the model's input) is the
sensor of ``events``. The factor of a condition is fixed; ``rng`` only draws the added events
(noise, hot pixel positions, background crop) and the sub-pixel positions of a scale, so a
fixed seed per sample makes an evaluation exactly repeatable. The output is a new time-sorted
EVENT_DTYPE array inside the sensor. The training default (AugmentConfig()) covers every
factor here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from asa_live.events.augment import AugmentConfig, Augmenter, AugmentParams, Labels
from asa_live.events.background import BackgroundPool

__all__ = [
    "ROBUSTNESS_CONDITIONS",
    "RobustnessCondition",
    "background_condition",
    "robustness_conditions",
]


@dataclass(frozen=True)
class RobustnessCondition:
    """One deterministic factor: ``condition(events, labels, rng, sensor_size=(128, 128))``."""

    name: str
    params: AugmentParams
    description: str
    background: BackgroundPool | None = field(default=None, compare=False, repr=False)

    def __call__(
        self,
        events: np.ndarray,
        labels: Labels,
        rng: np.random.Generator | int,
        sensor_size: tuple[int, int] = (128, 128),
    ) -> tuple[np.ndarray, Labels]:
        augmenter = Augmenter(AugmentConfig.off(), sensor_size, background=self.background)
        return augmenter.apply(events, labels, self.params, rng)


def _conditions() -> list[RobustnessCondition]:
    P, C = AugmentParams, RobustnessCondition
    out = [C("clean", P(), "no change")]
    for hz in (0.5, 2.0):
        out.append(C(f"noise_{hz:g}hz", P(noise_hz_per_px=hz), f"background activity {hz:g} Hz/px"))
    for hz, tag in ((100.0, "100hz"), (1000.0, "1khz")):
        out.append(
            C(f"hot_20x{tag}", P(hot_pixels=20, hot_pixel_hz=hz), f"20 hot pixels at {hz:g} Hz")
        )
    for axis, shifts in (("x", ((15, 0), (-15, 0))), ("y", ((0, 15), (0, -15)))):
        for shift in shifts:
            d = shift[0] if axis == "x" else shift[1]
            out.append(C(f"shift_{axis}{d:+d}", P(shift_px=shift), f"shift {d:+d} px in {axis}"))
    for s in (0.7, 1.3):
        out.append(C(f"scale_{s:g}", P(scale=s), f"scale x{s:g} about the sensor centre"))
    for f in (0.67, 1.5):
        out.append(C(f"stretch_{f:g}", P(time_stretch=f), f"time x{f:g} (events and labels)"))
    out.append(C("polarity_inverted", P(invert_polarity=True), "ON <-> OFF"))
    return out


#: name -> condition, in the order of the table above (read-only).
ROBUSTNESS_CONDITIONS: MappingProxyType[str, RobustnessCondition] = MappingProxyType(
    {c.name: c for c in _conditions()}
)


def background_condition(path: str | os.PathLike) -> RobustnessCondition:
    """The "background" condition: a random crop of the recording at ``path`` mixed in.

    The file is opened now: a missing or unreadable one raises InputFileError here."""
    pool = BackgroundPool([path])
    return RobustnessCondition(
        "background",
        AugmentParams(background=True),
        f"real background from {os.fspath(path)}",
        background=pool,
    )


def robustness_conditions(
    background: str | os.PathLike | None = None,
) -> dict[str, RobustnessCondition]:
    """A fresh ordered dict of every condition, plus "background" when a path is given."""
    out = dict(ROBUSTNESS_CONDITIONS)
    if background is not None:
        out["background"] = background_condition(background)
    return out
