"""Command line: ``videomocap capture | blend | bench`` (arguments only; the work is elsewhere).

Errors a user can cause print one plain sentence on stderr and exit with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from .errors import CaptureError


def _fbx_presets() -> tuple[str, ...] | None:
    """The FBX presets' names (bpy-free settings data of the add-on package), or None where the
    add-on package is not installed: the Blender extension's backend environment holds the
    backend alone, whose Blender side is Blender itself (``blend`` then says so when run)."""
    try:
        from videomocap_addon.core.export_presets import FBX_PRESETS
    except ImportError:
        return None
    return tuple(FBX_PRESETS)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="videomocap",
                                description="Motion capture from ordinary video into Blender.")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("capture", help="video -> motion file (.mocap.npz)")
    c.add_argument("video")
    c.add_argument("-o", "--output", required=True, help="motion file to write (.mocap.npz)")
    c.add_argument("--max-people", type=int, default=None)
    c.add_argument("--start", type=int, default=0, help="first source frame (0-based)")
    c.add_argument("--end", type=int, default=None, help="frame after the last one captured")
    c.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    c.add_argument("--model", default="default", help="default | hmr2 | wham")
    c.add_argument("--focal-from-people", action="store_true",
                   help="static camera: estimate the focal length from upright people walking in "
                        "depth (used only when well conditioned; experimental)")
    c.add_argument("--focal-mm", type=float, default=None, metavar="MM",
                   help="the lens's 35 mm-equivalent focal length, if you know it (phones' main "
                        "cameras: about 24-28 mm); default: the video's metadata, else measured "
                        "from the camera's turning, else the diagonal guess sqrt(W^2+H^2)")
    c.add_argument("--progress", choices=("text", "jsonl", "none"), default="text",
                   help="jsonl: one JSON object per line on stdout (for the Blender operator)")

    b = sub.add_parser("blend", help="motion file -> .blend (and FBX / BVH / glTF)")
    b.add_argument("motion")
    b.add_argument("-o", "--output", required=True, help=".blend file to write")
    b.add_argument("--fbx")
    b.add_argument("--bvh")
    b.add_argument("--glb")
    b.add_argument("--per-person", action="store_true",
                   help="one FBX / glTF file per person (NAME_person<ID>.ext); BVH always is")
    b.add_argument("--fbx-preset", choices=_fbx_presets(), default="default",
                   help="FBX axes, units and root naming for the target (unreal: one person "
                        "per file)")
    b.add_argument("--preview", help="PNG: the video frame beside the result seen from the camera")
    b.add_argument("--video", help="source video for --preview (default: from the motion file)")
    b.add_argument("--no-foot-lock", action="store_true")
    b.add_argument("--smpl-model", help="your SMPL / SMPL-H / SMPL-X model file (.pkl or .npz): "
                   "each person gets that body, shaped to their skeleton (default: the free "
                   "MakeHuman body)")
    b.add_argument("--character", metavar="FILE",
                   help="a character (.blend or .fbx with an armature) to drive with the "
                        "capture: brought in once per person and keyed to follow them")
    b.add_argument("--retarget", metavar="PRESET",
                   help="how the character's bones map to the capture's (needs --character): "
                        "auto (default: detect the rig from its bone names, else match names), "
                        "names, mixamo, rigify, rigify_metarig, unreal_manny, unreal, "
                        "makehuman_default, makehuman_game_engine, makehuman_cmu_mb")

    s = sub.add_parser("bench", help="accuracy and speed on ground-truth scenes")
    s.add_argument("--suite", default="default", help="default | quick")
    s.add_argument("--json", help="write the full report as JSON")
    s.add_argument("--markdown", help="write the report as Markdown (docs/benchmarks.md)")
    return p


def _progress_printer(mode: str):
    if mode == "jsonl":
        def emit(event: dict) -> None:
            sys.stdout.write(json.dumps(event) + "\n")
            sys.stdout.flush()
        return emit
    if mode == "none":
        return None
    started = time.perf_counter()
    tty = sys.stderr.isatty()
    last = {"stage": None, "tenth": -1}

    def show(event: dict) -> None:
        stage, done, total = event["stage"], event["done"], event["total"]
        tenth = int(10 * done / max(total, 1))
        new_stage = stage != last["stage"]
        if not (tty or new_stage or tenth != last["tenth"]):
            return  # in a log file: one line per stage and per tenth of it
        elapsed = time.perf_counter() - started
        line = f"[{elapsed:6.1f}s] {stage:<8} {done}/{total}"
        if tty:
            sys.stderr.write(("\n" if new_stage and last["stage"] else "\r") + line + "   ")
            if stage == "write" and done == total:
                sys.stderr.write("\n")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()
        last["stage"], last["tenth"] = stage, tenth
    return show


def _capture(args) -> int:
    from .pipeline import CaptureSettings, capture

    settings = CaptureSettings(max_people=args.max_people, start=args.start, end=args.end,
                               device=args.device, model=args.model,
                               focal_from_people=args.focal_from_people,
                               focal_mm=args.focal_mm)
    motion = capture(args.video, args.output, settings, _progress_printer(args.progress))
    if args.progress == "text":
        frames = sum(len(p.frame_ids) for p in motion.people)
        print(f"Captured {len(motion.people)} "
              f"{'person' if len(motion.people) == 1 else 'people'} ({frames} person-frames) "
              f"into {args.output}", file=sys.stderr)
    return 0


def _blend(args) -> int:
    if _fbx_presets() is None:
        raise CaptureError("`videomocap blend` needs the Blender side (the bpy module and the "
                           "videomocap_addon package), which this installation lacks: install "
                           "the repository with `make install`, or build the scene in Blender.")
    from .blend import blend

    blend(args.motion, args.output, fbx=args.fbx, bvh=args.bvh, glb=args.glb,
          preview=args.preview, video=args.video, foot_lock=not args.no_foot_lock,
          smpl_model=args.smpl_model, retarget=args.retarget, character=args.character,
          per_person=args.per_person, fbx_preset=args.fbx_preset)
    return 0


def _bench(args) -> int:
    from .bench.run import run_bench

    run_bench(args.suite, json_path=args.json, markdown=args.markdown,
              log=lambda line: print(line, flush=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .motion_file import MotionFileError

    try:
        return {"capture": _capture, "blend": _blend, "bench": _bench}[args.command](args)
    except (CaptureError, MotionFileError) as exc:
        print(f"videomocap: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("videomocap: cancelled.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
