"""Left and right, front and back: undoing the landmark model's mirror-image mistakes on a track.

A body seen from behind looks much like the same body seen from the front with left and right
exchanged, and BlazePose often takes one for the other: on the bench's renders, a walker going
away from the camera got labels swapped (2D and 3D alike: the model then sees a body facing the
camera) in 31-84 % of frames, and people turning, cartwheeling or crossing others in flickers of a
few frames. Fitting a skeleton to such frames twists it by up to 180 degrees; setting them right
from the ground truth took two-cross-static's MPJPE from 201 to 117 mm and cartwheel-static's
from 183 to 132 (build/diag/flip_oracle.py).

The mirror image of a pose is the same landmarks with each left/right pair exchanged and the 3D
depth (z, away from the camera; the 3D landmarks are centred on the hips) negated: the side-to-side
layout stays, front and back trade places. :func:`correct_left_right` chooses, frame by frame,
between the pose as given and its mirror image with a Viterbi pass over the track that weighs

- the pose's continuity: the mean 3D distance between a frame's landmarks and the previous
  frame's (a label flip moves every limb by about a hip width at once, real motion does not);
- walking forwards: where the person travels fast (pelvis path in the camera's frame, its depth
  from the torso's 3D length over its 2D length), facing away from the direction of travel
  costs in proportion to how far it is off (people rarely walk backwards at speed);
- a small cost for the mirror image, so that without evidence the model's pose stands.

The dynamic programme is written out here (two states per frame) because it is five lines and
no library offers a two-state Viterbi over arbitrary pairwise costs without a model object.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.ndimage import gaussian_filter1d

__all__ = ["MIRROR", "LIMBS", "LIMB_EXCHANGE", "mirror_pose", "correct_left_right",
           "choose_limb_exchanged", "correct_limb_labels"]

#: landmark index of each landmark's mirror image (left <-> right, centre points fixed)
MIRROR = np.arange(33)
for _a, _b in [(1, 4), (2, 5), (3, 6), (7, 8), (9, 10)] + [(i, i + 1) for i in range(11, 33, 2)]:
    MIRROR[_a], MIRROR[_b] = _b, _a

#: the landmarks of the limbs below the hips and shoulders, left and right in turn: knee, ankle,
#: heel and foot tip; elbow, wrist and the hand's three points
LIMBS = {"legs": np.arange(25, 33), "arms": np.arange(13, 23)}


def _exchanged(points: np.ndarray) -> np.ndarray:
    index = np.arange(33)
    index[points[0::2]], index[points[1::2]] = points[1::2], points[0::2]
    return index


#: landmark index of each landmark with one limb pair's labels exchanged (the left limb's
#: landmarks given to the right one and back; the rest of the body as it is)
LIMB_EXCHANGE = {name: _exchanged(points) for name, points in LIMBS.items()}

_HIPS, _SHOULDERS = (23, 24), (11, 12)
_MIRROR_COST = 0.08  # per frame taken mirrored without evidence
_JUMP_COST = 10.0  # per metre of mean 3D landmark motion between consecutive frames
_BACKWARDS_COST = 1.0  # per frame walking fast exactly backwards
#: travel speeds (m/s) from which walking forwards starts to count, and counts fully. The depth
#: speed scales with the focal length, so with the sqrt(W^2+H^2) guess (1.6 times the bench
#: lens's) walkers read 1.6 times faster; with the true lens a walker setting off from rest
#: gave no evidence for the first 20 frames at (0.6, 1.2) and two-cross-static's first 13
#: frames were taken facing the camera (W-MPJPE100 945 mm; 446 at (0.3, 0.8)). With the guess,
#: (0.3, 0.8) also gave circle-walk-static MPJPE 99.0 -> 96.7 and W-MPJPE100 489 -> 433, the
#: other scenes unchanged
WALK_SPEED = (0.3, 0.8)


def _mirror_3d(kp3d: np.ndarray) -> np.ndarray:
    return kp3d[..., MIRROR, :] * np.array([1.0, 1.0, -1.0])


def mirror_pose(kp2d: np.ndarray, kp3d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mirror image of (..., 33, 3) landmarks: left/right exchanged, 3D depth negated."""
    return kp2d[..., MIRROR, :], _mirror_3d(kp3d)


def _torso_up(kp3d: np.ndarray) -> np.ndarray:
    """(N, 3) from the hips' midpoint to the shoulders' midpoint."""
    return kp3d[:, list(_SHOULDERS)].mean(1) - kp3d[:, list(_HIPS)].mean(1)


def _facing(kp3d: np.ndarray) -> np.ndarray:
    """(N, 2) unit (x, z) direction the torso faces, in the camera's axes (x right, z away)."""
    left = (kp3d[:, 23] - kp3d[:, 24]) + (kp3d[:, 11] - kp3d[:, 12])
    forward = np.cross(left, _torso_up(kp3d))[:, [0, 2]]
    return forward / np.maximum(np.linalg.norm(forward, axis=1, keepdims=True), 1e-9)


#: body segments whose 3D length (metres) over their 2D length (pixels) gives the depth
_SEGMENTS = ((11, 23), (12, 24), (23, 25), (24, 26), (25, 27), (26, 28))


def _travel(kp2d: np.ndarray, kp3d: np.ndarray, times: np.ndarray, K: np.ndarray) -> np.ndarray:
    """(N, 2) pelvis velocity (x, z) in the camera's frame, m/s, from the 2D hips and the depth
    at which the body's segments have their 3D lengths (metres) for their 2D lengths (pixels):
    the median over torso sides, thighs and shins, so that a segment pointing at the camera or
    hidden behind somebody does not set it alone. (Not the shoulders' or hips' width: those
    shrink as the body turns side-on, which read as walking away in a turn on the spot.)"""
    f, cx = float(K[0, 0]), float(K[0, 2])
    hips2 = kp2d[:, list(_HIPS), :2].mean(1)
    a, b = np.array(_SEGMENTS).T
    len3 = np.median(np.linalg.norm(kp3d[:, a] - kp3d[:, b], axis=2), axis=0)  # (S,) per track
    len2 = np.linalg.norm(kp2d[:, a, :2] - kp2d[:, b, :2], axis=2)  # (N, S)
    depth = np.median(f * len3 / np.maximum(len2, 1.0), axis=1)
    dt = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    sigma = max(0.6 / max(dt, 1e-6), 0.5)  # the depth wanders ~10 % over a second of turning
    depth = gaussian_filter1d(depth, sigma, mode="nearest")
    x = gaussian_filter1d((hips2[:, 0] - cx) * depth / f, sigma, mode="nearest")
    return np.stack([np.gradient(x, times), np.gradient(depth, times)], axis=1)


def choose_mirrored(kp2d: np.ndarray, kp3d: np.ndarray, times: np.ndarray, K: np.ndarray,
                    static_camera: bool = True) -> np.ndarray:
    """(N,) bool: the frames whose landmarks are best taken as their mirror image. The path
    counts only where the camera stands still (a moving camera's image motion is not the
    person's) and the body is upright (a cartwheel's torso faces anywhere)."""
    n = len(kp3d)
    if n < 2:
        return np.zeros(n, bool)
    poses = (kp3d, _mirror_3d(kp3d))  # the choice rests on 3D: the 2D follows it
    unary = np.zeros((n, 2))
    unary[:, 1] = _MIRROR_COST
    up = _torso_up(kp3d)
    upright = -up[:, 1] / np.maximum(np.linalg.norm(up, axis=1), 1e-9)  # image y points down
    # a body far from upright (a cartwheel, a fall) is left as the model gives it: continuity
    # alone picked the wrong frames there (cartwheel-static MPJPE 183 -> 215 when allowed)
    unary[upright < 0.5, 1] = np.inf
    if static_camera:
        velocity = _travel(kp2d, kp3d, times, K)
        speed = np.linalg.norm(velocity, axis=1)
        lo, hi = WALK_SPEED
        weight = (np.clip((speed - lo) / (hi - lo), 0.0, 1.0)  # from lo m/s, full at hi
                  * np.clip((upright - 0.7) / 0.2, 0.0, 1.0))  # within ~45 deg of upright
        heading = velocity / np.maximum(speed, 1e-9)[:, None]
        for s, pose in enumerate(poses):
            unary[:, s] += _BACKWARDS_COST * weight * 0.5 * (1.0 - (_facing(pose) * heading).sum(1))
    # pairwise[t, a, b]: frame t-1 in state a, frame t in state b
    pair = np.empty((n, 2, 2))
    for a in range(2):
        for b in range(2):
            step = np.linalg.norm(poses[b][1:] - poses[a][:-1], axis=2).mean(1)
            pair[1:, a, b] = _JUMP_COST * step
    cost = unary[0].copy()
    back = np.zeros((n, 2), np.int8)
    for t in range(1, n):
        total = cost[:, None] + pair[t]  # (from, to)
        back[t] = np.argmin(total, axis=0)
        cost = total[back[t], [0, 1]] + unary[t]
    states = np.zeros(n, np.int8)
    states[-1] = int(np.argmin(cost))
    for t in range(n - 1, 0, -1):
        states[t - 1] = back[t, states[t]]
    return states.astype(bool)


def correct_left_right(track, fps: float, K: np.ndarray, static_camera: bool = True):
    """``track`` (a PersonTrack) with the frames :func:`choose_mirrored` picks mirrored."""
    times = np.asarray(track.frame_ids, float) / float(fps)
    flip = choose_mirrored(track.keypoints2d, track.keypoints3d, times, K, static_camera)
    if not flip.any():
        return track
    kp2, kp3 = track.keypoints2d.copy(), track.keypoints3d.copy()
    kp2[flip], kp3[flip] = mirror_pose(kp2[flip], kp3[flip])
    return dataclasses.replace(track, keypoints2d=kp2, keypoints3d=kp3)


#: per frame taken with a limb pair exchanged without evidence
_LIMB_EXCHANGE_COST = 0.1
#: per torso length of mean 2D limb-landmark motion between consecutive frames
_LIMB_JUMP_COST = 5.0
#: torso lengths by which an exchanged stretch must shorten the jumps at its edges
_LIMB_EDGE_SAVING = 0.25


def choose_limb_exchanged(kp2d: np.ndarray, frame_ids: np.ndarray,
                          limb: str = "legs") -> np.ndarray:
    """(N,) bool: the frames whose ``limb`` landmarks ("legs" or "arms") are best read with the
    left and right limb's labels exchanged.

    Besides taking a whole body for its mirror image, the landmark model sometimes gives one
    leg's knee, ankle and foot to the other leg for a few frames, sure of itself (walk-turn-
    static: frames 132-137, the left ankle on the right foot with confidence 0.96), and arms
    likewise (a cartwheel upside down: arms on the wrong side in 19 % of its frames). Fitted
    and smoothed, both feet then wander while the real ones stand. In the picture the labels
    jump by the distance between the limbs on the first and the last of those frames, which a
    limb does not travel in one frame; a two-state Viterbi pass per limb pair weighs that
    continuity (mean picture distance of the limbs' landmarks between consecutive frames, in
    torso lengths) against a small cost per exchanged frame. Where the limbs cross, both
    readings are equally continuous and the cost keeps the model's labels. Nothing is carried
    across a track's gap.
    """
    kp2d = np.asarray(kp2d, dtype=np.float64)
    n = len(kp2d)
    if n < 3:
        return np.zeros(n, bool)
    torso = np.linalg.norm(kp2d[:, list(_SHOULDERS), :2].mean(1) - kp2d[:, list(_HIPS), :2].mean(1),
                           axis=1)
    scale = max(float(np.median(torso)), 1.0)
    points = LIMBS[limb]
    poses = (kp2d[:, points, :2] / scale, kp2d[:, LIMB_EXCHANGE[limb][points], :2] / scale)
    unary = np.zeros((n, 2))
    unary[:, 1] = _LIMB_EXCHANGE_COST
    joined = np.diff(np.asarray(frame_ids)) == 1
    pair = np.zeros((n, 2, 2))
    for a in range(2):
        for b in range(2):
            step = np.linalg.norm(poses[b][1:] - poses[a][:-1], axis=2).mean(1)
            pair[1:, a, b] = np.where(joined, _LIMB_JUMP_COST * step, 0.0)
    cost = unary[0].copy()
    back = np.zeros((n, 2), np.int8)
    for t in range(1, n):
        total = cost[:, None] + pair[t]
        back[t] = np.argmin(total, axis=0)
        cost = total[back[t], [0, 1]] + unary[t]
    states = np.zeros(n, np.int8)
    states[-1] = int(np.argmin(cost))
    for t in range(n - 1, 0, -1):
        states[t - 1] = back[t, states[t]]
    exchanged = states.astype(bool)
    # a stretch stands only where exchanging it shortens the labels' jumps at its edges by at
    # least a quarter of a torso (mean over the landmarks): a single landmark gone astray (an
    # ankle halfway between the legs) also makes the exchanged reading a little more continuous
    # (by 0.05-0.07 torso on the bench's lone frames picked), and exchanging the knee, heel and
    # toe with it made the feet worse (skip-pan FS after the lock 2.8 -> 3.4 mm); a leg given
    # to the other one saves 0.4 to 2 torsos (less where it is given back as the legs cross)
    def jump(pose, inside, outside):
        return float(np.linalg.norm(pose[inside] - poses[0][outside], axis=1).mean())

    for a, b in _stretches(exchanged):
        saved = 0.0
        for inside, outside in ((a, a - 1), (b, b + 1)):
            if 0 <= outside < n and joined[min(inside, outside)]:
                saved += jump(poses[0], inside, outside) - jump(poses[1], inside, outside)
        if not saved >= _LIMB_EDGE_SAVING:
            exchanged[a:b + 1] = False
    return exchanged


def _stretches(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive (first, last) index pairs of the runs of True in ``mask``."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1))


def correct_limb_labels(track, limbs: tuple[str, ...] = ("legs", "arms")):
    """``track`` with the frames :func:`choose_limb_exchanged` picks given each limb pair's
    labels exchanged (2D and 3D landmarks alike)."""
    kp2, kp3 = track.keypoints2d, track.keypoints3d
    for limb in limbs:
        swap = choose_limb_exchanged(kp2, track.frame_ids, limb)
        if swap.any():
            kp2, kp3 = kp2.copy(), kp3.copy()
            kp2[swap] = kp2[swap][:, LIMB_EXCHANGE[limb]]
            kp3[swap] = kp3[swap][:, LIMB_EXCHANGE[limb]]
    if kp2 is track.keypoints2d:
        return track
    return dataclasses.replace(track, keypoints2d=kp2, keypoints3d=kp3)
