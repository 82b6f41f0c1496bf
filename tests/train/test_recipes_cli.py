"""Recipes, option overrides, config.json, and the CLIs' one-sentence errors."""

from __future__ import annotations

import json

import pytest

from asa_live.errors import ConfigError
from asa_live.train.cli import build_train_parser, config_from_args, eval_main, main
from asa_live.train.recipes import TrainConfig, get_recipe, recipe_names


def test_paper_3layer_matches_the_paper():
    cfg = get_recipe("paper-3layer")
    assert (cfg.clip_windows, cfg.window_us, cfg.input_size) == (60, 15_000, (32, 32))
    assert (cfg.batch_size, cfg.lr, cfg.weight_decay, cfg.lr_min) == (32, 1e-4, 1e-4, 1e-6)
    assert (cfg.epochs, cfg.schedule, cfg.seed, cfg.mode) == (200, "cosine", 0, "clip")
    assert cfg.dropout == (0.0, 0.0, 0.1, 0.1, 0.1)
    assert (cfg.reduction, cfg.lam, cfg.chunk_windows) == (4, 0.5, 60)


def test_all_recipes_build_a_model_config():
    from asa_live.model.config import ModelConfig

    assert set(recipe_names()) == {"paper-3layer", "paper-5layer", "streaming", "finetune"}
    for name in recipe_names():
        cfg = get_recipe(name)
        model = ModelConfig(**cfg.model_overrides())
        assert model.chunk_windows == cfg.chunk_windows
        assert model.input_size == cfg.input_size
    assert ModelConfig(**get_recipe("paper-5layer").model_overrides()).arch == "5layer"
    assert get_recipe("streaming").chunk_windows == 1


def test_no_gesture_and_augment_defaults_per_recipe():
    """Paper recipes follow the paper; streaming and finetune train a "no gesture" output."""
    assert not get_recipe("paper-3layer").no_gesture and not get_recipe("paper-5layer").no_gesture
    assert get_recipe("streaming").no_gesture and get_recipe("finetune").no_gesture
    assert get_recipe("finetune").augment and not get_recipe("streaming").augment
    args = build_train_parser().parse_args(
        ["--recipe", "streaming", "--no-gesture", "off", "--augment", "on"]
    )
    cfg = config_from_args(args)
    assert cfg.no_gesture is False and cfg.augment is True


def test_stream_only_options_refuse_clip_mode(capsys):
    from asa_live.train.cli import main

    for extra in (["--no-gesture", "on"], ["--augment", "on"], ["--negatives", "x"]):
        assert main(["--recipe", "paper-3layer", *extra, "--print-config"]) == 2
        assert "needs --mode stream" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["--recipe", "streaming", "--no-gesture", "maybe"])
    assert exit_info.value.code == 2 and "on or off" in capsys.readouterr().err


def test_every_field_is_an_option_and_overrides_apply():
    parser = build_train_parser()
    args = parser.parse_args(
        ["--recipe", "streaming", "--channels", "8,16,16", "--lr", "3e-4", "--no-amp",
         "--dropout", "0,0,0.2,0.2,0.2", "--epochs", "7", "--data-root", "/x"]
    )  # fmt: skip
    cfg = config_from_args(args)
    assert cfg.recipe == "streaming" and cfg.mode == "stream"
    assert cfg.channels == (8, 16, 16) and cfg.lr == 3e-4 and cfg.amp is False
    assert cfg.dropout == (0.0, 0.0, 0.2, 0.2, 0.2) and cfg.epochs == 7
    assert cfg.data_root == "/x"
    help_text = parser.format_help()
    for name in TrainConfig.__dataclass_fields__:
        if name != "recipe":
            assert "--" + name.replace("_", "-") in help_text


def test_config_round_trips_through_json(tmp_path):
    cfg = get_recipe("streaming").replace(channels=(4, 8, 8), sensor_size=(64, 48))
    cfg.save(tmp_path / "config.json")
    assert TrainConfig.load(tmp_path / "config.json") == cfg


def test_invalid_options_raise_config_error():
    with pytest.raises(ConfigError, match="Unknown recipe"):
        get_recipe("nope")
    with pytest.raises(ConfigError, match="mode"):
        get_recipe("paper-3layer").replace(mode="bogus")
    with pytest.raises(ConfigError, match="multiple"):
        get_recipe("paper-3layer").replace(clip_windows=50, chunk_windows=60)
    # stream mode validates on clips too: a chunked net there needs whole chunks in them
    with pytest.raises(ConfigError, match="multiple of chunk_windows"):
        get_recipe("streaming").replace(chunk_windows=8, clip_windows=60)
    assert get_recipe("streaming").replace(chunk_windows=8, clip_windows=64).clip_windows == 64


def test_eval_cli_clips_must_hold_whole_chunks(tmp_path, capsys):
    from pipeline.helpers import make_checkpoint

    path = make_checkpoint(tmp_path / "k8.safetensors", chunk_windows=8)
    code = eval_main([str(path), "--protocol", "paper", "--data", "synthetic",
                      "--synth-test-per-class", "1", "--out", str(tmp_path / "eval")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    errors = [ln for ln in err.splitlines() if ln.startswith("asa-live-eval:")]
    assert len(errors) == 1 and "--clip-windows 60 does not divide" in errors[0]


def test_train_cli_user_error_is_one_line_exit_2(tmp_path, capsys):
    code = main(["--data", "ibm", "--data-root", str(tmp_path / "missing"),
                 "--out-dir", str(tmp_path / "run")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "does not exist" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_train_cli_prints_resolved_config(capsys):
    assert main(["--recipe", "streaming", "--hidden", "32", "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["hidden"] == 32 and printed["recipe"] == "streaming"


def test_eval_cli_bad_model_file_exit_2(tmp_path, capsys):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"not a checkpoint")
    assert eval_main([str(bad), "--out", str(tmp_path / "eval")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_eval_uses_the_checkpoint_readout_unless_told_otherwise():
    from asa_live.model.readout import Readout
    from asa_live.train.eval_cli import _readout_for, build_eval_parser

    stored = {"readout": {"kind": "leaky", "windows": 60, "decay": 0.95}}
    args = build_eval_parser().parse_args(["m.safetensors"])
    assert _readout_for(args, stored, Readout) == Readout("leaky", 60, 0.95)
    assert _readout_for(args, {}, Readout) == Readout()  # the one documented default
    args = build_eval_parser().parse_args(["m.safetensors", "--readout", "mean"])
    assert _readout_for(args, stored, Readout) == Readout("mean", 10, 0.9)


@pytest.mark.parametrize(
    "provenance",
    [
        {},
        {"readout": {"kind": "leaky", "windows": 60, "decay": 0.95}},
        {"readout": {"kind": "mean", "windows": 12}},
        {"config": {"readout_windows": 10}},
        {"config": {"readout_windows": 30, "readout_kind": "leaky", "readout_decay": 0.8}},
    ],
)
def test_eval_readout_equals_live_readout(provenance):
    """Parity: asa-live-eval and the live app resolve a checkpoint's readout identically."""
    from types import SimpleNamespace

    from asa_live.model.readout import Readout
    from asa_live.pipeline.models import readout_for
    from asa_live.train.eval_cli import _readout_for, build_eval_parser

    args = build_eval_parser().parse_args(["m.safetensors"])
    live = readout_for(SimpleNamespace(provenance=provenance))
    assert _readout_for(args, provenance, Readout) == live
