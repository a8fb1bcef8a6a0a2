"""Save and export without ever leaving half a file: write to a temporary name, then rename."""

from __future__ import annotations

import os
from pathlib import Path

import bpy


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


def _activate_collection(collection) -> None:
    """Make ``collection`` the active one: exporters then take exactly the capture's objects,
    whatever is selected or hidden on the current frame."""
    def find(layer_collection):
        if layer_collection.collection == collection:
            return layer_collection
        for child in layer_collection.children:
            found = find(child)
            if found is not None:
                return found
        return None

    layer = find(bpy.context.view_layer.layer_collection)
    if layer is None:
        raise RuntimeError(f"collection {collection.name} is not in the view layer")
    bpy.context.view_layer.active_layer_collection = layer


def export_fbx(path, collection) -> Path:
    """The capture's armatures and meshes with baked animation, no leaf bones."""
    _activate_collection(collection)
    return _atomic(path, lambda p: bpy.ops.export_scene.fbx(
        filepath=p, use_active_collection=True, object_types={"ARMATURE", "MESH"},
        add_leaf_bones=False, bake_anim=True, bake_anim_use_all_actions=False,
        bake_anim_use_nla_strips=False, bake_anim_simplify_factor=0.0, armature_nodetype="NULL"))


def export_bvh(path, armature) -> Path:
    bpy.context.view_layer.objects.active = armature
    scene = bpy.context.scene
    return _atomic(path, lambda p: bpy.ops.export_anim.bvh(
        filepath=p, frame_start=scene.frame_start, frame_end=scene.frame_end,
        rotate_mode="NATIVE", root_transform_only=True))


def export_glb(path, collection) -> Path:
    _activate_collection(collection)
    return _atomic(path, lambda p: bpy.ops.export_scene.gltf(
        filepath=p, export_format="GLB", use_active_collection=True, export_animations=True))
