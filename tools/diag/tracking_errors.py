"""Per-frame map of the tracking errors of a bench scene (what IDF1 / MOTA count against us).

    python tools/diag/tracking_errors.py build/bench/scenes/three-cross-pan-* build/diag/dets-TAG-SCENE.pkl

Reads the detections saved by tools/diag/detection_recall.py, tracks them as the capture does, and
prints for every ground-truth person one character per frame: the id of the track matching them
(box IoU >= 0.5), a letter a-h (that track, IoU 0.3-0.5: counted as a miss and a false positive),
'x' (some track overlaps less), '.' (no track there) or ' ' (hidden: not counted); then each
track's frames: D detected, R recovered, F filled.
"""
import pickle
import sys
import types

import numpy as np

from videomocap.bench.evaluate import load_ground_truth
from videomocap.bench.run import _person_boxes, tracking_of_scene
from videomocap.boxes import box_iou
from videomocap.track.track_people import track_people

scene, saved = sys.argv[1], sys.argv[2]
gt = load_ground_truth(scene + "/scene.gt.npz")
dets, app = pickle.load(open(saved, "rb"))  # our own file, written by detection_recall.py
fps = float(gt["fps"])
tracks = track_people(dets, fps, max_people=None, appearance=app, fill_seconds=0.5)
motion = types.SimpleNamespace(people=[types.SimpleNamespace(
    person_id=t.track_id, frame_ids=t.frame_ids, keypoints2d=t.keypoints2d) for t in tracks])
print(tracking_of_scene(motion, gt))
B, V = gt["boxes"], gt["visible"]
boxes = {t.track_id: _person_boxes(t) for t in tracks}


def strip(chars):
    s = "".join(chars)
    for k in range(0, len(s), 100):
        print(f"  {k:4d} {s[k:k + 100]}")


for p in range(B.shape[1]):
    line = []
    for f in range(len(B)):
        if V[f, p] <= 0.2:
            line.append(" ")
            continue
        best, bid = 0.0, None
        for tid, bx in boxes.items():
            if f in bx:
                iou = box_iou(B[f, p][None], bx[f][None])[0, 0]
                if iou > best:
                    best, bid = iou, tid
        line.append("." if bid is None else str(bid % 10) if best >= 0.5
                    else "abcdefgh"[(bid - 1) % 8] if best > 0.3 else "x")
    print("person", p)
    strip(line)
for t in tracks:
    line = [" "] * len(B)
    for f, src in zip(t.frame_ids, t.frame_source):
        line[f] = "DRF"[src]
    print("track", t.track_id)
    strip(line)
