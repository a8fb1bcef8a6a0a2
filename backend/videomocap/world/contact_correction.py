"""Contact-driven root trajectory correction (in the spirit of WHAM's trajectory refiner).

A foot in contact with the ground should not move. When the fitted root is noisy (depth from a
single camera is), planted feet slide with it. Here the root absorbs the contact feet's motion:

* per frame step ``t -> t+1`` the contact feet's displacement ``d_t`` is their contact-weighted mean
  step, and ``w_t`` (0..1) how much any of them is in contact;
* the root offset ``o`` (added to the pelvis and to every joint of that frame) is the least-squares
  solution of

      sum_t w_t |o_{t+1} - o_t + d_t|^2            (planted feet stop: the root takes their step)
    + sum_t (1 - w_t) |o_{t+1} - o_t|^2              (otherwise the root keeps its own velocity)
    + smooth  * sum_t |o_{t+1} - 2 o_t + o_{t-1}|^2  (no new jerk where the contact foot changes)
    + anchor  * sum_t |o_t|^2                        (a weak leash: no drift where nothing is planted)
    + ground  * sum_t g_t (z_t + o_t,z)^2            (vertical only: the contact sole rests at z = 0)

  The first two terms alone give WHAM's rollout: the root velocity minus ``w_t`` times the contact
  feet's velocity, integrated; the others keep the result smooth and bounded. The normal equations are banded (width 5), so one ``scipy.linalg.solveh_banded`` per
  axis does it: O(N).
* finally no foot point goes below the floor: a lift envelope (running maximum of the needed lift,
  then a kernel narrower than that window, so the lift is never less than needed) is added to z.

With the camera's position known, the horizontal slide is taken along the camera-to-person ray in
full and only partly across it: monocular depth is the noisy direction, and moving a body along
its ray barely moves it in the picture. On the bench's 10 single-person scenes this (with WHAM's
weighting) left no scene's WA-MPJPE100 worse by more than 2 mm, where the full 3-D rollout, or
least squares without the keep-your-velocity term, traded large gains on the dolly scene for
losses of 10-45 mm on the pans.

One exception along the ray: somebody whose distance from the camera changes over the clip by
half again or more has really walked towards or away from it, and the slow part of that travel is
kept (``_kept_travel``), since the landmark model's legs under such a walker's body would
otherwise take the walk itself out of the path.

Foot motion that is *not* in contact (skating, a swing) has ``w = 0`` and is left alone.
Frames across a gap in ``frame_ids`` are not neighbours: no step term links them.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solveh_banded
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from .ground import breaks_of, runs_of

# foot points in CONTACT_NAMES order -> (heel, toe) per side
_SIDES = ((0, 1), (2, 3))


def _banded_solve(w_step: np.ndarray, diag_extra: np.ndarray, rhs: np.ndarray,
                  smooth: float, breaks: np.ndarray) -> np.ndarray:
    """Solve (D1' W D1 + smooth D2' D2 + diag(diag_extra)) o = rhs, o (N, k).

    D1 is the first difference (one row per step t -> t+1, weight ``w_step``: 1, or 0 across a
    break), D2 the second difference (rows not spanning a break). Upper banded storage for
    solveh_banded (3 x N)."""
    n = len(diag_extra)
    ab = np.zeros((3, n))
    main = ab[2]
    main += diag_extra
    # first differences: row t touches (t, t+1) with weight w_t
    main[:-1] += w_step
    main[1:] += w_step
    ab[1, 1:] -= w_step
    if smooth > 0 and n >= 3:
        # second differences: row centred on t touches (t-1, t, t+1); skip rows spanning a break
        s = np.full(n - 2, float(smooth))
        s[breaks[1:-1] | breaks[2:]] = 0.0
        main[:-2] += s
        main[1:-1] += 4 * s
        main[2:] += s
        ab[1, 1:-1] -= 2 * s  # (t-1, t)
        ab[1, 2:] -= 2 * s  # (t, t+1)
        ab[0, 2:] += s  # (t-1, t+1)
    return solveh_banded(ab, rhs, lower=False, check_finite=False)


def _kept_travel(offset_xy: np.ndarray, rays: np.ndarray, fps: float, breaks: np.ndarray,
                 seconds: float, travel_range: tuple[float, float]) -> np.ndarray:
    """(N, 2) the part of the horizontal offsets to take back: their slow component along the
    camera ray, scaled by how surely the person travelled along it.

    Depth from one camera is noisy from frame to frame, which is why the correction takes the
    planted feet's along-ray slide in full. But a person whose picture height halves over the
    clip has walked away: the landmark model keeps such a walker's legs under the body, so the
    planted feet travel with it, and the correction used to take the walk itself out of the
    path (two-cross-static: 4.3 m walked away from the camera came out as 1.1). How much of
    the slow along-ray offset is undone grows with the range of the smoothed log distance.
    Bench, 12 scenes (only the two crossing scenes have a range over 0.4): W-MPJPE100 258.9 ->
    247.0 mm, WA-MPJPE100 123.6 -> 116.7, RTE 3.73 -> 3.44 %, distance between people 70.9 ->
    64.3 % off, at FS after the foot lock 4.86 -> 5.10 mm (the walker's legs still do not
    stride). Keeping the trend for everybody (range 0) cost lateral walkers more than it gave."""
    r = rays[:, :2]
    dist = np.linalg.norm(r, axis=1)
    u = r / np.maximum(dist, 1e-9)[:, None]
    along = (offset_xy * u).sum(axis=1)
    sigma = max(1.0, seconds * fps)
    slow = np.zeros_like(along)
    log_dist = np.log(np.maximum(dist, 0.1))
    spread = 0.0
    for run in runs_of(breaks):
        slow[run] = gaussian_filter1d(along[run], sigma, mode="nearest")
        trend = gaussian_filter1d(log_dist[run], sigma, mode="nearest")
        spread = max(spread, float(trend.max() - trend.min()))
    lo, hi = travel_range
    keep = float(np.clip((spread - lo) / max(hi - lo, 1e-9), 0.0, 1.0))
    return keep * slow[:, None] * u


def correct_contacts(points: np.ndarray, contact: np.ndarray, fps: float,
                     soles: np.ndarray | None = None, frame_ids: np.ndarray | None = None,
                     smooth: float = 4.0, anchor: float = 1e-5, ground: float = 0.05,
                     floor_seconds: float = 0.5, rays: np.ndarray | None = None,
                     across: float = 0.3, trend_seconds: float = 1.0,
                     travel_range: tuple[float, float] = (0.4, 0.8)) -> np.ndarray:
    """Root offsets (N, 3) that stop planted feet sliding and keep feet above the floor.

    Args:
        points: (N, 4, 3) world contact points in CONTACT_NAMES order, whose motion should stop
            in contact (left heel, left toe, right heel, right toe).
        contact: (N, 4) contact probabilities of those points.
        fps: frames per second (only ``floor_seconds`` uses it; the rest works per frame).
        soles: (N, S, 3) world points that must stay at z >= 0 (the soles); default ``points``.
        frame_ids: (N,) source frame numbers; a jump of more than one starts a new run.
        smooth, anchor, ground: weights of the terms in the module doc (per frame, metres).
        floor_seconds: width of the lift envelope that keeps feet above the floor.
        rays: (N, 3) camera-to-person directions (e.g. pelvis minus camera centre). A single
            camera measures how far away someone is far worse than where they are across the
            picture, so with rays the root takes the planted feet's horizontal slide along the
            ray in full and ``across`` (0..1) of the slide across it; without, all of it.
        trend_seconds, travel_range: with rays, the slow part (a Gaussian of ``trend_seconds``)
            of the root's distance from the camera is kept rather than corrected away: in full
            where that distance changes over the clip by a factor of ``exp(travel_range[1])``
            (2.2) or more, not at all under ``exp(travel_range[0])`` (1.5), in proportion
            between (:func:`_kept_travel`).

    Returns:
        (N, 3) offsets to add to the root translation and to every joint of each frame.
    """
    points = np.asarray(points, dtype=np.float64)
    contact = np.clip(np.asarray(contact, dtype=np.float64), 0.0, 1.0)
    n = len(points)
    soles = points if soles is None else np.asarray(soles, dtype=np.float64)
    if n < 2:
        offset = np.zeros((n, 3))
        if n:
            offset[:, 2] = max(0.0, -float(soles[..., 2].min()))
        return offset
    breaks = breaks_of(frame_ids, n)  # breaks[i]: frame i does not follow frame i-1
    # contact weight of each step: both ends must be in contact
    c_step = np.minimum(contact[:-1], contact[1:])  # (N-1, 4)
    c_step[breaks[1:]] = 0.0
    step = np.diff(points, axis=0)  # (N-1, 4, 3)
    total = c_step.sum(axis=1)
    d = (c_step[..., None] * step).sum(axis=1) / np.maximum(total, 1e-9)[:, None]
    w = np.clip(c_step.max(axis=1), 0.0, 1.0)
    offset = np.zeros((n, 3))
    # horizontal: shared matrix, two right-hand sides
    rhs = np.zeros((n, 3))
    if rays is not None:
        r = np.asarray(rays, dtype=np.float64)[:-1].copy()
        r[:, 2] = 0.0
        r /= np.maximum(np.linalg.norm(r, axis=1, keepdims=True), 1e-9)
        along = (d[:, :2] * r[:, :2]).sum(1, keepdims=True) * r[:, :2]
        d = np.concatenate([along + across * (d[:, :2] - along), d[:, 2:]], axis=1)
    wd = w[:, None] * d
    rhs[:-1] += wd  # from (o_{t+1} - o_t + d_t): d/do_t -> -(...), normal eq. rhs +w d at t
    rhs[1:] -= wd  # at t+1: -w d
    diag = np.full(n, max(float(anchor), 1e-6))  # a tiny leash keeps the system definite
    link = (~breaks[1:]).astype(np.float64)  # w (o'+d)^2 + (1-w) o'^2 = o'^2 + 2 w d o' + const
    offset[:, :2] = _banded_solve(link, diag, rhs[:, :2], smooth, breaks)
    if rays is not None:
        offset[:, :2] -= _kept_travel(offset[:, :2], np.asarray(rays, np.float64), fps, breaks,
                                      trend_seconds, travel_range)
    # vertical: plus the ground term on the lowest contact point of each frame
    g = contact.max(axis=1)
    z_contact = soles[..., 2].min(axis=1)  # the lowest sole point rests on the floor in contact
    diag_z = diag + ground * g
    rhs_z = rhs[:, 2] - ground * g * z_contact
    offset[:, 2] = _banded_solve(link, diag_z, rhs_z[:, None], smooth, breaks)[:, 0]
    # floor: lift whatever still goes below z = 0, smoothly and never less than needed
    low = (soles[..., 2] + offset[:, None, 2]).min(axis=1)
    need = np.maximum(0.0, -low)
    if need.any():
        half = max(1, int(round(floor_seconds * fps / 2)))
        env = maximum_filter1d(need, size=2 * half + 1, mode="nearest")
        x = np.arange(-half, half + 1)
        kernel = np.exp(-0.5 * (x / max(half / 2.0, 0.5)) ** 2)
        kernel /= kernel.sum()
        padded = np.pad(env, half, mode="edge")
        lift = np.convolve(padded, kernel, mode="valid")
        offset[:, 2] += np.maximum(lift, need)  # the max only guards rounding
    return offset


def ground_person(transl: np.ndarray, joints: np.ndarray, soles: np.ndarray, fps: float,
                  frame_ids: np.ndarray, camera_centres: np.ndarray | None = None,
                  keypoints2d: np.ndarray | None = None, contact: np.ndarray | None = None,
                  image_speed: np.ndarray | None = None):
    """Contacts and contact-corrected world motion of one person (the pipeline's world step).

    Args:
        transl: (N, 3) world pelvis; joints: (N, J, 3) world joints; soles: (N, 4, 3) world
            heel/toe sole points (CONTACT_NAMES order); frame_ids: (N,) source frames;
        camera_centres: (N, 3) world camera centre on each of those frames, if known;
        keypoints2d: (N, 33, 3) the person's landmarks, if given: a contact point the picture
            does not show (:func:`..world.ground.foot_visibility`) is not taken as planted.
        contact: (N, 4) contact probabilities to use as they are (the pipeline's second pass,
            after the refit, keeps the first pass's); None finds them.
        image_speed: (N, 4) how fast each contact point moves in the picture, person-heights per
            frame (:func:`..detect.foot_motion.measure_foot_motion`, NaN where unmeasured): when
            given, it decides whether a foot is still where it was measured.

    Returns:
        (transl, joints, contact) with the root offsets applied to pelvis and joints, and
        contact (N, 4) probabilities from :func:`..world.ground.foot_contacts` (computed before
        the correction: the correction stops planted feet, which would only confirm them), or
        the given ones.
    """
    from .ground import foot_contacts, foot_visibility

    rays = None if camera_centres is None else np.asarray(transl) - np.asarray(camera_centres)
    if contact is None:
        contact = foot_contacts(soles, fps, frame_ids, rays=rays, image_speed=image_speed)
        if keypoints2d is not None:  # feet out of the picture are guesses: never planted
            contact = contact * foot_visibility(keypoints2d, fps, frame_ids)
    offset = correct_contacts(soles, contact, fps, frame_ids=frame_ids, rays=rays)
    return transl + offset, joints + offset[:, None], contact
