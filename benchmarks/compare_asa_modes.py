"""Train and compare the ASA modes with one recipe, seed and budget; print one table.

Rows: K = 1 ASA (today's shipped streaming model), chunked ASA K = 4 and 8, causal sliding ASA
K = 4, 8 and 16 (one window per call), and the same net without attention. Every row trains
through ``asa-live-train`` with one recipe (default: the shipped streaming recipe,
models/README.md) and the same number of windows per truncated-BPTT segment (24 = 24 x 1 =
6 x 4 = 3 x 8), then all are evaluated by one ``asa-live-eval`` call on the same held-out data.

``--init CKPT`` fine-tunes every ASA row from the same trained checkpoint (its network and
binning; each row keeps its own ASA span, whose time FC never learns, see
asa_live/train/init.py); the "none" row has no ASA weights to take, so it starts from
``--init-none CKPT`` (e.g. models/gesture-3layer-none.safetensors) or is left out.

Columns: per-window accuracy after the onset grace, median / p90 onset latency, NASFR on the
paper's clips and on the streams, each NASFR over the "none" row's, and ms per window at batch 1
(benchmarks/bench_model.py's ``ms_per_window``, all rows interleaved in one run: one window per
call for K = 1 and sliding, a whole chunk per call amortised for chunked K), each row run by
``--backend`` (default auto: what ``asa-live`` runs it with, e.g. the fast backend's fused
sliding step for sliding ASA; ``eager`` times the training reference).

Rows run one after another, or ``--jobs 2`` at a time (each with ``--threads`` torch threads).
Resumable: a row whose run folder holds ``summary.json`` is done and skipped, an interrupted one
continues with ``--resume``; the evaluation is redone only when a checkpoint is newer than it.
The table goes to stdout and to OUT_ROOT/table.md and table.json.

    .venv/bin/python benchmarks/compare_asa_modes.py --dry-run          # the commands only
    .venv/bin/python benchmarks/compare_asa_modes.py --data ibm --data-root .cache/synth-gesture
    .venv/bin/python benchmarks/compare_asa_modes.py --init runs/k1/best.safetensors \\
        --init-none models/gesture-3layer-none.safetensors --epochs 8 --jobs 2
    .venv/bin/python benchmarks/compare_asa_modes.py --skip-train ...  # evaluate existing runs
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from asa_live.model import load_checkpoint
from asa_live.model.fast import BACKENDS, DEFAULT_BACKEND, make_runner
from asa_live.train.trainer import STATE_FILE

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
NONE = "none"
#: the network of the shipped streaming model; with --init it comes from the checkpoint
NETWORK = "--channels 16,32,32 --hidden 128"
# the shipped streaming recipe (models/README.md), minus what differs per row
RECIPE = (
    f"--segments-per-sample 2 --burn-in-windows {SEGMENT_WINDOWS} --stream-loss segment "
    "--batch-size 16 --lr 5e-4 --lr-min 5e-6 --stream-samples-per-epoch 960 --eval-every 6 "
    "--max-test-items 48"
)
BENCH_MODEL = Path(__file__).resolve().with_name("bench_model.py")


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


def run_dir(args: argparse.Namespace, label: str) -> Path:
    return Path(args.out_root) / _slug(label)


def selected_rows(args: argparse.Namespace) -> list[str]:
    """The rows to run: --rows (default all), without "none" under --init but no --init-none."""
    rows = list(getattr(args, "rows", None) or ROWS)
    if getattr(args, "init", None) and not getattr(args, "init_none", None) and NONE in rows:
        rows.remove(NONE)
    return rows


def train_commands(args: argparse.Namespace) -> dict[str, list[str]]:
    """One ``asa-live-train`` command per selected row."""
    commands = {}
    init, init_none = getattr(args, "init", None), getattr(args, "init_none", None)
    for label in selected_rows(args):
        row = ROWS[label]
        start = init_none if label == NONE else init
        cmd = [*_tool("asa-live-train"), "--recipe", getattr(args, "recipe", "streaming")]
        cmd += ["--init", start] if start else shlex.split(NETWORK)
        cmd += [*shlex.split(getattr(args, "recipe_options", RECIPE)), *row]
        cmd += ["--bptt-chunks", str(SEGMENT_WINDOWS // _chunk(row)), "--epochs", str(args.epochs)]
        cmd += ["--seed", str(args.seed), "--time-limit-min", str(args.time_limit_min)]
        cmd += ["--torch-threads", str(args.threads), "--data", args.data]
        if args.data_root:
            cmd += ["--data-root", args.data_root]
        cmd += ["--out-dir", str(run_dir(args, label)), *shlex.split(args.extra)]
        commands[label] = cmd
    return commands


def eval_command(args: argparse.Namespace) -> list[str]:
    rows = selected_rows(args)
    cmd = [*_tool("asa-live-eval")]
    cmd += [str(run_dir(args, label) / "last.safetensors") for label in rows]
    for label in rows:
        cmd += ["--label", label]
    cmd += ["--data", args.data, "--out", str(Path(args.out_root) / "eval"), "--no-plots"]
    if args.data_root:
        cmd += ["--data-root", args.data_root]
    return cmd + shlex.split(args.eval_extra)


def row_status(folder: Path) -> str:
    """ "done" (summary.json), "interrupted" (a resumable state, no summary) or "new"."""
    if (folder / "summary.json").exists():
        return "done"
    return "interrupted" if (folder / STATE_FILE).exists() else "new"


def _train(label: str, cmd: list[str], folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    print(f"== training {label}: {shlex.join(cmd)}", flush=True)
    with open(folder / "train.log", "a", encoding="utf-8") as log:
        code = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode
    print(f"== {label}: {'finished' if code == 0 else f'FAILED (exit {code})'}, "
          f"log {folder / 'train.log'}", flush=True)  # fmt: skip
    return code


def run_rows(commands: dict[str, list[str]], args: argparse.Namespace) -> list[str]:
    """Train the rows not done yet, ``args.jobs`` at a time; returns the labels that failed.

    Each run's output goes to its folder's ``train.log``; an interrupted run is resumed."""
    todo = {}
    for label, cmd in commands.items():
        folder = run_dir(args, label)
        status = row_status(folder)
        if status == "done":
            print(f"== {label}: done already ({folder / 'summary.json'})", flush=True)
            continue
        todo[label] = [*cmd, "--resume"] if status == "interrupted" else cmd
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        codes = {
            label: pool.submit(_train, label, cmd, run_dir(args, label))
            for label, cmd in todo.items()
        }
        return [label for label, future in codes.items() if future.result() != 0]


def evaluation_is_current(args: argparse.Namespace) -> bool:
    """Whether OUT_ROOT/eval/results.json holds every row and is newer than their checkpoints."""
    results = Path(args.out_root) / "eval" / "results.json"
    if not results.exists():
        return False
    if set(selected_rows(args)) - set(json.loads(results.read_text())):
        return False
    made = results.stat().st_mtime
    ckpts = [run_dir(args, label) / "last.safetensors" for label in selected_rows(args)]
    return all(c.exists() and c.stat().st_mtime <= made for c in ckpts)


def _bench_model():
    spec = importlib.util.spec_from_file_location("bench_model", BENCH_MODEL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ms_per_window(paths: dict[str, Path], args: argparse.Namespace) -> dict[str, float]:
    """bench_model's median ms per window of the trained checkpoints, in one interleaved run."""
    models = {
        label: make_runner(load_checkpoint(path).model, args.backend)
        for label, path in paths.items()
    }
    torch.set_num_threads(args.bench_threads)
    return _bench_model().ms_per_window(models, args.bench_budget_s, args.bench_rounds, args.clock)


def _ratio(value, base) -> float | None:
    return None if value is None or not base else value / base


def table_rows(results: dict, speed: dict[str, float]) -> list[dict]:
    """One flat dict per model: the columns of issue 14."""
    none = results.get(NONE, {})
    rows = []
    for label, r in results.items():
        p, s = r.get("paper", {}), r.get("stream", {})
        onset = s.get("onset_latency_ms") or {}
        ratios = label != NONE
        rows.append({
            "model": label,
            "window_accuracy_after_onset": s.get("window_accuracy_after_grace"),
            "onset_median_ms": onset.get("median"),
            "onset_p90_ms": onset.get("p90"),
            "nasfr_paper": p.get("nasfr"),
            "nasfr_stream": s.get("nasfr"),
            "nasfr_paper_vs_none": _ratio(p.get("nasfr"), none.get("paper", {}).get("nasfr"))
            if ratios else None,
            "nasfr_stream_vs_none": _ratio(s.get("nasfr"), none.get("stream", {}).get("nasfr"))
            if ratios else None,
            "ms_per_window": speed.get(label),
        })  # fmt: skip
    return rows


def format_table(results: dict, speed: dict[str, float]) -> str:
    def pct(v):
        return "-" if v is None or v != v else f"{100 * v:.1f}"  # None or NaN: no value

    def num(v, fmt):
        return "-" if v is None or v != v else format(v, fmt)

    head = (
        "| model | acc/window after onset % | onset median ms | onset p90 ms | NASFR paper | "
        "NASFR stream | NASFR paper / none | NASFR stream / none | ms/window |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|"]
    for r in table_rows(results, speed):
        lines.append(
            f"| {r['model']} | {pct(r['window_accuracy_after_onset'])} | "
            f"{num(r['onset_median_ms'], '.0f')} | {num(r['onset_p90_ms'], '.0f')} | "
            f"{num(r['nasfr_paper'], '.4f')} | {num(r['nasfr_stream'], '.4f')} | "
            f"{num(r['nasfr_paper_vs_none'], '.2f')} | {num(r['nasfr_stream_vs_none'], '.2f')} | "
            f"{num(r['ms_per_window'], '.2f')} |"
        )
    return "\n".join(lines)


def _train_side_ready() -> bool:
    out = subprocess.run([*_tool("asa-live-train"), "--help"], capture_output=True, text=True)
    return "--asa-mode" in out.stdout and "--asa-window" in out.stdout


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="synthetic", help="synthetic | ibm | tonic | folder")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--recipe", default="streaming", help="asa-live-train recipe, every row")
    parser.add_argument("--recipe-options", default=RECIPE,
                        help="asa-live-train options after the recipe (default: the shipped "
                        "streaming model's; '' for the recipe's own)")  # fmt: skip
    parser.add_argument("--init", metavar="CKPT", help="fine-tune every ASA row from CKPT")
    parser.add_argument("--init-none", metavar="CKPT", help="the 'none' row's --init")
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), help="default: all")
    parser.add_argument("--out-root", default="runs/compare-asa")
    parser.add_argument("--epochs", type=int, default=32)
    parser.add_argument("--time-limit-min", type=float, default=58.0, help="per model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per training")
    parser.add_argument("--jobs", type=int, choices=(1, 2), default=1, help="rows at a time")
    parser.add_argument("--extra", default="", help="more asa-live-train options, every row")
    parser.add_argument("--eval-extra", default="", help="more asa-live-eval options")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="cpu",
                        help="ms/window: wall time or this thread's CPU time")  # fmt: skip
    parser.add_argument("--bench-threads", type=int, default=1, help="torch threads, timing")
    parser.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND,
                        help="ms/window: the inference backend (default: auto, as asa-live)")  # fmt: skip
    parser.add_argument("--bench-budget-s", type=float, default=20.0, help="timing seconds")
    parser.add_argument("--bench-rounds", type=int, default=5)
    parser.add_argument("--skip-train", action="store_true", help="evaluate existing runs")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and exit")
    return parser


def _fail(message: str, code: int = 1) -> int:
    print(f"compare_asa_modes: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for path in (args.init, args.init_none):
        if path and not Path(path).is_file():
            return _fail(f"--init checkpoint {path} does not exist.", 2)
    if args.init and not args.init_none and NONE in (args.rows or ROWS):
        print("== 'none' left out: it has no ASA weights to take from --init; pass --init-none "
              "CKPT to fine-tune it too.", flush=True)  # fmt: skip
    commands = train_commands(args)
    if args.dry_run:
        for cmd in [*commands.values(), eval_command(args)]:
            print(shlex.join(cmd))
        return 0
    if not args.skip_train:
        if not _train_side_ready():
            return _fail("asa-live-train has no --asa-mode/--asa-window options.", 2)
        failed = run_rows(commands, args)
        if failed:
            return _fail(f"training failed for {', '.join(failed)} (see their train.log).")
    if evaluation_is_current(args):
        print("== evaluation: up to date (eval/results.json)", flush=True)
    elif subprocess.run(eval_command(args)).returncode != 0:
        return _fail("asa-live-eval failed.")
    results = json.loads((Path(args.out_root) / "eval" / "results.json").read_text())
    results = {label: results[label] for label in selected_rows(args) if label in results}
    t0 = time.perf_counter()
    speed = ms_per_window({label: run_dir(args, label) / "last.safetensors" for label in results},
                          args)  # fmt: skip
    print(f"== timing: {time.perf_counter() - t0:.0f} s, clock {args.clock}", flush=True)
    table = format_table(results, speed)
    out = Path(args.out_root)
    (out / "table.md").write_text(table + "\n")
    (out / "table.json").write_text(json.dumps(table_rows(results, speed), indent=1) + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
