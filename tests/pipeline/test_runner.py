"""The pipeline end to end on a short synthetic recording with a small random model."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from asa_live.errors import ConfigError
from asa_live.events.binning import bin_events
from asa_live.events.sources import ArraySource
from asa_live.model import StreamingSession
from asa_live.pipeline import (
    GroundTruth,
    PipelineWorker,
    open_replay,
    run_stream,
)
from asa_live.pipeline.inference import BATCH_WINDOWS, InferenceStage
from asa_live.pipeline.pacing import Pacer
from asa_live.pipeline.sources import LoopingSource

from .helpers import FakeClock


def _wait_until(condition, timeout_s=20.0, what="condition"):
    """Poll until ``condition()`` holds; fail with ``what`` after ``timeout_s`` (never a fixed sleep)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.01)


JSON_KEYS = {
    "window",
    "t_start_us",
    "t_end_us",
    "events",
    "prediction",
    "class_id",
    "confidence",
    "spikes",
    "latency_ms",
}


def test_reports_follow_the_contract_and_carry_labels(small_ckpt, recording):
    path, events, labels = recording
    reports = list(run_stream(open_replay(path), small_ckpt, labels=labels))
    window_us = small_ckpt.binning.window_us
    span = int(events["t"][-1] - events["t"][0])
    assert len(reports) == span // window_us + 1
    assert [r.window for r in reports] == list(range(len(reports)))
    assert all(b.t_start_us == a.t_end_us for a, b in zip(reports, reports[1:], strict=False))
    assert sum(r.events for r in reports) == len(events)
    n_layers = len(small_ckpt.model.layer_names)
    truth = GroundTruth(labels)
    for r in reports:
        d = r.to_json_dict()
        assert set(d) >= JSON_KEYS
        assert len(d["spikes"]) == n_layers
        assert r.t_end_us - r.t_start_us == window_us
        assert r.latency_ms >= 0
        expected = truth.for_window(r.t_start_us, r.t_end_us)
        assert r.truth == expected
        if expected is not None:
            assert d["truth"] == small_ckpt.class_names[expected]
        assert r.prediction == (small_ckpt.class_names[r.class_id] if r.class_id >= 0 else None)
        assert 0.0 <= r.confidence <= 1.0
    assert sum(r.truth is not None for r in reports) > len(reports) // 2


def test_stream_equals_offline_session(small_ckpt, recording):
    """Adapting, binning and session in the pipeline == bin_events + session on all events."""
    path, events, _ = recording
    reports = list(run_stream(open_replay(path), small_ckpt, idle_reset_ms=None))
    b = small_ckpt.binning
    frames = bin_events(events, b.window_us, b.sensor_size, b.downsample)
    session = StreamingSession(small_ckpt.model)
    offline = [res for f in frames for res in session.push(f)]
    assert len(offline) == len(reports)
    for r, o in zip(reports, offline, strict=True):
        assert r.class_id == o.predicted
        np.testing.assert_allclose(r.scores, o.scores, rtol=1e-6)
        assert list(r.spikes) == [int(s) for s in o.layer_spikes]


def test_worker_gives_the_same_reports_as_run_stream(small_ckpt, recording):
    path, _, labels = recording
    direct = list(run_stream(open_replay(path), small_ckpt, labels=labels))
    worker = PipelineWorker(
        lambda: open_replay(path), small_ckpt, labels=labels, lossless_results=True
    )
    worker.start()
    threaded = list(worker.iter_results())
    worker.stop()
    assert [r.window for r in threaded] == [r.window for r in direct]
    assert [r.class_id for r in threaded] == [r.class_id for r in direct]
    stats = worker.stats(recent=False)
    assert stats.windows == len(direct) and stats.dropped_windows == 0
    assert stats.labelled_windows == sum(r.truth is not None for r in direct)


def test_chunked_model_maps_results_back_to_windows(tmp_path, recording):
    from asa_live.model import load_checkpoint

    from .helpers import make_checkpoint

    ckpt = load_checkpoint(make_checkpoint(tmp_path / "k4.safetensors", chunk_windows=4))
    path, events, _ = recording
    reports = list(run_stream(open_replay(path), ckpt))
    span = int(events["t"][-1] - events["t"][0])
    n_windows = span // ckpt.binning.window_us + 1
    assert len(reports) == n_windows - n_windows % 4  # a partial last chunk never runs
    assert [r.window for r in reports] == list(range(len(reports)))
    # the first window of a chunk waits for the other three
    firsts = [r.latency_ms for r in reports[::4]]
    lasts = [r.latency_ms for r in reports[3::4]]
    assert np.median(firsts) >= np.median(lasts)


def _with_gap(events, gap_us):
    later = events.copy()
    later["t"] += int(events["t"][-1]) + gap_us
    return np.concatenate([events, later])


def test_idle_gap_resets_state(small_ckpt, recording):
    _, events, _ = recording
    part = events[events["t"] < 600_000]
    stream = _with_gap(part, 1_500_000)
    reports = list(run_stream(ArraySource(stream, (128, 128)), small_ckpt, idle_reset_ms=1000))
    resets = [r for r in reports if r.state_reset]
    assert len(resets) == 1
    # the pipeline does not bin the idle gap into empty windows
    gap_from, gap_to = int(part["t"][-1]) + 15_000, int(stream["t"][len(part)])
    assert not [r for r in reports if gap_from < r.t_start_us < gap_to]
    # after the reset the network answers exactly as for a fresh stream
    after = reports[reports.index(resets[0]) :]
    fresh = list(run_stream(ArraySource(stream[len(part) :], (128, 128)), small_ckpt))
    assert [r.class_id for r in after] == [r.class_id for r in fresh]
    np.testing.assert_allclose(after[5].scores, fresh[5].scores, rtol=1e-6)
    # without idle reset the gap is binned (up to the binner's gap limit) and nothing resets
    kept = list(run_stream(ArraySource(stream, (128, 128)), small_ckpt, idle_reset_ms=None))
    assert not any(r.state_reset for r in kept)


def test_looping_replay_restarts_with_fresh_state_and_time_keeps_increasing(small_ckpt, recording):
    path, _, labels = recording
    source = LoopingSource(lambda: open_replay(path))
    tapped = []
    reports = list(
        run_stream(source, small_ckpt, labels=labels, max_seconds=6.0, event_tap=tapped.append)
    )
    resets = [i for i, r in enumerate(reports) if r.state_reset]
    assert len(resets) == 2  # passes 2 and 3 begin with a reset
    one_pass = resets[0]
    first, second = reports[:one_pass], reports[one_pass : 2 * one_pass]
    assert [r.class_id for r in first] == [r.class_id for r in second]
    assert [r.truth for r in first] == [r.truth for r in second]  # labels apply on every pass
    # the reported time keeps increasing across passes: each pass starts where the last ended
    assert all(b.t_start_us == a.t_end_us for a, b in zip(reports, reports[1:], strict=False))
    period = second[0].t_start_us - first[0].t_start_us
    assert period > 0
    assert [r.t_start_us - period for r in second] == [r.t_start_us for r in first]
    # the display and video taps see the same increasing time as the reports
    t = np.concatenate(tapped)["t"]
    assert np.all(np.diff(t) >= 0) and reports[-1].t_start_us <= t[-1] < reports[-1].t_end_us


def test_max_seconds_limits_the_stream(small_ckpt, recording):
    path, _, _ = recording
    reports = list(run_stream(open_replay(path), small_ckpt, max_seconds=0.5))
    assert 30 <= len(reports) <= 35
    assert reports[-1].t_end_us - reports[0].t_start_us <= 530_000


def test_paced_replay_keeps_real_time(small_ckpt, recording):
    path, _, _ = recording
    clock = FakeClock()
    pacer = Pacer(5.0, clock=clock, wait=clock.wait)
    start = clock.now
    reports = list(run_stream(open_replay(path), small_ckpt, pacer=pacer, max_seconds=1.0))
    span_s = (reports[-1].t_end_us - reports[0].t_start_us) / 1e6
    assert 0.99 <= span_s <= 1.02
    # 1 s of stream at 5x takes 0.2 s of (fake) wall time, up to the last event's time
    assert clock.now - start == pytest.approx(0.2, abs=0.005)
    assert len(clock.waits) > 60  # released slice by slice, not all at once
    assert len(reports) >= 66 and all(r.latency_ms >= 0 for r in reports)


def _costly_forward(model, clock, seconds_per_call):
    """Each forward call costs ``seconds_per_call`` of the fake clock, whatever its size."""
    return model.register_forward_hook(lambda *_: clock.advance(seconds_per_call))


def test_paced_run_batches_the_backlog_and_keeps_up(small_ckpt, recording):
    """Issue 11 bug 3: a forward call costs 40 ms (2.7 windows of stream at 1x); one window
    per call would fall ever further behind, the backlog batched into one call keeps up."""
    path, _, _ = recording
    clock = FakeClock()
    pacer = Pacer(1.0, clock=clock, wait=clock.wait)
    calls, handle = _count_forward_calls(small_ckpt.model)
    cost = _costly_forward(small_ckpt.model, clock, 0.040)
    try:
        start = clock.now
        reports = list(run_stream(open_replay(path), small_ckpt, pacer=pacer))
    finally:
        cost.remove()
        handle.remove()
    unpaced = list(run_stream(open_replay(path), small_ckpt))
    _assert_same_reports(reports, unpaced)  # not a window lost, the same answers
    span_s = (reports[-1].t_end_us - reports[0].t_start_us) / 1e6
    # kept up: done a few calls (warm-up, the last batch) after the stream ended, where one
    # window per call would have needed len(reports) * 40 ms = 2.7x the stream's length
    assert clock.now - start < span_s + 0.25
    assert len(calls) < len(reports) / 2  # several windows per call
    assert max(r.latency_ms for r in reports) < 100  # (fake-clock ms) never far behind


def test_noise_filter_removes_events(small_ckpt, recording):
    path, _, _ = recording
    plain = sum(r.events for r in run_stream(open_replay(path), small_ckpt))
    filtered = sum(r.events for r in run_stream(open_replay(path), small_ckpt, noise_filter=True))
    assert 0 < filtered < plain


class SlowInference(InferenceStage):
    """Inference whose cost grows with the windows: 30 ms of work per window (twice the window
    length), batched or not, so that even batching cannot keep up."""

    def run(self, pending, max_batch=BATCH_WINDOWS):
        time.sleep(0.03 * len(pending))  # simulated work, not a wait for a condition
        return super().run(pending, max_batch)


class CallCostInference(InferenceStage):
    """Inference with a 25 ms cost per call, whatever its size (torch's fixed cost, magnified):
    one window per call falls behind at 2x, batching the backlog keeps up."""

    def run(self, pending, max_batch=BATCH_WINDOWS):
        time.sleep(0.025)  # simulated work, not a wait for a condition
        return super().run(pending, max_batch)


def test_worker_batches_a_backlog_instead_of_dropping(small_ckpt, recording):
    path, _, _ = recording
    drops = []
    worker = PipelineWorker(
        lambda: open_replay(path), small_ckpt, speed=2.0, policy="drop", max_seconds=1.0,
        lossless_results=True,
    )  # fmt: skip
    worker.inference.__class__ = CallCostInference
    worker.on_dropped = drops.append
    worker.start()
    reports = list(worker.iter_results())
    worker.stop()
    assert worker.stats(recent=False).dropped_windows == 0 and drops == []
    assert [r.window for r in reports] == list(range(worker.ingest.windows_emitted))


@pytest.mark.parametrize("policy", ["drop", "merge"])
def test_overload_policy_bounds_the_backlog(small_ckpt, recording, policy):
    path, _, _ = recording
    worker = PipelineWorker(
        lambda: open_replay(path),
        small_ckpt,
        speed=1.0,
        policy=policy,
        max_pending_windows=2,
        max_seconds=1.2,
        lossless_results=True,
    )
    worker.inference.__class__ = SlowInference
    drops = []
    worker.on_dropped = drops.append
    worker.start()
    reports = list(worker.iter_results())
    worker.stop()
    stats = worker.stats(recent=False)
    emitted = worker.ingest.windows_emitted
    assert len(reports) < emitted * 0.75  # it could not keep up...
    if policy == "drop":
        assert stats.dropped_windows > 0
        assert len(reports) + stats.dropped_windows == emitted  # ...and every window is counted
        assert drops and drops[-1] == stats.dropped_windows  # ...and the GUI is told
    else:
        assert stats.merged_windows > 0
        assert sum(r.merged for r in reports) == emitted
        assert sum(r.events for r in reports) == stats.events


def test_worker_controls(small_ckpt, recording):
    path, _, _ = recording
    worker = PipelineWorker(lambda: open_replay(path), small_ckpt, speed=2.0)
    worker.start()
    try:
        _wait_until(lambda: worker.stats().windows >= 10, what="10 windows")
        worker.pause()
        _wait_until(lambda: worker.settled, what="the pause to settle")
        stats, emitted = worker.stats(), worker.ingest.windows_emitted
        n = stats.windows
        # settled: ingest holds, nothing queued or in inference; it stays so while paused
        assert worker.paused and n + stats.dropped_windows == emitted and worker.settled
        worker.resume()
        worker.reset_state()
        _wait_until(
            lambda: worker.stats().windows > n and worker.user_resets == 1,
            what="windows after resume and the reset",
        )
        got = worker.drain()
        worker.set_speed(10.0)
        assert worker.speed == 10.0
        worker.set_noise_filter(True)
        assert worker.ingest.noise_enabled
        worker.restart()
        after = []

        def restarted() -> bool:
            after.extend(worker.drain())
            return any(r.state_reset for r in after)

        _wait_until(restarted, what="the restart's first window")
        starts = [r.t_start_us for r in after if r.state_reset]
        assert starts[-1] < max(r.t_start_us for r in got)  # back at the beginning
        assert worker.wait(5.0)  # the replay runs to its end
    finally:
        worker.stop()
    assert not worker.running


def test_restart_after_the_end(small_ckpt, recording):
    path, _, _ = recording
    worker = PipelineWorker(lambda: open_replay(path), small_ckpt, max_seconds=0.3)
    worker.start()
    assert worker.wait(5.0)
    first = worker.stats().windows
    worker.restart()
    assert worker.wait(5.0)
    worker.stop()
    assert worker.stats().windows >= 2 * first - 1


def test_worker_error_is_reported_not_raised(small_ckpt, recording, tmp_path):
    from asa_live.errors import InputFileError

    path, _, _ = recording
    broken = tmp_path / "broken.aedat4"
    broken.write_bytes(path.read_bytes())
    errors = []
    opened = []

    def factory():
        opened.append(1)
        if len(opened) > 1:
            broken.write_bytes(b"not an aedat4 file")
            return open_replay(broken)
        return open_replay(path)

    worker = PipelineWorker(factory, small_ckpt, speed=1.0)
    worker.on_error = errors.append
    worker.start()
    _wait_until(lambda: worker.stats().windows > 0, what="the first window")
    worker.restart()
    assert worker.wait(5.0)
    worker.stop()
    assert len(errors) == 1 and isinstance(errors[0], InputFileError)
    assert "\n" not in str(errors[0])


def test_recording_to_aedat4(small_ckpt, recording, tmp_path):
    from asa_live.events.aedat4 import aedat4_info, iter_aedat4

    path, events, _ = recording
    worker = PipelineWorker(lambda: open_replay(path), small_ckpt, speed=4.0)
    worker.start()
    out = tmp_path / "capture.aedat4"
    worker.start_recording(out)
    assert worker.recording
    n = worker.stats().windows
    _wait_until(lambda: worker.stats().windows >= n + 10, what="10 windows while recording")
    recorder = worker.stop_recording()
    worker.stop()
    assert recorder.events_written > 0 and recorder.packets_dropped == 0
    got = np.concatenate(list(iter_aedat4(out)))
    assert len(got) == recorder.events_written
    assert aedat4_info(out).sensor_size == (128, 128)
    # the recorded events are the source's, in order
    start = np.searchsorted(events["t"], got["t"][0])
    np.testing.assert_array_equal(got["x"], events["x"][start : start + len(got)])


def test_fake_camera_runs_live(small_ckpt, recording):
    from asa_live.events.camera import CameraSource

    from .helpers import FakeCameraApi, RealTimeCamera

    _, events, _ = recording
    api = FakeCameraApi([RealTimeCamera(events, (128, 128), "F1")])
    worker = PipelineWorker(lambda: CameraSource("F1", camera_api=api), small_ckpt, live=True)
    worker.start()
    _wait_until(lambda: worker.stats().windows >= 20, what="20 live windows")
    worker.pause()  # a paused camera keeps being read, its events are dropped
    _wait_until(lambda: worker.settled, what="the pause to settle")
    paused_windows, events = worker.stats().windows, worker.stats().events
    skipped = worker.packets_skipped
    _wait_until(lambda: worker.packets_skipped >= skipped + 3, what="packets read while paused")
    assert worker.stats().windows == paused_windows  # read, but not recognised
    assert worker.stats().events == events
    worker.resume()
    _wait_until(lambda: worker.stats().windows >= 40, what="40 live windows")
    worker.stop()
    assert worker.window_queue.policy == "drop"


def test_stop_is_cooperative_and_quick(small_ckpt, recording):
    path, _, _ = recording
    worker = PipelineWorker(lambda: LoopingSource(lambda: open_replay(path)), small_ckpt, speed=0.5)
    worker.start()
    _wait_until(lambda: worker.stats().windows > 0, what="the first window")
    worker.stop(timeout=5.0)  # the pacer's wait ends at once on stop: the joins succeed
    assert not any(t.is_alive() for t in worker._threads)
    assert threading.active_count() < 20


def test_idle_gap_inside_one_packet_is_found(small_ckpt, recording):
    _, events, _ = recording
    part = events[events["t"] < 300_000]
    stream = _with_gap(part, 2_000_000)
    one_packet = ArraySource(stream, (128, 128), packet_us=10_000_000)
    reports = list(run_stream(one_packet, small_ckpt, idle_reset_ms=1000))
    assert sum(r.state_reset for r in reports) == 1
    assert sum(r.events for r in reports) == len(stream)


def test_stop_does_not_hang_on_an_idle_camera(small_ckpt):
    from asa_live.events.camera import CameraSource

    from .helpers import FakeCameraApi

    class SilentCamera:
        def getEventResolution(self):  # noqa: N802 - dv's method name
            return (128, 128)

        def getCameraName(self):  # noqa: N802
            return "Silent"

        def isRunning(self):  # noqa: N802
            return True

        reads = 0

        def getNextEventBatch(self):  # noqa: N802
            SilentCamera.reads += 1
            return None  # nothing moves in front of the camera

    api = FakeCameraApi([SilentCamera()])
    api.cameras[0].serial = "S"
    worker = PipelineWorker(lambda: CameraSource(camera_api=api), small_ckpt, live=True)
    worker.start()
    _wait_until(lambda: SilentCamera.reads >= 3, what="the reader polling the silent camera")
    worker.stop(timeout=5.0)
    assert not any(t.is_alive() for t in worker._threads)


def _count_forward_calls(model):
    calls = []
    handle = model.register_forward_hook(lambda _m, args, _out: calls.append(args[0].shape[1]))
    return calls, handle


def _assert_same_reports(got, expected):
    assert [r.window for r in got] == [r.window for r in expected]
    assert [r.class_id for r in got] == [r.class_id for r in expected]
    assert [r.state_reset for r in got] == [r.state_reset for r in expected]
    assert [r.spikes for r in got] == [r.spikes for r in expected]
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a.scores, b.scores)


def test_demo_replay_is_the_same_with_and_without_batching():
    """The headless replay of the demo (shipped model, unpaced): batching windows into one
    forward call changes nothing but the number of calls."""
    from asa_live.pipeline.models import default_model_path, load_model

    from .test_recordings import DEMO

    assert default_model_path().is_file(), f"the shipped model {default_model_path()} is missing"
    ckpt = load_model(None)
    calls, handle = _count_forward_calls(ckpt.model)
    try:
        single = list(run_stream(open_replay(DEMO), ckpt, batch_windows=1))
        single_calls = len(calls)
        calls.clear()
        batched = list(run_stream(open_replay(DEMO), ckpt))
    finally:
        handle.remove()
    assert len(single) > 2000 and sum(r.class_id >= 0 for r in single) > 1000
    _assert_same_reports(batched, single)
    # the batched run really ran many windows per call, and never more than the bound
    assert len(calls) < single_calls / 4 and max(calls) == BATCH_WINDOWS
    assert all(r.latency_ms >= 0 for r in batched)


@pytest.mark.parametrize("chunk_windows", [1, 3])
def test_batched_worker_and_stream_equal_unbatched(tmp_path, recording, chunk_windows):
    """With idle resets inside the stream and K = 1 or 3, the batched unpaced paths (run_stream
    and the worker draining its queue) give the unbatched reports."""
    from asa_live.model import load_checkpoint

    from .helpers import make_checkpoint

    ckpt = load_checkpoint(make_checkpoint(tmp_path / "k.safetensors", chunk_windows=chunk_windows))
    _, events, _ = recording
    stream = _with_gap(_with_gap(events[events["t"] < 900_000], 1_200_000), 1_100_000)
    source = lambda: ArraySource(stream, (128, 128), packet_us=200_000)  # noqa: E731
    single = list(run_stream(source(), ckpt, batch_windows=1))
    assert sum(r.state_reset for r in single) == 3  # gaps reset: batches must split there
    calls, handle = _count_forward_calls(ckpt.model)
    try:
        batched = list(run_stream(source(), ckpt, batch_windows=7))
        assert max(calls) > chunk_windows  # several chunks per call
        assert max(calls) <= 7 - 7 % chunk_windows + chunk_windows
        worker = PipelineWorker(source, ckpt, lossless_results=True, max_pending_windows=64)
        worker.start()
        threaded = list(worker.iter_results())
        worker.stop()
    finally:
        handle.remove()
    _assert_same_reports(batched, single)
    _assert_same_reports(threaded, single)
    assert worker.stats(recent=False).dropped_windows == 0


def test_bad_batch_size_is_a_clear_error(small_ckpt, recording):
    path, _, _ = recording
    with pytest.raises(ConfigError, match="batch_windows must be a whole number"):
        list(run_stream(open_replay(path), small_ckpt, batch_windows=0))
    with pytest.raises(ConfigError, match="batch_windows must be a whole number"):
        PipelineWorker(lambda: open_replay(path), small_ckpt, batch_windows=2.5)


def test_queue_room_is_the_same_wall_time_at_every_speed(small_ckpt, recording):
    path, _, _ = recording
    worker = PipelineWorker(lambda: open_replay(path), small_ckpt, speed=10.0)
    assert worker.window_queue.capacity == 160  # 0.24 s of wall time at 10x, 15 ms windows
    worker.set_speed(1.0)
    assert worker.window_queue.capacity == 16
    fixed = PipelineWorker(lambda: open_replay(path), small_ckpt, speed=10.0, max_pending_windows=3)
    fixed.set_speed(1.0)
    assert fixed.window_queue.capacity == 3
