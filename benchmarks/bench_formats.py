"""Read-and-bin speed of every file format through asa_live's sources, beside eventcv's own
bulk read of the same file, in one run.

For each file: ``read`` = our source alone, streamed packet by packet; ``read+bin`` =
open_source -> AdaptingBinner (SensorAdapter to 128x128 fused with StreamingBinner, 15 ms
windows, downsample 4), the headless replay path (IngestStage.process_windows), streamed
packet by packet; ``+events`` = the same with the adapted events materialised first
(SensorAdapter, then StreamingBinner: the path when something draws them, the GUI);
``eventcv bulk`` = ``eventcv.load(path).numpy()`` (the whole file at once, no binning).
M events/s = events / median CPU time (all threads) of --repeats runs, interleaved with the
peer's; the ratios are ours / eventcv
(target >= 0.7 on EVT 3.0). The machine is shared: read the ratios, not the absolute numbers.

Files: the real Prophesee recordings in ../shared/data/real, and DAT / CSV / EVT 2.1 copies
of the IMX636 recording's events made here (the real DAT file holds only 2,009 events).

    .venv/bin/python benchmarks/bench_formats.py [--repeats 7] [--adapt-bin-alone]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from asa_live.events import SensorAdapter, StreamingBinner, open_source
from asa_live.events.adapt_bin import AdaptingBinner
from asa_live.events.csv_events import write_events_csv

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
WINDOW_US = 15_000


def ours_read(path: Path, sensor_size: str | None) -> int:
    with open_source(path, sensor_size=sensor_size) as source:
        return sum(len(packet) for packet in source)


def ours(path: Path, sensor_size: str | None) -> int:
    with open_source(path, sensor_size=sensor_size) as source:
        binner = StreamingBinner(WINDOW_US, (128, 128), downsample=4)
        fused = AdaptingBinner(SensorAdapter(source.sensor_size), binner)
        n = 0
        for packet in source:
            n += len(packet)
            fused.push(packet)
        binner.flush()
    return n


def ours_with_events(path: Path, sensor_size: str | None) -> int:
    with open_source(path, sensor_size=sensor_size) as source:
        adapter = SensorAdapter(source.sensor_size)
        binner = StreamingBinner(WINDOW_US, (128, 128), downsample=4)
        n = 0
        for packet in source:
            n += len(packet)
            binner.push(adapter(packet))
        binner.flush()
    return n


def eventcv_bulk(path: Path, sensor_size: str | None) -> int | None:
    import eventcv

    size = None if sensor_size is None else tuple(int(v) for v in sensor_size.split("x"))
    try:
        return len(eventcv.load(str(path), sensor_size=size).numpy())
    except ValueError:  # a format eventcv does not read (EVT 2.1)
        return None


def write_dat(path: Path, events: np.ndarray) -> None:
    head = b"% Data file containing Event2D events.\n% Version 2\n" + bytes([0, 8])
    records = np.empty((len(events), 2), "<u4")
    records[:, 0] = events["t"]
    packed = events["x"].astype(np.uint32) | (events["y"].astype(np.uint32) << 14)
    records[:, 1] = packed | (events["p"].astype(np.uint32) << 28)
    path.write_bytes(head + records.tobytes())


def write_evt21(path: Path, events: np.ndarray) -> None:
    """One 64-bit word per event (mask with one bit) plus a time-high word per 64 us."""
    t = events["t"].astype(np.uint64)
    high = t >> np.uint64(6)
    new_high = np.ones(len(t), bool)
    new_high[1:] = high[1:] != high[:-1]
    x = events["x"].astype(np.uint64)
    cd = (events["p"].astype(np.uint64) << np.uint64(60)) | ((t & np.uint64(63)) << np.uint64(54))
    cd |= ((x & ~np.uint64(31)) << np.uint64(43)) | (events["y"].astype(np.uint64) << np.uint64(32))
    cd |= np.uint64(1) << (x & np.uint64(31))
    words = np.empty(len(t) + int(new_high.sum()), np.uint64)
    slots = np.arange(len(t)) + np.cumsum(new_high)
    words[slots] = cd
    words[slots[new_high] - 1] = (np.uint64(8) << np.uint64(60)) | (high[new_high] << np.uint64(32))
    path.write_bytes(b"% evt 2.1\n% geometry 1280x720\n" + words.astype("<u8").tobytes())


def interleaved_medians(fns: list, repeats: int) -> list[tuple[float, int | None]]:
    """Median CPU time of the process (all threads) per run of each function, the runs
    interleaved (round r runs every function once), so that load changes on the shared
    machine hit ours and the peer alike; wall time would mostly measure the other jobs."""
    for fn in fns:
        fn()  # warm the page cache and the allocator
    times: list[list[float]] = [[] for _ in fns]
    counts: list[int | None] = [None] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.process_time()
            counts[i] = fn()
            times[i].append(time.process_time() - start)
    return [(statistics.median(t), n) for t, n in zip(times, counts, strict=True)]


def adapt_bin_alone(path: Path, repeats: int) -> None:
    """ns per event of adapting and binning alone (the packets read once beforehand):
    adapter then binner beside the fused AdaptingBinner, interleaved."""
    with open_source(path) as source:
        packets, size = list(source), source.sensor_size
    n = sum(len(p) for p in packets)

    def unfused() -> int:
        adapter = SensorAdapter(size)
        binner = StreamingBinner(WINDOW_US, (128, 128), downsample=4)
        for packet in packets:
            binner.push(adapter(packet))
        return len(binner.flush())

    def fused() -> int:
        binner = StreamingBinner(WINDOW_US, (128, 128), downsample=4)
        adapting = AdaptingBinner(SensorAdapter(size), binner)
        for packet in packets:
            adapting.push(packet)
        return len(binner.flush())

    (t_unfused, _), (t_fused, _) = interleaved_medians([unfused, fused], repeats)
    print(
        f"{path.name}: adapt+bin alone, ns per event (CPU): adapter then binner "
        f"{t_unfused / n * 1e9:.1f}, fused {t_fused / n * 1e9:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--adapt-bin-alone", action="store_true", help="only time adapt+bin of the IMX636 file"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.adapt_bin_alone:
        adapt_bin_alone(REAL / "prophesee/imx636_evk4_evt3.raw", args.repeats)
        return
    with tempfile.TemporaryDirectory() as tmp:
        source = open_source(REAL / "prophesee/imx636_evk4_evt3.raw")
        events = np.concatenate(list(source))
        write_dat(Path(tmp) / "imx636.dat", events)
        write_evt21(Path(tmp) / "imx636_evt21.raw", events)
        write_events_csv(Path(tmp) / "imx636_200k.csv", events[:200_000])
        files = [
            ("EVT 3.0 imx636_evk4.raw", REAL / "prophesee/imx636_evk4_evt3.raw", None),
            ("EVT 3.0 gen41_driving.raw", REAL / "prophesee/gen41_driving_evt3.raw", None),
            ("EVT 2.0 gen3_vga_plants.raw", REAL / "prophesee/gen3_vga_plants_evt2.raw", None),
            ("EVT 2.0 gen3_spinner.raw", REAL / "prophesee/gen3_spinner_evt2.raw", None),
            ("EVT 2.1 imx636 (made here)", Path(tmp) / "imx636_evt21.raw", None),
            ("DAT imx636 (made here)", Path(tmp) / "imx636.dat", "1280x720"),
            ("CSV imx636 200k (made here)", Path(tmp) / "imx636_200k.csv", "1280x720"),
        ]
        print("M/s = million events per CPU second (median); x = ours / eventcv bulk read")
        print(
            f"{'file':<32} {'events':>10} {'read':>6} {'read+bin':>9} {'+events':>8} "
            f"{'eventcv':>8} {'x read':>7} {'x read+bin':>10} {'x +events':>9}"
        )
        for label, path, size in files:
            runs = [
                lambda p=path, s=size: ours_read(p, s),
                lambda p=path, s=size: ours(p, s),
                lambda p=path, s=size: ours_with_events(p, s),
                lambda p=path, s=size: eventcv_bulk(p, s),
            ]
            medians = interleaved_medians(runs, args.repeats)
            (t_read, n), (t_bin, _), (t_events, _), (t_lib, n_lib) = medians
            row = (
                f"{label:<32} {n:>10,} {n / t_read / 1e6:>6.1f} {n / t_bin / 1e6:>9.1f} "
                f"{n / t_events / 1e6:>8.1f}"
            )
            if n_lib is None:
                print(f"{row} {'(none)':>8} {'-':>7} {'-':>10} {'-':>9}")
                continue
            note = "" if n_lib == n else f"  (eventcv read {n_lib:,} events: wrong)"
            print(
                f"{row} {n_lib / t_lib / 1e6:>8.1f} {t_lib / t_read:>7.2f} "
                f"{t_lib / t_bin:>10.2f} {t_lib / t_events:>9.2f}{note}"
            )


if __name__ == "__main__":
    main()
