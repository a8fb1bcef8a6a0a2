"""Contact-driven foot lock: IK legs whose targets stay pinned through each contact phase.

For each leg of an armature built by :mod:`.armature`:

* an empty ``<armature> <side> foot lock`` keyed every frame with the lock target of the ankle
  (:func:`..core.contact_phases.lock_targets`) and the animated world rotation of the foot;
* an empty ``<armature> <side> knee pole`` keyed in front of the captured knee, in the plane the
  captured leg bends in (:func:`..core.contact_phases.pole_positions`);
* an IK constraint on the shin (``<side>_knee``, chain of 2, no stretch) towards the first empty
  with the second as pole target, and a Copy Rotation on the foot (``<side>_ankle``) from the first
  empty, so the foot keeps its captured orientation while the leg is pulled onto the pin. Both
  constraints' influence is keyed from the lock ramp: 0 in the swing, 1 in contact, a short ramp
  between.

:func:`bake_foot_lock` is the one switch that turns it into plain FK: the legs are evaluated through
the depsgraph on every frame the lock touches, their quaternion keys overwritten, the constraints,
influence curves and helper empties removed. :func:`remove_foot_lock` drops the lock unbaked.
:func:`locked_pose_matrices` reads the locked pose without the depsgraph (numpy, modelling the two
constraints: :mod:`..core.leg_ik`), for readers of many frames such as the retarget.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..core import contact_phases as cp
from ..core import leg_ik
from ..core.shared import rotations, skeleton
from .armature import FRAME_OFFSET, rest_matrices
from .keys import CurveWriter

IK_NAME = "Foot lock IK"
ROT_NAME = "Foot lock rotation"
STATE = "videomocap_foot_lock_state"  # armature property: "live" | "baked" (absent: unlocked)
#: IK pole angle for bones rolled as :mod:`.armature` rolls them (local z to the body's front)
POLE_ANGLE = np.pi / 2


class _Appender(CurveWriter):
    """A CurveWriter that adds curves to the action an ID already has."""

    def __init__(self, owner: bpy.types.ID):  # noqa: D107 - no super(): no new action
        ad = owner.animation_data
        self.action = ad.action
        if hasattr(self.action, "slots"):
            strip = self.action.layers[0].strips[0]
            self._bag = strip.channelbag(ad.action_slot, ensure=True)
            self._fcurves = self._bag.fcurves
        else:
            self._bag = None
            self._fcurves = self.action.fcurves
        self._groups = {}


def _fcurves(owner: bpy.types.ID):
    ad = owner.animation_data
    if ad is None or ad.action is None:
        return []
    if hasattr(ad.action, "slots"):
        if ad.action_slot is None or not len(ad.action.layers):
            return []
        bag = ad.action.layers[0].strips[0].channelbag(ad.action_slot)
        return bag.fcurves if bag is not None else []
    return ad.action.fcurves


def _leg_bones(side: str) -> tuple[str, str, str]:
    return f"{side}_hip", f"{side}_knee", f"{side}_ankle"


def _helper(name: str, arm: bpy.types.Object, size: float, shape: str) -> bpy.types.Object:
    obj = bpy.data.objects.new(name, None)
    obj.empty_display_type = shape
    obj.empty_display_size = size
    for coll in arm.users_collection:
        coll.objects.link(obj)
    obj.parent = arm  # armature space == the helpers' local space: the lock moves with the rig
    obj[STATE + "_of"] = arm.name
    return obj


def plan_foot_lock(person, rest: np.ndarray, heads: np.ndarray, fps: float, **options) -> dict:
    """The lock of one person as arrays (bpy-free apart from the rest matrices passed in).

    Returns per side: ``targets`` (N, 3), ``influence`` (N,), ``poles`` (N, 3), ``foot_rot``
    (N, 4) armature-space quaternions of the foot bone; and ``phases``, ``joints`` (the FK joints
    of the armature), ``frames`` (Blender frames).
    """
    joints, world = skeleton.forward_kinematics(person.global_orient, person.body_pose,
                                                person.transl, person.bone_lengths)
    ground = (float(heads[skeleton.JOINT_INDEX["left_ankle"], 2]),
              float(heads[skeleton.JOINT_INDEX["left_foot"], 2]))
    ramp = options.pop("ramp_seconds", 0.15)
    bl = np.asarray(person.bone_lengths)
    reach = [float(bl[cp.LEG_JOINTS[s][1] - 1] + bl[cp.LEG_JOINTS[s][2] - 1]) for s in cp.SIDES]
    phases = cp.contact_phases(person.frame_ids, person.contact, joints, fps,
                               ground_heights=ground, reach=reach, **options)
    c = skeleton.REST_ORIENT_WORLD
    plan = {"phases": phases, "joints": joints,
            "frames": np.asarray(person.frame_ids) + FRAME_OFFSET}
    for k, side in enumerate(cp.SIDES):
        hip, knee, ankle, _ = cp.LEG_JOINTS[side]
        targets, influence, turn = cp.lock_targets(person.frame_ids, joints, phases, fps, side,
                                                   ramp_seconds=ramp, reach=reach[k])
        foot = rotations.axis_angle_to_matrix(turn) @ world[:, ankle] @ c.T @ rest[ankle]
        plan[side] = {
            "targets": targets, "influence": influence,
            "poles": cp.pole_positions(joints, side),
            "foot_rot": rotations.make_quaternions_continuous(
                rotations.matrix_to_quaternion(foot), axis=0),
        }
    return plan


def apply_foot_lock(arm: bpy.types.Object, person, fps: float, **options) -> dict:
    """Add the foot lock to an armature keyed from ``person`` (see the module doc).

    ``options`` go to :func:`..core.contact_phases.contact_phases` (``threshold``,
    ``hysteresis``, ``min_seconds``) and ``ramp_seconds`` to ``lock_targets``. Returns the plan
    (:func:`plan_foot_lock`) with the created helpers under ``"helpers"``.
    """
    if arm.get(STATE):
        remove_foot_lock(arm)
    rest, heads = rest_matrices(arm)
    plan = plan_foot_lock(person, rest, heads, fps, **options)
    frames = plan["frames"]
    size = float(np.asarray(person.bone_lengths)[skeleton.JOINT_INDEX["left_ankle"] - 1])
    influences = _Appender(arm)
    helpers = []
    for side in cp.SIDES:
        leg = plan[side]
        _, shin, foot = _leg_bones(side)
        target = _helper(f"{arm.name} {side} foot lock", arm, 0.6 * size, "CUBE")
        target.rotation_mode = "QUATERNION"
        writer = CurveWriter(target, f"{target.name} motion")
        writer.add("location", frames, leg["targets"], group="Foot lock")
        writer.add("rotation_quaternion", frames, leg["foot_rot"], group="Foot lock")
        pole = _helper(f"{arm.name} {side} knee pole", arm, 0.4 * size, "SPHERE")
        CurveWriter(pole, f"{pole.name} motion").add("location", frames, leg["poles"],
                                                       group="Foot lock")
        helpers += [target, pole]

        pb = arm.pose.bones[shin]
        ik = pb.constraints.new("IK")
        ik.name = IK_NAME
        ik.target = target
        ik.pole_target = pole
        ik.pole_angle = POLE_ANGLE
        ik.chain_count = 2
        ik.use_tail = True
        ik.use_stretch = False
        for name in _leg_bones(side)[:2]:
            arm.pose.bones[name].ik_stretch = 0.0
        rot = arm.pose.bones[foot].constraints.new("COPY_ROTATION")
        rot.name = ROT_NAME
        rot.target = target
        rot.target_space = rot.owner_space = "WORLD"
        for bone, con in ((shin, IK_NAME), (foot, ROT_NAME)):
            influences.add(f'pose.bones["{bone}"].constraints["{con}"].influence', frames,
                           leg["influence"], group="Foot lock")
    arm[STATE] = "live"
    plan["helpers"] = helpers
    return plan


def _lock_curves(arm) -> list:
    return [fc for fc in _fcurves(arm) if fc.data_path.endswith(f'"].influence')
            and (f'["{IK_NAME}"]' in fc.data_path or f'["{ROT_NAME}"]' in fc.data_path)]


def _locked_frames(arm) -> np.ndarray:
    """Blender frames on which some lock influence is above zero."""
    frames = []
    for fc in _lock_curves(arm):
        co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
        fc.keyframe_points.foreach_get("co", co)
        co = co.reshape(-1, 2)
        frames.append(co[co[:, 1] > 0, 0])
    if not frames:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.round(np.concatenate(frames)).astype(np.int64))


def remove_foot_lock(arm: bpy.types.Object) -> None:
    """Drop the lock (constraints, influence curves, helper empties) without baking it."""
    for pb in arm.pose.bones:
        for con in list(pb.constraints):
            if con.name in (IK_NAME, ROT_NAME):
                pb.constraints.remove(con)
    curves = _fcurves(arm)
    for fc in _lock_curves(arm):
        curves.remove(fc)
    for obj in [o for o in bpy.data.objects if o.get(STATE + "_of") == arm.name]:
        action = obj.animation_data.action if obj.animation_data else None
        bpy.data.objects.remove(obj)
        if action is not None and action.users == 0:
            bpy.data.actions.remove(action)
    if STATE in arm:
        del arm[STATE]


def evaluated_bone_matrices(obj: bpy.types.Object, frames, names, scene=None) -> np.ndarray:
    """(F, len(names), 4, 4) armature-space pose matrices of the bones ``names`` on Blender
    ``frames``, read back through the depsgraph."""
    scene = scene or bpy.context.scene
    order = [obj.pose.bones.find(n) for n in names]
    nb = len(obj.pose.bones)
    buf = np.empty(nb * 16, dtype=np.float32)
    out = np.empty((len(frames), len(order), 4, 4))
    current = scene.frame_current
    for k, f in enumerate(frames):
        scene.frame_set(int(f))
        ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        ev.pose.bones.foreach_get("matrix", buf)
        # foreach_get flattens matrices column by column
        out[k] = np.swapaxes(buf.reshape(nb, 4, 4), 1, 2)[order]
    scene.frame_set(current)
    return out


def evaluated_pose_matrices(arm: bpy.types.Object, frames, scene=None) -> np.ndarray:
    """(F, 24, 4, 4) armature-space pose matrices of the bones (SMPL order) on Blender ``frames``,
    read back through the depsgraph."""
    return evaluated_bone_matrices(arm, frames, skeleton.JOINT_NAMES, scene)


def keyed_values(fcurves, path: str, size: int, frames: np.ndarray, default) -> np.ndarray:
    """(F, size) values of the curves ``path`` at ``frames`` (linear between keys; the builders
    key every frame), ``default`` where a channel has no curve."""
    out = np.tile(np.asarray(default, dtype=np.float64), (len(frames), 1))
    for fc in fcurves:
        if fc.data_path == path and fc.array_index < size and len(fc.keyframe_points):
            co = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
            fc.keyframe_points.foreach_get("co", co)
            co = co.reshape(-1, 2)
            out[:, fc.array_index] = np.interp(frames, co[:, 0], co[:, 1])
    return out


def keyed_pose_matrices(arm: bpy.types.Object, frames) -> np.ndarray:
    """(F, 24, 4, 4) armature-space pose matrices (SMPL order) of the keys alone (forward
    kinematics in numpy, no constraints) on Blender ``frames``."""
    names = skeleton.JOINT_NAMES
    nb = len(arm.data.bones)
    buf = np.empty(nb * 16, dtype=np.float32)
    arm.data.bones.foreach_get("matrix_local", buf)
    index = {b.name: i for i, b in enumerate(arm.data.bones)}
    rest = np.swapaxes(buf.reshape(nb, 4, 4), 1, 2).astype(np.float64)[
        [index[n] for n in names]]
    rest_inv = np.linalg.inv(rest)
    curves = list(_fcurves(arm))
    f = np.asarray(frames, dtype=np.float64)
    n = len(f)
    posed = np.empty((n, len(names), 4, 4))
    for j, name in enumerate(names):
        base = f'pose.bones["{name}"]'
        q = keyed_values(curves, base + ".rotation_quaternion", 4, f, (1.0, 0.0, 0.0, 0.0))
        loc = keyed_values(curves, base + ".location", 3, f, (0.0, 0.0, 0.0))
        basis = np.zeros((n, 4, 4))
        basis[:, :3, :3] = rotations.quaternion_to_matrix(
            q / np.linalg.norm(q, axis=1, keepdims=True))
        basis[:, :3, 3] = loc
        basis[:, 3, 3] = 1.0
        p = skeleton.PARENTS[j]
        posed[:, j] = rest[j] @ basis if p < 0 else posed[:, p] @ (rest_inv[p] @ rest[j]) @ basis
    return posed


def _lock_as_built(arm: bpy.types.Object) -> dict | None:
    """{side: (IK constraint, Copy Rotation constraint)} when the live lock is the one
    :func:`apply_foot_lock` made (so :mod:`..core.leg_ik` models it), else None."""
    if arm.get(STATE) != "live" or arm.pose.ik_solver != "LEGACY":
        return None
    out = {}
    for side in cp.SIDES:
        hip, shin, foot = _leg_bones(side)
        ik = arm.pose.bones[shin].constraints.get(IK_NAME)
        rot = arm.pose.bones[foot].constraints.get(ROT_NAME)
        if ik is None or rot is None or ik.mute or rot.mute:
            return None
        if any(len(arm.pose.bones[b].constraints) != (b != hip) for b in (hip, shin, foot)):
            return None
        helpers = (ik.target, ik.pole_target)
        if any(h is None or h.parent != arm or h.parent_type != "OBJECT" or len(h.constraints)
               for h in helpers) or rot.target is not ik.target:
            return None
        if (ik.chain_count != 2 or not ik.use_tail or ik.use_stretch or ik.use_rotation
                or abs(ik.pole_angle - POLE_ANGLE) > 1e-6
                or ik.target.rotation_mode != "QUATERNION"
                or not (rot.use_x and rot.use_y and rot.use_z)
                or rot.invert_x or rot.invert_y or rot.invert_z or rot.mix_mode != "REPLACE"
                or rot.target_space != "WORLD" or rot.owner_space != "WORLD"):
            return None
        out[side] = (ik, rot)
    return out


def _helper_matrices(obj: bpy.types.Object, frames: np.ndarray) -> np.ndarray:
    """(F, 4, 4) a helper empty's matrix in its parent's (the armature's) space."""
    f = np.asarray(frames, dtype=np.float64)
    curves = list(_fcurves(obj))
    loc = keyed_values(curves, "location", 3, f, tuple(obj.location))
    q = keyed_values(curves, "rotation_quaternion", 4, f, tuple(obj.rotation_quaternion))
    m = np.zeros((len(f), 4, 4))
    m[:, :3, :3] = rotations.quaternion_to_matrix(q / np.linalg.norm(q, axis=1, keepdims=True))
    m[:, :3, 3] = loc
    m[:, 3, 3] = 1.0
    return np.asarray(obj.matrix_parent_inverse)[None] @ m


def locked_pose_matrices(arm: bpy.types.Object, frames, scene=None) -> np.ndarray:
    """(F, 24, 4, 4) armature-space pose matrices (SMPL order) on Blender ``frames`` with the foot
    lock as Blender applies it, like :func:`evaluated_pose_matrices` but in numpy
    (:mod:`..core.leg_ik`, ~1000x faster). A lock that was changed by hand after
    :func:`apply_foot_lock` (other constraints, settings, solver) is evaluated by Blender."""
    frames = np.asarray(frames)
    posed = keyed_pose_matrices(arm, frames)
    if arm.get(STATE) != "live":
        return posed
    built = _lock_as_built(arm)
    if built is None:
        locked = np.intersect1d(_locked_frames(arm), frames)
        if len(locked):
            posed[np.searchsorted(frames, locked)] = evaluated_pose_matrices(arm, locked, scene)
        return posed
    f = np.asarray(frames, dtype=np.float64)
    curves = list(_fcurves(arm))
    for side, (ik, rot) in built.items():
        hip, shin, foot = (skeleton.JOINT_INDEX[b] for b in _leg_bones(side))
        w_ik = keyed_values(curves, f'pose.bones["{_leg_bones(side)[1]}"].constraints'
                            f'["{IK_NAME}"].influence', 1, f, (ik.influence,))[:, 0]
        w_rot = keyed_values(curves, f'pose.bones["{_leg_bones(side)[2]}"].constraints'
                             f'["{ROT_NAME}"].influence', 1, f, (rot.influence,))[:, 0]
        act = (w_ik > 0) | (w_rot > 0)
        if not act.any():
            continue
        goal = _helper_matrices(ik.target, frames[act])
        pole = _helper_matrices(ik.pole_target, frames[act])[:, :3, 3]
        legs = leg_ik.locked_leg(posed[act, hip], posed[act, shin], posed[act, foot],
                                 goal[:, :3, 3], pole, w_ik[act], goal[:, :3, :3], w_rot[act])
        before = posed[act].copy()
        for j, m in zip((hip, shin, foot), legs):
            posed[act, j] = m
        moved = {hip, shin, foot}
        for j in range(skeleton.NUM_JOINTS):  # bones below the foot (toes) follow it rigidly
            p = skeleton.PARENTS[j]
            if p in moved and j not in moved:
                moved.add(j)
                posed[act, j] = posed[act, p] @ np.linalg.inv(before[:, p]) @ before[:, j]
    return posed


def bake_foot_lock(arm: bpy.types.Object, scene=None) -> dict:
    """The one switch: the locked legs become plain FK quaternion keys; the lock is removed.

    Only frames where the lock has influence are evaluated (the rest already is FK). Returns
    ``{"frames": number of frames baked}``.
    """
    if arm.get(STATE) != "live":
        return {"frames": 0}
    frames = _locked_frames(arm)
    rest, _ = rest_matrices(arm)
    legs = [skeleton.JOINT_INDEX[b] for side in cp.SIDES for b in _leg_bones(side)]
    if len(frames):
        posed = evaluated_pose_matrices(arm, frames, scene)[:, :, :3, :3]
        curves = {}
        for fc in _fcurves(arm):
            curves[(fc.data_path, fc.array_index)] = fc
        for j in legs:
            p = skeleton.PARENTS[j]
            # Blender: posed_j = posed_parent @ (rest_parent^T rest_j) @ basis_j
            parent = posed[:, p] @ (rest[p].T @ rest[j])
            basis = np.swapaxes(parent, 1, 2) @ posed[:, j]
            q = rotations.matrix_to_quaternion(basis)
            path = f'pose.bones["{skeleton.JOINT_NAMES[j]}"].rotation_quaternion'
            fcs = [curves[(path, i)] for i in range(4)]
            co = []
            for fc in fcs:
                buf = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
                fc.keyframe_points.foreach_get("co", buf)
                co.append(buf.reshape(-1, 2))
            key_frames = np.round(co[0][:, 0]).astype(np.int64)
            idx = np.searchsorted(key_frames, frames)
            ok = (idx < len(key_frames)) & (key_frames[np.minimum(idx, len(key_frames) - 1)]
                                            == frames)
            idx = idx[ok]
            old = np.stack([c[idx, 1] for c in co], axis=1)
            q = q[ok] * np.where(np.sum(q[ok] * old, axis=1) < 0, -1.0, 1.0)[:, None]
            for i, fc in enumerate(fcs):
                co[i][idx, 1] = q[:, i]
                fc.keyframe_points.foreach_set("co", co[i].ravel())
                fc.update()
    remove_foot_lock(arm)
    arm[STATE] = "baked"
    return {"frames": int(len(frames))}


def locked_joints(person, fps: float, **options) -> np.ndarray:
    """(N, 24, 3) world joints of ``person`` with the foot lock applied, evaluated by Blender.

    Builds a throw-away armature in the current scene and removes it again: for benchmarks, which
    score these joints in place of the file's (e.g. foot sliding after the lock).
    """
    from .armature import build_person

    collection = bpy.data.collections.new("videomocap foot lock probe")
    bpy.context.scene.collection.children.link(collection)
    try:
        arm = build_person(person, collection, fps, name="videomocap foot lock probe")
        plan = apply_foot_lock(arm, person, fps, **options)
        pose = evaluated_pose_matrices(arm, plan["frames"])
        mw = np.array(arm.matrix_world)
        return pose[:, :, :3, 3] @ mw[:3, :3].T + mw[:3, 3]
    finally:
        for obj in list(collection.objects):
            action = obj.animation_data.action if obj.animation_data else None
            data = obj.data
            bpy.data.objects.remove(obj)
            if action is not None and action.users == 0:
                bpy.data.actions.remove(action)
            if data is not None and data.users == 0:
                bpy.data.armatures.remove(data)
        bpy.data.collections.remove(collection)
