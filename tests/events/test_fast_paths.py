"""The speed paths of read-and-bin give exactly what their plain definitions give: the
counting kernel in int32 and int64, the adapter's area draw against a per-event reference,
dv's record conversion, the sensor guard's shortcut and the EVT 3.0 trigger count."""

from __future__ import annotations

import numpy as np
import pytest

from asa_live.errors import InputFileError
from asa_live.events import EVENT_DTYPE, SensorAdapter, StreamingBinner, bin_events, make_events
from asa_live.events.counting import CHUNK_EVENTS, Counter
from asa_live.events.file_source import SensorGuard
from asa_live.events.prophesee import RawSource, count_evt3_triggers

from .helpers import naive_bin, random_events

MASK64 = (1 << 64) - 1


@pytest.mark.parametrize("wide", [False, True])
@pytest.mark.parametrize(("sensor", "downsample"), [((128, 128), 1), ((344, 260), 4)])
def test_counter_int32_and_int64_indices_count_the_same(wide, sensor, downsample, rng):
    # dense (many events per window) and sparse (few events over many windows) groups, and
    # one window holding more than a chunk of events
    dense = random_events(rng, 3 * CHUNK_EVENTS, sensor, t_max_us=40_000)
    sparse = random_events(rng, 300, sensor, t_max_us=3_000_000)
    sparse["t"] += 50_000
    events = np.concatenate([dense, sparse])
    counter = Counter(sensor, downsample, wide=wide)
    assert counter.index_dtype == (np.int64 if wide else np.int32)
    t0, window_us = int(events["t"][0]), 15_000
    out = np.empty(((int(events["t"][-1]) - t0) // window_us + 1, *_frame(counter)), np.float32)
    per_window = counter.count_sorted(events, t0, window_us, out)
    expected = naive_bin(events, window_us, sensor, downsample)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(per_window, expected.reshape(len(out), -1).sum(axis=1))


def test_counter_rejects_out_of_sensor_events_with_int32_indices():
    counter = Counter((64, 64), 1)
    assert counter.index_dtype == np.int32
    for bad in (make_events([0], [64], [0], [0]), make_events([0], [0], [0], [2])):
        with pytest.raises(ValueError, match="outside"):
            counter.count_sorted(bad, 0, 1000, np.empty((1, 2, 64, 64), np.float32))


def test_streaming_binner_on_small_packets_equals_bin_events(rng):
    events = random_events(rng, 20_000, (128, 128), t_max_us=2_000_000)
    binner = StreamingBinner(15_000, (128, 128), downsample=4)
    frames = []
    for a in range(0, len(events), 997):
        frames += [w.frame for w in binner.push(events[a : a + 997])]
    frames += [w.frame for w in binner.flush()]
    np.testing.assert_array_equal(np.stack(frames), bin_events(events, 15_000, (128, 128), 4))


def _frame(counter: Counter) -> tuple[int, int, int]:
    return (2, counter.out_h, counter.out_w)


def _draw(t: int, x: int, y: int) -> int:
    """The adapter's documented draw, with Python integers (splitmix64-style)."""
    key = (t * 0x9E3779B97F4A7C15) & MASK64
    key ^= (x * 0xC2B2AE3D27D4EB4F) & MASK64
    key ^= (y * 0x165667B19E3779F9) & MASK64
    key ^= key >> 31
    key = (key * 0xBF58476D1CE4E5B9) & MASK64
    key ^= key >> 29
    return key >> 32


def _area_axis(i: int, start: int, length: int, target: int, draw16: int) -> int | None:
    """Target coordinate of source coordinate ``i`` by the docstring's area rule."""
    j = i - start
    if not 0 <= j < length:
        return None
    first = j * target // length
    share = min(max(((first + 1) * length - j * target) * 65536 // target, 0), 65536)
    return first + (draw16 >= share)


def _reference(events: np.ndarray, adapter: SensorAdapter) -> list[tuple[int, int, int, int]]:
    x0, y0, cw, ch = adapter.region
    expected = []
    for t, x, y, p in events.tolist():
        draw = _draw(t, x, y)
        tx = _area_axis(x, x0, cw, 128, draw & 0xFFFF)
        ty = _area_axis(y, y0, ch, 128, draw >> 16)
        if tx is not None and ty is not None:
            expected.append((t, tx, ty, p))
    return expected


@pytest.mark.parametrize("sensor", [(1280, 720), (346, 260), (240, 180)])
def test_area_adapter_equals_a_per_event_reference(sensor, rng):
    events = random_events(rng, 400, sensor, t_max_us=1 << 40)
    adapter = SensorAdapter(sensor)
    x0, _, cw, _ = adapter.region
    inside = (events["x"] >= x0) & (events["x"] < x0 + cw)
    all_kept = events[inside]
    mostly_kept = events[inside | (np.arange(len(events)) < 8)]  # > 7/8 kept
    for packet in (events, all_kept, mostly_kept):
        before = packet.copy()
        got = adapter(packet)
        assert got.dtype == EVENT_DTYPE
        assert got.tolist() == _reference(packet, adapter)
        assert not np.shares_memory(got, packet)  # a fresh array; the input is left alone
        np.testing.assert_array_equal(packet, before)
    # the three cases are the adapter's three paths: all kept, at least 7/8 kept, fewer
    n_mostly = len(adapter(mostly_kept))
    assert len(mostly_kept) * 7 <= n_mostly * 8 and n_mostly < len(mostly_kept)
    assert len(adapter(events)) * 8 < len(events) * 7


def test_dv_records_convert_like_their_fields(tmp_path, rng):
    from asa_live.events.aedat4 import iter_aedat4, store_to_events, write_aedat4

    events = random_events(rng, 5000, (346, 260))
    write_aedat4(tmp_path / "a.aedat4", events, (346, 260))
    np.testing.assert_array_equal(np.concatenate(list(iter_aedat4(tmp_path / "a.aedat4"))), events)

    class PackedStore:  # a record layout other than dv 2.0.4's: the field-by-field path
        def numpy(self):
            dtype = [("timestamp", "<i8"), ("x", "<i2"), ("y", "<i2"), ("polarity", "i1")]
            raw = np.empty(len(events), dtype)
            for ours, theirs in zip("txyp", ("timestamp", "x", "y", "polarity"), strict=True):
                raw[theirs] = events[ours]
            return raw

    np.testing.assert_array_equal(store_to_events(PackedStore()), events)


def test_sensor_guard_shortcut_keeps_the_early_geometry_check():
    inside = make_events(np.arange(20), np.full(20, 5), np.full(20, 5), np.ones(20))
    mixed = make_events(
        np.arange(40), np.r_[np.full(36, 50), np.zeros(4)], np.zeros(40), np.zeros(40)
    )
    guard = SensorGuard((10, 10), "rec.raw", check_events=64)
    assert guard(inside) is inside  # nothing outside: the packet itself, no copy
    assert guard.seen == 20 and guard.dropped == 0
    guard = SensorGuard((10, 10), "rec.raw", check_events=64)
    kept = guard(mixed)  # 40 seen: too few to judge the geometry yet
    np.testing.assert_array_equal(kept, mixed[36:])
    assert guard.dropped == 36
    guard(inside)  # 60 seen
    # the check runs when 64 events have been seen, on an all-inside packet too
    with pytest.raises(InputFileError, match="36 of the first 70"):
        guard(inside[:10])


def test_trigger_count_over_several_buffers(tmp_path, rng):
    words = rng.integers(0, 1 << 16, 1_300_001, dtype=np.uint16)  # > two reads of 2**19 words
    head = b"% evt 3.0\n% end\n"
    path = tmp_path / "t.raw"
    path.write_bytes(head + words.astype("<u2").tobytes())
    expected = int(np.count_nonzero((words >> 12) == 0xA))
    assert expected > 0
    assert count_evt3_triggers(path, len(head)) == expected


def test_evt3_triggers_are_counted_after_a_complete_pass_only(tmp_path, rng):
    from .prophesee_writer import encode_evt3, header

    events = random_events(rng, 300, (640, 480))
    path = tmp_path / "trig.raw"
    path.write_bytes(header("3.0") + encode_evt3(events, triggers_after={3, 10, 299}))
    source = RawSource(path, packet_events=100)
    assert source.triggers == 0
    next(iter(source))  # a pass left early counts nothing
    assert source.triggers == 0
    np.testing.assert_array_equal(np.concatenate(list(source)), events)
    assert source.triggers == 3
    assert source.triggers == 3  # counted once, then kept


def test_adapter_is_per_event_for_any_packet_size_and_thread(rng):
    from concurrent.futures import ThreadPoolExecutor

    events = random_events(rng, 70_000, (1280, 720))  # above the 64 Ki work buffers
    adapter = SensorAdapter((1280, 720))
    whole = adapter(events)
    parts = np.concatenate([adapter(events[a : a + 999]) for a in range(0, len(events), 999)])
    np.testing.assert_array_equal(whole, parts)
    packets = [events[a : a + 5000] for a in range(0, len(events), 5000)] * 4
    with ThreadPoolExecutor(4) as pool:  # each thread hashes in its own buffers
        threaded = list(pool.map(adapter, packets))
    np.testing.assert_array_equal(np.concatenate(threaded[: len(packets) // 4]), whole)
    for a, b in zip(threaded, [adapter(p) for p in packets], strict=True):
        np.testing.assert_array_equal(a, b)


def test_evt3_whole_and_streamed_reads_give_the_same_packets(tmp_path, rng, monkeypatch):
    from asa_live.events import prophesee

    from .prophesee_writer import encode_evt3, header

    events = random_events(rng, 5000, (640, 480))
    path = tmp_path / "rec.raw"
    path.write_bytes(header("3.0") + encode_evt3(events))
    reads = []
    for whole_bytes in (0, 1 << 30):  # streamed through eventcv's index; one load
        monkeypatch.setattr(prophesee, "EVENTCV_WHOLE_BYTES", whole_bytes)
        packets = list(RawSource(path, packet_events=700))
        assert max(len(p) for p in packets) == 700
        reads.append(np.concatenate(packets))
    np.testing.assert_array_equal(reads[0], events)
    np.testing.assert_array_equal(reads[1], events)


class _FakeStore:
    """What iter_aedat4 uses of a dv.EventStore, with dv 2.0.4's record layout."""

    def __init__(self, events: np.ndarray) -> None:
        from asa_live.events.aedat4 import _DV_EVENT

        self.raw = np.zeros(len(events), _DV_EVENT)
        for ours, theirs in zip("txyp", ("timestamp", "x", "y", "polarity"), strict=True):
            self.raw[theirs] = events[ours]

    def size(self) -> int:
        return len(self.raw)

    def numpy(self) -> np.ndarray:
        return self.raw


class _FakeRecording:
    def __init__(self, batches: list, fail_after: int | None = None) -> None:
        self.batches, self.fail_after, self.calls = list(batches), fail_after, 0

    def getNextEventBatch(self):  # noqa: N802 - dv's name
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise RuntimeError("IOError: damaged packet\nStacktrace:\n0# dv::io::read")
        return self.batches.pop(0) if self.batches else None


def test_aedat4_batches_gather_into_packets_by_count_and_span(rng):
    from asa_live.events.aedat4 import iter_aedat4

    events = random_events(rng, 9000, (128, 128), t_max_us=3_000_000)
    batches = [_FakeStore(events[a : a + 1000]) for a in range(0, len(events), 1000)]
    by_count = iter_aedat4(recording=_FakeRecording(batches), packet_events=2500, packet_us=1 << 40)
    packets = list(by_count)
    np.testing.assert_array_equal(np.concatenate(packets), events)
    assert [len(p) for p in packets] == [3000, 3000, 3000]  # whole batches, >= 2500 each
    spans = list(iter_aedat4(recording=_FakeRecording(batches), packet_us=500_000))
    np.testing.assert_array_equal(np.concatenate(spans), events)
    assert all(int(p["t"][-1]) - int(p["t"][0]) < 500_000 + 400_000 for p in spans)
    assert len(spans) > 3  # 3 s in packets of about half a second
    each = list(iter_aedat4(recording=_FakeRecording(batches), packet_events=1, packet_us=1 << 40))
    assert [len(p) for p in each] == [1000] * 9  # one packet per batch


def test_aedat4_damaged_midway_yields_what_was_read_then_one_sentence(rng):
    from asa_live.events.aedat4 import iter_aedat4

    events = random_events(rng, 3000, (128, 128))
    batches = [_FakeStore(events[a : a + 1000]) for a in range(0, len(events), 1000)]
    got = []
    with pytest.raises(InputFileError, match="IOError: damaged packet") as err:
        for packet in iter_aedat4(recording=_FakeRecording(batches, fail_after=2)):
            got.append(packet)
    assert "Stacktrace" not in str(err.value)
    np.testing.assert_array_equal(np.concatenate(got), events[:2000])
