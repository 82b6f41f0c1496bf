"""The main window: event view, spike panel, status line and controls.

The pipeline runs in its own threads; a QTimer (``redraw_hz``, at most 60) pulls the reports
produced since the last tick and redraws. Errors raised by user actions (a bad file, a bad
model, no camera) or inside the pipeline appear in a non-blocking dialog carrying the
one-sentence message; the window stays usable. Actions, toolbar and menus live in
``actions.py``, shortcuts in ``shortcuts.py``, the status fields and model info in
``panels.py``, the timeline in ``timeline.py``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import (
    QFileDialog,
    QMainWindow,
    QMessageBox,
)

from asa_live.errors import AsaLiveError
from asa_live.gui.layout import build_window, make_spike_panel
from asa_live.gui.qt_messages import install_message_filter
from asa_live.gui.shortcuts import help_html, next_speed
from asa_live.gui.teach import install_teach
from asa_live.gui.timeline import source_attr, source_time_range_us
from asa_live.gui.worker import QtPipelineWorker
from asa_live.pipeline.display import ApsFrames, compose_picture
from asa_live.pipeline.models import load_model
from asa_live.pipeline.runner import DEFAULT_IDLE_RESET_MS, PipelineWorker
from asa_live.pipeline.sources import SourceSpec

# Every format open_source reads by suffix (headerless streams need the command line's --format).
RECORDING_FILTER = (
    "Recordings (*.aedat4 *.aedat *.npy *.raw *.dat *.csv);;AEDAT (*.aedat4 *.aedat);;"
    "Prophesee (*.raw *.dat);;Events CSV (*.csv);;All files (*)"
)
MAX_REDRAW_HZ = 60.0
# The event image and the overlay follow the redraw timer; the plots and the status line are
# slower to paint (pyqtgraph axes are Python) and need no more than this to look live.
PANEL_HZ = 10.0
STATUS_HZ = 4.0


class MainWindow(QMainWindow):
    """asa-live's window.

    Args:
        checkpoint: the loaded model (None: the window opens without one; "Open model...").
        redraw_hz: redraw rate (capped at 60 Hz).
        idle_reset_ms, noise_filter, policy: pipeline options (see PipelineWorker).
        accumulate_ms: initial accumulation time of the event view.
    """

    #: (worker, (first_us, last_us) or None) from the background duration scan.
    duration_found = pyqtSignal(object)

    def __init__(
        self,
        checkpoint: Any = None,
        *,
        redraw_hz: float = 30.0,
        idle_reset_ms: float | None = DEFAULT_IDLE_RESET_MS,
        noise_filter: bool = False,
        policy: str = "drop",
        accumulate_ms: int = 50,
        model_path: str | None = None,
    ) -> None:
        super().__init__()
        install_message_filter()
        self.setWindowTitle("asa-live")
        self.checkpoint = checkpoint
        self.model_path = model_path
        self.idle_reset_ms = idle_reset_ms
        self.policy = policy
        self.qworker: QtPipelineWorker | None = None
        self._seeking = False  # a seek was asked: older reports are skipped (_after_seek)
        self._reopen: Callable[[], bool] = lambda: False  # set by start_source
        self.source_name = ""
        self._live = False
        self.spec: SourceSpec | None = None  # the running source, reopened with a new model
        self.duration_found.connect(self._on_duration)
        self.error_box: QMessageBox | None = None
        self.errors_shown: list[str] = []
        self.redraws = 0
        self.reports_drawn = 0
        self.latest = None
        self._build_ui(noise_filter, accumulate_ms)
        self.teach = install_teach(self)  # the Teach dock and its File menu action
        self.timer = QTimer(self)
        # ceil: a 16 ms interval would be 62.5 Hz, above the cap
        self.timer.setInterval(math.ceil(1000 / min(max(redraw_hz, 1.0), MAX_REDRAW_HZ)))
        self._next_panel = 0.0
        self._next_status = 0.0
        self.timer.timeout.connect(self.redraw)
        self.timer.start()
        self.resize(1180, 680)
        self.help_box: QMessageBox | None = None
        self.aps: ApsFrames | None = None

    # ------------------------------------------------------------------ layout
    def _build_ui(self, noise_filter: bool, accumulate_ms: int) -> None:
        build_window(self, noise_filter, accumulate_ms)
        self.model_input = False

    def _make_spike_panel(self) -> None:
        make_spike_panel(self)

    # ------------------------------------------------------------------ errors
    def show_error(self, message: str) -> None:
        """A non-blocking dialog with the one-sentence message; the window stays usable."""
        self.errors_shown.append(message)
        if self.error_box is not None:
            self.error_box.close()
        box = QMessageBox(QMessageBox.Icon.Critical, "asa-live", message, parent=self)
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.show()
        self.error_box = box

    # ------------------------------------------------------------------ sources and model
    def start_source(
        self,
        open_source: Callable[[], Any],
        name: str,
        *,
        live: bool = False,
        speed: float | None = 1.0,
        labels: Any = None,
        max_seconds: float | None = None,
    ) -> bool:
        """Start a new stream; on failure show the error and keep the current one running."""
        if self.checkpoint is None:
            self.show_error("No model is loaded: open a checkpoint with 'Open model...' first.")
            return False
        try:
            worker = PipelineWorker(
                open_source,
                self.checkpoint,
                speed=None if live else speed,
                live=live,
                policy=self.policy,
                noise_filter=self.noise_box.isChecked(),
                idle_reset_ms=self.idle_reset_ms,
                labels=labels,
                max_seconds=max_seconds,
            )
            qworker = QtPipelineWorker(worker, self)
            qworker.start()
        except AsaLiveError as err:
            self.show_error(str(err))
            return False
        self._stop_worker()
        # Restart builds a new worker like this one: every counter starts at zero
        self._reopen = lambda: self.start_source(
            open_source, name, live=live, speed=None if live else self.speed_box.value(),
            labels=labels, max_seconds=max_seconds,
        )  # fmt: skip
        qworker.failed.connect(self.show_error)
        qworker.finished.connect(self._on_finished)
        qworker.dropped.connect(self.status.flag_dropped)
        self.qworker = qworker
        self.source_name = name
        self._live = live
        self.act_record.setEnabled(live)
        self.speed_box.setEnabled(not live)
        if not live and speed is not None:
            self.speed_box.blockSignals(True)
            self.speed_box.setValue(speed)
            self.speed_box.blockSignals(False)
        self.act_pause.blockSignals(True)
        self.act_pause.setChecked(False)
        self.act_pause.setText("Pause")
        self.act_pause.blockSignals(False)
        self._seeking = False
        self._clear_run_views()
        self._show_source(qworker.worker, live)
        self.setWindowTitle(f"asa-live - {name}")
        return True

    def _show_source(self, worker: PipelineWorker, live: bool) -> None:
        """Timeline range, sensor line and grey frames of the source just opened."""
        source = worker.source
        self.timeline.reset(source_time_range_us(source))
        self.timeline.set_seek_available(not live)  # PipelineWorker.seek: recordings only
        camera = getattr(source_attr(source, "info"), "camera_name", None)
        self.model_info.set_sensor(camera or ("camera" if live else None), worker.sensor_size)
        path = source_attr(source, "path")
        self.aps = None if path is None else ApsFrames.from_aedat4(path)
        self.act_aps.setEnabled(self.aps is not None)

    def _scan_duration(self, spec: SourceSpec, worker: PipelineWorker) -> None:
        """Formats without a stated duration: read the file once in the background, then give
        the timeline its range (and with it, seeking)."""

        def scan() -> None:
            self.duration_found.emit((worker, spec.scan_time_range()))

        threading.Thread(target=scan, name="asa-duration-scan", daemon=True).start()

    def _on_duration(self, found: tuple[Any, Any]) -> None:
        worker, span = found
        if span is not None and self.worker is worker:
            self.timeline.reset(span)
            self.timeline.set_position(self.latest.t_end_us if self.latest else span[0])

    def _clear_run_views(self) -> None:
        """A new run: overlay, plots, timeline and every status field start from zero."""
        self.latest = None
        self.event_view.overlay.set_report(None, ())
        self.event_view.overlay.message = "waiting for events"
        if self.spike_panel is not None:
            self.spike_panel.clear()
        self.status.clear(self.source_name)
        self.timeline.rewind()

    def open_spec(self, spec: SourceSpec, max_seconds: float | None = None) -> bool:
        """Start the source ``spec`` names (a replay's labels come with it)."""
        try:
            labels, notes = spec.labels_with_notes()  # a broken sidecar CSV: a note, no labels
        except AsaLiveError as err:
            self.show_error(str(err))
            return False
        speed = None if spec.live else (spec.speed or self.speed_box.value())
        started = self.start_source(
            spec.open, spec.name, live=spec.live, speed=speed, labels=labels,
            max_seconds=max_seconds,
        )  # fmt: skip
        if started:
            self.spec = spec
            if self.timeline.duration_us is None and not spec.live:
                self._scan_duration(spec, self.worker)
            if notes:
                self.statusBar().showMessage("warning: " + " ".join(notes), 15000)
        return started

    def open_file(self, path: str | Path, loop: bool = False, speed: float | None = None) -> bool:
        """Replay a recording (labels CSV beside it picked up automatically)."""
        return self.open_spec(SourceSpec.replay(path, loop=loop, speed=speed))

    def open_camera(self, serial: str | None = None) -> bool:
        return self.open_spec(SourceSpec.camera(serial))

    def open_model(self, path: str | Path) -> bool:
        """Load another checkpoint; the current source restarts with it."""
        try:
            checkpoint = load_model(path)
        except AsaLiveError as err:
            self.show_error(str(err))
            return False
        self._stop_worker()
        self.checkpoint = checkpoint
        self.model_path = str(path)
        self._make_spike_panel()
        if self.spec is not None:
            self.open_spec(self.spec)
        return True

    def _ask_open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a recording", "", RECORDING_FILTER)
        if path:
            self.open_file(path)

    def _ask_open_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a checkpoint", "", "Checkpoints (*.safetensors);;All files (*)"
        )
        if path:
            self.open_model(path)

    # ------------------------------------------------------------------ controls
    @property
    def worker(self) -> PipelineWorker | None:
        return None if self.qworker is None else self.qworker.worker

    def set_paused(self, paused: bool) -> None:
        self.act_pause.setText("Resume" if paused else "Pause")
        if self.act_pause.isChecked() != paused:
            self.act_pause.blockSignals(True)
            self.act_pause.setChecked(paused)
            self.act_pause.blockSignals(False)
        if self.worker is None:
            return
        if paused:
            self.worker.pause()
        else:
            self.worker.resume()

    def reset_state(self) -> None:
        if self.worker is not None:
            self.worker.reset_state()
        if self.spike_panel is not None:
            self.spike_panel.clear()

    def restart(self) -> None:
        """Start the source over with a fresh pipeline: state, stats and views all reset."""
        if self.worker is None:
            return
        self.set_paused(False)
        self._reopen()  # a new PipelineWorker: every counter starts at zero

    def seek(self, t_us: int) -> None:
        """The timeline asked for ``t_us`` (source clock): the replay goes on from there
        with the network state reset; the views start over, the run's counters go on."""
        if self.worker is None:
            return
        try:
            self.worker.seek(int(t_us))
        except AsaLiveError as err:
            self.show_error(str(err))
            return
        self._seeking = True
        self.latest = None
        self.event_view.overlay.set_report(None, ())
        if self.spike_panel is not None:
            self.spike_panel.clear()
        self.timeline.set_position(int(t_us))

    def set_speed(self, speed: float) -> None:
        if self.speed_box.value() != speed:
            self.speed_box.blockSignals(True)
            self.speed_box.setValue(speed)
            self.speed_box.blockSignals(False)
        if self.worker is not None:
            self.worker.set_speed(float(speed))

    def step_speed(self, faster: bool) -> None:
        if self.speed_box.isEnabled():
            self.set_speed(next_speed(self.speed_box.value(), faster))

    def step_accumulation(self, factor: float) -> None:
        self.accum_box.setValue(round(self.accum_box.value() * factor))

    def set_noise_filter(self, enabled: bool) -> None:
        for control in (self.noise_box, self.act_noise):
            if control.isChecked() != enabled:
                control.blockSignals(True)
                control.setChecked(enabled)
                control.blockSignals(False)
        if self.worker is not None:
            self.worker.set_noise_filter(enabled)

    def set_full_screen(self, on: bool) -> None:
        self.showFullScreen() if on else self.showNormal()

    def set_model_input(self, on: bool) -> None:
        """Show the network's binned input frames instead of the accumulated events."""
        self.model_input = on
        self.redraw()

    def show_help(self) -> None:
        if self.help_box is None:
            box = QMessageBox(QMessageBox.Icon.NoIcon, "asa-live: help", help_html(), parent=self)
            box.setWindowModality(Qt.WindowModality.NonModal)
            self.help_box = box
        self.help_box.show()
        self.help_box.raise_()

    def start_recording(self, path: str | Path) -> bool:
        if self.worker is None:
            self.show_error("Nothing to record: open a camera first.")
            return False
        try:
            self.worker.start_recording(path)
        except AsaLiveError as err:
            self.show_error(str(err))
            return False
        return True

    def stop_recording(self) -> None:
        if self.worker is not None:
            recorder = self.worker.stop_recording()
            if recorder is not None:
                self.statusBar().showMessage(
                    f"recorded {recorder.events_written} events to {recorder.path}", 8000
                )

    def _toggle_record(self, on: bool) -> None:
        if not on:
            self.stop_recording()
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Record to AEDAT4", "capture.aedat4", "AEDAT4 (*.aedat4)"
        )
        if not path or not self.start_recording(path):
            self.act_record.blockSignals(True)
            self.act_record.setChecked(False)
            self.act_record.blockSignals(False)

    def _on_finished(self) -> None:
        if self.worker is not None and self.worker.error is None:
            self.statusBar().showMessage("end of the recording: press Restart to replay", 10000)

    def _stop_worker(self) -> None:
        if self.qworker is not None:
            self.qworker.failed.disconnect()
            self.qworker.finished.disconnect()
            self.qworker.stop()
            self.qworker.deleteLater()
            self.qworker = None

    # ------------------------------------------------------------------ drawing
    def _after_seek(self, reports: list[Any]) -> list[Any]:
        """After a seek, drop the reports still queued from before it: the replay resumes
        with a state reset, so its first report is the first one marked ``state_reset``."""
        if not self._seeking:
            return reports
        first = next((i for i, r in enumerate(reports) if r.state_reset), None)
        if first is None:
            return []
        self._seeking = False
        return reports[first:]

    def redraw(self) -> None:
        """One tick of the redraw timer: pull new reports, redraw everything."""
        self.redraws += 1
        worker = self.worker
        if worker is None:
            return
        reports = self._after_seek(worker.drain())
        if self.spike_panel is not None:
            for r in reports:
                self.spike_panel.add(r.spikes)
        if reports:
            self.latest = reports[-1]
            self.reports_drawn += len(reports)
            self.event_view.overlay.set_report(self.latest, worker.class_names)
            self.timeline.set_position(self.latest.t_end_us)
        self.event_view.set_image(self.frame_image(worker))
        now = time.perf_counter()
        if self.spike_panel is not None and now >= self._next_panel:
            self._next_panel = now + 1.0 / PANEL_HZ
            self.spike_panel.redraw()
        if now >= self._next_status:
            self._next_status = now + 1.0 / STATUS_HZ
            self.status.update(self.source_name, worker.stats(), worker.recording)

    def frame_image(self, worker: PipelineWorker) -> Any:
        """The picture: the model's input frame, or the events (on a grey frame if any)."""
        rgb, mode = compose_picture(
            worker.accumulator,
            self.latest,
            downsample=self.checkpoint.binning.downsample,
            accumulate_us=self.accum_box.value() * 1000,
            model_input=self.model_input,
            grey=self.grey_frame(worker),
            adapter=None if worker.ingest is None else worker.ingest.adapter,
        )
        self.event_view.mode_label.setText(mode)
        return rgb

    def grey_frame(self, worker: PipelineWorker) -> Any:
        """The APS frame to draw under the events, or None (none, or switched off)."""
        if not self.act_aps.isChecked():
            return None
        if self.aps is not None and self.latest is not None:
            return self.aps.at(self.latest.t_end_us)
        # Live DAVIS cameras: the camera source keeps its newest APS frame in ``latest_frame``
        # ([H, W] uint8, sensor pixels); other sources have none.
        return getattr(worker.source, "latest_frame", None)

    def status_text(self) -> str:
        return self.status.text() if self.worker is not None else "no source"

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.timer.stop()
        self._stop_worker()
        super().closeEvent(event)
