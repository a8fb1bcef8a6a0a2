"""Score a capture against a rendered scene's ground truth (``*.gt.npz`` of bench.scene)."""

from __future__ import annotations

import numpy as np

from ..skeleton import JOINT_INDEX
from . import metrics

FOOT_POINTS = ("left_ankle", "left_foot", "right_ankle", "right_foot")


def load_ground_truth(path) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def matched_joints(person, gt: dict, person_index: int = 0):
    """(frames, pred (N, J, 3), true (N, J, 3), names) on the frames and joints both have."""
    names = [str(n) for n in gt["joint_names"]]
    pred_idx = [JOINT_INDEX[n] for n in names]
    gt_joints = gt["joints"]
    if gt_joints.ndim == 4:  # (F, P, J, 3) for several people
        gt_joints = gt_joints[:, person_index]
    frames = np.asarray(person.frame_ids)
    frames = frames[frames < len(gt_joints)]
    sel = np.searchsorted(person.frame_ids, frames)
    pred = np.asarray(person.joints, dtype=np.float64)[sel][:, pred_idx]
    true = np.asarray(gt_joints, dtype=np.float64)[frames]
    return frames, pred, true, names


def to_camera(points: np.ndarray, cam_R: np.ndarray, cam_t: np.ndarray) -> np.ndarray:
    """World points (N, J, 3) -> camera frame, with per-frame world-from-camera R (N, 3, 3), t."""
    return np.einsum("nji,nkj->nki", cam_R, points - cam_t[:, None])


def gt_contact(gt: dict, person_index: int = 0) -> np.ndarray:
    """(F, 4) bool ground-truth contact of the FOOT_POINTS on every frame of the clip, from the
    ground-truth joints (:func:`metrics.ground_contact`: each point low for itself and still)."""
    names = [str(n) for n in gt["joint_names"]]
    joints = gt["joints"]
    if joints.ndim == 4:
        joints = joints[:, person_index]
    feet = [names.index(n) for n in FOOT_POINTS]
    return metrics.ground_contact(np.asarray(joints, np.float64)[:, feet], float(gt["fps"]))


def score_person(person, gt: dict, motion, person_index: int = 0) -> dict:
    """Camera-frame metrics (MPJPE, PA-MPJPE, Accel) in each side's own camera frame, as the field
    computes them; world metrics on world joints."""
    frames, pred, true, names = matched_joints(person, gt, person_index)
    fps = float(motion.fps)
    feet = [names.index(n) for n in FOOT_POINTS]
    pelvis = names.index("pelvis")
    pred_cam = to_camera(pred, np.asarray(motion.cam_R, np.float64)[frames],
                         np.asarray(motion.cam_t, np.float64)[frames])
    true_cam = to_camera(true, gt["cam_R"][frames].astype(np.float64),
                         gt["cam_t"][frames].astype(np.float64))
    return {
        "frames": int(len(frames)),
        "MPJPE": metrics.mpjpe(pred_cam, true_cam, pelvis),
        "2D %": metrics.overlay_error(pred_cam, np.asarray(motion.K, np.float64)[frames],
                                      true_cam, gt["K"][frames].astype(np.float64)),
        "PA-MPJPE": metrics.pa_mpjpe(pred_cam, true_cam),
        "PA depth %": metrics.pa_depth_share(pred_cam, true_cam),
        "motion kept %": metrics.motion_kept(pred_cam, true_cam, frames, pelvis),
        # how far from the camera the person is put, against the truth (median, %)
        "depth err %": float(100.0 * np.median(np.abs(pred_cam[:, pelvis, 2] / np.maximum(
            true_cam[:, pelvis, 2], 1e-6) - 1.0))) if len(frames) else float("nan"),
        "Accel": metrics.accel_error(pred_cam, true_cam, fps, frames),
        "W-MPJPE100": metrics.w_mpjpe(pred, true),
        "WA-MPJPE100": metrics.wa_mpjpe(pred, true),
        "RTE%": metrics.rte(pred[:, pelvis], true[:, pelvis]),
        "Jitter": metrics.jitter(pred, fps, frames),
        "FS": metrics.foot_sliding(pred[:, feet], true[:, feet], fps, frames=frames,
                                   contact=gt_contact(gt, person_index)[frames]),
    }


def slide_split(feet: np.ndarray, person, gt: dict, person_index: int = 0) -> dict:
    """Where the foot sliding comes from: FS's steps (world foot points ``feet`` (N, 4, 3) in
    FOOT_POINTS order, one row per captured frame) split by whether the capture's own contact
    channel (same order) also says the point is down on both frames. Sums and counts, so that
    scenes pool: {"agree": (mm sum, steps), "miss": (mm sum, steps)}."""
    frames = np.asarray(person.frame_ids)
    keep = frames < len(gt["joints"])
    frames = frames[keep]
    true = gt_contact(gt, person_index)[frames]
    ours = np.asarray(person.contact)[keep] > 0.5
    step, counted = metrics.slide_steps(np.asarray(feet)[keep], true, frames)
    ours_both = ours[1:] & ours[:-1]
    agree, miss = counted & ours_both, counted & ~ours_both
    return {"agree": (float(step[agree].sum()), int(agree.sum())),
            "miss": (float(step[miss].sum()), int(miss.sum()))}


def pair_distances(pairs: list, gt: dict) -> list[tuple[float, float]]:
    """For every two matched people ``pairs`` [(gt index, PersonMotion)]: the pelvis-to-pelvis
    horizontal distance error (metrics.pair_distance_error) over the frames both are captured."""
    pelvis = [str(n) for n in gt["joint_names"]].index("pelvis")
    out = []
    for i in range(len(pairs)):
        for k in range(i + 1, len(pairs)):
            (ga, a), (gb, b) = pairs[i], pairs[k]
            both = np.intersect1d(a.frame_ids, b.frame_ids)
            both = both[both < len(gt["joints"])]
            if len(both) == 0:
                continue
            pa = np.asarray(a.joints)[np.searchsorted(a.frame_ids, both), 0]
            pb = np.asarray(b.joints)[np.searchsorted(b.frame_ids, both), 0]
            out.append(metrics.pair_distance_error(pa, pb, gt["joints"][both, ga, pelvis],
                                                   gt["joints"][both, gb, pelvis]))
    return out
