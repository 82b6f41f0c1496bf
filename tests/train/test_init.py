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


def test_a_base_with_no_gesture_passes_its_background_row_on(tmp_path):
    torch.manual_seed(1)
    base = build_model(ModelConfig(num_classes=4, **SMALL))  # a, b, c + background
    path = tmp_path / "bg.safetensors"
    prov = {"readout": Readout(kind="leaky", decay=0.95, background=True).to_spec()}
    save_checkpoint(path, base, BinningConfig(), NAMES, prov)
    net = build_model(ModelConfig(num_classes=3, **SMALL))  # x, y + background
    message = init_network(net, str(path), ("x", "y"), background=True)
    assert "0 of 2 classes kept" in message and "no-gesture output kept" in message
    old, new = _head(base), _head(net)
    assert torch.equal(new.weight[2], old.weight[3]) and new.bias[2] == old.bias[3]
    assert not torch.equal(new.weight[0], old.weight[0])  # new classes are fresh
    # Without a background output here, the base's row is not used.
    plain = build_model(ModelConfig(num_classes=2, **SMALL))
    assert "no-gesture" not in init_network(plain, str(path), ("x", "y"), background=False)


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


def _time_fcs(net) -> list[str]:
    return [k for k in net.state_dict() if ".attn.fc." in k]


@pytest.mark.parametrize(
    "time_span",
    [{"asa_mode": "sliding", "asa_window": 8}, {"chunk_windows": 4}],
    ids=["sliding-K8", "chunk-K4"],
)
def test_another_asa_span_copies_every_learnt_weight_and_keeps_its_fc(ckpt, time_span):
    path, base = ckpt
    torch.manual_seed(1)
    net = build_model(ModelConfig(num_classes=3, **{**SMALL, **time_span}))
    own_fc = {k: net.state_dict()[k].clone() for k in _time_fcs(net)}
    message = init_network(net, str(path), NAMES, background=False)
    assert "time FC (6 tensors, never learnt) kept as initialised" in message
    assert "chunk K=1 there" in message
    after, before = net.state_dict(), base.state_dict()
    assert len(own_fc) == 6  # fc.0 and fc.2 of 3 layers
    for key, value in after.items():
        if key in own_fc:
            assert torch.equal(value, own_fc[key]) and value.shape != before[key].shape, key
        else:
            assert torch.equal(value, before[key]), key  # incl. conv1/conv2, alpha, beta, head


def test_same_span_in_another_mode_copies_the_fc_too(tmp_path):
    # chunk K=8 -> sliding K=8: the FC has the same shape, so it is the checkpoint's
    torch.manual_seed(2)
    base = build_model(ModelConfig(num_classes=3, **{**SMALL, "chunk_windows": 8}))
    path = tmp_path / "k8.safetensors"
    save_checkpoint(path, base, BinningConfig(), NAMES, {})
    net = build_model(ModelConfig(num_classes=3, **{**SMALL, "chunk_windows": None,
                                                   "asa_mode": "sliding", "asa_window": 8}))  # fmt: skip
    assert init_network(net, str(path), NAMES, background=False).endswith("all weights")
    for key, value in base.state_dict().items():
        assert torch.equal(net.state_dict()[key], value), key


def test_another_span_with_a_channels_change_is_still_refused(ckpt):
    path, _ = ckpt
    config = {**SMALL, "channels": (4, 8, 16), "chunk_windows": 4}
    with pytest.raises(ModelFileError, match=r"^--init .* another network \(channels: 4,8,8 there"):
        init_network(build_model(ModelConfig(num_classes=3, **config)), str(path), NAMES, False)


def test_another_reduction_is_refused(ckpt):
    path, _ = ckpt
    net = build_model(ModelConfig(num_classes=3, **{**SMALL, "chunk_windows": 4, "reduction": 2}))
    with pytest.raises(ModelFileError, match=r"another network \(reduction: 4 there, 2 here\)"):
        init_network(net, str(path), NAMES, background=False)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, ("chunk", None, 1)),
        ({"asa_mode": "sliding", "asa_window": 8}, ("sliding", 8, 1)),
        ({"asa_window": 16}, ("sliding", 16, 1)),
        ({"asa_mode": "sliding"}, ("sliding", 1, 1)),
        ({"chunk_windows": 4}, ("chunk", None, 4)),
    ],
)
def test_adopt_init_lets_asa_span_differ(ckpt, given, expected):
    path, _ = ckpt
    base = get_recipe("streaming").replace(init=str(path), **given)
    cfg = adopt_init(base, set(given))
    assert (cfg.asa_mode, cfg.asa_window, cfg.chunk_windows) == expected
    assert cfg.channels == (4, 8, 8) and cfg.hidden == 16
    ModelConfig(num_classes=3, **cfg.model_overrides())  # a valid network


def test_adopt_init_takes_a_sliding_checkpoints_span(tmp_path):
    net = build_model(ModelConfig(num_classes=3, **{**SMALL, "chunk_windows": None,
                                                   "asa_mode": "sliding", "asa_window": 8}))  # fmt: skip
    path = tmp_path / "s8.safetensors"
    save_checkpoint(path, net, BinningConfig(), NAMES, {})
    cfg = adopt_init(get_recipe("streaming").replace(init=str(path)))
    assert (cfg.asa_mode, cfg.asa_window, cfg.chunk_windows) == ("sliding", 8, 1)
    cfg = adopt_init(
        # chunk K = 8 needs validation clips of whole chunks (64, not the recipe's 60)
        get_recipe("streaming").replace(init=str(path), asa_mode="chunk", clip_windows=64),
        {"asa_mode"},
    )
    assert (cfg.asa_mode, cfg.asa_window, cfg.chunk_windows) == ("chunk", None, 8)
