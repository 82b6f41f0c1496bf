"""One file per model: safetensors weights + JSON metadata; loading never unpickles.

File layout (``models/<name>.safetensors``): the tensors are the model's ``state_dict`` (weights
and BatchNorm buffers); the safetensors metadata key ``asa_live`` holds
``{"format": 1, "model": ModelConfig, "binning": BinningConfig, "classes": [...],
"provenance": {...}}`` as JSON. ``load_checkpoint`` rebuilds the model from that config alone.

``classes`` names the gestures only. A checkpoint whose ``provenance["readout"]`` says
``"background": true`` has one more output than names: the last output is "no gesture".
``provenance["readout"]`` holds the decision readout (``Readout.to_spec()``, plus the record of
its calibration); ``store_readout`` rewrites it in an existing file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from asa_live.errors import AsaLiveError, ConfigError, ModelFileError
from asa_live.model.config import BinningConfig, ModelConfig
from asa_live.model.networks import AsaSnn, build_model
from asa_live.model.readout import Readout, readout_from_provenance

FORMAT_VERSION = 1
METADATA_KEY = "asa_live"


@dataclass
class Checkpoint:
    """Everything a checkpoint file holds; ``model`` is rebuilt and in eval mode."""

    model: AsaSnn
    model_config: ModelConfig
    binning: BinningConfig
    class_names: tuple[str, ...]
    provenance: dict[str, Any]

    @property
    def readout(self) -> Readout:
        """The checkpoint's decision readout (``readout_from_provenance``)."""
        return readout_from_provenance(self.provenance)


def _expected_outputs(names: list[str] | tuple[str, ...], provenance: dict[str, Any]) -> int:
    """Outputs the network must have: one per class name, +1 for a background output."""
    return readout_from_provenance(provenance).num_outputs(len(names))


def _check_geometry(
    config: ModelConfig, binning: BinningConfig, provenance: dict[str, Any] | None = None
) -> str | None:
    if binning.frame_size != tuple(config.input_size):
        return (
            f"the binning gives {binning.frame_size[0]}x{binning.frame_size[1]} frames "
            f"(sensor {binning.sensor_size[0]}x{binning.sensor_size[1]} // {binning.downsample}) "
            f"but the model expects {config.input_size[0]}x{config.input_size[1]}"
        )
    head = len(readout_from_provenance(provenance).presence_weight)
    if head and head != config.hidden:
        return (
            f"its readout's presence head has {head} weights for a hidden layer of "
            f"{config.hidden} neurons"
        )
    return None


def save_checkpoint(
    path: str | os.PathLike[str],
    model: AsaSnn,
    binning: BinningConfig,
    class_names: list[str] | tuple[str, ...],
    provenance: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` with its config, binning, class names and provenance to ``path``.

    ``provenance`` (data, command, epochs, metrics, ...) must be JSON-serialisable. The file is
    written to a temporary name and renamed, so a crash never leaves half a checkpoint.
    """
    config = model.config
    names = [str(c) for c in class_names]
    if _expected_outputs(names, provenance or {}) != config.num_classes:
        raise ConfigError(
            f"The model has {config.num_classes} outputs but {len(names)} class names were given "
            f"(background output: {readout_from_provenance(provenance).background}); pass one "
            "name per gesture class."
        )
    problem = _check_geometry(config, binning, provenance)
    if problem:
        raise ConfigError(f"Cannot save the checkpoint: {problem}.")
    meta = {
        "format": FORMAT_VERSION,
        "model": config.to_dict(),
        "binning": binning.to_dict(),
        "classes": names,
        "provenance": provenance or {},
    }
    try:
        text = json.dumps(meta)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"The checkpoint provenance is not JSON-serialisable ({err}).") from err
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={METADATA_KEY: text})
    os.replace(tmp, path)
    return path


def read_checkpoint_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON metadata of a checkpoint without loading its weights."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            f"Model file {path} does not exist; pass the path of a .safetensors checkpoint."
        )
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get(METADATA_KEY)
    except Exception as err:  # safetensors raises its own error types for any damaged header
        raise ModelFileError(
            f"Model file {path} is not a readable safetensors file ({_short(err)}); it may be "
            "truncated or of another format."
        ) from err
    if raw is None:
        raise ModelFileError(
            f"Model file {path} is a safetensors file but not an asa-live checkpoint (no "
            f"'{METADATA_KEY}' metadata); save it with asa_live.model.save_checkpoint."
        )
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ModelFileError(f"Model file {path} has corrupt asa-live metadata ({err}).") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ModelFileError(
            f"Model file {path} has checkpoint format {found!r}, this asa-live reads format "
            f"{FORMAT_VERSION}."
        )
    return meta


def load_checkpoint(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Checkpoint:
    """Rebuild the model, binning, class names and provenance from ``path`` alone (eval mode)."""
    path = Path(path)
    meta = read_checkpoint_metadata(path)
    try:
        config = ModelConfig.from_dict(meta["model"])
        binning = BinningConfig.from_dict(meta["binning"])
        names = tuple(str(c) for c in meta["classes"])
        provenance = dict(meta.get("provenance") or {})
        outputs = _expected_outputs(names, provenance)
    except (KeyError, TypeError, ValueError, AsaLiveError) as err:
        raise ModelFileError(
            f"Model file {path} has invalid asa-live metadata ({_short(err)})."
        ) from err
    if outputs != config.num_classes:
        raise ModelFileError(
            f"Model file {path} names {len(names)} classes (+{outputs - len(names)} background) "
            f"for a model with {config.num_classes} outputs."
        )
    problem = _check_geometry(config, binning, provenance)
    if problem:
        raise ModelFileError(f"Model file {path} is inconsistent: {problem}.")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except Exception as err:
        raise ModelFileError(
            f"Model file {path} could not be read ({_short(err)}); it may be truncated."
        ) from err
    model = build_model(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = sorted(
        k
        for k in set(expected) & set(tensors)
        if tuple(expected[k].shape) != tuple(tensors[k].shape)
    )
    if missing or unexpected or wrong:
        detail = "; ".join(
            f"{label} {items[:3]}{' ...' if len(items) > 3 else ''}"
            for label, items in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("wrong shape", wrong),
            )
            if items
        )
        raise ModelFileError(
            f"Model file {path} does not match its own config ({config.arch}, attention "
            f"{config.attention}, K={config.chunk_windows}): {detail}."
        )
    model.load_state_dict(tensors, strict=True)
    model.to(device).eval()
    return Checkpoint(model, config, binning, names, provenance)


def store_readout(
    path: str | os.PathLike[str], readout: Readout, calibration: dict[str, Any] | None = None
) -> Path:
    """Rewrite ``path`` with ``provenance["readout"] = readout.to_spec()`` (+ ``calibration``,
    the record of how it was fitted); weights, config and the rest are kept as they are."""
    ckpt = load_checkpoint(path)
    spec: dict[str, Any] = readout.to_spec()
    if calibration is not None:
        spec["calibration"] = calibration
    provenance = {**ckpt.provenance, "readout": spec}
    return save_checkpoint(path, ckpt.model, ckpt.binning, ckpt.class_names, provenance)


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:160]
