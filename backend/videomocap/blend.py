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
          foot_lock: bool = True, smpl_model=None, retarget=None, body: str = "auto") -> dict:
    """Build the scene of ``motion_path`` and write the requested files; returns what was built.

    Each person gets the SMPL body of ``smpl_model`` when given, else the free MakeHuman body
    (``body`` forces one of "makehuman", "smpl", "proxy"; see ``build.capture``)."""
    motion = load(motion_path)
    if not motion.people:
        raise CaptureError(f"{Path(motion_path).name} holds nobody to build.")
    if retarget is not None:
        raise CaptureError("Retargeting is not part of this version yet.")
    if smpl_model is not None and not Path(smpl_model).is_file():
        raise CaptureError(f"The SMPL model file {smpl_model} does not exist.")
    if not str(output).endswith(".blend"):
        raise CaptureError(f"The output {output} must end in .blend.")
    _writable(output, ".blend file")
    for path, what in ((fbx, "FBX file"), (bvh, "BVH file"), (glb, "glTF file"),
                       (preview, "preview picture")):
        if path:
            _writable(path, what)
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
    export.save_blend(output)
    if fbx:
        export.export_fbx(fbx, built["collection"])
    if bvh:
        if len(built["armatures"]) > 1:
            stem = Path(bvh)
            for arm in built["armatures"]:
                pid = arm["videomocap_person_id"]
                export.export_bvh(stem.with_name(f"{stem.stem}_person{pid}{stem.suffix}"), arm)
        else:
            export.export_bvh(bvh, built["armatures"][0])
    if glb:
        export.export_glb(glb, built["collection"])
    if preview:
        from .preview import write_preview

        write_preview(motion, scene, video, preview)
    return built
