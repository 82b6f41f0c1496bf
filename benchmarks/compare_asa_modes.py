"""Train and compare the ASA modes with one recipe, seed and budget; print one table.

Rows: K = 1 ASA (today's shipped streaming model), chunked ASA K = 4 and 8, causal sliding ASA
K = 4, 8 and 16 (one window per call), and the same net without attention. Every row trains
through ``asa-live-train`` with the shipped streaming recipe (models/README.md) and the same
number of windows per truncated-BPTT segment (24 = 24 x 1 = 6 x 4 = 3 x 8), then all are evaluated
by one ``asa-live-eval`` call on the same held-out data. Columns: per-window accuracy after
the onset grace, median / p90 onset latency, NASFR on the paper's clips and on the streams,
and ms per window at batch 1 (one window per call for K = 1 and sliding, a whole chunk per call
amortised for chunked K; measured here, interleaved, median).

Needs the train side to know ``--asa-mode`` / ``--asa-window`` (TrainConfig fields passed to
ModelConfig); the script checks ``asa-live-train --help`` first.

    .venv/bin/python benchmarks/compare_asa_modes.py --dry-run          # the commands only
    .venv/bin/python benchmarks/compare_asa_modes.py --data ibm --data-root .cache/synth-gesture
    .venv/bin/python benchmarks/compare_asa_modes.py --skip-train ...  # evaluate existing runs
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from asa_live.model import load_checkpoint

SEGMENT_WINDOWS = 24
ROWS: dict[str, list[str]] = {
    "K=1 ASA": ["--attention", "asa", "--chunk-windows", "1"],
    "chunk K=4": ["--attention", "asa", "--chunk-windows", "4"],
    "chunk K=8": ["--attention", "asa", "--chunk-windows", "8"],
    "sliding K=4": ["--attention", "asa", "--asa-mode", "sliding", "--asa-window", "4"],
    "sliding K=8": ["--attention", "asa", "--asa-mode", "sliding", "--asa-window", "8"],
    "sliding K=16": ["--attention", "asa", "--asa-mode", "sliding", "--asa-window", "16"],
    "none": ["--attention", "none", "--chunk-windows", "1"],
}
# the shipped streaming recipe (models/README.md), minus what differs per row
RECIPE = (
    "--recipe streaming --channels 16,32,32 --hidden 128 --segments-per-sample 2 "
    f"--burn-in-windows {SEGMENT_WINDOWS} --stream-loss segment --batch-size 16 --lr 5e-4 "
    "--lr-min 5e-6 --stream-samples-per-epoch 960 --eval-every 6 --max-test-items 48"
)


def _tool(name: str) -> list[str]:
    """The console script beside this interpreter, else the module behind it."""
    script = Path(sys.executable).with_name(name)
    if script.exists():
        return [str(script)]
    module = "asa_live.train.cli"
    entry = "main" if name == "asa-live-train" else "eval_main"
    return [sys.executable, "-c", f"import sys; from {module} import {entry}; sys.exit({entry}())"]


def _slug(label: str) -> str:
    return label.lower().replace("=", "").replace(" ", "-")


def _chunk(row: list[str]) -> int:
    return int(row[row.index("--chunk-windows") + 1]) if "--chunk-windows" in row else 1


def train_commands(args: argparse.Namespace) -> dict[str, list[str]]:
    commands = {}
    for label, row in ROWS.items():
        k = _chunk(row)
        cmd = [*_tool("asa-live-train"), *shlex.split(RECIPE), *row]
        cmd += ["--bptt-chunks", str(SEGMENT_WINDOWS // k), "--epochs", str(args.epochs)]
        cmd += ["--seed", str(args.seed), "--time-limit-min", str(args.time_limit_min)]
        cmd += ["--torch-threads", str(args.threads), "--data", args.data]
        if args.data_root:
            cmd += ["--data-root", args.data_root]
        cmd += ["--out-dir", str(Path(args.out_root) / _slug(label)), *shlex.split(args.extra)]
        commands[label] = cmd
    return commands


def eval_command(args: argparse.Namespace) -> list[str]:
    cmd = [*_tool("asa-live-eval")]
    cmd += [str(Path(args.out_root) / _slug(label) / "last.safetensors") for label in ROWS]
    for label in ROWS:
        cmd += ["--label", label]
    cmd += ["--data", args.data, "--out", str(Path(args.out_root) / "eval"), "--no-plots"]
    if args.data_root:
        cmd += ["--data-root", args.data_root]
    return cmd + shlex.split(args.eval_extra)


def ms_per_window(paths: dict[str, Path], rounds: int = 5, calls: int = 40) -> dict[str, float]:
    """Median ms per window at batch 1, the models interleaved round by round."""
    steps = {}
    for label, path in paths.items():
        model = load_checkpoint(path).model
        k = model.config.chunk_windows
        x = torch.poisson(torch.full((1, k, 2, *model.config.input_size), 0.3))
        holder = {"state": model.initial_state(1)}

        def step(model=model, x=x, holder=holder) -> None:
            with torch.inference_mode():
                holder["state"] = model(x, holder["state"]).state

        steps[label] = (step, k)
    times: dict[str, list[float]] = {label: [] for label in steps}
    for _ in range(rounds):
        for label, (step, k) in steps.items():
            for _ in range(calls):
                t0 = time.perf_counter()
                step()
                times[label].append((time.perf_counter() - t0) / k)
    return {label: 1e3 * statistics.median(v) for label, v in times.items()}


def format_table(results: dict, speed: dict[str, float]) -> str:
    def pct(v):
        return "-" if v is None else f"{100 * v:.1f}"

    def num(v, fmt):
        return "-" if v is None else format(v, fmt)

    head = "| model | acc/window after onset % | onset median ms | onset p90 ms | NASFR paper | NASFR stream | ms/window |"
    lines = [head, "|---|---|---|---|---|---|---|"]
    for label, r in results.items():
        p, s = r.get("paper", {}), r.get("stream", {})
        onset = s.get("onset_latency_ms", {})
        lines.append(
            f"| {label} | {pct(s.get('window_accuracy_after_grace'))} | "
            f"{num(onset.get('median'), '.0f')} | {num(onset.get('p90'), '.0f')} | "
            f"{num(p.get('nasfr'), '.4f')} | {num(s.get('nasfr'), '.4f')} | "
            f"{num(speed.get(label), '.2f')} |"
        )
    return "\n".join(lines)


def _train_side_ready() -> bool:
    out = subprocess.run([*_tool("asa-live-train"), "--help"], capture_output=True, text=True)
    return "--asa-mode" in out.stdout and "--asa-window" in out.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="synthetic", help="synthetic | ibm | tonic")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--out-root", default="runs/compare-asa")
    parser.add_argument("--epochs", type=int, default=32)
    parser.add_argument("--time-limit-min", type=float, default=58.0, help="per model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per training")
    parser.add_argument("--extra", default="", help="more asa-live-train options, every row")
    parser.add_argument("--eval-extra", default="", help="more asa-live-eval options")
    parser.add_argument("--skip-train", action="store_true", help="evaluate existing runs")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and exit")
    args = parser.parse_args(argv)
    commands = train_commands(args)
    if args.dry_run:
        for cmd in [*commands.values(), eval_command(args)]:
            print(shlex.join(cmd))
        return 0
    if not args.skip_train:
        if not _train_side_ready():
            print(
                "compare_asa_modes: asa-live-train has no --asa-mode/--asa-window options yet; "
                "add them to TrainConfig (see docs/model.md, sliding ASA).",
                file=sys.stderr,
            )
            return 2
        for label, cmd in commands.items():
            print(f"== training {label}: {shlex.join(cmd)}", flush=True)
            if subprocess.run(cmd).returncode != 0:
                print(f"compare_asa_modes: training {label} failed.", file=sys.stderr)
                return 1
    if subprocess.run(eval_command(args)).returncode != 0:
        print("compare_asa_modes: asa-live-eval failed.", file=sys.stderr)
        return 1
    results = json.loads((Path(args.out_root) / "eval" / "results.json").read_text())
    torch.set_num_threads(2)
    paths = {label: Path(args.out_root) / _slug(label) / "last.safetensors" for label in ROWS}
    print(format_table(results, ms_per_window(paths)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
