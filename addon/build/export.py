"""Save and export without ever leaving half a file: write to a temporary name, then rename.

FBX, BVH and glTF are written from *export copies* of the capture's armatures, never from the
scene's own objects: each copy gets its own copy of the person's Action with the foot lock baked
into plain FK keys (:func:`.foot_lock.bake_foot_lock`), no constraints and no helper empties; the
meshes skinned to the armature (Armature modifier) are copied along and re-pointed at the copy.
The copies carry the scene objects' names while a file is written and are deleted afterwards, so
the scene (and a .blend saved before or after) is unchanged. Settings come from
:mod:`..core.export_presets`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from ..core import export_presets as presets
from . import foot_lock

_SUFFIX = " (videomocap scene)"


def _atomic(path: str | os.PathLike, write) -> Path:
    path = Path(path).resolve()
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        write(str(tmp))
        if not tmp.exists():
            raise RuntimeError(f"Blender did not write {path.name}.")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def save_blend(path) -> Path:
    return _atomic(path, lambda p: bpy.ops.wm.save_as_mainfile(filepath=p, copy=True,
                                                                compress=True))


def _find_layer(layer_collection, collection):
    if layer_collection.collection == collection:
        return layer_collection
    for child in layer_collection.children:
        found = _find_layer(child, collection)
        if found is not None:
            return found
    return None


def _activate_collection(collection) -> None:
    """Make ``collection`` the active one: exporters then take exactly its objects, whatever is
    selected or hidden on the current frame."""
    layer = _find_layer(bpy.context.view_layer.layer_collection, collection)
    if layer is None:
        raise RuntimeError(f"collection {collection.name} is not in the view layer")
    bpy.context.view_layer.active_layer_collection = layer


def skinned_meshes(arm) -> list:
    """Mesh objects deformed by ``arm`` through an Armature modifier."""
    return [o for o in bpy.data.objects if o.type == "MESH" and any(
        m.type == "ARMATURE" and m.object == arm for m in o.modifiers)]


def _copy_action(src, dst) -> None:
    """Give ``dst`` (a copy of ``src``) its own copy of ``src``'s action, same slot."""
    ad = src.animation_data
    if ad is None or ad.action is None:
        return
    action = ad.action.copy()
    action.use_fake_user = False
    dst.animation_data.action = action
    if hasattr(action, "slots") and ad.action_slot is not None:
        ident = ad.action_slot.identifier
        dst.animation_data.action_slot = next(s for s in action.slots if s.identifier == ident)


@contextmanager
def _edit_bones(arm):
    """``arm``'s edit bones, in edit mode with ``arm`` active for the block; object mode and the
    previously active object come back afterwards, also on errors."""
    view_layer = bpy.context.view_layer
    previous = view_layer.objects.active
    view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        yield arm.data.edit_bones
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        view_layer.objects.active = previous


def _scale_lengths(arm, meshes, s: float) -> None:
    """Multiply every length of an export copy by ``s``: rest bones, location keys, object
    translations, skinned mesh vertices (the pose and the rotations stay as they are)."""
    scale = Matrix.Scale(s, 4)
    inv = Matrix.Scale(1.0 / s, 4)
    arm.data = arm.data.copy()
    with _edit_bones(arm) as bones:
        for bone in bones:
            roll = bone.roll
            bone.head = bone.head * s
            bone.tail = bone.tail * s
            bone.roll = roll
    for fc in foot_lock._fcurves(arm):
        if fc.data_path.endswith(".location") or fc.data_path == "location":
            import numpy as np

            for attr in ("co", "handle_left", "handle_right"):
                buf = np.empty(2 * len(fc.keyframe_points), dtype=np.float32)
                fc.keyframe_points.foreach_get(attr, buf)
                buf[1::2] *= s
                fc.keyframe_points.foreach_set(attr, buf)
            fc.update()
    arm.matrix_world = scale @ arm.matrix_world @ inv
    for mesh in meshes:
        mesh.data = mesh.data.copy()
        mesh.data.transform(scale)
        mesh.matrix_parent_inverse = scale @ mesh.matrix_parent_inverse @ inv


def _rotate_rig(arm, meshes, rot: Matrix) -> None:
    """Turn the rest pose of an export copy by ``rot`` (4x4, a rotation about the origin): every
    posed bone turns with it and the keys (bone-local) stay valid, so the whole motion is
    expressed in the rotated axes; meshes turn along."""
    if arm.data.users > 1:
        arm.data = arm.data.copy()
    with _edit_bones(arm) as bones:
        for bone in bones:
            bone.matrix = rot @ bone.matrix
    for mesh in meshes:
        if mesh.data.users > 1:
            mesh.data = mesh.data.copy()
        mesh.data.transform(rot)


def _limit_influences(mesh, limit: int) -> None:
    """At most ``limit`` bones per vertex on the mesh copy ``mesh`` (its own data: shared data is
    copied first), heaviest weights kept and rescaled
    (:func:`..core.export_presets.limit_influences`)."""
    me = mesh.data
    entries = [(v.index, g.group, g.weight) for v in me.vertices for g in v.groups]
    if not entries:
        return
    vertex, group, weight = (np.array(c) for c in zip(*entries))
    keep, new = presets.limit_influences(vertex, group, weight, limit)
    dropped = ~keep
    cut = np.unique(vertex[dropped])
    if len(cut) == 0:
        return
    if me.users > 1:
        mesh.data = me = me.copy()
    groups = {vg.index: vg for vg in mesh.vertex_groups}
    for gi in np.unique(group[dropped]):
        groups[int(gi)].remove(vertex[dropped & (group == gi)].tolist())
    changed = np.isin(vertex, cut) & keep
    for vi, gi, w in zip(vertex[changed].tolist(), group[changed].tolist(), new[changed].tolist()):
        groups[gi].add([vi], w, "REPLACE")


def _remove(objects) -> None:
    for obj in objects:
        data = obj.data
        action = obj.animation_data.action if obj.animation_data else None
        bpy.data.objects.remove(obj)
        if action is not None and action.users == 0:
            bpy.data.actions.remove(action)
        if isinstance(data, bpy.types.Armature) and data.users == 0:
            bpy.data.armatures.remove(data)
        elif isinstance(data, bpy.types.Mesh) and data.users == 0:
            bpy.data.meshes.remove(data)


@contextmanager
def export_copies(armatures, length_scale: float = 1.0, scene=None, axes=None,
                  max_influences: int | None = None):
    """Baked, constraint-free copies of ``armatures`` and their skinned meshes, in a temporary
    collection, carrying the scene objects' (and actions') names; yields ``{armature: (copy,
    [mesh copies])}``. ``length_scale`` multiplies every length; ``axes`` = (forward, up) turns
    the rest pose so the armature's own space has those axes (for writers without an axis option);
    ``max_influences`` limits the bones per vertex of the mesh copies (the scene's meshes keep
    theirs).
    Everything is removed and every name restored on exit, also on errors."""
    scene = scene or bpy.context.scene
    root = bpy.data.collections.new("videomocap export")
    scene.collection.children.link(root)
    created: list = []
    renamed: list = []  # (ID, original name)
    state = {"frame": scene.frame_current, "active": bpy.context.view_layer.objects.active,
             "collection": bpy.context.view_layer.active_layer_collection}
    try:
        copies = {}
        for arm in armatures:
            copy = arm.copy()
            created.append(copy)
            root.objects.link(copy)
            _copy_action(arm, copy)
            meshes = []
            for mesh in skinned_meshes(arm):
                m = mesh.copy()
                created.append(m)
                root.objects.link(m)
                m.animation_data_clear()  # visibility keys: every exported body is shown
                m.hide_viewport = m.hide_render = False
                for mod in m.modifiers:
                    if mod.type == "ARMATURE" and mod.object == arm:
                        mod.object = copy
                if m.parent == arm:
                    m.parent = copy
                meshes.append(m)
            copy.hide_viewport = False
            foot_lock.bake_foot_lock(copy, scene)  # a no-op where the lock is off or baked
            copies[arm] = (copy, meshes)
        if length_scale != 1.0:
            for copy, meshes in copies.values():
                _scale_lengths(copy, meshes, length_scale)
        if axes is not None:
            from bpy_extras.io_utils import axis_conversion

            rot = axis_conversion(to_forward=axes[0], to_up=axes[1]).to_4x4()
            for copy, meshes in copies.values():
                _rotate_rig(copy, meshes, rot)
        if max_influences is not None:
            for _, meshes in copies.values():
                for m in meshes:
                    _limit_influences(m, int(max_influences))
        # the copies take the scene objects' names while files are written
        for arm, (copy, meshes) in copies.items():
            pairs = [(arm, copy)] + list(zip(skinned_meshes(arm), meshes))
            # mesh data copied for the file (scaled, re-weighted) keeps its name too: engines
            # name the mesh asset after it
            pairs += [(orig.data, dup.data) for orig, dup in zip(skinned_meshes(arm), meshes)
                      if dup.data is not orig.data]
            if arm.animation_data and arm.animation_data.action and copy.animation_data:
                pairs.append((arm.animation_data.action, copy.animation_data.action))
            for orig, dup in pairs:
                name = orig.name
                renamed.append((orig, name))
                orig.name = name + _SUFFIX
                renamed.append((dup, name + " (export copy)"))
                dup.name = name
        yield copies
    finally:
        for idb, name in reversed(renamed):  # copies step aside first, then originals
            idb.name = name
        _remove(created)
        bpy.data.collections.remove(root)
        scene.frame_set(state["frame"])
        bpy.context.view_layer.objects.active = state["active"]
        bpy.context.view_layer.active_layer_collection = state["collection"]


@contextmanager
def _file_collection(objects, name: str):
    """A child collection of the export collection holding exactly ``objects``, made active."""
    parent = objects[0].users_collection[0]
    coll = bpy.data.collections.new(name)
    parent.children.link(coll)
    for obj in objects:
        coll.objects.link(obj)
    try:
        _activate_collection(coll)
        yield coll
    finally:
        bpy.data.collections.remove(coll)


@contextmanager
def _frame_range(scene, start: int, end: int):
    old = scene.frame_start, scene.frame_end
    scene.frame_start, scene.frame_end = int(start), int(end)
    try:
        yield
    finally:
        scene.frame_start, scene.frame_end = old


def _person_range(arm, scene) -> tuple[int, int]:
    """First and last keyed frame of ``arm``'s motion (the scene range if it has none)."""
    frames = [fc.keyframe_points[i].co[0] for fc in foot_lock._fcurves(arm)
              if fc.data_path.endswith("rotation_quaternion") and len(fc.keyframe_points)
              for i in (0, -1)]
    if not frames:
        return scene.frame_start, scene.frame_end
    return int(round(min(frames))), int(round(max(frames)))


def _capture_name(armatures) -> str:
    """The capture's name: the collection the scene's armatures are in."""
    colls = armatures[0].users_collection
    return colls[0].name if colls else "videomocap capture"


def _people(armatures) -> dict[int, object]:
    return {int(a.get("videomocap_person_id", i)): a for i, a in enumerate(armatures)}


@contextmanager
def _scene_name(scene, name: str):
    """FBX names its one animation stack (the clip engines show) after the scene."""
    old = scene.name
    scene.name = name
    try:
        yield
    finally:
        scene.name = old


def _write_fbx(path, objects, options: dict, clip: str, scene) -> Path:
    with _file_collection(objects, "videomocap fbx"), _scene_name(scene, clip):
        return _atomic(path, lambda p: bpy.ops.export_scene.fbx(
            filepath=p, use_active_collection=True, use_selection=False, **options))


def _write_glb(path, objects, clip: str) -> Path:
    options = dict(presets.GLTF_SETTINGS, export_nla_strips_merged_animation_name=clip)
    with _file_collection(objects, "videomocap glb"):
        return _atomic(path, lambda p: bpy.ops.export_scene.gltf(
            filepath=p, use_active_collection=True, use_selection=False, **options))


def _write_bvh(path, arm, scene) -> Path:
    bpy.context.view_layer.objects.active = arm
    options = {k: v for k, v in presets.BVH_SETTINGS.items() if k not in presets.BVH_OWN_KEYS}
    return _atomic(path, lambda p: bpy.ops.export_anim.bvh(
        filepath=p, frame_start=scene.frame_start, frame_end=scene.frame_end, **options))


def export_capture(fmt: str, path, armatures, per_person: bool = False,
                   fbx_preset: str = "default", scene=None) -> list[Path]:
    """Write ``armatures`` (the scene's, with or without a live foot lock) to ``fmt`` ("fbx",
    "bvh", "glb") at ``path``: everyone in one file, or one file per person (``per_person``, and
    always for BVH with several people; named by :func:`..core.export_presets.person_path`).
    Returns the files written. A per-person file spans that person's frames."""
    scene = scene or bpy.context.scene
    preset = presets.fbx_preset(fbx_preset) if fmt == "fbx" else {}
    people = _people(armatures)
    plan = presets.output_paths(path, list(people), fmt, per_person)
    if fmt == "fbx" and preset["one_skeleton_per_file"] and any(len(ids) > 1 for _, ids in plan):
        raise ValueError(f"The {fbx_preset} FBX preset holds one skeleton per file: export "
                         "one file per person.")
    written = []
    axes = (presets.BVH_SETTINGS["axis_forward"], presets.BVH_SETTINGS["axis_up"]) \
        if fmt == "bvh" else None
    with export_copies(armatures, preset.get("length_scale", 1.0), scene, axes,
                       preset.get("max_influences")) as copies:
        for file_path, ids in plan:
            arms = [people[i] for i in ids]
            objects = [o for a in arms for o in (copies[a][0], *copies[a][1])]
            if len(ids) == 1:
                rng = _person_range(copies[arms[0]][0], scene)
                action = copies[arms[0]][0].animation_data.action
                clip = action.name if action is not None else copies[arms[0]][0].name
            else:
                rng = (scene.frame_start, scene.frame_end)
                clip = _capture_name(armatures)
            with _frame_range(scene, *rng):
                if fmt == "fbx":
                    copy = copies[arms[0]][0]
                    root, old = preset["root_name"], copy.name
                    if root:
                        copy.name = root
                    try:
                        written.append(_write_fbx(file_path, objects,
                                                  presets.exporter_options(preset), clip, scene))
                    finally:
                        copy.name = old
                elif fmt == "glb":
                    written.append(_write_glb(file_path, objects, clip))
                else:
                    written.append(_write_bvh(file_path, copies[arms[0]][0], scene))
    return written


# The single-file helpers of earlier versions (everything of a collection / one armature).

def _armatures_of(collection) -> list:
    return [o for o in collection.all_objects if o.type == "ARMATURE"]


def export_fbx(path, collection, preset: str = "default") -> Path:
    """Everyone in ``collection`` into one FBX (foot lock baked, no helpers)."""
    return export_capture("fbx", path, _armatures_of(collection), fbx_preset=preset)[0]


def export_bvh(path, armature) -> Path:
    """One armature into one BVH (foot lock baked)."""
    scene = bpy.context.scene
    axes = (presets.BVH_SETTINGS["axis_forward"], presets.BVH_SETTINGS["axis_up"])
    with export_copies([armature], 1.0, scene, axes) as copies:
        with _frame_range(scene, *_person_range(copies[armature][0], scene)):
            return _write_bvh(path, copies[armature][0], scene)


def export_glb(path, collection) -> Path:
    """Everyone in ``collection`` into one binary glTF (foot lock baked, no helpers)."""
    return export_capture("glb", path, _armatures_of(collection))[0]
