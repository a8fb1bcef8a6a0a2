"""How MediaPipe's 33 pose landmarks constrain the SMPL-topology skeleton.

Each *target* is a point of our skeleton (a joint or a marker of ``skeleton.MARKERS``) paired with a
weighted mean of landmarks that observes it. Joints without a landmark of their own (the spine chain,
the collars, the neck) are left to the fit and its priors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..skeleton import (
    JOINT_INDEX, JOINT_NAMES, MARKERS, REST_JOINTS, REST_OFFSETS, TEMPLATE_BONE_LENGTHS,
)

# MediaPipe pose landmark indices (the 33-point BlazePose topology).
MP = {
    "nose": 0, "left_ear": 7, "right_ear": 8, "left_shoulder": 11, "right_shoulder": 12,
    "left_elbow": 13, "right_elbow": 14, "left_wrist": 15, "right_wrist": 16, "left_pinky": 17,
    "right_pinky": 18, "left_index": 19, "right_index": 20, "left_hip": 23, "right_hip": 24,
    "left_knee": 25, "right_knee": 26, "left_ankle": 27, "right_ankle": 28, "left_heel": 29,
    "right_heel": 30, "left_foot_index": 31, "right_foot_index": 32,
}
NUM_LANDMARKS = 33

# Skeleton point -> {landmark: weight}
_TARGETS: dict[str, dict[str, float]] = {
    "pelvis": {"left_hip": 0.5, "right_hip": 0.5},
    "head": {"left_ear": 0.5, "right_ear": 0.5},
    "nose": {"nose": 1.0},
}
for _side in ("left", "right"):
    for _j in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist"):
        _TARGETS[f"{_side}_{_j}"] = {f"{_side}_{_j}": 1.0}
    _TARGETS[f"{_side}_hand"] = {f"{_side}_index": 0.5, f"{_side}_pinky": 0.5}
    _TARGETS[f"{_side}_heel"] = {f"{_side}_heel": 1.0}
    _TARGETS[f"{_side}_toe"] = {f"{_side}_foot_index": 1.0}

#: Names of the skeleton points in fit order: the 24 joints, then the markers.
POINT_NAMES: tuple[str, ...] = JOINT_NAMES + tuple(MARKERS)
TARGET_NAMES: tuple[str, ...] = tuple(_TARGETS)
#: Index of each target in POINT_NAMES.
TARGET_POINTS: np.ndarray = np.array([POINT_NAMES.index(n) for n in TARGET_NAMES])


def _weight_matrix() -> np.ndarray:
    w = np.zeros((len(TARGET_NAMES), NUM_LANDMARKS))
    for row, name in enumerate(TARGET_NAMES):
        for lm, wt in _TARGETS[name].items():
            w[row, MP[lm]] = wt
    return w


#: (T, 33) landmark -> target mixing weights.
TARGET_WEIGHTS: np.ndarray = _weight_matrix()


@dataclass
class Targets:
    """Per-frame observations of the skeleton's target points for one person."""

    points2d: np.ndarray  # (N, T, 2) pixels
    points3d: np.ndarray  # (N, T, 3) metres, pelvis-relative, camera axes
    confidence: np.ndarray  # (N, T) in [0, 1]


def targets_from_landmarks(keypoints2d: np.ndarray, keypoints3d: np.ndarray) -> Targets:
    """Mix (N, 33, 3) image landmarks (x, y, conf) and world landmarks into skeleton targets.

    A target's confidence is the smallest confidence of the landmarks it mixes.
    """
    w = TARGET_WEIGHTS
    points2d = np.einsum("tl,nlc->ntc", w, keypoints2d[..., :2])
    points3d = np.einsum("tl,nlc->ntc", w, keypoints3d)
    pelvis = points3d[:, TARGET_NAMES.index("pelvis")]
    points3d = points3d - pelvis[:, None]
    conf = keypoints2d[..., 2]
    masked = np.where(w[None] > 0, conf[:, None, :], np.inf)
    confidence = np.clip(np.min(masked, axis=2), 0.0, 1.0)
    return Targets(points2d=points2d, points3d=points3d, confidence=confidence)


def _pair_length(kp3d: np.ndarray, conf: np.ndarray, a: str, b: str) -> tuple[float, float]:
    """Robust (median) distance between two landmarks over well-seen frames, and its support."""
    ia, ib = MP[a], MP[b]
    good = np.minimum(conf[:, ia], conf[:, ib]) > 0.5
    if good.sum() < 3:
        good = np.ones(len(kp3d), dtype=bool)
    d = np.linalg.norm(kp3d[good, ia] - kp3d[good, ib], axis=1)
    return float(np.median(d)), float(good.mean())


def estimate_bone_lengths(keypoints2d: np.ndarray, keypoints3d: np.ndarray) -> np.ndarray:
    """One skeleton per person: (23,) bone lengths from the metric world landmarks of all frames.

    Left and right limbs share their length (people are nearly symmetric and averaging halves the
    noise). Bones no landmark pair spans (spine chain, neck, head, collars, feet, hands) are the
    template's, scaled by the measured torso, shoulder or leg size.
    """
    conf = keypoints2d[..., 2]
    lengths = TEMPLATE_BONE_LENGTHS.copy()

    def both(part_a: str, part_b: str) -> float:
        ll, _ = _pair_length(keypoints3d, conf, f"left_{part_a}", f"left_{part_b}")
        rl, _ = _pair_length(keypoints3d, conf, f"right_{part_a}", f"right_{part_b}")
        return 0.5 * (ll + rl)

    def setpair(joint: str, value: float) -> None:
        for side in ("left", "right"):
            lengths[JOINT_INDEX[f"{side}_{joint}"] - 1] = value

    def tmpl(joint: str) -> float:
        return float(TEMPLATE_BONE_LENGTHS[JOINT_INDEX[joint] - 1])

    hip_width, _ = _pair_length(keypoints3d, conf, "left_hip", "right_hip")
    # The template hip bone points down and out; its sideways part is half the hip width.
    hip_dir_x = abs(REST_OFFSETS[JOINT_INDEX["left_hip"], 0]) / tmpl("left_hip")
    setpair("hip", 0.5 * hip_width / hip_dir_x)
    thigh = both("hip", "knee")
    shin = both("knee", "ankle")
    setpair("knee", thigh)
    setpair("ankle", shin)
    leg_scale = (thigh + shin) / (tmpl("left_knee") + tmpl("left_ankle"))
    setpair("foot", tmpl("left_foot") * leg_scale)

    upper = both("shoulder", "elbow")
    fore = both("elbow", "wrist")
    setpair("elbow", upper)
    setpair("wrist", fore)
    arm_scale = (upper + fore) / (tmpl("left_elbow") + tmpl("left_wrist"))
    setpair("hand", tmpl("left_hand") * arm_scale)

    # Torso: pelvis (mid-hip) to mid-shoulder, against the template's same distance.
    good = np.min(conf[:, [MP["left_hip"], MP["right_hip"], MP["left_shoulder"],
                           MP["right_shoulder"]]], axis=1) > 0.5
    if good.sum() < 3:
        good = np.ones(len(conf), dtype=bool)
    mid_hip = 0.5 * (keypoints3d[good, MP["left_hip"]] + keypoints3d[good, MP["right_hip"]])
    mid_sh = 0.5 * (keypoints3d[good, MP["left_shoulder"]] + keypoints3d[good, MP["right_shoulder"]])
    torso = float(np.median(np.linalg.norm(mid_sh - mid_hip, axis=1)))
    tmpl_torso = float(np.linalg.norm(
        0.5 * (REST_JOINTS[JOINT_INDEX["left_shoulder"]] + REST_JOINTS[JOINT_INDEX["right_shoulder"]])
        - REST_JOINTS[0]))
    torso_scale = torso / tmpl_torso
    for j in ("spine1", "spine2", "spine3", "neck", "head"):
        lengths[JOINT_INDEX[j] - 1] = tmpl(j) * torso_scale

    shoulder_width, _ = _pair_length(keypoints3d, conf, "left_shoulder", "right_shoulder")
    tmpl_width = 2.0 * abs(REST_JOINTS[JOINT_INDEX["left_shoulder"], 0])
    width_scale = shoulder_width / tmpl_width
    setpair("collar", tmpl("left_collar") * width_scale)
    setpair("shoulder", tmpl("left_shoulder") * width_scale)
    # Guard against degenerate measurements (a person seen in a few bad frames).
    return np.clip(lengths, 0.4 * TEMPLATE_BONE_LENGTHS, 2.0 * TEMPLATE_BONE_LENGTHS)
