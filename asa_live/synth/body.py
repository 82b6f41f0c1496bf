"""The subject's body geometry and its joint tracks over time (reference px, y down).

Coordinates are pixels of a 128x128 reference frame, x to the right, y DOWN (row index),
origin at the top left. The subject faces the camera and the view is not mirrored, so the
subject's RIGHT arm is on the image's LEFT.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Body:
    """Static body geometry in reference pixels (128x128 frame, y down).

    ``cx``: body centre column; ``head_cy``: head centre row; ``scale``: overall size
    factor; lengths and radii already include ``scale``.
    """

    cx: float
    head_cy: float
    scale: float
    head_rx: float
    head_ry: float
    shoulder_y: float
    shoulder_half_width: float
    upper_arm_len: float
    forearm_len: float
    upper_arm_radius: float
    forearm_radius: float
    hand_radius: float
    waist_half_width: float

    def shoulder(self, side: float) -> np.ndarray:
        """Shoulder joint ``[2]`` of the arm on image side ``side`` (-1 left, +1 right)."""
        return np.array([self.cx + side * self.shoulder_half_width, self.shoulder_y])

    @property
    def chest_y(self) -> float:
        return self.shoulder_y + 16.0 * self.scale

    @property
    def arm_len(self) -> float:
        return self.upper_arm_len + self.forearm_len


def draw_body(rng: np.random.Generator) -> Body:
    """A random body: head ~20x25 px near (68, 48), torso to the bottom edge (facts file)."""
    scale = rng.uniform(0.88, 1.12)
    cx = 66.0 + rng.uniform(-5.0, 5.0)
    head_cy = 48.0 + rng.uniform(-4.0, 4.0)
    head_rx = 10.0 * scale * rng.uniform(0.9, 1.1)
    head_ry = 12.5 * scale * rng.uniform(0.92, 1.08)
    shoulder_y = head_cy + head_ry + 8.0 * scale * rng.uniform(0.85, 1.15)
    shoulder_half_width = 21.0 * scale * rng.uniform(0.88, 1.12)
    upper_arm_len = 20.0 * scale * rng.uniform(0.92, 1.08)
    forearm_len = 19.0 * scale * rng.uniform(0.92, 1.08)
    return Body(
        cx=cx,
        head_cy=head_cy,
        scale=scale,
        head_rx=head_rx,
        head_ry=head_ry,
        shoulder_y=shoulder_y,
        shoulder_half_width=shoulder_half_width,
        upper_arm_len=upper_arm_len,
        forearm_len=forearm_len,
        upper_arm_radius=4.6 * scale * rng.uniform(0.85, 1.2),
        forearm_radius=3.7 * scale * rng.uniform(0.85, 1.2),
        hand_radius=4.4 * scale * rng.uniform(0.9, 1.15),
        waist_half_width=shoulder_half_width * rng.uniform(0.78, 0.98),
    )


@dataclass
class ArmTracks:
    """Joint positions over time, each ``[T, 2]`` (x, y) in reference pixels.

    ``body_offset`` is the sway of the head and torso; arm joints already include it.
    ``*_hand_scale`` (``[T]``) enlarges a hand when it comes towards the camera.
    """

    body_offset: np.ndarray
    right_shoulder: np.ndarray
    right_elbow: np.ndarray
    right_hand: np.ndarray
    left_shoulder: np.ndarray
    left_elbow: np.ndarray
    left_hand: np.ndarray
    right_hand_scale: np.ndarray
    left_hand_scale: np.ndarray

    def blend(self, other: ArmTracks, weight: np.ndarray) -> ArmTracks:
        """Per-frame mix ``(1 - w) * self + w * other``; ``weight`` is ``[T]`` in [0, 1]."""
        w2 = weight[:, None]
        fields = {}
        for name in self.__dataclass_fields__:
            a, b = getattr(self, name), getattr(other, name)
            w = w2 if a.ndim == 2 else weight
            fields[name] = (1.0 - w) * a + w * b
        return ArmTracks(**fields)
