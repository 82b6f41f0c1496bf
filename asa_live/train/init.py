"""``--init CKPT``: start a run from a trained checkpoint's weights.

Everything but the output layer is copied; the output layer too when the class lists are the
same (names, order, and whether there is a "no gesture" output). Otherwise the output layer is
new: rows of classes that keep their name are copied, and the "no gesture" row when both have
one; new rows (new classes, a background output the checkpoint lacks) are drawn like a fresh
nn.Linear, then scaled to the standard deviation of the old
rows, with the old biases' mean, so the new outputs start on the scale of the trained ones.

The network's shape (arch, attention, channels, hidden, input size, ASA's reduction) must
match the checkpoint: :func:`adopt_init` takes it - and the binning - from the checkpoint for
every field the user did not set; a field set to something else is a ModelFileError.

ASA's time span may differ (chunk_windows, asa_mode, asa_window: e.g. a K = 1 checkpoint
starting a sliding K = 8 or a chunked K = 4 run). The only weights it shapes are ASA's ``fc``
over time, which never learns (it reaches the output only through top-k indices, see
asa_live/model/asa.py): such a run copies every other weight and keeps its own seeded ``fc``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from asa_live.errors import ModelFileError
from asa_live.model.asa import ASA
from asa_live.model.checkpoint import Checkpoint, load_checkpoint
from asa_live.model.config import ModelConfig
from asa_live.train.recipes import TrainConfig

__all__ = ["ADOPTED_FIELDS", "adopt_init", "has_background", "init_network"]

#: TrainConfig fields taken from the --init checkpoint unless given explicitly.
ADOPTED_FIELDS = (
    "arch", "attention", "channels", "hidden", "chunk_windows", "asa_mode", "asa_window",
    "reduction", "lam", "dropout", "window_us", "sensor_size", "downsample",
)  # fmt: skip
#: Fields that change the learnt weights' shapes: they must equal the checkpoint's.
_SHAPE_FIELDS = ("arch", "attention", "channels", "hidden", "reduction")
#: ASA's time span: may differ from the checkpoint's (it shapes only the unlearnt time FC).
_TIME_FIELDS = ("chunk_windows", "asa_mode", "asa_window")


def _checkpoint_values(ckpt: Checkpoint) -> dict[str, Any]:
    mc, b = ckpt.model_config, ckpt.binning
    return {
        "arch": mc.arch, "attention": mc.attention, "channels": tuple(mc.channels),
        "hidden": mc.hidden, "chunk_windows": mc.chunk_windows, "asa_mode": mc.asa_mode,
        "asa_window": mc.asa_window, "reduction": mc.reduction, "lam": mc.lam,
        "dropout": tuple(mc.dropout) if mc.dropout is not None else None,
        "window_us": b.window_us, "sensor_size": tuple(b.sensor_size), "downsample": b.downsample,
    }  # fmt: skip


def adopt_init(cfg: TrainConfig, explicit: set[str] | frozenset[str] = frozenset()) -> TrainConfig:
    """``cfg`` with the network and binning of ``cfg.init`` for every field not in ``explicit``.

    ModelFileError when an explicit field changes the learnt weights' shapes (or the input
    size). ASA's time span (chunk_windows, asa_mode, asa_window) may be set to anything; the
    ones not given then follow from those given (see :func:`_time_fields`).
    """
    if not cfg.init:
        return cfg
    ckpt = load_checkpoint(cfg.init)
    values = _checkpoint_values(ckpt)
    for name in _SHAPE_FIELDS + ("sensor_size", "downsample"):
        given = getattr(cfg, name)
        given = tuple(given) if isinstance(given, list) else given
        if name in explicit and given != values[name]:
            raise ModelFileError(
                f"--init {cfg.init} has {name} {_show(values[name])}, but this run asks for "
                f"{_show(given)}: fine-tune with the checkpoint's network, or train from scratch."
            )
    values.update(_time_fields(cfg, explicit, ckpt.model_config))
    return cfg.replace(**{k: v for k, v in values.items() if k not in explicit})


def _time_fields(cfg: TrainConfig, explicit: set[str] | frozenset[str], old: ModelConfig) -> dict:
    """chunk_windows, asa_mode, asa_window for the run: the checkpoint's when none is given.

    Otherwise the mode is the one given, else "sliding" if a window is given, else "chunk" (a
    chunk_windows is given); a span not given is the checkpoint's ASA span (K) in that mode.
    """
    if not explicit & set(_TIME_FIELDS):
        return {"chunk_windows": old.chunk_windows, "asa_mode": old.asa_mode,
                "asa_window": old.asa_window}  # fmt: skip
    if "asa_mode" in explicit:
        mode = cfg.asa_mode
    else:
        mode = "sliding" if "asa_window" in explicit else "chunk"
    sliding = mode == "sliding"
    return {
        "asa_mode": mode,
        "asa_window": old.asa_time_steps if sliding else None,
        "chunk_windows": 1 if sliding else old.asa_time_steps,
    }


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _span(config: ModelConfig) -> str:
    if config.attention != "asa":
        return f"K={config.chunk_windows}"
    return f"{config.asa_mode} K={config.asa_time_steps}"


#: The background output's row, matched by this name (no class name can contain "<").
_NO_GESTURE_ROW = "<no gesture>"


def has_background(ckpt: Checkpoint) -> bool:
    """Whether the checkpoint's last output is "no gesture"."""
    return ckpt.model_config.num_classes == len(ckpt.class_names) + 1


def _time_fc_keys(net: nn.Module) -> set[str]:
    """state_dict keys of every ASA's time FC (shaped by K, never learnt)."""
    return {
        f"{name}.fc.{key}"
        for name, module in net.named_modules()
        if isinstance(module, ASA)
        for key in module.fc.state_dict()
    }


def _refuse(path: str, ckpt: Checkpoint, config: ModelConfig) -> ModelFileError:
    """The one-sentence error for a checkpoint whose learnt weights do not fit ``config``."""
    old = _checkpoint_values(ckpt)
    new: dict[str, Any] = {k: getattr(config, k) for k in _SHAPE_FIELDS}
    new["input_size"], old["input_size"] = config.input_size, ckpt.model_config.input_size
    diff = [
        k
        for k in new
        if _show(tuple(new[k]) if isinstance(new[k], list) else new[k]) != _show(old[k])
    ] or ["layer shapes"]
    return ModelFileError(
        f"--init {path} is another network ({diff[0]}: {_show(old.get(diff[0], '?'))} "
        f"there, {_show(new.get(diff[0], '?'))} here): it cannot start this run."
    )


def _copy_body(net: nn.Module, path: str, ckpt: Checkpoint, dst: dict, head: str) -> list[str]:
    """Copy every weight but the output layer into ``dst``; returns the time-FC keys left."""
    src, time_fc = ckpt.model.state_dict(), _time_fc_keys(net)
    same_reduction = net.config.reduction == ckpt.model_config.reduction
    kept = []
    for key, value in dst.items():
        if key.startswith(head):
            continue
        if key not in src or src[key].shape != value.shape:
            if key in time_fc and same_reduction:
                kept.append(key)  # another K: this run's own (seeded, never learnt) FC
                continue
            raise _refuse(path, ckpt, net.config)
        dst[key] = src[key].clone()
    return kept


def init_network(net: nn.Module, path: str, class_names: Sequence[str], background: bool) -> str:
    """Load ``path``'s weights into ``net`` (see the module docstring); returns a log line."""
    ckpt = load_checkpoint(path)
    src, dst = ckpt.model.state_dict(), net.state_dict()
    head = f"layers.{len(net.layers) - 1}.fc."
    kept_fc = _copy_body(net, path, ckpt, dst, head)
    note = (
        f"; ASA's time FC ({len(kept_fc)} tensors, never learnt) kept as initialised: "
        f"{_span(ckpt.model_config)} there, {_span(net.config)} here"
        if kept_fc
        else ""
    )
    same = tuple(ckpt.class_names) == tuple(class_names) and has_background(ckpt) == background
    if same and src[head + "weight"].shape == dst[head + "weight"].shape:
        dst[head + "weight"], dst[head + "bias"] = src[head + "weight"], src[head + "bias"]
        net.load_state_dict(dst)
        return f"init from {path}: all weights{note}"
    # The "no gesture" output is a row like the classes': a base that learnt it passes it on
    # (its idle-time and empty-scene knowledge is what a few takes cannot teach).
    both = background and has_background(ckpt)
    old = [*ckpt.class_names, *([_NO_GESTURE_ROW] if has_background(ckpt) else [])]
    new = [*class_names, *([_NO_GESTURE_ROW] if background else [])]
    kept = _new_head(dst, src, head, old, new, net.config.voting
                     if net.config.arch == "5layer" else 1) - int(both)  # fmt: skip
    net.load_state_dict(dst)
    bg = ", no-gesture output kept" if both else ", new no-gesture output" if background else ""
    return (
        f"init from {path}: all weights but the output layer ({kept} of {len(class_names)} "
        f"classes kept by name{bg}){note}"
    )


def _new_head(dst: dict, src: dict, head: str, old: list[str], new: list[str], votes: int) -> int:
    """Fill the fresh output layer in ``dst`` (rows of same-named classes copied)."""
    w_old, b_old = src[head + "weight"], src[head + "bias"]
    w, b = dst[head + "weight"].clone(), dst[head + "bias"].clone()
    with torch.no_grad():
        std = float(w_old.std()) if w_old.numel() > 1 else float(w.std())
        w *= std / max(float(w.std()), 1e-12)
        b.fill_(float(b_old.mean()))
        kept = 0
        for i, name in enumerate(new):
            if name in old:
                j = old.index(name)
                w[i * votes : (i + 1) * votes] = w_old[j * votes : (j + 1) * votes]
                b[i * votes : (i + 1) * votes] = b_old[j * votes : (j + 1) * votes]
                kept += 1
    dst[head + "weight"], dst[head + "bias"] = w, b
    return kept
