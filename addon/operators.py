"""Operators: Capture from video (modal, or blocking in background mode), cancel, import a motion file.

The capture runs the backend as a child process (``backend_process.CaptureJob``); Blender only
polls it from a window timer, so the interface stays responsive. Nothing in the scene changes until
the backend has written its motion file: then the capture is built in one go, inside the
operator, so it is one undo step. Cancel stops the process group and deletes what it wrote.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from . import backend_process
from .backend_process import BackendError, CaptureJob

log = logging.getLogger("videomocap")

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
MODEL_ITEMS = [
    ("default", "Default (MediaPipe)", "MediaPipe landmarks and the skeleton fit: no checkpoints"),
    ("hmr2", "HMR 2.0", "Needs its licensed checkpoints (not loadable in this version)"),
    ("wham", "WHAM", "Needs its licensed checkpoints (not loadable in this version)"),
]
DEVICE_ITEMS = [
    ("cpu", "CPU", "Run the backend on the processor"),
    ("cuda", "CUDA GPU", "Run the backend on an NVIDIA GPU (needs the CUDA build of PyTorch)"),
]

class Runtime:
    """What the panel and status bar show; one capture at a time."""

    job: CaptureJob | None = None
    timer = None  # the window timer of the running modal capture
    cancel_requested = False
    last_error: str = ""
    last_result: str = ""

    @classmethod
    def running(cls) -> bool:
        return cls.job is not None and cls.job.state == "running"

    @classmethod
    def stop(cls) -> None:
        """Kill a running capture (add-on disabled, file closed)."""
        if cls.job is not None and cls.job.state == "running":
            cls.job.cancel()
        cls.job = None
        if cls.timer is not None:
            try:
                bpy.context.window_manager.event_timer_remove(cls.timer)
            except (ReferenceError, RuntimeError, AttributeError):
                pass
            cls.timer = None


def _log_error(message: str, details: str = "") -> None:
    Runtime.last_error = message
    log.error("%s", message)
    print(f"Video Mocap: {message}", file=sys.stderr)
    if details:
        print(details, file=sys.stderr)


def _redraw(context=None) -> None:
    wm = (context or bpy.context).window_manager
    for window in wm.windows:
        for area in window.screen.areas:
            if area.type in {"VIEW_3D", "STATUSBAR", "PREFERENCES"}:
                area.tag_redraw()


# --------------------------------------------------------------------------------------------
# building (one function for capture and import)


def build_motion(context, motion, name: str, foot_lock: bool = True) -> dict:
    """Build a capture into the current scene; on any error, remove what was created and re-raise.

    The body is the SMPL model of the preferences when one is set, else the free MakeHuman body."""
    from .build.capture import build_full_capture

    prefs = _addon_prefs(context)
    smpl_path = bpy.path.abspath(prefs.smpl_model_path) if prefs and prefs.smpl_model_path else None

    objects_before = set(bpy.data.objects)
    collections_before = set(bpy.data.collections)
    if context.object is not None and context.object.mode != "OBJECT":
        bpy.ops.object.mode_set(mode="OBJECT")
    try:
        built = build_full_capture(motion, name, context.scene, foot_lock=foot_lock,
                                   smpl_model=smpl_path)
    except Exception:
        for ob in set(bpy.data.objects) - objects_before:
            bpy.data.objects.remove(ob)
        for col in set(bpy.data.collections) - collections_before:
            bpy.data.collections.remove(col)
        raise
    for ob in context.view_layer.objects:
        ob.select_set(False)
    for arm in built["armatures"]:
        arm.select_set(True)
    if built["armatures"]:
        context.view_layer.objects.active = built["armatures"][0]
    return built


def _load_motion(path: str):
    from .core.shared import motion_file

    return motion_file.load(path)


def _unique_collection_name(stem: str) -> str:
    name = f"Capture {stem}"
    if name not in bpy.data.collections:
        return name
    i = 2
    while f"{name} {i}" in bpy.data.collections:
        i += 1
    return f"{name} {i}"


# --------------------------------------------------------------------------------------------
# capture


def _addon_prefs(context):
    from .preferences import get_prefs

    return get_prefs(context)


class CaptureOptions:
    """The capture's options, declared once: the operator takes them as arguments and the panel's
    settings (``VideoMocapSettings``) hold the same ones for the sidebar."""

    max_people: IntProperty(name="People to Keep", default=0, min=0, soft_max=20,
                            description="Keep the N people seen longest (0: everyone)")
    use_frame_range: BoolProperty(name="Frame Range", default=False,
                                  description="Capture only part of the video")
    frame_start: IntProperty(name="Start", default=0, min=0,
                             description="First video frame to capture (0-based)")
    frame_end: IntProperty(name="End", default=0, min=0,
                           description="Video frame after the last one captured (0: to the end)")
    foot_lock: BoolProperty(name="Foot Lock", default=True,
                            description="Pin the feet while they touch the ground")
    focal_mm: FloatProperty(name="Lens (mm)", default=0.0, min=0.0, max=1200.0, soft_max=200.0,
                            precision=1,
                            description="The camera's 35 mm-equivalent focal length, if known "
                                        "(phones' main cameras: about 24-28 mm). 0: from the "
                                        "video's metadata or the camera's motion, else a guess")
    model: EnumProperty(name="Model", items=MODEL_ITEMS, default="default")
    device: EnumProperty(name="Device", items=DEVICE_ITEMS, default="cpu")


class VIDEOMOCAP_OT_capture(CaptureOptions, bpy.types.Operator):
    """Capture every person in a video and build one animated armature each"""

    bl_idname = "videomocap.capture"
    bl_label = "Capture from Video"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="Video", subtype="FILE_PATH", options={"SKIP_SAVE"})
    filter_glob: StringProperty(default="*" + ";*".join(VIDEO_EXTENSIONS), options={"HIDDEN"})

    _job: CaptureJob | None = None

    # options not given explicitly come from the panel's settings
    def _options(self, context) -> dict:
        settings = getattr(context.scene, "videomocap", None)
        names = ("max_people", "use_frame_range", "frame_start", "frame_end", "foot_lock",
                 "focal_mm", "model", "device")
        values = {}
        for name in names:
            if self.properties.is_property_set(name) or settings is None:
                values[name] = getattr(self, name)
            else:
                values[name] = getattr(settings, name)
        if self.properties.is_property_set("frame_start") or \
                self.properties.is_property_set("frame_end"):
            values["use_frame_range"] = True
        return values

    def invoke(self, context, event):
        if self.filepath:  # dropped on the viewport, or given by the caller
            return self.execute(context)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        if Runtime.running():
            self.report({"ERROR"}, "A capture is already running; cancel it or wait for it.")
            return {"CANCELLED"}
        video = bpy.path.abspath(self.filepath) if self.filepath else ""
        if not video:
            self.report({"ERROR"}, "Choose a video to capture.")
            return {"CANCELLED"}
        opts = self._options(context)
        self._foot_lock = opts["foot_lock"]
        self._video = video
        Runtime.last_error = ""
        Runtime.last_result = ""
        Runtime.cancel_requested = False
        try:
            from .preferences import backend_env_dir

            prefs = _addon_prefs(context)
            python = backend_process.find_backend_python(
                prefs.python_path if prefs else "", backend_env_dir())
            end = None
            start = 0
            if opts["use_frame_range"]:
                start = opts["frame_start"]
                end = opts["frame_end"] if opts["frame_end"] > 0 else None
            self._job = CaptureJob(python, video, max_people=opts["max_people"], start=start,
                                   end=end, device=opts["device"], model=opts["model"],
                                   focal_mm=opts["focal_mm"])
        except BackendError as exc:
            _log_error(str(exc))
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        Runtime.job = self._job
        log.info("capture: %s", " ".join(self._job.command))

        if bpy.app.background or context.window is None:
            return self._run_blocking(context)
        Runtime.timer = context.window_manager.event_timer_add(0.2, window=context.window)
        context.window_manager.modal_handler_add(self)
        _redraw(context)
        return {"RUNNING_MODAL"}

    def _run_blocking(self, context):
        """Background mode (``blender -b``): no window, no timers; read progress in a loop."""
        def show(job):
            print(f"Video Mocap: {job.text()}", flush=True)

        try:
            state = self._job.wait(on_progress=show, should_stop=lambda: Runtime.cancel_requested)
        except KeyboardInterrupt:
            self._job.cancel()
            Runtime.job = None
            raise
        return self._end(context, state)

    def modal(self, context, event):
        job = self._job
        if job is None:
            return {"CANCELLED"}
        if event.type == "ESC" or Runtime.cancel_requested:
            job.cancel()
            return self._end(context, "cancelled")
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        state = job.poll()
        _redraw(context)
        if state == "running":
            return {"PASS_THROUGH"}
        return self._end(context, state)

    def cancel(self, context):
        """Blender ends the modal operator (file loaded, window closed): stop the backend."""
        if self._job is not None and self._job.state == "running":
            self._job.cancel()
        self._finish_runtime(context)

    def _finish_runtime(self, context):
        if Runtime.timer is not None:
            try:
                context.window_manager.event_timer_remove(Runtime.timer)
            except (ReferenceError, RuntimeError):
                pass
            Runtime.timer = None
        Runtime.job = None
        Runtime.cancel_requested = False

    def _end(self, context, state: str):
        job = self._job
        self._finish_runtime(context)
        if not bpy.app.background:
            _redraw(context)
        if state == "cancelled":
            Runtime.last_result = "Capture cancelled; nothing was changed."
            self.report({"WARNING"}, Runtime.last_result)
            return {"CANCELLED"}
        if state == "failed":
            _log_error(job.error or "The capture failed.", job.stderr_text())
            job.cleanup()
            self.report({"ERROR"}, Runtime.last_error)
            return {"CANCELLED"}
        try:
            motion = _load_motion(str(job.output))
            built = build_motion(context, motion, _unique_collection_name(Path(self._video).stem),
                                 foot_lock=self._foot_lock)
        except Exception as exc:  # a damaged file, a Blender error: say it, change nothing
            _log_error(f"Could not build the capture: {exc}")
            self.report({"ERROR"}, Runtime.last_error)
            return {"CANCELLED"}
        finally:
            job.cleanup()
        n = len(built["armatures"])
        Runtime.last_result = (f"Captured {n} {'person' if n == 1 else 'people'} from "
                               f"{Path(self._video).name} in {job.tracker.elapsed():.0f} s.")
        self.report({"INFO"}, Runtime.last_result)
        return {"FINISHED"}


class VIDEOMOCAP_OT_cancel_capture(bpy.types.Operator):
    """Stop the running capture; the scene stays as it was"""

    bl_idname = "videomocap.cancel_capture"
    bl_label = "Cancel Capture"
    bl_options = {"INTERNAL"}

    @classmethod
    def poll(cls, context):
        return Runtime.running()

    def execute(self, context):
        Runtime.cancel_requested = True
        return {"FINISHED"}


# --------------------------------------------------------------------------------------------
# File > Import > Motion capture (.mocap.npz)


class VIDEOMOCAP_OT_import_motion(bpy.types.Operator, ImportHelper):
    """Build animated armatures from a videomocap motion file"""

    bl_idname = "videomocap.import_motion"
    bl_label = "Import Motion Capture"
    bl_options = {"REGISTER", "UNDO", "PRESET"}

    filename_ext = ".npz"
    filter_glob: StringProperty(default="*.mocap.npz;*.npz", options={"HIDDEN"})
    filepath: StringProperty(name="File Path", subtype="FILE_PATH", options={"SKIP_SAVE"})
    foot_lock: BoolProperty(name="Foot Lock", default=True,
                            description="Pin the feet while they touch the ground")

    def invoke(self, context, event):
        if self.filepath:  # dropped on the viewport
            return self.execute(context)
        return ImportHelper.invoke(self, context, event)

    def execute(self, context):
        path = bpy.path.abspath(self.filepath)
        try:
            motion = _load_motion(path)
            if not motion.people:
                raise ValueError(f"{Path(path).name} holds nobody to build.")
            stem = Path(path).name.removesuffix(".npz").removesuffix(".mocap")
            built = build_motion(context, motion, _unique_collection_name(stem),
                                 foot_lock=self.foot_lock)
        except (OSError, ValueError) as exc:
            _log_error(str(exc))
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        n = len(built["armatures"])
        self.report({"INFO"}, f"Imported {n} {'person' if n == 1 else 'people'}.")
        return {"FINISHED"}


# --------------------------------------------------------------------------------------------
# retarget


def _preset_items():
    from .core.retarget_maps import CHOICES

    labels = {"auto": ("Auto", "Detect the rig from its bone names, else match names"),
              "names": ("Match Names", "Match bones by their names and the hierarchy")}
    return [(c, *labels.get(c, (c.replace("_", " ").title(), f"The {c} bone names")))
            for c in CHOICES]


PRESET_ITEMS = _preset_items()


def retarget_pair(objects):
    """(capture armature, character armature) among ``objects``; ValueError (one sentence)
    unless exactly one of each is there."""
    from .core.shared import skeleton

    arms = [o for o in objects if o.type == "ARMATURE"]
    captures = [o for o in arms if all(n in o.data.bones for n in skeleton.JOINT_NAMES)]
    others = [o for o in arms if o not in captures]
    if len(captures) != 1 or len(others) != 1:
        raise ValueError("Select one capture armature and the character armature to drive "
                         "with it.")
    return captures[0], others[0]


class VIDEOMOCAP_OT_retarget(bpy.types.Operator):
    """Drive the selected character armature with the selected capture armature (one new
    action on the character)"""

    bl_idname = "videomocap.retarget"
    bl_label = "Retarget to Selected Rig"
    bl_options = {"REGISTER", "UNDO"}

    preset: EnumProperty(name="Bone Map", items=PRESET_ITEMS, default="auto",
                         description="How the character's bones map to the capture's "
                                     "(default: the panel's choice)")

    @classmethod
    def poll(cls, context):
        if sum(1 for o in context.selected_objects if o.type == "ARMATURE") < 2:
            cls.poll_message_set("Select a capture armature and the character's armature")
            return False
        return True

    def execute(self, context):
        from .build import retarget as rt

        preset = self.preset
        settings = getattr(context.scene, "videomocap", None)
        if not self.properties.is_property_set("preset") and settings is not None:
            preset = settings.retarget_preset
        try:
            source, target = retarget_pair(context.selected_objects)
            if context.object is not None and context.object.mode != "OBJECT":
                bpy.ops.object.mode_set(mode="OBJECT")
            result = rt.retarget(source, target, preset, context.scene)
        except (ValueError, rt.RetargetError) as exc:
            _log_error(str(exc))
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        Runtime.last_error = ""
        Runtime.last_result = (f"{target.name} follows {source.name} ({result['preset']} bone "
                               f"map, {result['frames']} frames).")
        self.report({"INFO"}, Runtime.last_result)
        return {"FINISHED"}


def menu_import(self, context):
    self.layout.operator(VIDEOMOCAP_OT_import_motion.bl_idname, text="Motion capture (.mocap.npz)")


# --------------------------------------------------------------------------------------------
# drag and drop (Blender 4.1+)

_FILE_HANDLERS = []
if hasattr(bpy.types, "FileHandler"):
    class VIDEOMOCAP_FH_video(bpy.types.FileHandler):
        bl_idname = "VIDEOMOCAP_FH_video"
        bl_label = "Capture people from the video"
        bl_import_operator = "videomocap.capture"
        bl_file_extensions = ";".join(VIDEO_EXTENSIONS)

        @classmethod
        def poll_drop(cls, context):
            return context.area is not None and context.area.type == "VIEW_3D"

    class VIDEOMOCAP_FH_motion(bpy.types.FileHandler):
        bl_idname = "VIDEOMOCAP_FH_motion"
        bl_label = "Import the motion capture"
        bl_import_operator = "videomocap.import_motion"
        bl_file_extensions = ".npz"

        @classmethod
        def poll_drop(cls, context):
            return context.area is not None and context.area.type == "VIEW_3D"

    _FILE_HANDLERS = [VIDEOMOCAP_FH_video, VIDEOMOCAP_FH_motion]


classes = (VIDEOMOCAP_OT_capture, VIDEOMOCAP_OT_cancel_capture, VIDEOMOCAP_OT_import_motion,
           VIDEOMOCAP_OT_retarget, *_FILE_HANDLERS)
