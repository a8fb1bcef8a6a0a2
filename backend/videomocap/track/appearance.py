"""What a detected person looks like: colours sampled from the frame at body parts.

``describe_appearance(frame_rgb, keypoints2d)`` is called once per frame while frames stream (the
tracker never sees images). For each of a few body parts (head, upper and lower torso, upper arms,
forearms, thighs, shins; left and right pooled so a left/right flip of the detector does not
matter) it samples points along the part's segment, takes the median CIE Lab colour of the points
whose landmarks are confident, and stores it with a weight (the share of confident samples). The
descriptor of one person is ``PARTS x (L, a, b, weight)`` flattened to ``(D,)``.
"""

from __future__ import annotations

import numpy as np

_T = np.linspace(0.2, 0.8, 5)  # positions along a segment (ends avoided: joints mix two parts)
_T_UPPER = np.linspace(0.1, 0.45, 4)  # upper half of the torso diagonals
_T_LOWER = np.linspace(0.55, 0.9, 4)
_MID = np.array([0.5])

# (name, [(landmark a, landmark b, positions), ...]): sample along each segment a -> b
# (MediaPipe indices; a == b samples around the point itself)
PARTS = (
    ("head", ((0, 0, _MID), (7, 8, _T))),
    ("upper torso", ((11, 24, _T_UPPER), (12, 23, _T_UPPER), (11, 12, _T))),
    ("lower torso", ((11, 24, _T_LOWER), (12, 23, _T_LOWER), (23, 24, _T))),
    ("upper arms", ((11, 13, _T), (12, 14, _T))),
    ("forearms", ((13, 15, _T), (14, 16, _T))),
    ("thighs", ((23, 25, _T), (24, 26, _T))),
    ("shins", ((25, 27, _T), (26, 28, _T))),
)
NUM_PARTS = len(PARTS)
DIM = 4 * NUM_PARTS


def _samples(kp: np.ndarray, conf_min: float):
    """Per part: (M, 2) sample points and (M,) confidence flags."""
    out = []
    centre = kp[[11, 12, 23, 24], :2].mean(0)
    for _name, segs in PARTS:
        pts, ok = [], []
        for a, b, t in segs:
            pa, pb = kp[a, :2], kp[b, :2]
            if (a, b) in ((11, 12), (23, 24)):
                # the shoulder (hip) line is the torso's edge: move it inwards
                pa, pb = 0.75 * pa + 0.25 * centre, 0.75 * pb + 0.25 * centre
            pts.append(pa[None] + t[:, None] * (pb - pa)[None])
            ok.append(np.full(len(t), min(kp[a, 2], kp[b, 2]) >= conf_min))
        out.append((np.concatenate(pts), np.concatenate(ok)))
    return out


def describe_appearance(frame_rgb: np.ndarray, keypoints2d: np.ndarray,
                        conf_min: float = 0.5) -> np.ndarray:
    """(H, W, 3) uint8 RGB frame, (P, 33, 3) landmarks (pixels + confidence) -> (P, DIM) float32.

    Per part: median Lab colour (L in [0, 100], a and b around 0) and the share of samples that
    were usable (0 when the part is not visible: its colour is then 0 and must be ignored).
    """
    import cv2

    kp_all = np.asarray(keypoints2d, dtype=np.float64).reshape(-1, 33, 3)
    out = np.zeros((len(kp_all), NUM_PARTS, 4), np.float32)
    if len(kp_all) == 0:
        return out.reshape(0, DIM)
    h, w = frame_rgb.shape[:2]
    for p, kp in enumerate(kp_all):
        vis = kp[:, 2] >= conf_min
        if vis.sum() < 2:
            continue
        span = kp[vis, 1].max() - kp[vis, 1].min()
        r = int(np.clip(round(0.012 * span), 1, 6))  # patch half-size: about a limb's width / 4
        parts = _samples(kp, conf_min)
        offs = np.array([(-r, -r), (-r, r), (r, -r), (r, r), (0, 0)])
        for k, (pts, ok) in enumerate(parts):
            if not ok.any():
                continue
            q = (pts[ok][:, None, :] + offs[None]).reshape(-1, 2)
            x = np.round(q[:, 0]).astype(int)
            y = np.round(q[:, 1]).astype(int)
            inside = (x >= 0) & (x < w) & (y >= 0) & (y < h)
            if inside.sum() < 3:
                continue
            rgb = frame_rgb[y[inside], x[inside]].reshape(1, -1, 3).astype(np.float32) / 255.0
            lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3)
            out[p, k, :3] = np.median(lab, axis=0)
            out[p, k, 3] = inside.sum() / (len(ok) * len(offs))
    return out.reshape(len(kp_all), DIM)


def appearance_distance(a: np.ndarray, b: np.ndarray, min_weight: float = 0.2,
                        coverage: bool = False):
    """(A, DIM), (B, DIM) -> (A, B) mean colour distance (Lab units, lightness halved) over the
    parts both descriptors see; NaN where they share no part. With ``coverage``, also the
    (A, B) share of parts (0..1, weighted by how much of each was seen) the distance rests on."""
    a = np.asarray(a, np.float64).reshape(-1, NUM_PARTS, 4)
    b = np.asarray(b, np.float64).reshape(-1, NUM_PARTS, 4)
    scale = np.array([0.5, 1.0, 1.0])
    diff = (a[:, None, :, :3] - b[None, :, :, :3]) * scale
    d = np.linalg.norm(diff, axis=-1)  # (A, B, parts)
    wgt = np.minimum(a[:, None, :, 3], b[None, :, :, 3])
    wgt = np.where(wgt >= min_weight, wgt, 0.0)
    total = wgt.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.where(total > 0, (d * wgt).sum(-1) / np.maximum(total, 1e-9), np.nan)
    return (dist, total / NUM_PARTS) if coverage else dist
