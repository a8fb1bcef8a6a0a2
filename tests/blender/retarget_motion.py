"""A synthetic capture for the retarget tests: the bench's walk with every joint also swinging
(arms, spine, neck, wrists: smooth sines of different frequencies, up to ~0.5 rad), the body
turning about the vertical while it walks, and contacts where a foot is at its lowest, so a live
foot lock acts on the capture armature."""

from __future__ import annotations

import numpy as np

from videomocap import skeleton
from videomocap.bench.speed import _long_motion
from videomocap.rotations import axis_angle_to_matrix, matrix_to_axis_angle


def moving_walk(n: int, seed: int = 0):
    motion = _long_motion(n)
    p = motion.people[0]
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 30.0
    pose = p.body_pose.copy()
    legs = {skeleton.JOINT_INDEX[f"{s}_{j}"] - 1 for s in ("left", "right")
            for j in ("hip", "knee")}
    for j in range(23):
        if j in legs:
            continue
        amp = rng.uniform(0.1, 0.5, size=3)
        freq = rng.uniform(0.2, 1.0, size=3)
        phase = rng.uniform(0, 2 * np.pi, size=3)
        pose[:, j] += amp * np.sin(2 * np.pi * freq * t[:, None] + phase)
    yaw = 0.8 * np.sin(2 * np.pi * 0.15 * t)
    turn = axis_angle_to_matrix(np.stack([0 * yaw, 0 * yaw, yaw], axis=1))
    orient = turn @ skeleton.REST_ORIENT_WORLD
    p.global_orient = matrix_to_axis_angle(orient)
    p.body_pose = pose
    p.transl = p.transl.copy()
    p.transl[:, 0] = 0.3 * np.sin(2 * np.pi * 0.1 * t)
    p.joints = skeleton.forward_kinematics(p.global_orient, pose, p.transl, p.bone_lengths)[0]
    from videomocap_addon.core import contact_phases as cp

    for side, (heel, toe) in cp.CONTACT_CHANNELS.items():
        ankle, ball = cp.LEG_JOINTS[side][2], cp.LEG_JOINTS[side][3]
        za, zb = p.joints[:, ankle, 2], p.joints[:, ball, 2]
        p.contact[:, heel] = (za < np.percentile(za, 30)).astype(np.float32)
        p.contact[:, toe] = (zb < np.percentile(zb, 30)).astype(np.float32)
    return motion
