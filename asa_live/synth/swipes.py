"""Hand swipes (``SWIPE_CLASSES``) and the motion table of every synthetic class.

Swipes are named from the subject's point of view. The subject faces the camera and the
view is not mirrored, so a ``swipe_left`` (towards the subject's left) moves the hand towards
the image's RIGHT edge (+x), ``swipe_right`` towards -x; ``swipe_up`` moves up (-y, rows
count down), ``swipe_down`` down (+y).

A swipe cycle: the hand rises from the hip to the start point (``RAISE_S``), strokes across
(``STROKE_S`` / speed, eased), drops back to the hip and rests. The first stroke always
starts at ``RAISE_S``, so its direction can be checked in the events.
"""

from __future__ import annotations

import numpy as np

from asa_live.classes import GESTURE_CLASSES, NUM_GESTURE_CLASSES, SWIPE_CLASSES
from asa_live.synth.kinematics import (
    LEFT_ARM_SIDE,
    RIGHT_ARM_SIDE,
    ArmTracks,
    Body,
    MotionStyle,
    _assemble,
    _idle_arm,
    _rest_hand,
    _sway,
    gesture_motion,
)

#: Every class the generator can perform: the 11 DVS128 Gesture classes, then the swipes.
SYNTH_CLASSES: tuple[str, ...] = GESTURE_CLASSES + SWIPE_CLASSES

RAISE_S = 0.25
STROKE_S = 0.3
DROP_S = 0.25
REST_S = (0.3, 0.7)


def _ease(u: np.ndarray) -> np.ndarray:
    u = np.clip(u, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * u)


def swipe_motion(
    name: str, body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle
) -> ArmTracks:
    """Tracks of swipe ``name`` (one of :data:`SWIPE_CLASSES`) at times ``t_s`` (s)."""
    speed = float(np.clip(style.speed, 0.8, 1.25))
    reach = 26.0 * body.scale * float(np.clip(style.amplitude, 0.85, 1.15))
    # The hand doing the swipe: the one that starts on the far side (right hand for +x).
    side = {"swipe_left": RIGHT_ARM_SIDE, "swipe_right": LEFT_ARM_SIDE}.get(name, RIGHT_ARM_SIDE)
    cx, cy = body.cx + rng.uniform(-3.0, 3.0), body.chest_y - rng.uniform(0.0, 8.0) * body.scale
    if name == "swipe_left":
        start, end = np.array([cx - reach, cy]), np.array([cx + reach, cy])
    elif name == "swipe_right":
        start, end = np.array([cx + reach, cy]), np.array([cx - reach, cy])
    elif name == "swipe_up":
        x = cx - 10.0 * body.scale
        start, end = np.array([x, cy + 0.8 * reach]), np.array([x, cy - 1.2 * reach])
    elif name == "swipe_down":
        x = cx - 10.0 * body.scale
        start, end = np.array([x, cy - 1.2 * reach]), np.array([x, cy + 0.8 * reach])
    else:
        raise ValueError(f"unknown swipe {name!r}; expected one of {SWIPE_CLASSES}")
    rest = _rest_hand(body, side, 1)[0]
    stroke = STROKE_S / speed
    period = RAISE_S + stroke + DROP_S + rng.uniform(*REST_S)
    u = np.mod(t_s - t_s[0], period)
    a = _ease(u / RAISE_S)[:, None]
    b = _ease((u - RAISE_S) / stroke)[:, None]
    c = _ease((u - RAISE_S - stroke) / DROP_S)[:, None]
    hand = rest + a * (start - rest) + b * (end - start) + c * (rest - end)
    other = _idle_arm(body, -side, t_s, rng)
    offset = _sway(rng, t_s, 1.0)
    if side == RIGHT_ARM_SIDE:
        return _assemble(body, t_s, offset, hand, other)
    return _assemble(body, t_s, offset, other, hand)


def synth_motion(
    class_id: int, body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle
) -> ArmTracks:
    """Tracks of class ``class_id``, an index into :data:`SYNTH_CLASSES`."""
    if class_id < NUM_GESTURE_CLASSES:
        return gesture_motion(class_id, body, t_s, rng, style)
    return swipe_motion(SYNTH_CLASSES[class_id], body, t_s, rng, style)
