"""The picture of synthetic swipe takes in docs/teach.md: where the motion is inside a label.

    .venv/bin/python docs/tools/teach_swipe_takes.py [OUT_PNG] [SEED] [TAKE_MS]

One synthetic user (generator seed, default 510000: a validation user of docs/teach.md, not a
test user) performs the 4 swipes, each labelled ``TAKE_MS`` (default 1500, the old benchmark
take). Each row is one take, each column the events of 100 ms (red ON, blue OFF) from 100 ms
before the label; a red title is a bin outside the label. With 1500 ms takes the hand is back
at rest from about 0.8 s on, while the label goes on.
"""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")  # a file, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from asa_live.classes import SWIPE_CLASSES  # noqa: E402
from asa_live.synth import SYNTH_CLASSES, generate_recording  # noqa: E402

BIN_US = 100_000


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else "docs/img/teach_swipe_takes.png"
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 510_000
    take_us = (int(sys.argv[3]) if len(sys.argv) > 3 else 1500) * 1000
    ids = [SYNTH_CLASSES.index(n) for n in SWIPE_CLASSES]
    events, labels = generate_recording(ids, seed, gesture_duration_us=take_us, gap_us=900_000)
    cols = take_us // BIN_US + 2
    fig, axes = plt.subplots(4, cols, figsize=(cols * 1.0, 4 * 1.15))
    for r, row in enumerate(labels):
        start = int(row["start_us"]) - BIN_US
        for c in range(cols):
            a, b = start + c * BIN_US, start + (c + 1) * BIN_US
            e = events[(events["t"] >= a) & (events["t"] < b)]
            img = np.zeros((128, 128, 3))
            on = e["p"] == 1
            np.add.at(img[:, :, 0], (e["y"][on], e["x"][on]), 1)
            np.add.at(img[:, :, 2], (e["y"][~on], e["x"][~on]), 1)
            ax = axes[r, c]
            ax.imshow(np.clip(img / 3, 0, 1))
            ax.set_xticks([])
            ax.set_yticks([])
            inside = row["start_us"] <= a and b <= row["end_us"]
            ax.set_title(f"{(a - int(row['start_us'])) // 1000} ms", fontsize=6,
                         color="k" if inside else "r")  # fmt: skip
            if c == 0:
                ax.set_ylabel(SWIPE_CLASSES[r], fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=70)
    print(out)


if __name__ == "__main__":
    main()
