"""Camera motion: static-camera detection and camera rotation from the background."""

from .estimate_motion import (CameraMotion, CameraMotionEstimator, camera_poses, fit_in_reference,
                              rotation_from_correspondences)

__all__ = ["CameraMotion", "CameraMotionEstimator", "camera_poses", "fit_in_reference",
           "rotation_from_correspondences"]
