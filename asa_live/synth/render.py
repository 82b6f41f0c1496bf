"""Rendering the subject and the room into intensity frames (numpy, vectorised).

The scene is drawn in the 128x128 reference frame of :mod:`.kinematics` and sampled on the
sensor grid (any ``sensor_size``; the reference frame is scaled uniformly and centred).
Limbs are capsules (distance-to-segment fields) and the head and hands are ellipses, all with
a soft edge about one pixel wide, so a moving edge changes a pixel's intensity gradually and
the DVS model can interpolate its threshold crossings in time. Each shape is evaluated only
inside its bounding box, which keeps a frame at a fraction of a millisecond.

Intensity (arbitrary linear units) = illumination map x (1 + flicker(t)) x reflectance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asa_live.synth.body import ArmTracks, Body

REFERENCE_SIZE = 128.0


@dataclass(frozen=True)
class Appearance:
    """Reflectances (0..1) of the clothes and skin, and the edge softness in sensor pixels.

    ``limb_shade`` multiplies the arms' reflectance (shading), so an arm stays visible when
    it passes in front of a torso of the same cloth; ``limb_rounding`` (0..1) darkens the
    limbs' sides like lit cylinders.
    """

    shirt: float
    sleeve: float
    skin: float
    hair: float
    edge_px: float
    limb_shade: float = 1.0
    limb_rounding: float = 0.0
    # Shirt prints (stripes or checks) and folds; 0 = a plain shirt (the clean generator).
    print_contrast: float = 0.0
    print_period: float = 8.0
    print_angle: float = 0.0
    print_checks: bool = False
    fold_depth: float = 0.0
    fold_period: float = 12.0


@dataclass(frozen=True)
class Lighting:
    """Illumination of the room.

    ``level``: overall illumination (1 = a well-lit office); ``gradient_x``/``gradient_y``:
    relative change of illumination across the frame; ``flicker_depth``: relative amplitude
    of the mains flicker of fluorescent tubes (0 = none) at ``flicker_hz``;
    ``shadow_strength`` (0..1): how much light the arms' shadow on the wall removes, the
    shadow being the arms shifted by ``shadow_offset`` (reference px) with a blurred edge.
    """

    tag: str
    level: float
    gradient_x: float
    gradient_y: float
    flicker_depth: float
    flicker_hz: float
    flicker_phase: float
    shadow_strength: float = 0.0
    shadow_offset: tuple[float, float] = (0.0, 0.0)


def _soft(signed_inside: np.ndarray, edge: float) -> np.ndarray:
    """Coverage 0..1 from a signed distance (positive inside), ramp ``edge`` wide."""
    out = signed_inside * np.float32(1.0 / edge)
    out += np.float32(0.5)
    # maximum/minimum with out= avoid np.clip's Python overhead (this runs ~20x per frame).
    np.maximum(out, 0.0, out=out)
    return np.minimum(out, 1.0, out=out)


class Renderer:
    """Draws frames of one scene on a sensor of ``sensor_size = (width, height)``.

    ``background`` is a reflectance image of the room in sensor pixels, padded by
    ``pad`` pixels on every side so that camera shake can shift it.
    """

    def __init__(
        self,
        sensor_size: tuple[int, int],
        body: Body,
        appearance: Appearance,
        lighting: Lighting,
        background: np.ndarray,
        pad: int,
        ragged: np.ndarray | None = None,
        distractors: tuple = (),
    ) -> None:
        width, height = int(sensor_size[0]), int(sensor_size[1])
        self.width, self.height = width, height
        self.scale = min(width, height) / REFERENCE_SIZE
        # Sensor pixel centre -> reference coordinates (pixel 0..127 maps to 0..127 at 128x128).
        self.x_ref = ((np.arange(width) - (width - 1) / 2.0) / self.scale + 63.5).astype(np.float32)
        self.y_ref = ((np.arange(height) - (height - 1) / 2.0) / self.scale + 63.5).astype(
            np.float32
        )
        self.body = body
        self.look = appearance
        self.light = lighting
        self.edge_ref = appearance.edge_px / self.scale
        self.background = background.astype(np.float32)
        self.pad = pad
        # A static field (sensor px) added to shape distances: ragged, uneven outlines.
        self.ragged = None if ragged is None else ragged.astype(np.float32) / self.scale
        self.distractors = tuple(distractors)
        # Extra flicker depth per pixel (a flickering lamp in view); None: the light's only.
        self.flicker_map: np.ndarray | None = None
        ys = (self.y_ref - 63.5)[:, None] / 64.0
        xs = (self.x_ref - 63.5)[None, :] / 64.0
        illum = lighting.level * (1.0 + lighting.gradient_x * xs + lighting.gradient_y * ys)
        self.illumination = np.clip(illum, 0.05 * lighting.level, None).astype(np.float32)

    # -- coordinate helpers --------------------------------------------------------------
    def _cols(self, lo_ref: float, hi_ref: float) -> slice:
        lo = int(np.floor((lo_ref - 63.5) * self.scale + (self.width - 1) / 2.0)) - 1
        hi = int(np.ceil((hi_ref - 63.5) * self.scale + (self.width - 1) / 2.0)) + 2
        return slice(max(lo, 0), min(hi, self.width))

    def _rows(self, lo_ref: float, hi_ref: float) -> slice:
        lo = int(np.floor((lo_ref - 63.5) * self.scale + (self.height - 1) / 2.0)) - 1
        hi = int(np.ceil((hi_ref - 63.5) * self.scale + (self.height - 1) / 2.0)) + 2
        return slice(max(lo, 0), min(hi, self.height))

    # -- primitives ------------------------------------------------------------------------
    def _paint(
        self, img: np.ndarray, rows: slice, cols: slice, cover: np.ndarray, value: float
    ) -> None:
        view = img[rows, cols]
        view += (value - view) * cover

    def _segment_distances(
        self, starts: np.ndarray, ends: np.ndarray, radii: np.ndarray, margin: float
    ) -> tuple[slice, slice, np.ndarray] | None:
        """Distances ``[n, h, w]`` to ``n`` segments over their joint bounding box.

        ``starts``/``ends``: ``[n, 2]`` reference px; the box is grown by ``radii + margin``.
        Computing all segments of one limb in one broadcast keeps the numpy call count (the
        real cost at these small sizes) low. Returns None when the box is off the sensor.
        """
        grow = (radii + margin)[:, None]
        lo = np.minimum(starts, ends) - grow
        hi = np.maximum(starts, ends) + grow
        rows = self._rows(float(lo[:, 1].min()), float(hi[:, 1].max()))
        cols = self._cols(float(lo[:, 0].min()), float(hi[:, 0].max()))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            return None
        a = starts.astype(np.float32)[:, :, None, None]
        d = (ends - starts).astype(np.float32)[:, :, None, None]
        dx = self.x_ref[cols][None, None, :] - a[:, 0]
        dy = self.y_ref[rows][None, :, None] - a[:, 1]
        bx, by = d[:, 0], d[:, 1]
        inv_len2 = 1.0 / np.maximum(bx * bx + by * by, np.float32(1e-6))
        h = (dx * bx + dy * by) * inv_len2
        np.maximum(h, 0.0, out=h)
        np.minimum(h, 1.0, out=h)
        ex = dx - h * bx
        ey = dy - h * by
        ex *= ex
        ey *= ey
        ex += ey
        dist = np.sqrt(ex, out=ex)
        return rows, cols, dist

    def capsule(
        self,
        img: np.ndarray,
        a: np.ndarray,
        b: np.ndarray,
        radius: float,
        value: float,
        rounded: float = 0.0,
    ) -> None:
        """Paint a segment ``a``-``b`` thickened to ``radius`` (reference px) with ``value``."""
        self.limbs(img, np.array([a]), np.array([b]), np.array([radius]), [value], rounded)

    def limbs(
        self,
        img: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        radii: np.ndarray,
        values: list[float],
        rounded: float = 0.0,
    ) -> None:
        """Paint capsules ``starts[i]``-``ends[i]`` of ``radii[i]`` in order (later on top).

        ``rounded`` > 0 darkens the sides like a lit cylinder (value x (1 - rounded (d/r)^2)):
        a limb then has shading inside, whose motion also makes events, as real limbs do.
        """
        found = self._segment_distances(starts, ends, radii, self.edge_ref)
        if found is None:
            return
        rows, cols, dist = found
        view = img[rows, cols]
        rag = 0.0 if self.ragged is None else self.ragged[rows, cols]
        for i, value in enumerate(values):
            r = float(radii[i])
            cover = _soft(np.float32(r) - dist[i] + rag, self.edge_ref)
            if rounded > 0.0:
                rel = np.minimum(dist[i] * np.float32(1.0 / r), 1.0)
                target = np.float32(value) * (1.0 - np.float32(rounded) * rel * rel)
                view += (target - view) * cover
            else:
                view += (np.float32(value) - view) * cover

    def shadows(
        self, img: np.ndarray, starts: np.ndarray, ends: np.ndarray, radii: np.ndarray
    ) -> None:
        """Darken the wall under limbs' shadows (soft capsules, multiplicative)."""
        blur = 2.5 * self.edge_ref
        found = self._segment_distances(starts, ends, radii, blur)
        if found is None:
            return
        rows, cols, dist = found
        inside = (radii.astype(np.float32)[:, None, None] - dist).max(axis=0)
        cover = _soft(inside, blur)
        view = img[rows, cols]
        view *= 1.0 - np.float32(self.light.shadow_strength) * cover

    def ellipse(self, img: np.ndarray, c: np.ndarray, rx: float, ry: float, value: float) -> None:
        """Paint an axis-aligned ellipse centred at ``c`` (reference px)."""
        rows = self._rows(c[1] - ry - 1, c[1] + ry + 1)
        cols = self._cols(c[0] - rx - 1, c[0] + rx + 1)
        if rows.start >= rows.stop or cols.start >= cols.stop:
            return
        u = (self.x_ref[cols][None, :] - c[0]) * (1.0 / rx)
        v = (self.y_ref[rows][:, None] - c[1]) * (1.0 / ry)
        # Distance to the boundary, approximated by the normalised radius times the mean radius.
        inside = (1.0 - np.sqrt(u * u + v * v)) * (0.5 * (rx + ry))
        self._paint(img, rows, cols, _soft(inside, self.edge_ref), value)

    def shirt(self, xs: np.ndarray, ys: np.ndarray, fold_phase: float) -> np.ndarray | float:
        """Shirt reflectance at reference points relative to the body: prints and folds.

        ``xs`` ``[1, w]`` and ``ys`` ``[h, 1]``; every term is a sum of separable products
        (sin(a + b) = sin a cos b + cos a sin b), so a frame costs a few outer products.
        """
        look = self.look
        if look.print_contrast <= 0.0 and look.fold_depth <= 0.0:
            return look.shirt
        xs, ys = xs.astype(np.float32), ys.astype(np.float32)
        ca, sa = np.float32(np.cos(look.print_angle)), np.float32(np.sin(look.print_angle))
        w = np.float32(2.0 * np.pi / look.print_period)

        def sin_sum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return np.sin(a) * np.cos(b) + np.cos(a) * np.sin(b)

        tex = np.tanh(3.0 * sin_sum(w * ca * xs, w * sa * ys))
        if look.print_checks:
            tex *= np.tanh(3.0 * sin_sum(-w * sa * xs, w * ca * ys))
        tex *= np.float32(look.print_contrast)
        fold_x = np.float32(2.0 * np.pi / look.fold_period) * xs + np.float32(fold_phase)
        tex += np.float32(look.fold_depth) * sin_sum(fold_x, 0.5 * np.sin(ys / np.float32(9.0)))
        tex += np.float32(1.0)
        tex *= np.float32(look.shirt)
        return np.clip(tex, 0.02, 0.97, out=tex)

    def torso(self, img: np.ndarray, offset: np.ndarray, fold_phase: float = 0.0) -> None:
        body = self.body
        cx = body.cx + offset[0]
        top = body.shoulder_y + offset[1]
        w_top = body.shoulder_half_width + 0.6 * body.upper_arm_radius
        rows = self._rows(top - body.upper_arm_radius - 2, REFERENCE_SIZE + 2)
        cols = self._cols(cx - w_top - 2, cx + w_top + 2)
        ys = self.y_ref[rows][:, None]
        xs = self.x_ref[cols][None, :]
        frac = np.minimum(np.maximum((ys - top) * (1.0 / max(REFERENCE_SIZE - top, 1.0)), 0.0), 1.0)
        half = w_top + (body.waist_half_width - w_top) * frac
        rag = 0.0 if self.ragged is None else self.ragged[rows, cols]
        box = _soft(half - np.abs(xs - cx) + rag, self.edge_ref) * _soft(ys - top, self.edge_ref)
        self._paint(img, rows, cols, box, self.shirt(xs - cx, ys - top, fold_phase))
        # Rounded shoulders and the neck.
        neck_top = body.head_cy + offset[1] + 0.6 * body.head_ry
        starts = np.array([[cx - body.shoulder_half_width, top], [cx, neck_top]])
        ends = np.array([[cx + body.shoulder_half_width, top], [cx, top]])
        radii = np.array([body.upper_arm_radius * 1.15, 3.6 * body.scale])
        self.limbs(img, starts, ends, radii, [self.look.shirt, self.look.skin])

    def head(self, img: np.ndarray, offset: np.ndarray) -> None:
        body = self.body
        c = np.array([body.cx + offset[0], body.head_cy + offset[1]])
        self.ellipse(img, c, body.head_rx, body.head_ry, self.look.hair)
        face = c + np.array([0.0, 0.22 * body.head_ry])
        self.ellipse(img, face, body.head_rx * 0.86, body.head_ry * 0.76, self.look.skin)

    def arm(
        self,
        img: np.ndarray,
        shoulder: np.ndarray,
        elbow: np.ndarray,
        hand: np.ndarray,
        hand_scale: float,
    ) -> None:
        """Upper arm, forearm and hand (a disc: a capsule of zero length) in one pass."""
        body = self.body
        shade = self.look.limb_shade
        starts = np.stack([shoulder, elbow, hand])
        ends = np.stack([elbow, hand, hand])
        radii = np.array(
            [body.upper_arm_radius, body.forearm_radius, body.hand_radius * hand_scale]
        )
        values = [
            min(self.look.shirt * shade, 0.95),
            min(self.look.sleeve * shade, 0.95),
            self.look.skin,
        ]
        self.limbs(img, starts, ends, radii, values, self.look.limb_rounding)

    # -- frames -----------------------------------------------------------------------------
    def shifted_background(self, shake_px: np.ndarray) -> np.ndarray:
        """The room moved by ``shake_px`` (sensor px, subpixel: bilinear), ``[H, W]``."""
        dx, dy = float(shake_px[0]), float(shake_px[1])
        ix, iy = int(np.floor(dx)), int(np.floor(dy))
        fx, fy = dx - ix, dy - iy
        p = self.pad
        r0, c0 = p - iy, p - ix  # content moves by +d: sample the source at -d
        h, w = self.height, self.width
        bg = self.background
        a = bg[r0 : r0 + h, c0 : c0 + w]
        b = bg[r0 : r0 + h, c0 - 1 : c0 - 1 + w]
        c = bg[r0 - 1 : r0 - 1 + h, c0 : c0 + w]
        d = bg[r0 - 1 : r0 - 1 + h, c0 - 1 : c0 - 1 + w]
        return (1 - fy) * ((1 - fx) * a + fx * b) + fy * ((1 - fx) * c + fx * d)

    def reflectance(
        self, tracks: ArmTracks | None, k: int, shake_px: np.ndarray, t_s: float = 0.0
    ) -> np.ndarray:
        """Reflectance image ``[H, W]`` float32 of frame ``k`` of ``tracks`` (None: no one)."""
        img = self.shifted_background(shake_px)
        shift = shake_px / self.scale
        for thing in self.distractors:
            thing.draw(self, img, t_s)
        if tracks is None:
            return img
        off = tracks.body_offset[k] + shift
        if self.light.shadow_strength > 0.0:
            # The arms' shadows on the wall behind (the torso covers the rest of its shadow).
            sh = shift + np.asarray(self.light.shadow_offset)
            radii = np.array([self.body.upper_arm_radius, self.body.forearm_radius * 1.2])
            for s_, e_, h_ in (
                (tracks.right_shoulder, tracks.right_elbow, tracks.right_hand),
                (tracks.left_shoulder, tracks.left_elbow, tracks.left_hand),
            ):
                self.shadows(
                    img, np.stack([s_[k], e_[k]]) + sh, np.stack([e_[k], h_[k]]) + sh, radii
                )
        # Cloth folds follow the arms (a shirt creases as the arms move).
        fold_phase = 0.12 * float(tracks.right_hand[k, 1] + tracks.left_hand[k, 1]) + 0.05 * float(
            tracks.right_hand[k, 0] - tracks.left_hand[k, 0]
        )
        self.torso(img, off, fold_phase)
        self.head(img, off)
        self.arm(
            img,
            tracks.right_shoulder[k] + shift,
            tracks.right_elbow[k] + shift,
            tracks.right_hand[k] + shift,
            float(tracks.right_hand_scale[k]),
        )
        self.arm(
            img,
            tracks.left_shoulder[k] + shift,
            tracks.left_elbow[k] + shift,
            tracks.left_hand[k] + shift,
            float(tracks.left_hand_scale[k]),
        )
        return img

    def gain(self, t_s: float) -> float | np.ndarray:
        """Mains flicker of the light, ``1 + depth sin(2 pi f t + phase)`` (``[H, W]`` with a
        :attr:`flicker_map`, which adds its own depth where a lamp is in view)."""
        light = self.light
        if light.flicker_depth <= 0.0 and self.flicker_map is None:
            return 1.0
        wave = float(np.sin(2 * np.pi * light.flicker_hz * t_s + light.flicker_phase))
        if self.flicker_map is None:
            return 1.0 + light.flicker_depth * wave
        return np.float32(1.0 + light.flicker_depth * wave) + self.flicker_map * np.float32(wave)

    def lit(self, tracks: ArmTracks | None, k: int, t_s: float, shake_px: np.ndarray) -> np.ndarray:
        """Linear intensity ``[H, W]`` float32 of frame ``k`` without the flicker."""
        img = self.reflectance(tracks, k, shake_px, t_s)
        img *= self.illumination
        return img

    def intensity(
        self, tracks: ArmTracks | None, k: int, t_s: float, shake_px: np.ndarray
    ) -> np.ndarray:
        """Linear intensity ``[H, W]`` float32 of frame ``k`` at time ``t_s`` seconds.

        The flicker is sampled at the frame time only; :func:`.recording._sense` samples it
        properly between frames when the scene is randomised.
        """
        gain = self.gain(t_s)
        img = self.lit(tracks, k, t_s, shake_px)
        if isinstance(gain, np.ndarray):
            img *= gain
        elif gain != 1.0:
            img *= np.float32(gain)
        return img


def make_background(
    rng: np.random.Generator, sensor_size: tuple[int, int], pad: int, clutter: float
) -> np.ndarray:
    """A static room: a wall with a soft gradient and ``clutter``-many objects (edges).

    Returns reflectance ``[H + 2 pad, W + 2 pad]`` float32. Objects are soft-edged rectangles
    (door frames, shelves, posters, a vertical edge near the right border as in the real
    recordings); they produce events only through camera shake and flicker.
    """
    width, height = int(sensor_size[0]), int(sensor_size[1])
    scale = min(width, height) / REFERENCE_SIZE
    xs = ((np.arange(-pad, width + pad) - (width - 1) / 2.0) / scale + 63.5)[None, :]
    ys = ((np.arange(-pad, height + pad) - (height - 1) / 2.0) / scale + 63.5)[:, None]
    wall = rng.uniform(0.22, 0.6)
    img = wall * (
        1.0 + rng.uniform(-0.15, 0.15) * (xs - 64) / 64 + rng.uniform(-0.1, 0.1) * (ys - 64) / 64
    )
    img = np.broadcast_to(img, (ys.shape[0], xs.shape[1])).astype(np.float32).copy()
    edge = 0.8 / scale
    n_objects = int(rng.poisson(clutter))
    rects = []
    if rng.random() < 0.6:  # a door frame or wall corner at the right border
        x0 = rng.uniform(116.0, 126.0)
        rects.append((x0, x0 + rng.uniform(3.0, 12.0), -5.0, 140.0))
    for _ in range(n_objects):
        w = rng.uniform(4.0, 40.0)
        h = rng.uniform(4.0, 60.0)
        x0 = rng.uniform(-10.0, 128.0)
        y0 = rng.uniform(-10.0, 110.0)
        rects.append((x0, x0 + w, y0, y0 + h))
    for x0, x1, y0, y1 in rects:
        cover = np.clip(
            np.minimum(np.minimum(xs - x0, x1 - xs), np.minimum(ys - y0, y1 - ys)) / edge + 0.5,
            0.0,
            1.0,
        )
        value = np.clip(wall * np.exp(rng.normal(0.0, 0.45)), 0.03, 0.95)
        img += (value - img) * cover.astype(np.float32)
    return img
