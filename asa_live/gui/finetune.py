"""Fine-tuning from the window: ``asa-live-train --recipe finetune`` in a background process.

The training runs in its own process (QProcess), so the window and its pipeline stay live;
the process's output is read as it comes and tqdm's bar over the whole run
("epoch 2/6:  25%|... | 9/36 [...") becomes the progress bar's fraction, step / steps (see
:class:`ProgressParser` for a trainer whose bar covers one epoch).

The command line is a function of the job (``command=``), so tests run a tiny fake trainer.
"""

from __future__ import annotations

import re
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, pyqtSignal

# tqdm's text: "epoch 2/6:  50%|#####     | 3/6 [00:04<00:04, ...]" (bar optional)
_EPOCH_RE = re.compile(r"epoch\s+(\d+)/(\d+)\b.*?(\d+)/(\d+)\s*\[")
_STEPS_RE = re.compile(r"(\d+)/(\d+)\s*\[")
_CLI_ERROR = "asa-live-train:"
CANCEL_WAIT_MS = 30_000  # SIGTERM lets the trainer end its step and save; then it is killed


@dataclass(frozen=True)
class FinetuneJob:
    """What to fine-tune: the starting checkpoint, the recordings folder, the run folder."""

    init: Path
    data_root: Path
    run_dir: Path

    @property
    def checkpoint(self) -> Path | None:
        """The run's best checkpoint (the last one if no best was written), or None."""
        for name in ("best.safetensors", "last.safetensors"):
            if (self.run_dir / name).is_file():
                return self.run_dir / name
        return None


def train_command(job: FinetuneJob) -> list[str]:
    """``asa-live-train --recipe finetune ...`` with this interpreter (works without PATH)."""
    return [
        sys.executable, "-m", "asa_live.train.cli", "--recipe", "finetune",
        "--init", str(job.init), "--data", "folder", "--data-root", str(job.data_root),
        "--out-dir", str(job.run_dir),
    ]  # fmt: skip


def next_run_dir(folder: Path) -> Path:
    """``<folder>/runs/finetune_NNN``, the first that does not exist (runs are never reused)."""
    for number in range(1, 100_000):
        run = folder / "runs" / f"finetune_{number:03d}"
        if not run.exists():
            return run
    raise RuntimeError(f"{folder / 'runs'} holds too many fine-tuning runs")


class ProgressParser:
    """Turns the trainer's output, chunk by chunk, into a fraction of the whole run.

    The trainer's bar is "epoch E/N" over the steps of the whole run (its position starts at
    the steps done so far). An older trainer restarted a bar of one epoch's steps in each
    epoch: a bar of epoch E >= 2 that starts below (E-1)/N of its total is one of those, and
    from then on counts as ``(E - 1 + step / steps) / N``.

    tqdm rewrites its line with ``\\r``; a chunk may end inside a line, so the unfinished tail
    is kept for the next chunk. Bars that are not "epoch" bars (the evaluation's) count only
    while no epoch bar was seen; the fraction never goes back within a mode.
    """

    def __init__(self) -> None:
        self.fraction = 0.0
        self.text = "starting"
        self.lines: deque[str] = deque(maxlen=40)  # the output's last lines, for error messages
        self._tail = ""
        self._epochs_seen = False
        self.per_epoch_bars = False

    def feed(self, chunk: str) -> bool:
        """Read a chunk of output; True when the progress changed."""
        parts = re.split(r"[\r\n]", self._tail + chunk)
        self._tail = parts.pop()
        changed = False
        for part in parts:
            part = part.strip()
            if part:
                self.lines.append(part)
                changed = self._read(part) or changed
        # tqdm's current line has no end until its next update; its numbers are complete once
        # the "[" after them has arrived, so it counts now.
        return self._read(self._tail) or changed

    def _read(self, line: str) -> bool:
        match = _EPOCH_RE.search(line)
        if match is not None:
            epoch, epochs, step, steps = (int(g) for g in match.groups())
            self._epochs_seen = True
            epochs, steps = max(epochs, 1), max(steps, 1)
            if not self.per_epoch_bars and epoch >= 2 and step * epochs < (epoch - 1) * steps:
                self.per_epoch_bars, self.fraction = True, 0.0
            done = epoch - 1 + step / steps if self.per_epoch_bars else step / steps * epochs
            fraction = done / epochs
            text = f"epoch {epoch}/{epochs}, step {step}/{steps}"
        elif not self._epochs_seen and (match := _STEPS_RE.search(line)) is not None:
            step, steps = int(match.group(1)), int(match.group(2))
            text, fraction = f"step {step}/{steps}", step / max(steps, 1)
        else:
            return False
        fraction = min(1.0, max(self.fraction, fraction))
        changed = (fraction, text) != (self.fraction, self.text)
        self.fraction, self.text = fraction, text
        return changed

    def error_message(self, exit_code: int) -> str:
        """One sentence for a failed run: the trainer's own sentence when it printed one."""
        for line in reversed(self.lines):
            if line.startswith(_CLI_ERROR):
                return line[len(_CLI_ERROR) :].strip()
        last = self.lines[-1] if self.lines else "no output"
        return f"Fine-tuning failed (exit code {exit_code}): {last}"


class FinetuneRunner(QObject):
    """Runs one fine-tuning job at a time in a QProcess.

    Signals:
        progress(float, str): fraction of the run done (0..1) and "epoch 2/6, step 3/6".
        succeeded(str): the run's checkpoint (RUN/best.safetensors).
        failed(str): one sentence (the trainer's, or the exit code and its last line).
        cancelled(): the user stopped the run.
    """

    progress = pyqtSignal(float, str)
    succeeded = pyqtSignal(str)
    failed = pyqtSignal(str)
    cancelled = pyqtSignal()

    def __init__(
        self,
        command: Callable[[FinetuneJob], list[str]] = train_command,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.command = command
        self.job: FinetuneJob | None = None
        self.parser = ProgressParser()
        self.process: QProcess | None = None
        self._cancelling = False

    @property
    def running(self) -> bool:
        return self.process is not None

    def start(self, job: FinetuneJob) -> None:
        if self.process is not None:
            raise RuntimeError("a fine-tuning run is already in progress")
        self.job, self.parser, self._cancelling = job, ProgressParser(), False
        argv = self.command(job)
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")  # log lines arrive as they are written
        process.setProcessEnvironment(env)
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self.process = process
        process.start(argv[0], argv[1:])

    def cancel(self) -> None:
        """SIGTERM: the trainer finishes its step, saves and stops; killed after ``CANCEL_WAIT_MS``.

        Never blocks: ``cancelled`` comes when the process has ended.
        """
        process = self.process
        if process is None or self._cancelling:
            return
        self._cancelling = True
        process.terminate()
        QTimer.singleShot(CANCEL_WAIT_MS, lambda: self._kill(process))

    def stop_now(self) -> None:
        """The window closes: SIGTERM, wait up to ``CANCEL_WAIT_MS``, then kill."""
        process = self.process
        if process is None:
            return
        self._cancelling = True
        process.terminate()
        if not process.waitForFinished(CANCEL_WAIT_MS):
            process.kill()
            process.waitForFinished(CANCEL_WAIT_MS)

    def _kill(self, process: QProcess) -> None:
        if self.process is process:
            process.kill()

    def _read(self) -> None:
        if self.process is None:
            return
        chunk = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        if self.parser.feed(chunk):
            self.progress.emit(self.parser.fraction, self.parser.text)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self.process is not None:
            program = self.process.program()
            self._done()
            self.failed.emit(f"Cannot start fine-tuning ('{program}' did not start).")

    def _finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        if self.process is None:
            return
        self._read()
        self.parser.feed("\n")  # the last unfinished line counts too
        job, cancelling = self.job, self._cancelling
        self._done()
        if cancelling:
            self.cancelled.emit()
        elif status != QProcess.ExitStatus.NormalExit or exit_code != 0:
            self.failed.emit(self.parser.error_message(exit_code))
        elif job is None or job.checkpoint is None:
            run = "the run folder" if job is None else str(job.run_dir)
            self.failed.emit(f"Fine-tuning ended but wrote no checkpoint into {run}.")
        else:
            self.progress.emit(1.0, "done")
            self.succeeded.emit(str(job.checkpoint))

    def _done(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.deleteLater()
