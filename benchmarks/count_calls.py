"""Torch calls per streamed window, and what the cheapest torch call costs (issue 13).

The 3-layer nets at K = 1 are bound by the number of torch calls per window, not by their
arithmetic: this prints, for the eager reference and the fast backend, the top-level aten ops
(and all aten ops, nested included) per window over 20 streamed windows after 20 warm-up
windows (torch.profiler, 1 thread, batch 1, nets tuned to realistic rates as in bench_model.py),
and the CPU time of the two cheapest calls there are (an in-place add and ``add(out=)`` on one
element). Calls x cost per call is the framework's floor for a window.

    python benchmarks/count_calls.py [--arch 3layer 5layer]
"""

from __future__ import annotations

import argparse
import time

import torch
from bench_model import _gesture_frames, _tuned
from torch.profiler import ProfilerActivity, profile

from asa_live.model.fast import make_runner

CASES = [("3layer", "paper"), ("3layer", "shipped"), ("5layer", "paper")]


def calls_per_window(
    net, x: torch.Tensor, warm: int = 20, windows: int = 20
) -> tuple[float, float]:
    """(top-level aten ops, all aten ops) per window of ``net`` streamed over ``x``."""
    state = None
    with torch.inference_mode():
        for t in range(warm):
            state = net(x[:, t : t + 1], state).state
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for t in range(warm, warm + windows):
                state = net(x[:, t : t + 1], state).state
    ops = [e for e in prof.events() if e.name.startswith("aten::")]
    top = [e for e in ops if e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::")]
    return len(top) / windows, len(ops) / windows


def cheapest_call_us(n: int = 100_000) -> dict[str, float]:
    """CPU microseconds of the cheapest torch calls (one-element tensors, inference mode)."""
    a, b = torch.zeros(1), torch.zeros(1)
    out = {}
    with torch.inference_mode():
        for name, call in (("add_ in place", lambda: a.add_(b)),
                           ("add(out=)", lambda: torch.add(a, b, out=a))):  # fmt: skip
            for _ in range(1000):
                call()
            t0 = time.thread_time()
            for _ in range(n):
                call()
            out[name] = (time.thread_time() - t0) / n * 1e6
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", nargs="+", default=["3layer"], choices=["3layer", "5layer"])
    args = p.parse_args()
    torch.set_num_threads(1)
    for arch, width in [c for c in CASES if c[0] in args.arch]:
        for attention in ("asa", "none"):
            model = _tuned(arch, attention, width, 1, {})
            x = _gesture_frames(model.config.input_size[0], 40)
            for backend in ("eager", "fast"):
                top, every = calls_per_window(make_runner(model, backend), x)
                print(f"{arch} {width:7s} {attention:4s} {backend:5s}: {top:.0f} top-level torch "
                      f"ops per window ({every:.0f} with nested)", flush=True)  # fmt: skip
    for name, us in cheapest_call_us().items():
        print(f"cheapest torch call, {name}: {us:.2f} us CPU")


if __name__ == "__main__":
    main()
