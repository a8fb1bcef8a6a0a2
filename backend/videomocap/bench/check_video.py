"""Sanity check of a rendered benchmark video against its ground truth with MediaPipe Pose.

    python -m videomocap.bench.check_video OUT.mp4

Prints the fraction of frames where MediaPipe finds a person and the mean pixel distance
between MediaPipe's hips/ankles and the projected GT hips/ankles.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from . import ground_truth as gt

# MediaPipe Pose landmark indices (person's left/right)
MP_IDX = {"left_hip": 23, "right_hip": 24, "left_ankle": 27, "right_ankle": 28,
          "left_knee": 25, "right_knee": 26, "left_shoulder": 11, "right_shoulder": 12}


def check(video: Path, gt_path: Path | None = None) -> dict:
    import cv2
    import mediapipe as mp

    video = Path(video)
    gt_path = gt_path or video.with_name(video.stem + ".gt.npz")
    d = gt.load_gt(gt_path)
    names = list(d["joint_names"])
    uv = gt.project(d["joints"], d["K"], d["cam_R"], d["cam_t"])[..., :2]
    cap = cv2.VideoCapture(str(video))
    errs = {k: [] for k in MP_IDX}
    found = 0
    n = 0
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1) as pose:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            h, w = frame.shape[:2]
            r = pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            if r.pose_landmarks is not None and n < len(uv):
                found += 1
                lm = r.pose_landmarks.landmark
                for k, i in MP_IDX.items():
                    p = np.array([lm[i].x * w, lm[i].y * h])
                    errs[k].append(float(np.linalg.norm(p - uv[n, names.index(k)])))
            n += 1
    return {
        "frames": n,
        "gt_frames": int(len(uv)),
        "detection_rate": found / max(n, 1),
        "mean_px_error": {k: float(np.mean(v)) if v else None for k, v in errs.items()},
        "median_px_error": {k: float(np.median(v)) if v else None for k, v in errs.items()},
        "mean_box_height_px": float(np.mean(d["boxes"][:, 0, 3] - d["boxes"][:, 0, 1])),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video", type=Path)
    ap.add_argument("--gt", type=Path, default=None)
    a = ap.parse_args(argv)
    print(json.dumps(check(a.video, a.gt), indent=1))


if __name__ == "__main__":
    main()
