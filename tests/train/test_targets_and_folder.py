"""No-gesture targets, the recordings-folder split, negatives and the augmented event dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asa_live.errors import InputFileError
from asa_live.events.aedat4 import write_aedat4
from asa_live.events.augment import AugmentConfig, Augmenter
from asa_live.events.binning import bin_events
from asa_live.events.dtype import make_events
from asa_live.events.ibm import LABEL_DTYPE, write_labels_csv
from asa_live.train.data import (
    DataConfig,
    EventRecording,
    EventStreamDataset,
    StreamDataset,
    load_folder,
    load_negatives,
    stream_targets,
    to_sequence,
)
from asa_live.train.data.folder import split_takes
from asa_live.train.data.sequences import SEGMENT_DTYPE

W_US = 15_000


def _noise(t0: int, t1: int, rate_hz: float, seed: int, x_range=(0, 128)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int((t1 - t0) * 1e-6 * rate_hz)
    t = np.sort(rng.integers(t0, t1, n))
    return make_events(t, rng.integers(*x_range, n), rng.integers(0, 128, n), rng.integers(0, 2, n))


def _recording(spans, seed=0, name="rec", length_us=6_000_000) -> EventRecording:
    """Background noise everywhere, dense events on the left (class 0) or right half inside
    each labelled span."""
    parts = [_noise(0, length_us, 2000, seed)]
    for c, a, b in spans:
        parts.append(_noise(a, b, 40_000, seed + a, (0, 64) if c == 0 else (64, 128)))
    ev = np.concatenate(parts)
    ev = ev[np.argsort(ev["t"], kind="stable")]
    return EventRecording(name, ev, np.array(spans, dtype=LABEL_DTYPE))


def test_targets_background_grace_and_no_background():
    labels = np.full(30, -1, dtype=np.int64)
    labels[10:15] = 2
    segments = np.array([(2, 10, 15)], dtype=SEGMENT_DTYPE)
    plain = stream_targets(labels, segments, background=None, grace=3)
    assert (plain == labels).all()
    out = stream_targets(labels, segments, background=4, grace=3)
    assert (out[10:15] == 2).all()
    assert (out[7:10] == -1).all() and (out[15:18] == -1).all()
    assert (out[:7] == 4).all() and (out[18:] == 4).all()
    # grace 0: the window just outside a label is still no loss (it is cut by the label edge)
    out0 = stream_targets(labels, segments, background=4, grace=0)
    assert out0[9] == -1 and out0[15] == -1 and out0[8] == 4 and out0[16] == 4


def test_grace_never_hides_a_neighbouring_gesture():
    labels = np.full(20, -1, dtype=np.int64)
    labels[2:8], labels[9:15] = 0, 1
    segs = np.array([(0, 2, 8), (1, 9, 15)], dtype=SEGMENT_DTYPE)
    out = stream_targets(labels, segs, background=2, grace=5)
    assert (out[2:8] == 0).all() and (out[9:15] == 1).all() and out[8] == -1


def test_split_takes_holds_out_per_class_and_cuts_them_out():
    spans = [(0, 500_000, 1_000_000), (1, 1_500_000, 2_000_000), (0, 2_500_000, 3_000_000),
             (1, 3_500_000, 4_000_000), (0, 4_500_000, 5_000_000)]  # fmt: skip
    rec = _recording(spans)
    single = _recording([(2, 500_000, 1_000_000)], seed=3, name="one")
    train, val, singles = split_takes([rec, single], 3, 0.2, seed=0)
    assert singles == [2]
    assert sorted(int(v.labels["class_id"][0]) for v in val) == [0, 1]  # one take of each
    assert all(len(v.labels) == 1 for v in val)
    held = [(int(v.labels["start_us"][0]), int(v.labels["end_us"][0])) for v in val]
    for piece in train:  # no training piece of that recording sees a held-out take's events
        if not piece.name.startswith("rec@"):
            continue
        for a, b in held:
            inside = (piece.events["t"] >= a) & (piece.events["t"] < b)
            assert not inside.any()
    assert sum(len(p.labels) for p in train) == 4  # 3 of rec + the single take


def test_stream_dataset_negatives_are_all_background():
    cfg = DataConfig(window_us=W_US)
    seq = to_sequence(_recording([(0, 1_000_000, 2_000_000)]), cfg)
    neg = to_sequence(
        EventRecording("neg", _noise(0, 3_000_000, 3000, 9), np.zeros(0, LABEL_DTYPE), True), cfg
    )
    ds = StreamDataset([seq], 40, background=2, grace=2, negatives=[neg], negative_fraction=0.5,
                       samples_per_epoch=40, seed=1)  # fmt: skip
    kinds = set()
    for i in range(len(ds)):
        _, y = ds[i]
        y = y.numpy()
        if (y[y >= 0] == 2).all() and (y >= 0).all():
            kinds.add("negative")
        if (y == 0).any():
            kinds.add("gesture")
    assert kinds == {"negative", "gesture"}


def _event_ds(recs, **kw):
    return EventStreamDataset(recs, 60, DataConfig(window_us=W_US), seed=5, **kw)


def test_event_dataset_without_augmentation_bins_like_the_live_binner():
    rec = _recording([(0, 1_000_000, 2_000_000)])
    ds = _event_ds([rec], background=2, grace=3, samples_per_epoch=4)
    for i in range(4):
        x, y = ds[i]
        # find the run's start from the targets: reproduce its frames with bin_events
        rng = np.random.default_rng([5, 0, i])
        _, a = ds._pick(rng)
        part = rec.events[(rec.events["t"] >= a) & (rec.events["t"] < a + 60 * W_US)]
        ref = bin_events(part, W_US, (128, 128), downsample=4, t0_us=a)
        torch.testing.assert_close(x[: ref.shape[0]], torch.from_numpy(ref.astype(np.float32)))
        assert set(np.unique(y.numpy())) <= {-1, 0, 2} and (y.numpy() == 0).any()


def test_event_dataset_is_seeded_by_epoch_and_index():
    rec = _recording([(0, 1_000_000, 2_000_000), (1, 3_000_000, 4_000_000)])
    aug = Augmenter(AugmentConfig(), (128, 128), ["swipe_left", "swipe_right"])
    ds = _event_ds([rec], augmenter=aug, background=2, samples_per_epoch=3)
    a = [ds[i] for i in range(3)]
    b = [ds[i] for i in range(3)]
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
    ds.set_epoch(1)
    assert not all(torch.equal(ds[i][0], a[i][0]) for i in range(3))


def test_event_dataset_mirror_swaps_the_classes():
    rec = _recording([(0, 1_000_000, 2_500_000)])
    mirror = AugmentConfig(**{**AugmentConfig.off().__dict__, "p_mirror": 1.0})
    aug = Augmenter(mirror, (128, 128), ["swipe_left", "swipe_right"])
    plain = _event_ds([rec], background=2, samples_per_epoch=4)
    flipped = _event_ds([rec], augmenter=aug, background=2, samples_per_epoch=4)
    for i in range(4):
        (x0, y0), (x1, y1) = plain[i], flipped[i]
        assert torch.equal(y1[y0 == 0], torch.ones_like(y0[y0 == 0]))  # class 0 -> class 1
        assert torch.equal(x1, x0.flip(-1))


def test_event_dataset_negative_fraction():
    rec = _recording([(0, 1_000_000, 2_000_000)])
    neg = EventRecording("neg", _noise(0, 3_000_000, 3000, 4), np.zeros(0, LABEL_DTYPE), True)
    ds = _event_ds(
        [rec], negatives=[neg], negative_fraction=0.5, background=2, samples_per_epoch=60
    )
    negative = sum(int(((ds[i][1] == 2) | (ds[i][1] == -1)).all()) for i in range(60))
    assert 15 <= negative <= 45


def _write_folder(root, names, recs):
    root.mkdir(parents=True, exist_ok=True)
    (root / "classes.txt").write_text("\n".join(names) + "\n")
    for rec in recs:
        write_aedat4(root / f"{rec.name}.aedat4", rec.events, (128, 128))
        write_labels_csv(root / f"{rec.name}_labels.csv", rec.labels, num_classes=len(names))


def test_load_folder_names_split_and_bad_labels(tmp_path):
    spans = [(0, 500_000, 1_200_000), (1, 1_800_000, 2_500_000), (0, 3_000_000, 3_700_000),
             (1, 4_200_000, 4_900_000)]  # fmt: skip
    root = tmp_path / "f"
    _write_folder(root, ["swipe_left", "swipe_right"], [_recording(spans, name="a_001")])
    data = load_folder(DataConfig(data="folder", data_root=str(root)))
    assert data.class_names == ["swipe_left", "swipe_right"]
    assert len(data.val) == 2 and sum(len(r.labels) for r in data.train) == 2
    # trial lists are respected
    _write_folder(root, ["swipe_left", "swipe_right"], [_recording(spans, seed=2, name="b_001")])
    (root / "trials_to_train.txt").write_text("a_001.aedat4\n")
    (root / "trials_to_test.txt").write_text("b_001.aedat4\n")
    data = load_folder(DataConfig(data="folder", data_root=str(root)))
    assert [r.name for r in data.train] == ["a_001.aedat4"] and [r.name for r in data.val] == [
        "b_001.aedat4"
    ]
    # a label far past the recording's end
    bad = tmp_path / "bad"
    rec = _recording(spans, name="c_001")
    rec.labels = np.concatenate([rec.labels, np.array([(0, 9_000_000, 9_500_000)], LABEL_DTYPE)])
    _write_folder(bad, ["swipe_left", "swipe_right"], [rec])
    with pytest.raises(InputFileError, match="outside the recording"):
        load_folder(DataConfig(data="folder", data_root=str(bad)))


def test_load_negatives(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        load_negatives(tmp_path / "nope", DataConfig())
    with pytest.raises(InputFileError, match="holds no"):
        load_negatives(tmp_path, DataConfig())
    write_aedat4(tmp_path / "idle.aedat4", _noise(0, 1_000_000, 3000, 1), (128, 128))
    (tmp_path / "idle_labels.csv").write_text("class,startTime_usec,endTime_usec\n1,0,10\n")
    negs = load_negatives(tmp_path, DataConfig())
    assert len(negs) == 1 and negs[0].negative and len(negs[0].labels) == 0


def test_streaming_accuracy_with_no_gesture_windows():
    """A "no gesture" window is right when the decision abstains; grace windows are not scored."""
    from asa_live.train.data.sequences import LabelledSequence
    from asa_live.train.evaluation import _all_window_hits

    labels = np.full(100, -1, dtype=np.int64)
    labels[40:60] = 1
    seq = LabelledSequence("s", np.zeros((100, 2, 4, 4), np.uint16), labels,
                           np.array([(1, 40, 60)], SEGMENT_DTYPE), 0, W_US)  # fmt: skip
    pred = np.full(100, -1)
    pred[40:60] = 1
    hits = _all_window_hits(pred, seq, W_US)
    assert hits.all() and hits.size == 100 - 2 * 20  # 300 ms = 20 windows each side
    pred[0:10] = 0  # false alarms in the idle part
    pred[45] = -1  # a missed gesture window
    assert _all_window_hits(pred, seq, W_US).sum() == hits.size - 11
