"""The main window: event view, spike panel, status line and controls.

The pipeline runs in its own threads; a QTimer (``redraw_hz``, at most 60) pulls the reports
produced since the last tick and redraws. Errors raised by user actions (a bad file, a bad
model, no camera) or inside the pipeline appear in a non-blocking dialog carrying the
one-sentence message; the window stays usable.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSpinBox,
    QSplitter,
    QToolBar,
    QWidget,
)

from asa_live.errors import AsaLiveError
from asa_live.gui.widgets import EventView, SpikePanel
from asa_live.gui.worker import QtPipelineWorker
from asa_live.pipeline.runner import DEFAULT_IDLE_RESET_MS, PipelineWorker
from asa_live.pipeline.sources import SourceSpec

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
        self.setWindowTitle("asa-live")
        self.checkpoint = checkpoint
        self.model_path = model_path
        self.idle_reset_ms = idle_reset_ms
        self.policy = policy
        self.qworker: QtPipelineWorker | None = None
        self.source_name = ""
        self._live = False
        self.spec: SourceSpec | None = None  # the running source, reopened with a new model
        self.error_box: QMessageBox | None = None
        self.errors_shown: list[str] = []
        self.redraws = 0
        self.reports_drawn = 0
        self.latest = None
        self._build_ui(noise_filter, accumulate_ms)
        self.timer = QTimer(self)
        # ceil: a 16 ms interval would be 62.5 Hz, above the cap
        self.timer.setInterval(math.ceil(1000 / min(max(redraw_hz, 1.0), MAX_REDRAW_HZ)))
        self._next_panel = 0.0
        self._next_status = 0.0
        self.timer.timeout.connect(self.redraw)
        self.timer.start()
        self.resize(1180, 680)

    # ------------------------------------------------------------------ layout
    def _build_ui(self, noise_filter: bool, accumulate_ms: int) -> None:
        self.setStyleSheet(
            "QMainWindow, QWidget { background: #1b1b20; color: #ddd; }"
            "QToolBar { spacing: 6px; border: none; }"
            "QToolButton { padding: 4px 8px; } QToolButton:checked { background: #444a5a; }"
            "QToolButton:disabled, QLabel:disabled, QDoubleSpinBox:disabled { color: #666; }"
            "QStatusBar QLabel { font-family: monospace; }"
        )
        bar = QToolBar("controls")
        bar.setMovable(False)
        self.addToolBar(bar)
        self.act_open = QAction("Open file...", self)
        self.act_open.triggered.connect(self._ask_open_file)
        self.act_model = QAction("Open model...", self)
        self.act_model.triggered.connect(self._ask_open_model)
        self.act_camera = QAction("Camera", self)
        self.act_camera.triggered.connect(lambda: self.open_camera(None))
        self.act_pause = QAction("Pause", self)
        self.act_pause.setCheckable(True)
        self.act_pause.toggled.connect(self.set_paused)
        self.act_reset = QAction("Reset state", self)
        self.act_reset.triggered.connect(self.reset_state)
        self.act_restart = QAction("Restart", self)
        self.act_restart.triggered.connect(self.restart)
        self.act_record = QAction("Record", self)
        self.act_record.setCheckable(True)
        self.act_record.setEnabled(False)
        self.act_record.toggled.connect(self._toggle_record)
        for act in (self.act_open, self.act_model, self.act_camera):
            bar.addAction(act)
        bar.addSeparator()
        for act in (self.act_pause, self.act_reset, self.act_restart, self.act_record):
            bar.addAction(act)
        bar.addSeparator()
        bar.addWidget(QLabel(" speed "))
        self.speed_box = QDoubleSpinBox()
        self.speed_box.setRange(0.1, 100.0)
        self.speed_box.setDecimals(2)
        self.speed_box.setSingleStep(0.25)
        self.speed_box.setSuffix(" x")
        self.speed_box.setValue(1.0)
        self.speed_box.valueChanged.connect(self.set_speed)
        bar.addWidget(self.speed_box)
        bar.addWidget(QLabel(" accumulate "))
        self.accum_box = QSpinBox()
        self.accum_box.setRange(5, 1000)
        self.accum_box.setSingleStep(10)
        self.accum_box.setSuffix(" ms")
        self.accum_box.setValue(accumulate_ms)
        bar.addWidget(self.accum_box)
        self.noise_box = QCheckBox("noise filter")
        self.noise_box.setChecked(noise_filter)
        self.noise_box.toggled.connect(self.set_noise_filter)
        bar.addWidget(self.noise_box)

        self.event_view = EventView()
        self.spike_panel: SpikePanel | None = None
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.event_view)
        self.splitter.addWidget(QWidget())
        self.setCentralWidget(self.splitter)
        self._make_spike_panel()
        self.status = QLabel("no source: open a file or a camera")
        self.statusBar().addWidget(self.status, 1)

    def _make_spike_panel(self) -> None:
        if self.checkpoint is None:
            return
        model = self.checkpoint.model
        panel = SpikePanel(tuple(model.layer_names), tuple(model.layer_neurons))
        old = self.splitter.widget(1)
        self.splitter.replaceWidget(1, panel)
        if old is not None:
            old.deleteLater()
        self.spike_panel = panel
        self.splitter.setSizes([680, 500])

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
        qworker.failed.connect(self.show_error)
        qworker.finished.connect(self._on_finished)
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
        self.latest = None
        self.event_view.overlay.set_report(None, ())
        self.event_view.overlay.message = "waiting for events"
        if self.spike_panel is not None:
            self.spike_panel.clear()
        self.setWindowTitle(f"asa-live - {name}")
        return True

    def open_spec(self, spec: SourceSpec, max_seconds: float | None = None) -> bool:
        """Start the source ``spec`` names (a replay's labels come with it)."""
        try:
            labels = spec.labels()
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
        return started

    def open_file(self, path: str | Path, loop: bool = False, speed: float | None = None) -> bool:
        """Replay a recording (labels CSV beside it picked up automatically)."""
        return self.open_spec(SourceSpec.replay(path, loop=loop, speed=speed))

    def open_camera(self, serial: str | None = None) -> bool:
        return self.open_spec(SourceSpec.camera(serial))

    def open_model(self, path: str | Path) -> bool:
        """Load another checkpoint; the current source restarts with it."""
        from asa_live.pipeline.models import load_model

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
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a recording", "", "Recordings (*.aedat4 *.aedat *.npy);;All files (*)"
        )
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
        if self.worker is None:
            return
        self.set_paused(False)
        self.worker.restart()
        if self.spike_panel is not None:
            self.spike_panel.clear()
        self.latest = None
        self.event_view.overlay.set_report(None, ())

    def set_speed(self, speed: float) -> None:
        if self.speed_box.value() != speed:
            self.speed_box.blockSignals(True)
            self.speed_box.setValue(speed)
            self.speed_box.blockSignals(False)
        if self.worker is not None:
            self.worker.set_speed(float(speed))

    def set_noise_filter(self, enabled: bool) -> None:
        if self.noise_box.isChecked() != enabled:
            self.noise_box.setChecked(enabled)
            return  # the toggled signal calls us again
        if self.worker is not None:
            self.worker.set_noise_filter(enabled)

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
    def redraw(self) -> None:
        """One tick of the redraw timer: pull new reports, redraw everything."""
        self.redraws += 1
        worker = self.worker
        if worker is None:
            return
        reports = worker.drain()
        if self.spike_panel is not None:
            for r in reports:
                self.spike_panel.add(r.spikes)
        if reports:
            self.latest = reports[-1]
            self.reports_drawn += len(reports)
            self.event_view.overlay.set_report(self.latest, worker.class_names)
        accumulate_us = self.accum_box.value() * 1000
        self.event_view.set_image(worker.accumulator.render(accumulate_us))
        now = time.perf_counter()
        if self.spike_panel is not None and now >= self._next_panel:
            self._next_panel = now + 1.0 / PANEL_HZ
            self.spike_panel.redraw()
        if now >= self._next_status:
            self._next_status = now + 1.0 / STATUS_HZ
            self.status.setText(self.status_text())

    def status_text(self) -> str:
        worker = self.worker
        if worker is None:
            return "no source"
        s = worker.stats()
        p50 = "-" if s.latency_p50_ms != s.latency_p50_ms else f"{s.latency_p50_ms:.1f}"
        p95 = "-" if s.latency_p95_ms != s.latency_p95_ms else f"{s.latency_p95_ms:.1f}"
        state = "paused" if s.paused else ("running" if s.running else "stopped")
        acc = "" if s.accuracy is None else f" | acc {100 * s.accuracy:.1f}%"
        rec = " | REC" if worker.recording else ""
        return (
            f"{self.source_name}: {state} | {s.event_rate / 1e3:7.1f} kev/s | "
            f"{s.windows_per_s:5.1f} win/s | latency p50 {p50} p95 {p95} ms | "
            f"dropped {s.dropped_windows} merged {s.merged_windows} | "
            f"source {s.source_s:6.1f} s / wall {s.wall_s:6.1f} s{acc}{rec}"
        )

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.timer.stop()
        self._stop_worker()
        super().closeEvent(event)
