"""Preferences: the backend environment (create it, or point to an existing Python), model paths.

"Create Backend Environment" makes a virtual environment in the extension's user folder and
pip-installs PyTorch (the CPU build, or CUDA when an NVIDIA GPU answers) and the backend that ships
inside the extension (``backend_src/``). The commands run as child processes polled from a
``bpy.app.timers`` timer, so Blender never freezes; their last line and the step show in the
preferences, and a failure (offline, no wheel for this system) is one sentence there.
"""

from __future__ import annotations

import sys
from pathlib import Path

import bpy
from bpy.props import EnumProperty, StringProperty

from . import backend_process
from .backend_process import BackendError, EnvSetup

ADDON_ID = __package__
BACKEND_SRC = Path(__file__).resolve().parent / "backend_src"


def get_prefs(context=None):
    addon = (context or bpy.context).preferences.addons.get(ADDON_ID)
    return addon.preferences if addon is not None else None


def backend_env_dir() -> Path:
    """Where the created environment lives: the extension's user folder (kept across upgrades)."""
    try:
        root = bpy.utils.extension_path_user(ADDON_ID, create=True)
    except (ValueError, RuntimeError, TypeError):  # loaded as a plain package, not an extension
        root = bpy.utils.user_resource("SCRIPTS", path="videomocap_user", create=True)
    return Path(root) / "backend-env"


class EnvRuntime:
    setup: EnvSetup | None = None
    message: str = ""
    error: str = ""

    @classmethod
    def running(cls) -> bool:
        return cls.setup is not None and cls.setup.state == "running"

    @classmethod
    def stop(cls) -> None:
        if cls.running():
            cls.setup.cancel()
        if bpy.app.timers.is_registered(_poll_setup):
            bpy.app.timers.unregister(_poll_setup)
        cls.setup = None


def _redraw_prefs():
    wm = bpy.context.window_manager
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type == "PREFERENCES":
                area.tag_redraw()


def _finish_setup(setup: EnvSetup) -> None:
    if setup.state == "done":
        EnvRuntime.message = (f"Backend ready: {backend_process.env_python(setup.env_dir)} "
                              f"({setup.last_line})")
        EnvRuntime.error = ""
        print(f"Video Mocap: {EnvRuntime.message}")
    elif setup.state == "failed":
        EnvRuntime.error = setup.error or "Creating the backend environment failed."
        print(f"Video Mocap: {EnvRuntime.error}", file=sys.stderr)
        print("\n".join(setup.log[-40:]), file=sys.stderr)
    else:
        EnvRuntime.error = "Creating the backend environment was cancelled."


def _poll_setup():
    setup = EnvRuntime.setup
    if setup is None:
        return None
    state = setup.poll()
    try:
        _redraw_prefs()
    except (AttributeError, ReferenceError):
        pass
    if state == "running":
        return 0.25
    _finish_setup(setup)
    return None


class VIDEOMOCAP_OT_setup_backend(bpy.types.Operator):
    """Create a Python environment for the capture backend in the extension's user folder and
    install PyTorch, MediaPipe and the backend into it with pip (downloads about 1 GB)"""

    bl_idname = "videomocap.setup_backend"
    bl_label = "Create Backend Environment"
    bl_options = {"INTERNAL"}

    def execute(self, context):
        if EnvRuntime.running():
            self.report({"WARNING"}, "The backend environment is already being created.")
            return {"CANCELLED"}
        if not (BACKEND_SRC / "pyproject.toml").is_file():
            msg = ("This copy of the add-on carries no backend source (it was not built with "
                   "`make extension`); install the backend with pip and set its Python instead.")
            EnvRuntime.error = msg
            self.report({"ERROR"}, msg)
            return {"CANCELLED"}
        prefs = get_prefs(context)
        variant = backend_process.torch_variant(prefs.torch_build if prefs else "AUTO")
        env_dir = backend_env_dir()
        steps = backend_process.env_setup_steps(sys.executable, env_dir, BACKEND_SRC, variant)
        EnvRuntime.error = ""
        EnvRuntime.message = ""
        try:
            EnvRuntime.setup = EnvSetup(steps, env_dir=env_dir)
        except BackendError as exc:
            EnvRuntime.error = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        if bpy.app.background:
            state = EnvRuntime.setup.wait()
            _finish_setup(EnvRuntime.setup)
            if state != "done":
                self.report({"ERROR"}, EnvRuntime.error)
                return {"CANCELLED"}
            self.report({"INFO"}, EnvRuntime.message)
            return {"FINISHED"}
        bpy.app.timers.register(_poll_setup, first_interval=0.25)
        return {"FINISHED"}


class VIDEOMOCAP_OT_cancel_setup(bpy.types.Operator):
    """Stop creating the backend environment"""

    bl_idname = "videomocap.cancel_setup"
    bl_label = "Cancel"
    bl_options = {"INTERNAL"}

    def execute(self, context):
        setup = EnvRuntime.setup
        if setup is not None and setup.state == "running":
            setup.cancel()
            _finish_setup(setup)
        return {"FINISHED"}


class VideoMocapPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_ID

    python_path: StringProperty(
        name="Backend Python", subtype="FILE_PATH",
        description="Python of an existing environment with videomocap installed (empty: the "
                    "environment created below)")
    torch_build: EnumProperty(
        name="PyTorch Build",
        items=[("AUTO", "Automatic", "CUDA when an NVIDIA GPU is found, else CPU"),
               ("CPU", "CPU", "The CPU build (smaller download)"),
               ("CUDA", "CUDA", "The NVIDIA GPU build")],
        default="AUTO")
    smpl_model_path: StringProperty(
        name="SMPL Model", subtype="FILE_PATH",
        description="SMPL_NEUTRAL.pkl/.npz (licensed; never shipped). Without it the built-in "
                    "skeleton and a free body mesh are used")
    checkpoint_dir: StringProperty(
        name="Model Checkpoints", subtype="DIR_PATH",
        description="Folder with HMR 2.0 / WHAM checkpoints for the optional neural models")

    def draw(self, context):
        layout = self.layout
        box = layout.box()
        box.label(text="Capture backend", icon="CONSOLE")
        box.prop(self, "python_path")
        try:
            python = backend_process.find_backend_python(self.python_path, backend_env_dir())
            box.label(text=f"Using {python}", icon="CHECKMARK")
        except BackendError as exc:
            box.label(text=str(exc), icon="INFO")
        row = box.row()
        row.prop(self, "torch_build")
        setup = EnvRuntime.setup
        if EnvRuntime.running():
            box.progress(factor=setup.fraction, type="BAR", text=setup.text())
            box.label(text=setup.last_line[:120] or "...")
            box.operator(VIDEOMOCAP_OT_cancel_setup.bl_idname, icon="CANCEL")
        else:
            box.operator(VIDEOMOCAP_OT_setup_backend.bl_idname, icon="IMPORT")
            box.label(text=f"Into {backend_env_dir()} (downloads about 1 GB)")
        if EnvRuntime.error:
            box.label(text=EnvRuntime.error, icon="ERROR")
        elif EnvRuntime.message:
            box.label(text=EnvRuntime.message, icon="CHECKMARK")

        box = layout.box()
        box.label(text="Models", icon="ARMATURE_DATA")
        box.prop(self, "smpl_model_path")
        box.prop(self, "checkpoint_dir")


classes = (VIDEOMOCAP_OT_setup_backend, VIDEOMOCAP_OT_cancel_setup, VideoMocapPreferences)
