"""videomocap: motion capture from video, as a Blender extension.

Blender imports this package; keep imports here light. bpy code lives in ``build/`` (turning
motion files into Blender data) and, with the user interface, in the operator and panel modules;
bpy-free logic lives in ``core/``.
"""


def register():
    pass


def unregister():
    pass
