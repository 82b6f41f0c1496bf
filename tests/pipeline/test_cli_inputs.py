"""``asa-live`` inputs: every file format, --format / --sensor-size, --model DIR, labels that
miss the recording, --no-labels, one-line warnings, empty streams, and --camera --record."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from asa_live.cli import main
from pipeline.helpers import FakeCameraApi, RealTimeCamera

DV_CLOCK_US = 1_589_163_147_000_000  # DV's absolute clock (2020), as in a real AEDAT4 file


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _stderr_lines(err):
    return [line for line in err.splitlines() if line.strip()]


def _one_line_error(code, out, err):
    assert code == 2 and out == "" and "Traceback" not in err
    lines = _stderr_lines(err)
    assert len(lines) == 1 and lines[0].startswith("asa-live: "), err
    return lines[0]


REAL_FILES = [
    ("prophesee/gen3_spinner_evt2.raw", ()),
    ("prophesee/gen3_vga_plants_evt2.raw", ()),
    ("prophesee/gen41_driving_evt3.raw", ()),
    ("prophesee/imx636_evk4_evt3.raw", ()),
    ("atis/ncars_sample.dat", ("--sensor-size", "120x100")),
]


@pytest.mark.parametrize(("name", "extra"), REAL_FILES, ids=[n for n, _ in REAL_FILES])
def test_headless_replay_of_each_real_file(capsys, shared_real, small_ckpt_path, name, extra):
    code, out, err = _run(
        capsys, "--replay", shared_real / name, "--model", small_ckpt_path, "--headless",
        "--max-seconds", "0.05", *extra,
    )  # fmt: skip
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and sum(r["events"] for r in rows) > 0
    assert rows[-1]["t_end_us"] - rows[0]["t_start_us"] <= 50_000 + 15_000
    assert "Traceback" not in err and "nan" not in err


def test_format_and_sensor_size_read_a_file_without_a_known_suffix(
    capsys, tmp_path, small_ckpt_path
):
    t = np.arange(0, 200_000, 50, dtype=np.int64)
    rows = "\n".join(f"{ti},{ti % 100},{ti % 100},{(ti // 50) % 2}" for ti in t)
    path = tmp_path / "events.txt"
    path.write_text("t,x,y,p\n" + rows + "\n")
    code, out, err = _run(
        capsys, "--replay", path, "--format", "csv", "--sensor-size", "100x100",
        "--model", small_ckpt_path, "--headless",
    )  # fmt: skip
    assert code == 0, err
    assert sum(json.loads(line)["events"] for line in out.splitlines()) == len(t)
    # without --format the suffix tells nothing: one sentence naming the option
    line = _one_line_error(
        *_run(capsys, "--replay", path, "--model", small_ckpt_path, "--headless")
    )
    assert "--sensor-size" in line


@pytest.mark.parametrize("size", ["0x3", "12", "axb", "nanxinf"])
def test_bad_sensor_size_is_one_line(capsys, tmp_path, size):
    line = _one_line_error(*_run(capsys, "--replay", tmp_path / "x.dat", "--sensor-size", size))
    assert "sensor size" in line


def test_format_without_replay_is_an_error(capsys):
    line = _one_line_error(*_run(capsys, "--camera", "--format", "evt3", "--headless"))
    assert "--replay" in line


def test_model_dir_takes_the_runs_best_checkpoint(capsys, tmp_path, small_ckpt_path, recording):
    rec = recording[0]
    empty = tmp_path / "empty_run"
    empty.mkdir()
    line = _one_line_error(*_run(capsys, "--replay", rec, "--model", empty, "--headless"))
    assert "is a directory" in line and "does not exist" not in line
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(small_ckpt_path, run / "best.safetensors")
    (run / "last.safetensors").write_bytes(b"not a checkpoint")  # best wins
    code, out, err = _run(capsys, "--replay", rec, "--model", run, "--headless",
                          "--max-seconds", "0.2")  # fmt: skip
    assert code == 0, err
    assert len(out.splitlines()) >= 13


@pytest.fixture
def dv_clock_recording(tmp_path, recording):
    """The test recording on DV's absolute clock, its labels still relative to its start."""
    from asa_live.events.aedat4 import write_aedat4
    from asa_live.events.ibm import write_labels_csv

    _, events, labels = recording
    shifted = events.copy()
    shifted["t"] += DV_CLOCK_US
    path = tmp_path / "dv.aedat4"
    write_aedat4(path, shifted, (128, 128))
    relative = labels.copy()
    relative["start_us"] -= int(events["t"][0])
    relative["end_us"] -= int(events["t"][0])
    write_labels_csv(tmp_path / "dv_labels.csv", relative)
    return path


def test_labels_that_miss_the_recording_say_so_in_one_line(capsys, dv_clock_recording,
                                                          small_ckpt_path):  # fmt: skip
    code, out, err = _run(capsys, "--replay", dv_clock_recording, "--model", small_ckpt_path,
                          "--headless")  # fmt: skip
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert not any("truth" in r for r in rows)
    warnings = [line for line in _stderr_lines(err) if line.startswith("warning: ")]
    assert len(warnings) == 1, err
    assert "dv_labels.csv" in warnings[0] and "--labels-offset auto" in warnings[0]
    assert "UserWarning" not in err and "warnings.warn" not in err


def test_labels_offset_auto_and_us_align_them(capsys, dv_clock_recording, recording,
                                             small_ckpt_path):  # fmt: skip
    first = int(recording[1]["t"][0])
    for offset in ("auto", str(DV_CLOCK_US + first)):
        code, out, err = _run(capsys, "--replay", dv_clock_recording, "--model", small_ckpt_path,
                              "--headless", "--labels-offset", offset)  # fmt: skip
        assert code == 0 and "warning" not in err, err
        rows = [json.loads(line) for line in out.splitlines()]
        assert sum("truth" in r for r in rows) > 50
        assert "accuracy n/a" not in err
    line = _one_line_error(*_run(capsys, "--replay", dv_clock_recording, "--labels-offset", "x"))
    assert "labels-offset" in line


def test_broken_sidecar_labels_and_no_labels(capsys, tmp_path, recording, small_ckpt_path):
    rec = tmp_path / "rec.aedat4"
    shutil.copy(recording[0], rec)
    (tmp_path / "rec_labels.csv").write_text("this is not a labels file\n")
    line = _one_line_error(*_run(capsys, "--replay", rec, "--model", small_ckpt_path,
                                 "--headless"))  # fmt: skip
    assert "--no-labels" in line
    code, out, err = _run(capsys, "--replay", rec, "--model", small_ckpt_path, "--headless",
                          "--no-labels", "--max-seconds", "0.3")  # fmt: skip
    assert code == 0 and out and "accuracy n/a" in err


def test_bad_label_rows_are_one_warning_line_each(capsys, tmp_path, recording, small_ckpt_path):
    rec = tmp_path / "rec.aedat4"
    shutil.copy(recording[0], rec)
    start = int(recording[2]["start_us"][0])
    (tmp_path / "rec_labels.csv").write_text(
        f"class,startTime_usec,endTime_usec\n2,{start},{start + 500_000}\n99,1,2\n3,abc,5\n"
    )
    code, _, err = _run(capsys, "--replay", rec, "--model", small_ckpt_path, "--headless",
                        "--max-seconds", "0.3")  # fmt: skip
    assert code == 0
    warnings = [line for line in _stderr_lines(err) if not line.startswith("asa-live: ")]
    assert len(warnings) == 2, err
    for number, line in zip((3, 4), warnings, strict=True):
        assert line.startswith("warning: ") and f"rec_labels.csv: line {number}" in line
        assert line.rstrip().endswith("row skipped.")


def test_empty_recording_summary_says_no_window(capsys, tmp_path, small_ckpt_path):
    path = tmp_path / "empty.csv"
    path.write_text("t,x,y,p\n")
    code, out, err = _run(capsys, "--replay", path, "--sensor-size", "128x128",
                          "--model", small_ckpt_path, "--headless")  # fmt: skip
    assert code == 0 and out == ""
    assert "latency: no window" in err and "nan" not in err


def test_readable_lines_give_time_since_the_stream_start(capsys, monkeypatch, dv_clock_recording,
                                                        small_ckpt_path):  # fmt: skip
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    code, out, _ = _run(capsys, "--replay", dv_clock_recording, "--model", small_ckpt_path,
                        "--speed", "20", "--max-seconds", "1.2")  # fmt: skip
    assert code == 0
    times = [float(line.split()[0]) for line in out.splitlines()]
    assert len(times) >= 2 and 0 <= times[0] < 0.1 and times[-1] <= 1.3


def test_camera_record_headless(capsys, monkeypatch, tmp_path, recording, small_ckpt_path):
    from asa_live.events.camera import CameraSource
    from asa_live.events.sources import open_source

    camera = RealTimeCamera(recording[1], (128, 128), "A1")
    api = FakeCameraApi([camera])
    monkeypatch.setattr(
        "asa_live.pipeline.sources.CameraSource",
        lambda serial=None: CameraSource(serial, camera_api=api),
    )
    out_file = tmp_path / "cam.aedat4"
    code, out, err = _run(capsys, "--camera", "--model", small_ckpt_path, "--headless",
                          "--record", out_file, "--max-seconds", "0.5")  # fmt: skip
    assert code == 0, err
    assert out.splitlines()
    with open_source(out_file) as source:
        written = np.concatenate(list(source))
    assert len(written) > 0 and source.sensor_size == (128, 128)
    assert f"recorded {len(written)} events to {out_file}" in err
    line = _one_line_error(*_run(capsys, "--replay", recording[0], "--record", out_file))
    assert "--camera" in line


def test_prophesee_camera_spec_reaches_eventcv(monkeypatch):
    from asa_live.pipeline.sources import SourceSpec

    opened = []
    monkeypatch.setattr("asa_live.pipeline.sources.open_source", lambda s: opened.append(s))
    spec = SourceSpec.camera("prophesee:P123")
    assert spec.live and spec.prophesee
    spec.open()
    assert opened == ["prophesee:P123"]
    assert not SourceSpec.camera("DXA00093").prophesee


def _strip_header(src, dst):
    data = src.read_bytes()
    end = 0
    while data.startswith(b"%", end):
        end = data.index(b"\n", end) + 1
    dst.write_bytes(data[end:])


@pytest.mark.parametrize(
    ("name", "fmt", "size"),
    [("gen3_spinner_evt2.raw", "evt2", "640x480"), ("gen41_driving_evt3.raw", "evt3", "1280x720")],
)
def test_headerless_stream_with_format_equals_the_file(
    capsys, shared_real, tmp_path, small_ckpt_path, name, fmt, size
):
    real = shared_real / "prophesee" / name
    bare = tmp_path / "stream.bin"
    _strip_header(real, bare)
    argv = ["--model", small_ckpt_path, "--headless", "--max-seconds", "0.05"]
    code, with_header, _ = _run(capsys, "--replay", real, *argv)
    assert code == 0
    code, headerless, err = _run(
        capsys, "--replay", bare, "--format", fmt, "--sensor-size", size, *argv
    )
    assert code == 0, err

    def key(out):
        return [(r["t_start_us"], r["events"]) for r in map(json.loads, out.splitlines())]

    assert key(headerless) == key(with_header) and key(headerless)


@pytest.mark.parametrize("backend", ["eager", "fast"])
def test_backend_option_gives_the_same_predictions(backend, small_ckpt_path, recording, capsys):
    """--backend selects the inference backend; the fast one predicts as the reference does."""
    from asa_live.cli import main

    path, _, _ = recording
    argv = [
        "--replay",
        str(path),
        "--model",
        str(small_ckpt_path),
        "--headless",
        "--max-seconds",
        "1",
    ]
    assert main([*argv, "--backend", "eager"]) == 0
    ref = [json.loads(line)["class_id"] for line in capsys.readouterr().out.splitlines()]
    assert main([*argv, "--backend", backend]) == 0
    got = [json.loads(line)["class_id"] for line in capsys.readouterr().out.splitlines()]
    assert len(ref) > 20 and got == ref


def test_unknown_backend_is_refused(capsys):
    from asa_live.cli import main

    assert main(["--replay", "x.aedat4", "--backend", "gpu"]) == 2
    assert "invalid choice" in capsys.readouterr().err
