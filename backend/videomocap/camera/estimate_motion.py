"""Camera motion from the video's background: static-camera detection, camera rotation, focal length.

Streaming: :class:`CameraMotionEstimator` takes one frame at a time inside the pipeline's decode
loop (the video is decoded once) together with that frame's person boxes, and keeps only small
arrays per frame (the tracked background points), never the frames themselves.

Per frame it tracks corner features (``cv2.goodFeaturesToTrack`` + pyramidal Lucas-Kanade, with a
forward-backward check) on a downscaled grey image, with the people masked out. At the end
(:meth:`CameraMotionEstimator.finish`):

1. Static camera: when the background points barely move over the whole clip (their median
   displacement from a keyframe stays under ``static_px`` pixels) the camera is static and every
   rotation is exactly the identity.
2. Rotation, keyframe by keyframe: each frame is related to the current keyframe through the
   points both still see. A RANSAC homography (OpenCV) picks the inliers; the rotation is then
   fitted directly to their bearing vectors (Kabsch): for a rotating camera ``x_k ~ K R x_f``.
   A new keyframe starts when too few points survive; rotations chain through keyframes, so drift
   grows with the number of keyframes, not of frames.
3. Focal length: a rotation-only homography ``K R K^-1`` pins the focal length down once the
   camera turns by a few degrees (a wrong focal length bends straight pans). When the camera
   turns enough, the focal length that minimises the reprojection error of the rotation fits is
   taken (a 1-D search); otherwise the given ``K`` is kept.

Translation: features alone give it only up to scale, and a camera that slides sideways in front
of a wall looks like one that turns (the homography of a plane), so :meth:`finish` estimates
rotation only (``CameraMotion.translation == "none"``). :func:`add_ground_translation` adds it
afterwards at metric scale from the ground plane that the people's feet give (the camera's height
above it): background points below the horizon are placed on that plane and each frame's rotation
and centre are fitted to them (``translation == "ground-plane"``). It keeps the rotation-only
estimate when the plane does not explain the points (as when the focal length is unknown and the
people's ground is off).

Cost at 640x480 on a 2-core machine: ~2-3 ms per frame while streaming (320-pixel grey image,
200 points, forward-backward Lucas-Kanade), ~2 ms per frame at the end for the rotations and
~4 ms per frame for the ground-plane translation of a moving camera; a static camera stops after
the static test (~0.05 ms per frame).

Conventions: OpenCV camera axes; ``R[f]`` is the rotation from camera ``f`` to the reference camera
(the first frame's): a camera-frame point ``p`` of frame ``f`` is ``R[f] @ p`` in the reference
camera frame (plus ``t[f]``, the camera centre, zero here).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class CameraMotion:
    R: np.ndarray  # (F, 3, 3) reference-camera-from-camera-f rotation (frame 0 = identity)
    t: np.ndarray  # (F, 3) camera centre in the reference camera frame (zeros: not estimated)
    static: bool  # the camera does not move: R is the identity, t zero
    inliers: np.ndarray  # (F,) int: background points supporting each frame's rotation
    confidence: np.ndarray  # (F,) float in [0, 1]
    K: np.ndarray  # (3, 3) intrinsics the rotations are expressed with
    focal_estimated: bool  # K's focal length was measured from the camera's rotation
    translation: str = "none"  # "none": only rotation is estimated
    info: dict = field(default_factory=dict)

    @classmethod
    def identity(cls, n: int, K: np.ndarray) -> "CameraMotion":
        return cls(R=np.repeat(np.eye(3)[None], n, 0), t=np.zeros((n, 3)), static=True,
                   inliers=np.zeros(n, int), confidence=np.ones(n), K=np.asarray(K, float),
                   focal_estimated=False)

    def smoothed(self, fps: float, seconds: float = 0.06) -> "CameraMotion":
        """A copy with the rotations Gaussian-smoothed in time (sigma ``seconds``), the same
        low-pass the body's camera-frame trajectory gets (``temporal.smooth.smooth_fit``), so that
        the camera shake the body keeps and the shake the rotation removes match."""
        import dataclasses

        from ..rotations import axis_angle_to_matrix, matrix_to_axis_angle
        from ..temporal.smooth import smooth_rotations

        if self.static or len(self.R) < 3:
            return self
        from scipy.ndimage import gaussian_filter1d

        R = axis_angle_to_matrix(smooth_rotations(matrix_to_axis_angle(self.R), fps, seconds))
        t = gaussian_filter1d(self.t, max(seconds * fps, 1e-3), axis=0, mode="nearest")
        # frame 0 stays the reference
        return dataclasses.replace(self, R=np.einsum("ji,njk->nik", R[0], R),
                                   t=(t - t[0]) @ R[0])

    def to_reference(self, points: np.ndarray, frames: np.ndarray) -> np.ndarray:
        """Camera-frame points (N, ..., 3) seen on ``frames`` (N,) -> reference camera frame."""
        R = self.R[frames]
        shape = points.shape
        p = points.reshape(len(frames), -1, 3)
        out = np.einsum("nij,nkj->nki", R, p) + self.t[frames][:, None]
        return out.reshape(shape)


def _bearings(xy: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pixels (N, 2) -> unit rays (N, 3) for pinhole intrinsics K."""
    x = (xy[:, 0] - K[0, 2]) / K[0, 0]
    y = (xy[:, 1] - K[1, 2]) / K[1, 1]
    b = np.stack([x, y, np.ones_like(x)], 1)
    return b / np.linalg.norm(b, axis=1, keepdims=True)


def kabsch(a: np.ndarray, b: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """The rotation R minimising sum w |a_i - R b_i|^2 for unit vectors a, b (N, 3)."""
    w = np.ones(len(a)) if w is None else w
    H = (b * w[:, None]).T @ a
    U, _, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(Vt.T @ U.T))
    return Vt.T @ np.diag([1.0, 1.0, d]) @ U.T


def _with_focal(K: np.ndarray, f: float) -> np.ndarray:
    K = np.array(K, float)
    K[0, 0] = K[1, 1] = f
    return K


def _reprojection_px(R: np.ndarray, xk: np.ndarray, xf: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pixel error of mapping frame-f pixels through K R K^-1 onto their keyframe pixels."""
    p = _bearings(xf, K) @ R.T @ K.T
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = p[:, :2] / p[:, 2:3]
    err = np.linalg.norm(uv - xk, axis=1)
    return np.where(p[:, 2] > 1e-6, err, 1e3)


def rotation_from_correspondences(xk: np.ndarray, xf: np.ndarray, K: np.ndarray,
                                  threshold_px: float = 1.5, min_points: int = 8,
                                  inliers: np.ndarray | None = None,
                                  ) -> tuple[np.ndarray, np.ndarray]:
    """Robust rotation R with ``x_k ~ K R K^-1 x_f`` from pixel correspondences (N, 2).

    RANSAC homography (OpenCV) for the inliers, then the rotation fitted to their rays (Kabsch)
    and re-fitted on the points that agree with the rotation itself. ``inliers`` (a mask from an
    earlier call) skips the homography. Returns (R, inlier mask); the identity and an empty mask
    when there are too few points."""
    import cv2

    n = len(xk)
    if n < min_points:
        return np.eye(3), np.zeros(n, bool)
    if inliers is None:
        H, mask = cv2.findHomography(xf.astype(np.float32), xk.astype(np.float32), cv2.RANSAC,
                                     threshold_px, maxIters=500, confidence=0.995)
        inl = mask.ravel().astype(bool) if mask is not None else np.ones(n, bool)
    else:
        inl = np.asarray(inliers, bool)
    if inl.sum() < min_points:
        return np.eye(3), np.zeros(n, bool)
    R = kabsch(_bearings(xk[inl], K), _bearings(xf[inl], K))
    for _ in range(2):
        err = _reprojection_px(R, xk, xf, K)
        agree = err < max(2.0 * threshold_px, np.percentile(err[inl], 90))
        if agree.sum() < min_points:
            break
        inl = agree
        R = kabsch(_bearings(xk[inl], K), _bearings(xf[inl], K))
    return R, inl


def estimate_focal(pairs: list[tuple[np.ndarray, np.ndarray]], K: np.ndarray,
                   lo: float = 0.35, hi: float = 2.5) -> tuple[float, float]:
    """Focal length (pixels) that best explains rotation-only correspondence pairs.

    For each candidate focal length every pair gets its own best rotation (Kabsch on the rays);
    the score is the summed (clipped) pixel reprojection error. A log-spaced scan over
    [lo, hi] x K's focal length, then a golden-section refinement. Returns (focal, score ratio of
    the given focal's error to the best one's: > 1 means the data prefer the estimate)."""
    f0 = float(K[0, 0])

    def cost(f):
        Kf = _with_focal(K, f)
        total = 0.0
        for xk, xf in pairs:
            R = kabsch(_bearings(xk, Kf), _bearings(xf, Kf))
            total += float(np.sum(np.minimum(_reprojection_px(R, xk, xf, Kf), 5.0) ** 2))
        return total

    grid = f0 * np.exp(np.linspace(np.log(lo), np.log(hi), 17))
    costs = [cost(f) for f in grid]
    i = int(np.argmin(costs))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    g = (np.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = cost(c), cost(d)
    for _ in range(12):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = cost(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = cost(d)
    f = (a + b) / 2
    return float(f), float(cost(f0) / max(cost(f), 1e-9))


class CameraMotionEstimator:
    """Incremental background tracker; :meth:`add` per frame, :meth:`finish` once.

    ``K`` is the intrinsics of the full-size frames; ``max_side`` the size the frames are
    downscaled to for tracking (points are stored in full-size pixels)."""

    def __init__(self, width: int, height: int, K: np.ndarray, max_side: int = 320,
                 max_points: int = 200, min_distance: int = 6, person_pad: float = 0.15,
                 estimate_focal_length: bool = True):
        self.width, self.height = int(width), int(height)
        self.K = np.asarray(K, float)
        self.scale = min(1.0, max_side / max(width, height))
        self.size = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        self.max_points = max_points
        self.min_distance = min_distance
        self.person_pad = person_pad
        self.estimate_focal_length = estimate_focal_length
        self._prev = None  # previous grey frame (downscaled)
        self._pts = np.zeros((0, 2), np.float32)  # current tracked points (downscaled pixels)
        self._ids = np.zeros(0, np.int64)
        self._next_id = 0
        self.frames_ids: list[np.ndarray] = []  # per frame: ids of the points seen
        self.frames_xy: list[np.ndarray] = []  # per frame: (n, 2) float32 full-size pixels
        self.seconds = 0.0

    def _mask(self, boxes: np.ndarray) -> np.ndarray:
        w, h = self.size
        mask = np.full((h, w), 255, np.uint8)
        border = 4
        mask[:border], mask[-border:], mask[:, :border], mask[:, -border:] = 0, 0, 0, 0
        for x0, y0, x1, y1 in np.asarray(boxes, float).reshape(-1, 4):
            pw, ph = self.person_pad * (x1 - x0), self.person_pad * (y1 - y0)
            a = np.array([x0 - pw, y0 - ph, x1 + pw, y1 + ph]) * self.scale
            a = np.round(a).astype(int)
            mask[max(a[1], 0):max(min(a[3], h), 0), max(a[0], 0):max(min(a[2], w), 0)] = 0
        return mask

    def add(self, frame_rgb: np.ndarray, person_boxes: np.ndarray | None = None) -> None:
        """One frame (H, W, 3) RGB uint8 and its people's boxes (P, 4) x0, y0, x1, y1 pixels."""
        import time

        import cv2

        t0 = time.perf_counter()
        small = frame_rgb if self.scale == 1.0 else cv2.resize(frame_rgb, self.size,
                                                               interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        mask = self._mask(person_boxes if person_boxes is not None else np.zeros((0, 4)))
        pts, ids = self._pts, self._ids
        if self._prev is not None and len(pts):
            lk = dict(winSize=(15, 15), maxLevel=3,
                      criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
            nxt, st, _ = cv2.calcOpticalFlowPyrLK(self._prev, grey, pts, None, **lk)
            back, st2, _ = cv2.calcOpticalFlowPyrLK(grey, self._prev, nxt, None, **lk)
            ok = (st.ravel() == 1) & (st2.ravel() == 1) \
                & (np.linalg.norm(back - pts, axis=-1).ravel() < 0.5)
            nxt = nxt.reshape(-1, 2)
            inside = (nxt[:, 0] >= 0) & (nxt[:, 1] >= 0) & (nxt[:, 0] < self.size[0] - 1) \
                & (nxt[:, 1] < self.size[1] - 1)
            ok &= inside
            xi = np.clip(nxt[:, 0].astype(int), 0, self.size[0] - 1)
            yi = np.clip(nxt[:, 1].astype(int), 0, self.size[1] - 1)
            ok &= mask[yi, xi] > 0  # points now on a person are no longer background
            pts, ids = nxt[ok].astype(np.float32), ids[ok]
        else:
            pts, ids = np.zeros((0, 2), np.float32), np.zeros(0, np.int64)
        if len(pts) < 0.7 * self.max_points:
            free = mask.copy()
            for x, y in pts:
                cv2.circle(free, (int(x), int(y)), self.min_distance, 0, -1)
            new = cv2.goodFeaturesToTrack(grey, self.max_points - len(pts), 0.01,
                                          self.min_distance, mask=free, blockSize=5)
            if new is not None:
                new = new.reshape(-1, 2).astype(np.float32)
                pts = np.concatenate([pts, new])
                ids = np.concatenate([ids, self._next_id + np.arange(len(new))])
                self._next_id += len(new)
        self._prev, self._pts, self._ids = grey, pts, ids
        self.frames_ids.append(ids.copy())
        self.frames_xy.append(((pts + 0.5) / self.scale - 0.5).astype(np.float32))
        self.seconds += time.perf_counter() - t0

    # ------------------------------------------------------------------ batch part, at the end

    def _common(self, k: int, f: int) -> tuple[np.ndarray, np.ndarray]:
        _, ik, jf = np.intersect1d(self.frames_ids[k], self.frames_ids[f], assume_unique=True,
                                   return_indices=True)
        return self.frames_xy[k][ik].astype(float), self.frames_xy[f][jf].astype(float)

    def finish(self, static_px: float = 0.6, min_points: int = 12,
               min_focal_turn_deg: float = 4.0) -> CameraMotion:
        import time

        t0 = time.perf_counter()
        n = len(self.frames_ids)
        K = self.K
        if n == 0:
            return CameraMotion.identity(0, K)
        # keyframe segments: a new keyframe when fewer than 40 % of its points (or min_points)
        # are still seen
        keys = np.zeros(n, int)
        key = 0
        for f in range(1, n):
            common = len(np.intersect1d(self.frames_ids[key], self.frames_ids[f],
                                        assume_unique=True))
            if common < max(min_points * 3, 0.4 * len(self.frames_ids[key])):
                key = f - 1 if f - 1 > key else f
            keys[f] = key
        pairs = [self._common(keys[f], f) for f in range(n)]
        self._keys = keys
        # 1. static camera: the background never moves by more than static_px from its keyframe
        moves = np.array([np.median(np.linalg.norm(a - b, axis=1)) if len(a) >= min_points
                          else 0.0 for a, b in pairs])
        counts = np.array([len(a) for a, _ in pairs])
        if np.percentile(moves, 98) < static_px:
            motion = CameraMotion.identity(n, K)
            motion.inliers = counts
            motion.info = {"median_motion_px": float(np.median(moves)),
                           "seconds_batch": time.perf_counter() - t0, "seconds_stream": self.seconds}
            return motion
        # 2. inliers of each (keyframe, frame) pair with the given K
        inliers = []
        for (a, b) in pairs:
            _, inl = rotation_from_correspondences(a, b, K, min_points=min_points)
            inliers.append(inl)
        # 3. focal length from the pairs where the camera turned the most
        focal_estimated, focal_gain = False, 1.0
        if self.estimate_focal_length:
            turns = []
            for f, ((a, b), inl) in enumerate(zip(pairs, inliers)):
                if inl.sum() >= min_points:
                    R = kabsch(_bearings(a[inl], K), _bearings(b[inl], K))
                    turns.append((np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))), f))
            big = sorted([t for t in turns if t[0] >= min_focal_turn_deg], reverse=True)[:16]
            if len(big) >= 3:
                rng = np.random.default_rng(0)
                sample = []
                for _, f in big:
                    idx = np.flatnonzero(inliers[f])
                    idx = rng.choice(idx, min(len(idx), 80), replace=False)
                    sample.append((pairs[f][0][idx], pairs[f][1][idx]))
                focal, focal_gain = estimate_focal(sample, K)
                if focal_gain > 1.5:  # the data clearly prefer another focal length
                    K = _with_focal(K, focal)
                    focal_estimated = True
        # 4. rotations, chained through the keyframes
        R_key = {0: np.eye(3)}
        Rs = np.repeat(np.eye(3)[None], n, 0)
        n_inl = np.zeros(n, int)
        for f in range(1, n):
            a, b = pairs[f]
            k = keys[f]
            if k == f:  # nothing in common with the frame before (a cut): start afresh here
                Rs[f] = Rs[f - 1]
                R_key[f] = Rs[f]
                continue
            if k not in R_key:
                R_key[k] = Rs[k]
            R_kf, inl = rotation_from_correspondences(a, b, K, min_points=min_points,
                                                      inliers=inliers[f])
            if inl.sum() < min_points:  # lost the background: keep the previous frame's rotation
                Rs[f] = Rs[f - 1]
            else:
                Rs[f] = R_key[k] @ R_kf
            n_inl[f] = inl.sum()
        n_inl[0] = counts[0]
        conf = np.clip(n_inl / 50.0, 0.0, 1.0)
        return CameraMotion(
            R=Rs, t=np.zeros((n, 3)), static=False, inliers=n_inl, confidence=conf, K=K,
            focal_estimated=focal_estimated, translation="none",
            info={"median_motion_px": float(np.median(moves)), "focal": float(K[0, 0]),
                  "focal_gain": focal_gain, "keyframes": int(len(R_key)),
                  "seconds_batch": time.perf_counter() - t0, "seconds_stream": self.seconds})


def fit_in_reference(fit, motion: CameraMotion, frames: np.ndarray):
    """A camera-frame fit (``body.fit_skeleton.CameraFrameFit``) seen on ``frames`` (indices into
    ``motion``) moved into the reference camera frame: root orientation, translation, joints and
    markers. The body pose and bone lengths do not change."""
    import dataclasses

    from ..rotations import axis_angle_to_matrix, matrix_to_axis_angle

    frames = np.asarray(frames, int)
    if motion.static:
        return fit
    R = motion.R[frames]
    orient = matrix_to_axis_angle(R @ axis_angle_to_matrix(fit.global_orient))
    markers = {name: motion.to_reference(p, frames) for name, p in fit.markers.items()}
    joints = None if fit.joints is None else motion.to_reference(fit.joints, frames)
    return dataclasses.replace(fit, global_orient=orient, transl=motion.to_reference(fit.transl, frames),
                               joints=joints, markers=markers)


def camera_poses(motion: CameraMotion, world_R: np.ndarray, world_t: np.ndarray,
                 first: int, n_video: int) -> tuple[np.ndarray, np.ndarray]:
    """Per source frame (n_video) world-from-camera rotations and camera centres, given the world
    frame found for the reference camera (p_w = world_R p_ref + world_t). Frames outside the
    processed range [first, first + len(motion.R)) take the nearest processed frame's pose."""
    n = len(motion.R)
    idx = np.clip(np.arange(n_video) - first, 0, max(n - 1, 0))
    if n == 0:
        return np.repeat(world_R[None], n_video, 0), np.repeat(world_t[None], n_video, 0)
    R = np.einsum("ij,njk->nik", world_R, motion.R[idx])
    t = motion.t[idx] @ world_R.T + world_t
    return R, t


def _rotvec_matrix(w: np.ndarray) -> np.ndarray:
    from ..rotations import axis_angle_to_matrix

    return axis_angle_to_matrix(np.asarray(w, float)[None])[0]


def _solve_damped(A: np.ndarray, b: np.ndarray, damping: float = 1e-6) -> np.ndarray:
    """The Gauss-Newton step: solve (A + damping * diag(A)) x = b (Levenberg-Marquardt damping,
    which keeps a nearly singular A, e.g. a few ground points almost in a line, from giving an
    infinite step). Returns zeros when A is unusable (a step of zeros ends the iterations)."""
    if not np.all(np.isfinite(A)) or not np.all(np.isfinite(b)):
        return np.zeros(len(b))
    d = np.diag(A)
    damped = A + np.diag(damping * np.maximum(d, 1e-12 * max(float(d.max()), 1e-300)))
    try:
        x = np.linalg.solve(damped, b)
    except np.linalg.LinAlgError:
        return np.zeros(len(b))
    return x if np.all(np.isfinite(x)) else np.zeros(len(b))


def pose_from_ground_points(X: np.ndarray, xf: np.ndarray, K: np.ndarray, R0: np.ndarray,
                            c0: np.ndarray, iterations: int = 10, huber_px: float = 1.0,
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Camera rotation and centre (reference frame) that see the known 3-D points X (N, 3) at the
    pixels xf (N, 2): robust (Huber-weighted) Gauss-Newton from (R0, c0) on the reprojection
    error, with R = R0 exp(d) updated on the right. Returns (R, c, per-point pixel error)."""
    R, c = np.array(R0, float), np.array(c0, float)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]

    def project(R, c):
        q = (X - c) @ R  # R^T (X - c), row-wise
        z = np.maximum(q[:, 2], 1e-6)
        uv = np.stack([fx * q[:, 0] / z + cx, fy * q[:, 1] / z + cy], 1)
        return q, z, uv - xf

    for _ in range(iterations):
        q, z, r = project(R, c)
        err = np.hypot(r[:, 0], r[:, 1])
        w = np.where(err < huber_px, 1.0, huber_px / np.maximum(err, 1e-9))
        w = np.where(q[:, 2] > 1e-3, w, 0.0)  # a point behind the camera says nothing useful
        # d(pixel)/dq (N, 2, 3); dq/d(rotation) = [q]x, dq/dc = -R^T
        dp = np.zeros((len(q), 2, 3))
        dp[:, 0, 0], dp[:, 0, 2] = fx / z, -fx * q[:, 0] / z ** 2
        dp[:, 1, 1], dp[:, 1, 2] = fy / z, -fy * q[:, 1] / z ** 2
        qx = np.zeros((len(q), 3, 3))
        qx[:, 0, 1], qx[:, 0, 2], qx[:, 1, 2] = -q[:, 2], q[:, 1], -q[:, 0]
        qx[:, 1, 0], qx[:, 2, 0], qx[:, 2, 1] = q[:, 2], -q[:, 1], q[:, 0]
        J = np.concatenate([np.einsum("nij,njk->nik", dp, qx),
                            np.einsum("nij,kj->nik", dp, -R.T)], 2).reshape(-1, 6)
        ww = np.repeat(w, 2)
        A = np.einsum("ni,nj->ij", J * ww[:, None], J)
        dx = _solve_damped(A, -np.einsum("ni,n->i", J, ww * r.ravel()))
        R = R @ _rotvec_matrix(dx[:3])
        c = c + dx[3:]
        if np.abs(dx[:3]).max() < 1e-7 and np.abs(dx[3:]).max() < 1e-5:
            break
    _, _, r = project(R, c)
    return R, c, np.hypot(r[:, 0], r[:, 1])


def add_ground_translation(estimator: CameraMotionEstimator, motion: CameraMotion,
                           up: np.ndarray, height: float, min_points: int = 20,
                           max_distance: float = 40.0, lag: int | None = None) -> CameraMotion:
    """Camera centres in metres from the ground seen moving under the camera.

    The people give the ground plane in the reference camera frame (unit ``up`` and the camera's
    ``height`` above the ground, in metres, from their feet). Background points below the
    horizon of a keyframe are intersected with that plane, which fixes their 3-D positions at
    metric scale; each frame's rotation and camera centre are then fitted to where those points
    appear (points off the ground, e.g. walls, are outliers of the robust fit). This is what
    gives the translation its scale: features alone give it only up to an unknown factor.
    Frames without enough ground points keep their rotation and the previous centre.

    ``lag``: where given, each frame is fitted to the frame ``lag`` frames before it (already
    placed) instead of to its keyframe. A camera moving forwards loses the floor its keyframe
    saw (it passes under the camera) long before the keyframe changes, while the points found
    since lie on the floor too; on the bench's dolly shot 25 ground points were left at frame 10
    and 7 at frame 110, too few, and the translation was given up (RTE 17.3 %). With the frame
    0.1 s before as reference: RTE 7.1 %, W-MPJPE100 370 -> 187 mm, foot sliding after the lock
    11.9 -> 6.0 mm; on the pans the rotation-only test still keeps the translation out."""
    if motion.static or len(motion.R) < 2 or not np.isfinite(height) or height <= 0.2:
        return motion
    import dataclasses

    keys = estimator._keys
    n = len(motion.R)
    K = motion.K
    n_up = np.asarray(up, float) / np.linalg.norm(up)
    R = motion.R.copy()
    c = np.zeros((n, 3))
    inliers = motion.inliers.copy()
    used = 0
    err_rotation, err_moved = [], []  # per frame: median pixel error without / with translation
    for f in range(1, n):
        k = keys[f] if lag is None else max(0, f - lag)
        if k == f:  # a keyframe is its own reference: nothing to fit it against
            c[f] = c[f - 1]
            continue
        a, b = estimator._common(k, f)
        rays = _bearings(a, K)
        d = rays @ R[k].T  # keyframe rays in the reference frame
        down = d @ n_up
        ok = down < -np.sin(np.radians(2.0))
        lam = np.where(ok, (-height - c[k] @ n_up) / np.where(ok, down, -1.0), np.inf)
        ok &= lam < max_distance
        if ok.sum() < min_points:
            c[f] = c[f - 1]
            continue
        X = c[k] + lam[ok, None] * d[ok]
        # rotation only (the reference's centre, both frames' rotations as the rotation-only
        # estimate has them): for a camera that only turns, this already explains the points
        # whatever their depth, so a translation must do clearly better
        X0 = c[k] + lam[ok, None] * (rays[ok] @ motion.R[k].T)
        _, _, err0 = pose_from_ground_points(X0, b[ok], K, motion.R[f], c[k], iterations=0)
        Rf, cf, err = pose_from_ground_points(X, b[ok], K, R[f], c[f - 1])
        good = err < 2.0
        if good.sum() < min_points or not np.all(np.isfinite(cf)):
            c[f] = c[f - 1]
            continue
        R[f], c[f] = Rf, cf
        inliers[f] = int(good.sum())
        used += 1
        err_rotation.append(float(np.median(err0)))
        err_moved.append(float(np.median(err[good])))
    if used < 0.5 * (n - 1):
        return motion
    e0, e1 = float(np.median(err_rotation)), float(np.median(err_moved))
    if not (e0 > 1.5 * e1 and e0 - e1 > 0.3):
        return dataclasses.replace(motion, info=dict(motion.info, ground_rejected=[e0, e1]))
    info = dict(motion.info, ground_frames=used, ground_height=float(height),
                ground_error_px=[e0, e1])
    return dataclasses.replace(motion, R=R, t=c, inliers=inliers, translation="ground-plane",
                               info=info)
