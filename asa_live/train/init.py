"""``--init CKPT``: start a run from a trained checkpoint's weights.

Everything but the output layer is copied; the output layer too when the class lists are the
same (names, order, and whether there is a "no gesture" output). Otherwise the output layer is
new: rows of classes that keep their name are copied, new rows (new classes, the background
output) are drawn like a fresh nn.Linear, then scaled to the standard deviation of the old
rows, with the old biases' mean, so the new outputs start on the scale of the trained ones.

The network's shape (arch, attention, channels, hidden, input size, K, ASA's reduction) must
match the checkpoint: :func:`adopt_init` takes it - and the binning - from the checkpoint for
every field the user did not set; a field set to something else is a ModelFileError.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from asa_live.errors import ModelFileError
from asa_live.model.checkpoint import Checkpoint, load_checkpoint
from asa_live.train.recipes import TrainConfig

__all__ = ["ADOPTED_FIELDS", "adopt_init", "has_background", "init_network"]

#: TrainConfig fields taken from the --init checkpoint unless given explicitly.
ADOPTED_FIELDS = (
    "arch", "attention", "channels", "hidden", "chunk_windows", "reduction", "lam", "dropout",
    "window_us", "sensor_size", "downsample",
)  # fmt: skip
#: Fields that change the weights' shapes: they must equal the checkpoint's.
_SHAPE_FIELDS = ("arch", "attention", "channels", "hidden", "chunk_windows", "reduction")


def _checkpoint_values(ckpt: Checkpoint) -> dict[str, Any]:
    mc, b = ckpt.model_config, ckpt.binning
    return {
        "arch": mc.arch, "attention": mc.attention, "channels": tuple(mc.channels),
        "hidden": mc.hidden, "chunk_windows": mc.chunk_windows, "reduction": mc.reduction,
        "lam": mc.lam, "dropout": tuple(mc.dropout) if mc.dropout is not None else None,
        "window_us": b.window_us, "sensor_size": tuple(b.sensor_size), "downsample": b.downsample,
    }  # fmt: skip


def adopt_init(cfg: TrainConfig, explicit: set[str] | frozenset[str] = frozenset()) -> TrainConfig:
    """``cfg`` with the network and binning of ``cfg.init`` for every field not in ``explicit``.

    ModelFileError when an explicit field changes the weights' shapes (or the input size).
    """
    if not cfg.init:
        return cfg
    values = _checkpoint_values(load_checkpoint(cfg.init))
    for name in _SHAPE_FIELDS + ("window_us", "sensor_size", "downsample"):
        given = getattr(cfg, name)
        given = tuple(given) if isinstance(given, list) else given
        if name in explicit and given != values[name] and name != "window_us":
            raise ModelFileError(
                f"--init {cfg.init} has {name} {_show(values[name])}, but this run asks for "
                f"{_show(given)}: fine-tune with the checkpoint's network, or train from scratch."
            )
    return cfg.replace(**{k: v for k, v in values.items() if k not in explicit})


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def has_background(ckpt: Checkpoint) -> bool:
    """Whether the checkpoint's last output is "no gesture"."""
    return ckpt.model_config.num_classes == len(ckpt.class_names) + 1


def init_network(net: nn.Module, path: str, class_names: Sequence[str], background: bool) -> str:
    """Load ``path``'s weights into ``net`` (see the module docstring); returns a log line."""
    ckpt = load_checkpoint(path)
    src, dst = ckpt.model.state_dict(), net.state_dict()
    head = f"layers.{len(net.layers) - 1}.fc."
    for key, value in dst.items():
        if key.startswith(head):
            continue
        if key not in src or src[key].shape != value.shape:
            old = _checkpoint_values(ckpt)
            new = {k: getattr(net.config, k) for k in ("arch", "attention", "channels", "hidden",
                                                        "chunk_windows", "reduction")}  # fmt: skip
            new["input_size"], old["input_size"] = (
                net.config.input_size,
                ckpt.model_config.input_size,
            )
            diff = [k for k in new if _show(tuple(new[k]) if isinstance(new[k], list) else new[k])
                    != _show(old[k])] or ["layer shapes"]  # fmt: skip
            raise ModelFileError(
                f"--init {path} is another network ({diff[0]}: {_show(old.get(diff[0], '?'))} "
                f"there, {_show(new.get(diff[0], '?'))} here): it cannot start this run."
            )
        dst[key] = src[key].clone()
    same = tuple(ckpt.class_names) == tuple(class_names) and has_background(ckpt) == background
    if same and src[head + "weight"].shape == dst[head + "weight"].shape:
        dst[head + "weight"], dst[head + "bias"] = src[head + "weight"], src[head + "bias"]
        net.load_state_dict(dst)
        return f"init from {path}: all weights"
    kept = _new_head(dst, src, head, list(ckpt.class_names), list(class_names), net.config.voting
                     if net.config.arch == "5layer" else 1)  # fmt: skip
    net.load_state_dict(dst)
    return (
        f"init from {path}: all weights but the output layer ({kept} of {len(class_names)} "
        f"classes kept by name{', new no-gesture output' if background else ''})"
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
