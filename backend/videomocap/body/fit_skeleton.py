"""Fit the SMPL-topology skeleton to one person's landmarks, all frames at once, in the camera frame.

Per frame the unknowns are 24 joint rotations (root included, body frame -> camera) and the pelvis
position; the person's bone lengths are fixed beforehand (``estimate_bone_lengths``). The objective
combines

* reprojection of the skeleton's target points through a pinhole camera onto the 2D landmarks
  (robust, confidence-weighted, in units of the person's image height so near and far people count
  alike),
* agreement with MediaPipe's metric world landmarks (pelvis-relative, camera axes), which carries
  the depth of each limb that one image cannot give,
* a pose prior (small rotations, more freedom where joints really bend), soft joint limits on knees
  and elbows (no hyper-extension, no twist), and
* smoothness in time (joint accelerations).

It starts from an analytic solution (root by Kabsch on the torso, limbs by aligning each bone with
its observed direction, pelvis position by linear least squares on the projection equations), so the
gradient descent only has to refine. Everything is batched over frames; one Adam loop fits a whole
track.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..rotations import kabsch, matrix_to_axis_angle, rotation_between
from ..skeleton import (
    JOINT_INDEX, NUM_JOINTS, PARENTS, TEMPLATE_BONE_LENGTHS, marker_offsets,
    offsets_from_bone_lengths,
)
from .landmark_map import POINT_NAMES, TARGET_NAMES, TARGET_POINTS, Targets

# Body frame -> camera frame for someone upright facing the camera (180 degrees about x).
_FACING_CAMERA = np.diag([1.0, -1.0, -1.0])


@dataclass
class FitSettings:
    iterations: int = 160
    learning_rate: float = 0.03
    weight_2d: float = 1.0
    weight_3d: float = 0.5
    weight_pose_prior: float = 0.002
    weight_joint_limits: float = 0.05
    weight_smooth: float = 20.0
    huber_delta: float = 0.03  # fraction of the person's image height


@dataclass
class CameraFrameFit:
    """The fitted skeleton of one person in the camera frame (OpenCV axes)."""

    global_orient: np.ndarray  # (N, 3) body -> camera, axis-angle
    body_pose: np.ndarray  # (N, 23, 3)
    transl: np.ndarray  # (N, 3) pelvis, camera frame
    bone_lengths: np.ndarray  # (23,)
    joints: np.ndarray  # (N, 24, 3) camera frame
    markers: dict  # name -> (N, 3) camera frame
    reprojection_error: np.ndarray  # (N,) mean pixel error over confident targets


def default_intrinsics(width: int, height: int) -> np.ndarray:
    """Pinhole intrinsics with focal length sqrt(W^2 + H^2) and the principal point at the centre."""
    f = float(np.hypot(width, height))
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


# ----------------------------------------------------------------------------- initialisation


def _point_rest_vectors(bone_lengths: np.ndarray) -> tuple[np.ndarray, dict]:
    offsets = offsets_from_bone_lengths(bone_lengths)
    rest = np.zeros((NUM_JOINTS, 3))
    for j in range(1, NUM_JOINTS):
        rest[j] = rest[PARENTS[j]] + offsets[j]
    marks = {name: rest[j] + off for name, (j, off) in marker_offsets(bone_lengths).items()}
    return rest, marks


# joint -> the target point whose direction from this joint fixes its swing
_AIMS = {
    "left_hip": "left_knee", "right_hip": "right_knee",
    "left_knee": "left_ankle", "right_knee": "right_ankle",
    "left_ankle": "left_toe", "right_ankle": "right_toe",
    "left_shoulder": "left_elbow", "right_shoulder": "right_elbow",
    "left_elbow": "left_wrist", "right_elbow": "right_wrist",
    "left_wrist": "left_hand", "right_wrist": "right_hand",
    "neck": "head", "head": "nose",
}


def initial_pose(targets: Targets, bone_lengths: np.ndarray) -> np.ndarray:
    """(N, 24, 3) axis-angle rotations (root: body -> camera) from the 3D targets alone."""
    rest, rest_marks = _point_rest_vectors(bone_lengths)
    rest_pts = {name: rest[i] for i, name in enumerate(POINT_NAMES[:NUM_JOINTS])}
    rest_pts.update(rest_marks)
    obs = {name: targets.points3d[:, i] for i, name in enumerate(TARGET_NAMES)}
    n = targets.points3d.shape[0]

    # Root: align hips and the mid-shoulder point (the torso triangle).
    mid_sh_rest = 0.5 * (rest_pts["left_shoulder"] + rest_pts["right_shoulder"])
    mid_sh_obs = 0.5 * (obs["left_shoulder"] + obs["right_shoulder"])
    src = np.stack([rest_pts["left_hip"], rest_pts["right_hip"], mid_sh_rest])  # pelvis at 0
    dst = np.stack([obs["left_hip"], obs["right_hip"], mid_sh_obs], axis=1)
    root = kabsch(np.broadcast_to(src, dst.shape), dst, weights=np.array([1.0, 1.0, 2.0])[None]
                  .repeat(n, 0))
    bad = ~np.all(np.isfinite(root), axis=(1, 2))
    root[bad] = _FACING_CAMERA

    world = np.empty((n, NUM_JOINTS, 3, 3))
    local = np.tile(np.eye(3), (n, NUM_JOINTS, 1, 1))
    world[:, 0] = root
    local[:, 0] = root
    for j in range(1, NUM_JOINTS):
        parent_world = world[:, PARENTS[j]]
        name = POINT_NAMES[j]
        aim = _AIMS.get(name)
        if aim is not None:
            rest_vec = rest_pts[aim] - rest[j]
            obs_vec = obs[aim] - obs[name] if name in obs else obs[aim] - _obs_joint(obs, name)
            in_parent = np.einsum("nji,nj->ni", parent_world, obs_vec)
            local[:, j] = rotation_between(np.broadcast_to(rest_vec, in_parent.shape), in_parent)
        world[:, j] = parent_world @ local[:, j]
    return matrix_to_axis_angle(local)


def _obs_joint(obs: dict, name: str) -> np.ndarray:
    if name == "neck":  # no landmark: the middle of the shoulders stands in for it
        return 0.5 * (obs["left_shoulder"] + obs["right_shoulder"])
    raise KeyError(name)


def initial_translation(targets: Targets, K: np.ndarray) -> np.ndarray:
    """(N, 3) pelvis positions solving the projection equations of the 3D targets in least squares.

    For a point P + t seen at pixel (u, v):  f (P_x + t_x) = (u - c_x)(P_z + t_z), same for y;
    linear in t, so each frame is one small weighted least-squares problem.
    """
    f = 0.5 * (K[0, 0] + K[1, 1])
    du = targets.points2d[..., 0] - K[0, 2]
    dv = targets.points2d[..., 1] - K[1, 2]
    p = targets.points3d
    w = np.sqrt(np.maximum(targets.confidence, 1e-3))
    n, t = du.shape
    a = np.zeros((n, 2 * t, 3))
    b = np.zeros((n, 2 * t))
    a[:, :t, 0] = f
    a[:, :t, 2] = -du
    b[:, :t] = du * p[..., 2] - f * p[..., 0]
    a[:, t:, 1] = f
    a[:, t:, 2] = -dv
    b[:, t:] = dv * p[..., 2] - f * p[..., 1]
    ww = np.concatenate([w, w], axis=1)
    a *= ww[..., None]
    b *= ww
    ata = np.einsum("nki,nkj->nij", a, a) + 1e-6 * np.eye(3)
    atb = np.einsum("nki,nk->ni", a, b)
    trans = np.linalg.solve(ata, atb[..., None])[..., 0]
    # A person can only be in front of the camera.
    trans[:, 2] = np.maximum(trans[:, 2], 0.5)
    return trans


# ----------------------------------------------------------------------------- torch model


def _torch():
    import torch

    return torch


def axis_angle_to_matrix_torch(aa):
    """Rodrigues' formula, differentiable at zero (the angle gets a tiny epsilon)."""
    torch = _torch()
    angle = torch.sqrt((aa * aa).sum(-1, keepdim=True) + 1e-12)
    axis = aa / angle
    x, y, z = axis.unbind(-1)
    c = torch.cos(angle)[..., 0]
    s = torch.sin(angle)[..., 0]
    t = 1 - c
    return torch.stack([
        c + x * x * t, x * y * t - z * s, x * z * t + y * s,
        y * x * t + z * s, c + y * y * t, y * z * t - x * s,
        z * x * t - y * s, z * y * t + x * s, c + z * z * t,
    ], dim=-1).reshape(aa.shape[:-1] + (3, 3))


class SkeletonModel:
    """Differentiable forward kinematics of the 24 joints and the markers, batched over frames.

    ``bone_lengths`` is (23,) for one skeleton or (N, 23) for one per frame, which lets the frames
    of several people go through one batch.
    """

    def __init__(self, bone_lengths: np.ndarray, dtype=None):
        torch = _torch()
        dtype = dtype or torch.float32
        bone_lengths = np.asarray(bone_lengths, dtype=np.float64)
        self.offsets = torch.as_tensor(offsets_from_bone_lengths(bone_lengths), dtype=dtype)
        names = list(marker_offsets(TEMPLATE_BONE_LENGTHS))
        self.marker_names = names
        self.marker_joints = [marker_offsets(TEMPLATE_BONE_LENGTHS)[m][0] for m in names]
        rows = np.atleast_2d(bone_lengths)
        offs = np.stack([np.stack([marker_offsets(r)[m][1] for m in names]) for r in rows])
        self.marker_offsets = torch.as_tensor(offs if bone_lengths.ndim == 2 else offs[0],
                                              dtype=dtype)

    def __call__(self, rotations_aa, transl):
        """(N, 24, 3), (N, 3) -> points (N, 24 + markers, 3) in POINT_NAMES order."""
        torch = _torch()
        local = axis_angle_to_matrix_torch(rotations_aa)
        off = self.offsets.expand(rotations_aa.shape[0], -1, -1)
        moff = self.marker_offsets.expand(rotations_aa.shape[0], -1, -1)
        world = [local[:, 0]]
        pos = [transl]
        for j in range(1, NUM_JOINTS):
            p = PARENTS[j]
            world.append(world[p] @ local[:, j])
            pos.append(pos[p] + (world[p] @ off[:, j, :, None])[..., 0])
        marks = [pos[j] + (world[j] @ moff[:, k, :, None])[..., 0]
                 for k, j in enumerate(self.marker_joints)]
        return torch.stack(pos + marks, dim=1)


def _joint_limit_penalty(rot):
    """Soft limits: knees and elbows bend one way about one axis and do not twist.

    Knee flexion is +x in the body frame; left elbow flexion is -y, right elbow +y.
    """
    torch = _torch()
    relu = torch.nn.functional.relu
    pen = 0.0
    for side, elbow_sign in (("left", -1.0), ("right", 1.0)):
        knee = rot[:, JOINT_INDEX[f"{side}_knee"]]
        pen = pen + relu(-knee[:, 0]).pow(2) + knee[:, 1].pow(2) + knee[:, 2].pow(2)
        elbow = rot[:, JOINT_INDEX[f"{side}_elbow"]]
        pen = pen + relu(-elbow_sign * elbow[:, 1]).pow(2) + 0.5 * elbow[:, 0].pow(2)
    return pen.mean()


# Pose prior weight per joint: 1 for limbs; the spine, neck and collars share their bending over
# several joints and hands and feet are barely observed, so they are cheaper to rotate. Root: free.
_PRIOR_WEIGHT = np.ones(NUM_JOINTS)
for _n, _w in (("spine1", 1 / 3), ("spine2", 1 / 3), ("spine3", 1 / 3), ("neck", 0.25),
               ("left_collar", 0.25), ("right_collar", 0.25), ("left_foot", 1 / 6),
               ("right_foot", 1 / 6), ("left_hand", 1 / 6), ("right_hand", 1 / 6)):
    _PRIOR_WEIGHT[JOINT_INDEX[_n]] = _w
_PRIOR_WEIGHT[0] = 0.0


def fit_skeleton(
    targets: Targets,
    bone_lengths: np.ndarray,
    K: np.ndarray,
    settings: FitSettings | None = None,
) -> CameraFrameFit:
    """Fit one person's skeleton to all of its frames (see the module docstring)."""
    return fit_people([targets], [bone_lengths], K, settings)[0]


def fit_people(
    targets: list[Targets],
    bone_lengths: list[np.ndarray],
    K: np.ndarray,
    settings: FitSettings | None = None,
) -> list[CameraFrameFit]:
    """Fit several people at once: their frames form one batch and one optimisation loop, so the
    cost of a video grows with its person-frames, not with its number of people."""
    torch = _torch()
    threads = torch.get_num_threads()
    # The fit is thousands of tiny tensor operations: extra threads only add synchronisation
    # (measured here: 5 ms per forward+backward pass of 240 frames on one thread, 170 ms on two
    # while another process was busy).
    torch.set_num_threads(1)
    try:
        return _fit_people(targets, bone_lengths, K, settings or FitSettings())
    finally:
        torch.set_num_threads(threads)


def _fit_people(targets, bone_lengths, K, settings: FitSettings) -> list[CameraFrameFit]:
    torch = _torch()
    sizes = [t.points2d.shape[0] for t in targets]
    n = sum(sizes)
    rot0 = np.concatenate([initial_pose(t, b) for t, b in zip(targets, bone_lengths)])
    trans0 = np.concatenate([initial_translation(t, K) for t in targets])
    frame_bones = np.concatenate([np.repeat(np.asarray(b)[None], k, 0)
                                  for b, k in zip(bone_lengths, sizes)])
    points2d = np.concatenate([t.points2d for t in targets])
    points3d = np.concatenate([t.points3d for t in targets])
    confidence = np.concatenate([t.confidence for t in targets])
    # second differences only inside one person's frames
    starts = np.cumsum([0] + sizes[:-1])
    inside = np.ones(max(n - 2, 0), dtype=bool)
    for s0, k in zip(starts, sizes):
        for edge in (s0 - 2, s0 - 1):
            if 0 <= edge < len(inside):
                inside[edge] = False

    dt = torch.float32
    rot = torch.tensor(rot0, dtype=dt, requires_grad=True)
    trans = torch.tensor(trans0, dtype=dt, requires_grad=True)
    model = SkeletonModel(frame_bones, dt)
    kt = torch.as_tensor(K, dtype=dt)
    obs2d = torch.as_tensor(points2d, dtype=dt)
    obs3d = torch.as_tensor(points3d, dtype=dt)
    conf = torch.as_tensor(confidence, dtype=dt)
    smooth_mask = torch.as_tensor(inside, dtype=dt)
    tpts = torch.as_tensor(TARGET_POINTS)
    # Person height in pixels per frame, for scale-free 2D residuals.
    visible = confidence > 0.3
    ys = np.where(visible, points2d[..., 1], np.nan)
    with np.errstate(all="ignore"):
        height = np.nanmax(ys, axis=1) - np.nanmin(ys, axis=1)
    height = np.where(np.isfinite(height) & (height > 10), height, 100.0)
    scale = torch.as_tensor(height, dtype=dt)[:, None]
    prior_w = torch.as_tensor(_PRIOR_WEIGHT, dtype=dt)[None, :]
    conf_sum = conf.sum().clamp_min(1e-6)

    opt = torch.optim.Adam([rot, trans], lr=settings.learning_rate)
    huber = torch.nn.functional.huber_loss
    for _ in range(settings.iterations):
        opt.zero_grad()
        pts = model(rot, trans)
        tp = pts[:, tpts]
        z = tp[..., 2].clamp_min(0.1)
        u = kt[0, 0] * tp[..., 0] / z + kt[0, 2]
        v = kt[1, 1] * tp[..., 1] / z + kt[1, 2]
        r2d = torch.stack([u, v], -1) - obs2d
        r2d = (r2d / scale[..., None]).norm(dim=-1)
        loss2d = (conf * huber(r2d, torch.zeros_like(r2d), reduction="none",
                               delta=settings.huber_delta)).sum() / conf_sum
        rel = tp - tp[:, :1]
        r3d = (rel - obs3d).norm(dim=-1)
        loss3d = (conf * huber(r3d, torch.zeros_like(r3d), reduction="none",
                               delta=0.1)).sum() / conf_sum
        prior = (prior_w * rot.pow(2).sum(-1)).mean()
        limits = _joint_limit_penalty(rot)
        if n >= 3:
            acc = pts[2:] - 2 * pts[1:-1] + pts[:-2]
            smooth = (acc.pow(2).sum(-1).mean(-1) * smooth_mask).sum() / smooth_mask.sum().clamp_min(1)
        else:
            smooth = torch.zeros(())
        loss = (settings.weight_2d * loss2d + settings.weight_3d * loss3d
                + settings.weight_pose_prior * prior + settings.weight_joint_limits * limits
                + settings.weight_smooth * smooth)
        loss.backward()
        opt.step()

    with torch.no_grad():
        pts = model(rot, trans).numpy().astype(np.float64)
        rot_np = rot.numpy().astype(np.float64)
        trans_np = trans.numpy().astype(np.float64)
    tp = pts[:, TARGET_POINTS]
    proj = tp @ K.T
    proj = proj[..., :2] / np.maximum(proj[..., 2:], 1e-6)
    err = np.linalg.norm(proj - points2d, axis=-1)
    w = confidence > 0.5
    with np.errstate(all="ignore"):
        reproj = np.where(w.any(1), (err * w).sum(1) / np.maximum(w.sum(1), 1), np.nan)
    fits = []
    for s0, k, bones in zip(starts, sizes, bone_lengths):
        sl = slice(s0, s0 + k)
        fits.append(CameraFrameFit(
            global_orient=rot_np[sl, 0],
            body_pose=rot_np[sl, 1:],
            transl=trans_np[sl],
            bone_lengths=np.asarray(bones, dtype=np.float64),
            joints=pts[sl, :NUM_JOINTS],
            markers={name: pts[sl, NUM_JOINTS + m] for m, name in enumerate(POINT_NAMES[NUM_JOINTS:])},
            reprojection_error=reproj[sl],
        ))
    return fits
