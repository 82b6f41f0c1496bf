"""A DVS pixel model: intensity frames in, time-sorted ON/OFF events out.

Per pixel ``i`` with log intensity ``L_i(t) = log(I_i(t) + I_dark)``:

* the pixel remembers a reference level ``R_i`` (the level at its last event);
* an ON event fires each time ``L_i - R_i`` rises past ``+C_on,i``, an OFF event each time it
  falls past ``-C_off,i``; ``R_i`` then moves by one threshold;
* thresholds carry per-pixel mismatch ``C_i = C * (1 + sigma * N(0, 1))``;
* between two rendered frames ``L_i`` is taken to be linear in time, and each crossing gets
  the time at which that line meets its level, so timestamps resolve far finer than the
  frame period (frames at 250 Hz give crossing times to the microsecond);
* after an event the pixel is blind for a refractory period: crossings closer than it to the
  previous kept event are dropped (the reference still moves, as the change is lost);
* background activity: Poisson noise events with a per-pixel rate (log-normal across pixels),
  plus a few hot pixels firing at a high rate.

``I_dark`` makes dark pixels less sensitive, as the photoreceptor's dark current does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asa_live.events.dtype import EVENT_DTYPE


@dataclass(frozen=True)
class DvsParams:
    """Pixel-model parameters (contrast thresholds in log-intensity units, rates in Hz)."""

    threshold_on: float = 0.22
    threshold_off: float = 0.22
    mismatch_sigma: float = 0.025
    refractory_us: float = 400.0
    dark_level: float = 0.04
    noise_rate_hz: float = 0.15
    noise_on_fraction: float = 0.6
    hot_pixels: int = 2
    hot_rate_hz: tuple[float, float] = (5.0, 60.0)
    hot_rate_log_uniform: bool = False  # rates spread over decades (1 Hz .. 2 kHz)
    max_events_per_step: int = 8

    def validate(self) -> None:
        for name in ("threshold_on", "threshold_off"):
            if not 0.01 <= getattr(self, name) <= 2.0:
                raise ValueError(f"{name} must be in [0.01, 2], got {getattr(self, name)}")
        if self.mismatch_sigma < 0 or self.refractory_us < 0 or self.noise_rate_hz < 0:
            raise ValueError("mismatch_sigma, refractory_us and noise_rate_hz must be >= 0")
        if self.dark_level <= 0:
            raise ValueError(f"dark_level must be > 0, got {self.dark_level}")


class DvsPixelArray:
    """State of a ``height x width`` pixel array fed with successive intensity frames.

    Call :meth:`reset` with the first frame, then :meth:`step` for each next frame; each step
    returns the events of the interval ``(t_prev, t_next]`` as an EVENT_DTYPE array sorted by
    time. :meth:`noise` gives the background activity of a whole time span separately.
    """

    def __init__(
        self, width: int, height: int, params: DvsParams, rng: np.random.Generator
    ) -> None:
        params.validate()
        self.width, self.height = int(width), int(height)
        self.params = params
        n = self.width * self.height
        self.c_on = (
            params.threshold_on * (1.0 + params.mismatch_sigma * rng.standard_normal(n))
        ).astype(np.float32)
        self.c_off = (
            params.threshold_off * (1.0 + params.mismatch_sigma * rng.standard_normal(n))
        ).astype(np.float32)
        np.maximum(self.c_on, 0.01, out=self.c_on)
        np.maximum(self.c_off, 0.01, out=self.c_off)
        # A random start inside the dead band: real pixels are not all freshly reset.
        self._ref_jitter = rng.uniform(-0.5, 0.5, n).astype(np.float32)
        self.ref = np.zeros(n, np.float32)
        self.level = np.zeros(n, np.float32)
        self.last_us = np.full(n, -1e12)
        self.t_us = 0.0
        # Leak rates spread log-normally across pixels; a few hot pixels fire far more often.
        weights = rng.lognormal(0.0, 0.8, n)
        self.noise_weights = weights / weights.sum()
        n_hot = min(params.hot_pixels, n)
        self.hot_index = rng.choice(n, size=n_hot, replace=False)
        lo, hi = params.hot_rate_hz
        if params.hot_rate_log_uniform:
            self.hot_rate_hz = np.exp(rng.uniform(np.log(lo), np.log(hi), n_hot))
        else:
            self.hot_rate_hz = rng.uniform(lo, hi, n_hot)
        self.hot_polarity = rng.integers(0, 2, n_hot).astype(np.uint8)

    def log_intensity(self, intensity: np.ndarray) -> np.ndarray:
        out = np.add(intensity.reshape(-1), np.float32(self.params.dark_level), dtype=np.float32)
        return np.log(out, out=out)

    def reset(self, intensity: np.ndarray, t_us: float) -> None:
        """Start from frame ``intensity`` ``[H, W]`` at time ``t_us``."""
        self.level = self.log_intensity(intensity)
        self.ref = self.level + self._ref_jitter * np.where(
            self._ref_jitter > 0, self.c_on, self.c_off
        )
        self.last_us[:] = -1e12
        self.t_us = float(t_us)

    def step(self, intensity: np.ndarray, t_us: float) -> np.ndarray:
        """Advance to frame ``intensity`` ``[H, W]`` at ``t_us``; events in ``(t_prev, t_us]``."""
        p = self.params
        new = self.log_intensity(intensity)
        old = self.level
        t0, dt = self.t_us, float(t_us) - self.t_us
        diff = new - self.ref
        active = np.flatnonzero((diff >= self.c_on) | (diff <= -self.c_off))
        self.level = new
        self.t_us = float(t_us)
        if active.size == 0:
            return np.zeros(0, EVENT_DTYPE)
        d = diff[active]
        on = d > 0
        thr = np.where(on, self.c_on[active], self.c_off[active])
        sign = np.where(on, 1.0, -1.0).astype(np.float32)
        n_cross = np.floor(np.abs(d) / thr).astype(np.int64)
        ref = self.ref[active]
        self.ref[active] = ref + sign * n_cross * thr
        slope = new[active] - old[active]  # log change over this frame interval
        # Crossings are evenly spaced in time; the refractory period keeps every m-th one.
        safe_slope = np.where(np.abs(slope) > 1e-9, np.abs(slope), 1e-9)
        spacing_us = thr / safe_slope * dt
        keep_every = np.maximum(1, np.ceil(p.refractory_us / np.maximum(spacing_us, 1e-3))).astype(
            np.int64
        )
        n_kept = np.minimum((n_cross + keep_every - 1) // keep_every, p.max_events_per_step)
        total = int(n_kept.sum())
        if total == 0:
            return np.zeros(0, EVENT_DTYPE)
        pix = np.repeat(np.arange(active.size), n_kept)
        first = np.cumsum(n_kept) - n_kept
        rank = np.arange(total) - np.repeat(first, n_kept)
        k = 1 + rank * keep_every[pix]  # crossing number 1.. of each kept event
        level = ref[pix] + sign[pix] * k * thr[pix]
        frac = (level - old[active][pix]) / np.where(np.abs(slope[pix]) > 1e-9, slope[pix], 1e-9)
        t_ev = t0 + np.clip(frac, 0.0, 1.0) * dt
        flat = active[pix]
        # Integer microseconds inside (t_prev, t_next], so consecutive steps stay in order.
        t_int = np.clip(np.ceil(t_ev), np.floor(t0) + 1, np.floor(t_us)).astype(np.int64)
        # Respect the refractory period across frame boundaries too.
        ok = t_int >= self.last_us[flat] + p.refractory_us
        if not ok.all():
            t_int, flat, pix = t_int[ok], flat[ok], pix[ok]
        if t_int.size:
            self.last_us[flat] = t_int  # later kept events of a pixel overwrite earlier ones
        out = np.empty(t_int.size, EVENT_DTYPE)
        out["t"] = t_int
        out["x"] = flat % self.width
        out["y"] = flat // self.width
        out["p"] = on[pix]
        order = np.argsort(out["t"], kind="stable")
        return out[order]

    def noise(
        self, t_start_us: int, t_end_us: int, rng: np.random.Generator, rate_scale: float = 1.0
    ) -> np.ndarray:
        """Background activity and hot-pixel events in ``[t_start_us, t_end_us)``, time-sorted."""
        p = self.params
        n_pix = self.width * self.height
        span_s = max(t_end_us - t_start_us, 0) * 1e-6
        mean_rate = p.noise_rate_hz * rate_scale
        n_noise = int(rng.poisson(mean_rate * n_pix * span_s)) if mean_rate > 0 else 0
        # Log-normal spread of leak rates across pixels, drawn per event from the pixel weights.
        pix = (
            rng.choice(n_pix, size=n_noise, p=self.noise_weights)
            if n_noise
            else np.zeros(0, np.int64)
        )
        pol = (rng.random(n_noise) < p.noise_on_fraction).astype(np.uint8)
        parts_pix, parts_pol = [pix], [pol]
        for h_pix, h_rate, h_pol in zip(
            self.hot_index, self.hot_rate_hz, self.hot_polarity, strict=True
        ):
            n_h = int(rng.poisson(h_rate * span_s))
            parts_pix.append(np.full(n_h, h_pix, np.int64))
            parts_pol.append(np.where(rng.random(n_h) < 0.9, h_pol, 1 - h_pol).astype(np.uint8))
        allpix = np.concatenate(parts_pix)
        allpol = np.concatenate(parts_pol)
        t = rng.integers(t_start_us, max(t_end_us, t_start_us + 1), allpix.size)
        out = np.empty(allpix.size, EVENT_DTYPE)
        out["t"] = t
        out["x"] = allpix % self.width
        out["y"] = allpix // self.width
        out["p"] = allpol
        return out[np.argsort(out["t"], kind="stable")]
