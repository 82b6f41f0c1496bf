"""The real DAVIS346 and DVXplorer recordings in ../shared: counts and time ranges equal
dv-processing's own reading, and their frames are right after sensor adaptation."""

from __future__ import annotations

import numpy as np
import pytest

from asa_live.events import (
    Aedat4FileSource,
    SensorAdapter,
    StreamingBinner,
    bin_events,
    open_source,
)
from asa_live.events.cli import recording_stats

dv = pytest.importorskip("dv_processing")

RECORDINGS = [
    # name, sensor, events (README), camera name
    ("davis346_traffic_events_frames_imu.aedat4", (346, 260), 78_830, "DAVIS346_00000002"),
    ("dvxplorer_person_events_imu.aedat4", (320, 240), 111_954, "DVXplorer_DXB00010"),
]


def _dv_read(path):
    """dv-processing's own reading: the whole events time range in one call."""
    recording = dv.io.MonoCameraRecording(str(path))
    start, end = recording.getTimeRange()
    store = recording.getEventsTimeRange(start, end + 1)
    return store.numpy(), recording.getEventResolution()


@pytest.mark.parametrize("name, sensor, count, camera", RECORDINGS)
def test_counts_and_time_ranges_equal_dv(shared_real, name, sensor, count, camera):
    path = shared_real / "aedat4" / name
    raw, resolution = _dv_read(path)
    with open_source(path) as source:
        assert isinstance(source, Aedat4FileSource)
        assert source.sensor_size == tuple(resolution) == sensor
        assert source.info.camera_name == camera
        events = np.concatenate(list(source))
    assert len(events) == len(raw) == count
    assert int(events["t"][0]) == int(raw["timestamp"][0])
    assert int(events["t"][-1]) == int(raw["timestamp"][-1])
    np.testing.assert_array_equal(events["x"], raw["x"])
    np.testing.assert_array_equal(events["y"], raw["y"])
    np.testing.assert_array_equal(events["p"], raw["polarity"])
    assert events["x"].max() < sensor[0] and events["y"].max() < sensor[1]
    stats = recording_stats(str(path), 15_000)
    assert stats["events"] == count and stats["sensor_size"] == sensor


@pytest.mark.parametrize("name, sensor, count, camera", RECORDINGS)
@pytest.mark.parametrize("mode", ["crop_scale", "scale", "crop"])
def test_frames_after_adaptation(shared_real, name, sensor, count, camera, mode):
    path = shared_real / "aedat4" / name
    raw, _ = _dv_read(path)
    adapter = SensorAdapter(sensor, (128, 128), mode)
    with open_source(path) as source:
        adapted = np.concatenate([adapter(p) for p in source])
    assert adapted["x"].max() < 128 and adapted["y"].max() < 128
    x0, y0, cw, ch = adapter.region
    inside = (raw["x"] >= x0) & (raw["x"] < x0 + cw) & (raw["y"] >= y0) & (raw["y"] < y0 + ch)
    assert len(adapted) == int(inside.sum())  # exactly the events of the kept region
    if mode == "scale":
        assert len(adapted) == count  # crop-free: nothing lost
    frames = bin_events(adapted, 15_000, (128, 128), downsample=4)
    assert frames.shape[1:] == (2, 32, 32)
    assert frames.sum() == len(adapted)
    on = int((raw["polarity"][inside] == 1).sum())
    assert frames[:, 1].sum() == on and frames[:, 0].sum() == len(adapted) - on
    # the streaming path (source -> adapter -> binner) gives the same frames
    binner = StreamingBinner(15_000, (128, 128), downsample=4, t0_us=int(adapted["t"][0]))
    with open_source(path) as source:
        windows = [w for p in source for w in binner.push(adapter(p))] + binner.flush()
    np.testing.assert_array_equal(np.stack([w.frame for w in windows]), frames)


def test_info_shows_camera_and_other_streams(shared_real, capsys):
    from asa_live.events.cli import main

    assert main([str(shared_real / "aedat4" / RECORDINGS[0][0])]) == 0
    out = capsys.readouterr().out
    assert "camera        DAVIS346_00000002" in out
    assert "other streams frames 59, imu 2,363, triggers 236" in out
