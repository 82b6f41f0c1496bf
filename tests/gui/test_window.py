"""The window, offscreen (pytest-qt): it opens, results flow, the controls act, errors show."""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip("PyQt6")  # the gui extra; CI installs it (dev extra)

from asa_live.gui.main_window import MAX_REDRAW_HZ, MainWindow  # noqa: E402

pytestmark = pytest.mark.gui


def _wait_reports(qtbot, win, more_than, timeout=20000):
    qtbot.waitUntil(lambda: win.reports_drawn > more_than, timeout=timeout)


def test_window_opens_and_results_flow(qtbot, window, recording):
    path, _, _ = recording
    assert window.open_file(path, speed=2.0)
    _wait_reports(qtbot, window, 20)
    assert window.latest is not None
    assert window.event_view.overlay.report is window.latest
    names = window.worker.class_names
    latest = window.latest
    assert latest.truth_name == (names[latest.truth] if latest.truth is not None else None)
    # the labels CSV beside the recording was picked up: labelled windows are counted
    qtbot.waitUntil(lambda: window.worker.stats().labelled_windows > 0, timeout=20000)
    assert "win/s" in window.status.text() and "latency p50" in window.status.text()
    assert window.spike_panel is not None and window.spike_panel._count > 0
    recent, total = window.spike_panel.nasfr()
    assert 0 < total < 1
    image = window.event_view.image.image
    assert image.shape == (128, 128, 3) and image.max() > 50  # events are drawn
    assert window.act_record.isEnabled() is False  # recording is for cameras


def test_redraw_is_capped_at_60_hz(qtbot, small_ckpt):
    win = MainWindow(small_ckpt, redraw_hz=500)
    qtbot.addWidget(win)
    assert win.timer.interval() >= int(1000 / MAX_REDRAW_HZ)
    win.close()


def test_controls_act(qtbot, window, recording):
    path, _, _ = recording
    window.open_file(path, speed=1.0)
    _wait_reports(qtbot, window, 10)
    worker = window.worker
    # pause / resume through the toolbar action
    window.act_pause.trigger()
    assert worker.paused and window.act_pause.text() == "Resume"
    qtbot.waitUntil(lambda: worker.settled, timeout=15000)  # ingest holds, nothing in flight
    stats = worker.stats()
    frozen = stats.windows
    # every window made before the pause is in (or counted as dropped)
    assert frozen + stats.dropped_windows == worker.ingest.windows_emitted
    window.redraw()
    assert worker.settled and worker.stats().windows == frozen
    window.act_pause.trigger()
    assert not worker.paused
    # reset state
    window.act_reset.trigger()
    qtbot.waitUntil(lambda: worker.user_resets == 1, timeout=15000)
    # speed
    window.speed_box.setValue(4.0)
    assert worker.speed == 4.0
    # noise filter
    window.noise_box.setChecked(True)
    assert worker.noise_filter and worker.ingest.noise_enabled
    window.noise_box.setChecked(False)
    assert not worker.ingest.noise_enabled
    # restart goes back to the start of the file
    seen = window.latest.t_end_us
    window.act_restart.trigger()
    qtbot.waitUntil(
        lambda: window.latest is not None and window.latest.t_end_us < seen, timeout=20000
    )
    # accumulation time changes the picture's time span
    window.accum_box.setValue(5)
    window.redraw()
    short = int((window.event_view.image.image.sum(-1) > 60).sum())
    window.accum_box.setValue(500)
    window.redraw()
    long = int((window.event_view.image.image.sum(-1) > 60).sum())
    assert long > short


def test_bad_file_shows_a_dialog_and_the_stream_goes_on(qtbot, window, recording, tmp_path):
    path, _, _ = recording
    window.open_file(path, speed=1.0)
    _wait_reports(qtbot, window, 5)
    bad = tmp_path / "bad.aedat4"
    bad.write_bytes(b"this is not a recording")
    assert not window.open_file(bad)
    box = window.error_box
    assert box is not None and box.isVisible()
    assert "bad.aedat4" in box.text() and "\n" not in box.text()
    assert "Traceback" not in box.text()
    n = window.reports_drawn
    _wait_reports(qtbot, window, n + 5)  # the old stream still runs
    assert window.source_name == path.name
    # a missing file too
    assert not window.open_file(tmp_path / "missing.aedat4")
    assert "does not exist" in window.error_box.text()


def test_bad_model_shows_a_dialog_and_keeps_the_old_one(qtbot, window, tmp_path, recording):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    old = window.checkpoint
    assert not window.open_model(bad)
    assert window.error_box.isVisible() and "bad.safetensors" in window.error_box.text()
    assert window.checkpoint is old
    path, _, _ = recording
    assert window.open_file(path, speed=2.0)
    _wait_reports(qtbot, window, 5)


def test_model_switch_restarts_the_source(qtbot, window, recording, tmp_path):
    from pipeline.helpers import make_checkpoint

    path, _, _ = recording
    window.open_file(path, speed=2.0)
    _wait_reports(qtbot, window, 5)
    other = make_checkpoint(tmp_path / "other.safetensors", seed=3)
    assert window.open_model(other)
    assert window.model_path == str(other)
    n = window.reports_drawn
    _wait_reports(qtbot, window, n + 5)


def test_no_camera_shows_a_dialog(qtbot, window):
    class NoCameras:
        def discover(self):
            return []

    from asa_live.events.camera import CameraSource

    ok = window.start_source(lambda: CameraSource(camera_api=NoCameras()), "camera", live=True)
    assert not ok
    assert "No event camera found" in window.error_box.text()


def test_pipeline_error_mid_stream_shows_a_dialog(qtbot, window, recording):
    path, _, _ = recording

    def failing_source():
        from asa_live.errors import CameraError
        from asa_live.pipeline.sources import open_replay

        source = open_replay(path)

        class Unplugged:
            sensor_size = source.sensor_size

            def __iter__(self):
                yield from itertools.islice(iter(source), 20)  # read only what is sent
                raise CameraError("The camera stopped after 20 packets: plug it back in.")

            def close(self):
                source.close()

        return Unplugged()

    assert window.start_source(failing_source, "flaky", speed=None)
    qtbot.waitUntil(
        lambda: window.error_box is not None and window.error_box.isVisible(), timeout=20000
    )
    assert window.error_box.text() == "The camera stopped after 20 packets: plug it back in."
    # still usable: open a good file
    assert window.open_file(path, speed=2.0)
    n = window.reports_drawn
    _wait_reports(qtbot, window, n + 5)


def test_fake_camera_through_the_window_and_recording(qtbot, window, recording, tmp_path):
    from pipeline.helpers import FakeCameraApi, RealTimeCamera

    from asa_live.events.aedat4 import iter_aedat4
    from asa_live.events.camera import CameraSource

    _, events, _ = recording
    api = FakeCameraApi([RealTimeCamera(events, (128, 128), "F1")])
    assert window.start_source(lambda: CameraSource("F1", camera_api=api), "camera F1", live=True)
    assert window.act_record.isEnabled() and not window.speed_box.isEnabled()
    _wait_reports(qtbot, window, 10)
    out = tmp_path / "rec.aedat4"
    assert window.start_recording(out)
    recorder = window.worker.recording_tap.recorder
    qtbot.waitUntil(lambda: recorder.events_written > 0, timeout=15000)
    # The status bar is redrawn by the window's timer (a few times a second): wait for it.
    qtbot.waitUntil(lambda: "REC" in window.status_text(), timeout=15000)
    window.stop_recording()
    assert sum(len(p) for p in iter_aedat4(out)) > 0


def test_trailing_mean_of_short_and_long_histories():
    import numpy as np

    from asa_live.gui.widgets import trailing_mean

    values = np.arange(12, dtype=float).reshape(6, 2)
    got = trailing_mean(values, 3)
    assert got.shape == values.shape
    np.testing.assert_allclose(got[0], values[0])
    np.testing.assert_allclose(got[1], values[:2].mean(0))
    np.testing.assert_allclose(got[5], values[3:6].mean(0))
    assert trailing_mean(values[:1], 5).shape == (1, 2)


def test_long_class_names_fit_the_overlay(qtbot, window, small_ckpt):
    import numpy as np

    from asa_live.pipeline.report import WindowReport

    scores = np.zeros(11, dtype=np.float32)
    scores[4] = 0.5
    report = WindowReport(
        0, 0, 15_000, 10, 4, "right_arm_counter_clockwise", 0.5, scores, (1, 2, 3, 4, 5), 1.0
    )
    overlay = window.event_view.overlay
    overlay.set_report(report, small_ckpt.class_names)
    image = overlay.grab().toImage()
    image = overlay.grab().toImage()

    def brightest(x0, x1):
        return max(image.pixelColor(x, y).lightness() for x in range(x0, x1) for y in range(12, 36))

    w = overlay.width()
    assert brightest(12, 60) > 150  # the title is drawn...
    assert brightest(w - 10, w) < 100  # ...and ends before the right margin (not cut off)
