"""Synthetic DVS128-Gesture-like event streams (see docs/synthetic.md).

A person facing a 128x128 DVS performs the 11 gesture classes of
:data:`asa_live.classes.GESTURE_CLASSES`; an articulated figure is rendered at a few hundred
frames per second and a DVS pixel model turns the frames into events.

* :func:`generate_sample` - one gesture, events only.
* :func:`generate_recording` - several gestures in a row with idle gaps, plus labels.
* :func:`generate_negative` - a "no gesture" stream of one of :data:`NEGATIVE_KINDS`.
* :data:`SYNTH_CLASSES` - the 11 gestures then the 4 swipes (class indices 0..14).
* ``randomize=1`` (a :class:`SceneParams` field) turns on domain randomisation.
* :func:`write_ibm_dataset` / :func:`write_tonic_dataset` - whole datasets in IBM's raw
  layout and in tonic's layout.

Seeds: training 0..99_999 (:data:`TRAIN_SEEDS`), held-out test 100_000..199_999
(:data:`TEST_SEEDS`), the bundled demo recording :data:`DEMO_SEED` = 900_000 and up.
"""

from asa_live.synth.dataset import write_ibm_dataset, write_tonic_dataset
from asa_live.synth.negatives import NEGATIVE_KINDS, generate_negative
from asa_live.synth.recording import (
    DEMO_SEED,
    TEST_SEEDS,
    TRAIN_SEEDS,
    generate_recording,
    generate_sample,
)
from asa_live.synth.scene import LIGHTING_TAGS, SceneParams
from asa_live.synth.swipes import SYNTH_CLASSES

__all__ = [
    "DEMO_SEED",
    "LIGHTING_TAGS",
    "NEGATIVE_KINDS",
    "SYNTH_CLASSES",
    "TEST_SEEDS",
    "TRAIN_SEEDS",
    "SceneParams",
    "generate_negative",
    "generate_recording",
    "generate_sample",
    "write_ibm_dataset",
    "write_tonic_dataset",
]
