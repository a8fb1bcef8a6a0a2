"""The field's accuracy metrics, computed as DESIGN section 6 (and WHAM / GVHMR) define them.

Joint arrays are (N, J, 3) in metres; results are millimetres unless said otherwise. ``pelvis`` is
the index of the joint used for pelvis alignment (0 in SMPL order).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..boxes import box_iou


def similarity_transform(src: np.ndarray, dst: np.ndarray, scale: bool = True):
    """Umeyama: (s, R, t) minimising |s R src_i + t - dst_i|^2 over (M, 3) point sets."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    cov = b.T @ a / len(src)
    u, d, vt = np.linalg.svd(cov)
    fix = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        fix[2, 2] = -1
    r = u @ fix @ vt
    var = (a ** 2).sum() / len(src)
    s = float(np.trace(np.diag(d) @ fix) / var) if scale and var > 0 else 1.0
    t = mu_d - s * r @ mu_s
    return s, r, t


def apply_transform(x: np.ndarray, s: float, r: np.ndarray, t: np.ndarray) -> np.ndarray:
    return s * x @ r.T + t


def mpjpe(pred: np.ndarray, gt: np.ndarray, pelvis: int = 0) -> float:
    """Mean joint distance after translating both so the pelvis is at the origin (mm)."""
    p = pred - pred[:, pelvis:pelvis + 1]
    g = gt - gt[:, pelvis:pelvis + 1]
    return float(np.linalg.norm(p - g, axis=-1).mean() * 1000)


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean joint distance after a per-frame similarity Procrustes alignment (mm)."""
    errs = []
    for p, g in zip(pred, gt):
        aligned = apply_transform(p, *similarity_transform(p, g))
        errs.append(np.linalg.norm(aligned - g, axis=-1).mean())
    return float(np.mean(errs) * 1000)


def pa_depth_share(pred: np.ndarray, gt: np.ndarray) -> float:
    """Share (%) of the squared joint error left after PA-MPJPE's per-frame alignment that lies
    along the line of sight (camera z; ``pred`` and ``gt`` camera-frame joints (N, J, 3)). An error
    spread evenly over the three axes gives 33 %; more says that what is left is depth (how far
    each limb reaches towards or away from the camera), which one picture measures worst."""
    along = total = 0.0
    for p, g in zip(pred, gt):
        r = apply_transform(p, *similarity_transform(p, g)) - g
        along += float((r[:, 2] ** 2).sum())
        total += float((r ** 2).sum())
    return 100.0 * along / total if total > 0 else float("nan")


def motion_kept(pred: np.ndarray, gt: np.ndarray, frames: np.ndarray | None = None,
                root: int = 0) -> float:
    """How much of the truth's acceleration the capture has (%): the mean size of the joints'
    second differences relative to the ``root`` joint, ``pred``'s over ``gt``'s. Under 100 the
    capture moves more smoothly than the truth (fast motion smoothed away); noise pushes it up."""
    p = pred - pred[:, root:root + 1]
    g = gt - gt[:, root:root + 1]
    ap, ag = _differences(p, 2, frames), _differences(g, 2, frames)
    if len(ag) == 0:
        return float("nan")
    size = float(np.linalg.norm(ag, axis=-1).mean())
    return 100.0 * float(np.linalg.norm(ap, axis=-1).mean()) / size if size > 0 else float("nan")


def slide_steps(pred_feet: np.ndarray, contact: np.ndarray,
                frames: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The steps :func:`foot_sliding` averages: (per-step displacement in mm (N - 1, P), mask
    (N - 1, P) of the steps it counts: ``contact`` on both frames, no gap between them)."""
    pred_feet = np.asarray(pred_feet, dtype=np.float64)
    step = np.linalg.norm(np.diff(pred_feet, axis=0), axis=-1) * 1000.0
    both = np.asarray(contact[1:], bool) & np.asarray(contact[:-1], bool)
    if frames is not None:
        both &= (np.diff(np.asarray(frames)) == 1)[:, None]
    return step, both


def contiguous_runs(frames: np.ndarray | None, n: int) -> list[slice]:
    """Slices of consecutive frame numbers (a track gap starts a new run); all of ``n`` if None."""
    if frames is None:
        return [slice(0, n)]
    frames = np.asarray(frames)
    starts = np.flatnonzero(np.r_[True, np.diff(frames) != 1])
    ends = np.r_[starts[1:], len(frames)]
    return [slice(a, b) for a, b in zip(starts, ends)]


def _differences(x: np.ndarray, order: int, frames: np.ndarray | None) -> np.ndarray:
    """``order``-th differences along axis 0 within each contiguous run, concatenated."""
    parts = [np.diff(x[sl], n=order, axis=0) for sl in contiguous_runs(frames, len(x))
             if sl.stop - sl.start > order]
    return np.concatenate(parts) if parts else np.zeros((0,) + x.shape[1:])


def accel_error(pred: np.ndarray, gt: np.ndarray, fps: float,
                frames: np.ndarray | None = None) -> float:
    """Mean |second difference of pred - that of gt| * fps^2 over joints and frames (m/s^2).
    With ``frames`` (source frame numbers), differences never span a gap in them."""
    ap, ag = _differences(pred, 2, frames), _differences(gt, 2, frames)
    if len(ap) == 0:
        return float("nan")
    return float(np.linalg.norm(ap - ag, axis=-1).mean() * fps ** 2)


def jitter(pred: np.ndarray, fps: float, frames: np.ndarray | None = None) -> float:
    """Mean |third difference| * fps^3 / 10 of world joints (units of 10 m/s^3), computed per
    contiguous run of ``frames`` (the frames either side of a track gap are not neighbours)."""
    j = _differences(pred, 3, frames)
    if len(j) == 0:
        return float("nan")
    return float(np.linalg.norm(j, axis=-1).mean() * fps ** 3 / 10.0)


def _chunks(n: int, size: int):
    for s in range(0, n, size):
        if n - s >= 2:
            yield slice(s, min(s + size, n))


def w_mpjpe(pred: np.ndarray, gt: np.ndarray, chunk: int = 100) -> float:
    """W-MPJPE100: per chunk, a similarity fitted on the chunk's first two frames, then MPJPE
    without pelvis alignment (mm)."""
    errs = []
    for sl in _chunks(len(pred), chunk):
        p, g = pred[sl], gt[sl]
        tr = similarity_transform(p[:2].reshape(-1, 3), g[:2].reshape(-1, 3))
        errs.append(np.linalg.norm(apply_transform(p, *tr) - g, axis=-1).reshape(-1))
    return float(np.concatenate(errs).mean() * 1000)


def wa_mpjpe(pred: np.ndarray, gt: np.ndarray, chunk: int = 100) -> float:
    """WA-MPJPE100: per chunk, a similarity fitted on the whole chunk, then MPJPE (mm)."""
    errs = []
    for sl in _chunks(len(pred), chunk):
        p, g = pred[sl], gt[sl]
        tr = similarity_transform(p.reshape(-1, 3), g.reshape(-1, 3))
        errs.append(np.linalg.norm(apply_transform(p, *tr) - g, axis=-1).reshape(-1))
    return float(np.concatenate(errs).mean() * 1000)


def rte(pred_root: np.ndarray, gt_root: np.ndarray) -> float:
    """Root trajectory error (%): rigid alignment (no scale) over the whole sequence, mean error
    divided by the ground-truth path length."""
    tr = similarity_transform(pred_root, gt_root, scale=False)
    err = np.linalg.norm(apply_transform(pred_root, *tr) - gt_root, axis=-1).mean()
    length = np.linalg.norm(np.diff(gt_root, axis=0), axis=-1).sum()
    return float(100.0 * err / max(length, 1e-9))


def ground_contact(points: np.ndarray, fps: float, frames: np.ndarray | None = None,
                   percentile: float = 5.0, height_margin: float = 0.02,
                   max_speed: float = 0.1) -> np.ndarray:
    """Ground-truth contact labels (N, P) bool of foot points (N, P, 3), from the clip itself.

    A point is in contact on a frame where it is within ``height_margin`` metres of its own low
    height in the clip (the ``percentile`` of its heights: robust to a few low outliers, and it
    needs no rest pose, so a mocap whose toes never come within a few cm of the rest height still
    gets toe contacts) and moves slower than ``max_speed`` m/s (the smaller of its steps to the
    previous and the next frame, so both ends of a stance count; steps across a gap in
    ``frames`` are not used).
    """
    points = np.asarray(points, dtype=np.float64)
    n = len(points)
    if n == 0:
        return np.zeros(points.shape[:2], dtype=bool)
    z = points[..., 2]
    low = np.percentile(z, percentile, axis=0)
    speed = np.full(z.shape, np.inf)
    if n > 1:
        step = np.linalg.norm(np.diff(points, axis=0), axis=-1)
        if frames is not None:
            step[np.diff(np.asarray(frames)) != 1] = np.inf
        speed[1:] = step
        speed[:-1] = np.minimum(speed[:-1], step)
    return (z < low[None] + height_margin) & (speed * fps < max_speed)


def foot_sliding(pred_feet: np.ndarray, gt_feet: np.ndarray, fps: float = 30.0,
                 frames: np.ndarray | None = None, contact: np.ndarray | None = None) -> float:
    """FS (mm), WHAM-style: mean displacement of the predicted foot points (N, P, 3) between
    consecutive frames on which the ground-truth point is in contact on both frames (steps across
    a gap in ``frames`` are not counted).

    ``contact`` (N, P) bool: the ground-truth contact labels; None computes them from
    ``gt_feet`` with :func:`ground_contact` (low and still). Scored against itself the ground
    truth is not 0: its joints (ankle, ball of the foot) still move about 1-2 mm a frame in
    contact as the foot rolls (1.0-2.0 mm, mean 1.3, on the bench scenes and the sample).
    """
    if contact is None:
        contact = ground_contact(gt_feet, fps, frames)
    if len(pred_feet) < 2:
        return float("nan")
    step, both = slide_steps(pred_feet, contact, frames)
    if not both.any():
        return float("nan")
    return float(step[both].mean())


def knee_flexion(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> np.ndarray:
    """(N,) knee flexion in degrees from (N, 3) joint positions: the angle between thigh
    (hip -> knee) and shin (knee -> ankle), 0 for a straight leg."""
    thigh, shin = knee - hip, ankle - knee
    cos = np.sum(thigh * shin, axis=-1) / np.maximum(
        np.linalg.norm(thigh, axis=-1) * np.linalg.norm(shin, axis=-1), 1e-12)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def knee_pop(locked: np.ndarray, free: np.ndarray, legs, frames: np.ndarray | None = None) -> float:
    """Largest per-frame knee-flexion step (degrees) that the foot lock adds to the capture's:
    max over frames and legs of |step of the locked knee - step of the free knee|, on joints
    (N, J, 3) of the same frames; ``legs`` lists (hip, knee, ankle) joint indices per leg. A knee
    that snaps when a foot is pinned or released shows here; the capture's own fast bends (a
    runner's knee turns 20-30 degrees a frame at 30 fps) do not."""
    worst = 0.0
    for hip, knee, ankle in legs:
        a = knee_flexion(locked[:, hip], locked[:, knee], locked[:, ankle])
        b = knee_flexion(free[:, hip], free[:, knee], free[:, ankle])
        d = np.abs(_differences(a[:, None], 1, frames) - _differences(b[:, None], 1, frames))
        if len(d):
            worst = max(worst, float(d.max()))
    return worst


def foot_sliding_still(pred_feet: np.ndarray, gt_feet: np.ndarray, threshold: float = 0.01,
                       frames: np.ndarray | None = None) -> float:
    """The bench's FS before the contact labels (kept for comparison): mean displacement of the
    predicted foot points on steps where the ground-truth point moves less than ``threshold``
    metres per frame, at any height (so swing-phase frames near the top of a step count, and the
    ground truth scored against itself gives 1.8-3.4 mm)."""
    gt_step = np.linalg.norm(_differences(gt_feet, 1, frames), axis=-1)
    pred_step = np.linalg.norm(_differences(pred_feet, 1, frames), axis=-1)
    if len(pred_step) == 0:
        return float("nan")
    still = gt_step < threshold
    if not still.any():
        return float("nan")
    return float(pred_step[still].mean() * 1000)


def overlay_error(pred: np.ndarray, pred_K: np.ndarray, true: np.ndarray,
                  true_K: np.ndarray) -> float:
    """How well the capture lines up with the video: the mean picture distance between each
    joint as the capture's camera sees it and as the true camera sees the truth, in percent of
    the height the true joints span in the picture on that frame. ``pred`` and ``true`` are
    camera-frame joints (N, J, 3) of each side's own camera, ``pred_K`` and ``true_K`` their
    intrinsics (N, 3, 3). Root-aligned metrics (MPJPE) forgive a body placed at the wrong depth
    or size; an animator matching the result against the footage in the camera view does not."""
    def pixels(x, K):
        uv = np.einsum("nij,nkj->nki", K, x)
        return uv[..., :2] / np.maximum(uv[..., 2:], 1e-6)

    a, b = pixels(pred, pred_K), pixels(true, true_K)
    height = np.ptp(b[..., 1], axis=1)
    ok = (height > 1.0) & np.all(true[..., 2] > 0.1, axis=1) & np.all(pred[..., 2] > 0.1, axis=1)
    if not ok.any():
        return float("nan")
    return float(100.0 * np.mean(np.linalg.norm(a[ok] - b[ok], axis=-1).mean(1) / height[ok]))


def pair_distance_error(pred_a: np.ndarray, pred_b: np.ndarray, true_a: np.ndarray,
                        true_b: np.ndarray, tolerance: float = 0.1) -> tuple[float, float]:
    """Two people's horizontal (x, y) pelvis-to-pelvis distance, predicted vs true, over the
    frames both are present (arrays (N, 3), the same N frames): (mean relative error in %,
    percent of frames within ``tolerance`` of the truth)."""
    d_pred = np.linalg.norm(pred_a[:, :2] - pred_b[:, :2], axis=-1)
    d_true = np.linalg.norm(true_a[:, :2] - true_b[:, :2], axis=-1)
    ok = d_true > 1e-6
    if not ok.any():
        return float("nan"), float("nan")
    rel = np.abs(d_pred[ok] - d_true[ok]) / d_true[ok]
    return float(100.0 * rel.mean()), float(100.0 * (rel <= tolerance).mean())


def tracking_scores(gt: dict, pred: dict, iou_threshold: float = 0.5) -> dict:
    """MOTA, ID switches and IDF1 (motmetrics / CLEAR-MOT and Ristani et al. conventions).

    ``gt`` and ``pred`` map frame -> (ids (K,), boxes (K, 4)). A prediction matches a ground-truth
    box in a frame when IoU >= ``iou_threshold`` (Hungarian on IoU, previous matches kept when
    still valid, as CLEAR-MOT does).
    """
    frames = sorted(set(gt) | set(pred))
    fn = fp = idsw = n_gt = 0
    last_match: dict = {}
    pair_counts: dict = {}
    gt_count: dict = {}
    pred_count: dict = {}
    for f in frames:
        g_ids, g_boxes = gt.get(f, (np.zeros(0, int), np.zeros((0, 4))))
        p_ids, p_boxes = pred.get(f, (np.zeros(0, int), np.zeros((0, 4))))
        n_gt += len(g_ids)
        for g in g_ids:
            gt_count[g] = gt_count.get(g, 0) + 1
        for p in p_ids:
            pred_count[p] = pred_count.get(p, 0) + 1
        matches = {}
        if len(g_ids) and len(p_ids):
            iou = box_iou(g_boxes, p_boxes)
            cost = 1.0 - iou
            # keep last frame's pairs when still valid
            for gi, g in enumerate(g_ids):
                if g in last_match and last_match[g] in list(p_ids):
                    pi = list(p_ids).index(last_match[g])
                    if iou[gi, pi] >= iou_threshold:
                        cost[gi, pi] = -1.0
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                if iou[r, c] >= iou_threshold:
                    matches[g_ids[r]] = p_ids[c]
        for g, p in matches.items():
            if g in last_match and last_match[g] != p:
                idsw += 1
            last_match[g] = p
            pair_counts[(g, p)] = pair_counts.get((g, p), 0) + 1
        fn += len(g_ids) - len(matches)
        fp += len(p_ids) - len(matches)
    mota = 1.0 - (fn + fp + idsw) / max(n_gt, 1)
    # IDF1: one-to-one global assignment of predicted to true identities maximising matches
    g_list, p_list = sorted(gt_count), sorted(pred_count)
    idtp = 0
    if g_list and p_list:
        w = np.zeros((len(g_list), len(p_list)))
        for (g, p), k in pair_counts.items():
            w[g_list.index(g), p_list.index(p)] = k
        rows, cols = linear_sum_assignment(-w)
        idtp = int(w[rows, cols].sum())
    total_gt = sum(gt_count.values())
    total_pred = sum(pred_count.values())
    idf1 = 2 * idtp / max(total_gt + total_pred, 1)
    return {"MOTA": mota, "IDSW": idsw, "IDF1": idf1, "FN": fn, "FP": fp}
