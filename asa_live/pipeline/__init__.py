"""asa_live.pipeline: the live path, without Qt.

source -> SensorAdapter (+ NoiseFilter) -> StreamingBinner -> StreamingSession -> WindowReport.
:func:`run_stream` runs it in the caller's thread; :class:`PipelineWorker` runs it in two
threads with bounded queues, an overload policy and idle reset (see ``runner``).
"""

from asa_live.pipeline.display import EventAccumulator, render_events
from asa_live.pipeline.labels import GroundTruth, labels_path_for
from asa_live.pipeline.models import default_model_path, load_model
from asa_live.pipeline.pacing import Pacer
from asa_live.pipeline.report import WindowReport
from asa_live.pipeline.runner import (
    DEFAULT_IDLE_RESET_MS,
    POLICIES,
    InferenceStage,
    IngestStage,
    PipelineWorker,
    run_stream,
)
from asa_live.pipeline.sources import open_camera, open_replay
from asa_live.pipeline.stats import PipelineStats, RunCounters

__all__ = [
    "DEFAULT_IDLE_RESET_MS",
    "POLICIES",
    "EventAccumulator",
    "GroundTruth",
    "InferenceStage",
    "IngestStage",
    "Pacer",
    "PipelineStats",
    "PipelineWorker",
    "RunCounters",
    "WindowReport",
    "default_model_path",
    "labels_path_for",
    "load_model",
    "open_camera",
    "open_replay",
    "render_events",
    "run_stream",
]
