"""Which checkpoint the app runs: ``--model PATH`` (a file or a training run's folder) or the
shipped default.

The default is looked up in the repository's ``models/`` folder (an editable install, found
relative to this package, not to the working directory), then in the copy a built wheel ships
as package data (``asa_live/_models/``, written by setup.py's build_py hook).
``ASA_LIVE_MODEL`` overrides both.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from asa_live.errors import ModelFileError
from asa_live.model.checkpoint import load_checkpoint
from asa_live.model.fast import DEFAULT_BACKEND, make_runner
from asa_live.model.readout import readout_from_provenance

DEFAULT_MODEL_NAME = "gesture-3layer-asa.safetensors"
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_ROOT.parent
# A training run's folder (asa-live-train --out DIR): the best epoch, else the last one.
RUN_CHECKPOINTS = ("best.safetensors", "last.safetensors")


def default_model_candidates() -> tuple[Path, ...]:
    """Where the default model may be: the repository's models/, then the packaged copy."""
    return (
        REPO_ROOT / "models" / DEFAULT_MODEL_NAME,
        PACKAGE_ROOT / "_models" / DEFAULT_MODEL_NAME,
    )


def default_model_path() -> Path:
    """``$ASA_LIVE_MODEL``, else the first default candidate that exists (else the first)."""
    env = os.environ.get("ASA_LIVE_MODEL")
    if env:
        return Path(env)
    candidates = default_model_candidates()
    return next((p for p in candidates if p.is_file()), candidates[0])


def run_folder_checkpoint(folder: str | os.PathLike) -> Path:
    """The checkpoint of a training run's folder: best.safetensors, else last.safetensors."""
    folder = Path(folder)
    for name in RUN_CHECKPOINTS:
        if (folder / name).is_file():
            return folder / name
    raise ModelFileError(
        f"'{folder}' is a directory without best.safetensors or last.safetensors: give a "
        "checkpoint file (.safetensors) or a folder written by asa-live-train."
    )


def resolve_model_path(path: str | os.PathLike | None = None) -> Path:
    """The checkpoint file ``--model`` means (None: the default); ModelFileError if none."""
    if path is None:
        default = default_model_path()
        if not default.is_file():
            raise ModelFileError(
                f"The default model {default} is missing from this installation: pass "
                "--model PATH to a checkpoint (.safetensors) or reinstall asa-live."
            )
        return default
    path = Path(path)
    if path.is_dir():
        return run_folder_checkpoint(path)
    if not path.exists():
        raise ModelFileError(f"The model file '{path}' does not exist: check the --model path.")
    return path


def load_model(path: str | os.PathLike | None = None, backend: str = DEFAULT_BACKEND) -> Any:
    """Load ``path`` (a checkpoint, a run folder, or None for the default) as a Checkpoint whose
    ``model`` runs on ``backend`` ("auto", "eager", "fast": asa_live.model.fast);
    ModelFileError when unusable."""
    checkpoint = load_checkpoint(resolve_model_path(path))
    return dataclasses.replace(checkpoint, model=make_runner(checkpoint.model, backend))


def readout_for(checkpoint: Any) -> Any:
    """The decision readout stored with the checkpoint (one resolver for app, eval and training)."""
    return readout_from_provenance(checkpoint.provenance)
