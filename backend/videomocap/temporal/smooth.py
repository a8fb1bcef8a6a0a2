"""Refinement in time: a global pass over the whole track and a local pass against jitter.

In the spirit of GLoT's global-to-local split, done here with filters rather than networks:

* ``smooth_landmarks`` (before fitting): a short confidence-weighted Gaussian over each landmark, so a
  single bad detection is pulled towards its neighbours in proportion to how unsure it was.
* ``smooth_fit`` (after fitting): the global pass low-passes the pelvis trajectory, with a longer window
  for depth (the least observed coordinate from a single camera); the local pass smooths every joint
  rotation as a quaternion over a short window.

Windows are given in seconds so the result does not depend on the frame rate.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..rotations import (
    axis_angle_to_quaternion,
    make_quaternions_continuous,
    quaternion_to_axis_angle,
)


def _sigma(seconds: float, fps: float) -> float:
    return max(seconds * fps, 0.0)


def smooth_landmarks(keypoints: np.ndarray, confidence: np.ndarray, fps: float,
                     seconds: float = 0.04) -> np.ndarray:
    """Confidence-weighted Gaussian smoothing over time of (N, K, C) landmark coordinates."""
    sigma = _sigma(seconds, fps)
    if sigma < 0.3 or len(keypoints) < 3:
        return keypoints.copy()
    w = np.maximum(confidence, 1e-3)[..., None]
    num = gaussian_filter1d(keypoints * w, sigma, axis=0, mode="nearest")
    den = gaussian_filter1d(np.broadcast_to(w, keypoints.shape).astype(np.float64), sigma, axis=0,
                            mode="nearest")
    return num / den


def smooth_rotations(aa: np.ndarray, fps: float, seconds: float) -> np.ndarray:
    """Gaussian smoothing of (N, ..., 3) axis-angle rotations along time, through quaternions."""
    sigma = _sigma(seconds, fps)
    if sigma < 0.3 or len(aa) < 3:
        return aa.copy()
    q = make_quaternions_continuous(axis_angle_to_quaternion(aa), axis=0)
    q = gaussian_filter1d(q, sigma, axis=0, mode="nearest")
    return quaternion_to_axis_angle(q)


def smooth_fit(fit, fps: float, trajectory_seconds: float = 0.06, depth_seconds: float = 0.15,
               rotation_seconds: float = 0.05):
    """Return a copy of a CameraFrameFit with the global and local passes applied.

    Joints and markers are *not* recomputed here; callers run forward kinematics afterwards.
    """
    transl = fit.transl.copy()
    if len(transl) >= 3:
        transl[:, :2] = gaussian_filter1d(transl[:, :2], max(_sigma(trajectory_seconds, fps), 1e-3),
                                          axis=0, mode="nearest")
        transl[:, 2] = gaussian_filter1d(transl[:, 2], max(_sigma(depth_seconds, fps), 1e-3),
                                         mode="nearest")
    return replace(
        fit,
        transl=transl,
        global_orient=smooth_rotations(fit.global_orient, fps, rotation_seconds),
        body_pose=smooth_rotations(fit.body_pose, fps, rotation_seconds),
    )
