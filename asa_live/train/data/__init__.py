"""Training data: DVS128 Gesture (IBM raw or tonic layout) and synthetic gestures as binned,
cached, labelled sequences, and the datasets that sample them.

Modules, one job each:

* :mod:`.config` - :class:`DataConfig`, the typed, frozen settings of the loaders;
* :mod:`.sequences` - :class:`LabelledSequence`, :class:`DataSplit`, segment helpers;
* :mod:`.frames` - a recording's events -> uint16 frames on a fixed window grid;
* :mod:`.cache` - :class:`FrameCache`, frames on disk keyed by binning + source identity;
* :mod:`.ibm`, :mod:`.tonic`, :mod:`.synthetic` - the three loaders (events read by
  asa_live.events, the readers of the live path);
* :mod:`.splits` - picks the loader for ``--data`` / ``--data-root``;
* :mod:`.pool` - worker processes for binning;
* :mod:`.datasets` - clip sampling, :class:`ClipDataset`, :class:`StreamDataset`;
* :mod:`.targets` - per-window targets with a "no gesture" output;
* :mod:`.recordings` - :class:`EventRecording`, whole recordings as events in memory;
* :mod:`.folder` - a recordings folder (classes.txt) split into train / validation;
* :mod:`.negatives` - recordings with no gesture (``--negatives``);
* :mod:`.event_stream` - :class:`EventStreamDataset`, augmented runs binned per item.
"""

from asa_live.train.data.cache import CACHE_FORMAT, FrameCache, file_identity
from asa_live.train.data.config import DATA_KINDS, DataConfig
from asa_live.train.data.datasets import (
    ClipDataset,
    StreamDataset,
    crop,
    even_clip_starts,
    random_crop,
)
from asa_live.train.data.event_stream import EventStreamDataset
from asa_live.train.data.folder import FolderData, load_folder
from asa_live.train.data.frames import bin_recording, bin_to_grid
from asa_live.train.data.ibm import load_ibm_split
from asa_live.train.data.negatives import load_negatives
from asa_live.train.data.recordings import EventRecording, read_events, to_sequence
from asa_live.train.data.sequences import (
    SEGMENT_DTYPE,
    DataSplit,
    LabelledSequence,
    segments_of,
)
from asa_live.train.data.splits import (
    detect_layout,
    load_split,
    load_splits,
    load_train_recordings,
)
from asa_live.train.data.synthetic import TEST_SEED_BASE, TRAIN_SEED_BASE, make_synthetic_split
from asa_live.train.data.targets import grace_windows, stream_targets
from asa_live.train.data.tonic import load_tonic_split, read_tonic_npy

__all__ = [
    "CACHE_FORMAT",
    "DATA_KINDS",
    "SEGMENT_DTYPE",
    "TEST_SEED_BASE",
    "TRAIN_SEED_BASE",
    "ClipDataset",
    "DataConfig",
    "DataSplit",
    "EventRecording",
    "EventStreamDataset",
    "FolderData",
    "FrameCache",
    "LabelledSequence",
    "StreamDataset",
    "bin_recording",
    "bin_to_grid",
    "crop",
    "detect_layout",
    "even_clip_starts",
    "file_identity",
    "grace_windows",
    "load_folder",
    "load_ibm_split",
    "load_negatives",
    "load_train_recordings",
    "read_events",
    "stream_targets",
    "to_sequence",
    "load_split",
    "load_splits",
    "load_tonic_split",
    "make_synthetic_split",
    "random_crop",
    "read_tonic_npy",
    "segments_of",
]
