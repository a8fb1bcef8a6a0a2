"""Reads an FBX file with ufbx and prints what the export tests compare, as JSON.

Run in its own process by ``test_export.py`` (``python fbx_reader.py REQUEST.json``): ufbx's Python
binding is young (0.0.5): its elements crash when used after the list object they were taken from
(``scene.meshes``, ``node.children``...) or their scene is freed, and its objects can crash the
garbage collector. So the tests keep it away from the pytest process, every scene and list object
here stays referenced (``held``), the collector is off, and the process ends without tearing
objects down.

Request: {"path": str, "fps": float, "roots": {armature node name: [Blender frames]},
"joints": [joint names]}. Output: {"unit_meters", "up" (ufbx CoordinateAxis name), "heads":
{root: (F, J, 3) metres, Z up}, "meshes": [{"name", "clusters", "most", "sum_min", "sum_max"}]}.
"""

from __future__ import annotations

import gc
import json
import os
import sys

import ufbx


_KEEP: list = []


def held(obj):
    """``obj`` kept alive to the end of the process (a binding list: its items, as a list)."""
    _KEEP.append(obj)
    return obj if isinstance(obj, ufbx.Scene) else list(obj)


def read(request: dict) -> dict:
    scene = held(ufbx.load_file(request["path"], target_axes=ufbx.axes_right_handed_z_up,
                                target_unit_meters=1.0,
                                space_conversion=ufbx.SpaceConversion.ADJUST_TRANSFORMS))
    stacks = held(scene.anim_stacks)
    anim = stacks[0].anim
    heads = {}
    for root, frames in request["roots"].items():
        heads[root] = []
        for frame in frames:
            evaluated = held(ufbx.evaluate_scene(scene, anim, float(frame) / request["fps"]))
            nodes = held(evaluated.nodes)
            if sum(n.name == root for n in nodes) != 1:
                raise SystemExit(f"not one node named {root!r}")
            below = {}
            for node in nodes:  # the nodes whose chain of parents reaches the root
                chain = [node]
                while chain[-1].parent is not None and chain[-1].name != root:
                    chain.append(chain[-1].parent)
                if chain[-1].name == root and node is not chain[-1]:
                    if node.name in below:
                        raise SystemExit(f"two nodes named {node.name!r} under {root!r}")
                    below[node.name] = node
            row = []
            for name in request["joints"]:
                c = below[name].node_to_world.c3
                row.append([c.x, c.y, c.z])
            heads[root].append(row)
    meshes = []
    for mesh in held(scene.meshes):
        for skin in held(mesh.skin_deformers):
            vertices, weights = held(skin.vertices), held(skin.weights)
            sums = [sum(weights[v.weight_begin + k].weight for k in range(v.num_weights))
                    for v in vertices]
            meshes.append({"name": mesh.name, "clusters": len(held(skin.clusters)),
                           "most": max(v.num_weights for v in vertices),
                           "sum_min": min(sums), "sum_max": max(sums)})
    return {"unit_meters": scene.settings.unit_meters,
            "up": ufbx.CoordinateAxis(scene.settings.axes.up).name, "heads": heads,
            "meshes": meshes}


if __name__ == "__main__":
    gc.disable()
    with open(sys.argv[1]) as f:
        sys.stdout.write(json.dumps(read(json.load(f))))
    sys.stdout.flush()
    os._exit(0)
