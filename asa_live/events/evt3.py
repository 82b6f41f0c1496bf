"""Prophesee EVT 3.0 word streams without a header, decoded vectorised chunk by chunk (numpy).

eventcv decodes EVT 3.0 files only when their ``% evt 3.0`` header says so; a headerless
stream (``--format evt3``) goes through this decoder instead. It is checked event for event
against eventcv on the real EVT 3.0 files with their header cut off.

One little-endian 16-bit word each, type in bits 15..12:

    EVT_ADDR_Y (0x0): y in 10..0            EVT_ADDR_X (0x2): x in 10..0, polarity 11 -> 1 event
    VECT_BASE_X (0x3): x in 10..0, pol 11    VECT_12 (0x4) / VECT_8 (0x5): a 12 / 8-bit mask of
    EVT_TIME_LOW (0x6): t[11:0]              events at base_x + i; base_x then moves by 12 / 8
    EVT_TIME_HIGH (0x8): t[23:12]            EXT_TRIGGER (0xA): skipped and counted

    t = (wraps << 24) | (time_high << 12) | time_low, wraps + 1 whenever the time high decreases.
"""

from __future__ import annotations

import numpy as np

from asa_live.events.dtype import EVENT_DTYPE

__all__ = ["Evt3Decoder"]


_KNOWN = np.array([0x0, 0x2, 0x3, 0x4, 0x5, 0x6, 0x8, 0xA], np.uint8)
_BITS = np.arange(12, dtype=np.int64)


def _last(where: np.ndarray) -> np.ndarray:
    """For each word, the index of the last word at or before it where ``where`` holds, or -1."""
    return np.maximum.accumulate(np.where(where, np.arange(len(where)), -1))


def _fill(where: np.ndarray, values: np.ndarray, carried: int) -> np.ndarray:
    """``values`` at the last ``where`` word at or before each word, else ``carried``."""
    last = _last(where)
    return np.where(last >= 0, values[np.maximum(last, 0)], carried)


def _mask_bits(masks: np.ndarray, widths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, bit) of every set bit among the low ``widths`` bits of each mask, in order."""
    masks = masks & ((1 << widths) - 1)
    flat = np.flatnonzero((masks[:, None] >> _BITS[None, :]) & 1)
    return flat // 12, flat % 12


class Evt3Decoder:
    """Stateful decoder: feed consecutive uint16 word arrays, get EVENT_DTYPE packets.

    The time (with wraps), y, the vector base and how far vectors have moved it carry over
    between calls, as do the counters ``triggers`` and ``other_words``, so a stream cut at any
    word decodes like the whole."""

    def __init__(self) -> None:
        self.triggers = 0
        self.other_words = 0
        self._high = 0  # (wraps << 12) | time_high
        self._last_high: int | None = None
        self._low = 0
        self._y = 0
        self._base = 0  # (polarity << 11) | x of the last VECT_BASE_X
        self._advance = 0  # columns the vectors since that base have moved it

    def decode(self, words: np.ndarray) -> np.ndarray:
        """Decode one chunk of little-endian uint16 words."""
        if len(words) == 0:
            return np.empty(0, EVENT_DTYPE)
        kind = (words >> 12).astype(np.uint8)
        value = (words & 0xFFF).astype(np.int64)
        self.triggers += int(np.count_nonzero(kind == 0xA))
        self.other_words += len(words) - int(np.isin(kind, _KNOWN).sum())
        high = _fill(kind == 0x8, self._unwrapped_highs(kind, value), self._high)
        time = (high << 12) | _fill(kind == 0x6, value, self._low)
        y = _fill(kind == 0x0, value & 0x7FF, self._y)
        width = np.where(kind == 0x4, 12, np.where(kind == 0x5, 8, 0))
        spent = np.cumsum(width) - width  # columns moved by the vectors before each word
        base_at = _last(kind == 0x3)
        since = spent - np.where(base_at >= 0, spent[np.maximum(base_at, 0)], -self._advance)
        base = _fill(kind == 0x3, value, self._base)
        self._high, self._low, self._y = int(high[-1]), int(time[-1] & 0xFFF), int(y[-1])
        self._base, self._advance = int(base[-1]), int(since[-1] + width[-1])

        single = np.flatnonzero(kind == 0x2)
        vector = np.flatnonzero(width > 0)
        rows, bits = _mask_bits(value[vector], width[vector])
        at = np.concatenate((single, vector[rows]))
        x = np.concatenate((value[single] & 0x7FF, ((base & 0x7FF) + since)[vector][rows]))
        x[len(single) :] += bits
        p = np.concatenate((value[single] >> 11, base[vector][rows] >> 11))
        order = np.argsort(at, kind="stable")
        out = np.empty(len(at), EVENT_DTYPE)
        out["t"], out["y"] = time[at[order]], y[at[order]]
        out["x"], out["p"] = x[order], p[order]
        return out

    def _unwrapped_highs(self, kind: np.ndarray, value: np.ndarray) -> np.ndarray:
        """Full-length array holding (wraps << 12) | time_high at the TIME_HIGH words."""
        is_high = kind == 0x8
        highs = value[is_high]
        full = np.zeros(len(kind), np.int64)
        if len(highs) == 0:
            return full
        previous = np.empty_like(highs)
        previous[0] = highs[0] if self._last_high is None else self._last_high
        previous[1:] = highs[:-1]
        wraps = (self._high >> 12) + np.cumsum(highs < previous)
        self._last_high = int(highs[-1])
        full[is_high] = (wraps << 12) | highs
        return full
