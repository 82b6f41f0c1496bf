"""Which loader reads ``--data`` / ``--data-root``: the (train, test) splits of a run, or the
test split alone for evaluation. One place, shared by asa-live-train and asa-live-eval."""

from __future__ import annotations

from pathlib import Path

from asa_live.errors import ConfigError, InputFileError
from asa_live.events.ibm import read_aedat31, read_labels_csv, read_trial_list
from asa_live.synth import generate_recording
from asa_live.train.data.config import DataConfig
from asa_live.train.data.folder import FolderData, load_folder
from asa_live.train.data.ibm import find_ibm_root, load_ibm_split
from asa_live.train.data.recordings import EventRecording, check_memory, to_sequence
from asa_live.train.data.sequences import DataSplit
from asa_live.train.data.synthetic import make_synthetic_split, recording_plan, recordings_for
from asa_live.train.data.tonic import load_tonic_split

__all__ = ["detect_layout", "load_split", "load_splits", "load_train_recordings"]


def detect_layout(root: Path) -> str:
    """ "ibm" or "tonic" from what the folder holds; InputFileError for anything else."""
    try:
        find_ibm_root(root)
        return "ibm"
    except InputFileError:
        pass
    for name in ("ibmGestureTrain", "ibmGestureTest"):
        if (root / "DVSGesture" / name).is_dir() or (root / name).is_dir():
            return "tonic"
    raise InputFileError(
        f"'{root}' is neither an IBM DvsGesture folder (trials_to_train.txt) nor a tonic "
        "DVSGesture folder (ibmGestureTrain/): point --data-root at one of them."
    )


def _synthetic(cfg: DataConfig, train: bool) -> DataSplit:
    per_class = cfg.synth_train_per_class if train else cfg.synth_test_per_class
    return make_synthetic_split(
        cfg,
        train=train,
        num_recordings=recordings_for(per_class, cfg.synth_gestures_per_recording),
        gestures_per_recording=cfg.synth_gestures_per_recording,
    )


def _folder_split(cfg: DataConfig, folder: FolderData, train: bool) -> DataSplit:
    recordings = folder.train if train else folder.val
    described = folder.describe(cfg.data_root)
    return DataSplit(
        [to_sequence(r, cfg) for r in recordings],
        described[0 if train else 1],
        tuple(folder.class_names),
    )


def load_split(cfg: DataConfig, *, train: bool) -> DataSplit:
    """One split as ``cfg.data`` / ``cfg.data_root`` say (synthetic with a root: detected)."""
    if cfg.data == "folder":
        return _folder_split(cfg, load_folder(cfg), train)
    if cfg.data == "synthetic" and cfg.data_root is None:
        return _synthetic(cfg, train)
    if cfg.data_root is None:
        raise InputFileError(
            f"--data {cfg.data} needs --data-root: the folder of the downloaded dataset."
        )
    root = Path(cfg.data_root)
    if not root.is_dir():
        raise InputFileError(f"The dataset folder '{root}' does not exist: check --data-root.")
    layout = cfg.data if cfg.data != "synthetic" else detect_layout(root)
    loader = load_ibm_split if layout == "ibm" else load_tonic_split
    return loader(root, train, cfg)


def load_splits(cfg: DataConfig) -> tuple[DataSplit, DataSplit]:
    """(train, test) of a run."""
    if cfg.data == "folder":
        folder = load_folder(cfg)  # read once for both splits
        return _folder_split(cfg, folder, True), _folder_split(cfg, folder, False)
    return load_split(cfg, train=True), load_split(cfg, train=False)


def load_train_recordings(cfg: DataConfig) -> list[EventRecording]:
    """The training split as events in memory (the augmented path); see recordings.py."""
    if cfg.data == "folder":
        recordings = load_folder(cfg).train
    elif cfg.data == "synthetic" and cfg.data_root is None:
        plan = recording_plan(
            train=True,
            num_recordings=recordings_for(
                cfg.synth_train_per_class, cfg.synth_gestures_per_recording
            ),
            gestures_per_recording=cfg.synth_gestures_per_recording,
        )
        recordings = []
        for class_ids, seed in plan:
            events, labels = generate_recording(
                class_ids, seed, gesture_duration_us=int(cfg.synth_duration_ms) * 1000
            )
            recordings.append(EventRecording(f"synth-seed{seed}", events, labels))
    elif cfg.data_root is not None and load_layout(cfg) == "ibm":
        root = find_ibm_root(Path(cfg.data_root))
        recordings = []
        for name in read_trial_list(root / "trials_to_train.txt"):
            path = root / name
            labels = read_labels_csv(path.with_name(path.stem + "_labels.csv"))
            recordings.append(EventRecording(name, read_aedat31(path), labels))
    else:
        raise ConfigError(
            "--augment on needs continuous recordings (--data synthetic, ibm or folder); "
            "tonic's copy holds single segments: use --augment off."
        )
    check_memory(recordings, "training split")
    return recordings


def load_layout(cfg: DataConfig) -> str:
    return cfg.data if cfg.data != "synthetic" else detect_layout(Path(cfg.data_root))
