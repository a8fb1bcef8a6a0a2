"""The foot lock's legs in numpy (bpy-free): what Blender's IK and Copy Rotation constraints make
of a leg, so the locked pose can be read without evaluating the depsgraph frame by frame.

The lock (``build.foot_lock``) puts on each leg an IK constraint on the shin (chain of 2, tip at
the ankle, no stretch, a pole target, pole angle 90 degrees, Blender's legacy solver) and a Copy
Rotation (world space) on the foot, both with keyed influence. Blender then does, per frame:

* **IK, full influence**: the chain reaches the target (the lock keeps it within reach) with the
  knee in the plane of hip, target and pole, on the pole's side; the solver's pole step turns the
  chain about the hip-target line until the hip bone's local z axis points at the pole, so the
  thigh's twist is set too: its z axis lies in that plane, square to the thigh. The shin turns
  from its FK orientation (carried by the new thigh) by the smallest swing onto the new shin
  direction;
* **IK, partial influence** ``w`` (with a pole target Blender blends the solver's *result*, not
  the target): each bone's rotation change in its own frame ``B`` becomes ``slerp(I, B, w)``;
* **Copy Rotation** with influence ``w``: the foot's world rotation is slerped from its IK-carried
  one towards the target's by ``w``; its position stays where the shin puts it.

Against Blender 5.0 on the retarget tests' walk: ankles within 0.1 mm, knees within 1 mm (the
iterative solver stops a little short of the exact answer), bone rotations within 0.2 degrees.
"""

from __future__ import annotations

import numpy as np

from .shared import rotations


def unit_rows(v: np.ndarray) -> np.ndarray:
    """Rows of ``v`` scaled to unit length (zero rows stay zero)."""
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def swing_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 3, 3) smallest rotations turning the rows of ``a`` onto those of ``b``."""
    a, b = unit_rows(a), unit_rows(b)
    axis = np.cross(a, b)
    s = np.linalg.norm(axis, axis=1)
    c = np.sum(a * b, axis=1)
    return rotations.axis_angle_to_matrix(
        axis / np.maximum(s, 1e-12)[:, None] * np.arctan2(s, c)[:, None])


def _partial(b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """slerp(I, b, w) for (N, 3, 3) rotations and (N,) weights."""
    return rotations.axis_angle_to_matrix(rotations.matrix_to_axis_angle(b) * w[:, None])


def _rows(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.einsum("nij,nj->ni", m, v)


def _t(m: np.ndarray) -> np.ndarray:
    return np.swapaxes(m, -1, -2)


def knee_position(hip, goal, pole, l1: float, l2: float) -> np.ndarray:
    """(N, 3) knee of a two-bone chain from ``hip`` reaching ``goal``, bent towards ``pole``."""
    axis = goal - hip
    d = np.clip(np.linalg.norm(axis, axis=1), abs(l1 - l2) + 1e-6, 0.9999 * (l1 + l2))
    u = unit_rows(axis)
    side = pole - hip
    side = unit_rows(side - np.sum(side * u, axis=1, keepdims=True) * u)
    x = (l1 * l1 - l2 * l2 + d * d) / (2.0 * d)
    y = np.sqrt(np.maximum(l1 * l1 - x * x, 0.0))
    return hip + u * x[:, None] + side * y[:, None]


def _frame(direction: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rows: the solver's "look-at" frame of a direction and an up vector."""
    d = unit_rows(direction)
    x = unit_rows(np.cross(d, up))
    return np.stack([x, np.cross(x, d), -d], axis=1)


def locked_leg(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, goal: np.ndarray,
               pole: np.ndarray, ik_influence: np.ndarray, foot_rotation: np.ndarray,
               rot_influence: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One leg with the lock applied.

    Args:
        hip, knee, ankle: (N, 4, 4) FK pose matrices (armature space, rigid) of the thigh, shin
            and foot bones; the thigh's tail is the shin's head, the shin's tail the foot's head.
        goal, pole: (N, 3) IK target and pole target (armature space).
        ik_influence, rot_influence: (N,) the constraints' influences.
        foot_rotation: (N, 3, 3) the Copy Rotation target's rotation (armature space).

    Returns the three (N, 4, 4) pose matrices after the constraints.
    """
    w = np.clip(np.asarray(ik_influence, dtype=np.float64), 0.0, 1.0)
    wr = np.clip(np.asarray(rot_influence, dtype=np.float64), 0.0, 1.0)
    hr, kr, ar = hip[:, :3, :3], knee[:, :3, :3], ankle[:, :3, :3]
    h, k, a = hip[:, :3, 3], knee[:, :3, 3], ankle[:, :3, 3]
    l1 = float(np.median(np.linalg.norm(k - h, axis=1)))
    l2 = float(np.median(np.linalg.norm(a - k, axis=1)))
    # the solver's pole step: the chain turns rigidly about the hip so that the hip-ankle line
    # points at the target and the thigh's z axis (pole angle 90 degrees) towards the pole
    r0 = _t(_frame(goal - h, pole - h)) @ _frame(a - h, hr[:, :, 2])
    k1 = h + _rows(r0, k - h)
    a1 = h + _rows(r0, a - h)
    # then the Jacobian iterations only bend the chain in its own plane (every update turns
    # about that plane's normal), so the knee ends in that plane on its side of the hip-target
    # line, and neither bone twists further
    dist = np.linalg.norm(goal - h, axis=1, keepdims=True)
    reach = h + unit_rows(goal - h) * np.minimum(dist, 0.9999 * (l1 + l2))
    knee_ik = knee_position(h, goal, k1, l1, l2)
    s_hip = swing_rows(k1 - h, knee_ik - h)
    hip_ik = s_hip @ r0 @ hr
    rel_knee = _t(hr) @ kr  # the shin in the thigh's frame (FK)
    carried = hip_ik @ rel_knee
    knee_ik_rot = swing_rows(_rows(s_hip, a1 - k1), reach - knee_ik) @ carried
    # partial influence: each bone's change in its own frame, slerped from identity
    hip_new = hr @ _partial(_t(hr) @ hip_ik, w)
    knee_new = hip_new @ rel_knee @ _partial(_t(hip_ik @ rel_knee) @ knee_ik_rot, w)
    knee_head = h + _rows(hip_new, _rows(_t(hr), k - h))
    ankle_head = knee_head + _rows(knee_new, _rows(_t(kr), a - k))
    foot = knee_new @ (_t(kr) @ ar)
    foot = foot @ _partial(_t(foot) @ foot_rotation, wr)
    out = []
    for m, r, p in ((hip, hip_new, h), (knee, knee_new, knee_head), (ankle, foot, ankle_head)):
        o = m.copy()
        o[:, :3, :3] = r
        o[:, :3, 3] = p
        out.append(o)
    return tuple(out)
