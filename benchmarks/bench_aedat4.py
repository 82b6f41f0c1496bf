"""AEDAT4 replay into frames, as fast as possible: asa_live vs dv-processing's own slicer,
and the maintained AEDAT4 decoders side by side.

A synthetic 10 M-event LZ4 AEDAT4 file (128x128, 60 s; or --file FILE) is replayed:

* ``dv read only``: dv.io.MonoCameraRecording.getNextEventBatch until the end;
* ``aedat read only``: aedat.Decoder (Rust, MIT) packets, viewed as EVENT_DTYPE (no copy);
* ``eventcv load``: eventcv.load(path).numpy() (eventcv reads AEDAT4 whole, not streamed);
* ``dv slicer + numpy``: dv's reader, dv.EventStreamSlicer every 15 ms, one numpy bincount
  frame per window (how one would do it with dv-processing alone): the reference, x = 1;
* ``asa_live``: Aedat4FileSource (speed=None; dv-processing, the fastest decoder measured
  here) -> StreamingBinner(15 ms) at downsample 1 and 4, i.e. the live pipeline's replay path,
  frames as float32 [2, H, W];
* ``asa_live decode only``: Aedat4FileSource alone (dv decode + copy into EVENT_DTYPE).

The ratio printed last is the replay path (ds=4) over dv's slicer peer (target >= 1.5).

Events/s = events in the file / time (median of --repeats, the pipelines interleaved round by
round), by wall clock and by CPU time of the process (all threads), since the build machine
is shared.

    .venv/bin/python benchmarks/bench_aedat4.py [--events 1e7] [--file rec.aedat4]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

from asa_live.events import Aedat4FileSource, StreamingBinner
from asa_live.events.aedat4 import aedat4_info, write_aedat4

WINDOW_US = 15_000


def make_file(path: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    from asa_live.events import EVENT_DTYPE

    events = np.empty(n, EVENT_DTYPE)
    events["t"] = (np.arange(n, dtype=np.float64) * (60e6 / n)).astype(np.int64)
    events["x"] = rng.integers(0, 128, n)
    events["y"] = rng.integers(0, 128, n)
    events["p"] = rng.integers(0, 2, n)
    start = time.perf_counter()
    write_aedat4(path, events, (128, 128))
    print(
        f"wrote {n:,} events in {time.perf_counter() - start:.1f} s "
        f"({path.stat().st_size / 2**20:.0f} MiB)"
    )


def dv_read_only(path: Path) -> int:
    import dv_processing as dv

    recording = dv.io.MonoCameraRecording(str(path))
    n = 0
    while (batch := recording.getNextEventBatch()) is not None:
        n += batch.size()
    return n


def aedat_read_only(path: Path) -> int:
    import aedat

    from asa_live.events import EVENT_DTYPE

    n = 0
    for packet in aedat.Decoder(str(path)):
        events = packet.get("events")
        if events is not None:
            n += len(events.view(EVENT_DTYPE))
    return n


def eventcv_load(path: Path) -> int:
    import eventcv

    return len(eventcv.load(str(path)).numpy())


def dv_slicer_numpy(path: Path) -> int:
    import dv_processing as dv

    recording = dv.io.MonoCameraRecording(str(path))
    width, height = recording.getEventResolution()
    frames = []

    def on_window(store):
        raw = store.numpy()
        index = raw["polarity"].astype(np.int64) * (width * height)
        index += raw["y"].astype(np.int64) * width + raw["x"]
        frames.append(np.bincount(index, minlength=2 * width * height).astype(np.float32))
        frames.clear()  # keep memory flat; the frame was produced

    slicer = dv.EventStreamSlicer()
    slicer.doEveryTimeInterval(timedelta(microseconds=WINDOW_US), on_window)
    n = 0
    while (batch := recording.getNextEventBatch()) is not None:
        n += batch.size()
        slicer.accept(batch)
    return n


def asa_live(path: Path, downsample: int) -> int:
    source = Aedat4FileSource(path)
    binner = StreamingBinner(WINDOW_US, source.sensor_size, downsample=downsample)
    n = 0
    for packet in source:
        n += len(packet)
        binner.push(packet)
    binner.flush()
    return n


def asa_live_decode_only(path: Path) -> int:
    return sum(len(packet) for packet in Aedat4FileSource(path))


def interleaved(runs: dict, repeats: int) -> dict[str, tuple[float, float, int]]:
    """Median wall and CPU seconds per pipeline; round r runs every pipeline once, so load
    changes on the shared machine hit ours and the peers alike."""
    for fn in runs.values():
        fn()  # warm the page cache and the allocator
    walls = {name: [] for name in runs}
    cpus = {name: [] for name in runs}
    counts = dict.fromkeys(runs, 0)
    for _ in range(repeats):
        for name, fn in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            counts[name] = fn()
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(time.process_time() - start_cpu)
    return {
        name: (statistics.median(walls[name]), statistics.median(cpus[name]), counts[name])
        for name in runs
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=float, default=1e7)
    parser.add_argument("--file", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            path = Path(tmp) / "bench.aedat4"
            make_file(path, int(args.events))
        info = aedat4_info(path)
        print(f"file: {path.name}, sensor {info.sensor_size[0]}x{info.sensor_size[1]}")
        runs = {
            "dv read only": lambda: dv_read_only(path),
            "aedat read only": lambda: aedat_read_only(path),
            "eventcv load": lambda: eventcv_load(path),
            "dv slicer + numpy frames": lambda: dv_slicer_numpy(path),
            "asa_live source+binner ds=1": lambda: asa_live(path, 1),
            "asa_live source+binner ds=4": lambda: asa_live(path, 4),
            "asa_live decode only": lambda: asa_live_decode_only(path),
        }
        results = interleaved(runs, args.repeats)
        base, base_cpu, _ = results["dv slicer + numpy frames"]
        print("M/s = million events per wall second; cpu M/s = per CPU second of the process")
        print("(all its threads; the build machine is shared); x = speed relative to dv slicer")
        print(
            f"{'pipeline':<30} {'events':>12} {'wall s':>8} {'M/s':>7} {'cpu M/s':>8} "
            f"{'x wall':>7} {'x cpu':>7}"
        )
        for name, (seconds, cpu, n) in results.items():
            print(
                f"{name:<30} {n:>12,} {seconds:>8.3f} {n / seconds / 1e6:>7.1f} "
                f"{n / cpu / 1e6:>8.1f} {base / seconds:>7.2f} {base_cpu / cpu:>7.2f}"
            )
        ours, ours_cpu, _ = results["asa_live source+binner ds=4"]
        print(
            f"replay path (ds=4) / dv read-slice-frame: {base / ours:.2f}x wall, "
            f"{base_cpu / ours_cpu:.2f}x cpu (target 1.5x)"
        )


if __name__ == "__main__":
    main()
