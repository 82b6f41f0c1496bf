"""Former home of the pipeline, kept so that ``asa_live.pipeline.runner`` imports still work.

The pipeline now lives in small stages: ingest.py (adapt + bin), inference.py (session ->
reports), drive.py (the one ingest loop), stream.py (:func:`run_stream`), queues.py and
worker.py (:class:`PipelineWorker`). Import from those (or from ``asa_live.pipeline``).
"""

from asa_live.pipeline.inference import BATCH_WINDOWS, InferenceStage
from asa_live.pipeline.ingest import DEFAULT_IDLE_RESET_MS, IngestStage, PendingWindow, StreamLimit
from asa_live.pipeline.queues import POLICIES, ResultBuffer, WindowQueue
from asa_live.pipeline.stream import run_stream
from asa_live.pipeline.worker import PipelineWorker

__all__ = [
    "BATCH_WINDOWS",
    "DEFAULT_IDLE_RESET_MS",
    "POLICIES",
    "InferenceStage",
    "IngestStage",
    "PendingWindow",
    "PipelineWorker",
    "ResultBuffer",
    "StreamLimit",
    "WindowQueue",
    "run_stream",
]
