"""``--export-video``: annotated event frames, H.264 in an MP4 (PyAV) or MJPEG in an AVI (OpenCV).

One video frame per window, at exactly ``1e6 / window_us`` frames per second (a fraction for
H.264), so the video plays in real time. Each frame shows the last ``accumulate_us`` of events
(ON amber, OFF blue) and a side panel: the outcome (a gesture and its confidence, or "no
gesture" with its reason), the top-3 scores as bars on an absolute 0-1 scale, the ground truth,
and the spike panel (each layer's firing rate over the last seconds).

``.mp4`` is H.264 (yuv420p, +faststart), which every browser plays; it needs PyAV, the
``video`` extra (its wheels bundle FFmpeg with x264, GPL: an optional extra only).
"""

from __future__ import annotations

import os
from collections import deque
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from asa_live.errors import ConfigError, InputFileError
from asa_live.pipeline.display import EventAccumulator, describe_report, pretty
from asa_live.pipeline.report import WindowReport

PANEL_W = 260
SPIKE_TOP = 290  # the spike plot's top in the side panel (px)
SPIKE_HISTORY = 200  # windows (3 s at 15 ms)
SMOOTH = 5
# BGR, as in the GUI's spike panel
LAYER_BGR = [(32, 176, 255), (255, 140, 40), (120, 220, 120), (200, 90, 230), (240, 240, 240)]


def _need_cv2() -> Any:
    try:
        import cv2  # optional: the gui extra brings opencv-python-headless
    except ImportError:
        raise ConfigError(
            "--export-video needs OpenCV, which is not installed: run "
            "`pip install 'asa-live[gui]'` (it brings opencv-python-headless)."
        ) from None
    return cv2


class H264Writer:
    """BGR frames -> H.264 MP4 through PyAV, at an exact (fractional) frame rate."""

    def __init__(self, path: Path, fps: Fraction, size: tuple[int, int]) -> None:
        try:
            import av  # optional: the video extra (FFmpeg with x264)
        except ImportError:
            raise ConfigError(
                "H.264 video needs PyAV, which is not installed: run "
                "`pip install 'asa-live[video]'`, or write an .avi (MJPEG) instead."
            ) from None
        self._av = av
        try:
            self._container = av.open(str(path), mode="w", options={"movflags": "+faststart"})
        except (OSError, av.error.FFmpegError) as err:
            raise InputFileError(f"Cannot write the video '{path}': {err}.") from None
        self._stream = self._container.add_stream("libx264", rate=fps)
        self._stream.width, self._stream.height = size
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": "23", "preset": "veryfast"}

    def write(self, bgr: np.ndarray) -> None:
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def release(self) -> None:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()


class MjpegWriter:
    """BGR frames -> MJPEG AVI through OpenCV."""

    def __init__(self, path: Path, fps: Fraction, size: tuple[int, int]) -> None:
        cv2 = _need_cv2()
        # MPEG-4 style containers cap the time-base denominator: 66.667 fps fails, 66.67 works.
        self._writer = cv2.VideoWriter(
            str(path), cv2.VideoWriter_fourcc(*"MJPG"), round(float(fps), 2), size
        )
        if not self._writer.isOpened():
            raise InputFileError(f"OpenCV cannot write the video '{path}': try an .mp4 name.")

    def write(self, bgr: np.ndarray) -> None:
        self._writer.write(bgr)

    def release(self) -> None:
        self._writer.release()


class VideoExporter:
    """Writes one annotated frame per WindowReport.

    Args:
        path: output file (``.mp4``: H.264; ``.avi``: MJPEG).
        accumulator: where the recent events come from (network geometry).
        window_us: the window length (sets the frame rate).
        class_names: names for the score bars.
        scale: integer upscaling of the event image.
        accumulate_us: how much event history each frame shows.
        layer_names, layer_neurons: the network's spiking layers, for the spike panel; without
            ``layer_neurons`` it plots spikes per window instead of spikes per neuron.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        accumulator: EventAccumulator,
        window_us: int,
        class_names: tuple[str, ...],
        scale: int = 4,
        accumulate_us: int = 50_000,
        layer_names: tuple[str, ...] | None = None,
        layer_neurons: tuple[int, ...] | None = None,
    ) -> None:
        self._cv2 = _need_cv2()
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in (".mp4", ".avi"):
            raise InputFileError(
                f"The video name '{self.path.name}' must end in .mp4 or .avi: choose e.g. out.mp4."
            )
        if not self.path.parent.is_dir():
            raise InputFileError(f"The folder of '{self.path}' does not exist: create it first.")
        self.accumulator = accumulator
        self.class_names = class_names
        self.scale = scale
        self.accumulate_us = accumulate_us
        width, height = accumulator.sensor_size
        # H.264 in yuv420p needs even sides
        self.size = (
            width * scale + PANEL_W + (width * scale) % 2,
            height * scale + (height * scale) % 2,
        )
        self.fps = Fraction(1_000_000, int(window_us))
        self.window_s = window_us / 1e6
        writer = H264Writer if suffix == ".mp4" else MjpegWriter
        self._writer: Any = writer(self.path, self.fps, self.size)
        self.layer_names = layer_names
        self.neurons = None if layer_neurons is None else np.asarray(layer_neurons, np.float64)
        self._spikes: deque[np.ndarray] = deque(maxlen=SPIKE_HISTORY)
        self.frames = 0

    def frame_for(self, report: WindowReport) -> np.ndarray:
        """The annotated BGR frame ``[H*scale, W*scale + panel, 3]`` uint8 of one window."""
        rgb = self.accumulator.render(self.accumulate_us, until_us=report.t_end_us)
        img = np.repeat(np.repeat(rgb, self.scale, axis=0), self.scale, axis=1)
        canvas = np.zeros((self.size[1], self.size[0], 3), dtype=np.uint8)
        canvas[: img.shape[0], : img.shape[1]] = img[..., ::-1]
        x0 = img.shape[1] + 12
        self._draw_outcome(canvas, report, x0)
        self._spikes.append(np.asarray(report.spikes, dtype=np.float64))
        self._draw_spikes(
            canvas, x0, SPIKE_TOP, self.size[0] - x0 - 12, self.size[1] - SPIKE_TOP - 40
        )
        self._text(canvas, f"t = {report.t_end_us / 1e6:.2f} s", (x0 + 130, 24), 0.45, (150,) * 3)
        return canvas

    def _text(
        self, canvas: np.ndarray, text: str, at: tuple[int, int], size: float, colour
    ) -> None:
        cv2 = self._cv2
        cv2.putText(canvas, text, at, cv2.FONT_HERSHEY_SIMPLEX, size, colour, 1, cv2.LINE_AA)

    def _draw_outcome(self, canvas: np.ndarray, report: WindowReport, x0: int) -> None:
        out = describe_report(report, self.class_names)
        white, grey = (240, 240, 240), (150, 150, 150)
        self._text(canvas, "prediction", (x0, 24), 0.45, grey)
        if out.gesture:
            self._text(canvas, out.title, (x0, 50), 0.55, white)
            self._text(canvas, out.detail, (x0, 74), 0.45, white)
        else:  # cv2's fonts have no em dash: a grey bar stands for "no gesture"
            self._cv2.line(canvas, (x0, 44), (x0 + 28, 44), grey, 2)
            self._text(canvas, f"{out.detail} ({out.confidence:.2f})", (x0, 74), 0.4, grey)
        for rank, (name, score) in enumerate(out.top):
            y = 104 + rank * 34
            self._cv2.rectangle(canvas, (x0, y), (x0 + 220, y + 12), (45, 45, 45), -1)
            colour = (32, 176, 255) if out.gesture else (140, 140, 140)
            self._cv2.rectangle(canvas, (x0, y), (x0 + int(score * 220), y + 12), colour, -1)
            self._text(canvas, f"{name} {score:.2f}", (x0, y + 26), 0.4, white)
        if report.truth_name is not None:
            ok = report.class_id == report.truth
            self._text(canvas, "truth", (x0, 226), 0.45, grey)
            colour = (90, 220, 90) if ok else (80, 80, 255)
            self._text(canvas, pretty(report.truth_name), (x0, 250), 0.55, colour)

    def _draw_spikes(self, canvas: np.ndarray, x0: int, y0: int, w: int, h: int) -> None:
        """Each layer's firing rate over the last windows, newest at the right, with a legend."""
        history = np.stack(self._spikes)  # [n, L]
        # a 5-window trailing mean, as in the GUI: the deeper layers fire in bursts
        csum = np.cumsum(np.vstack([np.zeros_like(history[:1]), history]), axis=0)
        n = np.minimum(np.arange(1, len(history) + 1), SMOOTH)
        history = (csum[1:] - csum[np.arange(len(history)) + 1 - n]) / n[:, None]
        per_neuron = self.neurons is not None and self.neurons.shape == history.shape[1:]
        rates = history / self.neurons if per_neuron else history
        top = max(float(rates.max()), 1e-6) * 1.1
        unit = "spikes/neuron" if per_neuron else "spikes/window"
        self._text(canvas, f"firing rate ({unit}, max {top:.3g})", (x0, y0 - 8), 0.38, (170,) * 3)
        self._cv2.rectangle(canvas, (x0, y0), (x0 + w, y0 + h), (60, 60, 60), 1)
        span = SPIKE_HISTORY - 1
        xs = x0 + w - (np.arange(len(rates))[::-1] * w) // span
        names = self.layer_names or tuple(f"L{i + 1}" for i in range(rates.shape[1]))
        for i in range(rates.shape[1]):
            colour = LAYER_BGR[i % len(LAYER_BGR)]
            ys = y0 + h - (rates[:, i] / top * h).astype(np.int64)
            points = np.stack([xs, ys], axis=1).astype(np.int32).reshape(-1, 1, 2)
            self._cv2.polylines(canvas, [points], False, colour, 1, self._cv2.LINE_AA)
            self._text(
                canvas,
                names[i] if i < len(names) else f"L{i + 1}",
                (x0 + (i % 3) * 78, y0 + h + 16 + (i // 3) * 14),
                0.35,
                colour,
            )
        self._text(canvas, f"-{span * self.window_s:.1f} s", (x0, y0 + h - 4), 0.33, (120,) * 3)

    def write(self, report: WindowReport) -> None:
        self._writer.write(self.frame_for(report))
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
