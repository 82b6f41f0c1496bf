"""``asa-live-eval --protocol robustness``: the robustness protocol from the evaluation CLI, the
same run as benchmarks/bench_robustness.py (asa_live.train.robustness_run)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from asa_live.events.aedat4 import write_aedat4
from asa_live.events.dtype import make_events
from asa_live.train.eval_cli import eval_main


@pytest.fixture(scope="module")
def empty_scene(tmp_path_factory):
    """A 1 s recording of sensor noise only: a scene without a gesture."""
    rng = np.random.default_rng(3)
    n = 5_000
    events = make_events(
        np.sort(rng.integers(0, 1_000_000, n)), rng.integers(0, 128, n),
        rng.integers(0, 128, n), rng.integers(0, 2, n),
    )  # fmt: skip
    path = tmp_path_factory.mktemp("real") / "noise.aedat4"
    write_aedat4(path, events, (128, 128))
    return path


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_robustness_protocol_from_the_eval_cli(small_ckpt_path, empty_scene, tmp_path, capsys):
    args = [str(small_ckpt_path), "--label", "tiny", "--protocol", "robustness",
            "--recordings", "1", "--negatives-per-kind", "1", "--negative-ms", "1000",
            "--conditions", "clean,stretch_0.67", "--noise-filter", "both",
            "--real", str(empty_scene), "--out", str(tmp_path)]  # fmt: skip
    assert eval_main(args) == 0
    out = capsys.readouterr().out
    result = _strict((tmp_path / "robustness.json").read_text())
    assert list(result["conditions"]) == ["clean", "stretch_0.67"]
    assert set(result["conditions"]["clean"]) == {"tiny", "tiny+nf"}
    # stretched gestures leave no idle gap of 600 ms: that cell is null, not NaN
    assert result["conditions"]["stretch_0.67"]["tiny"]["idle_no_gesture"] is None
    assert result["negatives"]["tiny"]["minutes"] == pytest.approx(11 / 60, rel=0.05)
    assert set(result["detection"]["tiny"]["auroc"]) == {"ours", "msp"}
    real = result["real"]["noise.aedat4"]["tiny"]
    assert real["windows"] == pytest.approx(1_000_000 / 15_000, abs=2)
    assert "per-window accuracy after onset" in out and "real noise.aedat4 [tiny+nf]" in out


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--conditions", "clean,sideways"], "Unknown robustness condition sideways"),
        (["--conditions", "background"], "Unknown robustness condition background"),
        (["--real", "no/such/file.aedat4"], "does not exist"),
        (["--background", "no/such/file.aedat4"], "does not exist"),
    ],
)
def test_bad_robustness_inputs_are_one_sentence(small_ckpt_path, tmp_path, capsys, extra, needle):
    args = [str(small_ckpt_path), "--protocol", "robustness", "--out", str(tmp_path), *extra]
    assert eval_main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-3", "x"])
def test_bad_robustness_numbers_exit_2(small_ckpt_path, value):
    with pytest.raises(SystemExit) as exc:
        eval_main([str(small_ckpt_path), "--protocol", "robustness", "--recordings", value])
    assert exc.value.code == 2
