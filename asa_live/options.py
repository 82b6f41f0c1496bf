"""Command-line option types shared by every ``asa-live*`` command.

Every number option of every command goes through one of these types, so that NaN, infinity,
out-of-range values and garbage all end the same way: one sentence on stderr and exit code 2
(argparse's contract), never a traceback or a native abort further down.

    p = Parser(prog="asa-live", description=...)
    p.add_argument("--max-seconds", type=float_in(0, 1e6, low_open=True), metavar="S")
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import NoReturn

from asa_live import __version__


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and exit code 2.

    It also adds ``--version`` and keeps defaults visible in ``--help``.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.add_argument("--version", action="version", version=f"%(prog)s {__version__}")

    def error(self, message: str) -> NoReturn:
        msg = message[0].upper() + message[1:] if message else message
        if not msg.endswith("."):
            msg += "."
        sys.stderr.write(f"{self.prog}: {msg} (see {self.prog} --help)\n")
        sys.exit(2)


class HelpFormatter(argparse.HelpFormatter):
    """Wraps one-paragraph text; keeps text with line breaks as written (examples stay readable)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text.strip():
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _parse_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return value


def float_in(
    low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> Callable[[str], float]:
    """A finite float in [low, high] (or with open ends), as an argparse ``type``."""

    def convert(text: str) -> float:
        value = _parse_float(text)
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if too_low or too_high:
            left = "(" if low_open else "["
            right = ")" if high_open else "]"
            raise argparse.ArgumentTypeError(
                f"{text} is outside the allowed range {left}{low:g}, {high:g}{right}"
            )
        return value

    convert.__name__ = "number"  # argparse names the type in its messages
    return convert


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An integer in [low, high], as an argparse ``type``."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{value} is outside the allowed range [{low}, {high}]"
            )
        return value

    convert.__name__ = "integer"
    return convert


def positive_float(high: float = 1e9) -> Callable[[str], float]:
    """A finite float in (0, high]."""
    return float_in(0.0, high, low_open=True)


def nonnegative_float(high: float = 1e9) -> Callable[[str], float]:
    """A finite float in [0, high]."""
    return float_in(0.0, high)
