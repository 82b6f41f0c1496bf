"""``asa-live`` from the command line: headless JSON, the readable fallback, video, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pipeline.helpers import make_checkpoint, make_recording

from asa_live.cli import main

REPO = Path(__file__).resolve().parents[1]
KEYS = ["window", "t_start_us", "t_end_us", "events", "prediction", "class_id", "confidence",
        "spikes", "latency_ms"]  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    ckpt = make_checkpoint(folder / "model.safetensors")
    rec, events, labels = make_recording(folder, class_ids=(2,), gesture_us=800_000)
    return ckpt, rec, events, labels


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code, out, err):
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("asa-live: ")
    assert "Traceback" not in err and out == ""
    return lines[0]


def test_headless_prints_one_json_object_per_window(capsys, files):
    ckpt, rec, events, labels = files
    code, out, err = _run(capsys, "--replay", rec, "--model", ckpt, "--headless")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    span = int(events["t"][-1] - events["t"][0])
    assert len(rows) == span // 15_000 + 1
    for i, row in enumerate(rows):
        assert list(row)[: len(KEYS)] == KEYS
        assert row["window"] == i
        assert row["prediction"] is None or isinstance(row["prediction"], str)
        assert len(row["spikes"]) == 5
    labelled = [r for r in rows if "truth" in r]
    assert labelled and all(r["truth"] == "left_hand_wave" for r in labelled)
    summary = err.strip().splitlines()[-1]
    assert summary.startswith("asa-live: windows ")
    assert f"windows {len(rows)}" in summary and "accuracy" in summary
    assert "real-time factor" in summary


def test_headless_max_seconds_and_speed(capsys, files):
    ckpt, rec, _, _ = files
    code, out, _ = _run(
        capsys, "--replay", rec, "--model", ckpt, "--headless", "--max-seconds", "0.3",
        "--speed", "3",
    )  # fmt: skip
    assert code == 0
    assert 19 <= len(out.splitlines()) <= 21


def test_without_display_falls_back_to_readable_lines(capsys, files, monkeypatch):
    ckpt, rec, _, _ = files
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    code, out, err = _run(capsys, "--replay", rec, "--model", ckpt, "--speed", "5")
    assert code == 0
    assert "no display found" in err.splitlines()[0]
    lines = out.splitlines()
    assert 2 <= len(lines) <= 5  # one per 0.5 s of a ~1.2 s stream
    assert lines[0].split()[1] == "s"
    assert any("truth: left_hand_wave" in line for line in lines)
    assert "real-time factor" in err.splitlines()[-1]


def test_export_video(capsys, files, tmp_path):
    import cv2

    ckpt, rec, _, _ = files
    out_path = tmp_path / "out.mp4"
    code, _, err = _run(
        capsys, "--replay", rec, "--model", ckpt, "--export-video", out_path, "--max-seconds", "0.5"
    )
    assert code == 0 and out_path.stat().st_size > 1000
    cap = cv2.VideoCapture(str(out_path))
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, frame = cap.read()
    cap.release()
    assert ok and 30 <= frames <= 35
    assert frame.shape == (512, 512 + 260, 3)
    assert frame[:, :512].mean() > 5  # events drawn
    assert f"wrote {frames} frames" in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--replay", "{tmp}/missing.aedat4"], "does not exist"),
        (["--replay", "{tmp}/garbage.aedat4"], "garbage.aedat4"),
        (["--replay", "{tmp}/notes.txt"], "notes.txt"),
        (["--replay", "{tmp}"], "folder"),
        (["--replay", "{rec}", "--model", "{tmp}/garbage.safetensors"], "garbage.safetensors"),
        (["--replay", "{rec}", "--model", "{tmp}/none.safetensors"], "does not exist"),
        (["--replay", "{rec}", "--speed", "500"], "speed"),
        (["--replay", "{rec}", "--max-seconds", "-1"], "--max-seconds"),
        (["--camera", "--speed", "2"], "--speed"),
        (["--headless"], "--replay"),
    ],
)
def test_errors_are_one_line_and_exit_2(capsys, files, tmp_path, argv, needle):
    ckpt, rec, _, _ = files
    (tmp_path / "garbage.aedat4").write_bytes(b"\x00garbage" * 100)
    (tmp_path / "garbage.safetensors").write_bytes(b"\x13" * 100)
    (tmp_path / "notes.txt").write_text("hello")
    args = [a.format(tmp=tmp_path, rec=rec) for a in argv]
    if "--model" not in args:
        args += ["--model", str(ckpt)]
    line = _one_line_error(*_run(capsys, *args, "--headless"))
    assert needle in line


@pytest.mark.parametrize(
    "argv",
    [
        ["--max-seconds", "nan"],
        ["--max-seconds", "inf"],
        ["--max-seconds", "0"],
        ["--idle-reset-ms", "nan"],
        ["--idle-reset-ms", "-inf"],
        ["--idle-reset-ms", "-1"],
        ["--screenshot-after", "inf"],
        ["--screenshot-after", "nan"],
        ["--screenshot-after", "1e7"],
        ["--speed", "nan"],
        ["--speed", "inf"],
        ["--speed", "0.05"],
        ["--speed", "fast"],
    ],
)
def test_bad_numbers_are_one_sentence_and_exit_2(capsys, files, argv):
    """Issue 11 bug 1: NaN, infinity and out-of-range numbers never reach the pipeline or Qt."""
    ckpt, rec, _, _ = files
    line = _one_line_error(*_run(capsys, "--replay", rec, "--model", ckpt, "--headless", *argv))
    assert argv[0] in line


def test_screenshot_after_nan_does_not_abort(files, tmp_path):
    """``--screenshot-after nan`` used to abort natively (exit 134) inside Qt's timer."""
    ckpt, rec, _, _ = files
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "asa_live.cli", "--replay", str(rec), "--model", str(ckpt),
         "--screenshot", str(tmp_path / "s.png"), "--screenshot-after", "nan"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--screenshot-after" in lines[0]


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("asa-live ")


def test_looping_replay_time_keeps_increasing(capsys, files):
    """Issue 11 bug 7: with --loop, t_start_us/t_end_us keep increasing across the passes."""
    ckpt, rec, events, _ = files
    span_s = (int(events["t"][-1]) - int(events["t"][0])) / 1e6
    code, out, _ = _run(
        capsys, "--replay", rec, "--model", ckpt, "--headless", "--loop",
        "--max-seconds", f"{2.5 * span_s:.3f}",
    )  # fmt: skip
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    restarts = [i for i, r in enumerate(rows) if r.get("state_reset")]
    assert len(restarts) >= 2  # three passes
    assert all(b["t_start_us"] == a["t_end_us"] for a, b in zip(rows, rows[1:], strict=False))
    assert rows[-1]["t_end_us"] - rows[0]["t_start_us"] > 2 * span_s * 1e6
    first = [r.get("truth") for r in rows[: restarts[0]]]
    second = [r.get("truth") for r in rows[restarts[0] : restarts[1]]]
    assert first == second and "left_hand_wave" in first  # labels apply on every pass


def test_missing_default_model_suggests_model_option(capsys, files, monkeypatch, tmp_path):
    _, rec, _, _ = files
    monkeypatch.setenv("ASA_LIVE_MODEL", str(tmp_path / "nowhere.safetensors"))
    line = _one_line_error(*_run(capsys, "--replay", rec, "--headless"))
    assert "default model" in line and "--model" in line


def test_no_camera_is_one_line(capsys, files):
    ckpt, _, _, _ = files
    line = _one_line_error(*_run(capsys, "--camera", "--model", ckpt, "--headless"))
    assert "camera" in line.lower()


def test_default_model_path_does_not_depend_on_cwd(tmp_path, monkeypatch):
    from asa_live.pipeline.models import default_model_path

    monkeypatch.delenv("ASA_LIVE_MODEL", raising=False)
    here = default_model_path()
    monkeypatch.chdir(tmp_path)
    assert default_model_path() == here == REPO / "models" / "gesture-3layer-asa.safetensors"


def test_screenshot_offscreen(files, tmp_path):
    """The real entry point in a fresh process: window rendered offscreen and saved."""
    ckpt, rec, _, _ = files
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "asa_live.cli", "--replay", str(rec), "--model", str(ckpt),
         "--screenshot", str(out), "--screenshot-after", "1.5", "--speed", "2"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    import cv2

    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] > 400 and img.shape[1] > 800
    assert img.std() > 10  # not a blank picture
    assert "screenshot saved" in proc.stderr


def test_bad_file_in_window_mode_is_one_line_before_any_window(files, tmp_path):
    ckpt, _, _, _ = files
    bad = tmp_path / "bad.aedat4"
    bad.write_bytes(b"nope")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "asa_live.cli", "--replay", str(bad), "--model", str(ckpt)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "bad.aedat4" in lines[0]


def test_summary_accuracy_matches_the_json(capsys, files):
    ckpt, rec, _, _ = files
    _, out, err = _run(capsys, "--replay", rec, "--model", ckpt, "--headless")
    rows = [json.loads(line) for line in out.splitlines()]
    labelled = [r for r in rows if "truth" in r]
    acc = np.mean([r["prediction"] == r["truth"] for r in labelled])
    assert f"accuracy {100 * acc:.1f} %" in err


def test_ibm_aedat_replay_picks_up_its_labels(capsys, files, tmp_path):
    from asa_live.events.ibm import write_aedat31, write_labels_csv

    ckpt, _, events, labels = files
    shifted = events.copy()
    shifted["t"] += 53_000_000  # IBM files start far from 0
    labels = labels.copy()
    labels["start_us"] += 53_000_000
    labels["end_us"] += 53_000_000
    write_aedat31(tmp_path / "user01_natural.aedat", shifted)
    write_labels_csv(tmp_path / "user01_natural_labels.csv", labels)
    code, out, err = _run(
        capsys, "--replay", tmp_path / "user01_natural.aedat", "--model", ckpt, "--headless"
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["t_start_us"] >= 53_000_000
    assert any(r.get("truth") == "left_hand_wave" for r in rows)
    assert "accuracy n/a" not in err
