"""Foot-lock math (bpy-free): contact phases, pinned IK targets, keyed influence, pole positions.

A foot is *in contact* while its heel or toe contact probability says so, with hysteresis (enter at
``threshold``, leave below ``threshold - hysteresis``) and a minimum duration in seconds; a dip
out of contact shorter than that duration, across which the captured foot barely moved, does not
end a run. Inside a contact run the foot is held in one of three ways at a time:

* ``"flat"``: heel and toe are both down, the **ankle joint** is pinned and the foot's direction
  (ankle to ball) is held, so the **ball of the foot** stays put too;
* ``"heel"``: only the heel is down (heel strike), the ankle is pinned and the foot turns about it
  as captured;
* ``"toe"``: only the toe is down (heel rise, toe-off, running), the **ball of the foot** (the
  ``*_foot`` joint, head of the toe bone) is pinned and the foot turns about it as captured.

Each (side, kind) stretch is one :class:`ContactPhase`. The first phase of a run is pinned at the
mean position of its pivot over the phase (height clamped so the foot neither sinks into nor floats
above the ground); a phase that follows another of the same run without a gap is pinned where the
previous correction put its pivot on the previous frame, so the target never jumps at a roll.

The lock moves the animated foot rigidly: a turn ``C(t)`` (world rotation applied on top of the
animated foot's) and the translation that puts the pivot on its pin. ``C`` is the identity in a
run's first heel or toe phase; a flat phase turns the animated foot direction onto the held one,
and the phases after it in the run keep the turn it ended with (so nothing jumps at the roll).
Outside contact runs the target is the animated ankle with influence 0; the influence ramps in
before a run and out after it (smoothstep over ``ramp_seconds``) while the target waits where it
is on the run's edge (the pin) and the turn keeps its value there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .shared import rotations

SIDES = ("left", "right")
#: share of thigh + shin a locked leg may stretch to (a knee held dead straight snaps when freed)
REACH = 0.995
#: farthest (m) the captured foot may move across a contact dip shorter than ``min_seconds`` for
#: the run to go on through it (a real step moves it much further)
SHUFFLE = 0.1
#: joint index (SMPL order) of the hip, knee, ankle and ball of the foot, per side
LEG_JOINTS = {"left": (1, 4, 7, 10), "right": (2, 5, 8, 11)}
#: contact channels (skeleton.CONTACT_NAMES order) of heel and toe, per side
CONTACT_CHANNELS = {"left": (0, 1), "right": (2, 3)}
PIVOT_JOINT = {"heel": 2, "toe": 3, "flat": 2}  # position in LEG_JOINTS
#: phase kind per frame state (heel only, toe only, both)
KINDS = ("heel", "toe", "flat")


@dataclass
class ContactPhase:
    """One foot pinned about one point over source frames ``start..end`` (inclusive)."""

    side: str  # "left" | "right"
    start: int  # first source frame
    end: int  # last source frame (inclusive)
    point: str  # "heel" (ankle pinned) | "toe" (ball pinned) | "flat" (ankle and ball held)
    pinned: np.ndarray = field(repr=False)  # (3,) world position of the pinned point
    first: int = 0  # index of ``start`` in frame_ids
    last: int = 0  # index of ``end`` in frame_ids
    chained: bool = False  # continues the previous phase of the same foot (no ramp between them)
    #: (3, 3) world turn applied on top of the animated foot (heel and toe phases; identity
    #: unless carried over from a flat phase earlier in the run)
    turn: np.ndarray = field(default_factory=lambda: np.eye(3), repr=False)
    #: (3,) unit direction ankle -> ball held through a flat phase (None otherwise)
    held: np.ndarray | None = field(default=None, repr=False)

    @property
    def frames(self) -> int:
        return self.last - self.first + 1


_EYE = np.eye(3)
_EYE.flags.writeable = False


def _hysteresis(p: np.ndarray, on: float, off: float) -> np.ndarray:
    state = np.zeros(len(p), dtype=bool)
    inside = False
    for i, v in enumerate(p):
        inside = v >= on if not inside else v >= off
        state[i] = inside
    return state


def _runs(mask: np.ndarray, breaks: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive index runs where ``mask`` holds, split where ``breaks[i]`` (a gap before i)."""
    runs = []
    start = None
    for i, m in enumerate(mask):
        if start is not None and (not m or breaks[i]):
            runs.append((start, i - 1))
            start = None
        if m and start is None:
            start = i
    if start is not None:
        runs.append((start, len(mask) - 1))
    return runs


def _close_gaps(mask: np.ndarray, breaks: np.ndarray, shorter_than: int, foot: np.ndarray,
                max_move: float) -> np.ndarray:
    """``mask`` with its False stretches of fewer than ``shorter_than`` frames filled in where
    True holds on both sides, no break falls inside (or at the end of) the stretch, and the
    ``foot`` positions (N, 3) on either side are less than ``max_move`` apart."""
    out = mask.copy()
    for s, e in _runs(~mask, np.zeros(len(mask), dtype=bool)):
        if (0 < s and e < len(mask) - 1 and e - s + 1 < shorter_than
                and not breaks[s:e + 2].any()
                and np.linalg.norm(foot[e + 1] - foot[s - 1]) < max_move):
            out[s:e + 1] = True
    return out


def _min_frames(seconds: float, fps: float) -> int:
    return max(1, int(round(seconds * fps)))


def contact_phases(frame_ids, contact, joints, fps: float, threshold: float = 0.5,
                   hysteresis: float = 0.15, min_seconds: float = 0.1,
                   ground_heights=None, max_lift: float = 0.02,
                   reach=None) -> list[ContactPhase]:
    """Contact phases of both feet, sorted by side then time.

    Args:
        frame_ids: (N,) sorted source frames; a jump > 1 ends every phase (nothing is pinned across
            frames where the person was not seen).
        contact: (N, 4) probabilities, left_heel, left_toe, right_heel, right_toe.
        joints: (N, 24, 3) world joint positions (z up, ground at z = 0).
        fps: frames per second (durations are given in seconds).
        threshold, hysteresis: a point enters contact at ``p >= threshold`` and stays in contact
            while ``p >= threshold - hysteresis``.
        min_seconds: contact runs (and pivot stretches inside them) shorter than this are dropped
            (a short pivot stretch is merged into its neighbour).
        ground_heights: (heel, toe) height above the ground of the ankle and of the ball joint when
            the foot stands flat; the first pin of a run is clamped to
            ``[height, height + max_lift]``. None: heights are kept as captured.
        reach: thigh + shin length (one number, or (left, right)). With it, that clamp never
            lowers a pin below the height the animated hip can reach on every frame of the phase
            (``REACH`` of the leg's length, the foot moved rigidly onto the pin).
    """
    frame_ids = np.asarray(frame_ids, dtype=np.int64)
    contact = np.asarray(contact, dtype=np.float64)
    joints = np.asarray(joints, dtype=np.float64)
    n = len(frame_ids)
    if n == 0:
        return []
    breaks = np.zeros(n, dtype=bool)
    breaks[1:] = np.diff(frame_ids) > 1
    on, off = threshold, threshold - hysteresis
    min_len = _min_frames(min_seconds, fps)
    side_reach = dict(zip(SIDES, np.broadcast_to(np.asarray(
        reach if reach is not None else 0.0, dtype=np.float64), (2,))))
    phases: list[ContactPhase] = []
    for side in SIDES:
        heel_ch, toe_ch = CONTACT_CHANNELS[side]
        heel = _hysteresis(contact[:, heel_ch], on, off)
        toe = _hysteresis(contact[:, toe_ch], on, off)
        legs = LEG_JOINTS[side]
        # a foot cannot lift, swing and land again in less than min_seconds: a dip that short,
        # with the captured foot no more than SHUFFLE away on its other side, is the
        # probabilities wavering. Two runs around it pinned the foot twice 5-8 cm apart, and
        # the knee snapped 22 degrees in two frames (two-cross-static, tracks carried on)
        mid_foot = 0.5 * (joints[:, legs[2]] + joints[:, legs[3]])
        down = _close_gaps(heel | toe, breaks, min_len, mid_foot, SHUFFLE)
        for a, b in _runs(down, breaks):
            if b - a + 1 < min_len:
                continue
            # kind per frame: flat while heel and toe are down, else heel or toe; stretches
            # shorter than min_len are absorbed by the stretch before them (or after, for the
            # first one)
            h, t = heel[a:b + 1], toe[a:b + 1]
            pivot = np.where(h & t, 2, np.where(h, 0, 1))
            stretches = _runs(np.ones(b - a + 1, bool), np.r_[False, np.diff(pivot) != 0])
            merged: list[list[int]] = []
            for s, e in stretches:
                # a short last stretch on the toe is toe-off and stays a toe phase: merged into
                # the heel or flat phase before it, it held the ankle down while the captured
                # heel rose (38 mm in one frame on the sample)
                toe_off = e == b - a and pivot[s] == 1
                if merged and not toe_off and (e - s + 1 < min_len
                                               or pivot[s] == pivot[merged[-1][0]]):
                    merged[-1][1] = e
                else:
                    merged.append([s, e])
            if len(merged) > 1 and merged[0][1] - merged[0][0] + 1 < min_len:
                merged[1][0] = merged[0][0]
                merged.pop(0)
            prev = None  # (pin, pivot joint, turn at its end) of the previous phase of the run
            for k, (s, e) in enumerate(merged):
                i0, i1 = a + s, a + e
                point = KINDS[pivot[s]]
                track = joints[i0:i1 + 1, legs[PIVOT_JOINT[point]]]
                turn = _EYE if prev is None else prev[2]
                held = None
                if point == "flat":
                    foot = joints[i0:i1 + 1, legs[3]] - joints[i0:i1 + 1, legs[2]]
                    # chained: as it comes in (no jump); else as it leaves into a toe phase
                    # (the ball pin then is where the capture rolls onto it), else the mean
                    if prev is not None:
                        held = turn @ foot[0]
                    elif k + 1 < len(merged):
                        held = foot[-1]
                    else:
                        held = foot.mean(axis=0)
                    held = held / max(float(np.linalg.norm(held)), 1e-12)
                if prev is None:
                    pin = track.mean(axis=0)
                    if ground_heights is not None:
                        # on the ground, not floating by more than max_lift, but never pulled
                        # down out of the leg's reach: a straight captured leg cannot follow,
                        # and the lock then has to let the heel rise (the ankle slid by up to
                        # 3 cm in heel phases of the sample capture)
                        h = float(ground_heights[0 if point == "heel" else 1])
                        low = float(np.clip(pin[2], h, h + max_lift))
                        if reach is not None:
                            low = max(low, min(pin[2], _lowest_reachable(
                                joints[i0:i1 + 1], legs, track, pin, REACH * side_reach[side])))
                        pin[2] = low
                else:
                    # where the previous phase's correction put this pivot on its last frame,
                    # so the new pivot does not move at the roll
                    pin_prev, joint_prev, turn_prev = prev
                    step = joints[i0 - 1, legs[PIVOT_JOINT[point]]] - joints[i0 - 1, joint_prev]
                    pin = pin_prev + turn_prev @ step
                end_turn = turn if held is None else rotations.rotation_between(foot[-1], held)
                if point == "toe" and reach is not None and k == len(merged) - 1:
                    # toe-off: once the hip is farther from the pinned ball than the leg and
                    # foot can reach, the ball has left the ground; pinned there, it would be
                    # dragged off its pin in one step (21 mm on the sample), so the phase ends
                    # on the last frame the leg reaches and the release ramp takes over
                    i1 = _last_reachable(joints[i0:i1 + 1], legs, pin, REACH * side_reach[side], i0)
                    if i1 < i0:
                        break
                phases.append(ContactPhase(side, int(frame_ids[i0]), int(frame_ids[i1]), point,
                                           pin, i0, i1, chained=k > 0, turn=turn, held=held))
                prev = (pin, legs[PIVOT_JOINT[point]], end_turn)
    return phases


def _last_reachable(joints, legs, pin, limit: float, i0: int) -> int:
    """Index (into the whole clip) of the last frame of a toe phase starting at ``i0`` whose hip
    is within ``limit`` + the foot's length (ankle to ball) of the pinned ball; frames after the
    first one out of reach do not count (``i0 - 1`` if none)."""
    hip, ankle, ball = joints[:, legs[0]], joints[:, legs[2]], joints[:, legs[3]]
    foot = np.linalg.norm(ankle - ball, axis=1)  # the phase's turn does not change the length
    ok = np.linalg.norm(hip - pin[None], axis=1) <= limit + foot
    return i0 - 1 + (len(ok) if ok.all() else int(np.argmin(ok)))


def _lowest_reachable(joints, legs, track, pin, limit: float) -> float:
    """The lowest height of a pin at ``pin``'s x, y that keeps the ankle (the foot moved rigidly
    by ``pin - track``) within ``limit`` of the hip on every frame of ``joints`` (N, 24, 3)."""
    hip, ankle = joints[:, legs[0]], joints[:, legs[2]]
    rel = ankle - track  # ankle relative to the pivot
    dxy = np.linalg.norm(pin[None, :2] + rel[:, :2] - hip[:, :2], axis=1)
    drop = np.sqrt(np.maximum(limit ** 2 - dxy ** 2, 0.0))
    # ankle z = pin z + rel z must be >= hip z - drop
    return float(np.max(hip[:, 2] - drop - rel[:, 2]))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _toe_pivot(ankle, ball, hip, limit):
    """Ankle positions on the sphere of radius |ankle - ball| about the pinned ``ball`` that are
    ``limit`` from the ``hip`` and closest to ``ankle`` (the heel rises about the toe when the
    leg cannot reach), with the rotation (axis-angle) that turns the foot there. Rows the leg
    cannot reach even so, or does reach already, come back unchanged."""
    r = np.linalg.norm(ankle - ball, axis=1)
    to_hip = hip - ball
    dist = np.linalg.norm(to_hip, axis=1)
    need = np.linalg.norm(ankle - hip, axis=1) > limit
    ok = need & (dist < limit + r) & (dist > np.abs(limit - r)) & (dist > 1e-9)
    out = ankle.copy()
    turn = np.zeros_like(ankle)
    far = need & (dist >= limit + r)  # foot in line with the leg: the ball leaves its pin
    if far.any():
        u = to_hip[far] / dist[far, None]
        out[far] = hip[far] - limit[far, None] * u
        turn[far] = rotations.matrix_to_axis_angle(
            rotations.rotation_between(ankle[far] - ball[far], u))
    if not ok.any():
        return out, turn
    u = to_hip[ok] / dist[ok, None]
    a = (dist[ok] ** 2 + r[ok] ** 2 - limit[ok] ** 2) / (2.0 * dist[ok])
    rho = np.sqrt(np.maximum(r[ok] ** 2 - a ** 2, 0.0))
    centre = ball[ok] + a[:, None] * u
    v = ankle[ok] - centre
    v -= np.sum(v * u, axis=1, keepdims=True) * u
    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    out[ok] = centre + rho[:, None] * v
    turn[ok] = rotations.matrix_to_axis_angle(
        rotations.rotation_between(ankle[ok] - ball[ok], out[ok] - ball[ok]))
    return out, turn


def lock_targets(frame_ids, joints, phases: list[ContactPhase], fps: float, side: str,
                 ramp_seconds: float = 0.15, reach: float | None = None,
                 max_speed: float = 0.3, max_knee_step: float | None = 6.0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame IK target of one ankle (N, 3), lock influence (N,) in [0, 1] and foot turn (N, 3).

    Inside a phase the target moves the ankle so the phase's pivot stays on its pin (influence 1),
    and the turn holds a flat foot's direction (so its ball stays put as well).
    Within ``ramp_seconds`` before / after a run of chained phases the influence ramps from 0 to 1 /
    1 to 0 while the target stays where it is on the run's first / last frame (so the foot only
    blends between the captured ankle and the pin) and the turn keeps its value there; where the
    ramps of two runs cover the gap between them, the target goes from the one edge target to the
    other across the gap (smoothstep in time), continuous at both edges. Elsewhere the target is the
    animated ankle and the influence 0. A ramp lasts longer (up to three times) where the
    correction it fades is large, so the foot moves at most about ``max_speed`` m/s on average
    on its way to or from the pin (and the knee never snaps).

    ``reach``: length of thigh + shin. Targets stay within ``0.995 * reach`` of the animated hip
    (or no farther than the animated ankle already is), so the leg never over-extends, and a locked
    knee is never held quite straight (near full extension the knee angle changes fastest with
    the ankle: at 0.999 the sample capture's knee jumped 19.9 degrees in one frame when a toe
    pin was released, at 0.995 15.5): in contact
    the foot turns about its (pinned) ball instead (the heel rises), which the returned turn
    (axis-angle, world frame, to be applied on top of the animated foot rotation) describes;
    in the first half of a run (landing: the captured heel is still coming down) a pinned
    ankle (heel and flat phases) is held straight above its pin instead; elsewhere the target
    is pulled towards the hip.

    ``max_knee_step`` (degrees; None: off): outside the phases, the targets are eased so that the
    knee bend they ask for changes by at most this much more per frame than the captured knee's
    (:func:`_ease_knee`). On the bench the largest knee step the lock adds went 14.0 -> 9.2
    (walk-turn-static), 18.6 -> 15.0 (run-handheld), 13.9 -> 8.8 (three-cross-pan), with foot
    sliding after the lock unchanged (8.54 mm mean); the steps left come inside phases, where a
    toe stays pinned while the hip moves away and the leg straightens to its reach.
    """
    frame_ids = np.asarray(frame_ids, dtype=np.int64)
    joints = np.asarray(joints, dtype=np.float64)
    hip_j, _, ankle_j, ball_j = LEG_JOINTS[side]
    ankle, hip = joints[:, ankle_j], joints[:, hip_j]
    n = len(frame_ids)
    ball_anim = joints[:, ball_j]
    mine = sorted((p for p in phases if p.side == side), key=lambda p: p.first)
    offset = np.zeros((n, 3))
    turn = np.zeros((n, 3))
    turn_m = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
    inside = np.zeros(n, dtype=bool)
    runs: list[list[int]] = []  # [first, last] of chained phases
    for p in mine:
        sl = slice(p.first, p.last + 1)
        foot = ball_anim[sl] - ankle[sl]
        if p.held is not None:  # flat: the foot's direction is held, so the ball stays put
            turn_m[sl] = rotations.rotation_between(foot, np.broadcast_to(p.held, foot.shape))
        else:
            turn_m[sl] = p.turn
        if p.point == "toe":  # the ankle turns about the pinned ball
            locked_ankle = p.pinned[None] - np.einsum("nij,nj->ni", turn_m[sl], foot)
        else:
            locked_ankle = np.broadcast_to(p.pinned, foot.shape)
        offset[sl] = locked_ankle - ankle[sl]
        inside[sl] = True
        if p.chained and runs and runs[-1][1] == p.first - 1:
            runs[-1][1] = p.last
        else:
            runs.append([p.first, p.last])
    if inside.any():
        turn[inside] = rotations.matrix_to_axis_angle(turn_m[inside])
    limit = None
    if reach is not None:
        limit = np.maximum(REACH * reach, np.linalg.norm(ankle - hip, axis=1))
        # in the first half of a run the leg is out of reach because the captured heel is still
        # coming down (landing): the pinned ankle is raised straight up onto the leg's reach,
        # so it only comes down; later a heel that cannot stay down rises about the ball
        # (heel-off), heel phases too. A toe phase has its ball pinned: its heel rises about
        # it early or late (raised straight up, the ball left its pin by 3 cm, and the foot
        # jumped 11 cm in one frame at the run's middle on hop-dolly)
        early = np.zeros(n, dtype=bool)
        for first, last in runs:
            early[first:(first + last + 1) // 2] = True
        for p in mine:
            if p.point == "toe":
                early[p.first:p.last + 1] = False
        land = inside & early
        if land.any():
            locked = ankle[land] + offset[land]
            d = locked - hip[land]
            flat2 = np.sum(d[:, :2] ** 2, axis=1)
            lim = limit[land]
            can = flat2 < lim ** 2
            top = hip[land, 2] - np.sqrt(np.maximum(lim ** 2 - flat2, 0.0))  # lowest reachable
            raise_z = can & (locked[:, 2] < top)
            locked[raise_z, 2] = top[raise_z] + 1e-6
            offset[land] = locked - ankle[land]
        rise = inside & ~early
        if rise.any():
            locked = ankle[rise] + offset[rise]
            ball = locked + np.einsum("nij,nj->ni", turn_m[rise], ball_anim[rise] - ankle[rise])
            moved, extra = _toe_pivot(locked, ball, hip[rise], limit[rise])
            turned = np.linalg.norm(extra, axis=1) > 0
            if turned.any():
                idx = np.flatnonzero(rise)[turned]
                turn[idx] = rotations.matrix_to_axis_angle(
                    rotations.axis_angle_to_matrix(extra[turned]) @ turn_m[idx])
            offset[rise] = moved - ankle[rise]
    ramp = _min_frames(ramp_seconds, fps)
    most = 3 * ramp
    t = frame_ids.astype(np.float64)
    influence = inside.astype(np.float64)
    edge_target = ankle + offset  # where each run's edge holds the ankle (its pin)
    # frames before each run's first frame and after its last that its ramps cover; a large
    # correction is released more slowly: at most max_speed (m/s) on average
    lengths = [[int(min(most, max(ramp, np.ceil(float(np.linalg.norm(offset[e])) * fps
                                                  / max_speed)))) for e in run] for run in runs]
    for k, (first, last) in enumerate(runs):
        for edge, sign, length in ((first, -1, lengths[k][0]), (last, 1, lengths[k][1])):
            lo = np.searchsorted(t, t[edge] - length) if sign < 0 else edge + 1
            hi = edge if sign < 0 else np.searchsorted(t, t[edge] + length, side="right")
            dist = (t[lo:hi] - t[edge]) * sign  # frames within the ramp, outside the run
            w = _smoothstep(1.0 - dist / (length + 1.0))
            # the target waits on the run's edge target (the pin) while the influence ramps: a
            # correction carried along with the captured ankle instead let the foot travel at
            # the capture's speed (about 1 m/s where a landing is found late) right up to the
            # run; bench, FS after the lock 4.55 -> 4.29 mm, worst knee step unchanged
            free = ~inside[lo:hi]
            mine_now = w > influence[lo:hi]
            take = free & mine_now
            offset[lo:hi][take] = edge_target[edge] - ankle[lo:hi][take]
            turn[lo:hi][take] = turn[edge]
            influence[lo:hi] = np.where(free, np.maximum(influence[lo:hi], w), influence[lo:hi])
    # where the release of one run and the approach of the next cover the whole gap between
    # them, the target goes from the one pin to the other across the gap (smoothstep in time), so
    # it is continuous at both runs' edges. Blending the two pins by their ramp weights left a
    # quarter of the old pin in the target on the frame before the new run, and the foot jumped
    # 12 cm onto the new pin (walk-turn-static, before its mislabelled legs were set right)
    for k in range(len(runs) - 1):
        last, first = runs[k][1], runs[k + 1][0]
        if first - last < 2 or t[first] - t[last] - 1 > lengths[k][1] + lengths[k + 1][0]:
            continue
        gap = slice(last + 1, first)
        s = _smoothstep((t[gap] - t[last]) / (t[first] - t[last]))[:, None]
        offset[gap] = edge_target[last] + s * (edge_target[first] - edge_target[last]) - ankle[gap]
        turn[gap] = (1.0 - s) * turn[last] + s * turn[first]
    target = ankle + offset
    if limit is not None:
        v = target - hip
        dist = np.linalg.norm(v, axis=1)
        scale = np.where(dist > limit, limit / np.maximum(dist, 1e-9), 1.0)
        target = hip + v * scale[:, None]
        if max_knee_step is not None:
            target = _ease_knee(target, joints, side, frame_ids, inside, max_knee_step)
    return target, influence, turn


def _knee_bend(dist: np.ndarray, thigh: float, shin: float) -> np.ndarray:
    """Knee flexion (radians, 0 = straight) of a two-bone leg whose hip and ankle are ``dist``
    apart."""
    cos = (thigh * thigh + shin * shin - dist * dist) / (2.0 * thigh * shin)
    return np.pi - np.arccos(np.clip(cos, -1.0, 1.0))


def _ease_knee(target, joints, side: str, frame_ids, inside, max_step_deg: float):
    """Targets outside the contact phases moved along their hip-to-target line so that the knee
    bend they ask for changes from frame to frame by at most ``max_step_deg`` more than the
    captured knee's does. Near full extension a centimetre of target distance is many degrees of
    knee (at 0.995 of the leg's reach, 2 cm is about 17 degrees), so the hand-over from a pin
    back to the captured foot would otherwise snap the knee in one frame. Phase frames keep their
    targets (the pins); the easing runs forwards and then backwards from them."""
    hip_j, knee_j, ankle_j, _ = LEG_JOINTS[side]
    hip, knee, ankle = joints[:, hip_j], joints[:, knee_j], joints[:, ankle_j]
    thigh = float(np.median(np.linalg.norm(knee - hip, axis=1)))
    shin = float(np.median(np.linalg.norm(ankle - knee, axis=1)))
    v = target - hip
    dist = np.maximum(np.linalg.norm(v, axis=1), 1e-9)
    want = _knee_bend(dist, thigh, shin)
    free = _knee_bend(np.linalg.norm(ankle - hip, axis=1), thigh, shin)
    cap = float(np.radians(max_step_deg))
    # a sequential pass (each frame's limit depends on the one before): plain floats, not numpy
    # scalars, keep it at well under a microsecond a frame
    bend_l, free_l, inside_l = want.tolist(), free.tolist(), np.asarray(inside).tolist()
    follows = np.r_[False, np.diff(np.asarray(frame_ids)) == 1].tolist()  # k follows k-1
    for order in (range(1, len(bend_l)), range(len(bend_l) - 2, -1, -1)):
        for k in order:
            j = k - 1 if order.step == 1 else k + 1
            if inside_l[k] or not follows[max(k, j)]:
                continue
            mid = bend_l[j] + free_l[k] - free_l[j]
            bend_l[k] = min(max(bend_l[k], mid - cap), mid + cap)
    bend = np.array(bend_l)
    changed = ~inside & (np.abs(bend - want) > 1e-9)
    if not changed.any():
        return target
    # back from the bend to a hip-to-target distance, on the same line
    d = np.sqrt(np.maximum(thigh * thigh + shin * shin + 2.0 * thigh * shin * np.cos(bend), 0.0))
    out = target.copy()
    out[changed] = hip[changed] + v[changed] * (d[changed] / dist[changed])[:, None]
    return out


def pole_positions(joints, side: str, distance: float = 0.5, straight: float = 0.005) -> np.ndarray:
    """(N, 3) IK pole targets ``distance`` in front of the knee, in the plane the captured leg
    bends in, so the solved knee bends the way the captured one does.

    The bend direction is the knee's offset from the hip-ankle line; on a (nearly) straight leg,
    where that offset vanishes, the direction of the toes takes over smoothly (``straight``: the
    offset in metres at which both weigh the same).
    """
    joints = np.asarray(joints, dtype=np.float64)
    hip_j, knee_j, ankle_j, ball_j = LEG_JOINTS[side]
    hip, knee, ankle, ball = (joints[:, j] for j in (hip_j, knee_j, ankle_j, ball_j))
    axis = ankle - hip
    axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-9)

    def perp(v):
        return v - np.sum(v * axis, axis=1, keepdims=True) * axis

    bend = perp(knee - hip)
    toes = perp(ball - ankle)
    toes /= np.maximum(np.linalg.norm(toes, axis=1, keepdims=True), 1e-9)
    direction = bend + straight * toes
    direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-9)
    return knee + distance * direction


def sliding(points, frame_ids, phases: list[ContactPhase], side: str | None = None) -> dict:
    """Pinned-point motion during contact (mm per frame): for every phase the pivot's displacement
    between consecutive frames of the phase (flat phases: of the ankle and of the ball). ``points``: (N, 24, 3) joints (animated or evaluated).

    Returns ``{"mean": ..., "max": ..., "frames": ...}`` over all phases (of ``side`` if given).
    """
    points = np.asarray(points, dtype=np.float64)
    steps = []
    for p in phases:
        if side is not None and p.side != side:
            continue
        held = (2, 3) if p.point == "flat" else (PIVOT_JOINT[p.point],)
        for k in held:  # a flat foot holds both the ankle and the ball
            track = points[p.first:p.last + 1, LEG_JOINTS[p.side][k]]
            steps.append(np.linalg.norm(np.diff(track, axis=0), axis=1))
    steps = np.concatenate(steps) if steps else np.zeros(0)
    if not len(steps):
        return {"mean": float("nan"), "max": float("nan"), "frames": 0}
    return {"mean": float(steps.mean() * 1000), "max": float(steps.max() * 1000),
            "frames": int(len(steps))}
