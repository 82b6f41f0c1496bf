"""The robustness protocol on checkpoint files: the one path behind
``asa-live-eval --protocol robustness`` and ``benchmarks/bench_robustness.py``.

It loads each checkpoint (once per noise-filter setting), runs asa_live.train.robustness on
held-out clean synthetic recordings and "no gesture" streams, and replays each ``real``
recording (a scene without a gesture, read and adapted exactly as the live app does) for the
fraction of windows without a gesture and the highest confidence of a named gesture.

Real recordings are test data only: this reports on them and never tunes anything.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from asa_live.errors import ConfigError, InputFileError
from asa_live.events.adapt import NoiseFilter, SensorAdapter
from asa_live.events.robustness import robustness_conditions
from asa_live.events.sources import open_source
from asa_live.model.checkpoint import load_checkpoint
from asa_live.train.data.config import DataConfig
from asa_live.train.evaluation import run_sequences
from asa_live.train.robustness import (
    Evaluated,
    format_robustness,
    held_out_recordings,
    negative_streams,
    robustness_protocol,
    to_sequence,
)

NOISE_FILTER_SETTINGS = {"off": (False,), "on": (True,), "both": (False, True)}


def load_models(
    specs: Sequence[tuple[str, str | Path]], noise_filter: str = "off"
) -> list[tuple[Evaluated, str]]:
    """(model, its binning's adapt mode) for every checkpoint and noise-filter setting
    ("+nf" labels the filtered copy)."""
    out = []
    for label, path in specs:
        ckpt = load_checkpoint(path)
        data = DataConfig.from_binning(ckpt.binning)
        for on in NOISE_FILTER_SETTINGS[noise_filter]:
            name = label + ("+nf" if on else "")
            out.append(
                (Evaluated(name, ckpt.model, ckpt.readout, data, on), ckpt.binning.adapt_mode)
            )
    return out


def real_replay(model: Evaluated, path: str | Path, binning_mode: str) -> dict[str, float]:
    """A real recording through the live path's filter, adaptation and binning."""
    with open_source(path) as source:
        adapter = SensorAdapter(source.sensor_size, model.data.sensor_size, mode=binning_mode)
        # The live path filters in source coordinates, then adapts (pipeline.ingest).
        noise = NoiseFilter(source.sensor_size) if model.noise_filter else None
        events = np.concatenate([adapter(noise(packet) if noise else packet) for packet in source])
    seq = to_sequence(Path(path).name, events, None, model.data)
    (run,) = run_sequences(model.model, [seq])
    decision = model.readout.decide(model.readout.stream_scores(run))
    named = decision.class_id >= 0
    return {
        "windows": int(len(named)),
        "no_gesture_fraction": float(np.mean(~named)),
        "max_confidence": float(decision.confidence[named].max()) if named.any() else 0.0,
    }


def _check_files(paths: Sequence[str | Path]) -> None:
    for path in paths:
        if not Path(path).is_file():
            raise InputFileError(f"The recording '{path}' does not exist or is not a file.")


def run_robustness(
    specs: Sequence[tuple[str, str | Path]],
    *,
    recordings: int = 4,
    negatives_per_kind: int = 2,
    negative_ms: int = 6000,
    background: str | Path | None = None,
    real: Sequence[str | Path] = (),
    noise_filter: str = "off",
    conditions: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every condition (or the named ``conditions``) for every model, the negatives, the
    detection report and the real replays."""
    _check_files([*([background] if background else []), *real])
    chosen = _conditions(background, conditions)
    models = load_models(specs, noise_filter)
    started = time.perf_counter()
    recs = held_out_recordings(recordings)
    negatives = negative_streams(negatives_per_kind, negative_ms)
    if progress is not None:
        progress(f"data: {len(recs)} recordings, {len(negatives)} negative streams")
    result = robustness_protocol(
        [m for m, _ in models], recs, negatives, conditions=chosen, progress=progress
    )
    result["real"] = {
        Path(f).name: {m.label: real_replay(m, f, mode) for m, mode in models} for f in real
    }
    result["seconds"] = time.perf_counter() - started
    return result


def run_from_args(specs: Sequence[tuple[str, str | Path]], args: Any) -> dict[str, Any]:
    """``run_robustness`` with the options of ``asa-live-eval --protocol robustness`` or
    ``bench_robustness.py`` (same names), printing each step."""
    conditions = getattr(args, "conditions", None)
    return run_robustness(
        specs,
        recordings=args.recordings,
        negatives_per_kind=args.negatives_per_kind,
        negative_ms=args.negative_ms,
        background=args.background,
        real=args.real,
        noise_filter=args.noise_filter,
        conditions=conditions.split(",") if conditions else None,
        progress=lambda name: print(f"  {name} ...", flush=True),
    )


def _conditions(background, names: Sequence[str] | None) -> dict[str, Any]:
    every = robustness_conditions(background)
    if names is None:
        return every
    unknown = [n for n in names if n not in every]
    if unknown or not names:
        raise ConfigError(
            f"Unknown robustness condition {', '.join(unknown) or '(none given)'}: choose from "
            f"{', '.join(every)} ('background' needs --background)."
        )
    return {n: every[n] for n in names}


def to_json(result: dict[str, Any]) -> str:
    """``result`` as strict JSON: NaN (a cell with no window to score) becomes null."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(result), indent=1, allow_nan=False) + "\n"


def format_result(result: dict[str, Any]) -> str:
    """The robustness table, then one line per real replay."""
    lines = [format_robustness(result)]
    for name, by_model in result.get("real", {}).items():
        for label, r in by_model.items():
            lines.append(
                f"real {name} [{label}]: {100 * r['no_gesture_fraction']:.1f}% of "
                f"{r['windows']} windows without a gesture, max confidence "
                f"{r['max_confidence']:.2f}"
            )
    return "\n".join(lines)
