"""A recordings folder: the user's own gestures, ready for fine-tuning.

Layout (IBM's DVS128 Gesture layout, with AEDAT4 files and the user's own class list)::

    OUT_DIR/
      classes.txt                 one class name per line; CSV class k is line k (1-based)
      alice_001.aedat4            one file per recording session
      alice_001_labels.csv        class,startTime_usec,endTime_usec (IBM's layout)
      trials_to_train.txt         session files used for training (one name per line)
      trials_to_test.txt          session files held out for testing (may be absent)

Trial lists are optional for fine-tuning: without them it splits the takes itself. Nothing
here ever overwrites a file: a new session takes the next free number.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from asa_live.errors import ConfigError, InputFileError
from asa_live.events.ibm import read_labels_csv

CLASSES_FILE = "classes.txt"
TRAIN_LIST = "trials_to_train.txt"
TEST_LIST = "trials_to_test.txt"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and prove a file can be written in it (InputFileError if not)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as err:
        raise InputFileError(
            f"Cannot write into '{folder}' ({err.strerror or err}): choose a writable folder."
        ) from None


def parse_class_names(text: str) -> list[str]:
    """``"swipe_left,swipe_right"`` -> names; ConfigError for empty, malformed or duplicate names."""
    names = [part.strip() for part in text.split(",")]
    if not text.strip() or not any(names):
        raise ConfigError(
            "The class list is empty: give names like --classes swipe_left,swipe_right."
        )
    if "" in names:
        raise ConfigError(
            f"The class list '{text}' has an empty name: separate names by single commas."
        )
    bad = [n for n in names if not _NAME_RE.match(n)]
    if bad:
        raise ConfigError(
            f"The class name '{bad[0]}' is not allowed: use letters, digits, '_', '-' and '.'."
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(
            f"The class list names '{dupes[0]}' more than once: give each class once."
        )
    return names


def read_classes(folder: str | os.PathLike) -> list[str]:
    """The folder's ``classes.txt``; InputFileError when missing or malformed."""
    path = Path(folder) / CLASSES_FILE
    if not path.is_file():
        raise InputFileError(
            f"The folder '{folder}' has no {CLASSES_FILE}: record into it with asa-live-record, "
            "or write one class name per line."
        )
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8-sig").splitlines()]
    try:
        return parse_class_names(",".join(ln for ln in lines if ln))
    except ConfigError as err:
        raise InputFileError(f"{path}: {err}") from None


def write_classes(folder: str | os.PathLike, names: Sequence[str]) -> None:
    """Write ``classes.txt``; an existing one must hold the same names (it is never changed)."""
    path = Path(folder) / CLASSES_FILE
    if path.is_file():
        existing = read_classes(folder)
        if existing != list(names):
            raise ConfigError(
                f"The folder '{folder}' already records the classes {','.join(existing)}: "
                "use the same --classes, or record into a new folder."
            )
        return
    _write_atomic(path, "\n".join(names) + "\n")


def next_session_stem(folder: str | os.PathLike, user: str) -> str:
    """``<user>_<NNN>``, the first number whose files do not exist yet."""
    folder = Path(folder)
    for number in range(1, 100_000):
        stem = f"{user}_{number:03d}"
        if not any(folder.glob(f"{stem}.*")) and not (folder / f"{stem}_labels.csv").exists():
            return stem
    raise ConfigError(f"The folder '{folder}' holds too many sessions of user '{user}'.")


def add_to_trial_list(folder: str | os.PathLike, name: str, test: bool) -> None:
    """Append a session file name to the train (or test) trial list."""
    path = Path(folder) / (TEST_LIST if test else TRAIN_LIST)
    names = path.read_text(encoding="utf-8").split() if path.is_file() else []
    if name not in names:
        _write_atomic(path, "\n".join([*names, name]) + "\n")


def labels_path(recording: str | os.PathLike) -> Path:
    path = Path(recording)
    return path.with_name(f"{path.stem}_labels.csv")


def list_sessions(folder: str | os.PathLike) -> list[Path]:
    """Every recording of the folder that has a labels CSV, sorted by name."""
    folder = Path(folder)
    files = [
        p
        for p in sorted(folder.iterdir())
        if p.suffix.lower() in (".aedat4", ".aedat") and labels_path(p).is_file()
    ]
    return files


def check_folder(folder: str | os.PathLike) -> tuple[list[str], list[tuple[Path, np.ndarray]]]:
    """Validate a recordings folder for fine-tuning: ``(class names, [(file, labels)])``.

    InputFileError (one sentence) when the folder is missing, has no classes.txt, no labelled
    recording, or a class with no take.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(f"The recordings folder '{folder}' does not exist: check --data-root.")
    names = read_classes(folder)
    sessions = list_sessions(folder)
    if not sessions:
        raise InputFileError(
            f"The folder '{folder}' holds no recording with a labels CSV "
            "(<name>.aedat4 with <name>_labels.csv): record some with asa-live-record."
        )
    found = [
        (path, read_labels_csv(labels_path(path), num_classes=len(names))) for path in sessions
    ]
    counts = np.bincount(
        np.concatenate([labels["class_id"] for _, labels in found]), minlength=len(names)
    )
    missing = [names[i] for i in np.flatnonzero(counts == 0)]
    if missing:
        raise InputFileError(
            f"The class '{missing[0]}' in {folder / CLASSES_FILE} has no take: record it, or "
            "remove it from the list."
        )
    return names, found


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
