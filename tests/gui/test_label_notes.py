"""The window and labels: a broken labels CSV beside a recording never blocks its replay, and
labels that miss the recording say so in the status bar."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("PyQt6")


pytestmark = pytest.mark.gui


def test_broken_sidecar_labels_are_a_note_not_a_blocker(qtbot, window, tmp_path, recording):
    rec = tmp_path / "rec.aedat4"
    shutil.copy(recording[0], rec)
    (tmp_path / "rec_labels.csv").write_text("not a labels file\n")
    assert window.open_file(rec, speed=4.0)
    assert not window.errors_shown
    message = window.statusBar().currentMessage()
    assert message.startswith("warning: labels ignored") and "rec_labels.csv" in message
    qtbot.waitUntil(lambda: window.reports_drawn > 3, timeout=20000)
    assert window.worker.truth is None


def test_labels_that_miss_the_recording_are_noted(qtbot, window, tmp_path, recording):
    from asa_live.events.aedat4 import write_aedat4
    from asa_live.events.ibm import write_labels_csv

    _, events, labels = recording
    late = events.copy()
    late["t"] += 10_000_000  # the recording starts after every label has ended
    write_aedat4(tmp_path / "late.aedat4", late, (128, 128))
    write_labels_csv(tmp_path / "late_labels.csv", labels)
    assert window.open_file(tmp_path / "late.aedat4", speed=4.0)
    message = window.statusBar().currentMessage()
    assert "late_labels.csv" in message and "--labels-offset auto" in message
