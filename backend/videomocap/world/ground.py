"""World grounding for a static camera: gravity, the ground plane at z = 0, and foot contacts.

The ground is found where the feet rest. Foot points (heels and toes, on the sole) that are both
the lowest of their frame and slow are ground candidates. How much of the plane they pin down
depends on the motion:

* spread over an area (walking around): the plane's normal is their least-spread direction;
* spread along a line (walking straight): the plane must contain that line, and the body's mean
  "up" (pelvis to neck) fixes the remaining tilt about it;
* bunched in one spot (standing): the body's mean up is the normal.

The world frame is then z = the ground normal, y = the camera's viewing direction laid flat on the
ground (so Blender's front view looks the way the camera looked), origin below the first pelvis
position of the person seen longest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..skeleton import CONTACT_NAMES, JOINT_INDEX


@dataclass
class WorldFrame:
    R: np.ndarray  # (3, 3) world-from-camera rotation
    t: np.ndarray  # (3,) camera centre in world coordinates
    method: str  # "plane", "line+body-up" or "body-up"

    def points(self, p_cam: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3) -> world."""
        return p_cam @ self.R.T + self.t


def foot_points(markers: dict) -> np.ndarray:
    """(N, 4, 3) contact points in CONTACT_NAMES order from a fit's marker dict."""
    return np.stack([markers[name] for name in CONTACT_NAMES], axis=1)


def fit_world_frame(fits: list, fps: float, min_spread: float = 0.3) -> WorldFrame:
    """Estimate the world frame of a static camera from fitted people (camera-frame fits)."""
    ups = []
    candidates = []
    for fit in fits:
        spine = fit.joints[:, JOINT_INDEX["neck"]] - fit.joints[:, 0]
        ups.append(spine / np.maximum(np.linalg.norm(spine, axis=1, keepdims=True), 1e-9))
    up = np.mean(np.concatenate(ups), axis=0)
    up /= max(np.linalg.norm(up), 1e-9)
    for fit in fits:
        feet = foot_points(fit.markers)
        heights = feet @ up
        lowest = np.argmin(heights, axis=1)
        low_pts = feet[np.arange(len(feet)), lowest]
        speed = np.zeros(len(feet))
        if len(feet) > 1:
            speed[1:] = np.linalg.norm(np.diff(low_pts, axis=0), axis=1) * fps
            speed[0] = speed[1]
        slow = speed < np.percentile(speed, 40) + 1e-9
        candidates.append(low_pts[slow])
    cand = np.concatenate(candidates)
    centre = np.median(cand, axis=0)
    cov = np.cov((cand - centre).T) if len(cand) > 3 else np.zeros((3, 3))
    evals, evecs = np.linalg.eigh(cov)  # ascending
    spread = np.sqrt(np.maximum(evals, 0.0))
    if spread[1] > min_spread and abs(evecs[:, 0] @ up) > np.cos(np.radians(35)):
        normal = evecs[:, 0] * np.sign(evecs[:, 0] @ up)
        method = "plane"
    elif spread[2] > min_spread:
        line = evecs[:, 2]
        normal = up - (up @ line) * line
        normal /= np.linalg.norm(normal)
        method = "line+body-up"
    else:
        normal = up
        method = "body-up"
    forward = np.array([0.0, 0.0, 1.0]) - normal[2] * normal
    if np.linalg.norm(forward) < 1e-6:  # camera looking straight down
        forward = np.array([0.0, -1.0, 0.0]) - normal[1] * normal
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, normal)
    R = np.stack([right, forward, normal])  # rows: world axes in camera coordinates
    # Ground height: the median height of the resting foot points.
    ground = float(np.median(cand @ normal))
    longest = max(fits, key=lambda f: len(f.transl))
    origin = R @ longest.transl[0]
    t = np.array([-origin[0], -origin[1], -ground])
    return WorldFrame(R=R, t=t, method=method)


def breaks_of(frame_ids, n: int) -> np.ndarray:
    """(n,) bool: frame i does not follow frame i-1 in ``frame_ids`` (None: all contiguous)."""
    breaks = np.zeros(n, dtype=bool)
    if frame_ids is not None and n:
        breaks[1:] = np.diff(np.asarray(frame_ids)) != 1
    return breaks


def runs_of(breaks: np.ndarray) -> list[slice]:
    """Contiguous runs of frames: ``breaks[i]`` means frame i does not follow frame i-1."""
    starts = np.flatnonzero(np.r_[True, breaks[1:]])
    ends = np.r_[starts[1:], len(breaks)]
    return [slice(a, b) for a, b in zip(starts, ends)]


def _hysteresis_mask(p: np.ndarray, on: float, off: float, min_len: int, min_gap: int) -> np.ndarray:
    """(N,) probabilities -> contact mask: enter at ``on``, leave below ``off``; gaps shorter than
    ``min_gap`` frames are filled, then contact runs shorter than ``min_len`` dropped."""
    state = np.zeros(len(p), dtype=bool)
    inside = False
    for i, v in enumerate(p):
        inside = v >= (off if inside else on)
        state[i] = inside
    for value, shortest in ((False, min_gap), (True, min_len)):
        if shortest <= 1:
            continue
        edges = np.flatnonzero(np.diff(np.r_[-1, state.astype(np.int8), -1]) != 0)
        for a, b in zip(edges[:-1], edges[1:]):
            if state[a] == value and b - a < shortest and (value or (a > 0 and b < len(state))):
                state[a:b] = not value
    return state


#: a foot moving slower than this in the picture (person-heights per second) looks planted
IMAGE_STILL = 0.25
#: how much the picture's stillness counts against the world speed's (see foot_contacts)
IMAGE_MIX = 0.5
#: where the picture shows a foot still, the height step is this much higher (fraction of it)
IMAGE_HEIGHT_GAIN = 0.4


def foot_contacts(feet_world: np.ndarray, fps: float, frame_ids: np.ndarray | None = None,
                  height: float = 0.12, speed: float = 0.7, ground_seconds: float = 1.5,
                  min_seconds: float = 0.1, gap_seconds: float = 0.07,
                  smooth_seconds: float = 0.03, rays: np.ndarray | None = None,
                  along: float = 0.3, image_speed: np.ndarray | None = None,
                  image_still: float = IMAGE_STILL) -> np.ndarray:
    """(N, 4, 3) world foot points (soles, CONTACT_NAMES order) -> (N, 4) contact probabilities.

    Calibrated on the bench's ground-truth contact labels (``bench.ground_truth.contact_labels``;
    10 single-person scenes: foot-frame agreement 75.5 % with the earlier height/speed steps). A
    looser height step (0.2 m, speed 0.6 m/s) agrees more (77.9 %) but lets slow lifted feet count
    as planted, and the Blender foot lock then pins feet it cannot reach (slips up to 5-6 cm on
    the sample capture); 0.12 m / 0.7 m/s keeps the lock sound:

    * speed: each point's world speed in m/s (central differences of the lightly smoothed path,
      within contiguous runs of ``frame_ids``), a soft step at ``speed`` m/s, so the same threshold
      holds at any frame rate. With ``rays`` (N, 3), the camera-to-person directions, only
      ``along`` of the horizontal velocity along the ray counts: one camera measures depth far
      worse than position across the picture, and a planted foot's captured depth wobbles by
      tens of cm/s (on the bench, the along-ray speed of GT-planted feet has a median of
      0.1-0.4 m/s against 0.1-0.4 across, and of swinging feet 0.25-0.7 against 0.5-2.0: depth
      barely tells them apart, the picture does). On the 5 single-person bench scenes of the
      study in issue 7 this raised the frames where the lock covers a GT-still foot from 69 % to
      83 % and cut foot sliding after the lock from 13.4 to 9.9 mm;
    * the picture (``image_speed`` (N, 4), person-heights per frame, NaN where unmeasured:
      :func:`..detect.foot_motion.measure_foot_motion`): where measured, the stillness above is
      averaged (``IMAGE_MIX``) with a soft step at ``image_still`` person-heights per second on
      the foot's speed in the picture. The landmark model lets planted feet drift with the body
      (walking away from the camera: 1.5-4 px a frame where the foot's pixels move 0.1), and the
      fitted depth wobbles; the pixels do neither. On the 12 bench scenes: contacts agreeing
      with the truth 76.5 -> 79.2 %, foot sliding after the lock 7.1 -> 5.3 mm, frames locked
      while the true foot moves 9.6 -> 7.1 %. The picture alone (mix 1) gave 5.8 mm and more
      jitter where the camera moves; at mix 0.5, thresholds 0.2 and 0.3 heights/s gave 5.4
      and 5.1 mm (noise: the same change elsewhere in the stage moves it by 0.3). Where the
      picture shows the foot still, the height step below is raised by ``IMAGE_HEIGHT_GAIN``
      of itself (0.12 -> 0.168 m): the fit often holds a planted foot of a walker seen from
      behind a little up, as the landmarks keep the legs under the body (of the ground truth's
      planted foot-frames that were missed, over half were "too high" while the picture showed
      the foot still). On the bench, FS after the lock: gain 0 6.1 mm, 0.15 5.6, 0.3 5.1, 0.5
      4.6 (knee pop 20.3, over the issue's 20). Phases that begin while the captured heel still
      comes down are why the gain stood at 0.15 for a while: the lock turned the foot about its
      ball there and slid the sample's landing ankle 20 mm in one frame; it now raises the
      ankle straight up instead (``contact_phases.lock_targets``). With that, on the bench:
      gain 0.3 4.64 mm, 0.4 4.52, 0.5 4.37, but at 0.5 a sample phase slid by 38 mm (14 mm
      once a short toe-off became a toe phase of its own, too close to the test's 15);
    * height: above the *local* ground, the low quantile of the person's lowest sole point over
      ``ground_seconds`` (the fitted plane can be off by centimetres when the camera moves), a soft
      step at ``height`` metres;
    * time: the product goes through hysteresis (enter at 0.5, leave below 0.35), gaps shorter than
      ``gap_seconds`` are filled and contacts shorter than ``min_seconds`` dropped; the output keeps
      the soft value but on the mask's side of 0.5.
    """
    from scipy.ndimage import gaussian_filter1d, minimum_filter1d, uniform_filter1d

    feet = np.asarray(feet_world, dtype=np.float64)
    n = len(feet)
    if n == 0:
        return np.zeros((0, 4), np.float32)
    breaks = breaks_of(frame_ids, n)
    vel = np.zeros(feet.shape[:2])
    local_ground = np.zeros(n)
    sigma = max(0.5, smooth_seconds * fps)
    window = max(3, int(round(ground_seconds * fps)) | 1)
    for run in runs_of(breaks):
        seg = feet[run]
        if len(seg) > 1:
            smooth = gaussian_filter1d(seg, sigma, axis=0, mode="nearest")
            v = np.gradient(smooth, axis=0) * fps
            if rays is not None:  # depth is the noisy direction: count ``along`` of it
                r = np.asarray(rays, dtype=np.float64)[run, :2]
                r = r / np.maximum(np.linalg.norm(r, axis=1, keepdims=True), 1e-9)
                a = np.einsum("nkc,nc->nk", v[..., :2], r)
                v[..., :2] -= (1.0 - along) * a[..., None] * r[:, None]
            vel[run] = np.linalg.norm(v, axis=2)
        lowest = seg[..., 2].min(axis=1)
        # a robust low envelope: the minimum of a 5-frame mean (ignores single-frame dips)
        low = minimum_filter1d(uniform_filter1d(lowest, 5, mode="nearest"), window, mode="nearest")
        local_ground[run] = uniform_filter1d(low, window, mode="nearest")
    z = feet[..., 2] - local_ground[:, None]
    p_still = 1.0 / (1.0 + np.exp((vel - speed) / (0.2 * speed)))
    h_eff = np.full(z.shape, float(height))
    if image_speed is not None:
        # the picture's own evidence where it was measured: heights per second
        v_img = np.asarray(image_speed, dtype=np.float64) * fps
        seen = np.isfinite(v_img)
        x = np.clip((np.where(seen, v_img, 0.0) - image_still) / (0.2 * image_still), -50, 50)
        p_img = 1.0 / (1.0 + np.exp(x))  # a fast swing would overflow exp unclipped
        p_still = np.where(seen, IMAGE_MIX * p_img + (1 - IMAGE_MIX) * p_still, p_still)
        h_eff = np.where(seen, height * (1.0 + IMAGE_HEIGHT_GAIN * p_img), height)
    p_low = 1.0 / (1.0 + np.exp(np.clip((z - h_eff) / (0.2 * height), -50, 50)))
    p = p_low * p_still
    min_len = max(1, int(round(min_seconds * fps)))
    min_gap = max(1, int(round(gap_seconds * fps)))
    out = np.empty_like(p)
    for k in range(p.shape[1]):
        mask = np.zeros(n, dtype=bool)
        for run in runs_of(breaks):
            mask[run] = _hysteresis_mask(p[run, k], 0.5, 0.35, min_len, min_gap)
        out[:, k] = np.where(mask, np.maximum(p[:, k], 0.55), np.minimum(p[:, k], 0.45))
    return out.astype(np.float32)


#: MediaPipe landmarks that show each contact point (CONTACT_NAMES order): heel or ankle for a
#: heel, the foot index (the tip of the foot) for a toe
_SEEN_BY = ((29, 27), (31,), (30, 28), (32,))


def foot_visibility(keypoints2d: np.ndarray, fps: float, frame_ids: np.ndarray | None = None,
                    seconds: float = 0.2, unseen: float = 0.1, seen: float = 0.3) -> np.ndarray:
    """(N, 33, 3) landmarks (x, y, confidence) -> (N, 4) in [0, 1]: how surely the picture shows
    each contact point (CONTACT_NAMES order). The landmark model also places feet it cannot see
    (below the frame's edge, behind a wall); a contact there is a guess, and pinning a guessed
    foot gives the body a wrong anchor. The confidence (visibility x presence) is averaged over
    ``seconds`` within contiguous runs of ``frame_ids``, then mapped by a smooth step from
    ``unseen`` (0) to ``seen`` (1). On the bench's renders feet score 0.6-0.99 (mean per point);
    a person framed from the hips up scores about 0.02."""
    from scipy.ndimage import uniform_filter1d

    kp = np.asarray(keypoints2d, dtype=np.float64)
    n = len(kp)
    conf = np.stack([kp[:, list(idx), 2].max(axis=1) for idx in _SEEN_BY], axis=1)
    breaks = breaks_of(frame_ids, n)
    size = max(1, int(round(seconds * fps)))
    for run in runs_of(breaks):
        conf[run] = uniform_filter1d(conf[run], size, axis=0, mode="nearest")
    x = np.clip((conf - unseen) / (seen - unseen), 0.0, 1.0)
    return (x * x * (3.0 - 2.0 * x)).astype(np.float32)
