# Diagnostic (issue 4): see the module docstring; usage: python tools/diag/probe_crops.py SCENE_DIR PERSON STEP [FIRST LAST]
"""Which preprocessing / thresholds let MediaPipe find GT person `target` in crops around its GT box."""
import sys, cv2, numpy as np
from videomocap.detect.landmarker import PoseDetector, _iou
d = sys.argv[1]; target = int(sys.argv[2]); step = int(sys.argv[3]) if len(sys.argv) > 3 else 6
gt = np.load(d + "/scene.gt.npz"); B = gt["boxes"]; V = gt["visible"]
cap = cv2.VideoCapture(d + "/scene.mp4"); frames = []
while True:
    ok, im = cap.read()
    if not ok: break
    frames.append(np.ascontiguousarray(im[..., ::-1]))
H, W = frames[0].shape[:2]
dets = {c: PoseDetector(max_people=2, mode="image", min_detection_confidence=c, min_presence_confidence=c) for c in (0.5, 0.3, 0.15)}
clahe = cv2.createCLAHE(2.0, (4, 4))
def do_clahe(x):
    lab = cv2.cvtColor(x, cv2.COLOR_RGB2LAB); lab[..., 0] = clahe.apply(lab[..., 0]); return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
def gamma(x, g): return (255 * (x / 255.0) ** g).astype(np.uint8)
variants = {"plain": lambda x: x, "clahe": do_clahe, "gamma1.8": lambda x: gamma(x, 1.8), "gray": lambda x: np.repeat(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)[..., None], 3, 2),
            "up3": lambda x: x}
res = {}
lo, hi = (int(sys.argv[4]), int(sys.argv[5])) if len(sys.argv) > 5 else (0, len(frames))
fr = [f for f in range(lo, hi, step) if V[f, target] > 0.3]
for f in fr:
    b = B[f, target]; cx, cy = (b[0]+b[2])/2, (b[1]+b[3])/2
    others = [tuple(int(v) for v in B[f, p]) for p in range(B.shape[1]) if p != target]
    for scale in (1.4, 1.15, 2.0):
        s = scale*max(b[2]-b[0], b[3]-b[1])
        reg = (int(max(0,cx-s/2)), int(max(0,cy-s/2)), int(min(W,cx+s/2)), int(min(H,cy+s/2)))
        for vn, fn in variants.items():
            img = frames[f].copy()
            x0,y0,x1,y1 = reg
            sub = fn(img[y0:y1, x0:x1])
            if vn == "up3":
                sub = cv2.resize(sub, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)
            img2 = np.ascontiguousarray(sub)
            for c, det in dets.items():
                poses = det._run(det._crop, img2, (0, 0, img2.shape[1], img2.shape[0]))
                k = 3 if vn == "up3" else 1
                hit = False
                for p in poses:
                    bb = p.box / k + np.array([x0, y0, x0, y0])
                    if _iou(bb, b) >= 0.4: hit = True
                res.setdefault((scale, vn, c), []).append(hit)
print(len(fr), "frames")
for k, v in sorted(res.items(), key=lambda kv: -sum(kv[1])):
    print(k, sum(v), "/", len(v))
