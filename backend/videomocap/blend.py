"""``videomocap blend``: a motion file -> a .blend (and FBX / BVH / glTF, a preview picture).

Runs the extension's own builders (package ``videomocap_addon``) inside the ``bpy`` module, so the
result is the one an animator gets from the "Capture from video" button.
"""

from __future__ import annotations

import os
from pathlib import Path


from .errors import CaptureError
from .motion_file import load


def _writable(path, what: str) -> Path:
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise CaptureError(f"The folder for the {what} ({folder}) does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CaptureError(f"The folder for the {what} ({folder}) cannot be written to.")
    return p


def blend(motion_path, output, fbx=None, bvh=None, glb=None, preview=None, video=None,
          foot_lock: bool = True, smpl_model=None, retarget=None, character=None,
          body: str = "auto", per_person: bool = False, fbx_preset: str = "default") -> dict:
    """Build the scene of ``motion_path`` and write the requested files; returns what was built
    (with ``"exported"``: the FBX/BVH/glTF files written).

    Each person gets the SMPL body of ``smpl_model`` when given, else the free MakeHuman body
    (``body`` forces one of "makehuman", "smpl", "proxy"; see ``build.capture``).
    ``character`` (.blend or .fbx) is brought in once per captured person and driven by that
    person's capture armature (``retarget``: a preset of
    ``videomocap_addon.core.retarget_maps.CHOICES``, default "auto"); built["characters"] holds
    the driven armatures, built["retargets"] what each retarget did.

    Exports carry the foot-locked motion baked to FK keys, the meshes skinned to each armature and
    nothing else. ``per_person``: one FBX/glTF file per person (``NAME_person<ID>.ext``); BVH is
    one file per person whenever there are several. ``fbx_preset``: default | unity | unreal
    (see ``videomocap_addon.core.export_presets``).
    """
    from videomocap_addon.core import export_presets

    motion = load(motion_path)
    if not motion.people:
        raise CaptureError(f"{Path(motion_path).name} holds nobody to build.")
    if smpl_model is not None and not Path(smpl_model).is_file():
        raise CaptureError(f"The SMPL model file {smpl_model} does not exist.")
    if retarget is not None and character is None:
        raise CaptureError("--retarget needs the character to drive: pass --character FILE "
                           "(.blend or .fbx).")
    if character is not None:
        from videomocap_addon.core.retarget_maps import CHOICES

        retarget = retarget or "auto"
        if retarget not in CHOICES:
            raise CaptureError(f"Unknown retarget preset {retarget!r}; choose one of "
                               f"{', '.join(CHOICES)}.")
        if not Path(character).is_file():
            raise CaptureError(f"The character file {character} does not exist.")
        if Path(character).suffix.lower() not in (".blend", ".fbx"):
            raise CaptureError(f"The character {Path(character).name} must be a .blend or "
                               f".fbx file.")
    if not str(output).endswith(".blend"):
        raise CaptureError(f"The output {output} must end in .blend.")
    _writable(output, ".blend file")
    for path, what in ((fbx, "FBX file"), (bvh, "BVH file"), (glb, "glTF file"),
                       (preview, "preview picture")):
        if path:
            _writable(path, what)
    try:
        preset = export_presets.fbx_preset(fbx_preset)
    except ValueError as exc:
        raise CaptureError(str(exc)) from None
    if fbx and preset["one_skeleton_per_file"] and not per_person and len(motion.people) > 1:
        raise CaptureError(f"The {fbx_preset} FBX preset holds one skeleton per file and this "
                           f"capture has {len(motion.people)} people: add --per-person.")
    if preview:
        video = video or motion.meta.get("video_path")
        if not video or not Path(video).is_file():
            raise CaptureError("The preview needs the source video: pass --video.")

    import bpy

    from videomocap_addon.build import export
    from videomocap_addon.build.capture import build_full_capture

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    name = f"Capture {Path(motion.meta.get('video', Path(motion_path).name)).stem}"
    from videomocap_addon.core.body_mesh import BodyMeshError

    try:
        built = build_full_capture(motion, name, scene, foot_lock=foot_lock, body=body,
                                   smpl_model=smpl_model)
    except BodyMeshError as exc:
        raise CaptureError(str(exc)) from None
    scene["videomocap_foot_lock"] = bool(foot_lock)  # the switch, as the .blend records it
    if character is not None:
        from videomocap_addon.build import retarget as rt

        built["characters"], built["retargets"] = [], []
        try:
            for arm in built["armatures"]:
                target = rt.import_character(character, scene,
                                             f"{Path(character).stem} ({arm.name})")
                built["characters"].append(target)
                built["retargets"].append(rt.retarget(arm, target, retarget, scene))
        except rt.RetargetError as exc:
            raise CaptureError(str(exc)) from None
    export.save_blend(output)
    exported = []
    for fmt, path in (("fbx", fbx), ("bvh", bvh), ("glb", glb)):
        if path:
            exported += export.export_capture(fmt, path, built["armatures"],
                                              per_person=per_person, fbx_preset=fbx_preset,
                                              scene=scene)
    built["exported"] = exported
    if preview:
        from .preview import write_preview

        write_preview(motion, scene, video, preview)
    return built
