"""Which loader reads ``--data`` / ``--data-root``: the (train, test) splits of a run, or the
test split alone for evaluation. One place, shared by asa-live-train and asa-live-eval."""

from __future__ import annotations

from pathlib import Path

from asa_live.errors import InputFileError
from asa_live.train.data.config import DataConfig
from asa_live.train.data.ibm import find_ibm_root, load_ibm_split
from asa_live.train.data.sequences import DataSplit
from asa_live.train.data.synthetic import make_synthetic_split, recordings_for
from asa_live.train.data.tonic import load_tonic_split

__all__ = ["detect_layout", "load_split", "load_splits"]


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


def load_split(cfg: DataConfig, *, train: bool) -> DataSplit:
    """One split as ``cfg.data`` / ``cfg.data_root`` say (synthetic with a root: detected)."""
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
    return load_split(cfg, train=True), load_split(cfg, train=False)
