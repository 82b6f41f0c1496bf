"""The resume file of a training run: safetensors tensors + JSON metadata, never pickle.

``torch.save`` would be the obvious choice, but it writes a pickle, and asa-live never
unpickles (a resume file shared with a colleague must not be able to run code). So the
optimiser, scheduler and gradient-scaler state dicts are split into their tensors (stored by
safetensors under flat names) and everything else (numbers, lists, param groups), stored as
JSON in the file's metadata.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from asa_live.errors import InputFileError

STATE_FORMAT = 1
_META_KEY = "asa_live_train_state"


def _split_tensors(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor in a nested dict/list by a ``{"__tensor__": name}`` marker."""
    if torch.is_tensor(obj):
        tensors[prefix] = obj.detach().cpu().contiguous()
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        # JSON keys must be strings: remember which were ints (optimizer state is keyed by int).
        return {
            "__dict__": [
                [k, isinstance(k, int), _split_tensors(v, f"{prefix}.{k}", tensors)]
                for k, v in obj.items()
            ]
        }
    if isinstance(obj, (list, tuple)):
        return [_split_tensors(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    return obj


def _join_tensors(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__dict__" in obj:
            return {
                (int(k) if was_int else k): _join_tensors(v, tensors)
                for k, was_int, v in obj["__dict__"]
            }
        return {k: _join_tensors(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join_tensors(v, tensors) for v in obj]
    return obj


def save_train_state(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` (nested dicts of tensors, numbers, strings) atomically to ``path``."""
    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _split_tensors(state, "s", tensors)
    meta = json.dumps({"format": STATE_FORMAT, "state": skeleton})
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={_META_KEY: meta})
    os.replace(tmp, path)  # a Ctrl-C during the write never leaves a half-written resume file


def load_train_state(path: str | Path) -> dict[str, Any]:
    """Read a file written by :func:`save_train_state`; a damaged file is an InputFileError."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            meta = (handle.metadata() or {}).get(_META_KEY)
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 (not iterable)
    except Exception as exc:  # safetensors raises several types for damaged files
        raise InputFileError(
            f"The resume file '{path}' cannot be read ({type(exc).__name__}); it is damaged or "
            "not an asa-live training state: start the run again without --resume."
        ) from None
    if meta is None:
        raise InputFileError(
            f"'{path}' is a safetensors file but not an asa-live training state: start the run "
            "again without --resume."
        )
    return _join_tensors(json.loads(meta)["state"], tensors)
