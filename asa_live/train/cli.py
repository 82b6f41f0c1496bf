"""Command lines: ``asa-live-train`` (:func:`main`) and ``asa-live-eval`` (:func:`eval_main`).

``asa-live-train --recipe streaming --epochs 10 --channels 16,32,32`` starts from a preset and
overrides any of its fields (every TrainConfig field is an option; see ``--help``). The
resolved config is written to ``<out-dir>/config.json``. ``--config run/config.json`` repeats
a run exactly; ``--resume`` continues an interrupted one. Multi-GPU / multi-node:
``torchrun --nproc-per-node=4 -m asa_live.train.cli ...`` (same options).

``asa-live-eval CHECKPOINT_OR_RUN_DIR [...]`` runs the paper protocol and/or the streaming
protocol, prints a table, and writes ``results.json`` plus PNGs into ``--out``. A run directory
means its best and last checkpoints. Several checkpoints are compared side by side.

User errors (a missing dataset, a bad option) print one sentence and exit with code 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import types
from pathlib import Path
from typing import Any

from asa_live.errors import AsaLiveError, ConfigError
from asa_live.train.recipes import TrainConfig, get_recipe, recipe_names

__all__ = ["build_train_parser", "config_from_args", "eval_main", "main"]

_HELP = {
    "data": "synthetic | ibm | tonic",
    "data_root": "dataset folder (IBM: with trials_to_train.txt; tonic: holding DVSGesture/)",
    "mode": "clip (the paper) | stream (truncated BPTT over consecutive chunks)",
    "chunk_windows": "K, windows per forward call (ASA's T)",
    "device": "auto | cpu | cuda | cuda:N",
    "channels": "comma-separated conv channels, e.g. 16,32,32",
    "dropout": "comma-separated dropout per spiking layer",
}


def _field_parser(annotation: Any):
    """argparse ``type`` (and nargs-free tuple parsing) for a dataclass field annotation."""
    text = str(annotation)
    if "tuple[int" in text:
        return lambda s: tuple(int(v) for v in s.split(",") if v.strip())
    if "tuple[float" in text:
        return lambda s: tuple(float(v) for v in s.split(",") if v.strip())
    if text.startswith("int"):
        return int
    if text.startswith("float"):
        return float
    return str


def build_train_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asa-live-train",
        description="Train the (streaming) ASA-SNN on DVS128 Gesture or synthetic gestures.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--recipe", default="paper-3layer", help=f"preset: {', '.join(recipe_names())}"
    )
    parser.add_argument("--config", help="start from this config.json instead of a recipe")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out-dir")
    parser.add_argument("--list-recipes", action="store_true", help="print the presets and exit")
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved config and exit"
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    group = parser.add_argument_group("hyper-parameters (override the recipe)")
    for f in dataclasses.fields(TrainConfig):
        if f.name == "recipe":
            continue
        flag = "--" + f.name.replace("_", "-")
        help_text = _HELP.get(f.name, f.name.replace("_", " "))
        if f.type in ("bool", bool):
            group.add_argument(flag, dest=f.name, default=None, help=help_text,
                               action=argparse.BooleanOptionalAction)  # fmt: skip
        else:
            group.add_argument(flag, dest=f.name, default=None, help=help_text,
                               type=_field_parser(f.type))  # fmt: skip
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The recipe (or --config file) with every option the user gave applied on top."""
    base = TrainConfig.load(args.config) if args.config else get_recipe(args.recipe)
    changes = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if f.name != "recipe" and getattr(args, f.name, None) is not None
    }
    if args.resume and not args.config and "out_dir" in changes:
        saved = Path(changes["out_dir"]) / "config.json"
        if saved.exists():
            # Resuming: the saved run's settings win, then whatever was given again.
            base = TrainConfig.load(saved)
    try:
        return base.replace(**changes)
    except TypeError as err:
        raise ConfigError(f"Invalid training options: {err}.") from None


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )


def main(argv: list[str] | None = None) -> int:
    """``asa-live-train``: returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    parser = build_train_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        if args.list_recipes:
            for name in recipe_names():
                print(name)
                print(json.dumps(get_recipe(name).to_dict(), indent=2))
            return 0
        cfg = config_from_args(args)
        if args.print_config:
            print(json.dumps(cfg.to_dict(), indent=2))
            return 0
        from asa_live.train.trainer import TrainingInterrupted, run_training

        try:
            summary = run_training(cfg, resume=args.resume)
        except TrainingInterrupted as err:
            print(str(err), file=sys.stderr)
            return 130
    except AsaLiveError as err:
        print(f"asa-live-train: {err}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun only rank 0 reports
    best, last = summary["best"], summary["last"] or {}
    print(
        f"done: best epoch {best.get('epoch')} segment accuracy "
        f"{_pct(best.get('segment_accuracy'))}; last epoch {last.get('epoch')} "
        f"{_pct(last.get('test_segment_acc'))}; checkpoints in {summary['out_dir']}"
    )
    return 0


def _pct(value) -> str:
    return "n/a" if value is None or value < 0 else f"{100 * value:.2f} %"


# ------------------------------------------------------------------------------------------
# asa-live-eval
# ------------------------------------------------------------------------------------------
def build_eval_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asa-live-eval",
        description="Evaluate checkpoints: the paper's 10-clip protocol and the streaming protocol.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("models", nargs="+", help="checkpoint files or run folders (best + last)")
    parser.add_argument("--label", action="append", help="a name per model for tables and plots")
    parser.add_argument("--protocol", choices=["paper", "stream", "both"], default="both")
    parser.add_argument("--data", default="synthetic", help="synthetic | ibm | tonic")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--cache-dir", default=".cache/asa-live-frames")
    parser.add_argument("--synth-test-per-class", type=int, default=20)
    parser.add_argument("--synth-gestures-per-recording", type=int, default=11)
    parser.add_argument("--synth-duration-ms", type=int, default=2000)
    parser.add_argument("--data-workers", type=int, default=2)
    parser.add_argument("--clip-windows", type=int, default=60)
    parser.add_argument("--test-clips", type=int, default=10)
    parser.add_argument("--max-test-items", type=int, default=0, help="segments (0 = all)")
    parser.add_argument(
        "--readout",
        choices=["mean", "leaky"],
        default=None,
        help="decision readout; default: the one stored in each checkpoint, else mean",
    )
    parser.add_argument("--readout-windows", type=int, default=10)
    parser.add_argument("--readout-decay", type=float, default=0.9)
    parser.add_argument("--onset-grace-ms", type=float, default=300.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--torch-threads", type=int, default=0)
    parser.add_argument("--out", default="runs/eval", help="folder for results.json and PNGs")
    parser.add_argument("--no-plots", action="store_true")
    return parser


def _expand_models(paths: list[str], labels: list[str] | None) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    for i, p in enumerate(paths):
        path = Path(p)
        label = labels[i] if labels and i < len(labels) else None
        if path.is_dir():
            found = [
                path / n for n in ("best.safetensors", "last.safetensors") if (path / n).exists()
            ]
            if not found:
                raise ConfigError(
                    f"The run folder '{path}' holds no best.safetensors or last.safetensors: "
                    "pass a checkpoint file or a folder written by asa-live-train."
                )
            for f in found:
                out.append((f"{label or path.name}:{f.stem}", f))
        else:
            out.append((label or path.stem, path))
    if labels and len(labels) != len(paths):
        raise ConfigError(f"Give one --label per model: {len(paths)} models, {len(labels)} labels.")
    return out


def _eval_data(args, binning) -> Any:
    """The test split for the checkpoint's binning (the cache keys include it)."""
    from asa_live.train.data import load_ibm_split, load_tonic_split, make_synthetic_split

    data_cfg = types.SimpleNamespace(
        window_us=binning.window_us,
        sensor_size=tuple(binning.sensor_size),
        downsample=binning.downsample,
        cache_dir=args.cache_dir,
        data_workers=args.data_workers,
        synth_duration_ms=args.synth_duration_ms,
    )
    if args.data == "synthetic" and args.data_root is None:
        n = max(1, -(-args.synth_test_per_class * 11 // args.synth_gestures_per_recording))
        return make_synthetic_split(
            data_cfg, train=False, num_recordings=n,
            gestures_per_recording=args.synth_gestures_per_recording,
        )  # fmt: skip
    if args.data_root is None:
        raise ConfigError(f"--data {args.data} needs --data-root: the folder of the dataset.")
    from asa_live.train.data import _detect_layout

    root = Path(args.data_root)
    if not root.is_dir():
        raise ConfigError(f"The dataset folder '{root}' does not exist: check --data-root.")
    layout = args.data if args.data != "synthetic" else _detect_layout(root)
    loader = load_ibm_split if layout == "ibm" else load_tonic_split
    return loader(root, False, data_cfg)


def _readout_for(args, provenance: dict[str, Any], readout_cls):
    """--readout when given (an explicit override); else the checkpoint's own readout, resolved
    exactly as the live app resolves it (``readout_from_provenance``)."""
    from asa_live.model.readout import readout_from_provenance

    if args.readout is None:
        return readout_from_provenance(provenance)
    return readout_cls(kind=args.readout, windows=args.readout_windows, decay=args.readout_decay)


def evaluate_checkpoints(args) -> dict[str, Any]:
    """Load each model, run the chosen protocols, write results.json and the PNGs."""
    import torch

    from asa_live.model.checkpoint import load_checkpoint
    from asa_live.model.readout import Readout
    from asa_live.train.evaluation import paper_protocol, streaming_protocol
    from asa_live.train.trainer import resolve_device

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    device = resolve_device(args.device)
    results: dict[str, Any] = {}
    splits: dict[tuple, Any] = {}
    for label, path in _expand_models(args.models, args.label):
        ckpt = load_checkpoint(path, device=device)
        key = (ckpt.binning.window_us, tuple(ckpt.binning.sensor_size), ckpt.binning.downsample)
        if key not in splits:
            splits[key] = _eval_data(args, ckpt.binning)
        split = splits[key]
        readout = _readout_for(args, ckpt.provenance, Readout)
        entry: dict[str, Any] = {
            "checkpoint": str(path),
            "model": ckpt.model_config.to_dict(),
            "epoch": ckpt.provenance.get("epoch"),
            "data": split.description,
        }
        if args.protocol in ("paper", "both"):
            entry["paper"] = paper_protocol(
                ckpt.model, split.sequences, clip_windows=args.clip_windows,
                num_clips=args.test_clips, batch_size=args.batch_size, device=device,
                max_segments=args.max_test_items,
            )  # fmt: skip
        if args.protocol in ("stream", "both"):
            entry["stream"] = streaming_protocol(
                ckpt.model, split.sequences, readout=readout,
                onset_grace_ms=args.onset_grace_ms, device=device, batch_size=args.batch_size,
            )  # fmt: skip
        results[label] = entry
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if not args.no_plots:
        write_plots(results, out)
    return results


def write_plots(results: dict[str, Any], out: Path) -> list[Path]:
    from asa_live.train import plots

    written = []
    for proto in ("paper", "stream"):
        chosen = {k: v[proto] for k, v in results.items() if proto in v}
        if not chosen:
            continue
        written.append(plots.plot_confusion(chosen, out / f"confusion_{proto}.png",
                                            title=f"Confusion matrix ({proto} protocol)"))  # fmt: skip
        written.append(plots.plot_layer_rates(chosen, out / f"firing_rates_{proto}.png",
                                              title=f"Firing rate per layer ({proto} protocol)"))  # fmt: skip
        if proto == "stream":
            written.append(plots.plot_accuracy_vs_onset(chosen, out / "accuracy_vs_onset.png"))
    return written


def format_table(results: dict[str, Any]) -> str:
    """The printed summary: one row per model."""
    header = (
        f"{'model':<28} {'epoch':>5} {'seg acc':>8} {'clip acc':>8} {'NASFR clip':>10} "
        f"{'win acc':>8} {'win>grace':>9} {'onset med':>9} {'missed':>6} {'NASFR strm':>10}"
    )
    lines = [header, "-" * len(header)]
    for label, r in results.items():
        p, s = r.get("paper", {}), r.get("stream", {})
        onset = s.get("onset_latency_ms", {}) if s else {}
        med = onset.get("median")
        lines.append(
            f"{label:<28} {str(r.get('epoch')):>5} {_p(p.get('segment_accuracy')):>8} "
            f"{_p(p.get('clip_accuracy')):>8} {_f(p.get('nasfr')):>10} "
            f"{_p(s.get('window_accuracy')):>8} {_p(s.get('window_accuracy_after_grace')):>9} "
            f"{(f'{med:.0f} ms' if med is not None else ('-' if not s else 'missed')):>9} "
            f"{str(onset.get('missed', '-')):>6} {_f(s.get('nasfr')):>10}"
        )
    first = next(iter(results.values()), {})
    for proto in ("paper", "stream"):
        if proto in first and "layer_rates" in first[proto]:
            names = list(first[proto]["layer_rates"])
            lines.append("")
            lines.append(f"per-layer firing rate ({proto}): " + "  ".join(f"{n:>8}" for n in names))
            for label, r in results.items():
                if proto in r:
                    rates = r[proto]["layer_rates"]
                    lines.append(f"  {label:<28}" + "  ".join(f"{rates[n]:8.4f}" for n in names))
    return "\n".join(lines)


def _p(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _f(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def eval_main(argv: list[str] | None = None) -> int:
    """``asa-live-eval``: returns the exit code (0 ok, 2 user error)."""
    args = build_eval_parser().parse_args(argv)
    _setup_logging(False)
    try:
        results = evaluate_checkpoints(args)
    except AsaLiveError as err:
        print(f"asa-live-eval: {err}", file=sys.stderr)
        return 2
    print(format_table(results))
    print(f"\nresults: {Path(args.out) / 'results.json'}")
    return 0


if __name__ == "__main__":  # torchrun -m asa_live.train.cli ...
    sys.exit(main())
