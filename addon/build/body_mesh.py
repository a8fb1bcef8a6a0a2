"""A skinned body mesh object for an armature, from a ``core.body_mesh.BodyMesh``.

Vertices, faces, smoothing and material indices are written with ``foreach_set``. Vertex-group
weights have no ``foreach_set``: each group gets one ``VertexGroup.add`` call per distinct weight
value (with all the vertices holding it), weights rounded to 1/1024.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..core.body_mesh import BodyMesh
from ..core.shared import skeleton

SKIN_COLOR = (0.80, 0.62, 0.50, 1.0)


def _material(name: str, color) -> bpy.types.Material:
    mat = bpy.data.materials.new(name)
    mat.diffuse_color = color  # Workbench and the viewport's solid mode
    if mat.node_tree is None:  # Blender 4.x; 5.0 gives new materials their nodes
        mat.use_nodes = True
    bsdf = mat.node_tree.nodes.get("Principled BSDF")
    if bsdf is not None:  # EEVEE / Cycles
        bsdf.inputs["Base Color"].default_value = color
        bsdf.inputs["Roughness"].default_value = 0.7
    return mat


def _write_geometry(mesh: bpy.types.Mesh, body: BodyMesh) -> None:
    verts = np.ascontiguousarray(body.verts, dtype=np.float32)
    faces = np.ascontiguousarray(body.faces, dtype=np.int32)
    n_faces, corners = faces.shape
    mesh.vertices.add(len(verts))
    mesh.loops.add(faces.size)
    mesh.polygons.add(n_faces)
    mesh.vertices.foreach_set("co", verts.ravel())
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, corners, dtype=np.int32))
    mesh.polygons.foreach_set("vertices", faces.ravel())
    mesh.update(calc_edges=True)
    mesh.polygons.foreach_set("use_smooth", np.ones(n_faces, dtype=bool))
    mesh.polygons.foreach_set("material_index", body.skin_faces().astype(np.int32))


#: Weights are rounded to multiples of this (the Armature modifier normalises each vertex's
#: weights, so the relative error is at most 1/2048), which bounds the number of calls.
WEIGHT_STEP = 1.0 / 1024


def _write_weights(obj: bpy.types.Object, weights: np.ndarray) -> None:
    quantised = np.round(np.asarray(weights, dtype=np.float64) / WEIGHT_STEP) * WEIGHT_STEP
    for j, name in enumerate(skeleton.JOINT_NAMES):
        vg = obj.vertex_groups.new(name=name)
        w = quantised[:, j]
        idx = np.nonzero(w > 0)[0]
        if not len(idx):
            continue
        values, inverse = np.unique(w[idx], return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(values) + 1))
        sorted_idx = idx[order].tolist()
        for k, value in enumerate(values.tolist()):
            vg.add(sorted_idx[bounds[k]:bounds[k + 1]], value, "REPLACE")


def create_body_mesh(armature: bpy.types.Object, collection, body: BodyMesh,
                     color=(0.8, 0.5, 0.2, 1.0)) -> bpy.types.Object:
    """A mesh object for ``body`` (in ``armature``'s rest frame), one vertex group per bone,
    deformed by an Armature modifier and parented to the armature."""
    name = f"{armature.name} body"
    mesh = bpy.data.meshes.new(name)
    _write_geometry(mesh, body)
    mesh.materials.append(_material(f"{armature.name} clothes", color))
    mesh.materials.append(_material(f"{armature.name} skin", SKIN_COLOR))
    obj = bpy.data.objects.new(name, mesh)
    collection.objects.link(obj)
    _write_weights(obj, np.asarray(body.weights, dtype=np.float32))
    mod = obj.modifiers.new("Armature", "ARMATURE")
    mod.object = armature
    obj.parent = armature
    obj["videomocap_body"] = body.source
    return obj
