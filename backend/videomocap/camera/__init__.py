"""Camera motion: static-camera detection, camera rotation and focal length from the background,
translation from the ground plane, and placing people in one world with it."""

from .estimate_motion import (CameraMotion, CameraMotionEstimator, add_ground_translation,
                              camera_poses, fit_in_reference, rotation_from_correspondences)
from .place import place_people

__all__ = ["CameraMotion", "CameraMotionEstimator", "add_ground_translation", "camera_poses",
           "fit_in_reference", "place_people", "rotation_from_correspondences"]
