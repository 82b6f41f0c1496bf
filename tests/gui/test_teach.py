"""The Teach panel records from the window's stream: prompts, labels per take, redo, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PyQt6")  # the gui extra; CI installs it (dev extra)

from asa_live.errors import ConfigError  # noqa: E402
from asa_live.events import make_events  # noqa: E402
from asa_live.events.aedat4 import iter_aedat4, write_aedat4  # noqa: E402
from asa_live.events.ibm import read_labels_csv, read_trial_list  # noqa: E402
from asa_live.events.sources import open_source  # noqa: E402
from asa_live.gui.main_window import MainWindow  # noqa: E402
from asa_live.gui.teach import Prompt, prompt_for  # noqa: E402
from asa_live.gui.teach_feed import SessionFeed  # noqa: E402
from asa_live.teach.folder import check_folder, read_classes  # noqa: E402
from asa_live.teach.record import GuidedSession, plan_takes  # noqa: E402

pytestmark = pytest.mark.gui

SENSOR = (64, 48)  # not the model's 128x128: the session must write source coordinates
T0 = 1_000_000


@pytest.fixture(scope="module")
def stream_file(tmp_path_factory):
    """6 s of uniform random events (a stand-in for a person in front of a camera)."""
    rng = np.random.default_rng(1)
    n = 60_000
    events = make_events(
        T0 + np.sort(rng.integers(0, 6_000_000, n)), rng.integers(0, SENSOR[0], n),
        rng.integers(0, SENSOR[1], n), rng.integers(0, 2, n),
    )  # fmt: skip
    path = tmp_path_factory.mktemp("stream") / "person.aedat4"
    write_aedat4(path, events, SENSOR)
    return path, events


@pytest.fixture
def window(qtbot, small_ckpt, small_ckpt_path):
    win = MainWindow(small_ckpt, redraw_hz=30, model_path=str(small_ckpt_path))
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def _fill(panel, folder, classes="swipe_left,thumbs_up", repeats=1, gesture=0.5, pause=0.5):
    f = panel.form
    f.classes_edit.setText(classes)
    f.repeats_box.setValue(repeats)
    f.gesture_box.setValue(gesture)
    f.pause_box.setValue(pause)
    f.folder_edit.setText(str(folder))


def _spy_prompts(panel):
    shown = []
    show = panel.prompt.show_prompt

    def spy(prompt):
        shown.append(prompt)
        show(prompt)

    panel.prompt.show_prompt = spy
    return shown


def _recorded(path):
    return np.concatenate(list(iter_aedat4(path)))


def test_prompt_countdown_follows_the_stream_clock():
    takes = plan_takes(["swipe_left"], 2, seed=0)
    session = GuidedSession(takes, writer=None, gesture_us=2_000_000, pause_us=3_500_000)
    assert prompt_for(session, None).title == "get ready"
    session.t0 = 0  # take 1: countdown 0-3.5 s, gesture 3.5-5.5 s
    titles = [prompt_for(session, t).title for t in (0, 600_000, 1_600_000, 2_600_000)]
    assert titles == ["get ready", "3\u2026", "2\u2026", "1\u2026"]
    go = prompt_for(session, 4_500_000)
    assert go == Prompt("GO: swipe_left", "take 1 of 2", True, 0.5)
    session.completed = 1
    assert prompt_for(session, 5_600_000).detail == "next: swipe_left  (take 2 of 2)"


def test_feed_keeps_time_going_through_loops_and_pauses():
    from asa_live.pipeline.recorder import RecordingTap

    def packet(t0, n=3):
        return make_events(t0 + np.arange(n) * 10, [1] * n, [2] * n, [1] * n)

    tap, feed = RecordingTap(), SessionFeed(Path("x.aedat4"))
    feed.attach(tap)
    assert tap.active
    with pytest.raises(ConfigError, match="recording to a file"):
        SessionFeed(Path("y.aedat4")).attach(tap)
    tap(packet(5_000_000))  # 5.000000 .. 5.000020 s
    tap(packet(5_000_030))  # no gap
    tap(packet(1_000))  # a looping replay starts over
    tap(packet(9_000_000))  # a paused camera resumes 8.9 s later
    tap(packet(9_000_500))  # a short quiet moment is a scene, kept as it is
    t = np.concatenate([p["t"] for p in feed.drain()])
    start = 5_000_000
    expected = [0, 10, 20, 30, 40, 50, 51, 61, 71, 72, 82, 92, 572, 582, 592]
    np.testing.assert_array_equal(t - start, expected)
    assert feed.events_written == 15 and feed.drain() == []
    feed.detach()
    assert not tap.active and feed.closed
    tap(packet(10_000_000))
    assert feed.drain() == []


def test_session_on_a_replay_labels_every_take(qtbot, window, stream_file, tmp_path):
    path, events = stream_file
    panel = window.teach
    window.act_teach.trigger()
    assert window.teach_dock.isVisible()
    assert window.open_file(path, speed=1.0)
    folder = tmp_path / "mine"
    _fill(panel, folder)
    shown = _spy_prompts(panel)
    assert panel.start_session(), window.errors_shown
    session = panel.session
    assert window.worker.recording  # the window shows that it records
    assert not panel.form.start_button.isEnabled() and panel.form.stop_button.isEnabled()
    qtbot.waitUntil(lambda: panel.session is None, timeout=30000)
    assert window.errors_shown == []
    assert not window.worker.recording
    assert any(m.startswith("Done: 2 of 2 takes saved") for m in panel.messages)
    # every prompt of the session reached the log; the overlay showed the countdown and GO
    assert {"GO: swipe_left", "GO: thumbs_up"} <= set(panel.messages)
    titles = {p.title for p in shown if p is not None}
    assert "1\u2026" in titles and any(t.startswith("GO: ") for t in titles)
    assert shown[-1] is None and not panel.prompt.isVisible()
    # labels on the schedule of the stream's clock, from the first event after Start
    labels = read_labels_csv(folder / "user_001_labels.csv", num_classes=2)
    assert sorted(labels["class_id"]) == [0, 1]
    t0 = session.t0
    np.testing.assert_array_equal(labels["start_us"], t0 + np.array([500_000, 1_500_000]))
    np.testing.assert_array_equal(labels["end_us"] - labels["start_us"], [500_000] * 2)
    # the events, in source coordinates, exactly as the replay delivered them, none lost
    recorded = _recorded(folder / "user_001.aedat4")
    assert open_source(folder / "user_001.aedat4").sensor_size == SENSOR
    assert recorded["t"][-1] >= labels["end_us"][-1]
    assert recorded["t"][0] == t0
    first = np.searchsorted(events["t"], t0)
    np.testing.assert_array_equal(recorded, events[first : first + len(recorded)])
    assert read_classes(folder) == ["swipe_left", "thumbs_up"]
    assert read_trial_list(folder / "trials_to_train.txt") == ["user_001.aedat4"]
    names, found = check_folder(folder)
    assert len(found) == 1
    assert panel.form.finetune_button.isEnabled()


def test_redo_last_takes_the_last_take_again(qtbot, window, stream_file, tmp_path):
    path, _ = stream_file
    panel = window.teach
    assert window.open_file(path, speed=1.0)
    folder = tmp_path / "mine"
    _fill(panel, folder)
    assert panel.start_session()
    first = panel.session.takes[0]
    qtbot.waitUntil(lambda: panel.session.completed == 1, timeout=30000)
    window.set_paused(True)  # the stream's clock stops: nothing moves while we look
    qtbot.waitUntil(lambda: window.worker.settled and panel.live.caught_up, timeout=15000)
    # The buttons follow the session on the panel's timer tick, not at the instant the
    # recording thread counts the take: wait for the tick (under load it can lag the count).
    qtbot.waitUntil(panel.form.redo_button.isEnabled, timeout=15000)
    assert panel.session.completed == 1
    labels_csv = folder / "user_001_labels.csv"
    before = read_labels_csv(labels_csv, num_classes=2)
    assert len(before) == 1 and before["class_id"][0] == first.class_id
    redo_at = panel.live.now_us
    panel.form.redo_button.click()
    assert panel.session.completed == 0
    assert len(labels_csv.read_text().split()) == 1  # the header only: the take is forgotten
    assert not panel.form.redo_button.isEnabled()
    assert any(m.startswith("redo: take 1") for m in panel.messages)
    window.set_paused(False)
    qtbot.waitUntil(lambda: panel.session is None, timeout=30000)
    after = read_labels_csv(labels_csv, num_classes=2)
    assert len(after) == 2 and after["class_id"][0] == first.class_id
    # the redone take starts after a fresh countdown from the moment of the redo
    assert after["start_us"][0] == redo_at + 500_000
    assert after["start_us"][1] == after["end_us"][0] + 500_000


def test_stream_end_keeps_the_takes_done(qtbot, window, stream_file, tmp_path):
    path, events = stream_file
    panel = window.teach
    assert window.open_file(path, speed=5.0)
    folder = tmp_path / "mine"
    _fill(panel, folder, repeats=5)  # 10 takes of 1 s: more than the 6 s stream
    assert panel.start_session()
    session = panel.session
    qtbot.waitUntil(lambda: panel.session is None, timeout=30000)
    # every take that ended before the stream did is labelled
    done = sum(session.t0 + (i + 1) * 1_000_000 <= events["t"][-1] for i in range(10))
    assert 0 < done < 10 and session.completed == done
    assert any(f"Stopped (stream ended): {done} of 10 takes" in m for m in panel.messages)
    assert len(read_labels_csv(folder / "user_001_labels.csv", num_classes=2)) == done
    assert window.errors_shown == []


def test_closing_the_window_keeps_the_takes(qtbot, small_ckpt, stream_file, tmp_path):
    win = MainWindow(small_ckpt, redraw_hz=30)
    qtbot.addWidget(win)
    win.show()
    path, _ = stream_file
    assert win.open_file(path, speed=2.0)
    folder = tmp_path / "mine"
    _fill(win.teach, folder, repeats=3)
    assert win.teach.start_session()
    qtbot.waitUntil(lambda: win.teach.session.completed >= 1, timeout=30000)
    win.close()
    assert win.teach.session is None
    done = read_labels_csv(folder / "user_001_labels.csv", num_classes=2)
    assert len(done) >= 1 and any("Stopped (window closed)" in m for m in win.teach.messages)
    assert read_trial_list(folder / "trials_to_train.txt") == ["user_001.aedat4"]


def test_a_full_disk_is_one_sentence_and_keeps_the_takes(
    qtbot, window, stream_file, tmp_path, monkeypatch
):
    from asa_live.teach import record

    first = []

    def store_until_full(events):  # the disk fills up 1.2 s into the session
        first.append(int(events["t"][0]))
        if events["t"][-1] > first[0] + 1_200_000:
            raise RuntimeError("No space left on device")
        return events_to_store(events)

    events_to_store = record.events_to_store
    monkeypatch.setattr(record, "events_to_store", store_until_full)
    path, _ = stream_file
    assert window.open_file(path, speed=2.0)
    folder = tmp_path / "mine"
    _fill(window.teach, folder)
    assert window.teach.start_session()
    qtbot.waitUntil(lambda: window.teach.session is None, timeout=30000)
    message = window.errors_shown[-1]
    assert "No space left on device" in message and "(1 of 2 takes saved in" in message
    labels = read_labels_csv(folder / "user_001_labels.csv", num_classes=2)
    assert len(labels) == 1
    # the file is complete and holds the finished take's events
    assert _recorded(folder / "user_001.aedat4")["t"][-1] >= labels["end_us"][0]
    assert read_trial_list(folder / "trials_to_train.txt") == ["user_001.aedat4"]
    assert not window.worker.recording


def test_bad_input_is_one_sentence_and_records_nothing(qtbot, window, stream_file, tmp_path):
    panel = window.teach
    folder = tmp_path / "mine"
    _fill(panel, folder)
    assert not panel.start_session()  # no stream yet
    assert window.errors_shown[-1].startswith("Nothing to record from")
    path, _ = stream_file
    assert window.open_file(path, speed=1.0)
    _fill(panel, folder, classes="swipe left,thumbs_up")
    assert not panel.start_session()
    assert "'swipe left' is not allowed" in window.error_box.text()
    _fill(panel, folder, classes="a,a")
    assert not panel.start_session()
    assert "more than once" in window.errors_shown[-1]
    assert panel.session is None and not folder.exists()
    assert not window.worker.recording
    panel.form.folder_edit.setText(str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    assert not panel.start_finetune()
    assert "has no classes.txt" in window.errors_shown[-1]


def test_help_lists_the_teach_shortcut():
    from asa_live.gui.shortcuts import help_html

    assert "<b>T</b>" in help_html() and "Teach panel" in help_html()
