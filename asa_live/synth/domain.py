"""Domain randomisation: where the subject stands, how big, how the camera looks at them.

Placement maps a point ``p`` of the 128x128 reference frame (y down) to
``p' = c + s (p - c) + o`` with the principal point ``c = (64, 64)``, distance scale ``s``
and offset ``o``, then applies the keystone of a tilted camera,
``x'' = c_x + (x' - c_x) (1 + k (y' - c_y) / 64)``: with the camera looking down (``k > 0``)
the lower body is nearer and wider. Applied to the body geometry and to the joint tracks
after the motion is computed, so gestures keep their meaning at any placement.

Also here: random body proportions, and the idle motion of a subject between gestures
(weight shifts, small steps, fidgets) or walking in and out of view.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from asa_live.synth.kinematics import (
    LEFT_ARM_SIDE,
    RIGHT_ARM_SIDE,
    ArmTracks,
    Body,
    elbow_ik,
    rest_pose,
    smooth_noise,
)

CENTRE = 64.0
_POINT_FIELDS = (
    "right_shoulder",
    "right_elbow",
    "right_hand",
    "left_shoulder",
    "left_elbow",
    "left_hand",
)


@dataclass(frozen=True)
class Placement:
    """Subject position (reference px), distance scale and camera tilt (keystone ``k``)."""

    scale: float = 1.0
    offset_x: float = 0.0
    offset_y: float = 0.0
    tilt: float = 0.0

    @property
    def identity(self) -> bool:
        return self.scale == 1.0 and self.offset_x == 0.0 and self.offset_y == 0.0 and not self.tilt

    def points(self, p: np.ndarray) -> np.ndarray:
        """Map points ``[..., 2]``."""
        out = CENTRE + self.scale * (np.asarray(p, dtype=np.float64) - CENTRE)
        out[..., 0] += self.offset_x
        out[..., 1] += self.offset_y
        if self.tilt:
            out[..., 0] = CENTRE + (out[..., 0] - CENTRE) * (
                1.0 + self.tilt * (out[..., 1] - CENTRE) / 64.0
            )
        return out

    def body(self, body: Body) -> Body:
        """The body geometry as the camera sees it (lengths scaled, centre moved)."""
        if self.identity:
            return body
        s = self.scale
        cx, head_cy = self.points(np.array([body.cx, body.head_cy]))
        _, shoulder_y = self.points(np.array([body.cx, body.shoulder_y]))
        widen = 1.0 + self.tilt * (shoulder_y - CENTRE) / 64.0
        return replace(
            body,
            cx=float(cx),
            head_cy=float(head_cy),
            shoulder_y=float(shoulder_y),
            scale=body.scale * s,
            head_rx=body.head_rx * s,
            head_ry=body.head_ry * s,
            shoulder_half_width=body.shoulder_half_width * s * widen,
            upper_arm_len=body.upper_arm_len * s,
            forearm_len=body.forearm_len * s,
            upper_arm_radius=body.upper_arm_radius * s,
            forearm_radius=body.forearm_radius * s,
            hand_radius=body.hand_radius * s,
            waist_half_width=body.waist_half_width * s * widen,
        )

    def tracks(self, tracks: ArmTracks) -> ArmTracks:
        """The joint tracks as the camera sees them (sway scaled with the body)."""
        if self.identity:
            return tracks
        moved = {name: self.points(getattr(tracks, name)) for name in _POINT_FIELDS}
        return replace(tracks, body_offset=tracks.body_offset * self.scale, **moved)


def vary_proportions(body: Body, rng: np.random.Generator, spread: float) -> Body:
    """Random body proportions: each part independently x(1 +- ``spread``)."""

    def f() -> float:
        return float(rng.uniform(1.0 - spread, 1.0 + spread))

    shoulder = body.shoulder_half_width * f()
    return replace(
        body,
        head_rx=body.head_rx * f(),
        head_ry=body.head_ry * f(),
        shoulder_half_width=shoulder,
        waist_half_width=min(body.waist_half_width * f(), shoulder * 1.05),
        upper_arm_len=body.upper_arm_len * f(),
        forearm_len=body.forearm_len * f(),
        upper_arm_radius=body.upper_arm_radius * f(),
        forearm_radius=body.forearm_radius * f(),
        hand_radius=body.hand_radius * f(),
    )


def idle_motion(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, amount_px: float
) -> ArmTracks:
    """A subject waiting between gestures: shifting weight, small steps, hands fidgeting.

    ``amount_px`` scales the wandering of the body (0 = the still rest pose of the clean
    generator). Hands drift and now and then rise to the face or meet in front of the belly.
    """
    tracks = rest_pose(body, t_s, rng, sway_px=0.25 + 0.3 * amount_px)
    if amount_px <= 0.0:
        return tracks
    # Slow steps: the whole body wanders by up to ``amount_px``.
    wander = np.stack(
        [
            amount_px * smooth_noise(rng, t_s, 3, 0.05, 0.4),
            0.3 * amount_px * smooth_noise(rng, t_s, 2, 0.05, 0.3),
        ],
        axis=1,
    )
    fields = {name: getattr(tracks, name) + wander for name in _POINT_FIELDS}
    fields["body_offset"] = tracks.body_offset + wander
    # Fidgets: a hand drifts towards a target (face, belly) and back, a few times a minute.
    for name, side in (("right_hand", -1.0), ("left_hand", 1.0)):
        bump = np.clip(1.5 * smooth_noise(rng, t_s, 3, 0.03, 0.25) - 0.3, 0.0, 1.0)
        target_y = body.chest_y + rng.uniform(-22.0, 12.0) * body.scale
        target = np.array([body.cx + side * rng.uniform(2.0, 10.0), target_y])
        hand = fields[name]
        fields[name] = hand + bump[:, None] * (target + wander - hand)
    return _resolve_elbows(body, replace(tracks, **fields))


def walk_in_out(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, direction: float
) -> ArmTracks:
    """The subject walks in from one side, stops a while, and walks out the other side."""
    duration = float(t_s[-1] - t_s[0]) if t_s.size > 1 else 1.0
    start = -direction * rng.uniform(95.0, 110.0)
    stop_at = rng.uniform(-15.0, 15.0)
    end = direction * rng.uniform(95.0, 110.0)
    u = (t_s - t_s[0]) / max(duration, 1e-6)
    t_in, t_out = rng.uniform(0.2, 0.4), rng.uniform(0.6, 0.8)
    a = np.clip(u / t_in, 0.0, 1.0)
    b = np.clip((u - t_out) / (1.0 - t_out), 0.0, 1.0)
    x = start + (stop_at - start) * (0.5 - 0.5 * np.cos(np.pi * a)) + (end - stop_at) * b
    # Walking bobs the body and swings the arms at the step rate.
    step_hz = rng.uniform(1.6, 2.2)
    moving = ((a < 1.0) | (b > 0.0)).astype(np.float64)
    bob = 1.2 * moving * np.abs(np.sin(np.pi * step_hz * t_s))
    tracks = idle_motion(body, t_s, rng, 1.0)
    shift = np.stack([x, bob], axis=1)
    swing = 6.0 * moving * np.sin(np.pi * step_hz * t_s)
    fields = {name: getattr(tracks, name) + shift for name in _POINT_FIELDS}
    fields["right_hand"][:, 1] += swing
    fields["left_hand"][:, 1] -= swing
    fields["body_offset"] = tracks.body_offset + shift
    return _resolve_elbows(body, replace(tracks, **fields))


def _resolve_elbows(body: Body, tracks: ArmTracks) -> ArmTracks:
    re, rh = elbow_ik(
        tracks.right_shoulder,
        tracks.right_hand,
        body.upper_arm_len,
        body.forearm_len,
        RIGHT_ARM_SIDE,
    )
    le, lh = elbow_ik(
        tracks.left_shoulder, tracks.left_hand, body.upper_arm_len, body.forearm_len, LEFT_ARM_SIDE
    )
    return replace(tracks, right_elbow=re, right_hand=rh, left_elbow=le, left_hand=lh)
