"""Detect stage: multi-person 2D + 3D body keypoints per frame (MediaPipe pose landmarker).

Importing this package does not import mediapipe; the detector does when it is created.
"""

from .landmarker import LANDMARK_NAMES, NUM_LANDMARKS, FrameDetections, PoseDetector, detect_people
from .task_bundle import default_cache_dir, ensure_task_bundle

__all__ = [
    "LANDMARK_NAMES",
    "NUM_LANDMARKS",
    "FrameDetections",
    "PoseDetector",
    "detect_people",
    "default_cache_dir",
    "ensure_task_bundle",
]
