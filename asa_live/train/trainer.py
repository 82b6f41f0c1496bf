"""The training run: data, model, optimiser, epochs, logs, checkpoints, resume.

Files written to ``cfg.out_dir`` (rank 0 only):

* ``config.json``: every hyper-parameter of the run (the resolved TrainConfig);
* ``last.safetensors`` / ``best.safetensors``: model checkpoints (asa_live.model.save_checkpoint,
  loadable by ``asa-live --model``); "best" = highest segment accuracy under the paper
  protocol on the test split, as the authors' release selects (the last epoch is reported too);
* ``train_state.safetensors``: optimiser, scheduler, epoch, history and RNG states for ``--resume``
  (tensors and plain Python values only, loaded with ``weights_only=True``);
* ``log.csv``: one row per epoch; ``tb/``: TensorBoard scalars when tensorboard is installed;
* ``summary.json``: best and last epoch with their metrics.

Ctrl-C saves ``train_state.safetensors`` (and ``last.safetensors``) at the current step before exiting,
so ``--resume`` continues from there; an interrupted epoch is restarted from its beginning with
the weights reached so far.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, RandomSampler
from torch.utils.data.distributed import DistributedSampler

from asa_live.classes import GESTURE_CLASSES
from asa_live.errors import ConfigError
from asa_live.train import ddp
from asa_live.train.data import ClipDataset, StreamDataset, load_splits
from asa_live.train.evaluation import paper_protocol
from asa_live.train.loop import ChunkRunner, train_one_epoch, unwrap
from asa_live.train.recipes import TrainConfig
from asa_live.train.train_state import load_train_state, save_train_state

log = logging.getLogger(__name__)

__all__ = ["TrainingInterrupted", "resolve_device", "run_training", "seed_everything"]

STATE_FILE = "train_state.safetensors"
LOG_FIELDS = [
    "epoch", "lr", "train_loss", "train_acc", "test_segment_acc", "test_clip_acc",
    "test_nasfr", "epoch_s", "steps",
]  # fmt: skip


class TrainingInterrupted(Exception):
    """Ctrl-C during training; the state was saved (the CLI exits with code 130)."""


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` -> the rank's CUDA device when present, else CPU; explicit names are checked."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"Unknown --device '{name}': use auto, cpu, cuda or cuda:N.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "--device cuda was asked for but no CUDA GPU is available: use auto or cpu."
        )
    return device


def seed_everything(seed: int) -> None:
    """Python, numpy and torch RNGs; data sampling is seeded separately per epoch and item."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _binning(cfg: TrainConfig):
    from asa_live.model.config import BinningConfig

    return BinningConfig(
        window_us=cfg.window_us, sensor_size=tuple(cfg.sensor_size), downsample=cfg.downsample
    )


def _build(cfg: TrainConfig):
    from asa_live.model.config import ModelConfig
    from asa_live.model.networks import build_model

    return build_model(ModelConfig(num_classes=len(GESTURE_CLASSES), **cfg.model_overrides()))


def _make_loader(dataset, cfg: TrainConfig, dist_info: ddp.DistInfo, epoch: int) -> DataLoader:
    if dist_info.enabled:
        sampler = DistributedSampler(
            dataset, num_replicas=dist_info.world_size, rank=dist_info.rank,
            shuffle=True, seed=cfg.seed, drop_last=False,
        )  # fmt: skip
        sampler.set_epoch(epoch)
    else:
        gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
        sampler = RandomSampler(dataset, generator=gen)
    per_rank = max(1, cfg.batch_size // dist_info.world_size)
    return DataLoader(
        dataset,
        batch_size=per_rank,
        sampler=sampler,
        num_workers=cfg.num_workers,
        drop_last=len(dataset) >= per_rank * 2,  # keep BN batches full once there are enough
        persistent_workers=False,
    )


class _Logger:
    """CSV (always) and TensorBoard (when installed and enabled) scalars, rank 0 only."""

    def __init__(self, out_dir: Path, enabled: bool, tensorboard: bool) -> None:
        self.enabled = enabled
        self.csv_path = out_dir / "log.csv"
        self.writer = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(out_dir / "tb"))
            except ImportError:
                log.info("tensorboard is not installed: logging to log.csv only")

    def row(self, values: dict[str, Any]) -> None:
        if not self.enabled:
            return
        new = not self.csv_path.exists()
        with open(self.csv_path, "a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=LOG_FIELDS, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(values)
        if self.writer is not None:
            for key, value in values.items():
                if key != "epoch" and isinstance(value, (int, float)) and math.isfinite(value):
                    self.writer.add_scalar(key, value, values["epoch"])
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _provenance(cfg: TrainConfig, epoch: int, metrics: dict[str, Any], data: str) -> dict:
    return {
        "trainer": "asa-live-train",
        "recipe": cfg.recipe,
        "epoch": epoch,
        "data": data,
        "config": cfg.to_dict(),
        "metrics": metrics,
        "command": " ".join(sys.argv),
    }


def _ranks_in_sync(net: torch.nn.Module, dist_info: ddp.DistInfo) -> bool:
    """Whether every rank ends with the same weights (DDP must keep them identical)."""
    if not dist_info.enabled:
        return True
    import torch.distributed as dist

    with torch.no_grad():
        checksum = torch.stack([p.double().sum() for p in net.parameters()]).cpu()
    gathered = [torch.zeros_like(checksum) for _ in range(dist_info.world_size)]
    dist.all_gather(gathered, checksum)
    return all(torch.equal(g, gathered[0]) for g in gathered)


def run_training(cfg: TrainConfig, *, resume: bool = False) -> dict[str, Any]:
    """Train as ``cfg`` says; returns the summary (also written to ``summary.json``).

    Raises TrainingInterrupted after saving when the user presses Ctrl-C.
    """
    from asa_live.model.checkpoint import save_checkpoint

    dist_info = ddp.setup()
    try:
        summary = _run(cfg, resume, dist_info, save_checkpoint)
        # Every rank must be done talking before any rank tears the group down: a gloo rank
        # destroyed while its peer still sends aborts ("terminate called without an active
        # exception"), which made the 2-process run fail now and then.
        ddp.barrier(dist_info)
        return summary
    finally:
        ddp.cleanup(dist_info)


def _run(cfg: TrainConfig, resume: bool, dist_info: ddp.DistInfo, save_checkpoint) -> dict:
    device = resolve_device(cfg.device, dist_info.local_rank)
    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    out_dir = Path(cfg.out_dir)
    state_path = out_dir / STATE_FILE
    if dist_info.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        if not resume and state_path.exists():
            raise ConfigError(
                f"'{out_dir}' already holds a run: pass --resume to continue it, or choose "
                "another --out-dir."
            )
        cfg.save(out_dir / "config.json")
    seed_everything(cfg.seed)

    # Rank 0 fills the frame cache first; the others then read it (no duplicate binning).
    if dist_info.is_main:
        train_split, test_split = load_splits(cfg)
    ddp.barrier(dist_info)
    if not dist_info.is_main:
        train_split, test_split = load_splits(cfg)
    data_desc = f"{train_split.description}; {test_split.description}"
    if dist_info.is_main:
        log.info("data: %s", data_desc)

    model = _build(cfg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=cfg.epochs, eta_min=cfg.lr_min
        )
    else:
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    use_scaler = cfg.amp and device.type == "cuda" and not torch.cuda.is_bf16_supported()
    scaler = torch.amp.GradScaler("cuda") if use_scaler else None

    start_epoch, history, best = 0, [], {"epoch": None, "segment_accuracy": -1.0}
    if resume:
        if not state_path.exists():
            raise ConfigError(
                f"--resume was given but '{state_path}' does not exist: start without --resume."
            )
        saved = load_train_state(state_path)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        if scaler is not None and saved.get("scaler"):
            scaler.load_state_dict(saved["scaler"])
        start_epoch = int(saved["epoch"])
        history = json.loads(saved["history"])
        best = json.loads(saved["best"])
        torch.set_rng_state(saved["torch_rng"])
        if dist_info.is_main:
            log.info("resumed from %s at epoch %d", state_path, start_epoch)

    # One forward per BPTT segment (see ChunkRunner). find_unused_parameters: ASA's alpha, beta
    # and time-FC act only through top-k indices and never receive a gradient (paper.md).
    model = ChunkRunner(model)
    if dist_info.enabled:
        model = torch.nn.parallel.DistributedDataParallel(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=cfg.attention == "asa",
        )

    if cfg.mode == "clip":
        dataset = ClipDataset(
            train_split.sequences, cfg.clip_windows, train=True, seed=cfg.seed,
            max_items=cfg.max_train_items,
        )  # fmt: skip
    else:
        dataset = StreamDataset(
            train_split.sequences, cfg.stream_windows,
            samples_per_epoch=cfg.stream_samples_per_epoch, seed=cfg.seed,
            max_items=cfg.max_train_items,
        )  # fmt: skip
    logger = _Logger(out_dir, dist_info.is_main, cfg.tensorboard)
    binning = _binning(cfg)

    def save_state(epoch_done: int) -> None:
        if not dist_info.is_main:
            return
        net = unwrap(model)
        payload = {
            "model": net.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else {},
            "epoch": epoch_done,
            "history": json.dumps(history),
            "best": json.dumps(best),
            "torch_rng": torch.get_rng_state(),
        }
        save_train_state(state_path, payload)

    epoch = start_epoch
    run_start = time.perf_counter()
    stopped_early = False
    try:
        for epoch in range(start_epoch, cfg.epochs):
            spent_min = (time.perf_counter() - run_start) / 60.0
            over_time = ddp.broadcast_object(
                dist_info, bool(cfg.time_limit_min and spent_min >= cfg.time_limit_min)
            )
            if over_time:
                stopped_early = True
                log.info(
                    "time limit of %.1f min reached after %d epochs", cfg.time_limit_min, epoch
                )
                break
            t_start = time.perf_counter()
            dataset.set_epoch(epoch)
            loader = _make_loader(dataset, cfg, dist_info, epoch)
            bar = None
            total = (
                len(loader)
                if not cfg.max_steps_per_epoch
                else min(len(loader), cfg.max_steps_per_epoch)
            )
            if dist_info.is_main and cfg.progress:
                from tqdm import tqdm

                bar = tqdm(total=total, desc=f"epoch {epoch + 1}/{cfg.epochs}", dynamic_ncols=True)
            stats = train_one_epoch(
                model, loader, optimizer, cfg, device, scaler=scaler, progress=bar,
                max_steps=cfg.max_steps_per_epoch,
            )  # fmt: skip
            if bar is not None:
                bar.close()
            lr = optimizer.param_groups[0]["lr"]
            scheduler.step()
            row: dict[str, Any] = {
                "epoch": epoch + 1,
                "lr": lr,
                "train_loss": stats.loss,
                "train_acc": stats.accuracy,
                "steps": stats.steps,
            }
            evaluate_now = (epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs
            if dist_info.is_main and evaluate_now:
                result = paper_protocol(
                    unwrap(model), test_split.sequences, clip_windows=cfg.clip_windows,
                    num_clips=cfg.test_clips, batch_size=max(1, cfg.batch_size), device=device,
                    amp=cfg.amp, max_segments=cfg.max_test_items, progress=cfg.progress,
                )  # fmt: skip
                row.update(
                    test_segment_acc=result["segment_accuracy"],
                    test_clip_acc=result["clip_accuracy"],
                    test_nasfr=result["nasfr"],
                )
            row["epoch_s"] = time.perf_counter() - t_start
            history.append(row)
            if dist_info.is_main:
                logger.row(row)
                metrics = {k: v for k, v in row.items() if k != "epoch"}
                save_checkpoint(
                    out_dir / "last.safetensors", unwrap(model), binning, GESTURE_CLASSES,
                    _provenance(cfg, epoch + 1, metrics, data_desc),
                )  # fmt: skip
                if "test_segment_acc" in row and row["test_segment_acc"] > best["segment_accuracy"]:
                    best = {
                        "epoch": epoch + 1,
                        "segment_accuracy": row["test_segment_acc"],
                        **metrics,
                    }
                    save_checkpoint(
                        out_dir / "best.safetensors", unwrap(model), binning, GESTURE_CLASSES,
                        _provenance(cfg, epoch + 1, metrics, data_desc),
                    )  # fmt: skip
                msg = " ".join(
                    f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()
                )
                log.info("%s", msg)
            save_state(epoch + 1)
            ddp.barrier(dist_info)
    except KeyboardInterrupt:
        # Save what was reached; the interrupted epoch restarts on --resume.
        save_state(epoch)
        if dist_info.is_main:
            save_checkpoint(
                out_dir / "last.safetensors", unwrap(model), binning, GESTURE_CLASSES,
                _provenance(cfg, epoch, {"interrupted": True}, data_desc),
            )  # fmt: skip
        logger.close()
        raise TrainingInterrupted(
            f"Training interrupted in epoch {epoch + 1}; the state was saved to {state_path}: "
            "run the same command with --resume to continue."
        ) from None
    logger.close()
    in_sync = _ranks_in_sync(unwrap(model), dist_info)
    summary = {
        "out_dir": str(out_dir),
        "data": data_desc,
        "epochs": cfg.epochs,
        "epochs_done": len(history),
        "stopped_by_time_limit": stopped_early,
        "best": best,
        "last": history[-1] if history else None,
        "world_size": dist_info.world_size,
        "ranks_in_sync": in_sync,
        "device": str(device),
    }
    if dist_info.is_main:
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
