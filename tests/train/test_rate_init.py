"""rate_init: silent fully connected layers of a fresh net are scaled until they fire."""

from __future__ import annotations

import logging
import math

import pytest
import torch

from asa_live.model.config import ModelConfig
from asa_live.model.networks import build_model
from asa_live.train.cli import main as train_main
from asa_live.train.rate_init import rate_init
from asa_live.train.recipes import get_recipe


def _net_and_sparse_input(seed: int = 0):
    """A small 5-layer net on 32x32 windows with about 1 % of the pixels active (as DVS
    windows of 15 ms are), where PyTorch's default init leaves fc1 and fc2 silent."""
    torch.manual_seed(seed)
    cfg = ModelConfig(arch="5layer", attention="asa", num_classes=4, input_size=(32, 32),
                      channels=(8,) * 5, hidden=32, chunk_windows=1, dropout=(0.0,) * 7)  # fmt: skip
    net = build_model(cfg).train()
    x = (torch.rand(4, 12, 2, 32, 32) < 0.01).float() * 2.0
    return net, x


def _rates(net, x) -> list[float]:
    with torch.no_grad():
        out = net(x, net.initial_state(x.shape[0]))
    counts = out.layer_spikes.float().mean(dim=(0, 1)).tolist()
    return [c / n for c, n in zip(counts, net.layer_neurons, strict=True)]


def test_silent_fc_layers_fire_at_the_target_after_rate_init():
    net, x = _net_and_sparse_input()
    before = _rates(net, x)
    assert before[-2] == 0.0 and before[-1] == 0.0  # the failure this fixes
    report = rate_init(net, x, target=0.05)
    after = _rates(net, x)
    assert [r.layer for r in report] == ["fc1", "fc2"]
    for r, rate in zip(report, after[-2:], strict=True):
        assert r.scale > 1.0
        assert r.rate_after == pytest.approx(rate, abs=1e-6)
        assert 0.05 <= rate < 0.08  # the smallest scale that reaches the target, not far above
    assert after[:-2] == pytest.approx(before[:-2])  # conv blocks untouched


def test_rate_init_restores_batchnorm_statistics_and_leaves_firing_layers_alone():
    net, x = _net_and_sparse_input(1)
    running = {k: v.clone() for k, v in net.state_dict().items() if "running" in k}
    rate_init(net, x, target=0.05)
    for k, v in net.state_dict().items():
        if k in running:
            assert torch.equal(v, running[k]), k
    weights = [layer.fc.weight.clone() for layer in net.layers[-2:]]
    again = rate_init(net, x, target=0.05)  # already at the target: nothing changes
    assert [r.scale for r in again] == [1.0, 1.0]
    for w, layer in zip(weights, net.layers[-2:], strict=True):
        assert torch.equal(w, layer.fc.weight)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, math.nan])
def test_rate_init_rejects_targets_outside_0_1(bad):
    net, x = _net_and_sparse_input()
    with pytest.raises(ValueError, match="target"):
        rate_init(net, x, target=bad)


def test_auto_target_is_on_for_5layer_and_off_for_3layer():
    cfg = get_recipe("streaming")
    assert cfg.rate_init_target == 0.0
    assert cfg.replace(arch="5layer").rate_init_target == 0.05
    assert cfg.replace(arch="5layer", rate_init=0.0).rate_init_target == 0.0
    assert cfg.replace(rate_init=0.1).rate_init_target == 0.1


@pytest.mark.parametrize("bad", ["nan", "inf", "1", "-0.5", "lots"])
def test_bad_rate_init_option_is_one_sentence_and_exit_2(bad, capsys):
    with pytest.raises(SystemExit) as e:
        train_main(["--recipe", "streaming", "--rate-init", bad])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--rate-init" in err and "Traceback" not in err


def test_a_fresh_5layer_run_starts_firing(tiny_stream_cfg, caplog):
    from asa_live.model.checkpoint import load_checkpoint
    from asa_live.train.trainer import run_training

    cfg = tiny_stream_cfg.replace(arch="5layer", channels=(4,) * 5, hidden=16,
                                  dropout=(0.0,) * 7, max_steps_per_epoch=1, max_test_items=2,
                                  test_clips=1)  # fmt: skip
    with caplog.at_level(logging.INFO, logger="asa_live"):
        run_training(cfg)
    assert any("rate init" in r.getMessage() and "fc2" in r.getMessage() for r in caplog.records)
    ckpt = load_checkpoint(f"{cfg.out_dir}/last.safetensors")
    assert ckpt.model_config.arch == "5layer"
