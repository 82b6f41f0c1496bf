"""The training run: build, resume, fit (train + evaluate each epoch), save.

Files written to ``cfg.out_dir`` (rank 0 only):

* ``config.json``: every hyper-parameter of the run (the resolved TrainConfig);
* ``last.safetensors`` / ``best.safetensors``: model checkpoints (asa_live.model.save_checkpoint,
  loadable by ``asa-live --model``), written only at the end of an epoch; "best" = highest
  segment accuracy under the paper protocol on the test split, as the authors' release selects;
* ``train_state.safetensors``: weights, optimiser, scheduler, RNG states, history and the
  position in the run (asa_live.train.resume) for ``--resume``;
* ``log.csv``: one row per epoch; ``tb/``: TensorBoard scalars when tensorboard is installed;
* ``summary.json``: best and last epoch with their metrics.

Ctrl-C or SIGTERM stops at the next step boundary and saves a state that ``--resume`` continues
exactly (the same weights, step for step, as an uninterrupted run); an interruption that cannot
wait (a second Ctrl-C) keeps the last state saved, which is just as exact, only older.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from asa_live.errors import ConfigError
from asa_live.model.checkpoint import load_checkpoint, save_checkpoint
from asa_live.model.config import BinningConfig, ModelConfig
from asa_live.model.networks import build_model
from asa_live.model.readout import Readout, readout_from_provenance
from asa_live.progress import progress_bar
from asa_live.train import ddp
from asa_live.train.autocal import calibrate_on_validation
from asa_live.train.data import DataSplit
from asa_live.train.data.targets import grace_windows
from asa_live.train.devices import resolve_device, seed_everything
from asa_live.train.evaluation import paper_protocol
from asa_live.train.init import init_network
from asa_live.train.loop import ChunkRunner, EpochStats, train_one_epoch, unwrap
from asa_live.train.plots import plot_layer_rates, plot_training_curves
from asa_live.train.rate_init import describe as describe_rate_init
from asa_live.train.rate_init import rate_init
from asa_live.train.recipes import TrainConfig
from asa_live.train.resume import Position, get_rng_states, set_rng_states
from asa_live.train.run_data import load_run_data
from asa_live.train.run_log import RunLogger, provenance
from asa_live.train.sampling import epoch_loader
from asa_live.train.stop import StopRequest
from asa_live.train.train_state import load_train_state, save_train_state

log = logging.getLogger(__name__)

__all__ = ["TrainingInterrupted", "resolve_device", "run_training", "seed_everything"]

STATE_FILE = "train_state.safetensors"


class TrainingInterrupted(Exception):
    """Ctrl-C / SIGTERM during training (the CLI exits with code 130)."""


class _Stop(Exception):
    """A stop request honoured at a saved boundary (internal)."""


@dataclass
class _Run:
    """Everything one run holds while it trains."""

    cfg: TrainConfig
    dist: ddp.DistInfo
    device: torch.device
    out_dir: Path
    model: torch.nn.Module  # ChunkRunner, possibly inside DDP
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler | None
    dataset: Dataset
    val_split: DataSplit
    data_desc: str
    logger: RunLogger
    stop: StopRequest
    class_names: tuple[str, ...]
    #: The readout stored in the checkpoints (the init checkpoint's, else a running mean).
    readout: Readout
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=lambda: {"epoch": None, "segment_accuracy": -1.0})
    #: The latest validation result (paper protocol), for firing_rates.png.
    last_eval: dict[str, Any] | None = None
    saved_at: Position | None = None
    stopped_by_time: bool = False

    @property
    def state_path(self) -> Path:
        return self.out_dir / STATE_FILE

    @property
    def net(self) -> torch.nn.Module:
        return unwrap(self.model)

    def stop_agreed(self) -> bool:
        """Whether any rank was asked to stop (every rank must stop at the same step)."""
        return ddp.any_true(self.dist, self.stop.requested)


def run_training(cfg: TrainConfig, *, resume: bool = False) -> dict[str, Any]:
    """Train as ``cfg`` says; returns the summary (also written to ``summary.json``).

    Raises TrainingInterrupted on Ctrl-C / SIGTERM, after saving a resumable state.
    """
    dist_info = ddp.setup()
    try:
        stop = StopRequest()
        try:
            # Ctrl-C while the data is generated or binned quits at once: binned frames are
            # already cached (atomic writes), and there is no training state to save yet.
            run = _build(cfg, dist_info, stop, resume)
        except KeyboardInterrupt:
            raise TrainingInterrupted(_NOTHING_SAVED) from None
        try:
            with stop:
                _fit(run, _resume(run) if resume else Position())
        except (_Stop, KeyboardInterrupt):
            raise TrainingInterrupted(_interrupted_message(run)) from None
        finally:
            run.logger.close()
        summary = _summary(run, _calibrate(run))
        # Every rank must be done talking before any rank tears the group down: a gloo rank
        # destroyed while its peer still sends aborts ("terminate called without an active
        # exception"), which made the 2-process run fail now and then.
        ddp.barrier(dist_info)
        return summary
    finally:
        ddp.cleanup(dist_info)


# ------------------------------------------------------------------------------------------
# build
# ------------------------------------------------------------------------------------------
def _prepare_out_dir(cfg: TrainConfig, dist_info: ddp.DistInfo, resume: bool) -> Path:
    out_dir = Path(cfg.out_dir)
    if dist_info.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        if not resume and (out_dir / STATE_FILE).exists():
            raise ConfigError(
                f"'{out_dir}' already holds a run: pass --resume to continue it, or choose "
                "another --out-dir."
            )
        cfg.save(out_dir / "config.json")
    return out_dir


def _wrap(net: torch.nn.Module, cfg: TrainConfig, dist_info: ddp.DistInfo, device) -> Any:
    # One forward per BPTT segment (see ChunkRunner). find_unused_parameters: ASA's alpha, beta
    # and time-FC act only through top-k indices and never receive a gradient (paper.md).
    model: torch.nn.Module = ChunkRunner(net)
    if dist_info.enabled:
        model = torch.nn.parallel.DistributedDataParallel(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=cfg.attention == "asa",
        )
    return model


def _param_groups(net: torch.nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    """One group, or two when the output layer learns at ``lr * head_lr_scale``."""
    if cfg.head_lr_scale == 1.0:
        return [{"params": list(net.parameters())}]
    head = list(net.layers[-1].parameters())
    ids = {id(p) for p in head}
    body = [p for p in net.parameters() if id(p) not in ids]
    return [{"params": body}, {"params": head, "lr": cfg.lr * cfg.head_lr_scale}]


def _build(cfg: TrainConfig, dist_info: ddp.DistInfo, stop: StopRequest, resume: bool) -> _Run:
    if cfg.recipe == "finetune" and not cfg.init:
        raise ConfigError("The finetune recipe needs --init CKPT: the model to start from.")
    device = resolve_device(cfg.device, dist_info.local_rank)
    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    out_dir = _prepare_out_dir(cfg, dist_info, resume)
    seed_everything(cfg.seed)
    data = load_run_data(cfg, dist_info)
    if dist_info.is_main:
        log.info("data: %s", data.description)
    net = build_model(ModelConfig(num_classes=data.num_outputs, **cfg.model_overrides()))
    readout = Readout(kind="mean", windows=cfg.readout_windows)
    if cfg.init:
        message = init_network(net, cfg.init, data.class_names, data.background is not None)
        # The init's readout kind and memory, not its calibration: that was fitted to its head.
        old = readout_from_provenance(load_checkpoint(cfg.init).provenance)
        readout = Readout(kind=old.kind, windows=old.windows, decay=old.decay)
        if dist_info.is_main:
            log.info("%s", message)
    readout = dataclasses.replace(readout, background=data.background is not None)
    if not cfg.init and not resume and cfg.rate_init_target > 0:
        _start_firing(net, data.dataset, cfg, dist_info)
    net = net.to(device)
    optimizer = torch.optim.Adam(_param_groups(net, cfg), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=cfg.epochs, eta_min=cfg.lr_min
        )
    else:
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    use_scaler = cfg.amp and device.type == "cuda" and not torch.cuda.is_bf16_supported()
    return _Run(
        cfg=cfg, dist=dist_info, device=device, out_dir=out_dir,
        model=_wrap(net, cfg, dist_info, device), optimizer=optimizer, scheduler=scheduler,
        scaler=torch.amp.GradScaler("cuda") if use_scaler else None,
        dataset=data.dataset, val_split=data.val, data_desc=data.description,
        logger=RunLogger(out_dir, dist_info.is_main, cfg.tensorboard), stop=stop,
        class_names=data.class_names, readout=readout,
    )  # fmt: skip


def _start_firing(net: torch.nn.Module, dataset: Dataset, cfg: TrainConfig, dist_info) -> None:
    """rate_init on the run's first training batch (every rank the same: seeded order)."""
    loader, _ = epoch_loader(dataset, cfg, ddp.DistInfo(), 0)
    x = next(iter(loader))[0]
    net.train()
    report = rate_init(net, x, cfg.rate_init_target)
    if dist_info.is_main:
        log.info("%s", describe_rate_init(report, cfg.rate_init_target))


# ------------------------------------------------------------------------------------------
# resume and save
# ------------------------------------------------------------------------------------------
def _resume(run: _Run) -> Position:
    """Load ``train_state.safetensors`` into the run; returns where to continue."""
    if not run.state_path.exists():
        raise ConfigError(
            f"--resume was given but '{run.state_path}' does not exist: start without --resume."
        )
    saved = load_train_state(run.state_path)
    run.net.load_state_dict(saved["model"])
    run.optimizer.load_state_dict(saved["optimizer"])
    run.scheduler.load_state_dict(saved["scheduler"])
    if run.scaler is not None and saved.get("scaler"):
        run.scaler.load_state_dict(saved["scaler"])
    run.history = json.loads(saved["history"])
    run.best = json.loads(saved["best"])
    set_rng_states(saved["rng"] if "rng" in saved else {"torch": saved["torch_rng"]})
    position = Position.from_saved(saved)
    run.saved_at = position
    if run.dist.is_main:
        log.info("resumed from %s at %s", run.state_path, _describe(position))
    return position


def _save_state(run: _Run, position: Position) -> None:
    """Everything needed to continue exactly at ``position`` (rank 0 writes it)."""
    run.saved_at = position
    if not run.dist.is_main:
        return
    payload = {
        "model": run.net.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "scaler": run.scaler.state_dict() if run.scaler is not None else {},
        "epoch": position.epoch,
        "position": position.to_json(),
        "history": json.dumps(run.history),
        "best": json.dumps(run.best),
        "rng": get_rng_states(),
    }
    save_train_state(run.state_path, payload)


def _describe(position: Position) -> str:
    if position.phase == "eval":
        return f"the evaluation of epoch {position.epoch + 1}"
    return f"epoch {position.epoch + 1}, step {position.batch}"


_NOTHING_SAVED = (
    "Training interrupted before anything was saved: run the same command again "
    "(without --resume) to start over."
)


def _interrupted_message(run: _Run) -> str:
    if run.saved_at is None:
        return _NOTHING_SAVED
    return (
        f"Training interrupted; the state at {_describe(run.saved_at)} is saved in "
        f"{run.state_path}: run the same command with --resume to continue."
    )


# ------------------------------------------------------------------------------------------
# fit: train and evaluate epoch by epoch
# ------------------------------------------------------------------------------------------
def _fit(run: _Run, position: Position) -> None:
    """Epochs from ``position`` to the last, or until the time limit; _Stop when asked."""
    cfg = run.cfg
    run_start = time.perf_counter()
    for epoch in range(position.epoch, cfg.epochs):
        spent_min = (time.perf_counter() - run_start) / 60.0
        over_time = bool(cfg.time_limit_min and spent_min >= cfg.time_limit_min)
        if ddp.broadcast_object(run.dist, over_time):
            run.stopped_by_time = True
            log.info("time limit of %.1f min reached after %d epochs", cfg.time_limit_min, epoch)
            return
        t_start = time.perf_counter()
        if position.phase == "train":
            row = _train_epoch(run, epoch, position)
        else:
            row = dict(position.row)
        _evaluate_epoch(run, epoch, row, time.perf_counter() - t_start)
        position = Position(epoch=epoch + 1)
        _save_state(run, position)
        ddp.barrier(run.dist)
        if run.stop_agreed():
            raise _Stop


def _train_epoch(run: _Run, epoch: int, position: Position) -> dict[str, Any]:
    """One epoch's training from ``position``; saves and raises _Stop when asked to stop."""
    cfg = run.cfg
    if hasattr(run.dataset, "set_epoch"):
        run.dataset.set_epoch(epoch)
    loader, total = epoch_loader(run.dataset, cfg, run.dist, epoch, position.batch)
    if cfg.max_steps_per_epoch:
        total = min(total, cfg.max_steps_per_epoch)
    bar = None
    if run.dist.is_main and cfg.progress:
        # One bar over the whole run's steps, so its ETA is the run's (evaluations aside).
        bar = progress_bar(total=cfg.epochs * total, initial=epoch * total + position.batch,
                   desc=f"epoch {epoch + 1}/{cfg.epochs}", dynamic_ncols=True)  # fmt: skip
    stats = train_one_epoch(
        run.model, loader, run.optimizer, cfg, run.device, scaler=run.scaler, progress=bar,
        max_steps=cfg.max_steps_per_epoch, stats=EpochStats.from_sums(position.stats),
        should_stop=run.stop_agreed,
    )  # fmt: skip
    if bar is not None:
        bar.close()
    if stats.stopped and stats.steps < total:
        _save_state(run, Position(epoch=epoch, batch=stats.steps, stats=stats.sums()))
        raise _Stop
    lr = run.optimizer.param_groups[0]["lr"]
    run.scheduler.step()
    row = {"epoch": epoch + 1, "lr": lr, "train_loss": stats.loss,
           "train_acc": stats.accuracy, "steps": stats.steps}  # fmt: skip
    # Saved before the evaluation, so an interrupted evaluation never costs the training.
    _save_state(run, Position(epoch=epoch, phase="eval", row=row))
    if run.stop_agreed():
        raise _Stop
    return row


def _evaluate_epoch(run: _Run, epoch: int, row: dict[str, Any], seconds: float) -> None:
    """Paper protocol on the validation split (when due), log row, last/best checkpoints
    (rank 0). The test split is never read during training."""
    cfg = run.cfg
    evaluate_now = (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs
    if run.dist.is_main and evaluate_now and run.val_split.num_segments:
        result = paper_protocol(
            run.net, run.val_split.sequences, clip_windows=cfg.clip_windows,
            num_clips=cfg.test_clips, batch_size=max(1, cfg.batch_size), device=run.device,
            amp=cfg.amp, max_segments=cfg.max_test_items, progress=cfg.progress,
            readout=run.readout,
        )  # fmt: skip
        run.last_eval = result
        row.update(
            val_segment_acc=result["segment_accuracy"],
            val_clip_acc=result["clip_accuracy"],
            val_nasfr=result["nasfr"],
        )
    row["epoch_s"] = seconds
    run.history.append(row)
    if run.dist.is_main:
        run.logger.row(row)
        _save_checkpoints(run, epoch, row)
        _save_curves(run)


def _save_curves(run: _Run) -> None:
    """training_curves.png (loss, accuracy, NASFR per epoch) and firing_rates.png (per layer, at
    the latest validation) beside log.csv."""
    try:
        plot_training_curves(run.history, run.out_dir / "training_curves.png")
        if run.last_eval is not None:
            title = f"Firing rate per layer (validation, epoch {len(run.history)})"
            plot_layer_rates({"validation": run.last_eval}, run.out_dir / "firing_rates.png",
                             title=title)  # fmt: skip
    except ImportError:  # matplotlib is the optional [train] extra: log.csv still has it all
        log.info("matplotlib is not installed: no training_curves.png")


def _save_checkpoints(run: _Run, epoch: int, row: dict[str, Any]) -> None:
    cfg = run.cfg
    binning = BinningConfig(
        window_us=cfg.window_us, sensor_size=tuple(cfg.sensor_size), downsample=cfg.downsample
    )
    metrics = {k: v for k, v in row.items() if k != "epoch"}
    prov = provenance(cfg, epoch + 1, metrics, run.data_desc)
    prov["readout"] = _finalize_readout(run)
    names = run.class_names
    save_checkpoint(run.out_dir / "last.safetensors", run.net, binning, names, prov)
    # Without a validation split (every class a single take) the last epoch is the best.
    score = row.get("val_segment_acc")
    no_val = not run.val_split.num_segments
    if no_val or (score is not None and score > run.best["segment_accuracy"]):
        run.best = {"epoch": epoch + 1, "segment_accuracy": -1.0 if no_val else score, **metrics}
        save_checkpoint(run.out_dir / "best.safetensors", run.net, binning, names, prov)


def _finalize_readout(run: _Run) -> dict[str, Any]:
    """The readout the checkpoint stores (what asa-live and asa-live-eval use).

    The one place where a calibration of the "no gesture" decision (temperature, threshold,
    fitted on ``run.val_split``, the validation split) adds its fields.
    """
    return run.readout.to_spec()


def _ranks_in_sync(net: torch.nn.Module, dist_info: ddp.DistInfo) -> bool:
    """Whether every rank ends with the same weights (DDP must keep them identical)."""
    if not dist_info.enabled:
        return True
    with torch.no_grad():
        checksum = torch.stack([p.double().sum() for p in net.parameters()]).cpu()
    return ddp.all_equal(dist_info, checksum)


def _calibrate(run: _Run) -> dict[str, Any] | None:
    """``--calibrate on``: fit best/last's "no gesture" decision on the validation split."""
    if not (run.cfg.calibrate and run.dist.is_main and run.val_split.sequences):
        return None
    grace = grace_windows(run.cfg.no_gesture_grace_ms, run.cfg.window_us)
    out = {}
    for name in ("best", "last"):
        path = run.out_dir / f"{name}.safetensors"
        if path.is_file():
            record = calibrate_on_validation(path, run.val_split.sequences, grace)
            log.info("calibrated %s on the validation split: %s", path.name, _cal_line(record))
            out[name] = record
    return out


def _cal_line(record: dict[str, Any] | None) -> str:
    if record is None:
        return "skipped (no gesture or no idle stretch in the validation split)"
    shown, rate = record.get("val_gesture_windows_shown"), record.get("val_fa_per_minute")
    return (
        f"background offset {record['background_offset']:g}"
        + (f", {rate:.2f} false alarms/min on idle time" if rate is not None else ", no threshold")
        + (f", {100 * shown:.1f} % of gesture windows shown" if shown is not None else "")
    )


def _summary(run: _Run, calibration: dict[str, Any] | None = None) -> dict[str, Any]:
    summary = {
        "out_dir": str(run.out_dir),
        "data": run.data_desc,
        "epochs": run.cfg.epochs,
        "epochs_done": len(run.history),
        "stopped_by_time_limit": run.stopped_by_time,
        "best": run.best,
        "last": run.history[-1] if run.history else None,
        "world_size": run.dist.world_size,
        "ranks_in_sync": _ranks_in_sync(run.net, run.dist),
        "device": str(run.device),
    }
    if calibration is not None:
        summary["calibration"] = calibration
    if run.dist.is_main:
        (run.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
