"""Retarget a mocap skeleton (BVH/FBX, any rest pose) onto the MakeHuman ``cmu_mb`` rig.

Plain numpy; the bpy side (scene.py) only reads world matrices of the imported source armature
and writes the resulting local rotations onto the target pose bones.

Method: world-space rotation deltas with a per-bone rest alignment.
For target bone T driven by source joint J::

    R_T(t) = D_J(t) @ A_T @ R_T_rest,     D_J(t) = R_J(t) @ R_J_rest^T

where R are world rotations of the bones' frames and A_T is a world rotation that takes the
target's rest bone onto the source's rest bone: for limbs it maps the (bone direction, secondary
body axis) pair of the target rest pose onto the same pair of the source rest pose; for the
pelvis, spine, neck and head it maps the target's body frame (left, forward, up) onto the
source's. So a T-pose source drives an A-pose target correctly, and twist is consistent.
The root translation is the source hips position scaled by the ratio of leg lengths
(hip-knee + knee-ankle) of the two skeletons, which honours any unit of the file.
Target bones with no source (hip joints, clavicles when the source has none, hands, toes,
fingers) keep their rest pose relative to their parent.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UP = np.array([0.0, 0.0, 1.0])


@dataclass
class SourceMotion:
    names: list[str]
    parents: list[int]  # -1 for the root
    rest_pos: np.ndarray  # (J,3) world joint (bone head) positions in the rest pose
    rest_rot: np.ndarray  # (J,3,3) world rotations of the bone frames in the rest pose
    rot: np.ndarray  # (F,J,3,3) world rotations per frame
    pos: np.ndarray  # (F,J,3) world joint positions per frame


# --------------------------------------------------------------------------- source joints
_KNEE = ("leftleg", "leftknee", "ltibia", "leftshin", "leftlowerleg", "l_knee", "lknee")
_ELBOW = ("leftforearm", "leftelbow", "lradius", "leftlowerarm", "l_elbow", "lelbow")


def _norm(s: str) -> str:
    return s.lower().replace(" ", "").replace(":", "").split("mixamorig")[-1]


def _side_names(cands: tuple[str, ...], side: str) -> tuple[str, ...]:
    if side == "l":
        return cands
    out = []
    for c in cands:
        if c.startswith("left"):
            out.append("right" + c[4:])
        elif c.startswith("l_"):
            out.append("r_" + c[2:])
        elif c.startswith("l"):
            out.append("r" + c[1:])
    return tuple(out)


def find_source_joints(names: list[str], parents: list[int]) -> dict[str, int | list[int]]:
    """Roles -> source joint index: hips, spine (list), neck (list), head, and per side s in
    (l, r): s_thigh, s_knee, s_ankle, s_toe, s_collar, s_arm, s_elbow, s_wrist (-1: missing)."""
    low = [_norm(n) for n in names]
    children: list[list[int]] = [[] for _ in names]
    for i, p in enumerate(parents):
        if p >= 0:
            children[p].append(i)

    def find(cands):
        for c in cands:
            if c in low:
                return low.index(c)
        return -1

    def chain_up(i):
        out = []
        while i >= 0:
            out.append(i)
            i = parents[i]
        return out

    roles: dict[str, int | list[int]] = {}
    for s in ("l", "r"):
        knee = find(_side_names(_KNEE, s))
        elbow = find(_side_names(_ELBOW, s))
        if knee < 0 or elbow < 0:
            raise ValueError(f"cannot find knee/elbow joints among {names}")
        roles[f"{s}_knee"] = knee
        roles[f"{s}_thigh"] = parents[knee]
        real = [c for c in children[knee] if not low[c].endswith("_end") and "end" not in low[c]]
        roles[f"{s}_ankle"] = real[0] if real else -1
        a = roles[f"{s}_ankle"]
        toes = [c for c in children[a] if "end" not in low[c]] if a >= 0 else []
        roles[f"{s}_toe"] = toes[0] if toes else -1
        roles[f"{s}_elbow"] = elbow
        roles[f"{s}_arm"] = parents[elbow]
        real = [c for c in children[elbow] if "end" not in low[c]]
        roles[f"{s}_wrist"] = real[0] if real else -1
        roles[f"{s}_collar"] = parents[parents[elbow]]

    head = -1
    for i, n in enumerate(low):
        if "head" in n and "end" not in n and "top" not in n:
            head = i
            break
    if head < 0:  # some ASF-style files end at the neck: its last joint stands in for the head
        tips = [i for i, n in enumerate(low) if "neck" in n
                and not [c for c in children[i] if "end" not in low[c]]]
        head = tips[-1] if tips else -1
    if head < 0:
        raise ValueError(f"cannot find a head joint among {names}")
    roles["head"] = head
    # hips: lowest common ancestor of both thighs and the head
    anc_l = chain_up(roles["l_thigh"])
    anc_r = set(chain_up(roles["r_thigh"]))
    anc_h = set(chain_up(head))
    hips = next(i for i in anc_l if i in anc_r and i in anc_h)
    roles["hips"] = hips
    # chest: lowest common ancestor of head and left arm
    anc_a = chain_up(roles["l_arm"])
    chest = next(i for i in chain_up(head) if i in set(anc_a))
    path = chain_up(head)[::-1]  # root ... head
    ih, ic = path.index(hips), path.index(chest)
    roles["spine"] = path[ih + 1 : ic + 1] or [hips]
    roles["neck"] = path[ic + 1 : path.index(head)] or [chest]
    for s in ("l", "r"):  # a collar that is the chest itself is no collar
        if roles[f"{s}_collar"] == chest:
            roles[f"{s}_collar"] = -1
    return roles


# --------------------------------------------------------------------------- rotations
def frame_from(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Orthonormal frame (columns) with x along primary, y along secondary made orthogonal."""
    x = primary / np.linalg.norm(primary)
    y = secondary - x * (x @ secondary)
    y = y / np.linalg.norm(y)
    return np.stack([x, y, np.cross(x, y)], axis=1)


def body_frame(left_hip: np.ndarray, right_hip: np.ndarray) -> np.ndarray:
    """Columns: left, forward, up (world z up)."""
    left = left_hip - right_hip
    left = left - UP * (left @ UP)
    left /= np.linalg.norm(left)
    fwd = np.cross(left, UP)
    return np.stack([left, fwd, UP], axis=1)


def quat_from_matrix(m: np.ndarray) -> np.ndarray:
    """(...,3,3) rotation matrices -> (...,4) quaternions w,x,y,z (w >= 0)."""
    m = np.asarray(m, dtype=np.float64)
    shp = m.shape[:-2]
    m = m.reshape(-1, 3, 3)
    q = np.empty((len(m), 4))
    for i, r in enumerate(m):
        t = np.trace(r)
        if t > 0:
            s = np.sqrt(t + 1.0) * 2
            q[i] = [0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
        else:
            k = int(np.argmax(np.diag(r)))
            if k == 0:
                s = np.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2]) * 2
                q[i] = [(r[2, 1] - r[1, 2]) / s, 0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s]
            elif k == 1:
                s = np.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2]) * 2
                q[i] = [(r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s]
            else:
                s = np.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1]) * 2
                q[i] = [(r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s]
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q.reshape(shp + (4,))


def continuous_quats(q: np.ndarray) -> np.ndarray:
    """Flip signs along axis 0 so consecutive quaternions are in the same hemisphere."""
    q = q.copy()
    for f in range(1, len(q)):
        flip = np.sum(q[f] * q[f - 1], axis=-1) < 0
        q[f][flip] *= -1
    return q


# --------------------------------------------------------------------------- retarget
@dataclass
class TargetRig:
    names: list[str]
    parents: list[int]
    rest_head: np.ndarray  # (B,3) armature space == world
    rest_rot: np.ndarray  # (B,3,3) bone matrix_local rotation


def _leg_length(pos, thigh, knee, ankle):
    return np.linalg.norm(pos[knee] - pos[thigh]) + np.linalg.norm(pos[ankle] - pos[knee])


def retarget(src: SourceMotion, tgt: TargetRig) -> dict[str, np.ndarray | float]:
    """Returns ``quat`` (F,B,4) local pose-bone rotations (w,x,y,z), ``root_loc`` (F,3) the root
    bone's pose location (in its rest frame), ``root_head`` (F,3) the world root position,
    ``scale`` the source->target length ratio and ``src_leg``/``tgt_leg`` leg lengths."""
    roles = find_source_joints(src.names, src.parents)
    ti = {n: i for i, n in enumerate(tgt.names)}
    sp, tp = src.rest_pos, tgt.rest_head

    bf_s = body_frame(sp[roles["l_thigh"]], sp[roles["r_thigh"]])
    bf_t = body_frame(tp[ti["LeftUpLeg"]], tp[ti["RightUpLeg"]])
    a_body = bf_s @ bf_t.T
    left_s, fwd_s = bf_s[:, 0], bf_s[:, 1]
    left_t, fwd_t = bf_t[:, 0], bf_t[:, 1]

    # target bone -> (source joint, target child bone, source child joint, secondary axis)
    drive: dict[str, tuple] = {}

    def pick(lst, k, n):
        return lst[min(len(lst) - 1, int(round(k * (len(lst) - 1) / max(n - 1, 1))))]

    drive["Hips"] = (roles["hips"], None, None, "body")
    for k, b in enumerate(("LowerBack", "Spine", "Spine1")):
        drive[b] = (pick(roles["spine"], k, 3), None, None, "body")
    for k, b in enumerate(("Neck", "Neck1")):
        drive[b] = (pick(roles["neck"], k, 2), None, None, "body")
    drive["Head"] = (roles["head"], None, None, "body")
    for s, S in (("l", "Left"), ("r", "Right")):
        drive[f"{S}UpLeg"] = (roles[f"{s}_thigh"], f"{S}Leg", roles[f"{s}_knee"], "left")
        drive[f"{S}Leg"] = (roles[f"{s}_knee"], f"{S}Foot", roles[f"{s}_ankle"], "left")
        if roles[f"{s}_toe"] >= 0:
            drive[f"{S}Foot"] = (roles[f"{s}_ankle"], f"{S}ToeBase", roles[f"{s}_toe"], "left")
        if roles[f"{s}_collar"] >= 0:
            drive[f"{S}Shoulder"] = (roles[f"{s}_collar"], f"{S}Arm", roles[f"{s}_arm"], "fwd")
        drive[f"{S}Arm"] = (roles[f"{s}_arm"], f"{S}ForeArm", roles[f"{s}_elbow"], "fwd")
        if roles[f"{s}_wrist"] >= 0:
            drive[f"{S}ForeArm"] = (roles[f"{s}_elbow"], f"{S}Hand", roles[f"{s}_wrist"], "fwd")

    F = src.rot.shape[0]
    B = len(tgt.names)
    Rw = np.zeros((F, B, 3, 3))
    for b, name in enumerate(tgt.names):  # parents come first
        p = tgt.parents[b]
        if name in drive:
            j, tchild, schild, sec = drive[name]
            if sec == "body":
                A = a_body
            else:
                d_t = tp[ti[tchild]] - tp[b]
                d_s = sp[schild] - sp[j]
                s2_t, s2_s = (left_t, left_s) if sec == "left" else (fwd_t, fwd_s)
                if np.linalg.norm(d_s) < 1e-9:
                    A = a_body
                else:
                    A = frame_from(d_s, s2_s) @ frame_from(d_t, s2_t).T
            D = src.rot[:, j] @ src.rest_rot[j].T  # (F,3,3)
            Rw[:, b] = D @ (A @ tgt.rest_rot[b])
        elif p >= 0:
            Rw[:, b] = Rw[:, p] @ (tgt.rest_rot[p].T @ tgt.rest_rot[b])
        else:
            Rw[:, b] = tgt.rest_rot[b]

    local = np.zeros_like(Rw)
    for b in range(B):
        p = tgt.parents[b]
        if p >= 0:
            rest_rel = tgt.rest_rot[p].T @ tgt.rest_rot[b]
            local[:, b] = rest_rel.T @ (np.swapaxes(Rw[:, p], 1, 2) @ Rw[:, b])
        else:
            local[:, b] = tgt.rest_rot[b].T @ Rw[:, b]
    quat = continuous_quats(quat_from_matrix(local))

    src_leg = _leg_length(sp, roles["l_thigh"], roles["l_knee"], roles["l_ankle"])
    tgt_leg = _leg_length(tp, ti["LeftUpLeg"], ti["LeftLeg"], ti["LeftFoot"])
    scale = tgt_leg / src_leg
    root = tgt.parents.index(-1)
    root_head = src.pos[:, roles["hips"]] * scale
    root_loc = (root_head - tp[root]) @ tgt.rest_rot[root]  # R^T (h - h0), row-vector form
    return {"quat": quat, "root_loc": root_loc, "root_head": root_head, "scale": scale,
            "src_leg": src_leg, "tgt_leg": tgt_leg, "roles": roles}
