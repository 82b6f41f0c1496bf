"""Body shape and arm motion of the synthetic subject (2-D, image coordinates).

Coordinates are pixels of a 128x128 reference frame, x to the right, y DOWN (row index),
origin at the top left, exactly as DVS128 Gesture's AEDAT 3.1 files. The subject faces the
camera and the view is not mirrored, so the subject's RIGHT arm is on the image's LEFT.

Angles follow ``atan2(dy, dx)`` in these y-down coordinates, so an increasing angle turns
CLOCKWISE as seen in the image (from the camera). "Clockwise" in the class names is defined
from the camera's point of view (the dataset does not say; see docs/synthetic.md).

A motion is a function of time only: ``motion(t_s) -> ArmTracks`` with every joint as a
``[T, 2]`` array, so a whole clip's poses are computed at once (vectorised).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from asa_live.classes import NUM_GESTURE_CLASSES
from asa_live.synth.body import ArmTracks, Body

TWO_PI = 2.0 * np.pi

# Image-side of each arm: the subject's right arm is drawn on the image's left (x < centre).
RIGHT_ARM_SIDE = -1.0
LEFT_ARM_SIDE = +1.0


# --------------------------------------------------------------------------------------
# Geometry helpers
# --------------------------------------------------------------------------------------


def _mirror_x(points: np.ndarray, cx: float) -> np.ndarray:
    out = points.copy()
    out[..., 0] = 2.0 * cx - out[..., 0]
    return out


def elbow_ik(
    shoulder: np.ndarray, hand: np.ndarray, upper_len: float, fore_len: float, side: float
) -> tuple[np.ndarray, np.ndarray]:
    """Two-link inverse kinematics in the image plane.

    ``shoulder``/``hand``: ``[T, 2]``. Returns ``(elbow [T, 2], hand [T, 2])``; a hand out of
    reach is pulled onto the reachable circle. Of the two elbow solutions the one further
    out (towards ``side``) and lower is kept, which is how people hold their elbows; the
    choice depends on the hand position only, so a motion played backwards keeps its elbows.
    """
    vec = hand - shoulder
    dist = np.hypot(vec[:, 0], vec[:, 1])
    max_reach = (upper_len + fore_len) * 0.999
    min_reach = abs(upper_len - fore_len) + 1e-3
    clipped = np.clip(dist, min_reach, max_reach)
    safe = np.maximum(dist, 1e-6)
    unit = vec / safe[:, None]
    hand = shoulder + unit * clipped[:, None]
    base = np.arctan2(unit[:, 1], unit[:, 0])
    cos_a = (upper_len**2 + clipped**2 - fore_len**2) / (2.0 * upper_len * clipped)
    alpha = np.arccos(np.clip(cos_a, -1.0, 1.0))
    cand = []
    for sign in (1.0, -1.0):
        ang = base + sign * alpha
        cand.append(shoulder + upper_len * np.stack([np.cos(ang), np.sin(ang)], axis=1))
    score = [side * (c[:, 0] - shoulder[:, 0]) + 0.6 * (c[:, 1] - shoulder[:, 1]) for c in cand]
    elbow = np.where((score[0] >= score[1])[:, None], cand[0], cand[1])
    return elbow, hand


def smooth_noise(
    rng: np.random.Generator, t_s: np.ndarray, n_terms: int, f_lo: float, f_hi: float
) -> np.ndarray:
    """Band-limited random signal ``[T]`` with unit-ish amplitude (sum of sinusoids)."""
    freqs = rng.uniform(f_lo, f_hi, n_terms)
    phases = rng.uniform(0.0, TWO_PI, n_terms)
    amps = rng.uniform(0.5, 1.0, n_terms)
    amps /= amps.sum()
    return (amps[None, :] * np.sin(TWO_PI * freqs[None, :] * t_s[:, None] + phases)).sum(axis=1)


def _sway(rng: np.random.Generator, t_s: np.ndarray, amplitude_px: float) -> np.ndarray:
    """Body sway ``[T, 2]``: balance, breathing, and the torso following the arms."""
    return amplitude_px * np.stack(
        [smooth_noise(rng, t_s, 3, 0.1, 1.5), 0.5 * smooth_noise(rng, t_s, 2, 0.15, 1.5)], axis=1
    )


@dataclass(frozen=True)
class MotionStyle:
    """Per-gesture randomisation: tempo and amplitude multipliers."""

    speed: float
    amplitude: float


def draw_style(rng: np.random.Generator) -> MotionStyle:
    return MotionStyle(speed=rng.uniform(0.75, 1.3), amplitude=rng.uniform(0.82, 1.18))


# --------------------------------------------------------------------------------------
# Poses
# --------------------------------------------------------------------------------------


def _assemble(
    body: Body,
    t_s: np.ndarray,
    offset: np.ndarray,
    right_hand: np.ndarray,
    left_hand: np.ndarray,
    right_elbow: np.ndarray | None = None,
    left_elbow: np.ndarray | None = None,
    right_hand_scale: np.ndarray | None = None,
    left_hand_scale: np.ndarray | None = None,
) -> ArmTracks:
    """Add the body sway, solve missing elbows, and pack the tracks."""
    n = t_s.shape[0]
    rs = body.shoulder(RIGHT_ARM_SIDE)[None, :] + offset
    ls = body.shoulder(LEFT_ARM_SIDE)[None, :] + offset
    rh = right_hand + offset
    lh = left_hand + offset
    if right_elbow is None:
        re, rh = elbow_ik(rs, rh, body.upper_arm_len, body.forearm_len, RIGHT_ARM_SIDE)
    else:
        re = right_elbow + offset
    if left_elbow is None:
        le, lh = elbow_ik(ls, lh, body.upper_arm_len, body.forearm_len, LEFT_ARM_SIDE)
    else:
        le = left_elbow + offset
    ones = np.ones(n)
    return ArmTracks(
        body_offset=offset,
        right_shoulder=rs,
        right_elbow=re,
        right_hand=rh,
        left_shoulder=ls,
        left_elbow=le,
        left_hand=lh,
        right_hand_scale=ones if right_hand_scale is None else right_hand_scale,
        left_hand_scale=ones if left_hand_scale is None else left_hand_scale,
    )


def _rest_hand(body: Body, side: float, n: int) -> np.ndarray:
    """Hand hanging by the hip, ``[n, 2]``."""
    sh = body.shoulder(side)
    hand = sh + np.array([side * 4.0 * body.scale, body.arm_len * 0.96])
    return np.repeat(hand[None, :], n, axis=0)


def rest_pose(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, sway_px: float = 0.25
) -> ArmTracks:
    """Standing still with the arms hanging: only a tiny sway (idle parts of a recording)."""
    n = t_s.shape[0]
    offset = _sway(rng, t_s, sway_px)
    return _assemble(body, t_s, offset, _rest_hand(body, -1.0, n), _rest_hand(body, 1.0, n))


def _idle_arm(body: Body, side: float, t_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The arm not doing the gesture: hanging, drifting a little."""
    hand = _rest_hand(body, side, t_s.shape[0]).copy()
    hand[:, 0] += side * 1.2 * smooth_noise(rng, t_s, 2, 0.2, 0.7)
    hand[:, 1] += 1.0 * smooth_noise(rng, t_s, 2, 0.2, 0.7)
    return hand


def _phase(
    rng: np.random.Generator, t_s: np.ndarray, freq_hz: float, jitter: float = 0.12
) -> np.ndarray:
    """Cycle phase in radians ``[T]`` with a slowly wandering tempo, starting at 0."""
    tempo = 1.0 + jitter * smooth_noise(rng, t_s, 2, 0.1, 0.5)
    dt = np.diff(t_s, prepend=t_s[0])
    return TWO_PI * freq_hz * np.cumsum(tempo * dt)


def motion_clap(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle
) -> ArmTracks:
    f = rng.uniform(1.8, 3.0) * style.speed
    center = np.array(
        [body.cx + rng.uniform(-3, 3), body.chest_y + rng.uniform(-2.0, 10.0) * body.scale]
    )
    spread = rng.uniform(10.0, 17.0) * body.scale * style.amplitude
    ph = _phase(rng, t_s, f) / 2.0 + rng.uniform(0, np.pi)
    # |sin| gives the sharp bounce of palms meeting and the slow opening.
    half = body.hand_radius * 0.9 + spread * np.abs(np.sin(ph))
    bob = 1.5 * body.scale * np.cos(2 * ph)
    rh = np.stack([center[0] - half, center[1] + bob], axis=1)
    lh = np.stack([center[0] + half, center[1] + bob], axis=1)
    return _assemble(body, t_s, _sway(rng, t_s, 1.4), rh, lh)


def _wave(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle, side: float
) -> ArmTracks:
    """Hand raised beside the head, forearm swinging about the elbow (built for ``side``)."""
    f = rng.uniform(1.6, 3.0) * style.speed
    sh = body.shoulder(side)
    upper_ang = np.deg2rad(rng.uniform(25.0, 60.0))  # below horizontal, pointing outwards
    swing = np.deg2rad(rng.uniform(20.0, 38.0)) * style.amplitude
    lean = np.deg2rad(rng.uniform(-20.0, 8.0))  # forearm tilt from vertical, + = outwards
    ph = _phase(rng, t_s, f) + rng.uniform(0, TWO_PI)
    ua = upper_ang + np.deg2rad(6.0) * np.sin(ph - 0.6)
    elbow = sh[None, :] + body.upper_arm_len * np.stack([side * np.cos(ua), np.sin(ua)], axis=1)
    fa = lean + swing * np.sin(ph)  # forearm angle from vertical
    hand = elbow + body.forearm_len * np.stack([side * np.sin(fa), -np.cos(fa)], axis=1)
    other = _idle_arm(body, -side, t_s, rng)
    offset = _sway(rng, t_s, 1.4)
    if side == RIGHT_ARM_SIDE:
        return _assemble(body, t_s, offset, hand, other, right_elbow=elbow)
    return _assemble(body, t_s, offset, other, hand, left_elbow=elbow)


def motion_right_wave(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle
) -> ArmTracks:
    return _wave(body, t_s, rng, style, RIGHT_ARM_SIDE)


def motion_left_wave(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle
) -> ArmTracks:
    return _wave(body, t_s, rng, style, LEFT_ARM_SIDE)


def time_reversed(tracks: ArmTracks) -> ArmTracks:
    """The same motion played backwards: frame ``k`` becomes frame ``T - 1 - k``."""
    return ArmTracks(
        **{name: getattr(tracks, name)[::-1].copy() for name in tracks.__dataclass_fields__}
    )


def _arm_circle(
    body: Body,
    t_s: np.ndarray,
    rng: np.random.Generator,
    style: MotionStyle,
    side: float,
    clockwise: bool,
) -> ArmTracks:
    """A nearly straight arm sweeping a disc around the shoulder.

    The motion is built clockwise (as seen from the camera: the phase grows in y-down
    coordinates); the counter-clockwise class is that very motion played backwards in time
    (:func:`time_reversed`, which needs ``t_s`` evenly spaced). The random draws do not
    depend on ``clockwise``, so for one seed the two classes differ only in time, as the
    real dataset's direction pairs do.
    """
    f = rng.uniform(0.8, 1.5) * style.speed
    sh = body.shoulder(side)
    center = sh + np.array([side * rng.uniform(0.0, 4.0), rng.uniform(-1.0, 4.0)]) * body.scale
    radius = body.arm_len * min(0.97, rng.uniform(0.8, 0.95) * style.amplitude)
    ecc = rng.uniform(0.85, 1.05)  # slightly elliptic circles
    phi0 = rng.uniform(0, TWO_PI)
    phi = phi0 + _phase(rng, t_s, f, jitter=0.15)
    hand = center[None, :] + radius * np.stack([np.cos(phi), ecc * np.sin(phi)], axis=1)
    other = _idle_arm(body, -side, t_s, rng)
    offset = _sway(rng, t_s, 1.6)
    if side == RIGHT_ARM_SIDE:
        tracks = _assemble(body, t_s, offset, hand, other)
    else:
        tracks = _assemble(body, t_s, offset, other, hand)
    return tracks if clockwise else time_reversed(tracks)


def motion_right_cw(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle
) -> ArmTracks:
    return _arm_circle(body, t_s, rng, style, RIGHT_ARM_SIDE, clockwise=True)


def motion_right_ccw(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle
) -> ArmTracks:
    return _arm_circle(body, t_s, rng, style, RIGHT_ARM_SIDE, clockwise=False)


def motion_left_cw(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle
) -> ArmTracks:
    return _arm_circle(body, t_s, rng, style, LEFT_ARM_SIDE, clockwise=True)


def motion_left_ccw(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle
) -> ArmTracks:
    return _arm_circle(body, t_s, rng, style, LEFT_ARM_SIDE, clockwise=False)


def motion_arm_roll(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle
) -> ArmTracks:
    """Forearms rolling round each other in front of the chest (hands on one small circle)."""
    f = rng.uniform(1.4, 2.4) * style.speed
    center = np.array(
        [body.cx + rng.uniform(-3, 3), body.chest_y + rng.uniform(0.0, 12.0) * body.scale]
    )
    r = rng.uniform(6.5, 10.0) * body.scale * style.amplitude
    gap = rng.uniform(1.0, 5.0) * body.scale
    direction = 1.0 if rng.random() < 0.5 else -1.0
    ph = direction * _phase(rng, t_s, f) + rng.uniform(0, TWO_PI)
    flat = rng.uniform(0.7, 1.0)
    rh = np.stack([center[0] - gap + r * np.cos(ph), center[1] + flat * r * np.sin(ph)], axis=1)
    lh = np.stack(
        [center[0] + gap + r * np.cos(ph + np.pi), center[1] + flat * r * np.sin(ph + np.pi)],
        axis=1,
    )
    # The hand coming towards the camera looks bigger.
    rs = 1.0 + 0.15 * np.cos(ph + np.pi / 2)
    ls = 1.0 + 0.15 * np.cos(ph + np.pi / 2 + np.pi)
    return _assemble(
        body, t_s, _sway(rng, t_s, 1.4), rh, lh, right_hand_scale=rs, left_hand_scale=ls
    )


def motion_air_drums(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle
) -> ArmTracks:
    """Both hands striking imaginary drums, alternating, quick down-strokes."""
    f = rng.uniform(1.8, 3.2) * style.speed
    drum_y = body.chest_y + rng.uniform(8.0, 18.0) * body.scale
    lift = rng.uniform(11.0, 18.0) * body.scale * style.amplitude
    spread = rng.uniform(11.0, 19.0) * body.scale
    base = _phase(rng, t_s, f) / TWO_PI + rng.uniform(0, 1)
    hands = []
    for k, side in enumerate((RIGHT_ARM_SIDE, LEFT_ARM_SIDE)):
        u = np.mod(base + 0.5 * k, 1.0)
        # Height above the drum: a fast drop near u = 1 and a slower lift after the hit.
        height = lift * np.sin(np.pi * u) ** 0.6 * (1.0 - 0.35 * u)
        wander = rng.uniform(4.0, 9.0) * body.scale * smooth_noise(rng, t_s, 2, 0.3, 0.9)
        x = body.cx + side * spread + wander
        hands.append(np.stack([x, drum_y - height], axis=1))
    return _assemble(body, t_s, _sway(rng, t_s, 1.8), hands[0], hands[1])


def motion_air_guitar(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle
) -> ArmTracks:
    """Subject's right hand strumming at the belly, left hand fretting on an extended neck."""
    f = rng.uniform(2.8, 4.6) * style.speed
    strum_c = np.array(
        [
            body.cx - rng.uniform(0.0, 8.0) * body.scale,
            body.chest_y + rng.uniform(14.0, 24.0) * body.scale,
        ]
    )
    amp = rng.uniform(6.0, 11.0) * body.scale * style.amplitude
    ph = _phase(rng, t_s, f) + rng.uniform(0, TWO_PI)
    rh = np.stack([strum_c[0] + 1.5 * np.sin(ph + 0.8), strum_c[1] + amp * np.sin(ph)], axis=1)
    neck_end = (
        body.shoulder(LEFT_ARM_SIDE)
        + np.array([rng.uniform(14.0, 24.0), rng.uniform(2.0, 14.0)]) * body.scale
    )
    direction = neck_end - strum_c
    direction /= np.linalg.norm(direction)
    slide = rng.uniform(3.0, 8.0) * body.scale * smooth_noise(rng, t_s, 2, 0.4, 1.2)
    fret = 1.0 * body.scale * np.sin(TWO_PI * rng.uniform(4.0, 7.0) * t_s)
    lh = neck_end[None, :] + direction[None, :] * slide[:, None]
    lh[:, 1] += fret
    return _assemble(body, t_s, _sway(rng, t_s, 2.0), rh, lh)


def motion_other(
    body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle
) -> ArmTracks:
    """Free movements that are none of the other classes: random smooth, aperiodic paths."""
    kind = rng.integers(0, 4)
    n = t_s.shape[0]
    offset = _sway(rng, t_s, rng.uniform(0.8, 2.5))

    def wander(side: float, reach: float) -> np.ndarray:
        sh = body.shoulder(side)
        home = (
            sh + np.array([side * rng.uniform(-12.0, 18.0), rng.uniform(-10.0, 30.0)]) * body.scale
        )
        amp = reach * body.arm_len * style.amplitude
        x = home[0] + amp * smooth_noise(rng, t_s, 3, 0.15, 1.3 * style.speed)
        y = home[1] + amp * smooth_noise(rng, t_s, 3, 0.15, 1.3 * style.speed)
        return np.stack([x, y], axis=1)

    if kind == 0:  # one hand moving about, the other hanging
        side = RIGHT_ARM_SIDE if rng.random() < 0.5 else LEFT_ARM_SIDE
        moving, idle = wander(side, rng.uniform(0.35, 0.6)), _idle_arm(body, -side, t_s, rng)
        rh, lh = (moving, idle) if side == RIGHT_ARM_SIDE else (idle, moving)
    elif kind == 1:  # both hands moving independently
        rh, lh = (
            wander(RIGHT_ARM_SIDE, rng.uniform(0.3, 0.5)),
            wander(LEFT_ARM_SIDE, rng.uniform(0.3, 0.5)),
        )
    elif kind == 2:  # touching the face / head, scratching
        side = RIGHT_ARM_SIDE if rng.random() < 0.5 else LEFT_ARM_SIDE
        target = np.array(
            [body.cx + side * rng.uniform(2.0, 12.0), body.head_cy + rng.uniform(-4.0, 10.0)]
        )
        rub = 3.0 * body.scale * smooth_noise(rng, t_s, 3, 1.0, 4.0 * style.speed)
        reach = 0.5 - 0.5 * np.cos(np.pi * np.clip(t_s / max(t_s[-1], 1e-6) * 3.0, 0.0, 1.0))
        rest = _rest_hand(body, side, n)
        moving = rest + (target[None, :] - rest) * reach[:, None]
        moving[:, 0] += rub
        moving[:, 1] += 0.6 * rub
        idle = _idle_arm(body, -side, t_s, rng)
        rh, lh = (moving, idle) if side == RIGHT_ARM_SIDE else (idle, moving)
    else:  # slow reaching / stretching of both arms with shoulder sway
        rh = wander(RIGHT_ARM_SIDE, rng.uniform(0.45, 0.7))
        lh = wander(LEFT_ARM_SIDE, rng.uniform(0.45, 0.7))
    return _assemble(body, t_s, offset, rh, lh)


MotionFn = Callable[[Body, np.ndarray, np.random.Generator, MotionStyle], ArmTracks]

MOTIONS: tuple[MotionFn, ...] = (
    motion_clap,
    motion_right_wave,
    motion_left_wave,
    motion_right_cw,
    motion_right_ccw,
    motion_left_cw,
    motion_left_ccw,
    motion_arm_roll,
    motion_air_drums,
    motion_air_guitar,
    motion_other,
)
if len(MOTIONS) != NUM_GESTURE_CLASSES:  # keeps the table in step with asa_live.classes
    raise RuntimeError("synth.kinematics.MOTIONS must list one motion per gesture class")


def gesture_motion(
    class_id: int, body: Body, t_s: np.ndarray, rng: np.random.Generator, style: MotionStyle
) -> ArmTracks:
    """Arm tracks of gesture ``class_id`` (0..10) at times ``t_s`` ``[T]`` (seconds)."""
    if not 0 <= int(class_id) < NUM_GESTURE_CLASSES:
        raise ValueError(f"class_id must be in 0..{NUM_GESTURE_CLASSES - 1}, got {class_id}")
    return MOTIONS[int(class_id)](body, np.asarray(t_s, dtype=np.float64), rng, style)
