"""Prophesee EVT 2.0 and EVT 2.1 word streams, decoded vectorised and chunk by chunk (numpy).

eventcv (the library behind the ``[prophesee]`` extra) reads EVT 2.0 only by loading the whole
file, and has no EVT 2.1 at all, so these two small decoders exist to stream them. They are
checked event for event against eventcv's bulk reading of the real EVT 2.0 files.

EVT 2.0, one little-endian 32-bit word per event, type in bits 31..28:

    CD_OFF (0x0) / CD_ON (0x1): t[5:0] in 27..22, x in 21..11, y in 10..0
    EV_TIME_HIGH (0x8):         t[33:6] in 27..0
    EXT_TRIGGER (0xA):          skipped and counted; OTHERS (0xE), CONTINUED (0xF): skipped

    t = (time_high << 6) | t_low, plus 2**34 us for every time the 28-bit time high wrapped
    (a time high smaller than the previous one).

EVT 2.1, one little-endian 64-bit word, type in bits 63..60: EVT_NEG (0x0) / EVT_POS (0x1)
carry t[5:0] in 59..54, a 32-aligned x base in 53..43, y in 42..32 and a 32-bit mask in 31..0
(bit i set: an event at x + i); EV_TIME_HIGH (0x8) carries t[33:6] in 59..32.
"""

from __future__ import annotations

import numpy as np

from asa_live.events.dtype import EVENT_DTYPE

__all__ = ["EvtDecoder", "WORD_BYTES"]

WORD_BYTES = {"evt2": 4, "evt21": 8}
_TIME_HIGH_BITS = 28


class EvtDecoder:
    """Stateful decoder: feed consecutive word arrays, get EVENT_DTYPE packets.

    The time high, its wrap count, and the counters ``triggers`` (EXT_TRIGGER words) and
    ``other_words`` (any other non-event word) carry over between calls, so a file cut into
    chunks at any word boundary decodes exactly like the whole file.
    """

    def __init__(self, version: str) -> None:
        if version not in WORD_BYTES:
            raise ValueError(f"EvtDecoder: version must be evt2 or evt21, got {version!r}")
        self.version = version
        self.word_dtype = np.dtype("<u4" if version == "evt2" else "<u8")
        self.triggers = 0
        self.other_words = 0
        self._last_high: int | None = None
        self._wraps = 0
        self._high_us = 0  # the current (time_high << 6) including wraps

    def decode(self, words: np.ndarray) -> np.ndarray:
        """Decode one chunk of words (uint32 for EVT 2.0, uint64 for EVT 2.1)."""
        shift = 28 if self.version == "evt2" else 60
        kind = (words >> shift).astype(np.uint8)
        is_high = kind == 8
        is_cd = kind <= 1
        n_trig = int(np.count_nonzero(kind == 0xA))
        self.triggers += n_trig
        self.other_words += len(words) - int(is_cd.sum()) - int(is_high.sum()) - n_trig
        high_at = np.flatnonzero(is_high)
        bases = self._time_highs(words[high_at])
        cd_at = np.flatnonzero(is_cd)
        # Each CD word takes the last time high before it (or the one carried in).
        which = np.searchsorted(high_at, cd_at, side="right")
        base = np.concatenate(([self._high_us], bases))[which]
        if len(bases):
            self._high_us = int(bases[-1])
        cd = words[cd_at]
        if self.version == "evt2":
            return _cd_events(base, cd, 22, 11, 0, kind[cd_at])
        return self._expand_vectors(base, cd, kind[cd_at])

    def _time_highs(self, high_words: np.ndarray) -> np.ndarray:
        """(time_high << 6) in us for each time-high word, with 28-bit wraps unrolled."""
        shift = 0 if self.version == "evt2" else 32
        highs = ((high_words >> shift) & 0x0FFFFFFF).astype(np.int64)
        if len(highs) == 0:
            return highs
        previous = np.empty_like(highs)
        previous[0] = highs[0] if self._last_high is None else self._last_high
        previous[1:] = highs[:-1]
        wraps = self._wraps + np.cumsum(highs < previous)
        self._last_high = int(highs[-1])
        self._wraps = int(wraps[-1])
        return (highs + (wraps << _TIME_HIGH_BITS)) << 6

    def _expand_vectors(self, base: np.ndarray, cd: np.ndarray, kind: np.ndarray) -> np.ndarray:
        rows, offsets = _set_bits(cd)
        events = _cd_events(base[rows], cd[rows], 54, 43, 32, kind[rows])
        events["x"] += offsets.astype(np.uint16)
        return events


def _set_bits(cd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(word index, bit index) of every set bit of the low 32 bits of each word, in order.

    The mask is the first 4 bytes of a little-endian word: only its nonzero bytes are expanded,
    through a table of the set-bit positions of each byte value (masks are sparse)."""
    mask_bytes = cd.view(np.uint8).reshape(-1, 8)[:, :4].ravel()
    nonzero = np.flatnonzero(mask_bytes)
    values = mask_bytes[nonzero]
    counts = _BIT_COUNT[values]
    starts = np.cumsum(counts) - counts
    which = np.repeat(np.arange(len(nonzero)), counts)
    kth = np.arange(len(which)) - starts[which]
    byte_index = nonzero[which]
    bit = (byte_index & 3) * 8 + _BIT_POSITIONS[values[which], kth]
    return byte_index >> 2, bit


def _bit_tables() -> tuple[np.ndarray, np.ndarray]:
    bits = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little")
    positions = np.zeros((256, 8), np.int64)
    for value in range(256):
        where = np.flatnonzero(bits[value])
        positions[value, : len(where)] = where
    return bits.sum(axis=1).astype(np.int64), positions


_BIT_COUNT, _BIT_POSITIONS = _bit_tables()


def _cd_events(
    base: np.ndarray, cd: np.ndarray, t_shift: int, x_shift: int, y_shift: int, kind: np.ndarray
) -> np.ndarray:
    out = np.empty(len(cd), EVENT_DTYPE)
    out["t"] = base + ((cd >> t_shift) & 0x3F).astype(np.int64)
    out["x"] = (cd >> x_shift) & 0x7FF
    out["y"] = (cd >> y_shift) & 0x7FF
    out["p"] = kind
    return out
