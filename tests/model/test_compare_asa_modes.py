"""benchmarks/compare_asa_modes.py: the commands it runs and the table it prints."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from asa_live.model import ModelConfig

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


def test_table_has_one_row_per_model(compare) -> None:
    results = {
        "sliding K=8": {
            "paper": {"nasfr": 0.0291},
            "stream": {
                "window_accuracy_after_grace": 0.9215,
                "onset_latency_ms": {"median": 210.0, "p90": 405.0},
                "nasfr": 0.0203,
            },
        },
        "none": {"paper": {}, "stream": {}},
    }
    table = compare.format_table(results, {"sliding K=8": 1.234})
    lines = table.splitlines()
    assert len(lines) == 4
    assert lines[2] == "| sliding K=8 | 92.2 | 210 | 405 | 0.0291 | 0.0203 | 1.23 |"
    assert lines[3] == "| none | - | - | - | - | - | - |"
