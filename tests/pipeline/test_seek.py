"""PipelineWorker.seek(t_us): a file replay goes on from t_us with fresh state."""

from __future__ import annotations

import numpy as np
import pytest

from asa_live.errors import ConfigError
from asa_live.events.sources import ArraySource
from asa_live.pipeline import PipelineWorker, open_replay, run_stream
from asa_live.pipeline.sources import SeekedSource


def _run_to_end(worker):
    assert worker.wait(30.0), "the replay did not end"
    return list(worker.drain())


def test_seek_goes_on_from_there_with_fresh_state(small_ckpt, recording):
    path, events, _ = recording
    target = int(events["t"][0]) + 1_500_000
    worker = PipelineWorker(lambda: open_replay(path), small_ckpt, labels=None)
    worker.start()
    before = _run_to_end(worker)
    worker.seek(target)
    after = _run_to_end(worker)
    worker.stop()
    assert after and after[0].state_reset
    assert after[0].t_start_us >= target and after[0].window == before[-1].window + 1
    # exactly what a fresh run over the events from target on gives
    rest = events[events["t"] >= target]
    fresh = list(run_stream(ArraySource(rest, (128, 128)), small_ckpt, idle_reset_ms=1000))
    assert [r.t_start_us for r in after] == [r.t_start_us for r in fresh]
    assert [r.class_id for r in after] == [r.class_id for r in fresh]
    assert np.allclose([r.confidence for r in after], [r.confidence for r in fresh])
    # the run's counters go on
    assert worker.stats().windows == len(before) + len(after)


def test_seek_back_replays_the_start_again(small_ckpt, recording):
    path, events, _ = recording
    worker = PipelineWorker(lambda: open_replay(path), small_ckpt)
    worker.start()
    before = _run_to_end(worker)
    worker.seek(int(events["t"][0]))
    after = _run_to_end(worker)
    worker.stop()
    assert [r.t_start_us for r in after] == [r.t_start_us for r in before]
    assert [r.class_id for r in after] == [r.class_id for r in before]


def test_seeked_source_cuts_inside_a_packet_and_keeps_later_passes(recording):
    _, events, _ = recording
    source = ArraySource(events, (128, 128), packet_us=200_000)
    target = int(events["t"][0]) + 333_333
    seeked = SeekedSource(source, target)
    out = np.concatenate(list(seeked))
    assert np.array_equal(out, events[events["t"] >= target])
    assert seeked.sensor_size == (128, 128)


def test_camera_cannot_seek(small_ckpt):
    worker = PipelineWorker(lambda: None, small_ckpt, live=True)
    with pytest.raises(ConfigError):
        worker.seek(0)
