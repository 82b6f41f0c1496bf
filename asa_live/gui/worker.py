"""Qt face of the pipeline worker: typed signals for errors and the end of the stream.

The pipeline's two threads are plain Python threads (:class:`PipelineWorker`); this QObject
lives in the GUI thread and re-emits their callbacks as signals. Signals emitted from another
thread are queued to the receivers' thread by Qt, so slots always run in the GUI thread.
Cancellation is cooperative (``stop()`` sets an event the threads poll); nothing is ever
terminated.
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal

from asa_live.errors import AsaLiveError


class QtPipelineWorker(QObject):
    """Wraps a :class:`~asa_live.pipeline.runner.PipelineWorker` for the GUI.

    Signals:
        failed(str): the one-sentence message of an error raised inside the pipeline.
        finished(): the stream ended (end of file, error or stop).
        dropped(int): windows were dropped (the total so far), from the worker's
            ``on_dropped``, so the status bar flags it at once.
    """

    failed = pyqtSignal(str)
    finished = pyqtSignal()
    dropped = pyqtSignal("qint64")

    def __init__(self, worker: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        worker.on_error = self._on_error
        worker.on_finished = self.finished.emit
        worker.on_dropped = self.dropped.emit

    def _on_error(self, err: BaseException) -> None:
        if isinstance(err, AsaLiveError):
            self.failed.emit(str(err))
        else:
            self.failed.emit(f"Internal error in the pipeline ({type(err).__name__}: {err}).")

    def start(self) -> None:
        """Open the source and start; raises AsaLiveError (shown by the caller)."""
        self.worker.start()

    def stop(self) -> None:
        self.worker.on_error = None
        self.worker.on_finished = None
        self.worker.on_dropped = None
        self.worker.stop()
