"""Few-shot fine-tuning ("teach"): accuracy against takes per class, and its cost.

Part 1 (new classes): the 4 hand swipes (asa_live.classes.SWIPE_CLASSES), synthetic, each take
labelled over one swipe (``--swipe-ms``, default :data:`SWIPE_TAKE_MS`), idle gaps of 900 ms.
For each number of takes per class (1, 3, 5, 10), ``asa-live-train --recipe finetune --init
<base>`` runs on a recordings folder without trial lists (fine-tuning holds out a fifth of each
class's takes for validation and calibrates its "no gesture" decision on them), then
``last.safetensors`` is scored on a test folder that fine-tuning never reads, with the
streaming protocol: per-window accuracy after onset (300 ms grace), the checkpoint's readout and
decision (a "no gesture" window inside a gesture counts as wrong). Two protocols
(``--protocol``, default both):

* per-user (the teach use case: a user teaches the model and uses it): each user (seeds
  ``--user-seed``.., default the test users 390000..; validation users 510000..) is ONE
  synthetic session - one body, clothes, wall and camera - of ``takes + 3`` rounds, each round
  every swipe once in a shuffled order, cut in the gap after round ``takes``: the first part
  (``takes`` takes per class) is the fine-tuning folder, the last 3 rounds the test folder,
  each file on its own clock. One fine-tune per user; the windows are pooled over the users.
  The same model is also scored on the test part with ON and OFF swapped (robustness condition
  polarity_inverted: the user in clothes of the opposite contrast).
* cross-user (harder: new users): the fine-tuning folder holds training users 300000.. (one
  recording of every swipe once per take set), the score is on other users 390000...

Each row prints the confusion matrix of the windows after onset (rows: true class; columns:
predicted class, then "none").

Part 2 (a shifted domain): the 11 DVS128-Gesture classes under a robustness condition
(asa_live.events.robustness, default scale_0.7), which the base model handles poorly: the base
model, then the same after fine-tuning on 5 takes per class recorded under that condition.

Fine-tuning time is wall-clock and CPU time of the process (the build machine is shared: wall
time depends on the load; the CPU seconds do not; per user in the per-user protocol). Target:
5 takes of 4 classes in <= 5 min on the 2-core CPU. Recipe options go through ``--extra``.

    .venv/bin/python benchmarks/bench_teach.py          # everything: 17 fine-tunings of ~100 CPU-s
    .venv/bin/python benchmarks/bench_teach.py --protocol per-user --skip-domain
    .venv/bin/python benchmarks/bench_teach.py --protocol per-user --skip-domain --takes 5 \
        --user-seed 510000 --test-users 4 --extra "--augment-invert-polarity 0"   # validation
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from asa_live.classes import GESTURE_CLASSES, SWIPE_CLASSES
from asa_live.events.aedat4 import write_aedat4
from asa_live.events.ibm import write_labels_csv
from asa_live.events.robustness import ROBUSTNESS_CONDITIONS
from asa_live.model.checkpoint import load_checkpoint
from asa_live.synth import SYNTH_CLASSES, generate_recording
from asa_live.synth.swipes import DROP_S, RAISE_S, STROKE_S
from asa_live.train.cli import main as train_main
from asa_live.train.data import DataConfig, load_folder, to_sequence
from asa_live.train.evaluation import run_sequences, streaming_protocol

# The recipe's measured start (docs/teach.md): its "no gesture" output is passed on.
BASE = "models/gesture-3layer-asa-nogesture.safetensors"
TRAIN_SEED, TEST_SEED = 300_000, 390_000
#: Validation users of the per-user protocol (recipe choices), never the test users.
VAL_SEED = 510_000
#: Per-user protocol: rounds (every class once) after the training takes, scored.
TEST_ROUNDS = 3
GAP_US = 900_000
#: One synthetic swipe (asa_live/synth/swipes.py): raise, stroke at the slowest speed (0.8),
#: drop = 0.875 s, rounded up to 900 ms. The generator repeats the cycle after a rest of
#: 0.3-0.7 s, so a longer take ends in a still hand that is labelled as the swipe: at 1500 ms
#: the last 0.6-0.7 s of the 1.2 s scored after onset (docs/teach.md, "What to expect").
SWIPE_TAKE_MS = int(np.ceil((RAISE_S + STROKE_S / 0.8 + DROP_S) * 10.0)) * 100
#: The 11 DVS128-Gesture classes repeat their motion for as long as they are labelled.
GESTURE_TAKE_MS = 2000


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _session(names, seed, condition, gesture_ms, randomize):
    """One recording of every class once (shuffled), labels renumbered to ``names``."""
    order = list(range(len(names)))
    np.random.default_rng(seed).shuffle(order)
    ids = [SYNTH_CLASSES.index(names[i]) for i in order]
    events, labels = generate_recording(
        ids, seed, gesture_duration_us=gesture_ms * 1000, gap_us=GAP_US, randomize=randomize
    )
    labels["class_id"] = np.array(order)
    if condition is not None:
        events, labels = ROBUSTNESS_CONDITIONS[condition](events, labels, seed)
    return events, labels


def _write_recording(root: Path, names, stem: str, events, labels) -> str:
    root.mkdir(parents=True, exist_ok=True)
    (root / "classes.txt").write_text("\n".join(names) + "\n")
    write_aedat4(root / f"{stem}.aedat4", events, (128, 128))
    write_labels_csv(root / f"{stem}_labels.csv", labels, num_classes=len(names))
    return f"{stem}.aedat4"


def _write_lists(root: Path, entries) -> None:
    """A test folder: load_folder(...).val is every recording in it."""
    for fname in ("trials_to_train.txt", "trials_to_test.txt"):
        (root / fname).write_text("\n".join(entries) + "\n")


def _write_folder(root: Path, names, seeds, condition, gesture_ms, randomize, lists: bool) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "classes.txt").write_text("\n".join(names) + "\n")
    entries = []
    for seed in seeds:
        events, labels = _session(names, seed, condition, gesture_ms, randomize)
        entries.append(_write_recording(root, names, f"user{seed}", events, labels))
    if lists:
        _write_lists(root, entries)
    return root


def make_folder(root: Path, names, takes, tests, condition=None, gesture_ms=SWIPE_TAKE_MS,
                randomize=0):  # fmt: skip
    """(the user's recordings folder: ``takes`` sessions, no trial lists, so fine-tuning holds
    out takes of its own for validation and calibration; a separate folder of ``tests``
    sessions of other users, never seen by fine-tuning, for the score)."""
    train = _write_folder(root, names, [TRAIN_SEED + i for i in range(takes)], condition,
                          gesture_ms, randomize, lists=False)  # fmt: skip
    test = _write_folder(root.with_name(root.name + "-test"), names,
                         [TEST_SEED + i for i in range(tests)], condition, gesture_ms, randomize,
                         lists=True)  # fmt: skip
    return train, test


def user_session(names, seed, takes, gesture_ms=SWIPE_TAKE_MS, test_rounds=TEST_ROUNDS,
                 gap_us=GAP_US):  # fmt: skip
    """One user's session (one generate_recording call: one body, clothes, wall and camera):
    ``takes + test_rounds`` rounds, each holding every class once in a shuffled order.

    Returns ``(events, labels, cut_us)``: labels renumbered to ``names``; ``cut_us`` lies in the
    middle of the gap after round ``takes``, so the takes before it are the training part.
    """
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(names)) for _ in range(takes + test_rounds)])
    ids = [SYNTH_CLASSES.index(names[i]) for i in order]
    events, labels = generate_recording(
        ids, seed, gesture_duration_us=gesture_ms * 1000, gap_us=gap_us, randomize=0
    )
    labels["class_id"] = order
    n = takes * len(names)
    cut_us = (int(labels["end_us"][n - 1]) + int(labels["start_us"][n])) // 2
    return events, labels, cut_us


def split_session(events, labels, cut_us: int):
    """(events, labels) before ``cut_us`` and after it, the second re-timed from 0."""
    head = events["t"] < cut_us
    late = labels["start_us"] >= cut_us
    tail_events, tail_labels = events[~head].copy(), labels[late].copy()
    tail_events["t"] -= cut_us
    tail_labels["start_us"] -= cut_us
    tail_labels["end_us"] -= cut_us
    return (events[head], labels[~late]), (tail_events, tail_labels)


def make_user_folders(root: Path, names, seed, takes, gesture_ms=SWIPE_TAKE_MS, **session):
    """(training folder: the first ``takes`` rounds, no trial lists; test folder: the last
    rounds; the same test part with ON and OFF swapped) of one user's session."""
    events, labels, cut_us = user_session(names, seed, takes, gesture_ms, **session)
    (train_ev, train_lab), (test_ev, test_lab) = split_session(events, labels, cut_us)
    train = root / "train"
    _write_recording(train, names, f"user{seed}_train", train_ev, train_lab)
    folders = [train]
    inverted = ROBUSTNESS_CONDITIONS["polarity_inverted"](test_ev, test_lab, seed)
    for sub, (ev, lab) in (("test", (test_ev, test_lab)), ("test-inverted", inverted)):
        _write_lists(root / sub, [_write_recording(root / sub, names, f"user{seed}_test", ev, lab)])
        folders.append(root / sub)
    return tuple(folders)


def _pooled(tables) -> tuple[list[list[int]], float]:
    table = np.sum(np.asarray(tables, dtype=np.int64), axis=0)
    return table.tolist(), float(np.trace(table[:, : table.shape[0]]) / max(table.sum(), 1))


def per_user(tmp: Path, names, takes, seeds, extra, base, gesture_ms) -> dict:
    """Fine-tune one model per user on that user's first takes, score it on the same user's
    last rounds (and on them with inverted polarity); windows pooled over the users."""
    users, cost = [], {"wall_s": 0.0, "cpu_s": 0.0}
    for seed in seeds:
        root = tmp / f"user{seed}-takes{takes}"
        train, test, inverted = make_user_folders(root, names, seed, takes, gesture_ms)
        for key, value in finetune(train, root / "run", extra, base).items():
            cost[key] += value / len(seeds)
        model = root / "run" / "last.safetensors"
        users.append({"seed": seed, **score(model, test), "inverted": score(model, inverted)})
        print(json.dumps({"seed": seed, "takes": takes,
                          "acc": users[-1]["window_acc_after_onset"],
                          "inverted_acc": users[-1]["inverted"]["window_acc_after_onset"]}),
              flush=True)  # fmt: skip
    table, acc = _pooled([u["confusion_after_onset"] for u in users])
    table_inv, acc_inv = _pooled([u["inverted"]["confusion_after_onset"] for u in users])
    return {
        "part": "swipes per user", "takes": takes, **cost, "window_acc_after_onset": acc,
        "idle_no_gesture": float(np.mean([u["idle_no_gesture"] for u in users])),
        "classes": users[0]["classes"], "confusion_after_onset": table,
        "per_user_acc": [u["window_acc_after_onset"] for u in users],
        "inverted_acc": acc_inv, "confusion_inverted": table_inv,
    }  # fmt: skip


def confusion(ckpt, seqs, runs, grace_ms: float = 300.0) -> list[list[int]]:
    """Windows after the onset grace: ``[true class][predicted class, then "none"]``."""
    classes = len(ckpt.class_names)
    table = np.zeros((classes, classes + 1), dtype=np.int64)
    for seq, run in zip(seqs, runs, strict=True):
        scores = ckpt.readout.stream_scores(run)
        pred = ckpt.readout.decide(scores).class_id
        skip = int(np.ceil(grace_ms * 1000.0 / seq.window_us))
        for row in seq.segments:
            c, s, e = int(row["class_id"]), int(row["start"]), int(row["end"])
            p = pred[s + skip : e]
            np.add.at(table[c], np.where(p >= 0, p, classes), 1)
    return table.tolist()


def score(model_path, folder) -> dict:
    """Streaming protocol on a test folder's sessions (per-window accuracy after onset)."""
    ckpt = load_checkpoint(model_path)
    cfg = DataConfig.from_binning(ckpt.binning, data="folder", data_root=str(folder))
    seqs = [to_sequence(r, cfg) for r in load_folder(cfg).val]
    runs = run_sequences(ckpt.model, seqs)
    res = streaming_protocol(ckpt.model, seqs, readout=ckpt.readout, runs=runs)
    return {
        "window_acc_after_onset": res["window_accuracy_after_grace"],
        "window_acc": res["window_accuracy"],
        "idle_no_gesture": res["no_gesture"]["idle_gap_no_gesture_fraction"],
        "onset_latency_ms_median": res["onset_latency_ms"]["median"],
        "classes": list(ckpt.class_names),
        "confusion_after_onset": confusion(ckpt, seqs, runs),
    }


def print_confusion(row: dict) -> None:
    names = row["classes"]
    print(f"  {row['part']}, {row.get('takes', '-')} takes: true \\ predicted "
          f"({', '.join(names)}, none)")  # fmt: skip
    for name, counts in zip(names, row["confusion_after_onset"], strict=True):
        print(f"    {name:>24s} " + " ".join(f"{v:5d}" for v in counts))


def finetune(folder, out, extra, base) -> dict:
    t0, c0 = time.perf_counter(), _cpu_s()
    code = train_main(["--recipe", "finetune", "--init", base, "--data-root", str(folder),
                       "--out-dir", str(out), "--no-tensorboard", "--no-progress",
                       "--eval-every", "1000", *extra])  # fmt: skip
    if code != 0:
        raise SystemExit(f"fine-tuning failed with exit code {code}")
    return {"wall_s": time.perf_counter() - t0, "cpu_s": _cpu_s() - c0}


def base_on_11(base, folder) -> dict:
    """The base model (11 classes, its own readout) on a test folder of the 11 classes."""
    return score(base, folder)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--takes", default="1,3,5,10", help="takes per class to try")
    p.add_argument("--test-users", type=int, default=3)
    p.add_argument(
        "--protocol", default="both", choices=["per-user", "cross-user", "both"],
        help="swipes: per user (fine-tune and score on one user's session), across users "
        "(fine-tune on training users, score on others), or both (default)",
    )  # fmt: skip
    p.add_argument(
        "--user-seed", type=int, default=TEST_SEED,
        help=f"per-user protocol: the first user's seed (test users {TEST_SEED}.., "
        f"validation users {VAL_SEED}..; default %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--swipe-ms", type=int, default=SWIPE_TAKE_MS,
        help="labelled length of a swipe take (default: one swipe, %(default)s)",
    )  # fmt: skip
    p.add_argument("--condition", default="scale_0.7", choices=list(ROBUSTNESS_CONDITIONS))
    p.add_argument("--skip-domain", action="store_true")
    p.add_argument("--skip-swipes", action="store_true")
    p.add_argument("--json", default=None)
    p.add_argument("--extra", default="", help="more asa-live-train options, space separated")
    p.add_argument(
        "--base", default=BASE, help="the checkpoint to fine-tune (default: %(default)s)"
    )
    args = p.parse_args()
    torch.set_num_threads(1)
    extra = args.extra.split()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        swipes = list(SWIPE_CLASSES)
        users = [args.user_seed + i for i in range(args.test_users)]
        for takes in [] if args.skip_swipes else [int(v) for v in args.takes.split(",")]:
            if args.protocol != "cross-user":
                rows.append(per_user(tmp, swipes, takes, users, extra, args.base, args.swipe_ms))
                print(json.dumps({k: v for k, v in rows[-1].items() if "confusion" not in k}),
                      flush=True)  # fmt: skip
            if args.protocol != "per-user":
                folder, test = make_folder(tmp / f"sw{takes}", list(SWIPE_CLASSES), takes,
                                           args.test_users, gesture_ms=args.swipe_ms)  # fmt: skip
                cost = finetune(folder, tmp / f"run{takes}", extra, args.base)
                row = {"part": "swipes across users", "takes": takes, **cost,
                       **score(tmp / f"run{takes}" / "last.safetensors", test)}  # fmt: skip
                rows.append(row)
                print(json.dumps({k: v for k, v in row.items() if k != "confusion_after_onset"}),
                      flush=True)  # fmt: skip
        if not args.skip_domain:
            folder, test = make_folder(tmp / "dom", list(GESTURE_CLASSES), 5, args.test_users,
                                       condition=args.condition, gesture_ms=GESTURE_TAKE_MS)  # fmt: skip
            _, clean = make_folder(tmp / "clean", list(GESTURE_CLASSES), 0, args.test_users,
                                   gesture_ms=GESTURE_TAKE_MS)  # fmt: skip
            rows.append({"part": "base clean", **base_on_11(args.base, clean)})
            rows.append({"part": f"base {args.condition}", **base_on_11(args.base, test)})
            cost = finetune(folder, tmp / "rundom", extra, args.base)
            rows.append({"part": f"finetuned {args.condition} (5 takes)", "takes": 5, **cost,
                         **score(tmp / "rundom" / "last.safetensors", test)})  # fmt: skip
            for row in rows[-3:]:
                print(json.dumps({k: v for k, v in row.items() if k != "confusion_after_onset"}),
                      flush=True)  # fmt: skip
    print(
        "\n| part | takes/class | window acc. after onset | idle -> no gesture | fine-tune wall / CPU s |"
    )
    print("|---|---|---|---|---|")
    for r in rows:
        cost = f"{r['wall_s']:.0f} / {r['cpu_s']:.0f}" if "wall_s" in r else "-"
        idle = "-" if r.get("idle_no_gesture") is None else f"{100 * r['idle_no_gesture']:.0f} %"
        inv = f" ({100 * r['inverted_acc']:.1f} % inverted)" if "inverted_acc" in r else ""
        print(f"| {r['part']} | {r.get('takes', '-')} | {100 * r['window_acc_after_onset']:.1f} %"
              f"{inv} | {idle} | {cost} |")  # fmt: skip
    print("\nConfusion of the windows after onset:")
    for r in rows:
        print_confusion(r)
        if "confusion_inverted" in r:
            print_confusion({**r, "part": r["part"] + " (polarity inverted)",
                             "confusion_after_onset": r["confusion_inverted"]})  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
