"""Still renders of a built capture (the preview picture), through the scene's camera."""

from __future__ import annotations

import os
from pathlib import Path

import bpy


def render_still(scene, frame: int, path, engine: str = "BLENDER_WORKBENCH",
                 transparent: bool = True, scale_percent: int = 100) -> Path:
    """Render ``frame`` of ``scene`` to the PNG ``path`` (RGBA when ``transparent``)."""
    path = Path(path).resolve()
    scene.frame_set(frame)
    scene.render.engine = engine
    scene.render.film_transparent = transparent
    scene.render.resolution_percentage = scale_percent
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA" if transparent else "RGB"
    if engine == "BLENDER_WORKBENCH":
        shading = scene.display.shading
        shading.light = "STUDIO"
        shading.color_type = "MATERIAL"
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    scene.render.filepath = str(tmp)
    bpy.ops.render.render(write_still=True)
    os.replace(tmp, path)
    return path
