"""Tracking on generated streams through the real appearance sampler (the rendered crossings
are scored by `videomocap bench`: IDF1, ID switches, MOTA)."""

from __future__ import annotations

import numpy as np
import pytest

from videomocap.detect import FrameDetections
from videomocap.track.appearance import describe_appearance
from videomocap.track.track_people import track_people


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
