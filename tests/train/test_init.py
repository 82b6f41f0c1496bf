"""--init: weights from a checkpoint, a fresh output layer when the classes change."""

from __future__ import annotations

import pytest
import torch

from asa_live.errors import ModelFileError
from asa_live.model.checkpoint import save_checkpoint
from asa_live.model.config import BinningConfig, ModelConfig
from asa_live.model.networks import build_model
from asa_live.model.readout import Readout
from asa_live.train.init import adopt_init, init_network
from asa_live.train.recipes import get_recipe

NAMES = ("a", "b", "c")
SMALL = {"channels": (4, 8, 8), "hidden": 16, "chunk_windows": 1, "input_size": (32, 32)}


@pytest.fixture
def ckpt(tmp_path):
    torch.manual_seed(0)
    net = build_model(ModelConfig(num_classes=3, **SMALL))
    path = tmp_path / "base.safetensors"
    prov = {"readout": Readout(kind="leaky", decay=0.95).to_spec()}
    save_checkpoint(path, net, BinningConfig(), NAMES, prov)
    return path, net


def _head(net):
    return net.layers[-1].fc


def test_same_classes_copy_everything(ckpt):
    path, base = ckpt
    net = build_model(ModelConfig(num_classes=3, **SMALL))
    init_network(net, str(path), NAMES, background=False)
    for key, value in base.state_dict().items():
        assert torch.equal(net.state_dict()[key], value), key


def test_new_classes_and_background_get_a_fresh_head(ckpt):
    path, base = ckpt
    net = build_model(ModelConfig(num_classes=4, **SMALL))  # c, x, y + background
    message = init_network(net, str(path), ("c", "x", "y"), background=True)
    assert "1 of 3 classes kept" in message and "no-gesture" in message
    for key, value in base.state_dict().items():
        if not key.startswith(f"layers.{len(net.layers) - 1}.fc"):
            assert torch.equal(net.state_dict()[key], value), key
    old, new = _head(base), _head(net)
    assert torch.equal(new.weight[0], old.weight[2]) and new.bias[0] == old.bias[2]  # "c" kept
    fresh = new.weight.detach()[1:]
    assert not any(torch.equal(fresh[i], old.weight[j]) for i in range(3) for j in range(3))
    assert float(fresh.std()) == pytest.approx(float(old.weight.detach().std()), rel=0.3)


def test_incompatible_network_is_one_sentence(ckpt):
    path, _ = ckpt
    other = build_model(ModelConfig(num_classes=3, **{**SMALL, "channels": (4, 8, 16)}))
    with pytest.raises(ModelFileError, match="another network .*channels"):
        init_network(other, str(path), NAMES, background=False)


def test_adopt_init_takes_network_and_binning_unless_given(ckpt):
    path, _ = ckpt
    cfg = adopt_init(get_recipe("finetune").replace(init=str(path)))
    assert cfg.channels == (4, 8, 8) and cfg.hidden == 16 and cfg.chunk_windows == 1
    assert cfg.downsample == 4 and cfg.window_us == 15_000
    with pytest.raises(ModelFileError, match="channels 4,8,8"):
        adopt_init(get_recipe("finetune").replace(init=str(path), channels=(8, 8, 8)), {"channels"})
    with pytest.raises(ModelFileError):
        adopt_init(get_recipe("finetune").replace(init=str(path / "missing")))
