"""A walking trajectory seen from above, before and after world grounding (the README's picture).

    python tools/render_trajectory_picture.py SCENE_DIR [SCENE_DIR ...] -o docs/images/trajectory_from_above.png

Each SCENE_DIR is a rendered benchmark scene (``scene.mp4`` + ``scene.gt.npz``, as cached under
``build/bench/scenes`` by ``videomocap bench``). The video is captured with the shipped pipeline,
the captured person is matched to the ground truth, and three pelvis paths are drawn on the ground
plane:

* truth: the rendered character's pelvis;
* before: the same capture with the camera's motion ignored, i.e. each frame's body kept where it
  is relative to the camera and the camera held at its first pose (what a per-frame, camera-space
  method gives when the camera pans);
* after: the motion file's world trajectory (camera motion removed, gravity, ground, contacts).

Both captured paths get the rigid alignment RTE uses (whole path, no scale), so the picture shows
shape and drift, not an arbitrary offset. The legend carries RTE and W-MPJPE100 of each.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def paths_of_scene(scene: Path, log=print) -> dict:
    from videomocap.bench import metrics
    from videomocap.bench.evaluate import load_ground_truth, matched_joints, to_camera
    from videomocap.bench.run import _match_people
    from videomocap.motion_file import load
    from videomocap.pipeline import capture

    gt = load_ground_truth(scene / "scene.gt.npz")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scene.mocap.npz"
        capture(scene / "scene.mp4", out)
        motion = load(out)
    pairs = _match_people(motion, gt)
    if not pairs:
        raise SystemExit(f"{scene.name}: the capture matches nobody in the ground truth.")
    g, person = pairs[0]
    frames, pred, true, names = matched_joints(person, gt, g)
    pelvis = names.index("pelvis")
    cam_R = np.asarray(motion.cam_R, np.float64)
    cam_t = np.asarray(motion.cam_t, np.float64)
    # camera motion ignored: camera-frame joints put back through the first frame's camera pose
    in_camera = to_camera(pred, cam_R[frames], cam_t[frames])
    before = in_camera @ cam_R[frames[0]].T + cam_t[frames[0]]
    out = {"name": scene.name.rsplit("-", 1)[0], "truth": true[:, pelvis]}
    for label, joints in (("before", before), ("after", pred)):
        root = joints[:, pelvis]
        tr = metrics.similarity_transform(root, true[:, pelvis], scale=False)
        out[label] = metrics.apply_transform(root, *tr)
        out[label + "_scores"] = (metrics.rte(root, true[:, pelvis]), metrics.w_mpjpe(joints, true))
    cam = np.asarray(gt["cam_t"], np.float64)[frames]
    out["camera"] = cam
    log(f"{scene.name}: before RTE {out['before_scores'][0]:.1f} %, W-MPJPE100 "
        f"{out['before_scores'][1]:.0f} mm; after RTE {out['after_scores'][0]:.1f} %, "
        f"W-MPJPE100 {out['after_scores'][1]:.0f} mm")
    return out


def draw(panels: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 6.0), squeeze=False)
    for ax, p in zip(axes[0], panels):
        t = p["truth"]
        ax.plot(t[:, 0], t[:, 1], color="black", lw=2.5, label="truth")
        rb, wb = p["before_scores"]
        ra, wa = p["after_scores"]
        ax.plot(p["before"][:, 0], p["before"][:, 1], color="#d62728", lw=1.8, ls="--",
                label=f"before: camera motion ignored (RTE {rb:.1f} %, W-MPJPE100 {wb:.0f} mm)")
        ax.plot(p["after"][:, 0], p["after"][:, 1], color="#1f77b4", lw=1.8,
                label=f"after: world-grounded (RTE {ra:.1f} %, W-MPJPE100 {wa:.0f} mm)")
        ax.scatter(*t[0, :2], color="black", s=30, zorder=5)
        c = p["camera"]
        ax.scatter(c[0, 0], c[0, 1], marker="^", color="gray", s=60, label="camera")
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_title(f"{p['name']} (seen from above, metres; dot = start)", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=1, frameon=False)
    fig.tight_layout()
    tmp = path.with_suffix(".tmp" + path.suffix)
    fig.savefig(tmp, dpi=110)
    tmp.replace(path)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenes", nargs="+", type=Path)
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args(argv)
    draw([paths_of_scene(s) for s in args.scenes], args.output)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
