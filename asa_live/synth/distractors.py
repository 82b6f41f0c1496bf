"""Moving things in the scene other than the subject: people, cars, pendulums, plants, fans.

Each distractor is a small frozen description drawn from a seed, with
``draw(renderer, img, t_s)`` painting it into a reflectance image at time ``t_s`` seconds
(reference coordinates, :mod:`.render` primitives). Drawn before the subject, they pass
behind the person; in the negative scenes (:mod:`.negatives`) they are all there is.
Positions are functions of time only, so a frame can be drawn at any time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TWO_PI = 2.0 * np.pi

#: Kinds :func:`make_distractor` knows.
DISTRACTOR_KINDS: tuple[str, ...] = ("person", "car", "pendulum", "ball", "plant", "fan", "lamp")


def _crossing(x0: float, speed: float, t_s: float, span: float = 300.0) -> float:
    """x of a thing entering at ``x0`` moving at ``speed`` px/s, wrapping over ``span`` px."""
    return (x0 + speed * t_s + 150.0) % span - 150.0


@dataclass(frozen=True)
class Distractor:
    kind: str
    x0: float
    y0: float
    size: float
    speed: float
    freq_hz: float
    phase: float
    value: float
    value2: float

    def draw(self, r, img: np.ndarray, t_s: float) -> None:
        getattr(self, f"_draw_{self.kind}")(r, img, t_s)

    def _draw_person(self, r, img: np.ndarray, t_s: float) -> None:
        s = self.size
        x = _crossing(self.x0, self.speed, t_s)
        y = self.y0
        leg = 0.45 * np.sin(TWO_PI * self.freq_hz * t_s + self.phase)
        hip = np.array([x, y + 22 * s])
        neck = np.array([x, y - 6 * s])
        feet = [hip + 26 * s * np.array([np.sin(a), np.cos(a)]) for a in (leg, -leg)]
        hands = [neck + 24 * s * np.array([np.sin(-a), np.cos(a)]) for a in (leg, -leg)]
        starts = np.array([neck, hip, hip, neck, neck])
        ends = np.array([hip, feet[0], feet[1], hands[0], hands[1]])
        radii = np.array([7.0, 3.5, 3.5, 2.8, 2.8]) * s
        r.limbs(img, starts, ends, radii, [self.value] * 5)
        r.ellipse(img, np.array([x, y - 14 * s]), 6.0 * s, 7.5 * s, self.value2)

    def _draw_car(self, r, img: np.ndarray, t_s: float) -> None:
        s = self.size
        x = _crossing(self.x0, self.speed, t_s, span=400.0)
        y = self.y0
        body = np.array([[x - 22 * s, y], [x - 8 * s, y - 8 * s]])
        ends = np.array([[x + 22 * s, y], [x + 10 * s, y - 8 * s]])
        r.limbs(img, body, ends, np.array([7.0, 6.0]) * s, [self.value, self.value2])
        for dx in (-14.0, 14.0):
            r.ellipse(img, np.array([x + dx * s, y + 6 * s]), 4.5 * s, 4.5 * s, 0.04)

    def _draw_pendulum(self, r, img: np.ndarray, t_s: float) -> None:
        angle = 0.6 * np.sin(TWO_PI * self.freq_hz * t_s + self.phase)
        pivot = np.array([self.x0, self.y0])
        bob = pivot + 30 * self.size * np.array([np.sin(angle), np.cos(angle)])
        r.capsule(img, pivot, bob, 1.2 * self.size, self.value2)
        r.ellipse(img, bob, 6 * self.size, 6 * self.size, self.value)

    def _draw_ball(self, r, img: np.ndarray, t_s: float) -> None:
        x = _crossing(self.x0, self.speed, t_s, span=260.0)
        y = self.y0 + 15.0 * np.sin(TWO_PI * self.freq_hz * t_s + self.phase)
        r.ellipse(img, np.array([x, y]), 5 * self.size, 5 * self.size, self.value)

    def _draw_plant(self, r, img: np.ndarray, t_s: float) -> None:
        base = np.array([self.x0, self.y0])
        n = 6
        k = np.arange(n)
        sway = 0.25 * np.sin(TWO_PI * self.freq_hz * (1 + 0.3 * k) * t_s + self.phase + k)
        ang = -np.pi / 2 + (k - (n - 1) / 2) * 0.35 + sway
        length = 26 * self.size * (0.7 + 0.3 * np.cos(k))
        tips = base + length[:, None] * np.stack([np.cos(ang), np.sin(ang)], axis=1)
        starts = np.repeat(base[None, :], n, axis=0)
        r.limbs(img, starts, tips, np.full(n, 2.6 * self.size), [self.value] * n)

    def _draw_fan(self, r, img: np.ndarray, t_s: float) -> None:
        hub = np.array([self.x0, self.y0])
        ang = TWO_PI * self.freq_hz * t_s + self.phase + TWO_PI * np.arange(3) / 3
        tips = hub + 16 * self.size * np.stack([np.cos(ang), np.sin(ang)], axis=1)
        starts = hub + 4 * self.size * np.stack([np.cos(ang), np.sin(ang)], axis=1)
        r.limbs(img, starts, tips, np.full(3, 4.0 * self.size), [self.value] * 3)
        r.ellipse(img, hub, 3 * self.size, 3 * self.size, self.value2)

    def _draw_lamp(self, r, img: np.ndarray, t_s: float) -> None:
        r.ellipse(img, np.array([self.x0, self.y0]), 9 * self.size, 6 * self.size, 0.95)


def make_distractor(kind: str, rng: np.random.Generator, wall: float) -> Distractor:
    """A random distractor of ``kind`` (one of :data:`DISTRACTOR_KINDS`) against ``wall``."""
    if kind not in DISTRACTOR_KINDS:
        raise ValueError(f"unknown distractor kind {kind!r}; expected one of {DISTRACTOR_KINDS}")
    # Reflectances at least ~0.5 log units from the wall, lighter or darker.
    value = float(np.clip(wall * np.exp(rng.choice([-1, 1]) * rng.uniform(0.5, 1.5)), 0.03, 0.95))
    value2 = float(np.clip(wall * np.exp(rng.choice([-1, 1]) * rng.uniform(0.5, 1.5)), 0.03, 0.95))
    direction = rng.choice([-1.0, 1.0])
    x0, y0 = rng.uniform(0.0, 128.0), rng.uniform(20.0, 100.0)
    size, speed, freq = rng.uniform(0.5, 0.9), direction * rng.uniform(20.0, 60.0), 1.0
    if kind == "person":
        y0, freq = rng.uniform(45.0, 75.0), rng.uniform(0.8, 1.1)
    elif kind == "car":
        y0, size = rng.uniform(80.0, 115.0), rng.uniform(0.6, 1.2)
        speed = direction * rng.uniform(60.0, 200.0)
    elif kind == "pendulum":
        y0, freq = rng.uniform(-5.0, 30.0), rng.uniform(0.3, 1.2)
    elif kind == "ball":
        speed, freq = direction * rng.uniform(40.0, 150.0), rng.uniform(0.5, 2.0)
    elif kind == "plant":
        y0, freq, size = rng.uniform(90.0, 128.0), rng.uniform(0.3, 1.5), rng.uniform(0.7, 1.3)
    elif kind == "fan":
        freq, size = rng.uniform(0.5, 4.0), rng.uniform(0.8, 1.5)
    return Distractor(kind, x0, y0, size, speed, freq, rng.uniform(0.0, TWO_PI), value, value2)
