"""Events: the event dtype, sources, sensor adaptation, time binning.

numpy only (dv-processing is imported lazily by the AEDAT4 and camera sources).
"""

from asa_live.events.adapt import NoiseFilter, SensorAdapter
from asa_live.events.binning import BinnedWindow, StreamingBinner, bin_events
from asa_live.events.dtype import EVENT_DTYPE, empty_events, make_events
from asa_live.events.ibm import (
    LABEL_DTYPE,
    iter_aedat31,
    read_aedat31,
    read_labels_csv,
    read_trial_list,
    write_aedat31,
    write_labels_csv,
)
from asa_live.events.sources import (
    Aedat4FileSource,
    ArraySource,
    CameraSource,
    EventSource,
    IbmAedatSource,
    TonicNpySource,
    open_source,
)

__all__ = [
    "EVENT_DTYPE",
    "LABEL_DTYPE",
    "Aedat4FileSource",
    "ArraySource",
    "BinnedWindow",
    "CameraSource",
    "EventSource",
    "IbmAedatSource",
    "NoiseFilter",
    "SensorAdapter",
    "StreamingBinner",
    "TonicNpySource",
    "bin_events",
    "empty_events",
    "iter_aedat31",
    "make_events",
    "open_source",
    "read_aedat31",
    "read_labels_csv",
    "read_trial_list",
    "write_aedat31",
    "write_labels_csv",
]
