"""videomocap: motion capture from video, as a Blender extension.

Blender imports this package; keep imports here light. bpy code lives in ``build/`` (turning
motion files into Blender data) and, with the user interface, in ``operators``, ``panels`` and
``preferences``; bpy-free logic lives in ``core/`` and ``backend_process``. The backend itself
(PyTorch, MediaPipe, OpenCV) is never imported here: it runs as a child process.

Registering twice in a row, or unregistering and registering again, leaves exactly one set of
classes, menu entries and status-bar hooks; unregistering stops any running capture or environment
setup and removes their timers.
"""


def register():
    import bpy

    from . import operators, panels, preferences

    for cls in (*preferences.classes, *operators.classes, *panels.classes):
        bpy.utils.register_class(cls)
    bpy.types.Scene.videomocap = bpy.props.PointerProperty(type=panels.VideoMocapSettings)
    bpy.types.TOPBAR_MT_file_import.append(operators.menu_import)
    bpy.types.STATUSBAR_HT_header.append(panels.draw_status)


def unregister():
    import bpy

    from . import operators, panels, preferences

    operators.Runtime.stop()
    preferences.EnvRuntime.stop()
    bpy.types.STATUSBAR_HT_header.remove(panels.draw_status)
    bpy.types.TOPBAR_MT_file_import.remove(operators.menu_import)
    if hasattr(bpy.types.Scene, "videomocap"):
        del bpy.types.Scene.videomocap
    for cls in reversed((*preferences.classes, *operators.classes, *panels.classes)):
        if getattr(cls, "is_registered", True):
            bpy.utils.unregister_class(cls)
