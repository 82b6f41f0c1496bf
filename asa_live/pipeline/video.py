"""``--export-video``: annotated event frames written to an MP4 through OpenCV.

One video frame per window, at ``1e6 / window_us`` frames per second (to 0.01), so the video plays in
real time. Each frame shows the last ``accumulate_us`` of events (ON amber, OFF blue), the
predicted gesture with its confidence, the top-3 scores as bars and the ground truth.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from asa_live.errors import InputFileError
from asa_live.pipeline.display import EventAccumulator
from asa_live.pipeline.report import WindowReport


class VideoExporter:
    """Writes one annotated frame per WindowReport.

    Args:
        path: output file (``.mp4`` or ``.avi``).
        accumulator: where the recent events come from (network geometry).
        window_us: the window length (sets the frame rate).
        class_names: names for the score bars.
        scale: integer upscaling of the event image.
        accumulate_us: how much event history each frame shows.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        accumulator: EventAccumulator,
        window_us: int,
        class_names: tuple[str, ...],
        scale: int = 4,
        accumulate_us: int = 50_000,
    ) -> None:
        try:
            import cv2
        except ImportError:
            from asa_live.errors import ConfigError

            raise ConfigError(
                "--export-video needs OpenCV, which is not installed: run "
                "`pip install 'asa-live[gui]'` (it brings opencv-python-headless)."
            ) from None
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
        self.panel_w = 260
        self.size = (width * scale + self.panel_w, height * scale)
        fourcc = cv2.VideoWriter_fourcc(*("mp4v" if suffix == ".mp4" else "MJPG"))
        self._cv2 = cv2
        # MPEG-4 caps the time-base denominator at 65535: 66.667 fps fails, 66.67 fps works.
        self.fps = round(1e6 / window_us, 2)
        self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, self.size)
        if not self._writer.isOpened():
            raise InputFileError(f"OpenCV cannot write the video '{self.path}': try an .avi name.")
        self.frames = 0

    def frame_for(self, report: WindowReport) -> np.ndarray:
        """The annotated BGR frame ``[H*scale, W*scale + panel, 3]`` uint8 of one window."""
        cv2 = self._cv2
        rgb = self.accumulator.render(self.accumulate_us, until_us=report.t_end_us)
        img = np.repeat(np.repeat(rgb, self.scale, axis=0), self.scale, axis=1)
        canvas = np.zeros((self.size[1], self.size[0], 3), dtype=np.uint8)
        canvas[:, : img.shape[1]] = img[..., ::-1]
        x0 = img.shape[1] + 12
        font = cv2.FONT_HERSHEY_SIMPLEX
        white, grey = (240, 240, 240), (150, 150, 150)
        name = report.prediction or "no gesture (silent output)"
        cv2.putText(canvas, "prediction", (x0, 24), font, 0.45, grey, 1, cv2.LINE_AA)
        cv2.putText(canvas, name.replace("_", " "), (x0, 50), font, 0.55, white, 1, cv2.LINE_AA)
        cv2.putText(
            canvas,
            f"confidence {report.confidence:.2f}",
            (x0, 74),
            font,
            0.45,
            white,
            1,
            cv2.LINE_AA,
        )
        order = np.argsort(-report.scores)[:3]
        top = float(report.scores[order[0]]) if report.scores.size else 0.0
        for rank, cid in enumerate(order):
            y = 104 + rank * 34
            frac = float(report.scores[cid]) / top if top > 0 else 0.0
            cv2.rectangle(canvas, (x0, y), (x0 + int(frac * 220), y + 12), (32, 176, 255), -1)
            label = f"{self.class_names[cid].replace('_', ' ')} {report.scores[cid]:.2f}"
            cv2.putText(canvas, label, (x0, y + 26), font, 0.4, white, 1, cv2.LINE_AA)
        if report.truth_name is not None:
            ok = report.class_id == report.truth
            colour = (90, 220, 90) if ok else (80, 80, 255)
            cv2.putText(canvas, "truth", (x0, 226), font, 0.45, grey, 1, cv2.LINE_AA)
            cv2.putText(
                canvas,
                report.truth_name.replace("_", " "),
                (x0, 250),
                font,
                0.55,
                colour,
                1,
                cv2.LINE_AA,
            )
        cv2.putText(
            canvas,
            f"t = {report.t_end_us / 1e6:.2f} s",
            (x0, self.size[1] - 14),
            font,
            0.45,
            grey,
            1,
            cv2.LINE_AA,
        )
        return canvas

    def write(self, report: WindowReport) -> None:
        self._writer.write(self.frame_for(report))
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
