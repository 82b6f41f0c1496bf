"""Issue 11's window features: shortcuts, menus at small sizes, status fields, restart,
timeline, model / sensor info, the model-input view, the spike history and Qt's noise."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("PyQt6")

from PyQt6.QtCore import Qt  # noqa: E402

from asa_live.gui.main_window import MainWindow  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, small_ckpt_path, small_ckpt):
    win = MainWindow(small_ckpt, redraw_hz=30, model_path=str(small_ckpt_path))
    qtbot.addWidget(win)
    win.show()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow, timeout=5000)
    yield win
    win.close()


def _wait_reports(qtbot, win, more_than, timeout=20000):
    qtbot.waitUntil(lambda: win.reports_drawn > more_than, timeout=timeout)


# ---------------------------------------------------------------- shortcuts
def test_shortcuts_trigger_their_actions(qtbot, window, recording):
    path, _, _ = recording
    assert window.open_file(path, speed=1.0)
    _wait_reports(qtbot, window, 3)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert window.act_pause.isChecked() and window.worker.paused
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not window.worker.paused
    qtbot.keyClick(window, Qt.Key.Key_R)
    qtbot.waitUntil(lambda: window.worker.user_resets == 1, timeout=15000)
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert window.speed_box.value() == 2.0 and window.worker.speed == 2.0
    qtbot.keyClick(window, Qt.Key.Key_Left)
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert window.worker.speed == 0.5
    for key, action in (
        (Qt.Key.Key_O, window.act_open),
        (Qt.Key.Key_M, window.act_model),
        (Qt.Key.Key_C, window.act_camera),
    ):
        # disconnect the dialogs / camera: only whether the key reaches the action matters
        action.triggered.disconnect()
        with qtbot.waitSignal(action.triggered, timeout=2000):
            qtbot.keyClick(window, key)
    qtbot.keyClick(window, Qt.Key.Key_F)
    assert window.act_fullscreen.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_F)
    assert not window.act_fullscreen.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert window.help_box is not None and window.help_box.isVisible()
    assert "Space" in window.help_box.text() and "full screen" in window.help_box.text()


def test_tooltips_name_the_shortcuts(window):
    from asa_live.gui.shortcuts import SHORTCUTS

    for attr, keys, _ in SHORTCUTS:
        assert keys[0] in getattr(window, attr).toolTip(), attr
    assert window.act_pause.toolTip() == "Pause (Space)"


def test_speed_steps():
    from asa_live.gui.shortcuts import SPEED_STEPS, next_speed

    assert next_speed(1.0, True) == 2.0 and next_speed(1.0, False) == 0.5
    assert next_speed(1.5, True) == 2.0 and next_speed(1.5, False) == 1.0
    assert next_speed(100.0, True) == 100.0 and next_speed(0.1, False) == 0.1
    assert list(SPEED_STEPS) == sorted(SPEED_STEPS)


# ---------------------------------------------------------------- layout
@pytest.mark.parametrize("size", [(1024, 600), (800, 500)])
def test_every_control_is_reachable_at_small_sizes(qtbot, window, size):
    window.resize(*size)
    qtbot.waitUntil(lambda: window.width() <= size[0], timeout=5000)
    assert window.minimumSizeHint().width() <= size[0]
    assert window.minimumSizeHint().height() <= size[1]
    in_menus = {a for m in window.menus.values() for a in m.actions()}
    bar = window.menuBar()
    for menu in window.menus.values():  # every menu title fits on the menu bar
        rect = bar.actionGeometry(menu.menuAction())
        assert rect.width() > 0 and rect.right() <= bar.width(), menu.title()
    controls = [a for a in vars(window).values() if type(a).__name__ == "QAction"]
    assert len(controls) >= 15
    for action in controls:
        assert action in in_menus, action.text()
    # the toolbar's spin boxes and check box have menu equivalents too
    for act in (window.act_faster, window.act_slower, window.act_longer, window.act_noise):
        assert act in in_menus
    # the views keep a usable size
    for widget in (window.event_view, window.timeline, window.spike_panel, window.model_info):
        assert widget.isVisible() and widget.width() > 100 and widget.height() >= 15
    status = window.statusBar()
    for label in [window.status.source, *window.status.fields.values()]:
        assert label.geometry().right() <= status.width()


# ---------------------------------------------------------------- status line
def test_status_fields_elide_long_names_and_show_drops(qtbot, window, recording):
    path, _, _ = recording
    window.open_file(path, speed=1.0)
    _wait_reports(qtbot, window, 3)
    window.source_name = "a_very_long_recording_name_" * 12 + ".aedat4"
    window.resize(800, 500)
    qtbot.waitUntil(lambda: window.width() <= 800, timeout=5000)
    window._next_status = 0.0
    window.redraw()
    source = window.status.source
    assert source.full_text == window.source_name and "\u2026" in source.text()
    assert "win/s" in window.status.fields["windows"].text()
    assert window.status.fields["latency"].text().startswith("latency p50")
    for label in window.status.fields.values():
        assert label.geometry().right() <= window.statusBar().width()
    # a rise in dropped windows is highlighted; a new run clears it
    stats = window.worker.stats()
    fake = SimpleNamespace(**{**vars(stats), "dropped_windows": stats.dropped_windows + 3})
    fake.accuracy = None
    window.status.update("x", fake, False)
    assert window.status.dropped_highlighted
    window.status.clear("x")
    assert not window.status.dropped_highlighted


def test_restart_resets_every_counter(qtbot, window, recording):
    path, _, _ = recording
    window.open_file(path, loop=True, speed=2.0)  # looping: the reset always has a next window
    _wait_reports(qtbot, window, 40)
    old = window.worker
    old.reset_state()
    qtbot.waitUntil(lambda: old.stats().state_resets >= 1, timeout=15000)
    before = old.stats()
    window.act_restart.trigger()
    assert all(label.text() == "" for label in window.status.fields.values())
    new = window.worker
    assert new is not old and new.counters is not old.counters
    s = new.stats()
    assert s.windows < before.windows and s.events < before.events and s.state_resets == 0
    assert window.spike_panel._count < 40 and window.timeline.position_us < 1_000_000
    assert window.latest is None or window.latest.t_end_us < before.source_s * 1e6


# ---------------------------------------------------------------- timeline
def test_timeline_shows_position_and_requests_seeks(qtbot, window, recording):
    path, events, _ = recording
    window.open_file(path, speed=4.0)
    _wait_reports(qtbot, window, 20)
    timeline = window.timeline
    first, last = int(events["t"][0]), int(events["t"][-1])
    assert timeline.duration_us == pytest.approx(last - first, abs=20_000)
    assert 0 < timeline.position_us <= timeline.duration_us
    assert " / 0:02." in timeline.label.text()
    with qtbot.waitSignal(timeline.seekRequested, timeout=2000) as sig:
        timeline.seek_to_fraction(0.5)
    assert sig.args[0] == timeline.start_us + round(0.5 * timeline.duration_us)
    # a recording seeks: the slider is live, and the replay goes on from the requested time
    assert timeline.slider.isEnabled() and "seek" in timeline.slider.toolTip()
    worker, drawn = window.worker, window.reports_drawn
    window.seek(sig.args[0])
    assert window.worker is worker and window.latest is None
    qtbot.waitUntil(lambda: window.reports_drawn > drawn + 5, timeout=20000)
    qtbot.waitUntil(lambda: window.latest is not None, timeout=20000)
    assert window.latest.t_end_us > sig.args[0]
    assert timeline.position_us >= 0.5 * timeline.duration_us - 20_000


def test_files_without_a_stated_duration_get_one_and_seek(qtbot, window, recording, tmp_path):
    """An IBM .aedat states no duration: the window reads it once in the background, then the
    timeline shows the duration and seeks like an AEDAT4 file's."""
    from asa_live.events.ibm import write_aedat31

    _, events, _ = recording
    path = tmp_path / "trial.aedat"
    write_aedat31(path, events)
    window.open_file(path, speed=4.0)
    timeline = window.timeline
    qtbot.waitUntil(lambda: timeline.duration_us is not None, timeout=20000)
    first, last = int(events["t"][0]), int(events["t"][-1])
    assert timeline.duration_us == last - first and timeline.start_us == first
    assert timeline.slider.isEnabled()
    _wait_reports(qtbot, window, 5)
    target = first + (last - first) // 2
    window.seek(target)
    qtbot.waitUntil(lambda: window.latest is not None and window.latest.t_end_us > target,
                    timeout=20000)  # fmt: skip


def test_camera_timeline_cannot_seek(qtbot, window, recording):
    from pipeline.helpers import FakeCameraApi, RealTimeCamera

    from asa_live.events.camera import CameraSource

    api = FakeCameraApi([RealTimeCamera(recording[1], (128, 128), "A1")])
    assert window.start_source(lambda: CameraSource(camera_api=api), "camera A1", live=True)
    assert not window.timeline.slider.isEnabled()
    window.seek(0)
    assert window.errors_shown and "camera" in window.errors_shown[-1]


def test_dropped_windows_signal_highlights_the_status_field(qtbot, window, recording):
    import threading

    window.open_file(recording[0], speed=1.0)
    _wait_reports(qtbot, window, 2)
    assert not window.status.dropped_highlighted
    # the worker's callback comes from its own thread; the signal queues it to the GUI
    with qtbot.waitSignal(window.qworker.dropped, timeout=2000) as sig:
        thread = threading.Thread(target=window.worker.on_dropped, args=(7,))
        thread.start()
        thread.join()
    assert sig.args == [7]
    assert window.status.dropped_highlighted
    window._next_status = 0.0
    window.redraw()  # a status refresh keeps the highlight for its 3 s
    assert window.status.dropped_highlighted


def test_open_dialog_lists_every_format():
    from asa_live.gui.main_window import RECORDING_FILTER

    for suffix in ("*.aedat4", "*.aedat", "*.npy", "*.raw", "*.dat", "*.csv"):
        assert suffix in RECORDING_FILTER.split(";;")[0]


def test_timeline_wraps_a_looping_replay(qtbot):
    from asa_live.gui.timeline import Timeline

    timeline = Timeline()
    qtbot.addWidget(timeline)
    timeline.reset((1_000_000, 3_000_000))
    timeline.set_position(1_500_000)
    assert timeline.position_us == 500_000 and timeline.label.text() == "0:00.5 / 0:02.0"
    timeline.set_position(1_000_000 + 2_000_001 + 250_000)  # second pass
    assert timeline.position_us == 250_000
    timeline.reset(None)  # a camera: position only
    timeline.set_position(7_000_000)
    timeline.set_position(9_000_000)
    assert timeline.label.text() == "0:02.0 / live"


# ---------------------------------------------------------------- model and sensor
def test_model_and_sensor_info(qtbot, window, recording, small_ckpt_path):
    text = window.model_info.text()
    assert small_ckpt_path.stem in text and "11 classes" in text and "hand clapping" in text
    path, _, _ = recording
    window.open_file(path, speed=1.0)
    assert "sensor 128x128" in window.model_info.text()
    assert "used as is" in window.model_info.text()
    assert "-> 32x32" in window.model_info.text()


def test_mapping_text_for_a_davis346(small_ckpt):
    from asa_live.gui.panels import mapping_text

    cfg = small_ckpt.model_config
    line = mapping_text((346, 260), small_ckpt.binning, cfg.input_size)
    assert line.startswith("sensor 346x260: crop 260x260 at (43,0), scaled to 128x128")
    assert line.endswith("sum-pooled 4x4 -> 32x32")


def test_model_input_view_shows_the_binned_window(qtbot, window, recording):
    path, _, _ = recording
    window.open_file(path, speed=2.0)
    qtbot.waitUntil(lambda: window.latest is not None and window.latest.events > 50, timeout=20000)
    window.act_pause.trigger()
    qtbot.keyClick(window, Qt.Key.Key_I)
    assert window.act_model_input.isChecked()
    window.redraw()
    assert window.event_view.image.image.shape == (32, 32, 3)
    assert "32x32" in window.event_view.mode_label.text()
    from asa_live.pipeline.display import model_input_counts

    r = window.latest
    counts = model_input_counts(window.worker.accumulator, r.t_start_us, r.t_end_us, 4)
    assert counts.shape == (2, 32, 32) and counts.sum() == r.events  # exactly the net's input
    window.act_model_input.trigger()
    window.redraw()
    assert window.event_view.image.image.shape == (128, 128, 3)


def test_grey_frame_underlay():
    from asa_live.pipeline.display import BACKGROUND_RGB, blend_underlay, frame_to_grid

    grey = np.tile((np.arange(346) // 2).astype(np.uint8)[None, :], (260, 1))
    grid = frame_to_grid(grey, (43, 0, 260, 260), (128, 128))
    # column i of the grid samples sensor column 43 + i * 260 // 128 (the crop, scaled)
    assert grid.shape == (128, 128) and grid[0, 0] == 43 // 2
    assert grid[7, -1] == (43 + 127 * 260 // 128) // 2
    rgb = np.broadcast_to(BACKGROUND_RGB.astype(np.uint8), (128, 128, 3)).copy()
    rgb[5, 5] = (255, 176, 32)
    out = blend_underlay(rgb, grid)
    assert out[5, 5, 0] == 255 and out[0, 100, 0] == int(grid[0, 100] * 0.6)


# ---------------------------------------------------------------- spikes and Qt noise
def test_spike_history_has_a_legend_and_seconds(qtbot, window):
    panel = window.spike_panel
    names = [item[1].text for item in panel.legend.items]
    assert names == list(panel.layer_names)
    assert "s" in panel.history_plot.getAxis("bottom").labelText
    for _ in range(100):
        panel.add(tuple(range(1, len(panel.layer_names) + 1)))
    panel.redraw()
    xs, _ = panel.curves[0].getData()
    assert xs[-1] == 0 and xs[0] == pytest.approx(-99 * 0.015)


@pytest.mark.no_qt_log  # pytest-qt's own handler would capture the messages
def test_qt_message_filter_drops_only_propagate_size_hints(capfd, monkeypatch):
    from PyQt6.QtCore import qInstallMessageHandler, qWarning

    from asa_live.gui import qt_messages

    monkeypatch.setattr(qt_messages, "_installed", False)
    qt_messages.install_message_filter()

    qWarning(b"This plugin does not support propagateSizeHints()")
    qWarning(b"something else went wrong")
    err = capfd.readouterr().err
    qInstallMessageHandler(None)
    assert "propagateSizeHints" not in err and "something else went wrong" in err


# ---------------------------------------------------------------- APS underlay
def test_aps_frames_lookup_wraps_for_loops():
    from asa_live.pipeline.display import ApsFrames

    frames = [np.full((2, 2), v, np.uint8) for v in (10, 20, 30)]
    aps = ApsFrames(np.array([100, 200, 300]), frames, (100, 399))
    assert aps.at(99) is None and aps.at(100)[0, 0] == 10 and aps.at(250)[0, 0] == 20
    assert aps.at(399)[0, 0] == 30 and aps.at(400 + 150)[0, 0] == 20  # second pass


def test_davis_file_gets_its_grey_frames_under_the_events(qtbot, window, shared_real):
    from asa_live.pipeline.display import BACKGROUND_RGB, ApsFrames

    path = shared_real / "aedat4" / "davis346_traffic_events_frames_imu.aedat4"
    aps = ApsFrames.from_aedat4(path)
    assert aps is not None and len(aps) == 59 and aps.frames[0].shape == (260, 346)
    assert window.open_file(path, speed=1.0)
    assert window.act_aps.isEnabled() and window.act_aps.isChecked()
    info = window.model_info.text()
    assert "sensor 346x260 (DAVIS346" in info and "crop 260x260 at (43,0)" in info
    qtbot.waitUntil(lambda: window.latest is not None, timeout=20000)
    window.accum_box.setValue(5)
    window.redraw()
    with_frames = window.event_view.image.image.astype(int)
    background = np.abs(with_frames - BACKGROUND_RGB.astype(int)).sum(-1) < 6
    assert background.mean() < 0.5  # the street is visible, not an empty dark image
    qtbot.keyClick(window, Qt.Key.Key_G)
    window.redraw()
    plain = window.event_view.image.image.astype(int)
    assert (np.abs(plain - BACKGROUND_RGB.astype(int)).sum(-1) < 6).mean() > 0.5
    # a file without frames: the toggle is greyed out
    demo = Path(__file__).resolve().parents[2] / "recordings" / "demo.aedat4"
    assert window.open_file(demo)
    assert not window.act_aps.isEnabled()


def test_a_run_prints_no_propagate_size_hints(tmp_path, small_ckpt_path, recording):
    import os
    import subprocess
    import sys

    rec_path, _, _ = recording
    exe = Path(sys.executable).with_name("asa-live")
    out = tmp_path / "shot.png"
    proc = subprocess.run(
        [str(exe), "--replay", str(rec_path), "--model", str(small_ckpt_path),
         "--screenshot", str(out), "--screenshot-after", "1"],
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 10_000
    assert "propagateSizeHints" not in proc.stderr
