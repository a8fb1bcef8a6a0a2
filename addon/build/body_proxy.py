"""A simple renderable body for each armature: one tapered prism per bone, rigidly skinned.

Armatures do not render; this proxy lets a render (the preview picture, a playblast) show the
captured motion until a real body mesh is attached. It is one mesh with one vertex group per bone
and an Armature modifier, so it follows the keyed armature exactly.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..core.shared import skeleton

_SIDES = 6
# bone radius at head and tail (metres)
_RADIUS = {
    "pelvis": (0.11, 0.10), "spine1": (0.10, 0.10), "spine2": (0.10, 0.11), "spine3": (0.11, 0.08),
    "neck": (0.05, 0.05), "head": (0.09, 0.08), "left_collar": (0.05, 0.05),
    "right_collar": (0.05, 0.05), "left_hip": (0.08, 0.08), "right_hip": (0.08, 0.08),
    "left_knee": (0.065, 0.05), "right_knee": (0.065, 0.05), "left_ankle": (0.045, 0.04),
    "right_ankle": (0.045, 0.04), "left_foot": (0.04, 0.03), "right_foot": (0.04, 0.03),
    "left_shoulder": (0.05, 0.045), "right_shoulder": (0.05, 0.045), "left_elbow": (0.045, 0.035),
    "right_elbow": (0.045, 0.035), "left_wrist": (0.035, 0.03), "right_wrist": (0.035, 0.03),
    "left_hand": (0.03, 0.02), "right_hand": (0.03, 0.02),
}


def _prism(head: np.ndarray, tail: np.ndarray, r0: float, r1: float):
    axis = tail - head
    length = max(float(np.linalg.norm(axis)), 1e-6)
    d = axis / length
    helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(d, helper)
    u /= np.linalg.norm(u)
    v = np.cross(d, u)
    ang = np.linspace(0, 2 * np.pi, _SIDES, endpoint=False)
    ring = np.cos(ang)[:, None] * u + np.sin(ang)[:, None] * v
    verts = np.concatenate([head + r0 * ring, tail + r1 * ring, [head - 0.3 * r0 * d],
                            [tail + 0.3 * r1 * d]])
    faces = []
    for i in range(_SIDES):
        k = (i + 1) % _SIDES
        faces.append((i, k, _SIDES + k, _SIDES + i))
        faces.append((2 * _SIDES, k, i))
        faces.append((2 * _SIDES + 1, _SIDES + i, _SIDES + k))
    return verts, faces


def create_body_proxy(armature: bpy.types.Object, collection, color=(0.8, 0.5, 0.2, 1.0)):
    """Build the proxy mesh for ``armature`` (in rest pose) and bind it to the armature."""
    verts_all, faces_all, groups = [], [], []
    offset = 0
    for name in skeleton.JOINT_NAMES:
        bone = armature.data.bones[name]
        head = np.array(bone.head_local)
        tail = np.array(bone.tail_local)
        r0, r1 = _RADIUS[name]
        verts, faces = _prism(head, tail, r0, r1)
        verts_all.append(verts)
        faces_all.extend(tuple(i + offset for i in f) for f in faces)
        groups.append((name, offset, len(verts)))
        offset += len(verts)
    mesh = bpy.data.meshes.new(f"{armature.name} body")
    mesh.from_pydata(np.concatenate(verts_all).tolist(), [], faces_all)
    mesh.update()
    obj = bpy.data.objects.new(f"{armature.name} body", mesh)
    collection.objects.link(obj)
    for name, start, count in groups:
        vg = obj.vertex_groups.new(name=name)
        vg.add(list(range(start, start + count)), 1.0, "REPLACE")
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = armature
    obj.parent = armature
    mat = bpy.data.materials.new(f"{armature.name} body")
    mat.diffuse_color = color
    mesh.materials.append(mat)
    return obj
