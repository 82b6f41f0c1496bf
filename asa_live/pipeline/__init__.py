"""asa_live.pipeline: the live path, without Qt.

SourceSpec.open() -> drive() [Pacer -> IngestStage: SensorAdapter (+ NoiseFilter) ->
StreamingBinner] -> InferenceStage [StreamingSession -> readout] -> WindowReport.
:func:`run_stream` runs it in the caller's thread; :class:`PipelineWorker` runs it in two
threads with bounded queues, an overload policy and idle reset (docs/architecture.md).
"""

from asa_live.pipeline.display import EventAccumulator, render_events
from asa_live.pipeline.drive import drive
from asa_live.pipeline.inference import BATCH_WINDOWS, InferenceStage
from asa_live.pipeline.ingest import DEFAULT_IDLE_RESET_MS, IngestStage, PendingWindow
from asa_live.pipeline.labels import GroundTruth, labels_path_for
from asa_live.pipeline.models import default_model_path, load_model
from asa_live.pipeline.pacing import Pacer
from asa_live.pipeline.queues import POLICIES
from asa_live.pipeline.report import WindowReport
from asa_live.pipeline.sources import LoopingSource, SourceSpec, open_camera, open_replay
from asa_live.pipeline.stats import PipelineStats, RunCounters
from asa_live.pipeline.stream import run_stream
from asa_live.pipeline.worker import PipelineWorker

__all__ = [
    "BATCH_WINDOWS",
    "DEFAULT_IDLE_RESET_MS",
    "POLICIES",
    "EventAccumulator",
    "GroundTruth",
    "InferenceStage",
    "IngestStage",
    "LoopingSource",
    "Pacer",
    "PendingWindow",
    "PipelineStats",
    "PipelineWorker",
    "RunCounters",
    "SourceSpec",
    "WindowReport",
    "default_model_path",
    "drive",
    "labels_path_for",
    "load_model",
    "open_camera",
    "open_replay",
    "render_events",
    "run_stream",
]
