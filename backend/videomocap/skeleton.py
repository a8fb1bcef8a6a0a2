"""The SMPL-topology skeleton: joint names, hierarchy, rest template and forward kinematics.

One module used by the backend (fitting, world grounding, metrics) and by the Blender extension
(armature building), numpy only.

Frames
------
* **Body frame** (the frame the rest template and every local joint rotation are expressed in) is
  SMPL's canonical frame: +y up, +z the direction the body faces, +x the body's left. Joint
  rotations in a motion file are therefore directly comparable with SMPL ``body_pose``.
* **World frame** is Blender's: z up, ground at z = 0. ``global_orient`` maps the body frame into the
  world frame, so a person standing upright and facing the viewer of Blender's front view (-y) has
  ``global_orient == REST_ORIENT_WORLD`` (+90 degrees about x), not the identity.

The rest template is written by hand for an adult of about 1.75 m (proportions from standard
anthropometric tables); it is not derived from any SMPL model file. A captured person keeps the
template's bone *directions* and gets their own bone *lengths* (``bone_lengths``, one per non-root
joint), so a skeleton is fully described by those 23 numbers.
"""

from __future__ import annotations

import numpy as np

from .rotations import axis_angle_to_matrix

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
    "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar",
    "right_collar", "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hand", "right_hand",
)
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}

PARENTS: tuple[int, ...] = (
    -1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21,
)

CONTACT_NAMES: tuple[str, ...] = ("left_heel", "left_toe", "right_heel", "right_toe")

# Rest positions in the body frame (metres; y up, z forward, x = body's left), T-pose.
_HALF_TEMPLATE = {
    "pelvis": (0.0, 0.940, 0.000),
    "left_hip": (0.095, 0.880, 0.000),
    "spine1": (0.0, 1.050, -0.015),
    "left_knee": (0.100, 0.490, 0.010),
    "spine2": (0.0, 1.180, -0.010),
    "left_ankle": (0.105, 0.085, -0.030),
    "spine3": (0.0, 1.250, 0.000),
    "left_foot": (0.115, 0.025, 0.110),
    "neck": (0.0, 1.450, -0.015),
    "left_collar": (0.075, 1.370, -0.005),
    "head": (0.0, 1.575, 0.010),
    "left_shoulder": (0.180, 1.400, -0.020),
    "left_elbow": (0.440, 1.400, -0.030),
    "left_wrist": (0.690, 1.400, -0.030),
    "left_hand": (0.780, 1.400, -0.030),
}


def _mirror_template() -> np.ndarray:
    rest = np.zeros((NUM_JOINTS, 3))
    for name, pos in _HALF_TEMPLATE.items():
        rest[JOINT_INDEX[name]] = pos
        if name.startswith("left_"):
            rest[JOINT_INDEX["right_" + name[5:]]] = (-pos[0], pos[1], pos[2])
    return rest


#: (24, 3) rest joint positions of the template, body frame.
REST_JOINTS: np.ndarray = _mirror_template()

#: (24, 3) offset of each joint from its parent in the rest pose (row 0: pelvis position itself).
REST_OFFSETS: np.ndarray = REST_JOINTS - np.where(
    np.array(PARENTS)[:, None] >= 0, REST_JOINTS[np.maximum(PARENTS, 0)], 0.0
)

#: (23,) template bone lengths (joint 1..23 to its parent).
TEMPLATE_BONE_LENGTHS: np.ndarray = np.linalg.norm(REST_OFFSETS[1:], axis=1)

#: Body frame -> world frame for a person standing upright facing -y (Blender's front view).
REST_ORIENT_WORLD: np.ndarray = np.array(
    [[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]
)

# Points rigidly attached to a joint (body-frame offsets at rest), used for fitting and contacts.
# Heels and toes sit on the sole, so in contact they touch the ground. The head joint sits where
# MediaPipe puts the middle of the ears, and the nose 3 cm below and 12 cm in front of it (medians
# of MediaPipe's world landmarks on the sample walk: ears 18 cm above the shoulder line, nose 3 cm
# below the ears); a nose placed above the ears made every fitted head look down by ~30 degrees.
MARKERS: dict[str, tuple[int, tuple[float, float, float]]] = {
    "left_heel": (JOINT_INDEX["left_ankle"], (0.0, -0.075, -0.055)),
    "right_heel": (JOINT_INDEX["right_ankle"], (0.0, -0.075, -0.055)),
    "left_toe": (JOINT_INDEX["left_foot"], (0.005, -0.015, 0.060)),
    "right_toe": (JOINT_INDEX["right_foot"], (-0.005, -0.015, 0.060)),
    "nose": (JOINT_INDEX["head"], (0.0, -0.030, 0.115)),
}


def offsets_from_bone_lengths(bone_lengths: np.ndarray) -> np.ndarray:
    """(..., 23) bone lengths -> (..., 24, 3) parent offsets with the template's directions.

    Row 0 (the pelvis, which has no parent) is zero: the pelvis sits at ``transl``.
    """
    bone_lengths = np.asarray(bone_lengths, dtype=np.float64)
    directions = REST_OFFSETS[1:] / TEMPLATE_BONE_LENGTHS[:, None]
    offsets = np.zeros(bone_lengths.shape[:-1] + (NUM_JOINTS, 3))
    offsets[..., 1:, :] = directions * bone_lengths[..., :, None]
    return offsets


def rest_joints_from_bone_lengths(bone_lengths: np.ndarray) -> np.ndarray:
    """(23,) bone lengths -> (24, 3) rest joint positions in the body frame, pelvis at origin."""
    offsets = offsets_from_bone_lengths(bone_lengths)
    joints = np.zeros((NUM_JOINTS, 3))
    for j in range(1, NUM_JOINTS):
        joints[j] = joints[PARENTS[j]] + offsets[j]
    return joints


def marker_offsets(bone_lengths: np.ndarray) -> dict[str, tuple[int, np.ndarray]]:
    """Marker offsets scaled with the person's leg length relative to the template."""
    scale = _leg_scale(bone_lengths)
    return {name: (j, np.asarray(off) * scale) for name, (j, off) in MARKERS.items()}


def _leg_scale(bone_lengths: np.ndarray) -> float:
    legs = [JOINT_INDEX[n] - 1 for n in ("left_knee", "left_ankle", "right_knee", "right_ankle")]
    return float(np.sum(np.asarray(bone_lengths)[legs]) / np.sum(TEMPLATE_BONE_LENGTHS[legs]))


def forward_kinematics(
    global_orient: np.ndarray,
    body_pose: np.ndarray,
    transl: np.ndarray,
    bone_lengths: np.ndarray,
    markers: bool = False,
):
    """World joint positions and rotations.

    Args:
        global_orient: (N, 3) axis-angle, body frame -> world.
        body_pose: (N, 23, 3) local axis-angle rotations.
        transl: (N, 3) pelvis position in the world.
        bone_lengths: (23,) the person's skeleton.
        markers: also return the marker positions (dict name -> (N, 3)).

    Returns:
        joints (N, 24, 3), world rotations (N, 24, 3, 3)[, markers].
    """
    global_orient = np.asarray(global_orient, dtype=np.float64)
    n = global_orient.shape[0]
    local = np.empty((n, NUM_JOINTS, 3, 3))
    local[:, 0] = axis_angle_to_matrix(global_orient)
    local[:, 1:] = axis_angle_to_matrix(np.asarray(body_pose, dtype=np.float64))
    offsets = offsets_from_bone_lengths(bone_lengths)
    rot = np.empty_like(local)
    pos = np.empty((n, NUM_JOINTS, 3))
    rot[:, 0] = local[:, 0]
    pos[:, 0] = np.asarray(transl, dtype=np.float64)
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        rot[:, j] = rot[:, p] @ local[:, j]
        pos[:, j] = pos[:, p] + rot[:, p] @ offsets[j]
    if not markers:
        return pos, rot
    marks = {
        name: pos[:, j] + rot[:, j] @ off for name, (j, off) in marker_offsets(bone_lengths).items()
    }
    return pos, rot, marks
