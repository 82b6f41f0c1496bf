"""User-facing errors.

Every error a user can cause (a missing file, no camera, a wrong model file, a bad CSV)
is raised as a subclass of :class:`AsaLiveError` whose message is one clear sentence.
The command-line entry points catch ``AsaLiveError``, print the sentence and exit with
code 2; they never show a traceback for these.
"""

from __future__ import annotations


class AsaLiveError(Exception):
    """Base class: ``str(err)`` is a single sentence meant for the user."""

    exit_code = 2


class InputFileError(AsaLiveError):
    """A recording, labels file or dataset folder is missing, truncated or malformed."""


class CameraError(AsaLiveError):
    """No camera, a busy camera, a wrong serial number, or a camera unplugged mid-stream."""


class ModelFileError(AsaLiveError):
    """A checkpoint is missing, truncated, not a checkpoint, or of another architecture."""


class ConfigError(AsaLiveError):
    """An invalid option or combination of options."""
