"""Whole synthetic datasets in IBM's raw layout and in tonic's layout.

IBM (``write_ibm_dataset``)::

    ROOT/DvsGesture/userNN_<lighting>.aedat          AEDAT 3.1, a continuous trial
    ROOT/DvsGesture/userNN_<lighting>_labels.csv     class,startTime_usec,endTime_usec (1..11)
    ROOT/DvsGesture/trials_to_train.txt              one .aedat name per line
    ROOT/DvsGesture/trials_to_test.txt

tonic (``write_tonic_dataset``)::

    ROOT/DVSGesture/ibmGestureTrain/userNN_<lighting>/<label>.npy   (N, 4) x, y, p, t_ms
    ROOT/DVSGesture/ibmGestureTest/userNN_<lighting>/<label>.npy

Seeds follow the project convention: trial / sample ``i`` of the training users uses seed
``seed + i`` (inside 0..99_999), of the test users ``100_000 + seed + i``. Users
``1..n_train_users`` are training users, the following ``n_test_users`` are test users,
as in DVS128 Gesture (users 01-23 train, 24-29 test).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asa_live.classes import NUM_GESTURE_CLASSES
from asa_live.errors import ConfigError
from asa_live.events.ibm import write_aedat31, write_labels_csv
from asa_live.events.tonic_npy import write_tonic_npy
from asa_live.progress import progress_bar
from asa_live.synth.recording import (
    LIGHTING_TAGS,
    TEST_SEEDS,
    TRAIN_SEEDS,
    generate_recording,
    generate_sample,
)

ARM_ROLL = 7
# A fixed header time keeps the files byte-identical for a seed.
AEDAT31_HEADER_TIME = _dt.datetime(2017, 1, 1, tzinfo=_dt.timezone.utc)


@dataclass(frozen=True)
class Trial:
    """One synthetic trial: a user under one lighting, split ``train`` or ``test``."""

    user: int
    lighting: str
    split: str
    seed: int

    @property
    def name(self) -> str:
        return f"user{self.user:02d}_{self.lighting}"


def plan_trials(
    n_train_users: int, n_test_users: int, trials_per_user: int, seed: int
) -> list[Trial]:
    """Users, lighting tags and seeds of every trial (deterministic for ``seed``)."""
    if n_train_users < 0 or n_test_users < 0 or n_train_users + n_test_users < 1:
        raise ConfigError(
            f"Need at least one user; got {n_train_users} train and {n_test_users} test users."
        )
    if not 1 <= trials_per_user <= len(LIGHTING_TAGS):
        raise ConfigError(
            f"trials_per_user must be 1..{len(LIGHTING_TAGS)} (one per lighting tag), got {trials_per_user}."
        )
    rng = np.random.default_rng([int(seed), 7])
    trials: list[Trial] = []
    counters = {"train": 0, "test": 0}
    for user in range(1, n_train_users + n_test_users + 1):
        split = "train" if user <= n_train_users else "test"
        tags = rng.choice(len(LIGHTING_TAGS), size=trials_per_user, replace=False)
        for tag in sorted(int(t) for t in tags):
            base = TRAIN_SEEDS.start if split == "train" else TEST_SEEDS.start
            trial_seed = base + int(seed) + counters[split]
            limit = TRAIN_SEEDS if split == "train" else TEST_SEEDS
            if trial_seed not in limit:
                raise ConfigError(
                    f"Seed {trial_seed} leaves the {split} seed range {limit.start}..{limit.stop - 1}; use a smaller --seed."
                )
            counters[split] += 1
            trials.append(Trial(user, LIGHTING_TAGS[tag], split, trial_seed))
    return trials


def _trial_classes(rng: np.random.Generator, arm_roll_twice: bool) -> list[int]:
    """Classes 0..10 in order, arm roll repeated as in the real CSVs, now and then two swapped."""
    classes: list[int] = []
    for c in range(NUM_GESTURE_CLASSES):
        classes.append(c)
        if c == ARM_ROLL and arm_roll_twice:
            classes.append(c)
    if rng.random() < 0.2:  # user01_natural has 5 before 4: the order is not strict
        i = int(rng.integers(0, len(classes) - 1))
        classes[i], classes[i + 1] = classes[i + 1], classes[i]
    return classes


def ibm_trial_recording(
    trial: Trial,
    gesture_duration_us: tuple[int, int],
    gap_us: tuple[int, int],
    arm_roll_twice: bool = True,
    randomize: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Events and labels of one IBM-layout trial (what :func:`write_ibm_dataset` writes).

    Gesture durations and the idle gap are drawn in ``[min, max]`` microseconds from the
    trial's seed; the trial's lighting tag is passed on to the scene.
    """
    rng = np.random.default_rng([trial.seed, 11])
    classes = _trial_classes(rng, arm_roll_twice)
    durations = rng.integers(gesture_duration_us[0], gesture_duration_us[1] + 1, len(classes))
    gap = int(rng.integers(gap_us[0], gap_us[1] + 1))
    return generate_recording(
        classes,
        trial.seed,
        gesture_duration_us=[int(d) for d in durations],
        gap_us=gap,
        lighting=trial.lighting,
        randomize=randomize,
    )


def _make_ibm_trial(args: tuple) -> str:
    trial, folder, duration_range_us, gap_range_us, arm_roll_twice, randomize = args
    events, labels = ibm_trial_recording(
        trial, duration_range_us, gap_range_us, arm_roll_twice, randomize
    )
    write_aedat31(folder / f"{trial.name}.aedat", events, start_time=AEDAT31_HEADER_TIME)
    write_labels_csv(folder / f"{trial.name}_labels.csv", labels)
    return trial.name


def _run(jobs: list, fn: Callable, workers: int, progress: bool, desc: str) -> None:
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}.")
    bar = progress_bar(total=len(jobs), desc=desc, unit="file", disable=not progress)
    try:
        if workers == 1:
            for job in jobs:
                fn(job)
                bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for _ in pool.map(fn, jobs, chunksize=1):
                    bar.update(1)
    finally:
        bar.close()


def _check_range(name: str, value: Iterable[int]) -> tuple[int, int]:
    lo, hi = (int(v) for v in value)
    if not 0 <= lo <= hi:
        raise ConfigError(
            f"{name} must be (min, max) with 0 <= min <= max microseconds, got {value}."
        )
    return lo, hi


def _test_users(n_users: int, n_test_users: int | None) -> int:
    """How many of ``n_users`` are test users; None: about 6 of 29 (IBM's split), at least one
    when ``n_users`` > 1."""
    if n_users < 1:
        raise ConfigError(f"n_users must be >= 1, got {n_users}.")
    if n_test_users is None:
        n_test_users = 0 if n_users == 1 else max(1, round(n_users * 6 / 29))
    if not 0 <= n_test_users <= n_users:
        raise ConfigError(f"n_test_users must be in 0..{n_users}, got {n_test_users}.")
    return n_test_users


def write_ibm_dataset(
    root: str | os.PathLike,
    n_users: int = 6,
    n_test_users: int | None = None,
    trials_per_user: int = 2,
    seed: int = 0,
    gesture_duration_us: tuple[int, int] = (4_500_000, 8_500_000),
    gap_us: tuple[int, int] = (300_000, 1_500_000),
    arm_roll_twice: bool = True,
    workers: int = 1,
    progress: bool = False,
    randomize: int = 0,
) -> Path:
    """Write a synthetic DVS128 Gesture in IBM's raw layout under ``root/DvsGesture``.

    ``n_users`` users in all, the last ``n_test_users`` of them (default: about 6 of 29, at
    least one when ``n_users`` > 1) in the test list. Each user gets ``trials_per_user``
    trials under distinct lighting tags; a trial is one continuous recording of the 11
    gestures in (mostly) class order with arm roll labelled twice. Returns the folder.
    """
    n_test_users = _test_users(n_users, n_test_users)
    duration_range = _check_range("gesture_duration_us", gesture_duration_us)
    gap_range = _check_range("gap_us", gap_us)
    if duration_range[0] < 100_000:
        raise ConfigError(f"gesture durations must be >= 100 ms, got {duration_range[0]} us.")
    folder = Path(root) / "DvsGesture"
    folder.mkdir(parents=True, exist_ok=True)
    trials = plan_trials(n_users - n_test_users, n_test_users, trials_per_user, seed)
    jobs = [(t, folder, duration_range, gap_range, arm_roll_twice, randomize) for t in trials]
    _run(jobs, _make_ibm_trial, workers, progress, "IBM trials")
    for split in ("train", "test"):
        names = [f"{t.name}.aedat" for t in trials if t.split == split]
        (folder / f"trials_to_{split}.txt").write_text("".join(n + "\n" for n in names))
    return folder


@dataclass(frozen=True)
class TonicSample:
    """One ``<label>.npy`` of the tonic layout and how it is generated."""

    relpath: str
    class_id: int
    seed: int
    duration_us: int
    lighting: str
    randomize: int = 0

    def events(self) -> np.ndarray:
        return generate_sample(
            self.class_id,
            self.seed,
            duration_us=self.duration_us,
            lighting=self.lighting,
            randomize=self.randomize,
        )


def plan_tonic_samples(
    n_train_users: int,
    n_test_users: int,
    trials_per_user: int,
    seed: int,
    sample_duration_us: tuple[int, int],
    randomize: int = 0,
) -> list[TonicSample]:
    """Every sample of a tonic-layout dataset (paths relative to ``DVSGesture/``)."""
    lo, hi = _check_range("sample_duration_us", sample_duration_us)
    if lo < 100_000:
        raise ConfigError(f"sample durations must be >= 100 ms, got {lo} us.")
    samples = []
    for t in plan_trials(n_train_users, n_test_users, trials_per_user, seed):
        sub = "ibmGestureTrain" if t.split == "train" else "ibmGestureTest"
        rng = np.random.default_rng([t.seed, 13])
        seeds_range = TRAIN_SEEDS if t.split == "train" else TEST_SEEDS
        for k in range(NUM_GESTURE_CLASSES):
            sample_seed = seeds_range.start + (t.seed * NUM_GESTURE_CLASSES + k) % len(seeds_range)
            duration = int(rng.integers(lo, hi + 1))
            samples.append(
                TonicSample(
                    f"{sub}/{t.name}/{k}.npy", k, sample_seed, duration, t.lighting, randomize
                )
            )
    return samples


def _make_tonic_sample(args: tuple) -> None:
    base, sample = args
    write_tonic_npy(base / sample.relpath, sample.events())


def write_tonic_dataset(
    root: str | os.PathLike,
    n_users: int = 6,
    n_test_users: int | None = None,
    trials_per_user: int = 2,
    seed: int = 0,
    sample_duration_us: tuple[int, int] = (4_500_000, 8_500_000),
    workers: int = 1,
    progress: bool = False,
    randomize: int = 0,
) -> Path:
    """Write a synthetic DVSGesture in tonic's layout under ``root/DVSGesture``.

    ``ibmGestureTrain/userNN_<lighting>/<label>.npy`` and the same under ``ibmGestureTest``;
    one sample per class and trial folder (as tonic keeps), each an ``(N, 4)`` float64 array
    with columns x, y, p, t in milliseconds, t from 0. Sample ``k`` of a trial with seed ``s``
    uses seed ``s * 11 + k`` folded into the split's seed range (:func:`plan_tonic_samples`).
    Returns the ``DVSGesture`` folder.

    tonic's ``DVSGesture(save_to=root)`` skips its download only when
    ``ibmGestureTrain.tar.gz`` / ``ibmGestureTest.tar.gz`` exist beside the folders and
    >= 100 ``.npy`` files are present; empty marker files of those names are written too.
    """
    n_test_users = _test_users(n_users, n_test_users)
    base = Path(root) / "DVSGesture"
    samples = plan_tonic_samples(
        n_users - n_test_users, n_test_users, trials_per_user, seed, sample_duration_us, randomize
    )
    for sample in samples:
        (base / sample.relpath).parent.mkdir(parents=True, exist_ok=True)
    _run(
        [(base, sample) for sample in samples],
        _make_tonic_sample,
        workers,
        progress,
        "tonic samples",
    )
    for sub in ("ibmGestureTrain", "ibmGestureTest"):
        (base / sub).mkdir(parents=True, exist_ok=True)
        (base / f"{sub}.tar.gz").touch()
    return base
