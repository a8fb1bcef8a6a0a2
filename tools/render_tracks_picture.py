"""Draw the tracks of a motion file on a few frames of its video (the README's tracking picture).

    python tools/render_tracks_picture.py CAPTURE.mocap.npz VIDEO -o docs/images/vtest_tracks.jpg
        [--frames 150 300 450 600] [--trail 2.0]

Each person gets a colour from their id: their box on the shown frame with the id, and the trail of
their foot midpoint over the last ``--trail`` seconds (drawn dashed where the frame was filled or
recovered rather than detected).
"""
from __future__ import annotations

import argparse
import colorsys
from pathlib import Path

import cv2
import numpy as np

from videomocap.motion_file import load


def colour(pid: int) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb((pid * 0.6180339) % 1.0, 0.85, 1.0)
    return int(255 * b), int(255 * g), int(255 * r)


def draw(frame: np.ndarray, motion, f: int, trail_frames: int) -> np.ndarray:
    img = frame.copy()
    for p in motion.people:
        k = np.searchsorted(p.frame_ids, f)
        if k >= len(p.frame_ids) or p.frame_ids[k] != f:
            continue
        c = colour(p.person_id)
        lo = np.searchsorted(p.frame_ids, f - trail_frames)
        kp = p.keypoints2d[lo:k + 1]
        feet = kp[:, [27, 28], :2].mean(axis=1)  # ankle midpoint
        src = p.frame_source[lo:k + 1]
        for a in range(len(feet) - 1):
            if p.frame_ids[lo + a + 1] - p.frame_ids[lo + a] > 1:
                continue
            if src[a + 1] != 0 and a % 2:
                continue  # dashed where not detected
            cv2.line(img, tuple(int(v) for v in feet[a]), tuple(int(v) for v in feet[a + 1]), c, 2,
                     cv2.LINE_AA)
        pts = p.keypoints2d[k, :, :2]
        x0, y0 = pts.min(0)
        x1, y1 = pts.max(0)
        cv2.rectangle(img, (int(x0) - 3, int(y0) - 3), (int(x1) + 3, int(y1) + 3), c, 2)
        label = str(p.person_id)
        cv2.putText(img, label, (int(x0), int(y0) - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 4)
        cv2.putText(img, label, (int(x0), int(y0) - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6, c, 2)
    cv2.putText(img, f"frame {f}", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4)
    cv2.putText(img, f"frame {f}", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    return img


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("motion")
    ap.add_argument("video")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--frames", type=int, nargs="+", default=[150, 300, 450, 600])
    ap.add_argument("--trail", type=float, default=2.0, help="seconds of trail behind each person")
    ap.add_argument("--width", type=int, default=1200, help="width of the picture, px")
    args = ap.parse_args(argv)
    motion = load(args.motion)
    wanted = sorted(set(args.frames))
    cap = cv2.VideoCapture(args.video)
    shots, f = {}, 0
    while f <= wanted[-1]:
        ok, frame = cap.read()
        if not ok:
            break
        if f in wanted:
            shots[f] = draw(frame, motion, f, int(round(args.trail * motion.fps)))
        f += 1
    cap.release()
    tiles = [shots[f] for f in wanted if f in shots]
    if not tiles:
        raise SystemExit("None of the frames asked for is in the video.")
    while len(tiles) % 2:
        tiles.append(np.zeros_like(tiles[0]))
    grid = np.concatenate([np.concatenate(tiles[i:i + 2], 1) for i in range(0, len(tiles), 2)], 0)
    scale = args.width / grid.shape[1]
    grid = cv2.resize(grid, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.output, grid, [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {args.output} ({grid.shape[1]}x{grid.shape[0]})")


if __name__ == "__main__":
    main()
