"""A synthetic walker seen by a pinhole camera: known skeleton motion for fitting and grounding."""

from __future__ import annotations

import numpy as np

from videomocap import skeleton as sk
from videomocap.body.fit_skeleton import default_intrinsics
from videomocap.body.landmark_map import POINT_NAMES, TARGET_NAMES, TARGET_POINTS, Targets
from videomocap.rotations import axis_angle_to_matrix, matrix_to_axis_angle


def walker(n=90, fps=30.0, seed=0):
    """World-frame walk (z up): swinging legs and arms, turning slowly, pelvis moving forward."""
    t = np.arange(n) / fps
    ph = 2 * np.pi * 1.0 * t
    pose = np.zeros((n, 23, 3))
    j = lambda name: sk.JOINT_INDEX[name] - 1  # noqa: E731
    pose[:, j("left_hip"), 0] = -0.45 * np.sin(ph)
    pose[:, j("right_hip"), 0] = 0.45 * np.sin(ph)
    pose[:, j("left_knee"), 0] = 0.7 * np.maximum(0, np.sin(ph + 1.2))
    pose[:, j("right_knee"), 0] = 0.7 * np.maximum(0, -np.sin(ph + 1.2))
    pose[:, j("left_shoulder"), 2] = -1.2
    pose[:, j("right_shoulder"), 2] = 1.2
    pose[:, j("left_elbow"), 1] = -0.4
    pose[:, j("right_elbow"), 1] = 0.4
    yaw = 0.3 * t
    orient = axis_angle_to_matrix(np.stack([0 * yaw, 0 * yaw, yaw], 1)) @ sk.REST_ORIENT_WORLD
    heading = np.stack([np.sin(yaw), -np.cos(yaw)], 1)
    xy = np.cumsum(heading * 1.2 / fps, axis=0)
    transl = np.concatenate([xy, np.full((n, 1), 0.95)], axis=1)
    bones = sk.TEMPLATE_BONE_LENGTHS * 1.03
    return matrix_to_axis_angle(orient), pose, transl, bones


def camera(tilt_deg=15.0, height=1.6, distance=5.0):
    """World-from-camera rotation and centre for a camera looking along +y, tilted down."""
    a = np.radians(tilt_deg)
    # camera axes in world: x right, y down, z forward
    fwd = np.array([0.0, np.cos(a), -np.sin(a)])
    right = np.array([1.0, 0.0, 0.0])
    down = np.cross(fwd, right)
    R = np.stack([right, down, fwd], axis=1)
    return R, np.array([0.5, -distance, height])


def observe(orient, pose, transl, bones, R, c, width=640, height=480, noise_px=1.0,
            noise_m=0.02, seed=0):
    """Project the walker: Targets as the landmark stage would give them (camera frame)."""
    rng = np.random.default_rng(seed)
    joints, _, marks = sk.forward_kinematics(orient, pose, transl, bones, markers=True)
    pts = np.concatenate([joints, np.stack([marks[n] for n in POINT_NAMES[24:]], 1)], 1)
    cam = (pts - c) @ R  # world -> camera
    tp = cam[:, TARGET_POINTS]
    K = default_intrinsics(width, height)
    uv = tp @ K.T
    p2 = uv[..., :2] / uv[..., 2:] + rng.normal(0, noise_px, tp.shape[:2] + (2,))
    p3 = tp - tp[:, :1] + rng.normal(0, noise_m, tp.shape)
    return Targets(p2, p3, np.ones(p2.shape[:2])), K, cam[:, :24], joints


__all__ = ["walker", "camera", "observe", "TARGET_NAMES"]
