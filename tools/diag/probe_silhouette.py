# Diagnostic (issue 4); usage: python tools/diag/probe_silhouette.py SCENE_DIR HIDDEN FRONT FIRST LAST STEP
"""Idea (a): paint the front walker by its MediaPipe segmentation silhouette, then look for the hidden one."""
import sys, cv2, numpy as np, mediapipe as mp
from mediapipe.tasks.python import BaseOptions, vision
from videomocap.detect.task_bundle import ensure_task_bundle
from videomocap.detect.landmarker import _iou, _landmark_box
d = sys.argv[1]; target, front = int(sys.argv[2]), int(sys.argv[3]); lo, hi, step = map(int, sys.argv[4:7])
gt = np.load(d + "/scene.gt.npz"); B = gt["boxes"]; V = gt["visible"]
cap = cv2.VideoCapture(d + "/scene.mp4"); frames = []
while True:
    ok, im = cap.read()
    if not ok: break
    frames.append(np.ascontiguousarray(im[..., ::-1]))
H, W = frames[0].shape[:2]
def mk(conf, seg):
    return vision.PoseLandmarker.create_from_options(vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(ensure_task_bundle())), running_mode=vision.RunningMode.IMAGE,
        num_poses=2, min_pose_detection_confidence=conf, min_pose_presence_confidence=conf, output_segmentation_masks=seg))
seg_lm = mk(0.5, True); lms = {c: mk(c, False) for c in (0.5, 0.15)}
def boxes_of(res, x0, y0, cw, ch):
    out = []
    for lm in res.pose_landmarks:
        kp = np.array([[x0 + a.x * cw, y0 + a.y * ch, 1] for a in lm], np.float32)
        out.append(_landmark_box(kp, W, H))
    return out
hits = {}
for f in range(lo, hi, step):
    if V[f, target] <= 0.3: continue
    u = np.concatenate([np.minimum(B[f, target, :2], B[f, front, :2]), np.maximum(B[f, target, 2:], B[f, front, 2:])])
    cx, cy = (u[0]+u[2])/2, (u[1]+u[3])/2; s = 1.4 * max(u[2]-u[0], u[3]-u[1])
    x0, y0, x1, y1 = int(max(0,cx-s/2)), int(max(0,cy-s/2)), int(min(W,cx+s/2)), int(min(H,cy+s/2))
    crop = np.ascontiguousarray(frames[f][y0:y1, x0:x1]); cw, ch = x1-x0, y1-y0
    r = seg_lm.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=crop))
    bx = boxes_of(r, x0, y0, cw, ch)
    fill = np.median(crop[::4, ::4].reshape(-1, 3), axis=0).astype(np.uint8)
    variants = {}
    if bx:
        k = int(np.argmax([_iou(b, B[f, front]) for b in bx]))
        m = r.segmentation_masks[k].numpy_view() > 0.5
        m = cv2.dilate(m.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        c2 = crop.copy(); c2[m] = fill; variants["seg"] = c2
        fb = bx[k].astype(int) - [x0, y0, x0, y0]
        c3 = crop.copy(); c3[max(fb[1],0):fb[3], max(fb[0],0):fb[2]] = fill; variants["box"] = c3
    variants["none"] = crop
    for vn, img in variants.items():
        for c, lm in lms.items():
            rr = lm.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(img)))
            hit = any(_iou(b, B[f, target]) >= 0.4 for b in boxes_of(rr, x0, y0, cw, ch))
            hits.setdefault((vn, c), []).append(hit)
    print(f, {k: v[-1] for k, v in hits.items()})
for k, v in hits.items(): print(k, sum(v), "/", len(v))
