"""asa-live-synth and the bundled demo recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asa_live.classes import NUM_GESTURE_CLASSES
from asa_live.events.aedat4 import aedat4_info, iter_aedat4
from asa_live.events.ibm import read_aedat31, read_labels_csv, read_trial_list
from asa_live.events.tonic_npy import iter_tonic_npy
from asa_live.synth import generate_recording, generate_sample
from asa_live.synth.cli import main, parse_classes

DEMO_RECORDING = Path(__file__).resolve().parents[2] / "recordings" / "demo.aedat4"
DEMO_LABELS = DEMO_RECORDING.with_name("demo_labels.csv")


def test_cli_sample_in_three_formats(tmp_path, capsys):
    expected = generate_sample(2, 5, duration_us=200_000)
    for suffix in (".aedat4", ".aedat", ".npy"):
        out = tmp_path / f"s{suffix}"
        assert (
            main(["sample", str(out), "--class", "2", "--seed", "5", "--duration-ms", "200"]) == 0
        )
        if suffix == ".aedat4":
            back = np.concatenate(list(iter_aedat4(out)))
        elif suffix == ".aedat":
            back = read_aedat31(out)
        else:
            back = np.concatenate(list(iter_tonic_npy(out)))
        assert back.tobytes() == expected.tobytes(), suffix
    assert "class 2" in capsys.readouterr().out


def test_cli_recording_writes_aedat4_and_labels(tmp_path):
    out = tmp_path / "rec.aedat4"
    args = ["recording", str(out), "--classes", "hand_clapping,3", "--seed", "4"]
    assert main([*args, "--gesture-ms", "300", "--gap-ms", "100", "--quiet"]) == 0
    labels = read_labels_csv(tmp_path / "rec_labels.csv")
    assert labels["class_id"].tolist() == [0, 3]
    events, expected_labels = generate_recording(
        [0, 3], 4, gesture_duration_us=300_000, gap_us=100_000, lead_us=500_000, tail_us=500_000
    )
    np.testing.assert_array_equal(labels, expected_labels)
    assert np.concatenate(list(iter_aedat4(out))).tobytes() == events.tobytes()


def test_cli_datasets(tmp_path):
    assert (
        main(
            [
                "ibm-dataset",
                str(tmp_path / "ibm"),
                "--users",
                "1",
                "--trials-per-user",
                "1",
                "--gesture-ms",
                "100",
                "120",
                "--quiet",
            ]
        )
        == 0
    )
    assert read_trial_list(tmp_path / "ibm" / "DvsGesture" / "trials_to_train.txt")
    assert (
        main(
            [
                "tonic-dataset",
                str(tmp_path / "tonic"),
                "--users",
                "1",
                "--trials-per-user",
                "1",
                "--sample-ms",
                "100",
                "100",
                "--workers",
                "2",
                "--quiet",
            ]
        )
        == 0
    )
    assert (
        len(list((tmp_path / "tonic" / "DVSGesture").glob("ibmGestureTrain/*/*.npy")))
        == NUM_GESTURE_CLASSES
    )


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["recording", "x.aedat4", "--classes", "juggling"], "Unknown gesture class 'juggling'"),
        (["sample", "x.mp4", "--class", "1", "--duration-ms", "50"], "suffix '.mp4'"),
        (["ibm-dataset", "r", "--users", "0"], "n_users must be >= 1"),
        (["recording", "x.aedat4", "--gesture-ms", "1"], "gesture_duration_us"),
    ],
)
def test_cli_user_errors_are_one_line_exit_2(tmp_path, monkeypatch, capsys, argv, needle):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_parse_classes():
    assert parse_classes("all") == list(range(NUM_GESTURE_CLASSES))
    assert parse_classes("0, arm_roll,10") == [0, 7, 10]


def test_demo_recording_is_bundled_small_and_labelled():
    assert DEMO_RECORDING.is_file() and DEMO_LABELS.is_file()
    assert DEMO_RECORDING.stat().st_size + DEMO_LABELS.stat().st_size <= 10 * 1024 * 1024
    labels = read_labels_csv(DEMO_LABELS)
    assert 6 <= len(labels) <= 12
    assert np.all((labels["class_id"] >= 0) & (labels["class_id"] < NUM_GESTURE_CLASSES))
    assert np.all(labels["end_us"] > labels["start_us"])
    assert np.all(labels["start_us"][1:] > labels["end_us"][:-1]), "idle gaps between gestures"
    info = aedat4_info(DEMO_RECORDING)
    assert tuple(info.sensor_size) == (128, 128)
    events = np.concatenate(list(iter_aedat4(DEMO_RECORDING)))
    assert events["t"].max() > labels["end_us"].max()
    # Gestures are busy, idle gaps are quiet.
    busy = np.mean([np.sum((events["t"] >= a) & (events["t"] < b)) / (b - a) for _, a, b in labels])
    gap_a, gap_b = labels["end_us"][0], labels["start_us"][1]
    quiet = np.sum((events["t"] >= gap_a) & (events["t"] < gap_b)) / (gap_b - gap_a)
    assert quiet < 0.5 * busy
