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

# The abstaining outcome: no gesture is being performed (idle person, empty scene, noise).
# It is never one of a checkpoint's class names; the decision rule returns it with class id -1.
NO_GESTURE = "no_gesture"
NO_GESTURE_ID = -1

# Hand swipes, named from the subject's point of view (the subject faces the camera, so a
# swipe_left moves towards the image's right edge, +x). Not part of the 11-class models: they
# exist so that the teach loop (record, fine-tune, replay) can be tested without a camera.
SWIPE_CLASSES: tuple[str, ...] = ("swipe_left", "swipe_right", "swipe_up", "swipe_down")
