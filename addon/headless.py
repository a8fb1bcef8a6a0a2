"""Capture without the interface: ``blender -b -P headless.py -- VIDEO -o OUT.blend [options]``.

Ships inside the extension (``<extensions>/user_default/videomocap/headless.py``). It uses the
installed, enabled extension's operator (``bpy.ops.videomocap.capture``), so the result is the one
the "Capture from Video" button gives; the backend is the Python set in the preferences, or
``$VIDEOMOCAP_PYTHON``. Exit status 1 and one sentence on stderr if anything fails.
"""

from __future__ import annotations

import argparse
import sys


def _parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="blender -b -P headless.py --",
                                 description="Capture the people in a video into a .blend file.")
    ap.add_argument("video")
    ap.add_argument("-o", "--output", required=True, help=".blend file to write")
    ap.add_argument("--max-people", type=int, default=0, help="keep N people (0: everyone)")
    ap.add_argument("--start", type=int, default=None, help="first video frame (0-based)")
    ap.add_argument("--end", type=int, default=None, help="video frame after the last one")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--model", default="default")
    ap.add_argument("--no-foot-lock", action="store_true")
    ap.add_argument("--focal-mm", type=float, default=0.0,
                    help="the lens's 35 mm-equivalent focal length (0: found by the backend)")
    ap.add_argument("--keep-scene", action="store_true",
                    help="add to the opened .blend instead of starting from an empty scene")
    return ap.parse_args(argv)


def _ensure_enabled() -> None:
    import addon_utils
    import bpy

    if hasattr(bpy.types, "VIDEOMOCAP_OT_capture"):
        return
    if bpy.app.version >= (4, 3):  # (the 4.2 bpy module crashes in read_userpref)
        bpy.ops.wm.read_userpref()  # the bpy module starts with factory preferences
        if hasattr(bpy.types, "VIDEOMOCAP_OT_capture"):
            return
    for mod in addon_utils.modules():
        if mod.__name__.endswith(".videomocap") or mod.__name__ == "videomocap_addon":
            addon_utils.enable(mod.__name__, default_set=True)
            if hasattr(bpy.types, "VIDEOMOCAP_OT_capture"):
                return
    raise RuntimeError("The Video Mocap extension is not installed in this Blender.")


def _empty_scene() -> None:
    import bpy

    for ob in list(bpy.data.objects):
        bpy.data.objects.remove(ob)
    for coll in list(bpy.data.collections):
        bpy.data.collections.remove(coll)
    bpy.data.orphans_purge(do_recursive=True)


def main(argv: list[str] | None = None) -> int:
    import bpy

    if argv is None:
        argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    args = _parse(argv)
    try:
        _ensure_enabled()
        if not args.keep_scene:
            _empty_scene()
        kwargs = dict(filepath=args.video, max_people=args.max_people, device=args.device,
                      model=args.model, foot_lock=not args.no_foot_lock,
                      focal_mm=args.focal_mm)
        if args.start is not None:
            kwargs["frame_start"] = args.start
        if args.end is not None:
            kwargs["frame_end"] = args.end
        result = bpy.ops.videomocap.capture(**kwargs)
        if "FINISHED" not in result:
            raise RuntimeError("The capture was cancelled.")
        bpy.ops.wm.save_as_mainfile(filepath=args.output)
    except RuntimeError as exc:
        message = str(exc).strip()
        message = message[len("Error: "):] if message.startswith("Error: ") else message
        print(f"videomocap: {message}", file=sys.stderr)
        return 1
    print(f"Video Mocap: wrote {args.output}")
    return 0


if __name__ == "__main__":
    code = main()
    if code:
        sys.exit(code)
