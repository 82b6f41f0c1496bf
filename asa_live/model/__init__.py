"""asa_live.model: the ASA-SNN (Yao et al., ICCV 2023) as streaming, stateless torch modules.

torch only; no file I/O except ``checkpoint``; matplotlib is imported inside ``plots`` only.
"""

from asa_live.model.asa import ASA
from asa_live.model.checkpoint import (
    Checkpoint,
    load_checkpoint,
    read_checkpoint_metadata,
    save_checkpoint,
)
from asa_live.model.config import BinningConfig, ModelConfig
from asa_live.model.metrics import (
    CurrentDistributions,
    CurrentHistogram,
    FiringRateMeter,
    FiringRates,
    nasfr,
)
from asa_live.model.networks import AsaSnn, ForwardOutput, NetState, build_model
from asa_live.model.neurons import (
    LIF,
    PLIF,
    LIFParameters,
    PLIFParameters,
    lif_sequence,
    lif_step,
    plif_sequence,
    plif_step,
)
from asa_live.model.readout import Readout, ReadoutState, ReadoutTracker
from asa_live.model.session import StreamingSession, WindowResult

__all__ = [
    "ASA",
    "LIF",
    "PLIF",
    "AsaSnn",
    "BinningConfig",
    "Checkpoint",
    "CurrentDistributions",
    "CurrentHistogram",
    "FiringRateMeter",
    "FiringRates",
    "ForwardOutput",
    "LIFParameters",
    "ModelConfig",
    "NetState",
    "PLIFParameters",
    "Readout",
    "ReadoutState",
    "ReadoutTracker",
    "StreamingSession",
    "WindowResult",
    "build_model",
    "lif_sequence",
    "lif_step",
    "load_checkpoint",
    "nasfr",
    "plif_sequence",
    "plif_step",
    "read_checkpoint_metadata",
    "save_checkpoint",
]
