"""Per-person detection recall and tracking scores of rendered bench scenes, without the fit.

    python tools/diag/detection_recall.py TAG build/bench/scenes/two-cross-static-* ...

For each scene folder (scene.mp4 + scene.gt.npz): runs detect_people + track_people exactly as the
capture pipeline does, scores the tracks with bench.run.tracking_of_scene (same IDF1 / MOTA / IDSW
as score_scene, minutes faster), and prints for every ground-truth person the recall of the detector
(a detector box with IoU >= 0.4 to the GT box while visible > 0.3) and a strip per frame:
'#' detected, '.' visible > 0.5 but missed, '-' partly visible and missed, ' ' hidden.
Detections are saved to build/diag/dets-TAG-<scene>.pkl (our own file, read back only by us).
"""
import sys, time, pickle, types
from pathlib import Path
import numpy as np
from videomocap.detect import detect_people
from videomocap.video import probe_video, read_frames
from videomocap.boxes import box_iou
from videomocap.track.appearance import describe_appearance
from videomocap.track.track_people import track_people
from videomocap.bench.run import tracking_of_scene
from videomocap.bench.evaluate import load_ground_truth

tag = sys.argv[1]
for d in map(Path, sys.argv[2:]):
    gt = load_ground_truth(d / "scene.gt.npz")
    info = probe_video(d / "scene.mp4")
    app = []
    cur = {}
    def frames():
        for i, f in read_frames(d / "scene.mp4", 0, info.frame_count):
            cur["rgb"] = f
            yield i, f
    def prog(i, det):
        app.append(describe_appearance(cur.pop("rgb"), det.keypoints2d))
    t0 = time.perf_counter()
    def revised(pos, rgb, det):
        app[pos] = describe_appearance(rgb, det.keypoints2d)
    dets = detect_people(frames(), info.fps, max_people=8, progress=prog, revised=revised)
    dt = (time.perf_counter() - t0) / len(dets) * 1000
    Path("build/diag").mkdir(parents=True, exist_ok=True)
    with open(f"build/diag/dets-{tag}-{d.name}.pkl", "wb") as fh:
        pickle.dump((dets, app), fh)
    tracks = track_people(dets, info.fps, max_people=None, appearance=app, fill_seconds=0.5)
    motion = types.SimpleNamespace(people=[types.SimpleNamespace(person_id=t.track_id, frame_ids=t.frame_ids, keypoints2d=t.keypoints2d) for t in tracks])
    tr = tracking_of_scene(motion, gt)
    print(f"{tag} {d.name}: {dt:.0f} ms/frame (detect+appearance), tracks {len(tracks)}, IDF1 {tr['IDF1']:.3f} MOTA {tr['MOTA']:.3f} IDSW {tr['IDSW']}")
    B, V = gt["boxes"], gt["visible"]
    for p in range(B.shape[1]):
        hit = np.array([any(box_iou(b[None], B[f, p][None])[0,0] >= 0.4 for b in det.boxes) for f, det in enumerate(dets)])
        v = V[:, p] > 0.3
        s = "".join("#" if h else ("." if vv > 0.5 else ("-" if vv > 0.25 else " ")) for h, vv in zip(hit, V[:, p]))
        print(f"  person {p}: visible {v.sum()} detected-while-visible {(hit & v).sum()} recall {(hit & v).sum()/max(v.sum(),1):.2f}")
        for k in range(0, len(s), 100): print(f"   {k:4d} {s[k:k+100]}")
    for t in tracks:
        print(f"  track {t.track_id}: frames {t.frame_ids[0]}-{t.frame_ids[-1]} n={len(t.frame_ids)}")
