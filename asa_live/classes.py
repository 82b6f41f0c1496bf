"""The 11 DVS128 Gesture classes, in the dataset's order (CSV class 1..11 -> index 0..10)."""

from __future__ import annotations

GESTURE_CLASSES: tuple[str, ...] = (
    "hand_clapping",
    "right_hand_wave",
    "left_hand_wave",
    "right_arm_clockwise",
    "right_arm_counter_clockwise",
    "left_arm_clockwise",
    "left_arm_counter_clockwise",
    "arm_roll",
    "air_drums",
    "air_guitar",
    "other_gestures",
)

NUM_GESTURE_CLASSES = len(GESTURE_CLASSES)
