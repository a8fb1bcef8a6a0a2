"""Drive a character's own armature with a capture armature (retargeting).

The capture armature (``source``, SMPL topology, built by :mod:`.armature`, foot lock live or
baked) is read on every keyed frame; the character's armature (``target``) gets one new Action with
a quaternion key per frame on each mapped bone and the root motion on its hips bone.

How one frame is transferred (all in world space, so object transforms such as an FBX import's
0.01 scale and 90-degree turn do not matter):

* **rest alignment**, once: the target's rest pose may differ from the capture's (A-pose arms,
  bones rolled differently, a character facing +y). The body frame (up from hips to chest, left
  from the right hip/shoulder to the left one) of both rests gives one rotation ``A0`` that faces
  the target like the source; each mapped bone then gets ``A_b = swing(A0 d_t -> d_s) A0``, the
  smallest turn that lays the target bone's direction ``d_t`` (its head to the head of the next
  mapped bone down the chain, or its own axis for end bones) onto the source bone's ``d_s``;
* **per frame**: with ``D_j = P_j R_j^T`` the world rotation the source bone made away from its
  rest, the target bone's world rotation is ``D_j A_b T_b`` (``T_b`` its rest rotation): so it
  points where the captured bone points and twists as it twists, whatever its own rest pose was
  (no blind copying of local rotations);
* **root motion**: the hips bone's head moves by the source pelvis' displacement from rest times
  the leg-length ratio (target / source), so strides fit the character's legs;
* **feet** (``legs_ik``): the ankles go where the capture's are (scaled the same way) plus the rest
  offset between the two skeletons' ankles, turned with the body's heading except while the
  capture's foot is planted (its lock's contact phases), when that offset is held, so a planted
  foot stays planted; thigh and shin reach them by two-bone IK. Where a goal is out of the
  character's reach (other proportions: a leg straighter in the capture than the character's can
  be) the hips go down just enough (smoothly), rather than the foot being dragged along;
* unmapped bones (extra spine/neck segments, twist bones, fingers) stay at rest and are carried
  rigidly by their parents; the local channels are found by forward kinematics over the target's
  hierarchy in numpy, and written with :class:`.keys.CurveWriter` (one ``foreach_set`` per curve).

A rig whose mapped bones hang under constrained bones (a generated Rigify rig: FK controls under
MCH bones) gets the same planned pose, but its keys are solved against the parents' poses as
Blender evaluates them (:func:`_solve_through_constraints`; a few depsgraph passes over the
frames), after its IK/FK switches are set to FK.

The source is read from its keys with its live foot lock applied in numpy
(:func:`.foot_lock.locked_pose_matrices`, which models Blender's IK and Copy Rotation to within
0.1 mm), so the lock carries over without evaluating the depsgraph frame by frame.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..core import retarget_maps
from ..core.leg_ik import swing_rows, unit_rows
from ..core.shared import rotations, skeleton
from . import foot_lock as fl
from .keys import CurveWriter

RETARGET_OF = "videomocap_retarget_of"  # property on the target: the source armature's name
PRESET = "videomocap_retarget_preset"


class RetargetError(ValueError):
    """Retargeting cannot be done (message: one plain sentence)."""


# --------------------------------------------------------------------------------------------
# reading armatures


def armature_parents(obj) -> dict[str, str | None]:
    """{bone: parent bone or None} of an armature object."""
    return {b.name: (b.parent.name if b.parent else None) for b in obj.data.bones}


def _rest(obj, names) -> np.ndarray:
    """(B, 4, 4) armature-space rest matrices of the named bones."""
    nb = len(obj.data.bones)
    buf = np.empty(nb * 16, dtype=np.float32)
    obj.data.bones.foreach_get("matrix_local", buf)
    allm = np.swapaxes(buf.reshape(nb, 4, 4), 1, 2).astype(np.float64)
    index = {b.name: i for i, b in enumerate(obj.data.bones)}
    return allm[[index[n] for n in names]]


def source_frames(source) -> np.ndarray:
    """Blender frames on which the capture armature's bones are keyed."""
    frames = []
    for fc in fl._fcurves(source):
        if fc.data_path.startswith("pose.bones") and len(fc.keyframe_points):
            co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
            fc.keyframe_points.foreach_get("co", co)
            frames.append(co[0::2])
    if not frames:
        raise RetargetError(f"The capture armature {source.name} has no motion to retarget.")
    return np.unique(np.round(np.concatenate(frames)).astype(np.int64))


def source_pose(source, frames: np.ndarray, scene=None) -> np.ndarray:
    """(F, 24, 4, 4) world matrices of the capture armature's bones (SMPL order) on ``frames``,
    with its live foot lock as Blender applies it (:func:`.foot_lock.locked_pose_matrices`:
    numpy, no depsgraph evaluation unless the lock was changed by hand)."""
    posed = fl.locked_pose_matrices(source, np.asarray(frames), scene)
    return np.asarray(source.matrix_world)[None, None] @ posed


def planted_feet(source, frames: np.ndarray) -> dict[str, np.ndarray] | None:
    """{side: (F,) bool} the frames of each contact phase of the capture's live foot lock (its IK
    influence is full there), or None without a live lock."""
    if source.get(fl.STATE) != "live":
        return None
    curves = list(fl._fcurves(source))
    out = {}
    for side in ("left", "right"):
        path = f'pose.bones["{side}_knee"].constraints["{fl.IK_NAME}"].influence'
        if not any(fc.data_path == path for fc in curves):
            return None
        w = fl.keyed_values(curves, path, 1, np.asarray(frames, dtype=np.float64), (0.0,))
        out[side] = w[:, 0] > 0.999
    return out


# --------------------------------------------------------------------------------------------
# the math (numpy only)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def _swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation (3, 3) turning direction ``a`` onto ``b``."""
    a, b = _unit(a), _unit(b)
    axis = np.cross(a, b)
    s, c = float(np.linalg.norm(axis)), float(np.dot(a, b))
    if s < 1e-9:
        if c > 0:
            return np.eye(3)
        perp = _unit(np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0]))
        return 2.0 * np.outer(perp, perp) - np.eye(3)
    return rotations.axis_angle_to_matrix(axis / s * np.arctan2(s, c))


def _body_frame(heads: dict[str, np.ndarray]) -> np.ndarray:
    """Columns: body left, forward, up, from the rest heads of mapped joints."""
    hips = 0.5 * (heads["left_hip"] + heads["right_hip"])
    top = next(heads[j] for j in ("spine3", "neck", "head") if j in heads)
    up = _unit(top - hips)
    left = heads["left_hip"] - heads["right_hip"]
    left = left / max(np.linalg.norm(left), 1e-9) + _unit(heads["left_shoulder"]
                                                          - heads["right_shoulder"])
    left = _unit(left - np.dot(left, up) * up)
    return np.stack([left, np.cross(up, left), up], axis=1)


def _orthonormal(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m)
    r = u @ vt
    return r if np.linalg.det(r) > 0 else u @ np.diag([1, 1, -1]) @ vt


def _leg_length(heads: dict[str, np.ndarray]) -> float:
    return float(np.mean([np.linalg.norm(heads[f"{s}_knee"] - heads[f"{s}_hip"])
                          + np.linalg.norm(heads[f"{s}_ankle"] - heads[f"{s}_knee"])
                          for s in ("left", "right")]))


def plan_retarget(src_rest_world: np.ndarray, src_pose_world: np.ndarray,
                  tgt_names: list[str], tgt_parents: list[int], tgt_rest: np.ndarray,
                  tgt_world: np.ndarray, mapping: dict[str, str], legs_ik: bool = True,
                  planted: dict[str, np.ndarray] | None = None,
                  extra: dict[str, str] | None = None) -> dict:
    """Target pose channels from a source motion (bpy-free).

    Args:
        src_rest_world: (24, 4, 4) world rest matrices of the capture bones (SMPL order).
        src_pose_world: (F, 24, 4, 4) their world pose matrices.
        tgt_names, tgt_parents: target bones in parent-before-child order, parent indices (-1).
        tgt_rest: (B, 4, 4) armature-space rest matrices of the target bones.
        tgt_world: (4, 4) the target object's world matrix.
        mapping: {SMPL joint: target bone} (checked, see ``retarget_maps.check_map``).
        legs_ik: place the feet where the capture's are (scaled), reaching them by IK.
        planted: {"left"/"right": (F,) bool} frames where the capture's foot is planted (the
            lock's contact phases); None: where its ankle (nearly) stands still.
        extra: {target bone: SMPL joint} more bones keyed to turn as that joint does (see
            ``retarget_maps.EXTRA``); they must be in ``tgt_names``.

    Returns dict with ``quats`` {bone: (F, 4)}, ``location`` (F, 3) of the root bone ``root``,
    ``scale`` (leg-length ratio), ``pose`` (F, B, 4, 4) armature-space target pose matrices,
    ``drop`` (F,) how far the hips were lowered (world z) where the legs could not otherwise
    reach the feet (a smooth curve at or above what each frame needs; 0 without ``legs_ik``).
    """
    idx = {n: i for i, n in enumerate(tgt_names)}
    jidx = skeleton.JOINT_INDEX
    wt_r = _orthonormal(tgt_world[:3, :3])
    t_rest_w = tgt_world[None] @ tgt_rest
    t_heads = {j: t_rest_w[idx[b], :3, 3] for j, b in mapping.items()}
    s_heads = {j: src_rest_world[jidx[j], :3, 3] for j in mapping}
    a0 = _body_frame(s_heads) @ _body_frame(t_heads).T
    scale = _leg_length(t_heads) / _leg_length(s_heads)

    # the child whose head sets each mapped bone's direction (same SMPL joint on both sides)
    main_child = {"pelvis": "spine1", "spine3": "neck"}
    children: dict[str, list[str]] = {}
    for j, p in enumerate(skeleton.PARENTS):
        if p >= 0:
            children.setdefault(skeleton.JOINT_NAMES[p], []).append(skeleton.JOINT_NAMES[j])
    align = {}
    for j, b in mapping.items():
        if j == "pelvis":
            align[j] = a0
            continue
        kids = [k for k in children.get(j, []) if k in mapping]
        if main_child.get(j) in kids:
            kids = [main_child[j]]
        if len(kids) == 1:
            d_t = t_heads[kids[0]] - t_heads[j]
            d_s = s_heads[kids[0]] - s_heads[j]
            if np.linalg.norm(d_t) < 1e-3 * np.linalg.norm(d_s):
                # the child's head on this one's (Rigify's FK spine pivots): its own axis
                d_t = wt_r @ tgt_rest[idx[b], :3, 1]
        else:  # an end bone: its own axis (bones point along local y)
            d_t = wt_r @ tgt_rest[idx[b], :3, 1]
            d_s = src_rest_world[jidx[j], :3, 1]
        align[j] = _swing(a0 @ d_t, d_s) @ a0
    # extra bones that turn with a joint (Rigify's hips FK bone with the pelvis): laid along
    # the joint's bone by their own axis
    follow = {}
    for b, j in (extra or {}).items():
        kid = main_child.get(j) or next((k for k in children.get(j, []) if k in s_heads), None)
        d_s = (s_heads[kid] - s_heads[j]) if kid in s_heads else src_rest_world[jidx[j], :3, 1]
        follow[b] = (j, _swing(a0 @ (wt_r @ tgt_rest[idx[b], :3, 1]), d_s) @ a0)

    n = src_pose_world.shape[0]
    src_rot = np.stack([_orthonormal(m[:3, :3]) for m in src_rest_world])
    pose_rot = src_pose_world[:, :, :3, :3]
    pose_rot = pose_rot / np.linalg.norm(pose_rot[:, :, :, :1], axis=2, keepdims=True)
    desired = {}
    for j, b in mapping.items():
        d = pose_rot[:, jidx[j]] @ src_rot[jidx[j]].T
        t_rot = _orthonormal(t_rest_w[idx[b], :3, :3])
        desired[b] = wt_r.T @ d @ align[j] @ t_rot
    for b, (j, al) in follow.items():
        d = pose_rot[:, jidx[j]] @ src_rot[jidx[j]].T
        desired[b] = wt_r.T @ d @ al @ _orthonormal(t_rest_w[idx[b], :3, :3])
    root_bone = mapping["pelvis"]
    p0 = src_rest_world[0, :3, 3]
    root_world = t_heads["pelvis"][None] + scale * (src_pose_world[:, 0, :3, 3] - p0)
    inv_w = np.linalg.inv(tgt_world)
    root_arm = root_world @ inv_w[:3, :3].T + inv_w[:3, 3]

    def fk():
        rest_inv = np.linalg.inv(tgt_rest)
        pose = np.empty((n, len(tgt_names), 4, 4))
        quats, location = {}, None
        for i, b in enumerate(tgt_names):
            p = tgt_parents[i]
            base = (pose[:, p] @ (rest_inv[p] @ tgt_rest[i])) if p >= 0 else \
                np.broadcast_to(tgt_rest[i], (n, 4, 4)).copy()
            if b not in desired:
                pose[:, i] = base
                continue
            m = base.copy()
            m[:, :3, :3] = desired[b]
            if b == root_bone:
                m[:, :3, 3] = root_arm
            basis = _rigid_inverse(base) @ m
            quats[b] = rotations.make_quaternions_continuous(
                rotations.matrix_to_quaternion(basis[:, :3, :3]), axis=0)
            if b == root_bone:
                location = basis[:, :3, 3]
            pose[:, i] = m
        return pose, quats, location

    pose, quats, location = fk()
    plan_drop = np.zeros(n)
    if legs_ik:
        # feet: where the capture's feet are, scaled about the pelvis' rest position (so a foot
        # the capture pins stays pinned), plus the rest offset between the two skeletons' feet
        # turned with the body's heading, but held while the foot is planted (else a planted
        # foot would slide round as the body turns); the legs reach them by two-bone IK in the
        # plane the rotation transfer bent them in
        heading = _heading_angle(pose_rot[:, 0] @ src_rot[0].T)
        if planted is None:
            planted = still_feet(src_pose_world, _leg_length(s_heads))
        legs, drop = {}, np.zeros(n)
        for side in ("left", "right"):
            hip, knee, ankle = (mapping[f"{side}_{j}"] for j in ("hip", "knee", "ankle"))
            ih, ik_, ia = idx[hip], idx[knee], idx[ankle]
            delta = (t_heads[f"{side}_ankle"] - t_heads["pelvis"]) - scale * (
                s_heads[f"{side}_ankle"] - s_heads["pelvis"])
            angle = held_heading(heading, planted[side])
            yaw = rotations.axis_angle_to_matrix(
                np.stack([0 * angle, 0 * angle, angle], axis=1))
            goal_w = (t_heads["pelvis"][None] + scale * (
                src_pose_world[:, jidx[f"{side}_ankle"], :3, 3] - p0)
                + np.einsum("nij,j->ni", yaw, delta))
            l1 = float(np.linalg.norm(t_rest_w[ik_, :3, 3] - t_rest_w[ih, :3, 3]))
            l2 = float(np.linalg.norm(t_rest_w[ia, :3, 3] - t_rest_w[ik_, :3, 3]))
            legs[side] = (hip, knee, ih, ik_, ia, goal_w)
            # where the goal is out of the leg's reach (other proportions), the hips go down
            v = goal_w - (pose[:, ih, :3, 3] @ tgt_world[:3, :3].T + tgt_world[:3, 3])
            room = (0.9999 * (l1 + l2)) ** 2 - np.sum(v[:, :2] ** 2, axis=1)
            drop = np.maximum(drop, -v[:, 2] - np.sqrt(np.maximum(room, 0.0)))
        drop = _cover(np.maximum(drop, 0.0), 5)
        if drop.any():
            root_world = root_world - drop[:, None] * np.array([0.0, 0.0, 1.0])
            root_arm = root_world @ inv_w[:3, :3].T + inv_w[:3, 3]
            pose, quats, location = fk()
        for side, (hip, knee, ih, ik_, ia, goal_w) in legs.items():
            goal = goal_w @ inv_w[:3, :3].T + inv_w[:3, 3]
            h, k_fk, a_fk = (pose[:, i, :3, 3] for i in (ih, ik_, ia))
            l1 = float(np.linalg.norm(tgt_rest[ik_, :3, 3] - tgt_rest[ih, :3, 3]))
            l2 = float(np.linalg.norm(tgt_rest[ia, :3, 3] - tgt_rest[ik_, :3, 3]))
            knee_pos = _two_bone(h, goal, k_fk, l1, l2)
            reach = h + unit_rows(goal - h) * np.minimum(
                np.linalg.norm(goal - h, axis=1, keepdims=True), 0.9999 * (l1 + l2))
            desired[hip] = swing_rows(k_fk - h, knee_pos - h) @ desired[hip]
            desired[knee] = swing_rows(a_fk - k_fk, reach - knee_pos) @ desired[knee]
        plan_drop = drop
        pose, quats, location = fk()
    return {"quats": quats, "location": location, "root": root_bone, "scale": scale,
            "pose": pose, "drop": plan_drop}


def _cover(x: np.ndarray, half: int) -> np.ndarray:
    """A smooth curve at or above ``x`` everywhere: the running maximum over +-``half`` frames,
    then its running mean over the same window (each mean includes the frame's own maximum)."""
    if len(x) == 0 or not x.any():
        return x
    pad = np.pad(x, half, mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(pad, 2 * half + 1)
    m = np.pad(win.max(axis=1), half, mode="edge")
    return np.lib.stride_tricks.sliding_window_view(m, 2 * half + 1).mean(axis=1)


def _heading_angle(rot: np.ndarray) -> np.ndarray:
    """(N, 3, 3) world rotations -> (N,) their turn about world z (from where the body's rest
    forward, -y, ends up), unwrapped."""
    fwd = rot @ np.array([0.0, -1.0, 0.0])
    return np.unwrap(np.arctan2(fwd[:, 0], -fwd[:, 1]))


def still_feet(src_pose_world: np.ndarray, leg: float, still: float = 0.005,
               min_frames: int = 3) -> dict[str, np.ndarray]:
    """{side: (F,) bool} frames where the capture's ankle moves less than ``still`` x leg length
    from the frame before or to the frame after, in runs of at least ``min_frames``."""
    out = {}
    for side in ("left", "right"):
        a = src_pose_world[:, skeleton.JOINT_INDEX[f"{side}_ankle"], :3, 3]
        step = np.linalg.norm(np.diff(a, axis=0), axis=1) < still * leg
        mask = np.zeros(len(a), dtype=bool)
        mask[:-1] |= step
        mask[1:] |= step
        edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
        for s, e in zip(edges[0::2], edges[1::2]):
            if e - s < min_frames:
                mask[s:e] = False
        out[side] = mask
    return out


def held_heading(angle: np.ndarray, planted: np.ndarray, release: int = 10) -> np.ndarray:
    """(N,) heading ``angle`` held constant through each run of ``planted`` frames (at its value
    in the run's middle); between runs the difference to the live heading fades linearly, over
    at most ``release`` frames on either side (and fully where runs are closer)."""
    angle = np.asarray(angle, dtype=np.float64)
    planted = np.asarray(planted, dtype=bool)
    n = len(angle)
    if n == 0 or not planted.any():
        return angle.copy()
    corr = np.zeros(n)
    edges = np.flatnonzero(np.diff(np.r_[0, planted.astype(np.int8), 0]))
    for s, e in zip(edges[0::2], edges[1::2]):
        corr[s:e] = angle[(s + e - 1) // 2] - angle[s:e]
    # anchors: planted frames (held) and frames more than ``release`` from any (live)
    idx = np.arange(n)
    marks = np.flatnonzero(planted)
    pos = np.searchsorted(marks, idx)
    before = np.abs(idx - marks[np.maximum(pos - 1, 0)])
    after = np.abs(marks[np.minimum(pos, len(marks) - 1)] - idx)
    anchor = planted | (np.minimum(before, after) > release)
    corr = np.interp(idx, idx[anchor], corr[anchor])
    return angle + corr


def _two_bone(hip: np.ndarray, goal: np.ndarray, knee_hint: np.ndarray, l1: float, l2: float
              ) -> np.ndarray:
    """(N, 3) knee positions of a two-bone chain from ``hip`` reaching towards ``goal``, bending
    in the plane of ``knee_hint``."""
    axis = goal - hip
    d = np.clip(np.linalg.norm(axis, axis=1), abs(l1 - l2) + 1e-6, 0.9999 * (l1 + l2))
    u = unit_rows(axis)
    side = knee_hint - hip
    side = side - np.sum(side * u, axis=1, keepdims=True) * u
    x = (l1 * l1 - l2 * l2 + d * d) / (2.0 * d)
    y = np.sqrt(np.maximum(l1 * l1 - x * x, 0.0))
    return hip + u * x[:, None] + unit_rows(side) * y[:, None]


def _rigid_inverse(m: np.ndarray) -> np.ndarray:
    """Inverse of (N, 4, 4) rotation + translation matrices."""
    out = np.zeros_like(m)
    rt = np.swapaxes(m[:, :3, :3], 1, 2)
    out[:, :3, :3] = rt
    out[:, :3, 3] = -np.einsum("nij,nj->ni", rt, m[:, :3, 3])
    out[:, 3, 3] = 1.0
    return out


# --------------------------------------------------------------------------------------------
# bpy layer


def _ordered(obj, needed: set[str]) -> tuple[list[str], list[int]]:
    """The bones in ``needed`` and their ancestors, parents first, with parent indices."""
    allp = armature_parents(obj)
    keep = set()
    for b in needed:
        while b is not None and b not in keep:
            keep.add(b)
            b = allp[b]
    parents = {b: p for b, p in allp.items() if b in keep}
    depth = {}

    def d(b):
        if b not in depth:
            depth[b] = 0 if parents[b] is None else d(parents[b]) + 1
        return depth[b]

    names = sorted(parents, key=lambda b: (d(b), list(parents).index(b)))
    pos = {n: i for i, n in enumerate(names)}
    return names, [pos[parents[n]] if parents[n] is not None else -1 for n in names]


def character_armature(objects) -> bpy.types.Object:
    """The armature among ``objects`` that the character's meshes follow (else the one with the
    most bones)."""
    arms = [o for o in objects if o.type == "ARMATURE"]
    if not arms:
        raise RetargetError("The character has no armature to drive.")

    def users(a):
        return sum(1 for o in objects if o.type == "MESH" and any(
            m.type == "ARMATURE" and m.object == a for m in o.modifiers))
    return max(arms, key=lambda a: (users(a), len(a.data.bones)))


def import_character(path, scene, name: str) -> bpy.types.Object:
    """Bring a character (.blend: every object appended; .fbx: Blender's FBX importer) into a new
    collection ``name`` of ``scene``; returns its armature. On failure nothing stays behind."""
    from pathlib import Path

    path = Path(path)
    before = set(bpy.data.objects)
    collection = bpy.data.collections.new(name)
    scene.collection.children.link(collection)
    try:
        if path.suffix.lower() == ".blend":
            try:
                with bpy.data.libraries.load(str(path), link=False) as (src, dst):
                    dst.objects = list(src.objects)
            except OSError:
                raise RetargetError(f"{path.name} could not be read as a .blend file.") from None
            objs = [o for o in dst.objects if o is not None]
            for o in objs:
                collection.objects.link(o)
        elif path.suffix.lower() == ".fbx":
            layer = bpy.context.view_layer.layer_collection.children[collection.name]
            bpy.context.view_layer.active_layer_collection = layer
            try:
                bpy.ops.import_scene.fbx(filepath=str(path))
            except RuntimeError:
                raise RetargetError(f"{path.name} could not be read as an FBX file.") from None
            objs = [o for o in bpy.data.objects if o not in before]
        else:
            raise RetargetError(f"The character {path.name} must be a .blend or .fbx file.")
        if not any(o.type == "ARMATURE" for o in objs):
            raise RetargetError(f"{path.name} has no armature to drive.")
        arm = character_armature(objs)
        arm["videomocap_character"] = path.name
        return arm
    except Exception:
        for o in [o for o in bpy.data.objects if o not in before]:
            bpy.data.objects.remove(o)
        bpy.data.collections.remove(collection)
        raise


def _prepare_rigify(target) -> None:
    """A generated Rigify rig: limbs to FK (``IK_FK`` 1), FK limbs following their parents
    (``FK_limb_follow`` 0), neck and head turning with the bones they hang on rather than with the
    torso (``neck_follow``/``head_follow`` 1, which zeroes the Copy Rotation from the torso), so
    the controls the map drives move as a plain FK chain wherever they can."""
    values = {"IK_FK": 1.0, "FK_limb_follow": 0.0, "neck_follow": 1.0, "head_follow": 1.0}
    for pb in target.pose.bones:
        for key, value in values.items():
            if key in pb.keys():
                pb[key] = value


def _active_constraints(obj) -> dict[str, list]:
    """{bone: its constraints that act}: not muted, influence above 0 once drivers ran (read
    from the evaluated object), and not a Copy Scale (every scale here is 1)."""
    bpy.context.view_layer.update()
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    out = {}
    for pb in obj.pose.bones:
        if not len(pb.constraints):
            continue
        live = ev.pose.bones[pb.name].constraints
        act = [c for c, e in zip(pb.constraints, live) if not c.mute and e.influence > 1e-6
               and c.type != "COPY_SCALE"]
        if act:
            out[pb.name] = act
    return out


def _solve_through_constraints(target, frames, plan, mapping, scene) -> dict:
    """Quaternion (and root location) keys for a rig whose mapped bones hang under constrained
    bones (a generated Rigify rig): each bone's key is solved against its parent's pose as
    Blender evaluates it.

    Where the chain from a mapped bone's parent up to the nearest mapped ancestor ``A`` depends,
    through parents and constraint targets, on no other mapped bone than ``A`` (``A``'s own
    dependencies aside: a shin FK control hanging on the thigh's, or a foot's MCH parent under
    the shin), it moves rigidly with ``A``: its offset from ``A`` is measured once on the rig at
    rest. Otherwise the parent is read back through the depsgraph on every frame, after the bones
    it depends on were keyed: one pass per level of such dependencies (2 for Rigify's human rig,
    the spine's pivot and then the arms' parents; each pass costs about 5 ms a frame there). The
    pose targets are the plan's (``plan["pose"]``): each bone turns as planned; its head goes
    where its parents put it.
    """
    names = list(plan["names"])
    pose = plan["pose"]  # (F, B, 4, 4) armature space
    col = {n: i for i, n in enumerate(names)}
    bones = target.data.bones
    mapped = set(mapping.values())
    active = _active_constraints(target)

    deps_memo: dict[str, frozenset] = {}

    def driven_by(b: str) -> list[str]:
        """The rig's bones that ``b``'s acting constraints take as targets."""
        out = []
        for c in active.get(b, []):
            sub = getattr(c, "subtarget", "") if getattr(c, "target", None) == target else ""
            if sub and sub in bones:
                out.append(sub)
            for t in getattr(c, "targets", []):  # Armature constraints
                if t.target == target and t.subtarget in bones:
                    out.append(t.subtarget)
        return out

    def deps(b: str, top: str | None = None) -> frozenset:
        """Mapped bones whose pose the evaluated pose of ``b`` depends on (``b`` included). With
        ``top`` (a mapped ancestor of ``b``), the chain from ``b`` up to ``top`` only, ``top``'s
        own dependencies left out: what moves ``b`` other than ``top`` itself."""
        if top is not None:
            if b == top:
                return frozenset({top})
        elif b in deps_memo:
            return deps_memo[b]
        else:
            deps_memo[b] = frozenset()  # cycles (should not happen) end here
        out = {b} if b in mapped else set()
        parent = bones[b].parent
        if parent is not None:
            out |= deps(parent.name, top)
        for sub in driven_by(b):
            out |= deps(sub)
        if top is None:
            deps_memo[b] = frozenset(out)
        return frozenset(out)

    def nearest_mapped(b: str) -> str | None:
        p = bones[b].parent
        while p is not None and p.name not in mapped:
            p = p.parent
        return p.name if p is not None else None

    rest = {n: np.array(bones[n].matrix_local) for n in set(names) | {
        bones[n].parent.name for n in mapped if bones[n].parent is not None}}
    order = [n for n in names if n in mapped]
    parent_of = {n: (bones[n].parent.name if bones[n].parent is not None else None)
                 for n in order}
    calib_names = sorted({p for p in parent_of.values() if p} | set(order))
    f0 = [int(bpy.context.scene.frame_current if scene is None else scene.frame_current)]
    calib = dict(zip(calib_names, fl.evaluated_bone_matrices(target, f0, calib_names, scene)[0]))
    kind = {}
    for n in order:
        p, a = parent_of[n], nearest_mapped(n)
        if p is None:
            kind[n] = "const"
        elif deps(p) <= ({a} if a else set()) or (a is not None and deps(p, a) <= {a}):
            # moved by ``a`` alone (a bone hanging on a mapped FK control, say): a fixed offset
            # from it, whatever moves ``a``
            kind[n] = "rigid"
        else:
            kind[n] = "evaluated"
    n_frames = len(frames)
    actual: dict[str, np.ndarray] = {}
    keys: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    keyed: set[str] = set()
    passes = 0
    writer = plan["writer"]
    todo = list(order)
    while todo:
        progressed = False
        evaluated_parents = {}
        for n in list(todo):
            p, a = parent_of[n], nearest_mapped(n)
            rel = (np.linalg.inv(rest[p]) @ rest[n]) if p else rest[n]
            if kind[n] == "const":
                base = np.broadcast_to(rest[n], (n_frames, 4, 4)).copy()
            elif kind[n] == "rigid":
                if a is not None and a not in actual:
                    continue
                off = np.linalg.inv(calib[a]) @ calib[p] @ rel if a else calib[p] @ rel
                base = actual[a] @ off if a else np.broadcast_to(off, (n_frames, 4, 4)).copy()
            else:
                if not (deps(p) <= keyed):
                    continue
                evaluated_parents[n] = p
                continue
            _solve_bone(n, base, pose[:, col[n]], plan, actual, keys)
            todo.remove(n)
            progressed = True
        if evaluated_parents:
            wanted = sorted(set(evaluated_parents.values()))
            for b in [b for b in keys if b not in keyed]:
                _write_keys(writer, b, frames, *keys[b])
                keyed.add(b)
            got = fl.evaluated_bone_matrices(target, frames, wanted, scene)
            passes += 1
            for n, p in evaluated_parents.items():
                rel = np.linalg.inv(rest[p]) @ rest[n]
                _solve_bone(n, got[:, wanted.index(p)] @ rel, pose[:, col[n]], plan, actual,
                            keys)
                todo.remove(n)
            progressed = True
        if not progressed:
            missing = [b for b in keys if b not in keyed]
            if not missing:
                raise RetargetError("The character's rig could not be solved bone by bone.")
            for b in missing:
                _write_keys(writer, b, frames, *keys[b])
                keyed.add(b)
    for b in [b for b in keys if b not in keyed]:
        _write_keys(writer, b, frames, *keys[b])
    return {"passes": passes, "kinds": kind}


def _solve_bone(name, base, want, plan, actual, keys) -> None:
    """The key of one bone from its base (its pose with an identity basis) and the planned pose:
    rotation always, location only on the root bone."""
    basis = _rigid_inverse(base) @ want
    q = rotations.make_quaternions_continuous(rotations.matrix_to_quaternion(basis[:, :3, :3]),
                                              axis=0)
    loc = basis[:, :3, 3] if name == plan["root"] else None
    m = base.copy()
    m[:, :3, :3] = base[:, :3, :3] @ rotations.quaternion_to_matrix(q)
    if loc is not None:
        m[:, :3, 3] = (base @ np.concatenate([loc, np.ones((len(loc), 1))], 1)[..., None])[
            :, :3, 0]
    actual[name] = m
    keys[name] = (q, loc)


def _write_keys(writer, name, frames, q, loc) -> None:
    path = f'pose.bones["{name}"]'
    if loc is not None:
        writer.add(path + ".location", frames, loc, group=name)
    writer.add(path + ".rotation_quaternion", frames, q, group=name)


_POSE_CHANNELS = ("location", "rotation_quaternion", "rotation_euler", "rotation_axis_angle",
                  "scale")
_SWITCHES = ("IK_FK", "FK_limb_follow", "neck_follow", "head_follow")


def _snapshot(target) -> dict:
    """What :func:`retarget` may change on ``target``, to put back if it fails half-way."""
    ad = target.animation_data
    return {
        "actions": set(bpy.data.actions),
        "had_anim": ad is not None,
        "action": ad.action if ad else None,
        "slot": getattr(ad, "action_slot", None) if ad else None,
        "bones": {pb.name: ([tuple(getattr(pb, c)) for c in _POSE_CHANNELS], pb.rotation_mode,
                            {k: pb[k] for k in _SWITCHES if k in pb.keys()})
                  for pb in target.pose.bones},
        "props": {k: target[k] for k in (RETARGET_OF, PRESET) if k in target.keys()},
    }


def _restore(target, state: dict) -> None:
    for name, (channels, mode, switches) in state["bones"].items():
        pb = target.pose.bones[name]
        pb.rotation_mode = mode
        for c, v in zip(_POSE_CHANNELS, channels):
            setattr(pb, c, v)
        for k, v in switches.items():
            pb[k] = v
    if state["had_anim"]:
        target.animation_data.action = state["action"]
        if state["slot"] is not None:
            target.animation_data.action_slot = state["slot"]
    elif target.animation_data is not None:
        target.animation_data_clear()
    for action in set(bpy.data.actions) - state["actions"]:
        bpy.data.actions.remove(action)
    for k in (RETARGET_OF, PRESET):
        if k in state["props"]:
            target[k] = state["props"][k]
        elif k in target.keys():
            del target[k]


def retarget(source, target, preset: str = "auto", scene=None, legs_ik: bool = True) -> dict:
    """Key ``target`` (armature object) to follow ``source`` (a capture armature).

    ``preset``: one of :data:`..core.retarget_maps.CHOICES`; ``legs_ik``: see
    :func:`plan_retarget`. Raises :class:`RetargetError` (one
    sentence) with nothing changed when the rig cannot be mapped. Returns a dict with ``preset``,
    ``mapping``, ``action``, ``frames`` (count), ``scale`` (leg-length ratio), ``drop`` (F,) how
    far (world units) the hips were lowered below the scaled root motion so the legs reach.
    """
    if target is None or target.type != "ARMATURE":
        raise RetargetError("The character has no armature to drive.")
    if source is None or source.type != "ARMATURE" or any(
            n not in source.data.bones for n in skeleton.JOINT_NAMES):
        raise RetargetError("The motion to retarget must come from a capture armature.")
    try:
        used, mapping = retarget_maps.build_map(preset, armature_parents(target))
    except retarget_maps.RetargetMapError as exc:
        raise RetargetError(str(exc)) from None
    # object matrices are derived data: objects just made or appended need an update first
    bpy.context.view_layer.update()
    frames = source_frames(source)
    src_world = source_pose(source, frames, scene)
    src_rest = np.asarray(source.matrix_world)[None] @ _rest(source, skeleton.JOINT_NAMES)
    extra = {b: j for b, j in retarget_maps.EXTRA.get(used, {}).items()
             if b in target.data.bones and j in mapping and b not in mapping.values()}
    names, parents = _ordered(target, set(mapping.values()) | set(extra))
    plan = plan_retarget(src_rest, src_world, names, parents, _rest(target, names),
                         np.asarray(target.matrix_world), mapping, legs_ik=legs_ik,
                         planted=planted_feet(source, frames), extra=extra)
    state = _snapshot(target)
    try:
        if used == "rigify":
            _prepare_rigify(target)
        # unmapped bones between mapped ones are assumed at rest: put them there
        keep = set(mapping.values()) | set(extra)
        on_path = set()
        for b in keep:
            p = target.data.bones[b].parent
            while p is not None and p.name not in on_path:
                on_path.add(p.name)
                p = p.parent
        for name in (on_path | keep):
            pb = target.pose.bones[name]
            pb.location = (0.0, 0.0, 0.0)
            pb.scale = (1.0, 1.0, 1.0)
            pb.rotation_quaternion = (1.0, 0.0, 0.0, 0.0)
            pb.rotation_euler = (0.0, 0.0, 0.0)
            pb.rotation_axis_angle = (0.0, 0.0, 1.0, 0.0)
        for b in plan["quats"]:
            target.pose.bones[b].rotation_mode = "QUATERNION"
        constrained = any(len(target.pose.bones[b].constraints) for b in on_path)
        writer = CurveWriter(target, f"{target.name} from {source.name}")
        solved = None
        if constrained:  # e.g. a generated Rigify rig: solve the keys against Blender's evaluation
            plan["writer"], plan["names"] = writer, names
            solved = _solve_through_constraints(target, frames, plan, {
                **mapping, **{f"extra:{b}": b for b in extra}}, scene)
        else:
            for b, q in plan["quats"].items():
                path = f'pose.bones["{b}"]'
                if b == plan["root"]:
                    writer.add(path + ".location", frames, plan["location"], group=b)
                writer.add(path + ".rotation_quaternion", frames, q, group=b)
    except BaseException:
        _restore(target, state)
        raise
    target[RETARGET_OF] = source.name
    target[PRESET] = used
    return {"preset": used, "mapping": mapping, "action": writer.action,
            "frames": int(len(frames)), "scale": float(plan["scale"]), "drop": plan["drop"],
            "depsgraph_passes": solved["passes"] if solved else 0}
