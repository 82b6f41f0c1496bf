"""Progress bars that behave on a terminal and in a log.

On a terminal: tqdm's bar, redrawn in place. Anywhere else (a pipe, a log file, the GUI's
fine-tune runner, CI): the same text as whole lines, at most one every ``log_interval_s``
seconds and only for phases that last longer than that, so a log holds "epoch 2/8:  40%|
96/240 [01:10<01:45, ...]" lines instead of carriage-return soup. The GUI parses "n/total"
from either form.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm


class _Lines:
    """A file-like object that turns tqdm's carriage-return redraws into lines."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        for part in text.replace("\r", "\n").split("\n"):
            if part.strip():
                self.stream.write(part.rstrip() + "\n")

    def flush(self) -> None:
        self.stream.flush()


def progress_bar(*, log_interval_s: float = 5.0, stream: TextIO | None = None, **kw: Any) -> tqdm:
    """A tqdm bar on a terminal; plain progress lines (every ``log_interval_s``) elsewhere."""
    stream = stream if stream is not None else sys.stderr
    if stream.isatty():
        return tqdm(file=stream, **kw)
    kw.pop("dynamic_ncols", None)
    # delay: a phase shorter than one interval prints nothing at all (no noise around errors)
    return tqdm(file=_Lines(stream), mininterval=log_interval_s, delay=log_interval_s, ncols=100,
                ascii=True, **kw)  # fmt: skip
