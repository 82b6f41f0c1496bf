"""Which checkpoint the app runs: ``--model PATH`` or the shipped default.

The default lives in the repository's ``models/`` folder, found relative to this package (not
to the working directory), so ``asa-live`` works from any folder of an editable install.
``ASA_LIVE_MODEL`` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from asa_live.errors import ModelFileError
from asa_live.model.checkpoint import load_checkpoint
from asa_live.model.readout import readout_from_provenance

DEFAULT_MODEL_NAME = "gesture-3layer-asa.safetensors"
REPO_ROOT = Path(__file__).resolve().parents[2]


def default_model_path() -> Path:
    """``$ASA_LIVE_MODEL`` or ``<repo>/models/gesture-3layer-asa.safetensors``."""
    env = os.environ.get("ASA_LIVE_MODEL")
    return Path(env) if env else REPO_ROOT / "models" / DEFAULT_MODEL_NAME


def load_model(path: str | os.PathLike | None = None) -> Any:
    """Load ``path`` (or the default model) as a Checkpoint; ModelFileError when unusable."""
    if path is None:
        default = default_model_path()
        if not default.is_file():
            raise ModelFileError(
                f"The default model {default} is missing (it is trained by the training "
                "issue): pass --model PATH to a checkpoint (.safetensors)."
            )
        path = default
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"The model file '{path}' does not exist: check the --model path.")
    return load_checkpoint(path)


def readout_for(checkpoint: Any) -> Any:
    """The decision readout stored with the checkpoint (one resolver for app, eval and training)."""
    return readout_from_provenance(checkpoint.provenance)
