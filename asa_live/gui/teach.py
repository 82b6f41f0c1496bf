"""The Teach panel: record your own gestures from the stream the window shows, then fine-tune.

It does in the window what ``asa-live-record`` does (asa_live/teach/record.py): a
GuidedSession, fed by the window's live stream (camera or replay) in source coordinates,
prompts each take with a countdown shown large over the event view, writes the events and
one label per completed take (SessionWriter), and "Redo last" takes the last one again. Then
"Fine-tune" runs ``asa-live-train --recipe finetune`` in a background process
(:mod:`asa_live.gui.finetune`) and "Use this model" loads its checkpoint into the window.

The source packets come from the pipeline's ingest thread, already paced, through the
worker's RecordingTap; a thread of the session feeds and writes them
(:mod:`asa_live.gui.teach_feed`), and the GUI thread redraws the prompt from the session's
schedule on a timer, so the prompts follow the stream's clock and every Qt call stays in the
GUI thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PyQt6.QtCore import QEvent, QObject, Qt, QTimer
from PyQt6.QtWidgets import QDockWidget, QWidget

from asa_live.errors import AsaLiveError, ConfigError
from asa_live.gui.finetune import FinetuneJob, FinetuneRunner, next_run_dir
from asa_live.gui.teach_feed import LiveSession
from asa_live.gui.teach_widgets import PromptOverlay, TeachForm
from asa_live.teach.folder import (
    add_to_trial_list,
    check_folder,
    check_writable,
    next_session_stem,
    parse_class_names,
    write_classes,
)
from asa_live.teach.record import GuidedSession, SessionWriter, plan_takes

PANEL_WIDTH = 330
TICK_MS = 30  # how often the prompt is redrawn from the session's schedule


@dataclass(frozen=True)
class Prompt:
    """What the overlay shows: a big title, a line below it, how far the gesture is."""

    title: str
    detail: str
    go: bool = False
    fraction: float = 0.0


def prompt_for(session: GuidedSession, now_us: int | None) -> Prompt:
    """The prompt at stream time ``now_us``: "3…", "2…", "1…", "GO: name", "done"."""
    n = len(session.takes)
    if session.t0 is None or now_us is None:
        return Prompt("get ready", f"{n} takes: waiting for events")
    if session.done:
        return Prompt("done", f"{n} of {n} takes saved", fraction=1.0)
    take = session.takes[session.completed]
    start, end = session.window_of(session.completed)
    where = f"take {take.number} of {n}"
    if now_us >= start:
        return Prompt(f"GO: {take.name}", where, True, min(1.0, (now_us - start) / (end - start)))
    left = math.ceil((start - now_us) / 1e6)
    title = f"{left}\u2026" if left <= 3 else "get ready"
    return Prompt(title, f"next: {take.name}  ({where})")


class TeachPanel(QWidget):
    """The form, the recording session, the fine-tuning run. ``win`` is the MainWindow."""

    def __init__(self, win: Any, runner: FinetuneRunner | None = None) -> None:
        super().__init__(win)
        self.win = win
        self.form = TeachForm(self)
        self.prompt = PromptOverlay(win.event_view.graphics)
        self.runner = runner or FinetuneRunner(parent=self)
        self.live: LiveSession | None = None
        self.worker: Any = None
        self.checkpoint: str | None = None  # the last fine-tuned model
        self.messages: list[str] = []
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)
        f = self.form
        f.start_button.clicked.connect(self.start_session)
        f.redo_button.clicked.connect(self.redo_last)
        f.stop_button.clicked.connect(lambda: self.finish("stopped"))
        f.finetune_button.clicked.connect(self.start_finetune)
        f.cancel_button.clicked.connect(self.runner.cancel)
        f.use_button.clicked.connect(self.use_model)
        self.runner.progress.connect(f.show_progress)
        self.runner.succeeded.connect(self._finetuned)
        self.runner.failed.connect(self._finetune_failed)
        self.runner.cancelled.connect(lambda: self._finetune_ended("Fine-tuning cancelled."))
        self._update_buttons()

    # ------------------------------------------------------------------ recording
    def start_session(self) -> bool:
        """Start a session on the window's stream; errors go to the window's dialog."""
        try:
            self._start()
        except AsaLiveError as err:
            self.win.show_error(str(err))
            return False
        self._update_buttons()
        return True

    def _start(self) -> None:
        f = self.form
        names = parse_class_names(f.classes_edit.text())
        user = f.user_edit.text().strip() or "user"
        if not user.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"The user name '{user}' may hold letters, digits, '_' and '-' only.")
        if not f.folder_edit.text().strip():
            raise ConfigError("Choose the output folder for the recordings first.")
        worker = self.win.worker
        if worker is None or worker.source is None or worker.finished:
            raise ConfigError("Nothing to record from: open a camera or a recording first.")
        if worker.recording:
            raise ConfigError("The window is recording to a file: stop that recording first.")
        folder = Path(f.folder_edit.text().strip()).expanduser()
        check_writable(folder)
        write_classes(folder, names)
        seed = int(np.random.SeedSequence().entropy % 2**31)
        takes = plan_takes(names, f.repeats_box.value(), seed)
        path = folder / f"{next_session_stem(folder, user)}.aedat4"
        writer = SessionWriter(path, worker.sensor_size, len(names))
        gesture_us, pause_us = (int(b.value() * 1e6) for b in (f.gesture_box, f.pause_box))
        live = LiveSession(GuidedSession(takes, writer, gesture_us, pause_us), path)
        try:
            live.start(worker.recording_tap)
        except AsaLiveError:
            live.close()
            raise
        self.live, self.worker = live, worker
        f.log.clear()
        self._log(f"Recording {len(takes)} takes into {path}.")
        self.prompt.show_prompt(prompt_for(live.session, None))
        self.timer.start()

    @property
    def session(self) -> GuidedSession | None:
        """The session being recorded (None between sessions)."""
        return None if self.live is None else self.live.session

    def tick(self) -> None:
        """Redraw the prompt; end when the session is done, failed or its stream is gone."""
        live = self.live
        if live is None:
            return
        for line in live.take_prompts():
            self._log(line)
        with live.lock:
            prompt = prompt_for(live.session, live.now_us)
        self.prompt.show_prompt(prompt)
        self._update_buttons()
        if live.error is not None:
            self.finish("error", str(live.error))
        elif not live.running:
            self.finish("done" if live.session.done else "stream ended")
        elif self.win.worker is not self.worker or live.feed.closed or self.worker.finished:
            live.end_with_stream()  # a later tick finishes once the rest is fed

    def redo_last(self) -> None:
        live = self.live
        take = None if live is None else live.redo_last()
        if take is not None:
            self._log(f"redo: take {take.number} ({take.name}) again")
            self.tick()

    def finish(self, why: str, error: str | None = None) -> None:
        """End the session: close the file, list it for training, say how many takes it kept."""
        live = self.live
        if live is None:
            return
        self.timer.stop()
        self.live = self.worker = None
        session, path = live.session, live.feed.path
        try:
            live.close()
            if session.completed:
                add_to_trial_list(path.parent, path.name, test=False)
        except (AsaLiveError, OSError) as err:
            error = error or str(err)
        for line in live.take_prompts():
            self._log(line)
        kept = f"{session.completed} of {len(session.takes)} takes saved in {path}"
        self.prompt.show_prompt(None)
        self._update_buttons()
        if error is not None:
            self._log(f"{error} ({kept}.)")
            self.win.show_error(f"{error} ({kept}.)")
        elif why == "done":
            self._log(f"Done: {kept}. Fine-tune when you have recorded enough.")
        else:
            self._log(f"Stopped ({why}): {kept}.")

    def _log(self, text: str) -> None:
        self.messages.append(text.strip())
        self.form.log.appendPlainText(text.strip())

    # ------------------------------------------------------------------ fine-tuning
    def start_finetune(self) -> bool:
        """Check the folder and start ``asa-live-train --recipe finetune`` on it."""
        try:
            folder = Path(self.form.folder_edit.text().strip()).expanduser()
            if not self.form.folder_edit.text().strip():
                raise ConfigError("Choose the recordings folder to fine-tune on first.")
            check_folder(folder)
            if not self.win.model_path:
                raise ConfigError("The window's model has no file: open one with Open model.")
            # absolute paths: the trainer's messages and the run folder read the same anywhere
            folder, init = folder.resolve(), Path(self.win.model_path).resolve()
            job = FinetuneJob(init, folder, next_run_dir(folder))
        except AsaLiveError as err:
            self.win.show_error(str(err))
            return False
        self.checkpoint = None
        self.runner.start(job)
        self.form.show_progress(0.0, "starting")
        self._log(f"Fine-tuning {job.init.name} on {folder} into {job.run_dir}.")
        self._update_buttons()
        return True

    def _finetuned(self, checkpoint: str) -> None:
        self.checkpoint = checkpoint
        self._finetune_ended(f"Fine-tuned model: {checkpoint}. Use this model to load it.")

    def _finetune_failed(self, message: str) -> None:
        self._finetune_ended(message)
        self.win.show_error(message)

    def _finetune_ended(self, message: str) -> None:
        self._log(message)
        self.form.status_label.setText(message)
        self._update_buttons()

    def use_model(self) -> bool:
        """Load the fine-tuned model into the window (the running source restarts with it)."""
        if self.checkpoint is None:
            return False
        if not self.win.open_model(self.checkpoint):
            return False
        self._log(f"Using {self.checkpoint}.")
        return True

    def _update_buttons(self) -> None:
        recording, tuning = self.session is not None, self.runner.running
        f = self.form
        for widget in f.setup_widgets:
            widget.setEnabled(not recording)
        f.start_button.setEnabled(not recording)
        f.stop_button.setEnabled(recording)
        f.redo_button.setEnabled(recording and bool(self.session and self.session.completed))
        f.finetune_button.setEnabled(not recording and not tuning)
        f.cancel_button.setEnabled(tuning)
        f.use_button.setEnabled(self.checkpoint is not None and not tuning)

    def shutdown(self) -> None:
        """The window closes: keep the takes, stop the training process."""
        self.finish("window closed")
        self.runner.stop_now()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if obj is self.win and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False


def install_teach(win: Any) -> TeachPanel:
    """The Teach dock (hidden until asked for) and its "Teach..." action in the File menu."""
    panel = TeachPanel(win)
    dock = QDockWidget("Teach", win)
    dock.setObjectName("teach")
    dock.setWidget(panel)
    panel.setMinimumWidth(PANEL_WIDTH)
    win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.hide()
    action = dock.toggleViewAction()
    action.setText("Teach...")
    action.setShortcut("T")
    action.setToolTip("Record your own gestures and fine-tune the model (T)")
    win.menus["File"].insertAction(win.act_quit, action)
    win.act_teach, win.teach_dock = action, dock
    win.installEventFilter(panel)
    # A dock opens at its minimum width; give it room from the central widget instead.
    dock.visibilityChanged.connect(
        lambda shown: shown and win.resizeDocks([dock], [PANEL_WIDTH], Qt.Orientation.Horizontal)
    )
    return panel
