"""``asa-live-train`` (:func:`main`); ``asa-live-eval`` lives in asa_live.train.eval_cli.

``asa-live-train --recipe streaming --epochs 10 --channels 16,32,32`` starts from a preset and
overrides any of its fields (every TrainConfig field is an option; see ``--help``). The
resolved config is written to ``<out-dir>/config.json``. ``--config run/config.json`` repeats
a run exactly; ``--resume`` continues an interrupted one. Multi-GPU / multi-node:
``torchrun --nproc-per-node=4 -m asa_live.train.cli ...`` (same options).

User errors (a missing dataset, a bad option) print one sentence and exit with code 2; a bare
``asa-live-train`` says what the default would do and how long it would take, and asks for
``--recipe``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
from pathlib import Path

import torch

from asa_live.errors import AsaLiveError, ConfigError
from asa_live.options import Parser
from asa_live.train.cli_options import add_field_options
from asa_live.train.estimate import estimate_seconds, steps_per_epoch
from asa_live.train.eval_cli import eval_main
from asa_live.train.init import ADOPTED_FIELDS, adopt_init
from asa_live.train.recipes import TrainConfig, get_recipe, recipe_names
from asa_live.train.trainer import TrainingInterrupted, run_training

__all__ = ["build_train_parser", "config_from_args", "eval_main", "main"]

_EPILOG = """examples:
  asa-live-train --recipe paper-3layer --data ibm --data-root ~/data/DvsGesture
  asa-live-train --recipe paper-3layer --data tonic --data-root ~/data/tonic
  asa-live-train --recipe streaming --data synthetic --out-dir runs/stream
  asa-live-train --recipe streaming --out-dir runs/stream --resume      # after Ctrl-C
  asa-live-train --recipe finetune --init models/gesture-3layer-asa.safetensors \
      --data folder --data-root my-gestures --out-dir runs/mine         # your own gestures
  asa-live-train --recipe paper-3layer --attention none --print-config
  torchrun --nproc-per-node=4 -m asa_live.train.cli --recipe paper-3layer --data ibm ...

Ctrl-C or SIGTERM stops at the next step and saves; --resume continues exactly there.
"""


def build_train_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="asa-live-train",
        description="Train the (streaming) ASA-SNN on DVS128 Gesture or synthetic gestures.",
        epilog=_EPILOG,
    )
    parser.add_argument(
        "--recipe", default=None, metavar="NAME",
        help=f"preset to start from: {', '.join(recipe_names())} (default: paper-3layer; "
        "required when no other option is given)",
    )  # fmt: skip
    parser.add_argument(
        "--config", metavar="FILE", help="start from this config.json instead of a recipe"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the interrupted run in --out-dir"
    )
    parser.add_argument("--list-recipes", action="store_true", help="print the presets and exit")
    parser.add_argument(
        "--print-config", action="store_true", help="print the resolved config and exit"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    add_field_options(parser)
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The recipe (or --config file) with every option the user gave applied on top."""
    base = (
        TrainConfig.load(args.config) if args.config else get_recipe(args.recipe or "paper-3layer")
    )
    changes = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if f.name != "recipe" and getattr(args, f.name, None) is not None
    }
    resumed = False
    if args.resume and not args.config:
        saved = Path(changes.get("out_dir", base.out_dir)) / "config.json"
        if saved.exists():
            # Resuming: the saved run's settings win, then whatever was given again.
            base = TrainConfig.load(saved)
            resumed = True
    try:
        cfg = base.replace(**changes)
    except TypeError as err:
        raise ConfigError(f"Invalid training options: {err}.") from None
    # --init: the network and binning come from the checkpoint unless given here (a resumed
    # run's config.json already holds them).
    return adopt_init(cfg, set(changes) | (set(ADOPTED_FIELDS) if resumed else set()))


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def describe_default_run() -> str:
    """What a bare ``asa-live-train`` would do, with a duration estimate for this machine."""
    cfg = get_recipe("paper-3layer")
    gpu = torch.cuda.is_available()
    where = "one CUDA GPU" if gpu else f"this machine's CPU ({os.cpu_count()} cores)"
    return (
        f"asa-live-train with no options would train the {cfg.recipe} recipe on {cfg.data} "
        f"data: {cfg.epochs} epochs x {steps_per_epoch(cfg)} steps of {cfg.batch_size} clips "
        f"of {cfg.clip_windows} windows, about {_duration(estimate_seconds(cfg, gpu))} on "
        f"{where}. Pass --recipe ({', '.join(recipe_names())}) to start, e.g. "
        "asa-live-train --recipe streaming --epochs 5; see asa-live-train --help."
    )


def main(argv: list[str] | None = None) -> int:
    """``asa-live-train``: returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(describe_default_run(), file=sys.stderr)
        return 2
    args = build_train_parser().parse_args(argv)
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
        f"{_pct(last.get('val_segment_acc'))}; checkpoints in {summary['out_dir']}"
    )
    return 0


def _pct(value) -> str:
    return "n/a" if value is None or value < 0 else f"{100 * value:.2f} %"


if __name__ == "__main__":  # torchrun -m asa_live.train.cli ...
    sys.exit(main())
