"""asa-live-info: statistics of a recording; bad input is one sentence and exit code 2."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from asa_live.events import LABEL_DTYPE, make_events, write_aedat31, write_labels_csv
from asa_live.events.cli import main, recording_stats


@pytest.fixture
def aedat_with_labels(tmp_path):
    t = np.arange(0, 3_000_000, 1000)  # 3000 events over 3 s
    events = make_events(t, t % 128, (t // 7) % 128, (t // 1000) % 4 == 0)  # 25 % ON
    path = tmp_path / "user01_led.aedat"
    write_aedat31(path, events)
    labels = np.array([(0, 0, 1_000_000), (7, 1_000_000, 2_000_000)], dtype=LABEL_DTYPE)
    write_labels_csv(tmp_path / "user01_led_labels.csv", labels)
    return path


def test_stats(aedat_with_labels):
    stats = recording_stats(str(aedat_with_labels), 15_000)
    assert stats["events"] == 3000
    assert stats["sensor_size"] == (128, 128)
    assert stats["duration_us"] == 2_999_000
    assert stats["frames"] == 2_999_000 // 15_000 + 1
    assert stats["on_fraction"] == pytest.approx(0.25)
    assert stats["backwards_steps"] == 0


def test_main_prints_summary(aedat_with_labels, capsys):
    assert main([str(aedat_with_labels), "--window-us", "100000"]) == 0
    out = capsys.readouterr().out
    assert "128 x 128" in out and "3,000" in out and "30 windows of 100000 us" in out
    assert "2 gestures in user01_led_labels.csv: hand_clapping, arm_roll" in out


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("missing.aedat4", None, "does not exist"),
        ("broken.aedat", b"#!AER-DAT3.1\r\n", "ends inside its text header"),
        ("junk.aedat4", b"\x00" * 64, "Cannot open"),
        ("notes.txt", b"hi", "Cannot tell the format"),
    ],
)
def test_bad_input_exit_2_one_line(tmp_path, capsys, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert main([str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and "\n" not in err and "Traceback" not in err


def test_camera_is_refused(capsys):
    assert main(["camera"]) == 2
    assert "live camera never ends" in capsys.readouterr().err


@pytest.mark.parametrize("option", [["--window-us", "0"], ["--window-us", "nan"]])
def test_bad_window(aedat_with_labels, capsys, option):
    with pytest.raises(SystemExit) as exit_info:
        main([str(aedat_with_labels), *option])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "--window-us" in err and "\n" not in err


def test_empty_recording(tmp_path, capsys):
    path = tmp_path / "empty.aedat"
    write_aedat31(path, make_events([], [], [], []))
    assert main([str(path)]) == 0
    assert "holds no events" in capsys.readouterr().out


def test_console_script_subprocess(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "asa_live.events.cli", str(tmp_path / "nope.aedat")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr
