"""Run every benchmark in turn (each prints its peer side by side and the ratio).

    .venv/bin/python benchmarks/run_all.py [--quick]

The latest numbers are kept in docs/benchmarks.md. This machine is noisy: quote medians and ratios,
and compare only numbers from the same run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (script, normal arguments, --quick arguments)
BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    ("bench_binning.py", [], ["--sizes", "1e6", "1e7", "--repeats", "3"]),
    ("bench_aedat4.py", [], ["--events", "2e6", "--repeats", "2"]),
    ("bench_synth.py", [], ["--repeats", "1"]),
    ("bench_model.py", ["--part", "latency"], ["--part", "latency", "--quick"]),
    ("bench_replay.py", [], ["--repeats", "1", "--paced-seconds", "5"]),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--only", nargs="*", help="run only these scripts (e.g. bench_binning.py)")
    args = parser.parse_args()
    failures = 0
    for script, normal, quick in BENCHMARKS:
        if args.only and script not in args.only:
            continue
        cmd = [sys.executable, str(HERE / script), *(quick if args.quick else normal)]
        print(f"\n===== {' '.join(cmd[1:])}", flush=True)
        failures += subprocess.call(cmd) != 0
    print(f"\n{failures} benchmark script(s) failed" if failures else "\nall benchmarks ran")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
