"""Export settings as data (bpy-free): which exporter options each target engine needs, and how the
exported files are named.

The FBX presets are keyword arguments of Blender's ``bpy.ops.export_scene.fbx`` plus two keys of our
own that the exporter in :mod:`..build.export` applies to its export copies before writing:

* ``length_scale``: lengths of the exported rig (rest bones, root location keys, skinned meshes) are
  multiplied by this. With ``global_scale = 1 / length_scale`` and ``FBX_SCALE_NONE`` the file then
  holds centimetres in its nodes, declares centimetres as its unit, and the armature node carries no
  scale (what Epic's *Send to Unreal* does with "Automatically scale bones": Unreal works in cm and
  does not fix a scaled root).
* ``max_influences``: most bones that may move one vertex of a skinned mesh (None: as many as
  the mesh has). The exported copies keep each vertex's heaviest weights and scale them back to a
  sum of 1 (:func:`limit_influences`).
* ``root_name``: name of the armature object in the file. Unreal's FBX importer drops a top node
  named ``Armature`` instead of turning it into an extra root bone, so the skeleton's root is the
  pelvis; a file can then hold one skeleton only (``one_skeleton_per_file``).

Why each engine preset is what it is:

* ``unity``: 1 unit = 1 m with the file's unit scale 1 m (``FBX_SCALE_ALL``: Unity imports with scale
  1 instead of 100), Y up / -Z forward (Unity's axes; the armature node keeps a -90 deg X rotation
  unless "Bake Axis Conversion" is ticked in Unity's model import settings: Blender's
  ``bake_space_transform`` is documented as broken with armatures and animation, so it stays off).
  Unity skins with at most 4 bones per vertex by default (the model importer's *Max Bones/Weights*
  and the *Skin Weights* quality setting), dropping the rest of a vertex's weights without
  rescaling the kept ones; the free MakeHuman body has up to 6 (3 % of its vertices), so the
  preset limits them to 4 itself, renormalised.
* ``unreal``: Epic's Send to Unreal defaults (Z up, Y forward, ``FBX_SCALE_NONE``, unit scale
  applied, no leaf bones, Null armature node, Y primary / X secondary bone axis, all bones keyed,
  no key reduction) plus its "scale bones to cm" and "Armature root" steps above.
* ``default``: Blender's own axes and units (Blender round trips; DCC tools).

All presets: no leaf bones (engines would import them as real bones), the armature as a Null node,
every bone keyed on every frame with no simplification (the capture is exact per frame), custom
properties written (the contact phases summary travels as a user property).
"""

from __future__ import annotations

from pathlib import Path

#: options every FBX preset shares
_FBX_COMMON = {
    "object_types": {"ARMATURE", "MESH"},
    "use_custom_props": True,
    "add_leaf_bones": False,
    "armature_nodetype": "NULL",
    "primary_bone_axis": "Y",
    "secondary_bone_axis": "X",
    "use_armature_deform_only": False,
    "use_mesh_modifiers": False,  # the Armature modifier is the skin, not baked into the mesh
    "mesh_smooth_type": "FACE",
    "bake_anim": True,
    "bake_anim_use_all_bones": True,
    "bake_anim_use_nla_strips": False,
    "bake_anim_use_all_actions": False,
    "bake_anim_force_startend_keying": True,
    "bake_anim_step": 1.0,
    "bake_anim_simplify_factor": 0.0,
    "apply_unit_scale": True,
    "bake_space_transform": False,
}

FBX_PRESETS: dict[str, dict] = {
    "default": {
        **_FBX_COMMON,
        "axis_forward": "-Z", "axis_up": "Y",
        "apply_scale_options": "FBX_SCALE_NONE", "global_scale": 1.0,
        "length_scale": 1.0, "root_name": None, "one_skeleton_per_file": False,
        "max_influences": None,
    },
    "unity": {
        **_FBX_COMMON,
        "axis_forward": "-Z", "axis_up": "Y",
        "apply_scale_options": "FBX_SCALE_ALL", "global_scale": 1.0,
        "length_scale": 1.0, "root_name": None, "one_skeleton_per_file": False,
        "max_influences": 4,
    },
    "unreal": {
        **_FBX_COMMON,
        "axis_forward": "Y", "axis_up": "Z",
        "apply_scale_options": "FBX_SCALE_NONE", "global_scale": 0.01,
        "length_scale": 100.0, "root_name": "Armature", "one_skeleton_per_file": True,
        # Unreal keeps up to 8 influences per vertex at default settings (more than the body has)
        "max_influences": None,
    },
}

#: our own keys (not exporter options)
FBX_OWN_KEYS = ("length_scale", "root_name", "one_skeleton_per_file", "max_influences")

GLTF_SETTINGS = {
    "export_format": "GLB",
    "export_yup": True,  # glTF is Y up by definition; Blender converts
    "export_animations": True,
    "export_animation_mode": "ACTIVE_ACTIONS",  # everyone's action in one animation per file
    "export_force_sampling": True,
    "export_frame_range": True,
    "export_skins": True,
    "export_def_bones": False,
    "export_extras": True,  # custom properties -> node extras (contact phases summary)
    "export_optimize_animation_size": False,
    "export_cameras": False,
    "export_lights": False,
}

#: BVH: metres, Y up / -Z forward like CMU and MotionBuilder files (what Blender's BVH importer
#: assumes by default); Blender's BVH writer has no axis option, so the export copy's rest pose is
#: turned into those axes (``axis_forward``/``axis_up`` are our keys, not the writer's)
BVH_SETTINGS = {"rotate_mode": "NATIVE", "root_transform_only": True, "global_scale": 1.0,
                "axis_forward": "-Z", "axis_up": "Y"}
BVH_OWN_KEYS = ("axis_forward", "axis_up")

FORMATS = ("fbx", "bvh", "glb")


def fbx_preset(name: str) -> dict:
    """A copy of the FBX preset ``name``; ``ValueError`` with the choices if there is none."""
    if name not in FBX_PRESETS:
        raise ValueError(f"Unknown FBX preset {name!r}: choose one of {', '.join(FBX_PRESETS)}.")
    preset = dict(FBX_PRESETS[name])
    preset["object_types"] = set(preset["object_types"])
    return preset


def exporter_options(preset: dict) -> dict:
    """The preset without our own keys: what goes to ``bpy.ops.export_scene.fbx``."""
    return {k: v for k, v in preset.items() if k not in FBX_OWN_KEYS}


def limit_influences(vertex, group, weight, limit: int):
    """Skin weights cut to ``limit`` bones per vertex (bpy-free).

    The weights come as flat arrays, one entry per vertex-group membership: vertex index, group
    index, weight. A vertex with more than ``limit`` entries keeps its heaviest ones (ties: the
    lower group index), scaled so that they add up to what all of its weights added up to (so a
    normalised skin stays normalised); other vertices are left alone. Returns ``(keep, weight)``:
    a mask over the entries and every entry's new weight (meaningful where kept)."""
    import numpy as np

    vertex = np.asarray(vertex, dtype=np.int64)
    weight = np.asarray(weight, dtype=np.float64)
    n = int(vertex.max(initial=-1)) + 1
    # rank of each entry within its vertex, heaviest first
    order = np.lexsort((np.asarray(group), -weight, vertex))
    first = np.searchsorted(vertex[order], vertex[order], side="left")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - first
    keep = rank < int(limit)
    total = np.bincount(vertex, weights=weight, minlength=n)
    kept = np.bincount(vertex[keep], weights=weight[keep], minlength=n)
    scale = np.where(kept > 0, total / np.maximum(kept, 1e-12), 1.0)
    return keep, (weight * scale[vertex]).astype(np.float32)


def person_path(path, person_id: int) -> Path:
    """``out/walk.fbx`` -> ``out/walk_person3.fbx``: the file of one person."""
    p = Path(path)
    return p.with_name(f"{p.stem}_person{int(person_id)}{p.suffix}")


def output_paths(path, person_ids, fmt: str, per_person: bool) -> list[tuple[Path, list[int]]]:
    """Files to write for ``fmt`` and who goes into each: ``[(path, [person ids])]``.

    BVH holds one skeleton per file: with several people it is always one file per person (named
    by :func:`person_path`); with one person the path is used as given. FBX and glTF hold everyone
    in one file unless ``per_person``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    ids = [int(i) for i in person_ids]
    if not ids:
        return []
    if fmt == "bvh":
        per_person = len(ids) > 1
    if per_person:
        return [(person_path(path, i), [i]) for i in ids]
    return [(Path(path), ids)]


#: the four contact channels, as custom properties on each armature (0/1 curves)
CONTACT_PROPERTIES = ("contact_left_heel", "contact_left_toe", "contact_right_heel",
                      "contact_right_toe")


def contact_keys(frame_ids, phases) -> dict[str, tuple]:
    """0/1 keys of the contact channels from foot-lock phases (bpy-free).

    ``contact_<side>_heel`` is 1 on the frames of that side's "heel" phases (only the heel down,
    foot pinned at the ankle), ``contact_<side>_toe`` on its "toe" phases (only the ball of the
    foot down), and both on its "flat" phases (heel and toe down, ankle and ball held).
    Returns per property ``(frames, values)``: source frames and values, a key where the value
    changes (plus the first and last frame), for CONSTANT interpolation; 0 on frames where the
    person was not seen.
    """
    import numpy as np

    frame_ids = np.asarray(frame_ids, dtype=np.int64)
    out = {}
    if len(frame_ids) == 0:
        return {prop: (frame_ids, np.zeros(0, dtype=np.float32)) for prop in CONTACT_PROPERTIES}
    # dense over the whole span: 0 on frames where the person was not seen
    span = np.arange(frame_ids[0], frame_ids[-1] + 1)
    for prop in CONTACT_PROPERTIES:
        _, side, point = prop.split("_")
        on = np.zeros(len(span), dtype=np.float32)
        for ph in phases:
            if ph.side == side and ph.point in (point, "flat"):  # flat: both down
                on[frame_ids[ph.first:ph.last + 1] - frame_ids[0]] = 1.0
        keep = np.zeros(len(span), dtype=bool)
        keep[0] = keep[-1] = True
        keep[1:] |= on[1:] != on[:-1]
        out[prop] = (span[keep], on[keep])
    return out


def phases_summary(phases) -> list[dict]:
    """JSON-ready list of contact phases (for FBX user properties / glTF extras)."""
    return [{"side": p.side, "point": p.point, "start": int(p.start), "end": int(p.end)}
            for p in phases]
