"""Sources: AEDAT4 replay, IBM .aedat, tonic .npy, arrays, open_source."""

from __future__ import annotations

import numpy as np
import pytest

from asa_live.errors import InputFileError
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
from asa_live.events.tonic_npy import events_to_tonic_array, write_tonic_npy

from .helpers import random_events


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


def test_sources_are_plain_unpaced_readers(aedat4_file):
    """Pacing and looping live in the pipeline (tests/pipeline); a source only reads."""
    with pytest.raises(TypeError):
        Aedat4FileSource(aedat4_file[0], speed=1.0)
    with pytest.raises(TypeError):
        Aedat4FileSource(aedat4_file[0], loop=True)


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
