"""Prophesee RAW and DAT encoders written from the format specs, for tests only: they make
files with known events, triggers, time-high wraps and broken headers. A plain per-word
reference EVT 3.0 decoder checks eventcv on the real files independently."""

from __future__ import annotations

import numpy as np


def header(evt: str | None = "2.0", geometry: str | None = "640x480", extra=()) -> bytes:
    lines = ["% date 2026-01-01 00:00:00"]
    if evt is not None:
        lines.append(f"% evt {evt}")
    if geometry is not None:
        lines.append(f"% geometry {geometry}")
    lines += list(extra)
    return ("\n".join(lines) + "\n").encode()


def encode_evt2(events: np.ndarray, triggers_after=()) -> bytes:
    """One TIME_HIGH word whenever t >> 6 changes, one CD word per event; an EXT_TRIGGER word
    after each event index in ``triggers_after``."""
    words, high = [], None
    for i, (t, x, y, p) in enumerate(zip(*(events[k].tolist() for k in "txyp"), strict=True)):
        if t >> 6 != high:
            high = t >> 6
            words.append((8 << 28) | (high & 0x0FFFFFFF))
        words.append((int(p) << 28) | ((t & 0x3F) << 22) | (x << 11) | y)
        if i in triggers_after:
            words.append((0xA << 28) | ((t & 0x3F) << 22) | 1)
    return np.array(words, "<u4").tobytes()


def encode_evt21(events: np.ndarray) -> bytes:
    """Groups events of the same t, y, polarity and 32-column block into one vector word."""
    words, high = [], None
    groups: dict[tuple, int] = {}
    order = []
    for t, x, y, p in zip(*(events[k].tolist() for k in "txyp"), strict=True):
        key = (t, y, int(p), x & ~31)
        if key not in groups:
            groups[key] = 0
            order.append(key)
        groups[key] |= 1 << (x & 31)
    for t, y, p, x0 in order:
        if t >> 6 != high:
            high = t >> 6
            words.append((8 << 60) | ((high & 0x0FFFFFFF) << 32))
        words.append(
            (p << 60) | ((t & 0x3F) << 54) | (x0 << 43) | (y << 32) | groups[(t, y, p, x0)]
        )
    return np.array(words, "<u8").tobytes()


def encode_evt3(events: np.ndarray, triggers_after=()) -> bytes:
    """TIME_HIGH / TIME_LOW when they change, ADDR_Y, then ADDR_X per event (no vectors).
    Like a sensor, every TIME_HIGH step in between is sent, so a 24-bit wrap is visible."""
    words, step, low = [], None, None
    for i, (t, x, y, p) in enumerate(zip(*(events[k].tolist() for k in "txyp"), strict=True)):
        if t >> 12 != step:
            first = t >> 12 if step is None else step + 1
            words += [(0x8 << 12) | (s & 0xFFF) for s in range(first, (t >> 12) + 1)]
            step = t >> 12
        if t & 0xFFF != low:
            low = t & 0xFFF
            words.append((0x6 << 12) | low)
        words.append(y)
        words.append((0x2 << 12) | (int(p) << 11) | x)
        if i in triggers_after:
            words.append((0xA << 12) | 1)
    return np.array(words, "<u2").tobytes()


def encode_dat(events: np.ndarray, geometry: tuple[int, int] | None = None) -> bytes:
    lines = ["% Data file containing Event2D events.", "% Version 2"]
    if geometry is not None:
        lines += [f"% Width {geometry[0]}", f"% Height {geometry[1]}"]
    head = ("\n".join(lines) + "\n").encode() + bytes([0, 8])
    records = np.empty((len(events), 2), "<u4")
    records[:, 0] = events["t"]
    records[:, 1] = (
        events["x"].astype(np.uint32)
        | (events["y"].astype(np.uint32) << 14)
        | (events["p"].astype(np.uint32) << 28)
    )
    return head + records.tobytes()


def reference_evt3(data: bytes) -> np.ndarray:
    """(N, 4) int64 t, x, y, p from an EVT 3.0 payload, one word at a time, straight from the
    spec: 24-bit time (TIME_HIGH bits 23..12 + TIME_LOW bits 11..0) unwrapped on overflow,
    ADDR_Y, ADDR_X (one event), VECT_BASE_X + VECT_12 / VECT_8 (masks from the base)."""
    high = low = wraps = y = base_x = base_p = 0
    last_high = None
    out = []
    for word in np.frombuffer(data, "<u2").tolist():
        kind, value = word >> 12, word & 0xFFF
        if kind == 0x8:
            if last_high is not None and value < last_high:
                wraps += 1
            high = last_high = value
        elif kind == 0x6:
            low = value
        elif kind == 0x0:
            y = word & 0x7FF
        else:
            t = (wraps << 24) | (high << 12) | low
            if kind == 0x2:
                out.append((t, word & 0x7FF, y, (word >> 11) & 1))
            elif kind == 0x3:
                base_x, base_p = word & 0x7FF, (word >> 11) & 1
            elif kind in (0x4, 0x5):
                n = 12 if kind == 0x4 else 8
                out += [(t, base_x + i, y, base_p) for i in range(n) if value >> i & 1]
                base_x += n
    return np.array(out, np.int64).reshape(-1, 4)
