"""The modules the extension shares with the backend: skeleton, rotations, motion file.

They exist once, in the backend package ``videomocap``. Inside Blender with the backend installed
in the same Python (tests, ``videomocap blend``) they are imported from there; the extension zip
carries a copy made by the build under ``_shared/`` (nobody copies them by hand).
"""

try:  # the backend installed next to bpy
    from videomocap import motion_file, rotations, skeleton
except ImportError:  # pragma: no cover - inside the extension zip
    from .._shared import motion_file, rotations, skeleton  # type: ignore

__all__ = ["motion_file", "rotations", "skeleton"]
