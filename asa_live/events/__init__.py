"""Events: the event dtype, sources, sensor adaptation, time binning, synthetic gestures.

numpy only (dv-processing is imported lazily by the AEDAT4 and camera sources).
"""

from asa_live.events.dtype import EVENT_DTYPE, empty_events, make_events

__all__ = ["EVENT_DTYPE", "empty_events", "make_events"]
