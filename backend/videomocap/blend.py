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
          foot_lock: bool = True, smpl_model=None, retarget=None, per_person: bool = False,
          fbx_preset: str = "default") -> dict:
    """Build the scene of ``motion_path`` and write the requested files; returns what was built
    (with ``"exported"``: the FBX/BVH/glTF files written).

    Exports carry the foot-locked motion baked to FK keys, the meshes skinned to each armature and
    nothing else. ``per_person``: one FBX/glTF file per person (``NAME_person<ID>.ext``); BVH is
    one file per person whenever there are several. ``fbx_preset``: default | unity | unreal
    (see ``videomocap_addon.core.export_presets``).
    """
    from videomocap_addon.core import export_presets

    motion = load(motion_path)
    if not motion.people:
        raise CaptureError(f"{Path(motion_path).name} holds nobody to build.")
    if smpl_model is not None or retarget is not None:
        raise CaptureError("SMPL bodies and retargeting are not part of this version yet.")
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
    built = build_full_capture(motion, name, scene, foot_lock=foot_lock)
    scene["videomocap_foot_lock"] = bool(foot_lock)  # the switch, as the .blend records it
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
