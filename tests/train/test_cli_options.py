"""asa-live-train / asa-live-eval options: checked numbers, real defaults in --help, a bare
asa-live-train that asks for --recipe, --data checked, best == last evaluated once."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from asa_live.train.cli import build_train_parser, main
from asa_live.train.cli_options import FIELD_OPTIONS
from asa_live.train.eval_cli import build_eval_parser, eval_main, expand_models
from asa_live.train.recipes import TrainConfig
from asa_live.train.trainer import run_training

BAD_NUMBERS = ["nan", "inf", "-inf", "abc", "-1", "1e30"]


def _one_line_exit_2(capsys, call) -> str:
    with pytest.raises(SystemExit) as exc:
        call()
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def _numeric_train_options() -> list[str]:
    return [
        "--" + name.replace("_", "-")
        for name, (kwargs, _) in FIELD_OPTIONS.items()
        if "type" in kwargs
    ]


@pytest.mark.parametrize("flag", _numeric_train_options())
def test_every_train_number_option_rejects_nan_inf_and_range(flag, capsys):
    parser = build_train_parser()
    for bad in BAD_NUMBERS:
        err = _one_line_exit_2(capsys, lambda b=bad: parser.parse_args([flag, b]))
        assert err.startswith("asa-live-train: ")


EVAL_NUMBER_OPTIONS = [
    "--synth-test-per-class", "--synth-gestures-per-recording", "--synth-duration-ms",
    "--data-workers", "--clip-windows", "--test-clips", "--max-test-items", "--readout-windows",
    "--readout-decay", "--onset-grace-ms", "--batch-size", "--torch-threads",
]  # fmt: skip


@pytest.mark.parametrize("flag", EVAL_NUMBER_OPTIONS)
def test_every_eval_number_option_rejects_nan_inf_and_range(flag, capsys):
    parser = build_eval_parser()
    for bad in BAD_NUMBERS:
        _one_line_exit_2(capsys, lambda b=bad: parser.parse_args(["m.safetensors", flag, b]))


def test_every_train_field_has_help_with_its_real_default():
    names = {f.name for f in dataclasses.fields(TrainConfig)} - {"recipe"}
    assert names == set(FIELD_OPTIONS)
    text = build_train_parser().format_help()
    assert "(default: None)" not in text and "default: the recipe's value" in text
    assert "paper-3layer 0.5" in text or "default: 0.5" in text  # lam, the recipe's value
    assert "paper-3layer 200" in text and "streaming 30" in text  # epochs
    assert "examples:" in text and "--resume" in text and "--version" in text
    eval_text = build_eval_parser().format_help()
    assert "examples:" in eval_text and "(default: None)" not in eval_text


def test_bare_train_prints_the_plan_and_asks_for_a_recipe(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "paper-3layer" in err and "200 epochs" in err and "--recipe" in err
    assert " h " in err or " min " in err  # an estimate of the duration


def test_eval_rejects_an_unknown_data_value(tmp_path, capsys):
    err = _one_line_exit_2(capsys, lambda: eval_main(["m.safetensors", "--data", "foo"]))
    assert "foo" in err and "synthetic" in err


def test_eval_evaluates_best_once_when_it_is_the_last(tiny_stream_cfg, tmp_path, capsys):
    run_training(tiny_stream_cfg)  # one epoch: best == last
    pairs = expand_models([tiny_stream_cfg.out_dir], None)
    assert [label for label, _ in pairs] == ["run:best=last"]
    code = eval_main([
        tiny_stream_cfg.out_dir, "--protocol", "paper", "--out",
        str(tmp_path / "eval"), "--synth-test-per-class", "1", "--synth-duration-ms", "300",
        "--data-workers", "0", "--clip-windows", "10", "--test-clips", "2",
        "--cache-dir", tiny_stream_cfg.cache_dir,
    ])  # fmt: skip
    assert code == 0
    results = json.loads((tmp_path / "eval" / "results.json").read_text())
    assert list(results) == ["run:best=last"]
    # Eval prints the paths of the plots it wrote, and they exist.
    plots = [ln.split("plot: ", 1)[1] for ln in capsys.readouterr().out.splitlines()
             if ln.startswith("plot: ")]  # fmt: skip
    assert plots and all(Path(p).is_file() for p in plots)


def test_long_phases_show_progress(monkeypatch):
    """Data loading runs under a named progress bar that counts every job."""
    import io

    from asa_live.progress import progress_bar
    from asa_live.train.data import pool

    out = io.StringIO()
    made = []

    def recording_bar(**kw):
        made.append(kw)
        return progress_bar(stream=out, log_interval_s=0, **kw)

    monkeypatch.setattr(pool, "progress_bar", recording_bar)
    assert pool.map_jobs(abs, [-1, -2, -3], 0, desc="reading + binning trials") == [1, 2, 3]
    assert made[0]["desc"] == "reading + binning trials" and made[0]["total"] == 3
    assert "3/3" in out.getvalue().splitlines()[-1]
