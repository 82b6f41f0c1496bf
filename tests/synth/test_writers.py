"""Dataset writers read back through the project's own readers, byte-identically per seed."""

from __future__ import annotations

import filecmp

import numpy as np
import pytest

from asa_live.classes import NUM_GESTURE_CLASSES
from asa_live.errors import ConfigError
from asa_live.events.ibm import read_aedat31, read_aedat31_header, read_labels_csv, read_trial_list
from asa_live.events.tonic_npy import iter_tonic_npy
from asa_live.synth import (
    LIGHTING_TAGS,
    TEST_SEEDS,
    TRAIN_SEEDS,
    write_ibm_dataset,
    write_tonic_dataset,
)
from asa_live.synth.dataset import ibm_trial_recording, plan_tonic_samples, plan_trials

IBM_KW = {
    "n_users": 2,
    "trials_per_user": 1,
    "gesture_duration_us": (120_000, 160_000),
    "gap_us": (40_000, 80_000),
}
TONIC_KW = {"n_users": 2, "trials_per_user": 1, "sample_duration_us": (100_000, 150_000)}


@pytest.fixture(scope="module")
def ibm_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("ibm")
    write_ibm_dataset(root, **IBM_KW)
    return root


def test_ibm_layout_reads_back_identically(ibm_root):
    folder = ibm_root / "DvsGesture"
    train = read_trial_list(folder / "trials_to_train.txt")
    test = read_trial_list(folder / "trials_to_test.txt")
    assert len(train) == 1 and len(test) == 1
    trials = plan_trials(1, 1, 1, seed=0)
    assert [t.name + ".aedat" for t in trials] == train + test
    for trial in trials:
        assert trial.lighting in LIGHTING_TAGS
        assert trial.seed in (TRAIN_SEEDS if trial.split == "train" else TEST_SEEDS)
        events, labels = ibm_trial_recording(trial, IBM_KW["gesture_duration_us"], IBM_KW["gap_us"])
        back = read_aedat31(folder / f"{trial.name}.aedat")
        assert back.tobytes() == events.tobytes()
        assert "DVS128" in read_aedat31_header(folder / f"{trial.name}.aedat").source
        back_labels = read_labels_csv(folder / f"{trial.name}_labels.csv")
        np.testing.assert_array_equal(back_labels, labels)
        # All 11 classes, arm roll (7) twice, as in the real CSVs; starts increase.
        assert sorted(set(back_labels["class_id"].tolist())) == list(range(NUM_GESTURE_CLASSES))
        assert (back_labels["class_id"] == 7).sum() == 2
        assert np.all(np.diff(back_labels["start_us"]) > 0)
        with open(folder / f"{trial.name}_labels.csv") as f:
            assert f.readline().strip() == "class,startTime_usec,endTime_usec"


def test_ibm_dataset_is_byte_identical_for_a_seed(ibm_root, tmp_path):
    write_ibm_dataset(tmp_path, **IBM_KW)
    cmp = filecmp.dircmp(ibm_root / "DvsGesture", tmp_path / "DvsGesture")
    assert not cmp.left_only and not cmp.right_only
    _, mismatch, errors = filecmp.cmpfiles(
        ibm_root / "DvsGesture", tmp_path / "DvsGesture", cmp.common_files, shallow=False
    )
    assert not mismatch and not errors


def test_tonic_layout_loads_with_numpy_and_our_reader(tmp_path):
    base = write_tonic_dataset(tmp_path, **TONIC_KW)
    samples = plan_tonic_samples(1, 1, 1, 0, TONIC_KW["sample_duration_us"])
    assert len(samples) == 2 * NUM_GESTURE_CLASSES
    assert (base / "ibmGestureTrain.tar.gz").exists() and (base / "ibmGestureTest.tar.gz").exists()
    files = sorted(base.glob("ibmGesture*/user*/*.npy"))
    assert len(files) == len(samples)
    for sample in samples[:: NUM_GESTURE_CLASSES // 2]:
        path = base / sample.relpath
        array = np.load(path)
        assert array.ndim == 2 and array.shape[1] == 4
        x, y, p, t_ms = array.T
        assert x.max() < 128 and y.max() < 128 and set(np.unique(p)) <= {0.0, 1.0}
        assert np.all(np.diff(t_ms) >= 0) and t_ms.max() < sample.duration_us / 1000
        events = sample.events()
        back = np.concatenate(list(iter_tonic_npy(path)))
        assert back.tobytes() == events.tobytes()
        assert int(path.stem) == sample.class_id


def test_tonic_workers_give_the_same_files(tmp_path):
    kw = {"n_users": 1, "trials_per_user": 1, "sample_duration_us": (100_000, 100_000)}
    one = write_tonic_dataset(tmp_path / "one", workers=1, **kw)
    two = write_tonic_dataset(tmp_path / "two", workers=2, **kw)
    for f in sorted(one.glob("ibmGestureTrain/*/*.npy")):
        assert f.read_bytes() == (two / f.relative_to(one)).read_bytes()


def test_writer_arguments_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="n_users"):
        write_ibm_dataset(tmp_path, n_users=0)
    with pytest.raises(ConfigError, match="trials_per_user"):
        write_ibm_dataset(tmp_path, n_users=2, trials_per_user=9)
    with pytest.raises(ConfigError, match="n_test_users"):
        write_tonic_dataset(tmp_path, n_users=2, n_test_users=3)
    with pytest.raises(ConfigError, match="n_test_users"):
        write_ibm_dataset(tmp_path, n_users=2, n_test_users=-1)
    with pytest.raises(ConfigError, match="n_users"):
        write_tonic_dataset(tmp_path, n_users=0)
    with pytest.raises(ConfigError, match="gesture_duration_us"):
        write_ibm_dataset(tmp_path, n_users=1, gesture_duration_us=(5, 1))
    with pytest.raises(ConfigError, match="seed range"):
        plan_trials(2, 0, 1, seed=TRAIN_SEEDS.stop - 1)


def test_trial_gesture_multiset_matches_a_real_dvs128_gesture_trial(shared_real):
    """A real trial (user01_natural) labels classes 1..11 with arm roll twice; ours too."""
    real = read_labels_csv(shared_real / "dvsgesture" / "user01_natural_labels.csv")
    trial = plan_trials(1, 0, 1, seed=3)[0]
    _, ours = ibm_trial_recording(trial, (100_000, 100_000), (20_000, 20_000))
    assert sorted(ours["class_id"].tolist()) == sorted(real["class_id"].tolist())


def test_tonic_itself_reads_the_tonic_layout(tmp_path):
    """tonic's own DVSGesture loads the folder offline (>= 100 .npy per split needed)."""
    tonic = pytest.importorskip("tonic", reason="tonic is the optional 'tonic' extra")
    kw = {
        "n_users": 4,
        "n_test_users": 2,
        "trials_per_user": 5,
        "sample_duration_us": (100_000, 100_000),
    }
    write_tonic_dataset(tmp_path, workers=2, **kw)
    samples = {s.relpath: s for s in plan_tonic_samples(2, 2, 5, 0, (100_000, 100_000))}
    for train, folder in ((True, "ibmGestureTrain"), (False, "ibmGestureTest")):
        ds = tonic.datasets.DVSGesture(save_to=str(tmp_path), train=train)
        assert len(ds) == 110
        events, target = ds[3]
        rel = folder + "/" + ds.data[3].split(folder + "/")[1]
        expected = samples[rel].events()
        assert target == samples[rel].class_id
        np.testing.assert_array_equal(events["x"], expected["x"])
        # tonic casts t_ms * 1000 to int64 by truncation: a float rounding can cost 1 us.
        assert np.abs(events["t"].astype(np.int64) - expected["t"]).max() <= 1
