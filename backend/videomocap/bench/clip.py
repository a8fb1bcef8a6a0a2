"""Cut a stretch of a rendered scene (video + ground truth) into a small clip, e.g. the crossing
the tracking test runs on in CI (``tests/data/crossing.mp4``), without rendering anything again.

    python -m videomocap.bench.clip SCENE.mp4 --start 30 --end 130 -o tests/data/crossing.mp4

Writes OUT.mp4 (OpenCV's mp4v, frames copied as decoded) and OUT.gt.npz with every per-frame
array of SCENE.gt.npz cut to the same frames (frame 0 of the clip is frame ``start`` of the scene).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..video import probe_video, read_frames


def gt_path_of(video: Path) -> Path:
    return video.with_name(video.name[: -len(video.suffix)] + ".gt.npz")


def cut_clip(video: Path, start: int, end: int, out: Path) -> tuple[Path, Path]:
    import cv2

    info = probe_video(video)
    if not 0 <= start < end <= info.frame_count:
        raise ValueError(f"frames {start}-{end} are not inside the {info.frame_count} of {video}")
    with np.load(gt_path_of(video), allow_pickle=False) as data:
        gt = {k: data[k] for k in data.files}
    n = len(gt["K"])
    cut = {k: (v[start:end] if v.ndim and v.shape[0] == n and k not in ("person_ids", "joint_names")
               else v) for k, v in gt.items()}
    cut["source"] = np.array(f"{gt.get('source', '')} | frames {start}-{end - 1} of {video.name}")
    tmp = out.with_name(".tmp-" + out.name)
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), info.fps,
                             (info.width, info.height))
    try:
        for _, rgb in read_frames(video, start, end):
            writer.write(np.ascontiguousarray(rgb[..., ::-1]))
    finally:
        writer.release()
    gt_out = gt_path_of(out)
    np.savez_compressed(gt_out, **cut)
    tmp.replace(out)
    return out, gt_out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", type=Path)
    ap.add_argument("--start", type=int, required=True)
    ap.add_argument("--end", type=int, required=True)
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args(argv)
    for p in cut_clip(args.video, args.start, args.end, args.output):
        print(f"wrote {p} ({p.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
