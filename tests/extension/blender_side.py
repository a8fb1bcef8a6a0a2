"""Blender-side half of the extension tests: run in a fresh Python with ``bpy`` (and a private
HOME), as ``python blender_side.py COMMAND JSON_ARGS``; prints ``RESULT <json>`` on its last line.

The backend package is made unimportable here (``sys.modules["videomocap"] = None``), as it is
in Blender's own Python: the extension must work from its zip alone (with its generated
``_shared/``) and reach the backend only through ``$VIDEOMOCAP_PYTHON``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

sys.modules["videomocap"] = None  # Blender's Python has no backend (and no torch, cv2, ...)

import bpy  # noqa: E402

MODULE = "bl_ext.user_default.videomocap"


def install(zip_path: str) -> None:
    bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default",
                                             enable_on_install=True)
    bpy.ops.wm.save_userpref()


def registration() -> dict:
    import addon_utils

    ops = bpy.ops.videomocap
    timers = [name for name in ("_poll_setup",)
              if MODULE + ".preferences" in sys.modules
              and bpy.app.timers.is_registered(getattr(sys.modules[MODULE + ".preferences"], name))]
    status_hooks = [f.__module__ for f in getattr(bpy.types.STATUSBAR_HT_header, "_dyn_ui_initialize",
                                                  lambda: [])()
                    if f.__module__.startswith(MODULE)]
    import_hooks = [f.__module__ for f in bpy.types.TOPBAR_MT_file_import._dyn_ui_initialize()
                    if f.__module__.startswith(MODULE)]
    return {
        "enabled": MODULE in {m.__name__ for m in addon_utils.modules()
                              if addon_utils.check(m.__name__)[1]},
        "capture_op": hasattr(bpy.types, "VIDEOMOCAP_OT_capture"),
        "import_op": hasattr(bpy.types, "VIDEOMOCAP_OT_import_motion"),
        "op_callable": "capture" in dir(ops),
        "panel": hasattr(bpy.types, "VIEW3D_PT_videomocap"),
        "file_handler": hasattr(bpy.types, "VIDEOMOCAP_FH_video"),
        "prefs": MODULE in bpy.context.preferences.addons,
        "scene_prop": hasattr(bpy.types.Scene, "videomocap"),
        "timers": timers,
        "status_hooks": status_hooks,
        "import_hooks": import_hooks,
        "shared_from": getattr(sys.modules.get(MODULE + "._shared.motion_file"), "__file__", None),
    }


def scene_summary() -> dict:
    arms = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    out = {"objects": sorted(o.name for o in bpy.data.objects),
           "collections": sorted(c.name for c in bpy.data.collections),
           "armatures": []}
    for arm in arms:
        ad = arm.animation_data
        action = ad.action if ad else None
        frames = set()
        if action is not None:
            curves = list(getattr(action, "fcurves", []) or [])
            if not curves:  # layered actions (4.4+): curves live in channelbags
                for layer in action.layers:
                    for strip in layer.strips:
                        for bag in strip.channelbags:
                            curves.extend(bag.fcurves)
            for fc in curves:
                frames.update(int(k.co[0]) for k in fc.keyframe_points)
        out["armatures"].append({"name": arm.name, "bones": len(arm.data.bones),
                                 "keyed_frames": len(frames),
                                 "collection": arm.users_collection[0].name})
    out["bodies"] = {o.name: [o.get("videomocap_body"), len(o.data.vertices)]
                     for o in bpy.data.objects if o.type == "MESH"}
    out["heavy_modules"] = sorted(m for m in ("torch", "mediapipe", "cv2")
                                  if sys.modules.get(m) is not None)
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def group_alive(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (the backend and anything it started)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().split(")")[-1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry))
    return found


def main() -> None:
    command, args = sys.argv[1], json.loads(sys.argv[2])
    result: dict = {}
    if command != "persist":
        install(args["zip"])
    if command == "install":
        result["first"] = registration()
        import addon_utils

        for _ in range(2):
            addon_utils.disable(MODULE, default_set=True)
            result.setdefault("disabled", []).append(registration())
            addon_utils.enable(MODULE, default_set=True)
            result.setdefault("reenabled", []).append(registration())
        bpy.ops.wm.save_userpref()
    elif command == "persist":
        # The bpy module starts with factory preferences; Blender itself loads the saved ones.
        result["before_read"] = registration()["enabled"]
        if bpy.app.version >= (4, 3):
            bpy.ops.wm.read_userpref()
            result["startup"] = registration()
        else:  # the 4.2 bpy module crashes in wm.read_userpref (not Blender itself): check the
            # saved preferences name the add-on, then enable it as Blender does at start-up
            import addon_utils

            prefs = os.path.join(bpy.utils.user_resource("CONFIG"), "userpref.blend")
            with open(prefs, "rb") as f:
                result["saved_in_prefs"] = MODULE.encode() in f.read()
            addon_utils.enable(MODULE, default_set=True)
            result["startup"] = registration()
    elif command == "capture":
        before = len(bpy.data.objects)
        t0 = time.monotonic()
        ret = bpy.ops.videomocap.capture(filepath=args["video"], frame_start=args["start"],
                                         frame_end=args["end"])
        result["seconds"] = time.monotonic() - t0
        result["return"] = sorted(ret)
        result["objects_before"] = before
        result["scene"] = scene_summary()
        result["frame_range"] = [bpy.context.scene.frame_start, bpy.context.scene.frame_end]
        if args.get("save"):
            bpy.ops.wm.save_as_mainfile(filepath=args["save"])
    elif command == "import":
        ret = bpy.ops.videomocap.import_motion(filepath=args["motion"])
        result["return"] = sorted(ret)
        result["scene"] = scene_summary()
        result["menu_entry"] = any(
            f.__module__ == MODULE + ".operators"
            for f in bpy.types.TOPBAR_MT_file_import._dyn_ui_initialize())
    elif command == "cancel":
        ops_mod = sys.modules[MODULE + ".operators"]
        runtime = ops_mod.Runtime
        seen = {}

        def canceller():
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                job = runtime.job
                if job is not None:
                    seen["pid"] = job.pid
                    seen["folder"] = str(job.folder)
                    if job.tracker.stage == "detect" and job.tracker.done >= args["after"]:
                        seen["done_at_cancel"] = job.tracker.done
                        seen["total"] = job.tracker.total
                        runtime.cancel_requested = True
                        return
                time.sleep(0.05)

        before = scene_summary()
        names_before = sorted(o.name for o in bpy.data.objects)
        thread = threading.Thread(target=canceller, daemon=True)
        thread.start()
        t0 = time.monotonic()
        ret = bpy.ops.videomocap.capture(filepath=args["video"])
        result["seconds"] = time.monotonic() - t0
        thread.join(5)
        result["return"] = sorted(ret)
        result["seen"] = seen
        result["alive_after"] = alive(seen["pid"]) if "pid" in seen else None
        result["group_after"] = group_alive(seen["pid"]) if "pid" in seen else None
        result["folder_left"] = os.path.exists(seen.get("folder", "/nonexistent"))
        result["unchanged"] = (scene_summary() == before
                               and sorted(o.name for o in bpy.data.objects) == names_before)
        result["runtime_clear"] = runtime.job is None
        result["last_result"] = runtime.last_result
    elif command == "fail":
        try:
            bpy.ops.videomocap.capture(filepath=args["video"])
            result["raised"] = None
        except RuntimeError as exc:
            result["raised"] = str(exc)
        ops_mod = sys.modules[MODULE + ".operators"]
        result["last_error"] = ops_mod.Runtime.last_error
        result["armatures"] = [o.name for o in bpy.data.objects if o.type == "ARMATURE"]
    elif command == "headless":
        # what `blender -b -P <extension>/headless.py -- VIDEO -o OUT.blend ...` runs
        headless = __import__(MODULE + ".headless", fromlist=["main"])
        result["headless_file"] = headless.__file__
        result["code"] = headless.main(args["argv"])
        result["scene"] = scene_summary()
    elif command == "setup_offline":
        try:
            bpy.ops.videomocap.setup_backend()
            result["raised"] = None
        except RuntimeError as exc:
            result["raised"] = str(exc)
        prefs_mod = sys.modules[MODULE + ".preferences"]
        result["error"] = prefs_mod.EnvRuntime.error
        result["env_dir"] = str(prefs_mod.backend_env_dir())
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
