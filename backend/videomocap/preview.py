"""The preview picture: the video frame, the capture (each person's skinned body) rendered from the
video's camera over it, and the trajectories seen from above; and a close-up of one person, the
video beside their body (``write_body_closeup``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .skeleton import JOINT_INDEX


def _frame(video, index: int) -> np.ndarray:
    from .video import read_frames

    for _, rgb in read_frames(video, index, index + 1):
        return rgb
    raise ValueError(f"frame {index} not in {video}")


def _top_view(motion, size: int, frame: int) -> np.ndarray:
    import cv2

    img = np.full((size, size, 3), 245, np.uint8)
    paths = [p.transl[:, :2] for p in motion.people]
    cams = motion.cam_t[:1, :2]
    allxy = np.concatenate(paths + [cams])
    lo, hi = allxy.min(0) - 0.5, allxy.max(0) + 0.5
    span = float(max(hi - lo))
    scale = (size - 40) / span
    centre = 0.5 * (lo + hi)

    def px(xy):
        q = (np.asarray(xy) - centre) * scale
        return np.stack([size / 2 + q[..., 0], size / 2 - q[..., 1]], -1).astype(np.int32)

    # 1 m grid
    for g in np.arange(np.floor(lo[0]), np.ceil(hi[0]) + 1):
        x = px([g, 0])[0]
        cv2.line(img, (int(x), 0), (int(x), size), (225, 225, 225), 1)
    for g in np.arange(np.floor(lo[1]), np.ceil(hi[1]) + 1):
        y = px([0, g])[1]
        cv2.line(img, (0, int(y)), (size, int(y)), (225, 225, 225), 1)
    colours = [(217, 115, 38), (51, 140, 217), (89, 191, 77), (204, 77, 153)]
    for k, p in enumerate(motion.people):
        c = colours[k % len(colours)]
        cv2.polylines(img, [px(p.transl[:, :2])], False, c, 2, cv2.LINE_AA)
        feet = p.joints[:, [JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]], :2]
        touching = p.contact[:, [0, 2]] > 0.5
        for pt in px(feet[touching]):
            cv2.circle(img, tuple(int(v) for v in pt), 2, (60, 60, 60), -1)
        sel = np.searchsorted(p.frame_ids, frame)
        if sel < len(p.frame_ids) and p.frame_ids[sel] == frame:
            cv2.circle(img, tuple(int(v) for v in px(p.transl[sel, :2])), 6, c, -1)
    cam = px(cams[0])
    cv2.drawMarker(img, tuple(int(v) for v in cam), (0, 0, 0), cv2.MARKER_TRIANGLE_UP, 14, 2)
    cv2.putText(img, "top view, 1 m grid", (8, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (90, 90, 90), 1,
                cv2.LINE_AA)
    return img


def write_preview(motion, scene, video, path, frame: int | None = None) -> Path:
    """Write a PNG: [video frame | capture over the video | top view] at ``frame``."""
    import cv2

    from videomocap_addon.build.armature import FRAME_OFFSET
    from videomocap_addon.build.render import render_still

    main = max(motion.people, key=lambda p: len(p.frame_ids))
    if frame is None:
        frame = int(main.frame_ids[len(main.frame_ids) // 2])
    rgb = _frame(video, frame)
    h, w = rgb.shape[:2]
    with tempfile.TemporaryDirectory() as tmp:
        png = render_still(scene, frame + FRAME_OFFSET, Path(tmp) / "render.png")
        rgba = cv2.cvtColor(cv2.imread(str(png), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    rgba = cv2.resize(rgba, (w, h), interpolation=cv2.INTER_AREA)
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    dim = (rgb.astype(np.float32) * 0.6).astype(np.float32)
    overlay = (rgba[..., :3] * alpha + dim * (1 - alpha)).astype(np.uint8)
    top = _top_view(motion, h, frame)
    panel = np.concatenate([rgb, overlay, top], axis=1)
    for x, label in ((8, "video"), (w + 8, "capture, seen from the video camera")):
        cv2.putText(panel, label, (x, h - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                    cv2.LINE_AA)
    path = Path(path)
    tmp_path = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    cv2.imwrite(str(tmp_path), cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))
    os.replace(tmp_path, path)
    return path


def _person_box(person, k: int, w: int, h: int, margin: float = 0.3) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): a box around the person's confident keypoints on their k-th frame,
    widened by ``margin`` of its height, 3:4 (w:h), inside the image."""
    kp = np.asarray(person.keypoints2d[k])
    good = kp[kp[:, 2] > 0.3, :2] if kp.shape[-1] == 3 else kp[:, :2]
    if len(good) < 3:
        return 0, 0, w, h
    lo, hi = good.min(0), good.max(0)
    bh = (hi[1] - lo[1]) * (1 + 2 * margin)
    bw = bh * 0.75
    c = 0.5 * (lo + hi)
    x0 = int(np.clip(c[0] - bw / 2, 0, max(0, w - bw)))
    y0 = int(np.clip(c[1] - bh / 2, 0, max(0, h - bh)))
    return x0, y0, int(min(w, x0 + bw)), int(min(h, y0 + bh))


def write_body_closeup(motion, scene, video, path, frame: int | None = None,
                       height: int = 720) -> Path:
    """Write a picture: [video | the capture's body over the dimmed video] cropped around the
    person seen longest, at ``frame`` (default: the middle of their track)."""
    import cv2

    from videomocap_addon.build.armature import FRAME_OFFSET
    from videomocap_addon.build.render import render_still

    main = max(motion.people, key=lambda p: len(p.frame_ids))
    if frame is None:
        frame = int(main.frame_ids[len(main.frame_ids) // 2])
    k = int(np.searchsorted(main.frame_ids, frame))
    rgb = _frame(video, frame)
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = _person_box(main, k, w, h)
    scale = max(1, int(np.ceil(height / max(1, y1 - y0))))
    shading = scene.display.shading
    shading.show_cavity, shading.show_shadows = True, False
    with tempfile.TemporaryDirectory() as tmp:
        png = render_still(scene, frame + FRAME_OFFSET, Path(tmp) / "render.png",
                           scale_percent=100 * scale)
        rgba = cv2.cvtColor(cv2.imread(str(png), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
    rgba = cv2.resize(rgba, (w * scale, h * scale), interpolation=cv2.INTER_AREA)
    crop = rgba[y0 * scale:y1 * scale, x0 * scale:x1 * scale]
    size = (crop.shape[1], crop.shape[0])
    video_crop = cv2.resize(rgb[y0:y1, x0:x1], size, interpolation=cv2.INTER_CUBIC)
    alpha = crop[..., 3:4].astype(np.float32) / 255.0
    dim = video_crop.astype(np.float32) * 0.45 + 0.55 * 235.0
    overlay = (crop[..., :3] * alpha + dim * (1 - alpha)).astype(np.uint8)
    gap = np.full((size[1], 8, 3), 255, np.uint8)
    panel = np.concatenate([video_crop, gap, overlay], axis=1)
    if panel.shape[0] != height:
        panel = cv2.resize(panel, (int(panel.shape[1] * height / panel.shape[0]), height),
                           interpolation=cv2.INTER_AREA)
    path = Path(path)
    tmp_path = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    ok = cv2.imwrite(str(tmp_path), cv2.cvtColor(panel, cv2.COLOR_RGB2BGR),
                     [cv2.IMWRITE_JPEG_QUALITY, 88])
    if not ok:
        raise OSError(f"could not write {path}")
    os.replace(tmp_path, path)
    return path
