"""Sources: AEDAT4 replay (fast, paced, looping), IBM .aedat, tonic .npy, arrays, open_source."""

from __future__ import annotations

import numpy as np
import pytest

from asa_live.errors import ConfigError, InputFileError
from asa_live.events import (
    EVENT_DTYPE,
    Aedat4FileSource,
    ArraySource,
    EventSource,
    IbmAedatSource,
    TonicNpySource,
    open_source,
    write_aedat31,
)
from asa_live.events.sources import Pacer
from asa_live.events.tonic_npy import events_to_tonic_array, write_tonic_npy

from .helpers import random_events


class FakeClock:
    """A clock that only moves when slept on, recording every sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def aedat4_file(tmp_path, rng):
    pytest.importorskip("dv_processing")
    from asa_live.events.aedat4 import write_aedat4

    events = random_events(rng, 20_000, (240, 180), 2_000_000)
    events["t"] += 1_000_000
    path = tmp_path / "rec.aedat4"
    write_aedat4(path, events, (240, 180))
    return path, events


def test_aedat4_fast_replay(aedat4_file):
    path, events = aedat4_file
    with Aedat4FileSource(path) as source:
        assert isinstance(source, EventSource)
        assert source.sensor_size == (240, 180) and source.name == "rec.aedat4"
        packets = list(source)
    assert len(packets) > 1  # fine-grained packets, not one block
    np.testing.assert_array_equal(np.concatenate(packets), events)


@pytest.mark.parametrize("speed", [0.1, 1.0, 100.0])
def test_aedat4_paced_replay_sleeps_per_packet(aedat4_file, speed):
    path, events = aedat4_file
    clock = FakeClock()
    source = Aedat4FileSource(path, speed=speed, clock=clock, sleep=clock.sleep)
    start = clock.now
    packets = list(source)
    span_s = (int(events["t"][-1]) - int(packets[0]["t"][-1])) / 1e6
    assert clock.now - start == pytest.approx(span_s / speed, rel=1e-9)
    assert len(clock.sleeps) <= len(packets)  # at most one sleep per packet: no busy spin


def test_pacer_does_not_slow_a_late_consumer():
    clock = FakeClock()
    pacer = Pacer(1.0, clock, clock.sleep)
    pacer.wait_for(0)
    clock.now += 5.0  # the consumer took 5 s
    pacer.wait_for(1_000_000)  # due after 1 s: already late, no sleep
    assert clock.sleeps == []
    pacer.wait_for(7_000_000)
    assert clock.sleeps == [pytest.approx(2.0)]


@pytest.mark.parametrize("speed", [0.05, 101, "fast"])
def test_speed_out_of_range(aedat4_file, speed):
    with pytest.raises(ConfigError, match="speed"):
        Aedat4FileSource(aedat4_file[0], speed=speed)


def test_aedat4_loop_keeps_time_increasing(aedat4_file):
    path, events = aedat4_file
    source = Aedat4FileSource(path, loop=True)
    collected, total = [], 0
    for packet in source:
        collected.append(packet)
        total += len(packet)
        if total >= 2 * len(events) + 10:
            source.close()
    joined = np.concatenate(collected)
    assert np.all(np.diff(joined["t"]) >= 0)
    span = int(events["t"][-1]) - int(events["t"][0]) + 1
    np.testing.assert_array_equal(joined["t"][len(events) : 2 * len(events)], events["t"] + span)
    np.testing.assert_array_equal(joined["x"][len(events) : 2 * len(events)], events["x"])


def test_ibm_source(tmp_path, rng):
    events = random_events(rng, 5000)
    path = tmp_path / "user01_led.aedat"
    write_aedat31(path, events)
    source = open_source(path, max_events_per_packet=1000)
    assert isinstance(source, IbmAedatSource) and source.sensor_size == (128, 128)
    packets = list(source)
    assert max(len(p) for p in packets) <= 1000
    np.testing.assert_array_equal(np.concatenate(packets), events)


def test_tonic_npy_source_converts_ms_to_us(tmp_path, rng):
    events = random_events(rng, 3000)
    path = tmp_path / "0.npy"
    write_tonic_npy(path, events)
    array = np.load(path)
    assert array.shape == (3000, 4)
    np.testing.assert_allclose(array[:, 3], events["t"] / 1000.0)  # tonic keeps ms
    source = open_source(path, packet_events=1000)
    assert isinstance(source, TonicNpySource) and source.sensor_size == (128, 128)
    np.testing.assert_array_equal(np.concatenate(list(source)), events)


def test_tonic_npy_fractional_ms(tmp_path):
    path = tmp_path / "s.npy"
    np.save(path, np.array([[1, 2, 1, 0.0015], [3, 4, 0, 2.5]]))
    packet = next(iter(TonicNpySource(path)))
    np.testing.assert_array_equal(packet["t"], [2, 2500])  # rounded to the nearest us


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros((5, 3)), "expected a numeric"),
        (np.array([[200, 0, 1, 1.0]]), "outside the 128x128 sensor"),
        (np.array([[1, 0, 2, 1.0]]), "polarity"),
        (np.array([[1, 0, 1, np.nan]]), "non-finite"),
    ],
)
def test_tonic_npy_bad_content(tmp_path, array, match):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    with pytest.raises(InputFileError, match=match):
        list(TonicNpySource(path))


def test_tonic_npy_not_npy(tmp_path):
    path = tmp_path / "bad.npy"
    path.write_bytes(b"not numpy at all")
    with pytest.raises(InputFileError, match="not a readable .npy"):
        TonicNpySource(path)


def test_array_source_slices(rng):
    events = random_events(rng, 1000, (16, 16), 100_000)
    shuffled = events[rng.permutation(len(events))]
    source = ArraySource(shuffled, (16, 16), packet_us=7_000)
    packets = list(source)
    np.testing.assert_array_equal(np.concatenate(packets)["t"], events["t"])
    t0 = int(events["t"][0])
    for packet in packets:
        slots = (packet["t"] - t0) // 7_000
        assert slots.min() == slots.max()  # each packet lies in one 7 ms slice
    assert list(ArraySource(events[:0], (16, 16))) == []
    assert ArraySource(events, (16, 16)).events.dtype == EVENT_DTYPE


def test_open_source_bad_spec(tmp_path):
    with pytest.raises(InputFileError, match="suffix '.txt'"):
        open_source(tmp_path / "x.txt")
    with pytest.raises(InputFileError, match="does not exist"):
        open_source(tmp_path / "x.aedat")
    with pytest.raises(InputFileError, match="does not exist"):
        open_source(tmp_path / "x.aedat4")
    with pytest.raises(InputFileError, match="does not exist"):
        open_source(tmp_path / "x.npy")


def test_events_to_tonic_array_dtype_check():
    with pytest.raises(ValueError):
        events_to_tonic_array(np.zeros(3))
