"""NASFR and per-layer rates by the paper's formula; current distributions and their plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from asa_live.model import CurrentHistogram, FiringRateMeter, ModelConfig, build_model, nasfr
from asa_live.model.plots import plot_current_distributions, plot_firing_rates


def test_nasfr_by_hand() -> None:
    # 2 layers of 10 and 5 neurons, 2 samples x 3 windows
    spikes = torch.tensor(
        [[[2.0, 1.0], [0.0, 0.0], [4.0, 2.0]], [[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]
    )
    meter = FiringRateMeter(["a", "b"], [10, 5])
    meter.update(spikes)
    rates = meter.compute()
    assert rates.windows == 6
    assert rates.per_layer == pytest.approx((8 / 60, 4 / 30))
    assert rates.nasfr == pytest.approx(12 / (15 * 6))
    assert nasfr(spikes, [10, 5]) == pytest.approx(12 / 90)


def test_meter_accumulates_like_one_batch() -> None:
    gen = torch.Generator().manual_seed(0)
    spikes = torch.randint(0, 50, (6, 7, 3), generator=gen).float()
    whole = FiringRateMeter(["a", "b", "c"], [50, 60, 70])
    whole.update(spikes)
    parts = FiringRateMeter(["a", "b", "c"], [50, 60, 70])
    parts.update(spikes[:2])
    parts.update(spikes[2:, :3])
    parts.update(spikes[2:, 3:].sum((0, 1)), n_windows=4 * 4)
    assert parts.compute().per_layer == pytest.approx(whole.compute().per_layer)
    assert parts.compute().nasfr == pytest.approx(whole.compute().nasfr)
    with pytest.raises(ValueError):
        parts.update(spikes[0, 0])  # summed counts without n_windows


def test_model_rates_match_direct_count() -> None:
    cfg = ModelConfig(attention="none", chunk_windows=4, input_size=(16, 16), channels=(4, 4, 4),
                      hidden=8)  # fmt: skip
    model = build_model(cfg).eval()
    x = torch.poisson(torch.full((2, 4, 2, 16, 16), 2.0))
    with torch.no_grad():
        out = model(x, collect_currents=True)
    meter = FiringRateMeter.for_model(model)
    meter.update(out.layer_spikes)
    rates = meter.compute()
    # layer 1 directly from its currents and the LIF equations
    h = torch.zeros_like(out.currents[0][:, 0])
    total = 0.0
    for t in range(4):
        u = h + out.currents[0][:, t]
        s = (u >= 0.3).float()
        h = 0.3 * u * (1 - s)
        total += float(s.sum())
    assert rates.per_layer[0] == pytest.approx(total / (4 * 16 * 16 * 4 * 2))
    assert set(rates.as_dict()) == {"rate_conv1", "rate_conv2", "rate_conv3", "rate_fc1",
                                    "rate_fc2", "nasfr"}  # fmt: skip


def test_current_histogram_and_plot(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(1000, generator=gen) * 0.3
    b = torch.randn(2, 500, generator=gen) * 0.1 + 0.2
    hist = CurrentHistogram(["a", "b"], [0.3, 0.3], bins=40, value_range=(-1.0, 1.0))
    hist.update([a[:600], b[:1]])
    hist.update([a[600:], b[1:]])
    dist = hist.compute()
    for i, values in enumerate((a, b.reshape(-1))):
        inside = ((values >= -1) & (values <= 1)).sum().item()
        assert dist.counts[i].sum() == inside
        assert dist.below[i] + dist.above[i] + inside == values.numel()
        assert dist.fraction_at_or_above[i] == pytest.approx((values >= 0.3).float().mean().item())
        assert dist.mean[i] == pytest.approx(values.mean().item(), abs=1e-6)
        assert dist.std[i] == pytest.approx(values.std(unbiased=False).item(), rel=1e-4)
    np.testing.assert_allclose(dist.edges[[0, -1]], [-1.0, 1.0])
    png = plot_current_distributions({"wide": dist, "same": dist}, tmp_path / "d.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    meter = FiringRateMeter(["a", "b"], [10, 10])
    meter.update(torch.ones(1, 2, 2))
    png2 = plot_firing_rates(meter.compute(), tmp_path / "r.png")
    assert png2.stat().st_size > 1000
