"""The direct AEDAT4 reader (asa_live.events.aedat4_direct) against dv-processing's read:
event for event, for any packet size, threaded or not, and its fallback to dv."""

from __future__ import annotations

import itertools
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asa_live.errors import InputFileError
from asa_live.events import Aedat4FileSource, StreamingBinner, aedat4_direct, bin_events
from asa_live.events.aedat4 import iter_aedat4, write_aedat4
from asa_live.events.aedat4_direct import (
    iter_direct,
    open_direct,
    read_layout,
    stream_aedat4,
)
from asa_live.events.aedat4_prefetch import prefetch

from .helpers import random_events


def _has_lz4() -> bool:
    try:
        import lz4.frame  # noqa: F401 - the aedat4 extra (dev installs it)
    except ImportError:
        return False
    return True


# the fallback tests run without python-lz4; the direct reader's LZ4 tests need it
needs_lz4 = pytest.mark.skipif(not _has_lz4(), reason="python-lz4 (the aedat4 extra) is absent")


def _events(seed: int, n: int, sensor: tuple[int, int], t_max_us: int) -> np.ndarray:
    return random_events(np.random.default_rng(seed), n, sensor, t_max_us=t_max_us)


@pytest.fixture(scope="module")
def lz4_file(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """25 000 events over 2 s in several of dv's 10 000-event packets, LZ4."""
    events = _events(1, 25_000, (346, 260), 2_000_000)
    path = tmp_path_factory.mktemp("direct") / "rec.aedat4"
    write_aedat4(path, events, (346, 260))
    return path, events


def _packets_equal(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@needs_lz4
@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(0, 12_000),
    compression=st.sampled_from(["lz4", "none"]),
    width=st.integers(1, 640),
    height=st.integers(1, 480),
)
def test_direct_read_equals_dv_event_for_event(seed, n, compression, width, height):
    events = _events(seed, n, (width, height), 3_000_000)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rec.aedat4"
        write_aedat4(path, events, (width, height), compression=compression)
        layout = open_direct(path)
        assert layout is not None and layout.compression == (1 if compression == "lz4" else 0)
        direct = list(iter_direct(path, layout))
        assert _packets_equal(direct, list(iter_aedat4(path)))
    got = np.concatenate(direct) if direct else events[:0]
    np.testing.assert_array_equal(got, events)


@needs_lz4
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    packet_events=st.integers(1, 40_000),
    packet_us=st.integers(1, 3_000_000),
    threaded=st.booleans(),
)
def test_streamed_equals_whole_file_for_any_packet_size(
    lz4_file, packet_events, packet_us, threaded
):
    path, events = lz4_file
    packets = list(stream_aedat4(path, packet_events, packet_us, threaded=threaded))
    np.testing.assert_array_equal(np.concatenate(packets), events)
    assert _packets_equal(
        packets, list(iter_aedat4(path, packet_events=packet_events, packet_us=packet_us))
    )


@needs_lz4
def test_real_dv_recordings_read_as_dv_reads_them(shared_real):
    """DV-written files with frame and IMU streams besides the events."""
    for path in sorted((shared_real / "aedat4").glob("*.aedat4")):
        layout = open_direct(path)
        assert layout is not None, path.name
        assert _packets_equal(list(iter_direct(path, layout)), list(iter_aedat4(path)))


def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "asa-live-prefetch"]


def _spy_readers(monkeypatch) -> dict[str, list[str]]:
    """Which reader ran, and in which thread."""
    calls: dict[str, list[str]] = {"direct": [], "dv": []}
    for name, key in (("iter_direct", "direct"), ("iter_aedat4", "dv")):
        real = getattr(aedat4_direct, name)

        def spy(*args, _real=real, _key=key, **kwargs):
            calls[_key].append(threading.current_thread().name)
            yield from _real(*args, **kwargs)

        monkeypatch.setattr(aedat4_direct, name, spy)
    return calls


@needs_lz4
def test_source_reads_in_a_reader_thread_and_frames_are_unchanged(lz4_file, monkeypatch):
    path, events = lz4_file
    calls = _spy_readers(monkeypatch)
    source = Aedat4FileSource(path)
    binner = StreamingBinner(15_000, source.sensor_size, downsample=4)
    frames = []
    for packet in source:
        frames += [w.frame for w in binner.push(packet)]
    frames += [w.frame for w in binner.flush()]
    assert calls == {"direct": ["asa-live-prefetch"], "dv": []}
    np.testing.assert_array_equal(np.stack(frames), bin_events(events, 15_000, (346, 260), 4))


def test_stopping_early_ends_the_reader_thread():
    closed = threading.Event()

    def endless():
        try:
            yield from itertools.count()
        finally:
            closed.set()

    items = prefetch(endless, depth=2)
    assert [next(items) for _ in range(5)] == [0, 1, 2, 3, 4]
    assert len(_prefetch_threads()) == 1  # blocked on its full queue
    items.close()
    assert _prefetch_threads() == [] and closed.is_set()


def test_prefetch_raises_the_producers_error_after_its_items():
    def failing():
        yield from range(3)
        raise InputFileError("the recording is truncated")

    got = []
    with pytest.raises(InputFileError, match="truncated"):
        for item in prefetch(failing, depth=1):
            got.append(item)
    assert got == [0, 1, 2] and _prefetch_threads() == []
    with pytest.raises(ValueError, match="depth"):
        next(prefetch(failing, depth=0))


def _block_lz4(monkeypatch) -> None:
    for name in [m for m in sys.modules if m == "lz4" or m.startswith("lz4.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "lz4", None)  # import lz4 now raises ImportError
    monkeypatch.setitem(sys.modules, "lz4.frame", None)


def test_without_python_lz4_dv_reads_lz4_files(lz4_file, monkeypatch, tmp_path):
    path, events = lz4_file
    _block_lz4(monkeypatch)
    assert open_direct(path) is None
    calls = _spy_readers(monkeypatch)
    packets = list(Aedat4FileSource(path))
    assert calls == {"direct": [], "dv": [threading.current_thread().name]}
    assert _packets_equal(packets, list(iter_aedat4(path)))
    # an uncompressed file needs no lz4: still read directly
    plain = tmp_path / "plain.aedat4"
    write_aedat4(plain, events, (346, 260), compression="none")
    assert open_direct(plain) is not None
    np.testing.assert_array_equal(np.concatenate(list(stream_aedat4(plain))), events)


def test_zstd_and_foreign_files_are_left_to_dv(lz4_file, tmp_path):
    _, events = lz4_file
    zstd = tmp_path / "z.aedat4"
    write_aedat4(zstd, events, (346, 260), compression="zstd")
    assert read_layout(zstd) is None and open_direct(zstd) is None
    assert _packets_equal(list(stream_aedat4(zstd)), list(iter_aedat4(zstd)))
    for name, data in [("text.aedat4", b"hello"), ("empty.aedat4", b""), ("cut.aedat4", b"#!AER")]:
        (tmp_path / name).write_bytes(data)
        assert open_direct(tmp_path / name) is None
    assert open_direct(tmp_path / "missing.aedat4") is None


@needs_lz4
def test_damaged_file_yields_what_was_read_then_one_sentence(lz4_file, tmp_path):
    path, events = lz4_file
    layout = open_direct(path)
    data = path.read_bytes()
    cut = tmp_path / "cut.aedat4"
    cut.write_bytes(data[: layout.first_packet + (layout.data_end - layout.first_packet) // 2])
    got = []
    with pytest.raises(InputFileError, match="ends inside a packet") as err:
        for packet in iter_direct(cut, layout, packet_events=1):
            got.append(packet)
    assert "Traceback" not in str(err.value) and str(cut) in str(err.value)
    got = np.concatenate(got)
    assert 0 < len(got) < len(events)
    np.testing.assert_array_equal(got, events[: len(got)])
    # dv refuses the cut file when it opens it: so does stream_aedat4 (and the source)
    with pytest.raises(InputFileError, match="Cannot open .* truncated"):
        next(stream_aedat4(cut))
    # the second packet's LZ4 frame damaged: one sentence too, after the first's events
    bad = bytearray(data)
    size = int.from_bytes(data[layout.first_packet + 4 : layout.first_packet + 8], "little")
    second = layout.first_packet + 8 + size
    bad[second + 8 : second + 12] = b"\0\0\0\0"  # its frame's magic number
    (tmp_path / "bad.aedat4").write_bytes(bytes(bad))
    got = []
    with pytest.raises(InputFileError, match="damaged event packet"):
        for packet in stream_aedat4(tmp_path / "bad.aedat4", packet_events=1):
            got.append(packet)
    np.testing.assert_array_equal(np.concatenate(got), events[: len(np.concatenate(got))])
    assert len(np.concatenate(got)) == 10_000


@needs_lz4
@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=2000), repeat=st.integers(1, 100), guess=st.integers(256, 1 << 19))
def test_lz4_frames_decompress_whole_for_any_size_bound(data, repeat, guess):
    import lz4.frame

    payload = data * repeat
    raw = lz4.frame.compress(payload, block_linked=True)
    assert aedat4_direct._decompress(lz4.frame, raw, guess) == payload
    if len(raw) > 8:
        with pytest.raises(RuntimeError):
            aedat4_direct._decompress(lz4.frame, raw[: len(raw) // 2], guess)


def test_event_streams_are_found_in_the_header_description():
    def stream(sid: int, kind: str) -> str:
        return (
            f'<node name="{sid}" path="/outInfo/{sid}/">'
            f'<attr key="typeIdentifier" type="string">{kind}</attr></node>'
        )

    body = stream(0, "EVTS") + stream(1, "FRME") + stream(2, "IMUS")
    xml = f'<dv version="2.0"><node name="outInfo" path="/outInfo/">{body}</node></dv>'
    assert aedat4_direct._event_streams(xml) == [0]
    two = xml.replace(stream(2, "IMUS"), stream(2, "EVTS"))
    assert aedat4_direct._event_streams(two) == [0, 2]  # a stereo file: dv reads it
