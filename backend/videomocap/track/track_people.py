"""Give each detected person an identity that lasts across frames.

This is the first, geometric tracker: each track predicts its box forward with a constant velocity,
one Hungarian assignment per frame matches tracks to detections on a cost mixing box overlap and
centre distance, and a gate refuses matches that are too far. Tracks are tentative until seen for
a few frames, and survive unseen for ``memory_seconds`` so a brief occlusion keeps the id. Ages are
in seconds, so behaviour does not depend on the frame rate. (Appearance and pose terms of the
PHALP-style cost come with the multi-person work.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..boxes import box_iou


@dataclass
class PersonTrack:
    """The detections of one person, in frame order."""

    track_id: int
    frame_ids: np.ndarray  # (N,) int
    keypoints2d: np.ndarray  # (N, 33, 3)
    keypoints3d: np.ndarray  # (N, 33, 3)
    boxes: np.ndarray  # (N, 4)
    scores: np.ndarray  # (N,)


@dataclass
class _Live:
    track_id: int
    frames: list = field(default_factory=list)
    dets: list = field(default_factory=list)  # (FrameDetections, index)
    box: np.ndarray | None = None
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))
    last_frame: int = -1

    def predict(self, frame: int) -> np.ndarray:
        return self.box + self.velocity * (frame - self.last_frame)


def _cost(pred: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Association cost in [0, ~2]: (1 - IoU) plus centre distance in units of box height."""
    iou = box_iou(pred, boxes)
    cp = 0.5 * (pred[:, None, :2] + pred[:, None, 2:])
    cb = 0.5 * (boxes[None, :, :2] + boxes[None, :, 2:])
    h = np.maximum(pred[:, None, 3] - pred[:, None, 1], 1.0)
    dist = np.linalg.norm(cp - cb, axis=-1) / h
    return (1.0 - iou) + dist


def track_people(
    detections: list,
    fps: float,
    max_people: int | None = None,
    memory_seconds: float = 1.0,
    min_seconds: float = 0.5,
    gate: float = 1.2,
) -> list[PersonTrack]:
    """Link per-frame detections (a list of FrameDetections) into person tracks.

    Tracks shorter than ``min_seconds`` are dropped; ``max_people`` keeps the most present ones.
    Returned tracks are ordered by id (ids count from 1 in order of first appearance).
    """
    live: list[_Live] = []
    done: list[_Live] = []
    next_id = 1
    memory = max(1, int(round(memory_seconds * fps)))
    for det in detections:
        f = det.frame_index
        still = []
        for tr in live:
            (still if f - tr.last_frame <= memory else done).append(tr)
        live = still
        boxes = np.asarray(det.boxes, dtype=np.float64).reshape(-1, 4)
        matched_det = set()
        if live and len(boxes):
            pred = np.stack([tr.predict(f) for tr in live])
            cost = _cost(pred, boxes)
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                if cost[r, c] > gate:
                    continue
                tr = live[r]
                gap = f - tr.last_frame
                new_vel = (boxes[c] - tr.box) / max(gap, 1)
                tr.velocity = 0.6 * tr.velocity + 0.4 * new_vel
                tr.box = boxes[c]
                tr.last_frame = f
                tr.frames.append(f)
                tr.dets.append((det, c))
                matched_det.add(c)
        for c in range(len(boxes)):
            if c in matched_det:
                continue
            tr = _Live(track_id=next_id, box=boxes[c], last_frame=f)
            tr.frames.append(f)
            tr.dets.append((det, c))
            live.append(tr)
            next_id += 1
    done.extend(live)
    min_frames = max(2, int(round(min_seconds * fps)))
    kept = [tr for tr in done if len(tr.frames) >= min_frames]
    if max_people is not None:
        kept = sorted(kept, key=lambda tr: -len(tr.frames))[:max_people]
    kept.sort(key=lambda tr: tr.track_id)
    out = []
    for new_id, tr in enumerate(kept, start=1):
        out.append(PersonTrack(
            track_id=new_id,
            frame_ids=np.array(tr.frames, dtype=np.int64),
            keypoints2d=np.stack([d.keypoints2d[i] for d, i in tr.dets]).astype(np.float64),
            keypoints3d=np.stack([d.keypoints3d[i] for d, i in tr.dets]).astype(np.float64),
            boxes=np.stack([d.boxes[i] for d, i in tr.dets]).astype(np.float64),
            scores=np.array([d.scores[i] for d, i in tr.dets], dtype=np.float64),
        ))
    return out
