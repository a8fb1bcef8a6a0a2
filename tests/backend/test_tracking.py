"""Tracking on real detections: a short clip of the bench's rendered three-people crossing
(tests/data/crossing.mp4) and synthetic streams through the real appearance sampler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videomocap.detect import FrameDetections
from videomocap.track.appearance import describe_appearance
from videomocap.track.track_people import track_people


CROSSING = Path(__file__).resolve().parents[1] / "data" / "crossing.mp4"


def _track_video(video):
    """Detections and tracks of ``video`` as the pipeline makes them (appearance sampled from the
    frames while they stream)."""
    from videomocap.detect import detect_people
    from videomocap.video import probe_video, read_frames

    info = probe_video(video)
    current, appearance = {}, []

    def frames():
        for index, frame in read_frames(video, 0, info.frame_count):
            current["rgb"] = frame
            yield index, frame

    def on_frame(_index, dets):
        appearance.append(describe_appearance(current.pop("rgb"), dets.keypoints2d))

    detections = detect_people(frames(), info.fps, progress=on_frame)
    return info, detections, track_people(detections, info.fps, appearance=appearance,
                                          fill_seconds=0.5)


def _track_of(tracks, box, frame) -> int | None:
    """Id of the track whose box on ``frame`` overlaps ``box`` most (IoU > 0.3), or None."""
    from videomocap.boxes import box_iou

    best, best_iou = None, 0.3
    for t in tracks:
        k = np.searchsorted(t.frame_ids, frame)
        if k < len(t.frame_ids) and t.frame_ids[k] == frame:
            iou = float(box_iou(t.boxes[k], box))
            if iou > best_iou:
                best, best_iou = t.track_id, iou
    return best


def test_id_survives_a_full_occlusion_in_a_rendered_crossing():
    """tests/data/crossing.mp4: 3.7 s of the benchmark's three-people scene (rendered from CMU
    mocap by bench/scene.py, cut by bench/clip.py): one walker passes behind a nearer one and is
    mostly hidden for about 0.8 s. They must come back with the id they had before, and nobody's
    id may switch."""
    pytest.importorskip("mediapipe")
    from videomocap.bench.evaluate import load_ground_truth
    from videomocap.bench.run import tracking_of_scene
    from videomocap.bench.scene import MOSTLY_HIDDEN, hidden_interval

    gt = load_ground_truth(CROSSING.with_name("crossing.gt.npz"))
    info, detections, tracks = _track_video(CROSSING)
    vis = gt["visible"]
    hidden = int(np.argmin(vis.min(axis=0)))  # the walker who gets hidden
    a, b = hidden_interval(vis[:, hidden], int(np.argmin(vis[:, hidden])), MOSTLY_HIDDEN)
    # the premise: hidden for a good part of a second, in view well before and after
    assert (b - a + 1) / info.fps >= 0.5, (a, b)
    before = [f for f in range(a) if vis[f, hidden] > 0.8][-5:]
    after = [f for f in range(b + 1, len(vis)) if vis[f, hidden] > 0.8][5:10]
    assert len(before) == 5 and len(after) == 5, (a, b)
    ids_before = {_track_of(tracks, gt["boxes"][f, hidden], f) for f in before}
    ids_after = {_track_of(tracks, gt["boxes"][f, hidden], f) for f in after}
    assert len(ids_before) == 1 and None not in ids_before, ids_before
    assert ids_after == ids_before, (ids_before, ids_after)
    # and over the whole clip: no identity switch, everyone found most of the time
    from types import SimpleNamespace

    motion = SimpleNamespace(people=[SimpleNamespace(person_id=t.track_id, frame_ids=t.frame_ids,
                                                     keypoints2d=t.keypoints2d) for t in tracks])
    scores = tracking_of_scene(motion, gt)
    assert scores["IDSW"] == 0, scores
    assert scores["IDF1"] >= 0.9, scores


def _draw_person(img, x, shirt, trousers):
    """A crude upright figure 60 px wide at x, and its 33 landmarks (pixels + confidence)."""
    kp = np.zeros((33, 3), np.float32)
    cx = x + 30
    pts = {0: (cx, 110), 7: (cx - 8, 110), 8: (cx + 8, 110), 11: (cx - 20, 140),
           12: (cx + 20, 140), 13: (cx - 25, 180), 14: (cx + 25, 180), 15: (cx - 27, 215),
           16: (cx + 27, 215), 23: (cx - 12, 230), 24: (cx + 12, 230), 25: (cx - 12, 290),
           26: (cx + 12, 290), 27: (cx - 12, 345), 28: (cx + 12, 345)}
    for k, (px, py) in pts.items():
        kp[k] = (px, py, 1.0)
    x0 = int(x)
    img[95:230, max(x0, 0):max(x0 + 60, 0)] = shirt
    img[230:350, max(x0 + 10, 0):max(x0 + 50, 0)] = trousers
    return kp


def test_crossing_behind_a_person_with_real_colour_samples():
    """Two figures with different clothes walk towards each other; the far one passes fully
    behind the near one (only the near one is detected meanwhile) and both turn back. The
    appearance sampled from the images keeps both ids."""
    fps = 25.0
    dets, app = [], []
    for i in range(100):
        t = i / fps
        xa = 100 + 120 * min(t, 2.0) - 120 * max(t - 2.0, 0.0)  # near, red/black
        xb = 580 - 120 * min(t, 2.0) + 120 * max(t - 2.0, 0.0)  # far, green/white
        img = np.full((400, 800, 3), 90, np.uint8)
        people = []
        if abs(xa - xb) > 130:  # the far one hidden for ~1.1 s
            people.append(_draw_person(img, xb, (40, 160, 60), (230, 230, 230)))
        people.append(_draw_person(img, xa, (200, 30, 30), (20, 20, 20)))
        kp = np.stack(people)
        boxes = np.stack([[p[p[:, 2] > 0, 0].min() - 10, 95, p[p[:, 2] > 0, 0].max() + 10, 350]
                          for p in kp])
        order = np.argsort(boxes[:, 0])
        kp, boxes = kp[order], boxes[order]
        dets.append(FrameDetections(i, kp, np.zeros_like(kp), boxes.astype(np.float32),
                                    np.ones(len(kp), np.float32)))
        app.append(describe_appearance(img, kp))
    tracks = track_people(dets, fps, appearance=app)
    assert len(tracks) == 2
    for tr in tracks:
        # each track's boxes follow one figure's path: the first half moves one way, then back
        first, last = tr.boxes[0, 0], tr.boxes[-1, 0]
        assert abs(first - last) < 40, (tr.track_id, first, last)
