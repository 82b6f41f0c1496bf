"""``--export-video``'s writer: H.264 MP4 (browser-playable), the outcome panel, the spike panel."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from asa_live.classes import GESTURE_CLASSES
from asa_live.events import make_events
from asa_live.pipeline.display import EventAccumulator
from asa_live.pipeline.report import WindowReport

LAYERS = ("conv1", "conv2", "conv3", "fc1", "fc2")
NEURONS = (8192, 4096, 1024, 256, 11)


def _reports(acc: EventAccumulator, n: int, no_gesture_until: int = 0):
    rng = np.random.default_rng(0)
    for i in range(n):
        t = np.sort(rng.integers(i * 15_000, (i + 1) * 15_000, 300))
        xy = rng.integers(40, 90, (2, 300))
        acc.push(make_events(t, xy[0], xy[1], rng.integers(0, 2, 300)))
        scores = np.zeros(len(GESTURE_CLASSES), np.float32)
        silent = i < no_gesture_until
        scores[0], scores[3] = 0.01, (0.03 if silent else 0.85)
        spikes = (800, 300, 60, 20, 3 if i % 2 else 0)
        yield WindowReport(
            i, i * 15_000, (i + 1) * 15_000, 300, -1 if silent else 3,
            None if silent else "right_arm_clockwise", 0.9, scores, spikes, 1.0,
        )  # fmt: skip


def test_mp4_is_h264_at_the_exact_window_rate(tmp_path):
    av = pytest.importorskip("av")
    from asa_live.pipeline.video import VideoExporter

    acc = EventAccumulator((128, 128))
    out = tmp_path / "out.mp4"
    ex = VideoExporter(out, acc, 15_000, GESTURE_CLASSES, layer_names=LAYERS, layer_neurons=NEURONS)
    for report in _reports(acc, 40):
        ex.write(report)
    ex.close()
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"  # what browsers decode
        assert stream.average_rate == Fraction(200, 3)  # 1e6 / 15 ms, not rounded
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(stream)]
    assert len(frames) == ex.frames == 40
    assert frames[-1].shape == (512, 512 + 260, 3)
    assert frames[-1][:, :512].mean() > 3  # events


def test_frame_panels_no_gesture_and_absolute_bars(tmp_path):
    from asa_live.pipeline.video import SPIKE_TOP, VideoExporter

    acc = EventAccumulator((128, 128))
    ex = VideoExporter(tmp_path / "out.avi", acc, 15_000, GESTURE_CLASSES, layer_names=LAYERS)
    frames = [ex.frame_for(r) for r in _reports(acc, 30, no_gesture_until=15)]
    ex.close()
    x0 = 512 + 12
    orange = (32, 176, 255)

    def bar_len(frame):
        row = frame[104 + 6, x0 : x0 + 230]
        return int((np.abs(row.astype(int) - orange).sum(1) < 30).sum())

    silent, gesture = frames[10], frames[-1]
    assert bar_len(silent) == 0  # no orange winner bar for "no gesture" ...
    grey_bar = (np.abs(silent[110, x0 : x0 + 230].astype(int) - 140).sum(1) < 20).sum()
    assert 3 <= grey_bar <= 10  # ... a grey one, 0.03 of 220 px: absolute, not full width
    assert abs(bar_len(gesture) - 0.85 * 220) <= 3
    # the title line: bright letters for a gesture, only a grey dash for no gesture
    assert gesture[36:54, x0 : x0 + 200].max() > 200 and silent[36:54, x0 : x0 + 200].max() < 170
    # the spike panel draws curves (per-neuron rates without neurons: spikes per window)
    plot = gesture[SPIKE_TOP + 2 : 512 - 42, x0 + 2 : 772 - 14]
    assert (plot.max(-1) > 100).sum() > 100


def test_bad_video_names(tmp_path):
    from asa_live.errors import InputFileError
    from asa_live.pipeline.video import VideoExporter

    acc = EventAccumulator((128, 128))
    with pytest.raises(InputFileError, match="must end in .mp4 or .avi"):
        VideoExporter(tmp_path / "out.gif", acc, 15_000, GESTURE_CLASSES)
    with pytest.raises(InputFileError, match="does not exist"):
        VideoExporter(tmp_path / "nope" / "out.mp4", acc, 15_000, GESTURE_CLASSES)
