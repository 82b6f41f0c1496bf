"""bin_events against a naive reference; StreamingBinner == bin_events for any packet split;
gap and backwards-time policies."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asa_live.events import BinnedWindow, StreamingBinner, bin_events, make_events

from .helpers import naive_bin, random_events


@st.composite
def streams(draw, sort=True):
    width = draw(st.integers(1, 12))
    height = draw(st.integers(1, 12))
    n = draw(st.integers(0, 300))
    span = draw(st.integers(1, 200_000))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    events = random_events(rng, n, (width, height), span, sort=sort)
    window_us = draw(st.integers(1, 30_000))
    downsample = draw(st.integers(1, min(width, height)))
    return events, window_us, (width, height), downsample


@settings(max_examples=300, deadline=None)
@given(case=streams(sort=False), use_t0=st.booleans(), t0=st.integers(0, 100_000))
def test_bin_events_matches_reference(case, use_t0, t0):
    events, window_us, sensor_size, downsample = case
    t0_us = t0 if use_t0 else None
    got = bin_events(events, window_us, sensor_size, downsample, t0_us)
    want = naive_bin(events, window_us, sensor_size, downsample, t0_us)
    assert got.dtype == np.float32
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_large_sorted_and_shuffled_agree(rng):
    events = random_events(rng, 400_000, (128, 128), 3_000_000)
    want = naive_bin(events, 15_000, (128, 128), 4)
    np.testing.assert_array_equal(bin_events(events, 15_000, (128, 128), 4), want)
    shuffled = events[rng.permutation(len(events))]
    np.testing.assert_array_equal(bin_events(shuffled, 15_000, (128, 128), 4), want)


def test_one_dense_window_is_counted_in_chunks(rng):
    events = random_events(rng, 300_000, (8, 8), 10)  # all in one window
    got = bin_events(events, 1000, (8, 8))
    assert got.shape == (1, 2, 8, 8)
    np.testing.assert_array_equal(got, naive_bin(events, 1000, (8, 8)))


def test_shape_semantics():
    events = make_events([100, 100, 149, 250], [0, 3, 1, 2], [0, 1, 2, 0], [0, 1, 1, 0])
    frames = bin_events(events, 50, (4, 3))
    assert frames.shape == (4, 2, 3, 4)  # windows [100,150) [150,200) [200,250) [250,300)
    assert frames[0, 0, 0, 0] == 1 and frames[0, 1, 1, 3] == 1 and frames[0, 1, 2, 1] == 1
    assert frames[1].sum() == 0 and frames[2].sum() == 0
    assert frames[3, 0, 0, 2] == 1
    # t0 before the first event adds leading empty windows; after it drops earlier events
    assert bin_events(events, 50, (4, 3), t0_us=0).shape[0] == 6
    assert bin_events(events, 50, (4, 3), t0_us=150).sum() == 1
    assert bin_events(events, 50, (4, 3), t0_us=1000).shape == (0, 2, 3, 4)
    assert bin_events(make_events([], [], [], []), 50, (4, 3), 2).shape == (0, 2, 1, 2)


def test_invalid_arguments():
    events = make_events([1], [5], [0], [0])
    with pytest.raises(ValueError, match="outside the 4x4 sensor"):
        bin_events(events, 10, (4, 4))
    with pytest.raises(ValueError, match="window_us"):
        bin_events(make_events([1], [0], [0], [0]), 0, (4, 4))
    with pytest.raises(ValueError, match="downsample"):
        bin_events(make_events([1], [0], [0], [0]), 10, (4, 4), downsample=0)
    with pytest.raises(ValueError, match="p > 1"):
        bin_events(make_events([1], [0], [0], [2]), 10, (4, 4))
    with pytest.raises(ValueError, match="EVENT_DTYPE"):
        bin_events(np.zeros(3), 10, (4, 4))
    with pytest.raises(ValueError, match="StreamingBinner"):
        bin_events(make_events([0, 10**13], [0, 0], [0, 0], [0, 0]), 1, (128, 128))


def _stream(binner: StreamingBinner, events: np.ndarray, cuts) -> list[BinnedWindow]:
    out: list[BinnedWindow] = []
    for part in np.split(events, sorted(cuts)):
        out += binner.push(part)
    return out + binner.flush()


@settings(max_examples=300, deadline=None)
@given(case=streams(), cut_seed=st.integers(0, 2**32 - 1), n_cuts=st.integers(0, 12))
def test_streaming_equals_bin_events_for_any_split(case, cut_seed, n_cuts):
    events, window_us, sensor_size, downsample = case
    cuts = np.random.default_rng(cut_seed).integers(0, len(events) + 1, n_cuts)
    binner = StreamingBinner(window_us, sensor_size, downsample, max_gap_windows=10**9)
    windows = _stream(binner, events, cuts)
    want = bin_events(events, window_us, sensor_size, downsample)
    assert [w.index for w in windows] == list(range(len(want)))
    got = np.stack([w.frame for w in windows]) if windows else want
    np.testing.assert_array_equal(got, want)
    assert sum(w.n_events for w in windows) == int(want.sum())
    if windows:
        t0 = int(events["t"][0])
        assert windows[0].t_start_us == t0
        assert all(w.t_end_us - w.t_start_us == window_us for w in windows)
        assert all(w.frame.shape == binner.frame_shape for w in windows)
    assert binner.late_events == 0 and binner.skipped_windows == 0


def test_frame_leaves_when_an_event_reaches_its_end():
    binner = StreamingBinner(100, (2, 2), t0_us=0)
    assert binner.push(make_events([10, 99], [0, 1], [0, 0], [1, 1])) == []
    out = binner.push(make_events([100], [0], [0], [0]))  # at the end of window 0
    assert [w.index for w in out] == [0] and out[0].n_events == 2
    assert binner.flush()[0].index == 1
    assert binner.flush() == []  # nothing left open


def test_gap_policy_emits_at_most_max_gap_windows_then_jumps():
    window_us = 15_000
    binner = StreamingBinner(window_us, (4, 4), max_gap_windows=5)
    hour = 3600 * 10**6
    out = binner.push(make_events([0, hour], [0, 1], [0, 1], [1, 0]))
    out += binner.flush()
    indices = [w.index for w in out]
    last = hour // window_us
    assert indices == [0, 1, 2, 3, 4, 5, last]  # event window, 5 zero frames, then the jump
    assert all(w.frame.sum() == 0 for w in out[1:6])
    assert out[-1].t_start_us == last * window_us and out[-1].frame[0, 1, 1] == 1
    assert binner.skipped_windows == last - 1 - 5
    # the same happens across packets
    binner = StreamingBinner(window_us, (4, 4), max_gap_windows=2)
    binner.push(make_events([0], [0], [0], [1]))
    out = binner.push(make_events([hour], [0], [0], [1]))
    assert [w.index for w in out] == [0, 1, 2]
    assert binner.open_window_index == last


def test_frames_equal_bin_events_where_emitted_despite_gaps(rng):
    parts = [random_events(rng, 200, (8, 8), 50_000)]
    parts.append(random_events(rng, 200, (8, 8), 50_000))
    parts[1]["t"] += 10_000_000
    events = np.concatenate(parts)
    want = bin_events(events, 1000, (8, 8))
    binner = StreamingBinner(1000, (8, 8), max_gap_windows=3)
    windows = _stream(binner, events, [100, 250, 390])
    for w in windows:
        np.testing.assert_array_equal(w.frame, want[w.index])
    emitted = {w.index for w in windows}
    assert all(want[i].sum() == 0 for i in range(len(want)) if i not in emitted)
    assert binner.skipped_windows == len(want) - len(windows)


def test_backwards_timestamps_are_dropped_and_counted():
    binner = StreamingBinner(100, (2, 2), t0_us=0)
    out = binner.push(make_events([50, 250], [0, 0], [0, 0], [1, 1]))  # closes 0 and 1
    assert [w.index for w in out] == [0, 1]
    # 120 is in window 1 (already gone): late; 210 is in the open window 2: counted
    binner.push(make_events([120, 210, 90], [1, 1, 1], [1, 1, 1], [0, 0, 0]))
    assert binner.late_events == 2
    last = binner.flush()
    assert last[0].index == 2 and last[0].n_events == 2
    # within a packet, order does not matter for windows still open
    binner = StreamingBinner(100, (2, 2), t0_us=0)
    out = binner.push(make_events([250, 40, 130], [0, 0, 0], [0, 0, 0], [1, 1, 1]))
    assert [w.n_events for w in out] == [1, 1] and binner.late_events == 0


def test_advance_to_closes_idle_windows_and_reset():
    binner = StreamingBinner(100, (2, 2), t0_us=0, max_gap_windows=10)
    binner.push(make_events([5], [0], [0], [1]))
    out = binner.advance_to(350)
    assert [w.index for w in out] == [0, 1, 2]
    assert binner.advance_to(360) == []
    binner.reset()
    assert binner.open_window_index == 0 and binner.late_events == 0
    assert binner.t0_us == 0


def test_t0_is_first_event_when_not_given():
    binner = StreamingBinner(10, (2, 2))
    assert binner.t0_us is None
    assert binner.advance_to(1000) == []
    binner.push(make_events([1234], [0], [0], [0]))
    assert binner.t0_us == 1234
