"""From motion-file rotations to Blender pose-bone channels, and the armature's rest layout.

Motion files hold SMPL-style rotations: each joint's rotation relative to its parent, expressed in
the body frame (y up, z forward), and a root rotation from the body frame to the world. A Blender
pose bone instead rotates about its own rest axes (y along the bone, with its roll). With ``C`` the
rest orientation of the body in the world (``skeleton.REST_ORIENT_WORLD``) and ``B_j`` the rest
matrix of bone j in armature space (``bone.matrix_local``), the bone's quaternion channel is

    L_j = B_j^T  C R_j C^T  B_j          (every joint but the root)
    L_0 = B_0^T  G  C^T  B_0             (root, G = global_orient as a matrix)

and the root's location channel is ``B_0^T (transl - rest_head_0)``. The armature object itself
stays at the origin with no rotation, so armature space is world space.
"""

from __future__ import annotations

import numpy as np

from .shared import rotations, skeleton

# Bone tails: a bone points at its main child; leaves point along a fixed body-frame direction.
MAIN_CHILD = {"pelvis": "spine1", "spine3": "neck"}
_LEAF_TAILS = {  # body-frame vectors, as fractions of the person's height unit (metres)
    "head": (0.0, 0.20, 0.02),
    "left_foot": (0.0, -0.01, 0.07),
    "right_foot": (0.0, -0.01, 0.07),
    "left_hand": (0.08, 0.0, 0.0),
    "right_hand": (-0.08, 0.0, 0.0),
}


def rest_layout(bone_lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World-space rest heads and tails (24, 3) for an armature standing on z = 0 facing -y."""
    names = skeleton.JOINT_NAMES
    body = skeleton.rest_joints_from_bone_lengths(bone_lengths)
    _, _, marks = skeleton.forward_kinematics(
        np.zeros((1, 3)), np.zeros((1, 23, 3)), np.zeros((1, 3)), bone_lengths, markers=True)
    sole = min(float(m[0, 1]) for m in marks.values())  # body y of the lowest sole point
    heads = body.copy()
    children: dict[int, list[int]] = {}
    for j, p in enumerate(skeleton.PARENTS):
        if p >= 0:
            children.setdefault(p, []).append(j)
    scale = float(np.sum(bone_lengths) / np.sum(skeleton.TEMPLATE_BONE_LENGTHS))
    tails = np.empty_like(heads)
    for j, name in enumerate(names):
        kids = children.get(j, [])
        if name in MAIN_CHILD:
            tails[j] = body[names.index(MAIN_CHILD[name])]
        elif len(kids) == 1:
            tails[j] = body[kids[0]]
        else:
            tails[j] = body[j] + np.asarray(_LEAF_TAILS[name]) * scale
    c = skeleton.REST_ORIENT_WORLD
    lift = np.array([0.0, 0.0, -sole])
    return heads @ c.T + lift, tails @ c.T + lift


def bone_quaternions(global_orient: np.ndarray, body_pose: np.ndarray,
                     bone_rest: np.ndarray) -> np.ndarray:
    """(N, 3), (N, 23, 3), (24, 3, 3) rest matrices -> (N, 24, 4) Blender quaternions (w, x, y, z).

    Signs are made continuous in time, so Blender's per-channel interpolation never flips.
    """
    c = skeleton.REST_ORIENT_WORLD
    n = global_orient.shape[0]
    local = np.empty((n, skeleton.NUM_JOINTS, 3, 3))
    local[:, 0] = rotations.axis_angle_to_matrix(global_orient) @ c.T
    local[:, 1:] = c @ rotations.axis_angle_to_matrix(body_pose) @ c.T
    bt = np.swapaxes(bone_rest, -1, -2)
    blender = bt[None] @ local @ bone_rest[None]
    quats = rotations.matrix_to_quaternion(blender)
    return rotations.make_quaternions_continuous(quats, axis=0)


def root_locations(transl: np.ndarray, root_rest: np.ndarray, root_head: np.ndarray) -> np.ndarray:
    """(N, 3) pelvis positions -> (N, 3) location channel of the root bone."""
    return (np.asarray(transl) - root_head) @ root_rest


def visibility_keys(frame_ids: np.ndarray, fps: float, gap_seconds: float = 0.5
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Keys (frames, hidden 0/1) that hide a person outside the frames they were seen in.

    Gaps shorter than ``gap_seconds`` stay visible (the motion is interpolated there); longer
    ones hide the person from the frame after their last sighting to the frame of the next one.
    Meant for constant interpolation, on source-frame numbers.
    """
    frame_ids = np.asarray(frame_ids, dtype=np.int64)
    frames, hidden = [frame_ids[0] - 1, frame_ids[0]], [1.0, 0.0]
    gaps = np.nonzero(np.diff(frame_ids) > max(1, int(round(gap_seconds * fps))))[0]
    for g in gaps:
        frames += [frame_ids[g] + 1, frame_ids[g + 1]]
        hidden += [1.0, 0.0]
    frames.append(frame_ids[-1] + 1)
    hidden.append(1.0)
    return np.asarray(frames), np.asarray(hidden)
