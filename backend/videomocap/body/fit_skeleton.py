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
  and elbows (no hyper-extension, no twist) and ankles (toes down at most ~30 deg, up ~25), and
* smoothness in time (joint accelerations), and
* in a refit, once the world step has found the floor and the foot contacts (``planted``): the
  planted soles on the floor and still in the world. One camera sees depth poorly, and the
  landmark model barely swings legs in depth (a walker seen from behind keeps them under the
  body), so the captured planted feet used to travel with the body; here the legs take up the
  step while the 2D term keeps every joint on the picture (bench, all 12 scenes, against fitting
  once with the same number of steps: FS 12.2 -> 9.8 mm, after the foot lock 7.7 -> 7.1).

It starts from an analytic solution (root by Kabsch on the torso, limbs by aligning each bone with
its observed direction, pelvis position by linear least squares on the projection equations), so the
gradient descent only has to refine. Everything is batched over frames; one Adam loop fits a whole
track (numpy, with the gradient written out: see "the objective" below).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..rotations import axis_angle_to_matrix, kabsch, matrix_to_axis_angle, rotation_between
from ..skeleton import (
    CONTACT_NAMES, JOINT_INDEX, MARKERS, NUM_JOINTS, PARENTS, marker_offsets,
    offsets_from_bone_lengths,
)
from .landmark_map import POINT_NAMES, TARGET_NAMES, TARGET_POINTS, Targets

# Body frame -> camera frame for someone upright facing the camera (180 degrees about x).
_FACING_CAMERA = np.diag([1.0, -1.0, -1.0])


@dataclass
class FitSettings:
    # Defaults chosen on the bench scenes (walk, skip-pan, jumping jacks, three-cross-pan,
    # cartwheel, run-handheld, assets/sample): against 160 steps, weight_3d 0.5, prior 0.002,
    # huber 0.03, smooth 20 (with smooth_fit's rotation window 0.04 -> 0.05 s) the mean per-scene
    # change is MPJPE -4.6 %, PA-MPJPE -5.2 %, Accel -4.1 %, Jitter -3.4 %, FS -6.8 %,
    # W-MPJPE100 -2.5 %, WA-MPJPE100 -3.5 %. More steps still converge further, but each step is
    # about 1/100 of the 5 ms per person-frame budget.
    iterations: int = 240
    learning_rate: float = 0.03
    weight_2d: float = 1.0
    weight_3d: float = 1.0
    weight_pose_prior: float = 0.004
    weight_joint_limits: float = 0.05
    weight_smooth: float = 10.0
    huber_delta: float = 0.05  # fraction of the person's image height
    #: a refit with contacts (``fit_people(planted=...)``): planted soles on the floor, and still
    #: in the world from one frame to the next (metres squared per frame)
    weight_floor: float = 0.0
    weight_planted: float = 0.0
    keep_best: bool = True  # return the lowest-loss iterate of the descent, not the last one


@dataclass
class PlantedSoles:
    """Where one person's soles rest, for a refit once the world step has found the floor and the
    contacts (``fit_people(planted=...)``). Frames as the person's targets."""

    weight: np.ndarray  # (N, 4) contact probability of each sole point (skeleton.CONTACT_NAMES)
    cam_R: np.ndarray  # (N, 3, 3) world-from-camera rotation (world z up, the floor at z = 0)
    cam_t: np.ndarray  # (N, 3) camera centre in the world
    linked: np.ndarray  # (N - 1,) bool: frame i + 1 directly follows frame i
    #: (N,) radians: the turn about the vertical through the pelvis that the world step gives
    #: the fitted body (``world.facing``); the soles are held still as they will be after it
    yaw: np.ndarray | None = None

    def terms(self) -> dict:
        """Arrays of the objective: the floor plane in each camera frame (normal . X = offset),
        the weight of each step (both ends planted, frames linked), and the world position of a
        camera-frame point X of a body whose pelvis is at P: turn (X - P) + R P + t."""
        w = np.asarray(self.weight, np.float64)
        step = np.minimum(w[:-1], w[1:]) * np.asarray(self.linked, np.float64)[:, None]
        R = np.asarray(self.cam_R, np.float64)
        turn = R
        if self.yaw is not None:  # about world z, as world.facing.turn_about_vertical turns
            turn = axis_angle_to_matrix(np.asarray(self.yaw, np.float64)[:, None] * [0, 0, 1]) @ R
        return {"weight": w, "normal": R[:, 2, :], "offset": -np.asarray(self.cam_t)[:, 2],
                "R": R, "turn": turn, "t": np.asarray(self.cam_t, np.float64), "step": step}


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


# ----------------------------------------------------------------------------- the objective
#
# The objective and its gradient are written out by hand in numpy rather than left to torch's
# autograd: the fit is many tiny tensor operations per iteration, where torch spends its time in
# per-operation overhead (forward kinematics alone is a chain of 23 joint steps, and autograd walks
# it back one step at a time), and importing torch alone cost the capture about 1.7 s. Here the
# gradient takes no walk down the tree at all: the derivative of the loss by a small world-frame
# rotation of joint j's subtree about the joint is the torque  sum_q (q - p_j) x dL/dq  over the
# points q below j, and those subtree sums are one matrix product with a constant 0/1 matrix.
# ``tests/unit/test_fit_skeleton.py`` checks the gradient against finite differences and the
# kinematics against ``skeleton.forward_kinematics``.
#
# Internal arrays are joint-major, (24, N, 3[, 3]): the joints of one tree depth are then a
# contiguous slice and the subtree sums a single (points x points) @ (points x 3N) product.

_MARKER_JOINTS = np.array([j for j, _ in MARKERS.values()])
_NUM_POINTS = NUM_JOINTS + len(MARKERS)
_POINT_PARENTS = np.array([-1, *PARENTS[1:], *_MARKER_JOINTS])


def _depth_levels() -> list[tuple[slice, object]]:
    """Joints by depth below the root as (slice of joints, their parents: an index or an index
    array); the SMPL joint order lists each depth contiguously."""
    depth = np.zeros(NUM_JOINTS, dtype=int)
    for j in range(1, NUM_JOINTS):
        depth[j] = depth[PARENTS[j]] + 1
    levels = []
    for d in range(1, depth.max() + 1):
        joints = np.flatnonzero(depth == d)
        assert np.all(np.diff(joints) == 1), "joints of one depth must be contiguous"
        parents = np.array([PARENTS[j] for j in joints])
        if np.all(parents == parents[0]):
            parents = slice(parents[0], parents[0] + 1)  # one parent, broadcast
        elif np.all(np.diff(parents) == 1):
            parents = slice(parents[0], parents[-1] + 1)
        levels.append((slice(joints[0], joints[-1] + 1), parents))
    return levels


def _ancestors() -> np.ndarray:
    """(P, P) 0/1: [q, r] = 1 when point r is q itself or one of its ancestors (points: the 24
    joints, then the markers, each hanging from its joint)."""
    a = np.zeros((_NUM_POINTS, _NUM_POINTS))
    for q in range(_NUM_POINTS):
        r = q
        while r >= 0:
            a[q, r] = 1.0
            r = _POINT_PARENTS[r]
    return a


_LEVELS = _depth_levels()
_ANCESTORS = _ancestors()
# [j, q] = 1 when point q is in joint j's subtree (j itself included)
_SUBTREE = np.ascontiguousarray(_ANCESTORS[:, :NUM_JOINTS].T)
_KNEES = np.array([JOINT_INDEX["left_knee"], JOINT_INDEX["right_knee"]])
_ELBOWS = np.array([JOINT_INDEX["left_elbow"], JOINT_INDEX["right_elbow"]])
_ELBOW_FLEX = np.array([-1.0, 1.0])  # the sign of elbow flexion about y, left and right
_ANKLES = np.array([JOINT_INDEX["left_ankle"], JOINT_INDEX["right_ankle"]])
#: the sole points of skeleton.CONTACT_NAMES, as points of the fit
_SOLES = np.array([POINT_NAMES.index(name) for name in CONTACT_NAMES])
# ankle flexion about x (+: toes down): feet point down past ~30 deg only on tiptoe, and up past
# ~25 deg hardly ever. Without a limit, walkers seen from behind (toes hidden behind the heels)
# were fitted on tiptoe, ankles at 57-64 deg median, heels 20 cm up (two-cross-static)
_ANKLE_RANGE = (-0.45, 0.5)  # radians


# Pose prior weight per joint: 1 for limbs; the spine, neck and collars share their bending over
# several joints and hands and feet are barely observed, so they are cheaper to rotate. Root: free.
_PRIOR_WEIGHT = np.ones(NUM_JOINTS)
for _n, _w in (("spine1", 1 / 3), ("spine2", 1 / 3), ("spine3", 1 / 3), ("neck", 0.25),
               ("left_collar", 0.25), ("right_collar", 0.25), ("left_foot", 1 / 6),
               ("right_foot", 1 / 6), ("left_hand", 1 / 6), ("right_hand", 1 / 6)):
    _PRIOR_WEIGHT[JOINT_INDEX[_n]] = _w
_PRIOR_WEIGHT[0] = 0.0


def _rodrigues(aa: np.ndarray):
    """(..., 3) axis-angle -> (..., 3, 3) matrices, and the coefficients of its left Jacobian.

    R = cos(t) I + A [a]x + B a a^T with t = sqrt(|a|^2 + 1e-12) (the epsilon keeps zero rotations
    differentiable), A = sin(t)/t, B = (1 - cos t)/t^2 = 2 sin(t/2)^2/t^2 (the second form does not
    cancel at small t); the left Jacobian (R(a + da) ~ exp([J da]x) R(a)) is
    J = I + B [a]x + C [a]x^2 with C = (t - sin t)/t^3. C does cancel at small t, but it only
    ever multiplies |a|^2 ~ t^2 there, which takes the error back to rounding level."""
    t2 = np.einsum("...i,...i->...", aa, aa) + 1e-12
    t = np.sqrt(t2)
    c, s = np.cos(t), np.sin(t)
    A = s / t
    h = np.sin(0.5 * t) / t
    B = 2 * h * h
    C = (t - s) / (t2 * t)
    # the nine entries built component-major (contiguous writes), then one transposing copy
    x, y, z = aa[..., 0], aa[..., 1], aa[..., 2]
    Bx, By = B * x, B * y
    Ax, Ay, Az = A * x, A * y, A * z
    xy, xz, yz = Bx * y, Bx * z, By * z
    R = np.empty((9,) + aa.shape[:-1])
    np.add(Bx * x, c, out=R[0])
    np.subtract(xy, Az, out=R[1])
    np.add(xz, Ay, out=R[2])
    np.add(xy, Az, out=R[3])
    np.add(By * y, c, out=R[4])
    np.subtract(yz, Ax, out=R[5])
    np.subtract(xz, Ay, out=R[6])
    np.add(yz, Ax, out=R[7])
    np.add(B * z * z, c, out=R[8])
    return np.ascontiguousarray(np.moveaxis(R, 0, -1)).reshape(aa.shape + (3,)), B, C


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x b over the last axis; np.cross gives the same but moves axes and copies on every call
    (several times slower on these small arrays)."""
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    np.multiply(a1, b2, out=out[..., 0])
    out[..., 0] -= a2 * b1
    np.multiply(a2, b0, out=out[..., 1])
    out[..., 1] -= a0 * b2
    np.multiply(a0, b1, out=out[..., 2])
    out[..., 2] -= a1 * b0
    return out


def _huber_grad(d: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """torch's huber_loss(d, 0) for d >= 0 and its derivative."""
    quad = d < delta
    return np.where(quad, 0.5 * d * d, delta * (d - 0.5 * delta)), np.where(quad, d, delta)


class _Objective:
    """The fit's loss over a batch of frames (module docstring) and its gradient.

    ``bone_lengths`` is (N, 23): one skeleton per frame, so the frames of several people go through
    one batch. ``inside`` marks the second differences (frame n, n+1, n+2) within one person.
    Rotations and translations are taken joint-major: rot (24, N, 3), trans (N, 3)."""

    def __init__(self, bone_lengths, K, points2d, points3d, confidence, inside,
                 settings: "FitSettings", contact: dict | None = None):
        bone_lengths = np.asarray(bone_lengths, dtype=np.float64)
        n = len(bone_lengths)
        self.n = n
        offsets = offsets_from_bone_lengths(bone_lengths)  # (N, 24, 3)
        # marker offsets scale with each skeleton's legs (skeleton.marker_offsets)
        rows, inverse = np.unique(bone_lengths, axis=0, return_inverse=True)
        per_row = np.stack([np.stack([off for _, off in marker_offsets(r).values()]) for r in rows])
        markers = per_row[np.ravel(inverse)]  # (N, M, 3)
        # what each point hangs from its parent by, in the parent's frame: (P - 1, N, 3)
        self.local_offsets = np.ascontiguousarray(
            np.concatenate([offsets[:, 1:], markers], axis=1).transpose(1, 0, 2))
        self.K = np.asarray(K, dtype=np.float64)
        self.obs2d = np.ascontiguousarray(points2d.transpose(1, 0, 2))  # (T, N, 2)
        self.obs3d = np.ascontiguousarray(points3d.transpose(1, 0, 2))
        self.conf = np.ascontiguousarray(confidence.T)  # (T, N)
        self.conf_sum = max(float(confidence.sum()), 1e-6)
        self.settings = settings
        # Person height in pixels per frame, for scale-free 2D residuals.
        visible = confidence > 0.3
        ys = np.where(visible, points2d[..., 1], np.nan)
        with np.errstate(all="ignore"):
            height = np.nanmax(ys, axis=1) - np.nanmin(ys, axis=1)
        self.scale = np.where(np.isfinite(height) & (height > 10), height, 100.0)  # (N,)
        self.inside = inside.astype(np.float64)
        self.prior_w = _PRIOR_WEIGHT[:, None]
        self.contact = contact

    def points(self, rot, trans, keep: bool = False):
        """Forward kinematics: (P, N, 3) points in POINT_NAMES order (P = 24 joints + markers)."""
        n = rot.shape[1]
        local, B, C = _rodrigues(rot)
        world = np.empty_like(local)
        world[0] = local[0]
        for joints, parents in _LEVELS:
            world[joints] = world[parents] @ local[joints]
        parent_world = world[_POINT_PARENTS[1:]]  # (P - 1, N, 3, 3)
        steps = np.empty((_NUM_POINTS, n, 3))
        steps[0] = trans
        steps[1:] = np.einsum("pnab,pnb->pna", parent_world, self.local_offsets)
        # each point is the root plus the steps along its path down the tree
        pts = (_ANCESTORS @ steps.reshape(_NUM_POINTS, -1)).reshape(_NUM_POINTS, n, 3)
        if keep:
            self._fk = (parent_world, B, C)
        return pts

    def _points_grad(self, rot, pts, g_pts):
        """Back through forward kinematics: dL/d(points) (P, N, 3) -> (dL/drot, dL/dtrans)."""
        parent_world, B, C = self._fk
        n = rot.shape[1]
        flat = (_NUM_POINTS, 3 * n)
        # per joint, the sum of the gradients over its subtree (the force) and of q x dL/dq
        force = (_SUBTREE @ g_pts.reshape(flat)).reshape(NUM_JOINTS, n, 3)
        moment = (_SUBTREE @ _cross(pts, g_pts).reshape(flat)).reshape(NUM_JOINTS, n, 3)
        torque = moment - _cross(pts[:NUM_JOINTS], force)  # about each joint, world frame
        # world frame -> the parent's frame, where the joint's rotation acts (root: the camera's)
        u = torque
        u[1:] = np.einsum("jnba,jnb->jna", parent_world[:NUM_JOINTS - 1], torque[1:])
        # through the transposed left Jacobian: J^T u = u - B a x u + C a x (a x u)
        axu = _cross(rot, u)
        g_rot = u - B[..., None] * axu + C[..., None] * _cross(rot, axu)
        return g_rot, force[0]

    def __call__(self, rot, trans):
        """(loss, dL/drot (24, N, 3), dL/dtrans (N, 3))."""
        st = self.settings
        n = self.n
        pts = self.points(rot, trans, keep=True)
        g_pts = np.zeros_like(pts)
        tp = pts[TARGET_POINTS]  # (T, N, 3)
        conf, K = self.conf, self.K

        # reprojection, in units of the person's image height
        x, y, z_raw = tp[..., 0], tp[..., 1], tp[..., 2]
        front = z_raw >= 0.1
        z = np.where(front, z_raw, 0.1)
        fx, fy = K[0, 0], K[1, 1]
        ru = (fx * x / z + K[0, 2] - self.obs2d[..., 0]) / self.scale
        rv = (fy * y / z + K[1, 2] - self.obs2d[..., 1]) / self.scale
        d = np.sqrt(ru * ru + rv * rv)
        h, dh = _huber_grad(d, st.huber_delta)
        loss2d = float((conf * h).sum()) / self.conf_sum
        gd = (st.weight_2d / self.conf_sum) * conf * dh
        gd = np.divide(gd, d * self.scale, out=np.zeros_like(d), where=d > 0)
        gu, gv = gd * ru * fx / z, gd * rv * fy / z
        g_tp = np.empty_like(tp)
        g_tp[..., 0] = gu
        g_tp[..., 1] = gv
        g_tp[..., 2] = np.where(front, -(gu * x + gv * y) / z, 0.0)

        # agreement with the metric landmarks (pelvis-relative; the first target is the pelvis)
        e = tp - tp[:1] - self.obs3d
        d3 = np.sqrt(np.einsum("tnc,tnc->tn", e, e))
        h3, dh3 = _huber_grad(d3, 0.1)
        loss3d = float((conf * h3).sum()) / self.conf_sum
        g3 = np.divide((st.weight_3d / self.conf_sum) * conf * dh3, d3, out=np.zeros_like(d3),
                       where=d3 > 0)[..., None] * e
        g_tp += g3
        g_tp[0] -= g3.sum(0)
        g_pts[TARGET_POINTS] = g_tp

        # planted soles (a refit): on the floor, and still in the world (through each frame's
        # camera pose: X_world = R X + t)
        floor = still = 0.0
        if self.contact is not None:
            c = self.contact
            X = pts[_SOLES]  # (4, N, 3) camera frame
            r = np.einsum("nc,knc->kn", c["normal"], X) - c["offset"][None]
            wk = c["weight"].T  # (4, N)
            floor = float((wk * r * r).sum()) / n
            g_s = (2 * st.weight_floor / n) * (wk * r)[..., None] * c["normal"][None]
            P = pts[0]  # the pelvis
            Xw = (np.einsum("nij,knj->kni", c["turn"], X - P[None])
                  + (np.einsum("nij,nj->ni", c["R"], P) + c["t"])[None])
            D = Xw[:, 1:] - Xw[:, :-1]
            cc = c["step"].T  # (4, N - 1)
            still = float((cc[..., None] * D * D).sum()) / n
            gD = (2 * st.weight_planted / n) * cc[..., None] * D
            gXw = np.zeros_like(Xw)
            gXw[:, 1:] += gD
            gXw[:, :-1] -= gD
            g_s += np.einsum("nji,knj->kni", c["turn"], gXw)
            g_pts[_SOLES] += g_s
            g_sum = gXw.sum(0)
            g_pts[0] += (np.einsum("nji,nj->ni", c["R"], g_sum)
                         - np.einsum("nji,nj->ni", c["turn"], g_sum))

        # smoothness: joint and marker accelerations inside each person's frames
        smooth = 0.0
        if n >= 3:
            acc = pts[:, 2:] - 2 * pts[:, 1:-1] + pts[:, :-2]
            per = np.einsum("pnc,pnc->n", acc, acc) / _NUM_POINTS
            norm = max(float(self.inside.sum()), 1.0)
            smooth = float((per * self.inside).sum()) / norm
            ga = (2 * st.weight_smooth / (_NUM_POINTS * norm)) * self.inside[:, None] * acc
            g_pts[:, 2:] += ga
            g_pts[:, 1:-1] -= 2 * ga
            g_pts[:, :-2] += ga

        g_rot, g_trans = self._points_grad(rot, pts, g_pts)

        # pose prior
        prior = float((self.prior_w * np.einsum("jnc,jnc->jn", rot, rot)).mean())
        g_rot += (2 * st.weight_pose_prior / (n * NUM_JOINTS)) * self.prior_w[..., None] * rot

        # soft joint limits: knees and elbows bend one way about one axis and do not twist;
        # knee flexion is +x in the body frame, left elbow flexion -y, right elbow +y
        limits = 0.0
        wl = 2 * st.weight_joint_limits / n
        knee, elbow = rot[_KNEES], rot[_ELBOWS]  # (2, N, 3): left, right
        back = np.maximum(-knee[..., 0], 0.0)
        over = np.maximum(-_ELBOW_FLEX[:, None] * elbow[..., 1], 0.0)
        limits = float((back * back + knee[..., 1] ** 2 + knee[..., 2] ** 2 + over * over
                        + 0.5 * elbow[..., 0] ** 2).sum()) / n
        g_knee = wl * knee
        g_knee[..., 0] = -wl * back
        g_rot[_KNEES] += g_knee
        g_elbow = np.zeros_like(elbow)
        g_elbow[..., 0] = 0.5 * wl * elbow[..., 0]
        g_elbow[..., 1] = -wl * _ELBOW_FLEX[:, None] * over
        g_rot[_ELBOWS] += g_elbow
        ankle = rot[_ANKLES, :, 0]
        toes_down = np.maximum(ankle - _ANKLE_RANGE[1], 0.0)
        toes_up = np.maximum(_ANKLE_RANGE[0] - ankle, 0.0)
        limits += float((toes_down * toes_down + toes_up * toes_up).sum()) / n
        g_rot[_ANKLES, :, 0] += wl * (toes_down - toes_up)

        loss = (st.weight_2d * loss2d + st.weight_3d * loss3d + st.weight_pose_prior * prior
                + st.weight_joint_limits * limits + st.weight_smooth * smooth
                + st.weight_floor * floor + st.weight_planted * still)
        return loss, g_rot, g_trans


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
    start: list | None = None,
    planted: list | None = None,
) -> list[CameraFrameFit]:
    """Fit several people at once: their frames form one batch and one optimisation loop, so the
    cost of a video grows with its person-frames, not with its number of people.

    ``start``: earlier fits (CameraFrameFit, one per person) to start from instead of the analytic
    solution. ``planted``: one :class:`PlantedSoles` per person, for the floor and planted-sole
    terms (``settings.weight_floor``, ``weight_planted``)."""
    settings = settings or FitSettings()
    sizes = [t.points2d.shape[0] for t in targets]
    n = sum(sizes)
    if start is None:
        rot = np.ascontiguousarray(np.concatenate(
            [initial_pose(t, b) for t, b in zip(targets, bone_lengths)]).transpose(1, 0, 2))
        trans = np.concatenate([initial_translation(t, K) for t in targets])
    else:  # from earlier fits (a refit)
        rot = np.ascontiguousarray(np.concatenate(
            [np.concatenate([f.global_orient[:, None], f.body_pose], axis=1) for f in start]
        ).transpose(1, 0, 2))
        trans = np.concatenate([f.transl for f in start])
    frame_bones = np.concatenate([np.repeat(np.asarray(b, dtype=np.float64)[None], k, 0)
                                  for b, k in zip(bone_lengths, sizes)])
    points2d = np.concatenate([t.points2d for t in targets]).astype(np.float64)
    points3d = np.concatenate([t.points3d for t in targets]).astype(np.float64)
    confidence = np.concatenate([t.confidence for t in targets]).astype(np.float64)
    # second differences only inside one person's frames
    starts = np.cumsum([0] + sizes[:-1])
    inside = np.ones(max(n - 2, 0), dtype=bool)
    for s0, k in zip(starts, sizes):
        for edge in (s0 - 2, s0 - 1):
            if 0 <= edge < len(inside):
                inside[edge] = False
    contact = None
    if planted is not None:
        terms = [p.terms() for p in planted]
        contact = {k: np.concatenate([c[k] for c in terms]).astype(np.float64)
                   for k in ("weight", "normal", "offset", "R", "turn", "t")}
        # steps within one person (the last frame of each person links to nobody)
        contact["step"] = np.concatenate([np.r_[c["step"], np.zeros((1, 4))] for c in terms])[:-1]
    objective = _Objective(frame_bones, K, points2d, points3d, confidence, inside, settings,
                           contact)

    # Adam (the update of torch.optim.Adam with its default betas and eps), written out because
    # the gradient is numpy's: a handful of array operations per step
    lr, b1, b2, eps = settings.learning_rate, 0.9, 0.999, 1e-8
    x = np.concatenate([rot.ravel(), trans.ravel()])  # rot and trans are views into it
    rot, trans = x[:rot.size].reshape(rot.shape), x[rot.size:].reshape(trans.shape)
    m1, m2 = np.zeros_like(x), np.zeros_like(x)
    # Adam does not descend monotonically (late steps can climb again), so the iterate with the
    # lowest loss seen is kept rather than the last one
    best_loss, best_x = np.inf, x.copy()
    for step in range(1, settings.iterations + 1):
        loss, g_rot, g_trans = objective(rot, trans)
        if settings.keep_best and loss < best_loss:
            best_loss = loss
            best_x[:] = x
        g = np.concatenate([g_rot.ravel(), g_trans.ravel()])
        m1 *= b1
        m1 += (1 - b1) * g
        m2 *= b2
        m2 += (1 - b2) * g * g
        x -= (lr / (1 - b1 ** step)) * m1 / (np.sqrt(m2) / np.sqrt(1 - b2 ** step) + eps)
    if settings.keep_best and settings.iterations and objective(rot, trans)[0] > best_loss:
        x[:] = best_x

    pts = objective.points(rot, trans).transpose(1, 0, 2)  # (N, P, 3)
    rot = rot.transpose(1, 0, 2)
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
            global_orient=rot[sl, 0].copy(),
            body_pose=rot[sl, 1:].copy(),
            transl=trans[sl].copy(),
            bone_lengths=np.asarray(bones, dtype=np.float64),
            joints=pts[sl, :NUM_JOINTS].copy(),
            markers={name: pts[sl, NUM_JOINTS + m].copy() for m, name in enumerate(POINT_NAMES[NUM_JOINTS:])},
            reprojection_error=reproj[sl],
        ))
    return fits
