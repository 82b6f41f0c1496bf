"""The "no gesture" decision: Readout.decide by hand, old checkpoints unchanged, the session
and the offline decision agree, checkpoints with a background output, the headless JSON."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from asa_live.classes import NO_GESTURE_ID
from asa_live.errors import ConfigError, ModelFileError
from asa_live.model import (
    BinningConfig,
    ModelConfig,
    StreamingSession,
    build_model,
    load_checkpoint,
    save_checkpoint,
)
from asa_live.model.checkpoint import store_readout
from asa_live.model.readout import REASONS, Readout, readout_from_provenance
from asa_live.pipeline.report import WindowReport

NAMES = ("a", "b", "c")
BINNING = BinningConfig(window_us=15000, sensor_size=(64, 64), downsample=4)


def _reasons(decision) -> list[str | None]:
    return [REASONS[r] for r in decision.reason.reshape(-1).tolist()]


def test_uncalibrated_readout_decides_as_before() -> None:
    scores = torch.tensor([[0.1, 0.6, 0.3], [0.0, 0.0, 0.0], [0.2, 0.2, 0.05]])
    d = Readout().decide(scores)
    assert d.class_id.tolist() == [1, NO_GESTURE_ID, 0]  # ties: the lower index, as argmax
    assert d.confidence.tolist() == pytest.approx([0.6, 0.0, 0.2])
    assert _reasons(d) == [None, "no_output", None]
    np.testing.assert_array_equal(d.probs[0], scores[0].numpy())  # the raw rates, unchanged
    assert d.p_background.tolist() == [0.0, 0.0, 0.0]


def test_background_output_abstains_with_its_probability() -> None:
    readout = Readout(background=True, temperature=0.5)
    scores = torch.tensor([[0.1, 0.2, 0.0, 0.9], [0.8, 0.1, 0.0, 0.2]])  # last = background
    p = torch.softmax(scores / 0.5, -1)
    d = readout.decide(scores)
    assert d.class_id.tolist() == [NO_GESTURE_ID, 0]
    assert _reasons(d) == ["background", None]
    assert d.confidence.tolist() == pytest.approx([float(p[0, 3]), float(p[1, 0])])
    np.testing.assert_allclose(d.probs, p[:, :3].numpy(), rtol=1e-6)  # gestures only, absolute
    np.testing.assert_allclose(d.probs.sum(-1) + d.p_background, np.ones(2), rtol=1e-6)


def test_threshold_gives_low_confidence() -> None:
    scores = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.3, 0.2, 0.0, 0.1]])
    p = torch.softmax(scores / 0.25, -1)
    readout = Readout(background=True, temperature=0.25, threshold=0.6)
    assert p[0, 0] > 0.6 > p[1, 0] > p[1, 3]
    d = readout.decide(scores)
    assert d.class_id.tolist() == [0, NO_GESTURE_ID]
    assert _reasons(d) == [None, "low_confidence"]
    assert float(d.confidence[1]) == pytest.approx(float(p[1, 3]))  # p(no gesture)


def test_without_background_the_abstaining_confidence_is_the_mass_off_the_top() -> None:
    readout = Readout(temperature=1.0, threshold=0.5)
    scores = torch.tensor([[0.3, 0.2, 0.1]])
    p = torch.softmax(scores, -1)
    d = readout.decide(scores)
    assert d.class_id.tolist() == [NO_GESTURE_ID] and _reasons(d) == ["low_confidence"]
    assert float(d.confidence[0]) == pytest.approx(1 - float(p.max()))


def test_silent_output_uses_the_fitted_no_output_confidence() -> None:
    readout = Readout(background=True, temperature=0.1, no_output_confidence=0.93)
    d = readout.decide(torch.zeros(2, 5, 4))  # any leading shape
    assert d.class_id.shape == (2, 5) and (d.class_id == NO_GESTURE_ID).all()
    assert set(_reasons(d)) == {"no_output"}
    np.testing.assert_allclose(d.confidence, np.full((2, 5), 0.93), rtol=1e-6)
    assert (d.probs == 0).all() and d.probs.shape == (2, 5, 3)


def test_training_targets() -> None:
    labels = torch.tensor([2, -1, 0, -1])
    assert Readout(background=True).targets(labels, 3).tolist() == [2, 3, 0, 3]
    assert Readout().targets(labels, 3).tolist() == [2, -1, 0, -1]
    assert Readout(background=True).num_outputs(11) == 12 and Readout().num_outputs(11) == 11


def test_resolver_keeps_old_checkpoints_and_reads_the_decision() -> None:
    old = readout_from_provenance({"readout": {"kind": "mean", "windows": 10, "decay": 0.9}})
    assert old == Readout(windows=10)
    assert not old.background and old.temperature is None and old.threshold == 0.0
    new = Readout("leaky", 5, 0.8, background=True, temperature=0.07, threshold=0.4,
                  no_output_confidence=0.9)  # fmt: skip
    spec = json.loads(json.dumps(new.to_spec()))  # as stored in the checkpoint
    assert readout_from_provenance({"readout": {**spec, "calibration": {"x": 1}}}) == new
    for bad in ({"threshold": math.nan}, {"threshold": 1.5}, {"temperature": 0},
                {"temperature": math.inf}, {"background": "yes"}, {"threshold": "0.3"}):  # fmt: skip
        with pytest.raises(ConfigError):
            readout_from_provenance({"readout": bad})


def _model(num_classes: int, k: int = 2, seed: int = 1):
    cfg = ModelConfig(attention="asa", chunk_windows=k, input_size=(16, 16), channels=(6, 8, 8),
                      hidden=16, num_classes=num_classes)  # fmt: skip
    torch.manual_seed(seed)
    model = build_model(cfg)
    with torch.no_grad():  # scaled up so that the random net reaches its output layer
        for name, p in model.named_parameters():
            if name.endswith("weight") and p.dim() > 1:
                p.mul_(6.0)
    return model.eval()


def test_session_decides_as_the_offline_decision() -> None:
    model = _model(4)
    readout = Readout(windows=3, background=True, temperature=0.2, threshold=0.45)
    frames = np.random.default_rng(0).poisson(1.5, size=(24, 2, 16, 16)).astype(np.float32)
    frames[8:16] = 0  # a silent stretch: the output falls silent too
    session = StreamingSession(model, readout)
    results = [r for f in frames[:10] for r in session.push(f)] + session.push_many(frames[10:])
    with torch.no_grad():
        out = model(torch.from_numpy(frames)[None], None)
    d = readout.decide(readout.scores(out.output_spikes)[0])
    assert [r.predicted for r in results] == d.class_id.tolist()
    assert [r.reason for r in results] == _reasons(d)
    np.testing.assert_array_equal(np.stack([r.probs for r in results]), d.probs)
    assert [r.confidence for r in results] == d.confidence.tolist()
    assert set(REASONS) == {r.reason for r in results}  # every outcome occurs in this stream
    assert all(r.probs.shape == (3,) for r in results)


def test_checkpoint_with_background_output(tmp_path: Path) -> None:
    model = _model(4)
    spec = Readout(background=True).to_spec()
    path = save_checkpoint(tmp_path / "bg.safetensors", model, BINNING, NAMES, {"readout": spec})
    ckpt = load_checkpoint(path)
    assert ckpt.class_names == NAMES and ckpt.readout.background
    with pytest.raises(ConfigError, match="class names"):  # background not declared
        save_checkpoint(tmp_path / "x.safetensors", model, BINNING, NAMES, {})
    calibrated = dataclasses.replace(ckpt.readout, temperature=0.1, threshold=0.3)
    store_readout(path, calibrated, {"target_fa_per_minute": 0.5})
    again = load_checkpoint(path)
    assert again.readout == calibrated
    assert again.provenance["readout"]["calibration"] == {"target_fa_per_minute": 0.5}
    for a, b in zip(model.state_dict().values(), again.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ConfigError):  # dropping the background flag would mismatch the outputs
        store_readout(path, Readout())
    assert load_checkpoint(path).readout == calibrated  # the file is left as it was


def test_loading_a_file_whose_outputs_do_not_match_its_readout(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    model = _model(4)
    meta = {"format": 1, "model": model.config.to_dict(), "binning": BINNING.to_dict(),
            "classes": list(NAMES), "provenance": {"readout": Readout().to_spec()}}  # fmt: skip
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata={"asa_live": json.dumps(meta)})
    with pytest.raises(ModelFileError, match="3 classes"):
        load_checkpoint(tmp_path / "bad.safetensors")
    meta["provenance"]["readout"]["threshold"] = 7
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata={"asa_live": json.dumps(meta)})
    with pytest.raises(ModelFileError, match="threshold"):
        load_checkpoint(tmp_path / "bad.safetensors")


def _report(**kw) -> WindowReport:
    base = dict(window=3, t_start_us=0, t_end_us=15000, events=12, class_id=1, prediction="b",
                confidence=0.81234, scores=np.array([0.1, 0.81, 0.02], np.float32),
                spikes=(1, 2), latency_ms=1.0)  # fmt: skip
    return WindowReport(**{**base, **kw})


def test_headless_json_of_no_gesture() -> None:
    line = json.loads(json.dumps(_report(class_id=-1, prediction=None, reason="background",
                                         confidence=0.9).to_json_dict()))  # fmt: skip
    assert line["prediction"] is None and line["class_id"] == -1
    assert line["reason"] == "background" and line["confidence"] == 0.9
    shown = _report().to_json_dict()
    assert shown["prediction"] == "b" and shown["confidence"] == 0.8123 and "reason" not in shown
