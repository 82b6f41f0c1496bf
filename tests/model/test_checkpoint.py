"""Checkpoints: round trip from the file alone, and one-sentence errors for bad files."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from asa_live.classes import GESTURE_CLASSES
from asa_live.errors import ConfigError, ModelFileError
from asa_live.model import (
    BinningConfig,
    ModelConfig,
    build_model,
    load_checkpoint,
    save_checkpoint,
)

SMALL = dict(input_size=(16, 16), channels=(6, 8, 8), hidden=16)
BINNING = BinningConfig(window_us=15000, sensor_size=(64, 64), downsample=4)


def _trained_like(cfg: ModelConfig):
    torch.manual_seed(0)
    model = build_model(cfg)
    model.train()
    with torch.no_grad():  # move BN running stats and ASA params away from their defaults
        model(torch.poisson(torch.full((2, cfg.chunk_windows, 2, 16, 16), 1.0)))
        for name, p in model.named_parameters():
            if "attn" in name:
                p.add_(0.1)
    return model.eval()


def _one_sentence(err: Exception) -> None:
    text = str(err)
    assert "\n" not in text and text.endswith(".") and len(text) < 400


def test_round_trip(tmp_path: Path) -> None:
    cfg = ModelConfig(attention="asa", chunk_windows=3, **SMALL)
    model = _trained_like(cfg)
    prov = {"data": "synthetic", "command": "asa-live-train --epochs 1", "epochs": 1,
            "metrics": {"acc": 0.5}}  # fmt: skip
    path = save_checkpoint(tmp_path / "m.safetensors", model, BINNING, GESTURE_CLASSES, prov)
    ckpt = load_checkpoint(path)
    assert ckpt.model_config == cfg
    assert ckpt.binning == BINNING
    assert ckpt.class_names == GESTURE_CLASSES
    assert ckpt.provenance == prov
    assert not ckpt.model.training
    for (k, a), (k2, b) in zip(
        model.state_dict().items(), ckpt.model.state_dict().items(), strict=True
    ):
        assert k == k2 and torch.equal(a, b)
    x = torch.poisson(torch.full((1, 3, 2, 16, 16), 1.0))
    with torch.no_grad():
        assert torch.equal(model(x).layer_spikes, ckpt.model(x).layer_spikes)
    assert not (tmp_path / "m.safetensors.tmp").exists()


def test_5layer_round_trip(tmp_path: Path) -> None:
    cfg = ModelConfig(arch="5layer", attention="none", input_size=(32, 32),
                      channels=(4,) * 5, hidden=8)  # fmt: skip
    model = build_model(cfg).eval()
    binning = BinningConfig(sensor_size=(32, 32), downsample=1)
    path = save_checkpoint(tmp_path / "m5.safetensors", model, binning, GESTURE_CLASSES, {})
    ckpt = load_checkpoint(path)
    assert ckpt.model_config.arch == "5layer"
    assert torch.equal(ckpt.model.layers[0].neuron.w, model.layers[0].neuron.w)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="does not exist") as info:
        load_checkpoint(tmp_path / "nope.safetensors")
    _one_sentence(info.value)


def test_truncated_file(tmp_path: Path) -> None:
    model = build_model(ModelConfig(attention="none", **SMALL))
    path = save_checkpoint(tmp_path / "m.safetensors", model, BINNING, GESTURE_CLASSES)
    data = path.read_bytes()
    for cut in (len(data) // 2, 40, 5):
        bad = tmp_path / f"cut{cut}.safetensors"
        bad.write_bytes(data[:cut])
        with pytest.raises(ModelFileError) as info:
            load_checkpoint(bad)
        _one_sentence(info.value)


def test_not_a_checkpoint(tmp_path: Path) -> None:
    plain = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(3)}, str(plain))
    with pytest.raises(ModelFileError, match="not an asa-live checkpoint") as info:
        load_checkpoint(plain)
    _one_sentence(info.value)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"this is not a model at all" * 10)
    with pytest.raises(ModelFileError):
        load_checkpoint(junk)
    # a pickle is never unpickled: it is simply not a safetensors file
    pickled = tmp_path / "model.pt"
    pickled.write_bytes(pickle.dumps({"state_dict": {}}))
    with pytest.raises(ModelFileError):
        load_checkpoint(pickled)


def test_tensors_of_another_architecture(tmp_path: Path) -> None:
    with_asa = build_model(ModelConfig(attention="asa", chunk_windows=3, **SMALL))
    path = save_checkpoint(tmp_path / "asa.safetensors", with_asa, BINNING, GESTURE_CLASSES)
    # rewrite the metadata to claim a baseline net while the tensors hold ASA weights
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = json.loads(f.metadata()["asa_live"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    meta["model"]["attention"] = "none"
    lying = tmp_path / "lying.safetensors"
    save_file(tensors, str(lying), metadata={"asa_live": json.dumps(meta)})
    with pytest.raises(ModelFileError, match="does not match its own config") as info:
        load_checkpoint(lying)
    _one_sentence(info.value)
    meta["model"]["attention"] = "asa"
    meta["model"]["chunk_windows"] = 7  # the ASA's fc has another size
    save_file(tensors, str(lying), metadata={"asa_live": json.dumps(meta)})
    with pytest.raises(ModelFileError, match="wrong shape"):
        load_checkpoint(lying)
    meta["model"]["arch"] = "7layer"
    save_file(tensors, str(lying), metadata={"asa_live": json.dumps(meta)})
    with pytest.raises(ModelFileError, match="invalid asa-live metadata"):
        load_checkpoint(lying)


def test_save_checks_its_inputs(tmp_path: Path) -> None:
    model = build_model(ModelConfig(attention="none", **SMALL))
    with pytest.raises(ConfigError, match="class names"):
        save_checkpoint(tmp_path / "a.safetensors", model, BINNING, ["a", "b"])
    with pytest.raises(ConfigError, match="32x32"):
        save_checkpoint(tmp_path / "a.safetensors", model, BinningConfig(), GESTURE_CLASSES)
    with pytest.raises(ConfigError, match="JSON"):
        save_checkpoint(
            tmp_path / "a.safetensors", model, BINNING, GESTURE_CLASSES, {"x": object()}
        )


def test_config_round_trips_through_json() -> None:
    for cfg in (ModelConfig(), ModelConfig(arch="5layer", attention="none", chunk_windows=1)):
        again = ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
        assert again == cfg
    assert ModelConfig().dropout == (0.0, 0.0, 0.1, 0.1, 0.1)
    assert ModelConfig().chunk_windows == 60 and ModelConfig().reduction == 4
    assert ModelConfig(arch="5layer").channels == (128,) * 5
    b = BinningConfig()
    assert BinningConfig.from_dict(json.loads(json.dumps(b.to_dict()))) == b
    assert b.frame_size == (32, 32)
    with pytest.raises(ConfigError):
        ModelConfig(arch="4layer")
    with pytest.raises(ConfigError):
        ModelConfig(chunk_windows=0)
    with pytest.raises(ConfigError, match="unknown|Unknown"):
        ModelConfig.from_dict({"archh": "3layer"})
    with pytest.raises(ConfigError, match="Unknown binning config keys"):
        BinningConfig.from_dict({"window": 15000})
    with pytest.raises(ConfigError, match="A model config must be a JSON object"):
        ModelConfig.from_dict([1])
    with pytest.raises(ConfigError):
        BinningConfig(window_us=-5)
