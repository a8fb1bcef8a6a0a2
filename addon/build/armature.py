"""One rigged, keyframed SMPL-topology armature per captured person."""

from __future__ import annotations

import bpy
import numpy as np

from ..core import pose_keys
from ..core.shared import skeleton
from .keys import CurveWriter

#: Blender frame of source-video frame 0 (Blender timelines start at 1).
FRAME_OFFSET = 1


def _roll_axis(head: np.ndarray, tail: np.ndarray) -> tuple[float, float, float]:
    """Roll bones so their local z faces the body's front (-y at rest); bones that themselves
    point forward (the feet) get z up instead."""
    direction = (tail - head) / max(float(np.linalg.norm(tail - head)), 1e-9)
    return (0.0, 0.0, 1.0) if abs(direction[1]) > 0.7 else (0.0, -1.0, 0.0)


def create_armature(name: str, bone_lengths: np.ndarray, collection) -> bpy.types.Object:
    """An armature in rest pose (T-pose, standing on z = 0, facing -y) with SMPL bone names."""
    data = bpy.data.armatures.new(name)
    data.display_type = "OCTAHEDRAL"
    obj = bpy.data.objects.new(name, data)
    collection.objects.link(obj)
    heads, tails = pose_keys.rest_layout(bone_lengths)
    view_layer = bpy.context.view_layer
    previous_active = view_layer.objects.active
    view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        edit = data.edit_bones
        for j, joint in enumerate(skeleton.JOINT_NAMES):
            bone = edit.new(joint)
            bone.head = heads[j]
            bone.tail = tails[j]
            bone.align_roll(_roll_axis(heads[j], tails[j]))
        for j, parent in enumerate(skeleton.PARENTS):
            if parent >= 0:
                edit[skeleton.JOINT_NAMES[j]].parent = edit[skeleton.JOINT_NAMES[parent]]
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        view_layer.objects.active = previous_active
    for pbone in obj.pose.bones:
        pbone.rotation_mode = "QUATERNION"
    return obj


def rest_matrices(obj: bpy.types.Object) -> tuple[np.ndarray, np.ndarray]:
    """(24, 3, 3) rest rotations and (24, 3) rest heads of the armature's bones, joint order."""
    rest = np.empty((skeleton.NUM_JOINTS, 3, 3))
    heads = np.empty((skeleton.NUM_JOINTS, 3))
    for j, joint in enumerate(skeleton.JOINT_NAMES):
        m = np.array(obj.data.bones[joint].matrix_local)
        rest[j] = m[:3, :3]
        heads[j] = m[:3, 3]
    return rest, heads


def key_person(obj: bpy.types.Object, person, fps: float) -> None:
    """Key every bone rotation and the root location on every frame the person was seen, and
    hide the armature from renders on frames where they were not."""
    rest, heads = rest_matrices(obj)
    quats = pose_keys.bone_quaternions(person.global_orient, person.body_pose, rest)
    locs = pose_keys.root_locations(person.transl, rest[0], heads[0])
    frames = np.asarray(person.frame_ids) + FRAME_OFFSET
    writer = CurveWriter(obj, f"{obj.name} motion")
    for j, joint in enumerate(skeleton.JOINT_NAMES):
        base = f'pose.bones["{joint}"]'
        if j == 0:
            writer.add(f"{base}.location", frames, locs, group=joint)
        writer.add(f"{base}.rotation_quaternion", frames, quats[:, j], group=joint)
    _add_visibility(writer, person.frame_ids, fps)


def _add_visibility(writer: CurveWriter, frame_ids: np.ndarray, fps: float,
                    props=("hide_render",)) -> None:
    frames, hidden = pose_keys.visibility_keys(frame_ids, fps)
    for prop in props:
        writer.add(prop, frames + FRAME_OFFSET, hidden, group="Visibility",
                   interpolation="CONSTANT")


def key_visibility(obj: bpy.types.Object, frame_ids: np.ndarray, fps: float) -> None:
    """Hide ``obj`` (viewport and render) on frames where its person was not seen.

    Armatures are only hidden from renders: an animator must be able to select them on any frame.
    """
    _add_visibility(CurveWriter(obj, f"{obj.name} visibility"), frame_ids, fps,
                    props=("hide_viewport", "hide_render"))


def build_person(person, collection, fps: float, name: str | None = None) -> bpy.types.Object:
    """Armature for one PersonMotion: rest skeleton from its bone lengths, keyed motion."""
    obj = create_armature(name or f"Person {person.person_id}", person.bone_lengths, collection)
    obj["videomocap_person_id"] = int(person.person_id)
    key_person(obj, person, fps)
    return obj
