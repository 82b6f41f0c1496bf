"""A recordings folder (asa-live-record, or synthetic recordings + classes.txt) as train / val.

Layout and checks: asa_live.teach.folder (``classes.txt``, ``<name>.aedat4`` +
``<name>_labels.csv``, optional ``trials_to_train.txt`` / ``trials_to_test.txt``). Class names
come from ``classes.txt`` (CSV class k is line k).

Split:

* with a non-empty ``trials_to_test.txt``: the listed files are validation, the files of
  ``trials_to_train.txt`` (or, without it, all others) are training;
* otherwise takes are held out per class: ``round(holdout_fraction * n)`` of a class's n takes,
  at least one when n >= 2, chosen by the seed. A class with a single take is trained on and
  not validated (the log says so). A held-out take is cut out of its recording with the idle
  time around it (up to half-way to the neighbouring takes), so no training window sees it;
  the rest of the recording stays training data, its idle parts "no gesture".
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from asa_live.errors import InputFileError
from asa_live.events.ibm import read_trial_list
from asa_live.teach.folder import TEST_LIST, TRAIN_LIST, check_folder
from asa_live.train.data.config import DataConfig
from asa_live.train.data.recordings import EventRecording, read_events

__all__ = ["FolderData", "load_folder", "split_takes"]

log = logging.getLogger(__name__)

#: A label may reach this far past the first / last event (a still hand makes few events).
_LABEL_SLACK_US = 500_000


class FolderData:
    """Class names and the train / validation recordings of a folder."""

    def __init__(
        self, class_names: list[str], train: list[EventRecording], val: list[EventRecording]
    ) -> None:
        self.class_names = class_names
        self.train = train
        self.val = val

    def describe(self, root: str | Path) -> tuple[str, str]:
        def takes(recs: list[EventRecording]) -> int:
            return sum(len(r.labels) for r in recs)

        return (
            f"folder {root} train: {takes(self.train)} takes of {len(self.class_names)} classes "
            f"({', '.join(self.class_names)}) in {len(self.train)} pieces",
            f"folder val: {takes(self.val)} held-out takes",
        )


def _read(path: Path, labels: np.ndarray, cfg: DataConfig) -> EventRecording:
    events = read_events(path, cfg)
    first, last = int(events["t"][0]), int(events["t"][-1])
    outside = (labels["start_us"] < first - _LABEL_SLACK_US) | (
        labels["end_us"] > last + _LABEL_SLACK_US
    )
    if outside.any():
        row = labels[np.flatnonzero(outside)[0]]
        raise InputFileError(
            f"A label of '{path.name}' ({int(row['start_us'])}..{int(row['end_us'])} us) lies "
            f"outside the recording ({first}..{last} us): fix its labels CSV."
        )
    return EventRecording(path.name, events, labels)


def split_takes(
    recordings: list[EventRecording], num_classes: int, fraction: float, seed: int
) -> tuple[list[EventRecording], list[EventRecording], list[int]]:
    """Hold out takes per class: (train pieces, validation takes, classes with one take)."""
    takes = [(r, j) for r, rec in enumerate(recordings) for j in range(len(rec.labels))]
    rng = np.random.default_rng([seed, 7])
    held: set[tuple[int, int]] = set()
    single = []
    for c in range(num_classes):
        mine = [t for t in takes if int(recordings[t[0]].labels["class_id"][t[1]]) == c]
        if len(mine) < 2:
            single.append(c)
            continue
        k = min(len(mine) - 1, max(1, round(fraction * len(mine))))
        for i in rng.choice(len(mine), size=k, replace=False):
            held.add(mine[int(i)])
    train, val = [], []
    for r, rec in enumerate(recordings):
        order = np.argsort(rec.labels["start_us"], kind="stable")
        first, last = rec.t_range
        cursor = first
        for pos, j in enumerate(order):
            if (r, int(j)) not in held:
                continue
            lo, hi = _take_span(rec, order, pos, first, last)
            val.append(rec.cut(lo, hi, f"{rec.name}#take{int(j) + 1}"))
            if lo > cursor:
                train.append(rec.cut(cursor, lo, f"{rec.name}@{cursor}"))
            cursor = hi
        if last + 1 > cursor:
            train.append(rec.cut(cursor, last + 1, f"{rec.name}@{cursor}"))
    return [t for t in train if len(t.events)], val, single


def _take_span(
    rec: EventRecording, order: np.ndarray, pos: int, first: int, last: int
) -> tuple[int, int]:
    """The take at ``order[pos]`` with the idle time up to half-way to its neighbours."""
    row = rec.labels[order[pos]]
    prev_end = int(rec.labels["end_us"][order[pos - 1]]) if pos > 0 else first
    next_start = int(rec.labels["start_us"][order[pos + 1]]) if pos + 1 < len(order) else last + 1
    lo = (prev_end + int(row["start_us"])) // 2 if pos > 0 else first
    hi = (int(row["end_us"]) + next_start + 1) // 2 if pos + 1 < len(order) else last + 1
    return lo, hi


def load_folder(cfg: DataConfig) -> FolderData:
    """Read and split the recordings folder ``cfg.data_root`` (InputFileError when unusable)."""
    if cfg.data_root is None:
        raise InputFileError("--data folder needs --data-root: the recordings folder.")
    root = Path(cfg.data_root)
    names, found = check_folder(root)
    recordings = {path.name: _read(path, labels, cfg) for path, labels in found}
    test_list = root / TEST_LIST
    test_names = read_trial_list(test_list) if test_list.is_file() else []
    if test_names:
        unknown = [n for n in test_names if n not in recordings]
        if unknown:
            raise InputFileError(
                f"{test_list} names '{unknown[0]}', which is not a labelled recording there."
            )
        train_list = root / TRAIN_LIST
        train_names = (
            read_trial_list(train_list)
            if train_list.is_file()
            else [n for n in recordings if n not in test_names]
        )
        train = [recordings[n] for n in train_names if n in recordings]
        val = [recordings[n] for n in test_names]
        if not train:
            raise InputFileError(f"{root}: no recording is left for training.")
        return FolderData(names, train, val)
    train, val, single = split_takes(
        list(recordings.values()), len(names), cfg.holdout_fraction, cfg.seed
    )
    if single:
        log.warning(
            "class(es) %s have a single take: trained on, not validated (record at least 2)",
            ", ".join(names[c] for c in single),
        )
    return FolderData(names, train, val)
