"""asa-live-synth and the bundled demo recording."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from asa_live.classes import NUM_GESTURE_CLASSES
from asa_live.events.aedat4 import aedat4_info, iter_aedat4
from asa_live.events.ibm import read_aedat31, read_labels_csv, read_trial_list
from asa_live.events.tonic_npy import iter_tonic_npy
from asa_live.synth import DEMO_SEED, generate_recording, generate_sample
from asa_live.synth.cli import main, parse_classes

DEMO_RECORDING = Path(__file__).resolve().parents[2] / "recordings" / "demo.aedat4"
DEMO_LABELS = DEMO_RECORDING.with_name("demo_labels.csv")


def test_cli_sample_in_three_formats(tmp_path, capsys):
    # --class 2 is the CSV's class 2: right_hand_wave, index 1.
    expected = generate_sample(1, 5, duration_us=200_000)
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
    assert "class 2 (right_hand_wave)" in capsys.readouterr().out


def test_cli_recording_writes_aedat4_and_labels(tmp_path):
    out = tmp_path / "rec.aedat4"
    args = ["recording", str(out), "--classes", "hand_clapping,3", "--seed", "4"]
    assert main([*args, "--gesture-ms", "300", "--gap-ms", "100", "--quiet"]) == 0
    labels = read_labels_csv(tmp_path / "rec_labels.csv")
    assert labels["class_id"].tolist() == [0, 2]
    events, expected_labels = generate_recording(
        [0, 2], 4, gesture_duration_us=300_000, gap_us=100_000, lead_us=500_000, tail_us=500_000
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
        (["ibm-dataset", "r", "--users", "0"], "--users: 0 is outside the allowed range"),
        (["recording", "x.aedat4", "--gesture-ms", "1"], "outside the allowed range"),
        (["recording", "x.aedat4", "--classes", "0"], "Unknown gesture class '0'"),
        (["sample", "x.npy", "--class", "12"], "Unknown gesture class '12'"),
        (["sample", "x.npy", "--class", "1", "--duration-ms", "nan"], "not a finite number"),
        (["sample", "x.npy", "--class", "1", "--fps", "inf"], "not a finite number"),
        (["recording", "x.npy", "--gap-ms=-inf"], "not a finite number"),
        (["recording", "x.npy", "--seed", "1.5"], "not a whole number"),
        (["recording", "x.npy", "--randomize", "2"], "outside the allowed range"),
        (["negative", "x.npy", "--kind", "fan", "--duration-ms", "NaN"], "not a finite number"),
        (["tonic-dataset", "r", "--sample-ms", "100", "inf"], "not a finite number"),
        (["ibm-dataset", "r", "--workers", "0"], "outside the allowed range"),
        (["figures", "d", "--n-per-class", "x"], "not a whole number"),
    ],
)
def test_cli_user_errors_are_one_line_exit_2(tmp_path, monkeypatch, capsys, argv, needle):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_parse_classes_ids_are_one_based_like_the_csv():
    assert parse_classes("all") == list(range(NUM_GESTURE_CLASSES))
    assert parse_classes("1, arm_roll,11") == [0, 7, 10]
    assert parse_classes("swipe_left,swipe_down") == [11, 14]


def test_cli_classes_1_2_3_write_csv_classes_1_2_3(tmp_path):
    out = tmp_path / "rec.npy"
    argv = ["recording", str(out), "--classes", "1,2,3", "--gesture-ms", "100", "--gap-ms", "50"]
    assert main([*argv, "--quiet", "--seed", "1"]) == 0
    rows = (tmp_path / "rec_labels.csv").read_text().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == ["1", "2", "3"]
    assert not (tmp_path / "classes.txt").exists()


def test_cli_swipes_make_a_recordings_folder_with_classes_txt(tmp_path):
    folder = tmp_path / "teach"
    common = ["--gesture-ms", "100", "--gap-ms", "50", "--quiet"]
    assert (
        main(["recording", str(folder / "a.npy"), "--classes", "swipe_left,swipe_right,2", *common])
        == 0
    )
    assert (folder / "classes.txt").read_text().split() == [
        "swipe_left",
        "swipe_right",
        "right_hand_wave",
    ]
    rows = (folder / "a_labels.csv").read_text().splitlines()
    assert rows[0] == "class,startTime_usec,endTime_usec"
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]
    # A second recording in the same folder keeps the list and appends new names.
    assert (
        main(["recording", str(folder / "b.npy"), "--classes", "swipe_up,swipe_left", *common]) == 0
    )
    assert (folder / "classes.txt").read_text().split()[-1] == "swipe_up"
    assert [r.split(",")[0] for r in (folder / "b_labels.csv").read_text().splitlines()[1:]] == [
        "4",
        "1",
    ]
    events, labels = generate_recording(
        ["swipe_up", "swipe_left"], DEMO_SEED, gesture_duration_us=100_000, gap_us=50_000
    )
    assert labels["class_id"].tolist() == [13, 11]
    assert (
        np.concatenate(list(iter_tonic_npy(folder / "b.npy")))["t"].tolist() == events["t"].tolist()
    )


def test_cli_lists_classes_version_help_and_writes_negatives(tmp_path, capsys):
    assert main(["classes"]) == 0
    out = capsys.readouterr().out
    assert " 1  hand_clapping" in out and "11  other_gestures" in out and "swipe_left" in out
    assert "idle_fidget" in out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("asa-live-synth ")
    assert main(["recording", "--help"]) == 0
    text = capsys.readouterr().out
    assert "(default: 2500.0)" in text and "ms" in text and "examples:" in text
    assert main(["negative", str(tmp_path / "n.npy"), "--kind", "fan", "--duration-ms", "100"]) == 0
    assert len(np.concatenate(list(iter_tonic_npy(tmp_path / "n.npy")))) > 0


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
