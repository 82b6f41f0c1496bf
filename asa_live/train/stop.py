"""Stop requests: Ctrl-C (SIGINT) and SIGTERM end a run at the next step boundary.

A signal only sets a flag; the trainer looks at it after each optimiser step (and after the
evaluation), saves a state it can resume exactly, and stops. A second Ctrl-C quits at once,
without saving anything more (the last saved state stays valid).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

__all__ = ["StopRequest"]

log = logging.getLogger(__name__)

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Context manager: while active, SIGINT / SIGTERM set :attr:`requested`.

    Outside the main thread (where Python cannot install handlers) it only holds the flag.
    """

    def __init__(self) -> None:
        self.requested = False
        self.signal_name: str | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt  # the second Ctrl-C: quit now
        self.requested = True
        self.signal_name = signal.Signals(signum).name
        log.warning(
            "%s: stopping after the current step and saving; Ctrl-C again quits without saving",
            self.signal_name,
        )
