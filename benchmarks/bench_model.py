"""Model speed: per-window latency (batch 1) and training throughput, side by side with SpikingJelly.

Latency: the paper's 3-layer net at 32x32 (K = 1 and K = 60, amortised per window) and the
5-layer net at 128x128 (K = 1 and K = 20), each with ASA and without, streaming (state carried
from call to call). Variants of ours, each adding one change to the one before:

    plain           torch.no_grad, contiguous tensors, LIF through the autograd step functions
    fused-lif       + the fused in-place LIF/PLIF inference loop (neurons.lif_sequence)
    inference_mode  + torch.inference_mode instead of no_grad
    fold-bn-pool    + BN and AvgPool2 folded into the conv (SpikingConv.folded_conv; the default)
    channels_last   + model.to(memory_format=torch.channels_last)
    compile         + torch.compile (only with --compile; K = 1 only unless --compile-all)

and the peer "spikingjelly": the same network (same convs, BN and ASA modules, same weights) with
SpikingJelly 2.x multi-step neurons (LIFNode(tau=1/0.7, decay_input=False, v_threshold=0.3,
v_reset=0) is exactly the paper's LIF; ParametricLIFNode(init_tau=2) the PLIF), under
inference_mode. Its spikes are checked against ours before timing.

Sliding ASA (``--part sliding``, also part of ``latency`` for the 3-layer net): causal
sliding-window ASA with K = 4, 8, 16 trailing windows, one window per call (batch 1), beside
chunked ASA with K = 1 (one window per call too), at the shipped width (16/32/32, hidden 128) and
the paper's (64/128/128, hidden 256), each on the eager reference and on the fast backend
(its fused sliding step, model/fast/sliding.py), plus the fast sliding step at K = 1 (equal to
chunked K = 1); weights tuned to about 5 % firing on a synthetic gesture, the stream cycling
through its windows, all rows interleaved call by call in one run. Each row prints its ratio
to K = 1 on the same backend and to the faster K = 1 backend. Target: sliding K = 8 within
1.3x of K = 1's time per window. ``--json OUT`` writes these rows with ``--part sliding``.
Backends (``--part backends``, ``--json OUT``): the eager reference against the fast backend
(asa_live.model.fast: int8 convs on binary spikes, sparse fully connected layers) and the
SpikingJelly peer, interleaved in one run, one row per configuration and backend:
{arch, width, attention, chunk, backend, ms_per_window, peer_ms_per_window, rates, macs_*}.
Configurations: 3-layer at paper width (64/128/128) and shipped width (16/32/32), 5-layer, with
and without ASA, at K = 1 and at the recipe's K (60 / 20). Random weights get realistic firing
rates (about 5 % per layer, ``fast.rates.tune_firing_rates``) on a synthetic gesture first: an
untrained net is silent, which would flatter a backend that exploits sparsity.

Training: samples/s of a full step (forward over T = 60, MSE to one-hot, backward, Adam) of the
3-layer net at batch 32.

Install the peer without letting it touch torch:
    .venv/bin/pip install --no-deps spikingjelly && .venv/bin/pip install loguru

Run:  .venv/bin/python benchmarks/bench_model.py            (latency + 2 training steps)
      .venv/bin/python benchmarks/bench_model.py --part latency --quick
      .venv/bin/python benchmarks/bench_model.py --part sliding
      .venv/bin/python benchmarks/bench_model.py --part backends --json rows.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable

import torch
from torch import nn

from asa_live.events.binning import bin_events
from asa_live.model import ModelConfig, build_model
from asa_live.model import neurons as neurons_module
from asa_live.model.fast import make_runner
from asa_live.model.fast.rates import tune_firing_rates
from asa_live.model.networks import AsaSnn
from asa_live.synth.recording import generate_sample

WINDOW_MS = 15.0


def _spikingjelly():
    try:
        from spikingjelly.activation_based import neuron, surrogate
    except ImportError:
        return None
    return neuron, surrogate


class SpikingJellyNet(nn.Module):
    """Our network's weights (conv, BN, ASA, linear) with SpikingJelly's multi-step neurons.

    SpikingJelly keeps the membrane inside its neuron modules (time-first ``[T, N, ...]``); like a
    live stream, it is not reset between calls.
    """

    def __init__(self, model: AsaSnn) -> None:
        super().__init__()
        neuron, surrogate = _spikingjelly()  # type: ignore[misc]
        cfg = model.config
        self.model = model
        nodes = []
        for layer in model.layers:
            if cfg.arch == "3layer":
                # U = 0.3 V + X with V the post-reset membrane == the paper's H = 0.3 U (1 - S)
                node = neuron.LIFNode(
                    tau=1.0 / (1.0 - cfg.leak),
                    decay_input=False,
                    v_threshold=cfg.v_threshold,
                    v_reset=0.0,
                    surrogate_function=surrogate.ATan(),
                    step_mode="m",
                )
            else:
                node = neuron.ParametricLIFNode(
                    init_tau=cfg.plif_tau0,
                    v_threshold=cfg.plif_v_threshold,
                    v_reset=0.0,
                    surrogate_function=surrogate.ATan(),
                    step_mode="m",
                )
                with torch.no_grad():
                    node.w.copy_(layer.neuron.w)
            nodes.append(node)
        self.nodes = nn.ModuleList(nodes)

    def reset(self) -> None:
        for node in self.nodes:
            node.reset()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.model.config
        n, k = x.shape[:2]
        h = x
        counts = []
        for i, (layer, node) in enumerate(zip(self.model.layers, self.nodes, strict=True)):
            if i == len(cfg.channels):
                if self.model.head_pool is not None:
                    h = self.model.head_pool(h.flatten(0, 1)).reshape(n, k, -1)
                else:
                    h = h.flatten(2)
            cur = layer.currents(h)
            h = node(cur.transpose(0, 1)).transpose(0, 1)
            counts.append(h.flatten(2).sum(-1))
        return h, torch.stack(counts, -1)


def _time_calls(
    steps: dict[str, Callable[[], None]],
    calls: int,
    rounds: int,
    clock: Callable[[], float] = time.perf_counter,
) -> dict[str, float]:
    """Median seconds per call; variants interleaved round by round so load drifts hit all.

    ``clock``: wall time by default; ``time.thread_time`` (``--clock thread``, with one
    thread) counts only this thread's CPU time, steadier on a machine shared with others."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():
        step()  # warm-up (allocator, oneDNN primitive cache)
    for _ in range(rounds):
        for name, step in steps.items():
            for _ in range(calls):
                t0 = clock()
                step()
                times[name].append(clock() - t0)
    return {name: statistics.median(v) for name, v in times.items()}


def _time_interleaved(
    steps: dict[str, Callable[[], None]], calls: int, clock: Callable[[], float] = time.perf_counter
) -> dict[str, float]:
    """Median seconds per call, the variants alternating call by call (in rotating order), so
    that the load of a shared machine hits all of them alike. ``clock``: wall time, or the
    calling thread's CPU time (``--clock cpu``, with 1 thread: immune to time slicing)."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for step in steps.values():
        step()
    for i in range(calls):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            t0 = clock()
            steps[name]()
            times[name].append(clock() - t0)
    return {name: statistics.median(v) for name, v in times.items()}


def _streaming_step(model: nn.Module, x: torch.Tensor, grad_ctx: Callable) -> Callable[[], None]:
    holder = {"state": model.initial_state(1) if hasattr(model, "initial_state") else None}

    def step() -> None:
        with grad_ctx():
            out = model(x, holder["state"])
        holder["state"] = out.state

    return step


@contextlib.contextmanager
def _unfused_lif():
    original = neurons_module._needs_grad
    neurons_module._needs_grad = lambda *tensors: True  # force the autograd step-function loop
    try:
        yield
    finally:
        neurons_module._needs_grad = original


def latency(args: argparse.Namespace) -> list[dict]:
    cases = [
        (arch, k)
        for arch, k in (("3layer", 1), ("3layer", 60), ("5layer", 1), ("5layer", 20))
        if arch in args.arch
    ]
    rows = []
    have_sj = _spikingjelly() is not None
    if not have_sj:
        print("spikingjelly is not installed: the peer column is skipped", file=sys.stderr)
    for arch, k in cases:
        for attention in ("asa", "none"):
            torch.manual_seed(0)
            cfg = ModelConfig(arch=arch, attention=attention, chunk_windows=k)
            model = build_model(cfg).eval()
            x = torch.poisson(torch.full((1, k, 2, *cfg.input_size), 0.3))
            steps: dict[str, Callable[[], None]] = {}
            unfolded = build_model(cfg).eval()
            unfolded.load_state_dict(model.state_dict())
            for layer in unfolded.layers[: len(cfg.channels)]:
                layer.fold_in_inference = False
            base = _streaming_step(unfolded, x, torch.no_grad)

            def plain(base=base) -> None:
                with _unfused_lif():
                    base()

            steps["plain"] = plain
            steps["fused-lif"] = _streaming_step(unfolded, x, torch.no_grad)
            steps["inference_mode"] = _streaming_step(unfolded, x, torch.inference_mode)
            steps["fold-bn-pool"] = _streaming_step(model, x, torch.inference_mode)
            model_cl = build_model(cfg).eval()
            model_cl.load_state_dict(model.state_dict())
            model_cl.to(memory_format=torch.channels_last)
            steps["channels_last"] = _streaming_step(model_cl, x, torch.inference_mode)
            compile_s = None
            if args.compile and (k == 1 or args.compile_all):
                compiled = torch.compile(model_cl)
                t0 = time.perf_counter()
                try:
                    with torch.inference_mode():
                        compiled(x, model_cl.initial_state(1))
                except Exception as err:  # inductor needs a C++ compiler; report and go on
                    print(
                        f"torch.compile failed: {type(err).__name__}: {err}"[:300], file=sys.stderr
                    )
                else:
                    compile_s = time.perf_counter() - t0
                    steps["compile"] = _streaming_step(compiled, x, torch.inference_mode)
            if have_sj:
                # the peer uses the plain conv -> BN -> pool modules, as a SpikingJelly net would
                sj = SpikingJellyNet(unfolded).eval()
                with torch.inference_mode():
                    sj_out, sj_counts = sj(x)
                    ours = model(x)
                sj.reset()
                mismatch = float((sj_counts - ours.layer_spikes).abs().sum())
                if mismatch > 0.001 * float(ours.layer_spikes.sum()) + 1:
                    print(
                        f"warning: SpikingJelly spikes differ from ours by {mismatch}",
                        file=sys.stderr,
                    )

                def sj_step(sj=sj, x=x) -> None:
                    with torch.inference_mode():
                        sj(x)

                steps["spikingjelly"] = sj_step
            calls = max(1, int((args.budget_s / len(steps)) / args.rounds / _estimate(arch, k)))
            medians = _time_calls(steps, calls=calls, rounds=args.rounds)
            row = {"arch": arch, "attention": attention, "K": k, "compile_s": compile_s}
            row.update({name: 1e3 * t / k for name, t in medians.items()})
            rows.append(row)
            _print_row(row)
    return rows


SLIDING_WIDTHS = {
    "shipped": {"channels": (16, 32, 32), "hidden": 128},
    "paper": {"channels": (64, 128, 128), "hidden": 256},
}
SLIDING_WINDOWS = (4, 8, 16)


def ms_per_window(
    models: dict[str, AsaSnn], budget_s: float, rounds: int, clock: str = "wall"
) -> dict[str, float]:
    """Median ms per window at batch 1, streaming, the models interleaved round by round.

    One call is one chunk: one window for K = 1 and sliding ASA, K windows (amortised) for
    chunked ASA. ``clock``: "wall", or "cpu" / "thread" (this thread's CPU time; 1 thread).
    """
    steps, windows = {}, {}
    for name, model in models.items():
        k = model.config.chunk_windows
        generator = torch.Generator().manual_seed(0)
        x = torch.poisson(torch.full((1, k, 2, *model.config.input_size), 0.3), generator)
        steps[name], windows[name] = _streaming_step(model.eval(), x, torch.inference_mode), k
    per_call = _estimate("3layer", 1)
    calls = max(1, int((budget_s / len(steps)) / rounds / per_call))
    timer = time.thread_time if clock in ("cpu", "thread") else time.perf_counter
    medians = _time_calls(steps, calls=calls, rounds=rounds, clock=timer)
    return {name: 1e3 * sec / windows[name] for name, sec in medians.items()}


def _sliding_models(width: str, cache: dict) -> dict[str, nn.Module]:
    """Chunked K = 1 ASA and sliding K = 1/4/8/16, eager and fast, all with the same weights
    tuned to realistic rates (all but the ASA's K-sized FC over time, as ``_tuned``)."""
    extra = SLIDING_WIDTHS[width]
    configs = {"K=1": ModelConfig(chunk_windows=1, **extra)}
    for k in (1, *SLIDING_WINDOWS):
        configs[f"sliding K={k}"] = ModelConfig(asa_mode="sliding", asa_window=k, **extra)
    if width not in cache:
        torch.manual_seed(0)
        base = build_model(configs["K=1"])
        tune_firing_rates(base, _gesture_frames(32, 4), rate=0.05, iterations=7)
        cache[width] = {n: v for n, v in base.state_dict().items() if ".attn.fc." not in n}
    models: dict[str, nn.Module] = {}
    for name, cfg in configs.items():
        torch.manual_seed(0)
        model = build_model(cfg)
        model.load_state_dict(cache[width], strict=False)
        model.eval()
        if name != "sliding K=1":  # sliding K=1 equals chunked K=1: only its fast row is new
            models[f"{name} eager"] = model
        models[f"{name} fast"] = make_runner(model, "fast")
    return models


def _stream_step(model: nn.Module, frames: torch.Tensor) -> Callable[[], None]:
    """One window per call, cycling through ``frames [1, T, 2, H, W]``, state carried."""
    holder = {"state": model.initial_state(1), "t": 0}

    def step() -> None:
        t = holder["t"]
        with torch.inference_mode():
            out = model(frames[:, t : t + 1], holder["state"])
        holder["state"], holder["t"] = out.state, (t + 1) % frames.shape[1]

    return step


def sliding(args: argparse.Namespace) -> list[dict]:
    """ms per window at batch 1, one window per call: chunked K = 1 ASA vs sliding K = 4/8/16,
    each on the eager reference and the fast backend, interleaved call by call in one run."""
    rows, cache = [], {}
    clock = time.thread_time if args.clock in ("cpu", "thread") else time.perf_counter
    if args.clock in ("cpu", "thread") and args.threads != 1:
        print("note: --clock cpu counts the calling thread only; with more torch threads "
              "the work of the others is not in it", file=sys.stderr, flush=True)  # fmt: skip
    frames = _gesture_frames(32, 48)
    for width in SLIDING_WIDTHS:
        models = _sliding_models(width, cache)
        steps = {name: _stream_step(model, frames) for name, model in models.items()}
        calls = max(3, int(args.budget_s / len(steps) / _estimate("3layer", 1)))
        ms = {n: 1e3 * v for n, v in _time_interleaved(steps, calls, clock).items()}
        best = min(ms["K=1 eager"], ms["K=1 fast"])
        for name, value in ms.items():
            backend = name.rsplit(" ", 1)[1]
            same = ms[f"K=1 {backend}"]
            rows.append({"width": width, "variant": name, "backend": backend,
                         "ms_per_window": value, "ratio_to_k1_same_backend": value / same,
                         "ratio_to_best_k1": value / best, "clock": args.clock,
                         "threads": args.threads})  # fmt: skip
            print(
                f"3layer {width:7s} {name:19s} {value:7.3f} ms/window "
                f"({WINDOW_MS / value:5.1f}x real time), {value / same:.2f}x K=1 {backend}, "
                f"{value / best:.2f}x best K=1",
                flush=True,
            )
    return rows


def _gesture_frames(size: int, windows: int) -> torch.Tensor:
    """A synthetic gesture (never recorded test data) binned at 15 ms to ``[1, T, 2, size, size]``."""
    events = generate_sample(5, seed=777_000, duration_us=15_000 * (windows + 10))
    frames = bin_events(events, 15_000, (128, 128), 128 // size)[5 : 5 + windows]
    return torch.from_numpy(frames)[None]


WIDTHS = {"paper": None, "shipped": (16, 32, 32)}


def _tuned(arch: str, attention: str, width: str, k: int, cache: dict) -> AsaSnn:
    """A net with realistic rates: tuned once per (arch, width, attention) at K = 1, then copied
    (all but the ASA's K-sized FC over time) into the net for K."""
    channels = WIDTHS[width]
    extra = {} if channels is None else {"channels": channels, "hidden": 128}
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch=arch, attention=attention, chunk_windows=k, **extra))
    key = (arch, attention, width)
    if key not in cache:
        base = build_model(ModelConfig(arch=arch, attention=attention, chunk_windows=1, **extra))
        size = base.config.input_size[0]
        tune_firing_rates(base, _gesture_frames(size, 4), rate=0.05, iterations=7)
        cache[key] = {n: v for n, v in base.state_dict().items() if ".attn.fc." not in n}
    model.load_state_dict(cache[key], strict=False)
    return model.eval()


def _macs(model: AsaSnn, x: torch.Tensor, out) -> dict:
    """Multiply-adds per window: dense, and a fully event-driven net at the measured rates
    (each active input adds its kernel column: k*k*C_out for a 3x3 conv, 4*C_out for the
    folded 4x4 stride-2 conv, C_out for a linear layer)."""
    t, dense, event = x.shape[1], 0.0, 0.0
    active_in = float((x != 0).sum()) / t
    for i, layer in enumerate(model.layers):
        rate = float(out.layer_spikes[0, :, i].sum()) / t  # spikes per window of layer i
        if hasattr(layer, "conv"):
            c_in, c_out = layer.conv.in_channels, layer.conv.out_channels
            h, w = model._state_shapes[i][1:]
            fanout, ksize = (4, 16) if layer.post_pool is not None else (9, 9)
            dense += h * w * c_out * c_in * ksize
            event += active_in * fanout * c_out
        else:
            dense += layer.fc.in_features * layer.fc.out_features
            event += active_in * layer.fc.out_features
        active_in = rate  # upper bound after max pooling (pooling only merges spikes)
    return {"macs_dense": dense, "macs_event_driven": event}


def backends(args: argparse.Namespace) -> list[dict]:
    """Eager vs fast vs SpikingJelly, one row per configuration and backend."""
    cases = [("3layer", "paper", 1), ("3layer", "paper", 60), ("3layer", "shipped", 1),
             ("3layer", "shipped", 60), ("5layer", "paper", 1), ("5layer", "paper", 20)]  # fmt: skip
    cases = [c for c in cases if c[0] in args.arch]
    have_sj = _spikingjelly() is not None
    if not have_sj:
        print("spikingjelly is not installed: the peer column is skipped (make bench installs "
              "it, or see benchmarks/README.md)", file=sys.stderr)  # fmt: skip
    rows, cache = [], {}
    clock = time.thread_time if args.clock in ("cpu", "thread") else time.perf_counter
    if args.clock in ("cpu", "thread") and args.threads != 1:
        raise SystemExit("--clock cpu measures the calling thread only: use it with --threads 1")
    for arch, width, k in cases:
        for attention in ("asa", "none"):
            model = _tuned(arch, attention, width, k, cache)
            x = _gesture_frames(model.config.input_size[0], k)
            fast = make_runner(model, "fast")
            steps = {name: _streaming_step(net, x, torch.inference_mode)
                     for name, net in (("eager", model), ("fast", fast))}  # fmt: skip
            if have_sj:
                sj = SpikingJellyNet(model).eval()

                def sj_step(sj=sj, x=x) -> None:
                    with torch.inference_mode():
                        sj(x)

                steps["spikingjelly"] = sj_step
            with torch.inference_mode():
                ref = model(x)
            est = _estimate(arch, k) * (0.3 if width == "shipped" else 1.0)
            calls = max(3, int(args.budget_s / len(steps) / est))
            ms = {n: 1e3 * v / k for n, v in _time_interleaved(steps, calls, clock).items()}
            rates = [
                round(float(ref.layer_spikes[0, :, i].sum()) / (k * n), 4)
                for i, n in enumerate(model.layer_neurons)
            ]
            for backend in ("eager", "fast"):
                rows.append({"arch": arch, "width": width, "attention": attention, "chunk": k,
                             "backend": backend, "ms_per_window": ms[backend],
                             "peer_ms_per_window": ms.get("spikingjelly"), "rates": rates,
                             "clock": args.clock, "threads": args.threads,
                             **_macs(model, x, ref)})  # fmt: skip
            peer = ms.get("spikingjelly")
            print(
                f"{arch} {width:7s} {attention:4s} K={k:<3d} eager {ms['eager']:.3f} "
                f"fast {ms['fast']:.3f} ms/window (eager/fast {ms['eager'] / ms['fast']:.2f})"
                + (f", SpikingJelly {peer:.3f} (SJ/fast {peer / ms['fast']:.2f})" if peer else "")
                + f", rates {rates}",
                flush=True,
            )
    return rows


def _estimate(arch: str, k: int) -> float:
    """Rough seconds per call, only to size the number of calls per round."""
    per_window = 0.003 if arch == "3layer" else 0.03
    return per_window * k


def _print_row(row: dict) -> None:
    variants = [
        v
        for v in (
            "plain",
            "fused-lif",
            "inference_mode",
            "fold-bn-pool",
            "channels_last",
            "compile",
            "spikingjelly",
        )
        if v in row
    ]
    best = min(row[v] for v in variants if v != "spikingjelly")
    sj = row.get("spikingjelly")
    parts = [f"{v} {row[v]:.3f}" for v in variants]
    tail = f" | best ours {best:.3f} ms = {WINDOW_MS / best:.1f}x real time"
    if sj:
        tail += f", SpikingJelly/ours {sj / best:.2f}"
    if row.get("compile_s"):
        tail += f", compile {row['compile_s']:.0f} s"
    print(
        f"{row['arch']:6s} {row['attention']:4s} K={row['K']:<3d} ms/window: "
        + ", ".join(parts)
        + tail,
        flush=True,
    )


def training(args: argparse.Namespace) -> list[dict]:
    rows = []
    for attention in args.train_attention:
        torch.manual_seed(0)
        cfg = ModelConfig(attention=attention, chunk_windows=args.train_t)
        for layout in args.train_layouts:
            model = build_model(cfg).train().to(args.train_device)
            if layout == "channels_last":
                model.to(memory_format=torch.channels_last)
            opt = torch.optim.Adam(model.parameters(), lr=1e-4, weight_decay=1e-4)
            x = torch.poisson(torch.full((args.train_batch, args.train_t, 2, 32, 32), 0.3))
            x = x.to(args.train_device)
            target = nn.functional.one_hot(torch.arange(args.train_batch) % 11, 11).float()
            target = target.to(args.train_device)
            sync = torch.cuda.synchronize if x.is_cuda else (lambda: None)

            def step(model=model, opt=opt, x=x, target=target, sync=sync) -> None:
                out = model(x)
                loss = nn.functional.mse_loss(out.output_spikes.mean(1), target)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sync()

            step()  # warm-up
            times = []
            for _ in range(args.train_steps):
                t0 = time.perf_counter()
                step()
                times.append(time.perf_counter() - t0)
            sec = statistics.median(times)
            rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
            row = {
                "attention": attention,
                "layout": layout,
                "s_per_step": sec,
                "samples_per_s": args.train_batch / sec,
                "peak_rss_gb": rss_gb,
            }
            rows.append(row)
            print(
                f"train 3layer {attention:4s} {layout:13s} {args.train_device} "
                f"T={args.train_t} B={args.train_batch}: "
                f"{sec:.2f} s/step = {row['samples_per_s']:.2f} samples/s "
                f"(median of {args.train_steps}; peak RSS so far {rss_gb:.1f} GB)",
                flush=True,
            )
            del model, opt
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--part", choices=("latency", "sliding", "backends", "train", "all"), default="all"
    )
    parser.add_argument("--json", metavar="OUT", help="write the backend rows to this JSON file")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--arch", nargs="+", default=["3layer", "5layer"], choices=("3layer", "5layer")
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu", "thread"),
        default="wall",
        help="sliding and backend rows: wall time, or this thread's CPU time ('cpu' and "
        "'thread' are the same; use with --threads 1)",
    )
    parser.add_argument("--budget-s", type=float, default=6.0, help="timing seconds per case")
    parser.add_argument("--quick", action="store_true", help="a third of the timing budget")
    parser.add_argument("--compile", action="store_true", help="add a torch.compile variant (K=1)")
    parser.add_argument("--compile-all", action="store_true", help="torch.compile for every K")
    parser.add_argument("--train-steps", type=int, default=2)
    parser.add_argument("--train-batch", type=int, default=32)
    parser.add_argument("--train-t", type=int, default=60)
    parser.add_argument("--train-attention", nargs="+", default=["asa"], choices=("asa", "none"))
    parser.add_argument(
        "--train-layouts",
        nargs="+",
        default=["contiguous"],
        choices=("contiguous", "channels_last"),
    )
    parser.add_argument("--train-device", default="cpu", help="cpu or cuda")
    args = parser.parse_args(argv)
    if args.quick:
        args.budget_s /= 3
        args.rounds = 3
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"cpu capability {torch.backends.cpu.get_cpu_capability()}",
        flush=True,
    )
    if args.part in ("latency", "all"):
        latency(args)
    if args.part == "sliding" or (args.part in ("latency", "all") and "3layer" in args.arch):
        rows = sliding(args)
        if args.json and args.part == "sliding":
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump({"torch": torch.__version__, "threads": args.threads, "rows": rows},
                          fh, indent=1)  # fmt: skip
    if args.part in ("backends", "all") or (args.json and args.part != "sliding"):
        rows = backends(args)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump({"torch": torch.__version__, "threads": args.threads, "rows": rows},
                          fh, indent=1)  # fmt: skip
    if args.part in ("train", "all"):
        training(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
