"""asa-live-record: prompts on the stream clock, labels per take, nothing recorded is lost."""

from __future__ import annotations

import numpy as np
import pytest

from asa_live.errors import CameraError
from asa_live.events.aedat4 import iter_aedat4, write_aedat4
from asa_live.events.dtype import make_events
from asa_live.events.ibm import read_labels_csv, read_trial_list
from asa_live.teach import cli as record_cli
from asa_live.teach.folder import check_folder, parse_class_names, read_classes
from asa_live.teach.record import plan_takes

SENSOR = (64, 48)


def _stream(seconds: float, rate_hz: int = 4000, t0: int = 5_000_000) -> np.ndarray:
    """Uniform random events over ``seconds`` (a stand-in for a camera), time-sorted."""
    rng = np.random.default_rng(0)
    n = int(seconds * rate_hz)
    t = t0 + np.sort(rng.integers(0, int(seconds * 1e6), n))
    return make_events(
        t, rng.integers(0, SENSOR[0], n), rng.integers(0, SENSOR[1], n), rng.integers(0, 2, n)
    )


class FakeSource:
    """Packets of 10 ms; optionally raises ``fail`` after ``fail_after`` packets."""

    def __init__(self, events, fail_after=None, fail=None):
        self.events, self.fail_after, self.fail = events, fail_after, fail
        self.sensor_size, self.name, self.closed = SENSOR, "fake", False

    def __iter__(self):
        edges = np.arange(self.events["t"][0], self.events["t"][-1] + 10_000, 10_000)
        bounds = np.searchsorted(self.events["t"], edges)
        for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            if self.fail_after is not None and i == self.fail_after:
                raise self.fail
            yield self.events[a:b]

    def close(self):
        self.closed = True


def _run(monkeypatch, tmp_path, source, *extra):
    monkeypatch.setattr(record_cli, "_open", lambda args: source)
    argv = [
        str(tmp_path / "rec"),
        "--classes",
        "swipe_left,thumbs_up",
        "--repeats",
        "2",
        "--gesture-s",
        "0.5",
        "--pause-s",
        "0.5",
        "--seed",
        "3",
        "--replay",
        "x.aedat4",
        "--speed",
        "100",
        *extra,
    ]
    return record_cli.main(argv)


def test_full_session_writes_a_valid_folder(monkeypatch, tmp_path, capsys):
    events = _stream(5.0)
    assert _run(monkeypatch, tmp_path, FakeSource(events)) == 0
    folder = tmp_path / "rec"
    assert read_classes(folder) == ["swipe_left", "thumbs_up"]
    labels = read_labels_csv(folder / "user_001_labels.csv", num_classes=2)
    t0 = int(events["t"][0])
    assert len(labels) == 4
    # take i: countdown 0.5 s, then 0.5 s of gesture, on the stream's clock
    np.testing.assert_array_equal(labels["start_us"], t0 + 500_000 + np.arange(4) * 1_000_000)
    np.testing.assert_array_equal(labels["end_us"] - labels["start_us"], 500_000)
    planned = [t.class_id for t in plan_takes(["swipe_left", "thumbs_up"], 2, 3)]
    assert labels["class_id"].tolist() == planned and sorted(planned) == [0, 0, 1, 1]
    assert read_trial_list(folder / "trials_to_train.txt") == ["user_001.aedat4"]
    written = np.concatenate(list(iter_aedat4(folder / "user_001.aedat4")))
    assert written["t"][0] == t0 and written["t"][-1] <= labels["end_us"][-1] + 10_000
    out = capsys.readouterr().out
    assert "GO: swipe_left" in out and "[1/4] next:" in out and "Done: 4 takes" in out
    names, found = check_folder(folder)
    assert names == ["swipe_left", "thumbs_up"] and len(found) == 1


def test_recording_adds_sessions_and_never_overwrites(monkeypatch, tmp_path):
    assert _run(monkeypatch, tmp_path, FakeSource(_stream(5.0))) == 0
    first = (tmp_path / "rec" / "user_001.aedat4").read_bytes()
    assert _run(monkeypatch, tmp_path, FakeSource(_stream(5.0)), "--test-session") == 0
    assert (tmp_path / "rec" / "user_001.aedat4").read_bytes() == first
    assert read_trial_list(tmp_path / "rec" / "trials_to_test.txt") == ["user_002.aedat4"]
    assert read_trial_list(tmp_path / "rec" / "trials_to_train.txt") == ["user_001.aedat4"]


def test_other_classes_into_the_same_folder_are_refused(monkeypatch, tmp_path, capsys):
    assert _run(monkeypatch, tmp_path, FakeSource(_stream(5.0))) == 0
    monkeypatch.setattr(record_cli, "_open", lambda args: FakeSource(_stream(5.0)))
    code = record_cli.main([str(tmp_path / "rec"), "--classes", "a,b", "--repeats", "1"])
    assert code == 2 and "already records the classes" in capsys.readouterr().err
    assert read_classes(tmp_path / "rec") == ["swipe_left", "thumbs_up"]


@pytest.mark.parametrize(
    ("fail", "code"), [(KeyboardInterrupt(), 130), (CameraError("The camera 'x' stopped."), 2)]
)
def test_interrupted_session_keeps_completed_takes(monkeypatch, tmp_path, capsys, fail, code):
    # 250 packets of 10 ms = 2.5 s: takes 1 and 2 end at 1.0 s and 2.0 s, take 3 is cut short
    source = FakeSource(_stream(5.0), fail_after=250, fail=fail)
    assert _run(monkeypatch, tmp_path, source) == code
    labels = read_labels_csv(tmp_path / "rec" / "user_001_labels.csv", num_classes=2)
    assert len(labels) == 2 and source.closed
    written = np.concatenate(list(iter_aedat4(tmp_path / "rec" / "user_001.aedat4")))
    assert written["t"][-1] >= labels["end_us"][-1]  # the file is complete and readable
    assert "2 of 4 takes saved" in capsys.readouterr().err


def test_a_stream_that_ends_early_keeps_its_takes(monkeypatch, tmp_path, capsys):
    assert _run(monkeypatch, tmp_path, FakeSource(_stream(3.2))) == 0
    assert len(read_labels_csv(tmp_path / "rec" / "user_001_labels.csv", num_classes=2)) == 3
    assert "ended after 3 of 4 takes" in capsys.readouterr().err


def test_full_disk_keeps_earlier_labels(monkeypatch, tmp_path, capsys):
    from asa_live.teach import record as rec

    real = rec.write_labels_csv
    calls = {"n": 0}

    def flaky(path, labels, num_classes):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real(path, labels, num_classes=num_classes)

    monkeypatch.setattr(rec, "write_labels_csv", flaky)
    assert _run(monkeypatch, tmp_path, FakeSource(_stream(5.0))) == 2
    err = capsys.readouterr().err
    assert "No space left" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert len(read_labels_csv(tmp_path / "rec" / "user_001_labels.csv", num_classes=2)) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--classes", "", "--repeats", "1"], "empty"),
        (["--classes", "a,,b", "--repeats", "1"], "empty name"),
        (["--classes", "a,b,a", "--repeats", "1"], "more than once"),
        (["--classes", "a b", "--repeats", "1"], "not allowed"),
    ],
)
def test_bad_class_lists(tmp_path, capsys, argv, message):
    assert record_cli.main([str(tmp_path / "r"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r" / "classes.txt").exists()


@pytest.mark.parametrize("opt", [["--gesture-s", "nan"], ["--pause-s", "inf"], ["--repeats", "0"]])
def test_bad_numbers_exit_2(tmp_path, capsys, opt):
    with pytest.raises(SystemExit) as exc:
        record_cli.main([str(tmp_path / "r"), "--classes", "a", "--repeats", "1", *opt])
    assert exc.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


def test_unwritable_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert record_cli.main([str(blocker / "sub"), "--classes", "a", "--repeats", "1"]) == 2
    assert "Cannot write into" in capsys.readouterr().err


def test_replay_file_end_to_end(tmp_path):
    """The real --replay path: an AEDAT4 file stands in for the camera."""
    events = _stream(3.0)
    write_aedat4(tmp_path / "cam.aedat4", events, SENSOR)
    code = record_cli.main(
        [
            str(tmp_path / "rec"),
            "--classes",
            "a,b",
            "--repeats",
            "1",
            "--gesture-s",
            "0.5",
            "--pause-s",
            "0.5",
            "--replay",
            str(tmp_path / "cam.aedat4"),
            "--speed",
            "100",
        ]
    )
    assert code == 0
    assert len(read_labels_csv(tmp_path / "rec" / "user_001_labels.csv", num_classes=2)) == 2


def test_parse_class_names():
    assert parse_class_names(" swipe_left , swipe_right ") == ["swipe_left", "swipe_right"]


def test_prompt_order(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(record_cli, "_open", lambda args: FakeSource(_stream(8.0)))
    argv = [
        str(tmp_path / "rec"),
        "--classes",
        "a",
        "--repeats",
        "1",
        "--gesture-s",
        "1",
        "--pause-s",
        "3",
        "--replay",
        "x.aedat4",
        "--speed",
        "100",
    ]
    assert record_cli.main(argv) == 0
    lines = [ln.strip() for ln in capsys.readouterr().out.splitlines()[1:]]
    assert lines[:6] == [
        "[1/1] next: a (in 3.0 s, for 1.0 s)",
        "3...",
        "2...",
        "1...",
        "GO: a",
        "done (1/1 takes saved)",
    ]
