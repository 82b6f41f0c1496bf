"""Start the window from the command line's options (``asa-live`` without ``--headless``)."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from PyQt6.QtCore import QTimer
from PyQt6.QtWidgets import QApplication

from asa_live.errors import AsaLiveError
from asa_live.gui.main_window import MainWindow
from asa_live.pipeline.models import load_model
from asa_live.pipeline.sources import SourceSpec


def run_app(args: argparse.Namespace, spec: SourceSpec | None) -> int:
    """Create the QApplication and the main window, run the event loop; returns the exit code.

    ``spec`` is the source the command line asked for (None: the window opens without one).
    Errors in the command line's own choices (the model, the first source) are raised as
    AsaLiveError before any window exists (the CLI prints them and exits 2); later errors
    appear as dialogs in the window.
    """
    checkpoint = load_model(args.model, args.backend)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("asa-live")
    window = MainWindow(
        checkpoint,
        idle_reset_ms=args.idle_reset_ms or None,
        noise_filter=args.noise_filter,
        policy=args.policy,
        model_path=args.model,
    )
    started = True
    if spec is not None:
        spec.check()  # a bad file or no camera: a one-line error, not a window with a dialog
        started = window.open_spec(spec, max_seconds=args.max_seconds)
    if not started:
        raise AsaLiveError(window.errors_shown[-1])
    window.show()
    # Ctrl-C in the terminal closes the window: Python runs signal handlers only between
    # bytecodes, so a timer wakes the interpreter while Qt's event loop is waiting.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(200)
    if args.screenshot:
        out = Path(args.screenshot)

        def shoot() -> None:
            window.redraw()
            ok = window.grab().save(str(out))
            window.close()
            app.exit(0 if ok else 1)

        QTimer.singleShot(int(args.screenshot_after * 1000), shoot)
    code = app.exec()
    window.close()
    if args.screenshot:
        if code != 0:
            print(f"asa-live: could not write the screenshot {out}", file=sys.stderr)
        else:
            print(f"asa-live: screenshot saved to {out}", file=sys.stderr)
    return code
