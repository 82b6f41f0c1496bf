"""AEDAT4 writer and streaming reader (dv-processing), and their one-sentence errors."""

from __future__ import annotations

import numpy as np
import pytest

from asa_live.errors import InputFileError
from asa_live.events import EVENT_DTYPE, make_events
from asa_live.events.aedat4 import _dv_reason, aedat4_info, iter_aedat4, open_aedat4, write_aedat4

from .helpers import random_events

dv = pytest.importorskip("dv_processing")


def test_round_trip_matches_dv_processing(tmp_path, rng):
    events = random_events(rng, 30_000, sensor_size=(346, 260))
    path = tmp_path / "r.aedat4"
    write_aedat4(path, events, (346, 260), camera_name="unit")
    back = np.concatenate(list(iter_aedat4(path)))
    assert back.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(back, events)
    info = aedat4_info(path)
    assert info.sensor_size == (346, 260)
    assert info.camera_name == "unit"
    assert info.stream_names == ("events",)
    # dv-processing itself reads the same events
    recording = dv.io.MonoCameraRecording(str(path))
    store = recording.getEventsTimeRange(int(events["t"][0]), int(events["t"][-1]) + 1)
    assert store.size() == len(events)


def test_empty_recording(tmp_path):
    path = tmp_path / "e.aedat4"
    write_aedat4(path, make_events([], [], [], []), (128, 128))
    assert list(iter_aedat4(path)) == []


def test_writer_validates(tmp_path):
    with pytest.raises(ValueError, match="sorted"):
        write_aedat4(tmp_path / "a.aedat4", make_events([5, 1], [0, 0], [0, 0], [0, 0]), (4, 4))
    with pytest.raises(ValueError, match="outside"):
        write_aedat4(tmp_path / "a.aedat4", make_events([1], [4], [0], [0]), (4, 4))
    with pytest.raises(InputFileError, match="Cannot create the AEDAT4 file"):
        write_aedat4(tmp_path / "no" / "dir" / "a.aedat4", make_events([1], [0], [0], [0]), (4, 4))


def _frames_only(path):
    writer = dv.io.MonoCameraWriter(
        str(path), dv.io.MonoCameraWriter.FrameOnlyConfig("cam", (16, 16))
    )
    writer.writeFrame(dv.Frame(1000, np.zeros((16, 16), np.uint8)))
    del writer


def test_bad_files(tmp_path, rng):
    good = tmp_path / "good.aedat4"
    write_aedat4(good, random_events(rng, 20_000), (128, 128))
    data = good.read_bytes()
    cases = {
        "missing.aedat4": None,
        "junk.aedat4": b"hello" * 100,
        "empty.aedat4": b"",
        "half.aedat4": data[: len(data) // 2],
        "head.aedat4": data[:200],
    }
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(InputFileError) as info:
            list(iter_aedat4(path))
        message = str(info.value)
        assert "\n" not in message and "Stacktrace" not in message and ".hpp" not in message
        assert name in message
    wrong_suffix = tmp_path / "good.bin"
    wrong_suffix.write_bytes(data)
    with pytest.raises(InputFileError, match="does not end in .aedat4"):
        open_aedat4(wrong_suffix)


def test_frames_only_file_has_no_event_stream(tmp_path):
    path = tmp_path / "frames.aedat4"
    _frames_only(path)
    with pytest.raises(InputFileError, match=r"has no event stream \(streams found: frames\)"):
        open_aedat4(path)


def test_dv_reason_strips_cpp_trace():
    err = RuntimeError(
        "/project/include/dv-processing/io/simplefile.hpp(313): void f()\n"
        "EndOfFile: Error info: File /tmp/x.aedat4 End-Of-File reached\n"
        "Stacktrace:\n 0# 0x0 in /lib.so\n"
    )
    from pathlib import Path

    assert _dv_reason(err, Path("/tmp/x.aedat4")) == "EndOfFile: End-Of-File reached"
    assert _dv_reason(RuntimeError("plain sentence.")) == "plain sentence"
