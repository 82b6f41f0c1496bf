"""AdaptingBinner (adaptation fused with binning) gives exactly what the adapter then the
binner give: the same windows, counts and binner state, for random sensors, modes, packet
splits, unsorted and late events, gaps, out-of-sensor coordinates and bad polarities."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asa_live.events import SensorAdapter, StreamingBinner, make_events
from asa_live.events.adapt import ADAPT_MODES
from asa_live.events.adapt_bin import AdaptingBinner

TARGETS = [(128, 128), (64, 48), (30, 20)]


def _events(rng: np.random.Generator, n: int, sensor: tuple[int, int], disorder: bool):
    """Mostly sorted times with gaps; some coordinates past the sensor's edge."""
    steps = rng.choice([0, 1, 7, 300, 20_000, 2_000_000], n, p=[0.3, 0.3, 0.2, 0.1, 0.07, 0.03])
    t = np.cumsum(steps) + int(rng.integers(0, 1 << 40))
    if disorder and n > 1:  # a few steps back, some past the open window
        back = rng.random(n) < 0.05
        t[back] -= rng.integers(0, 100_000, int(back.sum()))
    width, height = sensor
    x = rng.integers(0, width + 3, n)
    y = rng.integers(0, height + 3, n)
    return make_events(t, np.minimum(x, 65535), np.minimum(y, 65535), rng.integers(0, 2, n))


def _state(binner: StreamingBinner) -> tuple:
    return (
        binner.t0_us,
        binner.open_window_index,
        binner.late_events,
        binner.skipped_windows,
        binner.total_events,
    )


def _run(push, binner: StreamingBinner, packets: list[np.ndarray]) -> tuple[list, list]:
    windows, states = [], []
    for packet in packets:
        try:
            got = push(packet)
        except ValueError as err:
            got = [("error", str(err).split("(")[0])]
        windows += [
            w if isinstance(w, tuple) else (w.index, w.t_start_us, w.t_end_us, w.n_events, w.frame)
            for w in got
        ]
        states.append(_state(binner))
    windows += [(w.index, w.t_start_us, w.t_end_us, w.n_events, w.frame) for w in binner.flush()]
    return windows, states


def _binner(target, downsample, window_us, max_gap):
    return StreamingBinner(window_us, target, downsample=downsample, max_gap_windows=max_gap)


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    width=st.integers(1, 1400),
    height=st.integers(1, 800),
    target=st.sampled_from(TARGETS),
    mode=st.sampled_from(ADAPT_MODES),
    area=st.booleans(),
    downsample=st.sampled_from([1, 2, 4]),
    window_us=st.sampled_from([1, 1000, 15_000]),
    max_gap=st.integers(0, 3),
    n=st.integers(0, 600),
    n_cuts=st.integers(0, 6),
    disorder=st.booleans(),
    bad_p=st.booleans(),
)
def test_fused_equals_adapter_then_binner(
    seed, width, height, target, mode, area, downsample, window_us, max_gap, n, n_cuts,
    disorder, bad_p,
):  # fmt: skip
    rng = np.random.default_rng(seed)
    events = _events(rng, n, (width, height), disorder)
    if bad_p and n:
        events["p"][rng.integers(0, n)] = rng.integers(2, 256)
    cuts = np.sort(rng.integers(0, n + 1, n_cuts))
    packets = np.split(events, cuts)
    adapter = SensorAdapter((width, height), target, mode=mode, area=area)
    reference = _binner(target, downsample, window_us, max_gap)
    expected = _run(lambda p: reference.push(adapter(p)), reference, packets)
    before = events.copy()
    binner = _binner(target, downsample, window_us, max_gap)
    fused = AdaptingBinner(SensorAdapter((width, height), target, mode=mode, area=area), binner)
    got = _run(fused.push, binner, packets)
    np.testing.assert_array_equal(events, before)  # the input is left alone
    assert got[1] == expected[1]
    assert len(got[0]) == len(expected[0])
    for a, b in zip(got[0], expected[0], strict=True):
        assert a[:-1] == b[:-1]
        if a[0] != "error":
            np.testing.assert_array_equal(a[-1], b[-1])


@pytest.mark.parametrize(
    ("sensor", "target", "downsample", "fused"),
    [
        ((1280, 720), (128, 128), 4, True),
        ((346, 260), (128, 128), 4, True),
        ((640, 480), (128, 128), 1, True),
        ((128, 128), (128, 128), 4, False),  # identity: out-of-sensor events must raise
        ((346, 260), (30, 20), 4, False),  # 30 % 4: the binner's margin rule
    ],
)
def test_fused_path_is_taken_where_the_tables_apply(sensor, target, downsample, fused):
    binner = StreamingBinner(15_000, target, downsample=downsample)
    assert AdaptingBinner(SensorAdapter(sensor, target), binner).fused is fused


def test_fused_real_sized_packets_equal_the_reference(rng):
    # 64 Ki-event packets as the file sources give them, 1280x720 like the EVT 3.0 recordings
    events = _events(rng, 3 << 16, (1280, 720), disorder=False)
    events["t"] = np.sort(rng.integers(0, 3_000_000, len(events)))
    packets = np.split(events, [1 << 16, 2 << 16])
    adapter = SensorAdapter((1280, 720))
    reference = StreamingBinner(15_000, (128, 128), downsample=4)
    expected = _run(lambda p: reference.push(adapter(p)), reference, packets)
    binner = StreamingBinner(15_000, (128, 128), downsample=4)
    got = _run(AdaptingBinner(adapter, binner).push, binner, packets)
    assert got[1] == expected[1] and len(got[0]) == len(expected[0]) > 150
    for a, b in zip(got[0], expected[0], strict=True):
        assert a[:-1] == b[:-1]
        np.testing.assert_array_equal(a[-1], b[-1])


def test_fused_rejects_what_the_adapter_rejects():
    binner = StreamingBinner(15_000, (128, 128), downsample=4)
    fused = AdaptingBinner(SensorAdapter((346, 260)), binner)
    with pytest.raises(ValueError, match="EVENT_DTYPE"):
        fused.push(np.zeros(3, np.int64))
    assert fused.push(make_events([], [], [], [])) == []
    with pytest.raises(ValueError, match="p > 1"):
        fused.push(make_events([5], [170], [130], [2]))
    assert fused.push(make_events([5], [0], [130], [2])) == []  # dropped before any check


def test_push_cells_refuses_a_binner_with_a_margin():
    binner = StreamingBinner(15_000, (30, 20), downsample=4)
    assert binner.crops_margin
    with pytest.raises(ValueError, match="downsample"):
        binner.push_cells(np.zeros(1, np.int64), np.zeros(1, binner.cell_index_dtype))
