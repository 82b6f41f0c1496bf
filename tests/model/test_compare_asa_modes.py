"""benchmarks/compare_asa_modes.py: the commands it runs and the table it prints."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest
import torch

from asa_live.model import ModelConfig
from asa_live.model.checkpoint import save_checkpoint
from asa_live.model.config import BinningConfig
from asa_live.model.networks import build_model
from asa_live.train.trainer import STATE_FILE

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "compare_asa_modes.py"


@pytest.fixture(scope="module")
def compare():
    spec = importlib.util.spec_from_file_location("compare_asa_modes", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _option(cmd: list[str], flag: str) -> str | None:
    return cmd[cmd.index(flag) + 1] if flag in cmd else None


def test_every_row_trains_the_same_windows_with_one_seed(compare, tmp_path) -> None:
    args = compare.argparse.Namespace(
        epochs=3, seed=7, time_limit_min=5.0, threads=1, data="synthetic", data_root=None,
        out_root=str(tmp_path), extra="--max-steps-per-epoch 2", eval_extra="",
    )  # fmt: skip
    commands = compare.train_commands(args)
    assert list(commands) == [
        "K=1 ASA", "chunk K=4", "chunk K=8", "sliding K=4", "sliding K=8", "sliding K=16", "none",
    ]  # fmt: skip
    out_dirs = set()
    for label, cmd in commands.items():
        k = int(_option(cmd, "--chunk-windows") or 1)
        assert k * int(_option(cmd, "--bptt-chunks")) == compare.SEGMENT_WINDOWS
        assert _option(cmd, "--seed") == "7" and _option(cmd, "--epochs") == "3"
        assert _option(cmd, "--max-steps-per-epoch") == "2"
        out_dirs.add(_option(cmd, "--out-dir"))
        # the model each row asks for is a valid ModelConfig
        mode = _option(cmd, "--asa-mode") or "chunk"
        window = _option(cmd, "--asa-window")
        cfg = ModelConfig(
            attention=_option(cmd, "--attention"), asa_mode=mode, chunk_windows=k,
            asa_window=None if window is None else int(window),
        )  # fmt: skip
        assert cfg.asa_time_steps == (int(window) if window else k), label
    assert len(out_dirs) == len(commands)
    ev = compare.eval_command(args)
    models = [a for a in ev if a.endswith("last.safetensors")]
    labels = [ev[i + 1] for i, a in enumerate(ev) if a == "--label"]
    assert len(models) == 7 and labels == list(commands)
    assert ev.index("--label") > max(ev.index(m) for m in models)  # positionals first


def _args(compare, tmp_path, *options: str):
    return compare.build_parser().parse_args(["--out-root", str(tmp_path), *options])


def test_init_fine_tunes_every_asa_row_from_one_checkpoint(compare, tmp_path) -> None:
    args = _args(compare, tmp_path, "--init", "k1.safetensors", "--recipe", "finetune")
    commands = compare.train_commands(args)
    assert "none" not in commands and len(commands) == 6  # no ASA weights for it to take
    for cmd in commands.values():
        assert _option(cmd, "--init") == "k1.safetensors" and _option(cmd, "--recipe") == "finetune"
        assert "--channels" not in cmd and "--hidden" not in cmd  # the checkpoint's network
    args = _args(compare, tmp_path, "--init", "k1.sft", "--init-none", "none.sft")
    commands = compare.train_commands(args)
    assert _option(commands["none"], "--init") == "none.sft" and len(commands) == 7
    assert _option(commands["sliding K=16"], "--init") == "k1.sft"
    assert "none" in compare.eval_command(args)
    scratch = compare.train_commands(_args(compare, tmp_path, "--rows", "sliding K=8"))
    assert list(scratch) == ["sliding K=8"] and _option(scratch["sliding K=8"], "--channels")


def _fake_command(tmp_path: Path, label: str, code: int = 0) -> list[str]:
    # stands in for asa-live-train: records its arguments, exits with ``code``
    record = tmp_path / f"{label}.argv"
    script = f"import sys, pathlib; pathlib.Path({str(record)!r}).write_text(' '.join(sys.argv[1:])); sys.exit({code})"
    return [sys.executable, "-c", script, label]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_rows_resume_skip_finished_and_report_failures(compare, tmp_path, jobs) -> None:
    args = _args(compare, tmp_path, "--jobs", jobs)
    done, halfway = compare.run_dir(args, "chunk K=4"), compare.run_dir(args, "sliding K=8")
    done.mkdir(parents=True)
    (done / "summary.json").write_text("{}")
    halfway.mkdir(parents=True)
    (halfway / STATE_FILE).write_bytes(b"")
    labels = {"K=1 ASA": 0, "chunk K=4": 0, "sliding K=8": 0, "none": 3}
    commands = {label: _fake_command(tmp_path, label, code) for label, code in labels.items()}
    assert compare.run_rows(commands, args) == ["none"]
    assert not (tmp_path / "chunk K=4.argv").exists()  # finished: skipped
    assert (tmp_path / "sliding K=8.argv").read_text() == "sliding K=8 --resume"
    assert (tmp_path / "K=1 ASA.argv").read_text() == "K=1 ASA"
    assert (compare.run_dir(args, "none") / "train.log").exists()


RESULTS = {
    "sliding K=8": {
        "paper": {"nasfr": 0.0291},
        "stream": {
            "window_accuracy_after_grace": 0.9215,
            "onset_latency_ms": {"median": 210.0, "p90": 405.0},
            "nasfr": 0.0203,
        },
    },
    "none": {"paper": {"nasfr": 0.0582}, "stream": {"nasfr": 0.0406}},
}


def test_table_has_one_row_per_model_and_the_ratio_to_none(compare) -> None:
    table = compare.format_table(RESULTS, {"sliding K=8": 1.234})
    lines = table.splitlines()
    assert len(lines) == 4 and lines[0].count("|") == lines[1].count("|") == 10
    assert lines[2] == "| sliding K=8 | 92.2 | 210 | 405 | 0.0291 | 0.0203 | 0.50 | 0.50 | 1.23 |"
    assert lines[3] == "| none | - | - | - | 0.0582 | 0.0406 | - | - | - |"
    rows = compare.table_rows({"K=1 ASA": {"paper": {"nasfr": 0.03}}}, {})
    assert rows[0]["nasfr_paper_vs_none"] is None  # no "none" row: no ratio


def test_evaluation_is_redone_when_a_checkpoint_is_newer(compare, tmp_path) -> None:
    args = _args(compare, tmp_path, "--rows", "K=1 ASA", "none")
    assert not compare.evaluation_is_current(args)
    for label in ("K=1 ASA", "none"):
        compare.run_dir(args, label).mkdir(parents=True)
        (compare.run_dir(args, label) / "last.safetensors").write_bytes(b"")
    results = tmp_path / "eval" / "results.json"
    results.parent.mkdir()
    results.write_text(json.dumps({"K=1 ASA": {}}))
    assert not compare.evaluation_is_current(args)  # "none" missing
    results.write_text(json.dumps({"K=1 ASA": {}, "none": {}}))
    assert compare.evaluation_is_current(args)
    later = results.stat().st_mtime + 10
    os.utime(compare.run_dir(args, "none") / "last.safetensors", (later, later))
    assert not compare.evaluation_is_current(args)


def test_a_tiny_comparison_runs_end_to_end_and_resumes(compare, tmp_path, capsys) -> None:
    torch.manual_seed(0)
    config = ModelConfig(num_classes=11, channels=(4, 8, 8), hidden=16, input_size=(32, 32),
                         chunk_windows=1)  # fmt: skip
    init = tmp_path / "k1.safetensors"
    save_checkpoint(init, build_model(config), BinningConfig(), [f"g{i}" for i in range(11)], {})
    synth = (
        f"--synth-test-per-class 1 --synth-gestures-per-recording 11 --synth-duration-ms 150 "
        f"--data-workers 0 --cache-dir {tmp_path / 'cache'}"
    )
    argv = [
        "--out-root", str(tmp_path / "cmp"), "--init", str(init), "--epochs", "1",
        "--rows", "sliding K=4", "--bench-budget-s", "0.1",
        "--bench-rounds", "1", "--recipe-options",
        "--burn-in-windows 2 --segments-per-sample 1 --batch-size 2 --stream-samples-per-epoch 2",
        "--extra", f"{synth} --synth-train-per-class 1 --test-clips 1 --clip-windows 10 "
        "--max-test-items 2 --no-progress --no-tensorboard",
        "--eval-extra", f"{synth} --test-clips 1 --clip-windows 10 --max-test-items 2",
    ]  # fmt: skip
    assert compare.main(argv) == 0
    table = (tmp_path / "cmp" / "table.md").read_text().splitlines()
    assert [line.split(" | ")[0] for line in table[2:]] == ["| sliding K=4"]
    rows = json.loads((tmp_path / "cmp" / "table.json").read_text())
    assert all(r["ms_per_window"] > 0 and r["nasfr_paper"] is not None for r in rows)
    log = (tmp_path / "cmp" / "sliding-k4" / "train.log").read_text()
    assert "time FC (6 tensors, never learnt) kept as initialised: chunk K=1 there" in log
    capsys.readouterr()
    assert compare.main(argv) == 0  # again: nothing to train or evaluate
    out = capsys.readouterr().out
    assert out.count("done already") == 1 and "evaluation: up to date" in out


@pytest.mark.parametrize(("backend", "runner"), [("auto", "FastSnn"), ("eager", "AsaSnn")])
def test_ms_per_window_times_each_row_as_asa_live_runs_it(compare, tmp_path, backend, runner):
    """A sliding row is timed through the backend's runner: auto (asa-live's default) gives the
    fast backend's fused sliding step, eager the training reference."""
    torch.manual_seed(0)
    config = ModelConfig(num_classes=11, channels=(4, 8, 8), hidden=16, input_size=(32, 32),
                         asa_mode="sliding", asa_window=4)  # fmt: skip
    path = tmp_path / "s4.safetensors"
    save_checkpoint(path, build_model(config), BinningConfig(), [f"g{i}" for i in range(11)], {})
    seen = {}

    class Bench:
        @staticmethod
        def ms_per_window(models, budget_s, rounds, clock):
            seen.update({label: type(m).__name__ for label, m in models.items()})
            return {label: 1.0 for label in models}

    args = compare.build_parser().parse_args(["--backend", backend, "--bench-threads", "1"])
    original = compare._bench_model
    compare._bench_model = lambda: Bench
    try:
        assert compare.ms_per_window({"sliding K=4": path}, args) == {"sliding K=4": 1.0}
    finally:
        compare._bench_model = original
    assert seen == {"sliding K=4": runner}
