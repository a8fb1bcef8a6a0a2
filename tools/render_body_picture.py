"""The README's body picture: one frame of a capture, the video beside the person's skinned body.

    python tools/render_body_picture.py out/sample.mocap.npz assets/sample.mp4 \\
        -o docs/images/sample_body.jpg [--frame F] [--smpl-model PATH]

Builds the capture exactly as ``videomocap blend`` does (MakeHuman body unless a model is given)
and writes ``videomocap.preview.write_body_closeup``'s picture.
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("motion")
    ap.add_argument("video")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--frame", type=int)
    ap.add_argument("--smpl-model")
    args = ap.parse_args(argv)

    import bpy

    from videomocap.motion_file import load
    from videomocap.preview import write_body_closeup
    from videomocap_addon.build.capture import build_full_capture

    motion = load(args.motion)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    t0 = time.perf_counter()
    built = build_full_capture(motion, "Capture", bpy.context.scene, smpl_model=args.smpl_model)
    print(f"built {len(built['armatures'])} people with the {built['body']} body in "
          f"{time.perf_counter() - t0:.2f} s", file=sys.stderr)
    print(f"wrote {write_body_closeup(motion, bpy.context.scene, args.video, args.output, args.frame)}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
