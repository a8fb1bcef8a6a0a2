"""Foot-lock math without Blender: contact phases, pinned targets, ramps, poles."""

import numpy as np

from videomocap_addon.core import contact_phases as cp


def _joints(n, drift=0.0):
    """A standing person whose feet drift along x by ``drift`` metres per frame."""
    j = np.zeros((n, 24, 3))
    for side, x in (("left", 0.1), ("right", -0.1)):
        hip, knee, ankle, ball = cp.LEG_JOINTS[side]
        j[:, hip] = (x, 0.0, 0.9)
        j[:, knee] = (x, -0.02, 0.5)
        j[:, ankle] = (x, 0.0, 0.08)
        j[:, ball] = (x, -0.12, 0.02)
        j[:, [ankle, ball], 0] += drift * np.arange(n)[:, None]
    return j


def _contact(n, left_heel=(), left_toe=(), right_heel=(), right_toe=()):
    c = np.zeros((n, 4))
    for ch, spans in enumerate((left_heel, left_toe, right_heel, right_toe)):
        for a, b, *v in spans:
            c[a:b + 1, ch] = v[0] if v else 0.9
    return c


def test_phases_found_with_minimum_duration_and_gaps():
    n = 60
    frames = np.arange(n) + 100
    c = _contact(n, left_heel=[(5, 20), (30, 31)], right_heel=[(10, 50)])
    phases = cp.contact_phases(frames, c, _joints(n), fps=30.0, min_seconds=0.1)
    spans = [(p.side, p.start, p.end, p.point) for p in phases]
    # the 2-frame left contact (30..31) is shorter than 0.1 s = 3 frames: dropped
    assert spans == [("left", 105, 120, "heel"), ("right", 110, 150, "heel")]
    # a gap in the sighting splits a phase
    gapped = np.r_[np.arange(30), np.arange(40, 70)]
    phases = cp.contact_phases(gapped, _contact(60, right_heel=[(10, 50)]), _joints(60), 30.0)
    assert [(p.start, p.end) for p in phases] == [(10, 29), (40, 60)]


def test_hysteresis_keeps_a_flickering_contact_in_one_phase():
    n = 40
    p = np.full(n, 0.0)
    p[5:35] = 0.8
    p[15:18] = 0.42  # dips below 0.5 but not below 0.5 - 0.15
    c = np.zeros((n, 4))
    c[:, 2] = p
    phases = cp.contact_phases(np.arange(n), c, _joints(n), 30.0)
    assert [(x.start, x.end) for x in phases] == [(5, 34)]
    p[15:18] = 0.3  # below the release level: two phases
    c[:, 2] = p
    phases = cp.contact_phases(np.arange(n), c, _joints(n), 30.0)
    assert [(x.start, x.end) for x in phases] == [(5, 14), (18, 34)]


def test_a_dip_too_short_for_a_step_does_not_pin_the_foot_twice():
    """Two frames out of contact (under 0.1 s) cannot be a lift, swing and landing: the run goes
    on with one pin. Where the captured foot moved further than a shuffle across the dip, or the
    dip lasts 0.1 s, the runs stay apart."""
    n = 40
    c = np.zeros((n, 4))
    c[5:35, 2] = 0.8
    c[15:17, 2] = 0.2  # frames 15 and 16
    phases = cp.contact_phases(np.arange(n), c, _joints(n), 30.0)
    assert [(x.start, x.end) for x in phases] == [(5, 34)]
    stepped = _joints(n)
    hip, knee, ankle, ball = cp.LEG_JOINTS["right"]
    stepped[16:, [ankle, ball], 1] += 0.3  # the foot landed 30 cm further on
    phases = cp.contact_phases(np.arange(n), c, stepped, 30.0)
    assert [(x.start, x.end) for x in phases] == [(5, 14), (17, 34)]
    c[15:18, 2] = 0.2  # three frames: 0.1 s
    phases = cp.contact_phases(np.arange(n), c, _joints(n), 30.0)
    assert [(x.start, x.end) for x in phases] == [(5, 14), (18, 34)]
    c[15:18, 2] = 0.8
    c[16, 2] = 0.2  # one frame, but the person was not seen between frames 15 and 16
    gapped = np.r_[np.arange(16), np.arange(20, 44)]
    phases = cp.contact_phases(gapped, c, _joints(n), 30.0)
    assert [(x.start, x.end) for x in phases] == [(5, 15), (21, 38)]


def test_pinned_target_constant_through_a_phase_and_on_the_ground():
    n = 50
    j = _joints(n, drift=0.004)  # the captured foot slides 4 mm per frame
    c = _contact(n, left_heel=[(10, 30)])
    phases = cp.contact_phases(np.arange(n), c, j, 30.0, ground_heights=(0.075, 0.015),
                               max_lift=0.0)
    (ph,) = phases
    assert ph.pinned[2] == 0.075  # captured ankle at 0.08: put on the ground
    target, influence, turn = cp.lock_targets(np.arange(n), j, phases, 30.0, "left")
    inside = slice(ph.first, ph.last + 1)
    assert np.allclose(target[inside], ph.pinned)
    assert np.all(influence[inside] == 1.0)
    assert np.allclose(turn, 0.0)
    # far from the phase the target follows the animated ankle with no influence
    ankle = j[:, cp.LEG_JOINTS["left"][2]]
    assert np.all(influence[:5] == 0) and np.allclose(target[:5], ankle[:5])
    assert np.all(influence[36:] == 0) and np.allclose(target[36:], ankle[36:])
    # the right foot has no contact
    t_r, w_r, _ = cp.lock_targets(np.arange(n), j, phases, 30.0, "right")
    assert np.all(w_r == 0) and np.allclose(t_r, j[:, cp.LEG_JOINTS["right"][2]])


def test_ramps_are_smooth_and_last_the_same_time_at_any_frame_rate():
    for fps in (30.0, 60.0):
        n = int(2 * fps)
        a, b = int(0.5 * fps), int(1.5 * fps)
        c = _contact(n, right_heel=[(a, b)])
        j = _joints(n, drift=0.002)
        phases = cp.contact_phases(np.arange(n), c, j, fps)
        _, w, _ = cp.lock_targets(np.arange(n), j, phases, fps, "right", ramp_seconds=0.2,
                                  max_speed=100.0)
        ramp = int(round(0.2 * fps))
        rising = w[a - ramp - 1:a + 1]
        assert rising[0] == 0 and rising[-1] == 1
        assert np.all(np.diff(rising) > 0)  # monotonic in
        assert np.all(np.diff(w[b:b + ramp + 2]) < 0) and w[b + ramp + 1] == 0  # and out
        assert np.max(np.abs(np.diff(w))) < 2.0 / ramp  # no step


def test_a_foot_landing_late_waits_on_its_pin_while_the_lock_ramps_in():
    """The captured foot still travels 3 cm a frame into the frame its contact is found (a
    landing found late). While the influence ramps in, the target stays on the pin, so the
    evaluated foot blends from the captured ankle onto the pin and is nearly still by the run;
    it used to be the pin's offset carried along with the captured ankle, which kept the foot
    going at the capture's speed right up to the run. The same on the way out."""
    n, a, b = 40, 15, 24
    j = _joints(n)
    hip, knee, ankle, ball = cp.LEG_JOINTS["right"]
    travel = 0.03 * (np.clip(np.arange(n), 0, a) + np.clip(np.arange(n) - b, 0, None))
    j[:, [ankle, ball], 1] += travel[:, None]  # arrives at frame a, leaves after frame b
    c = _contact(n, right_heel=[(a, b)])
    phases = cp.contact_phases(np.arange(n), c, j, 30.0)
    target, w, _ = cp.lock_targets(np.arange(n), j, phases, 30.0, "right", max_speed=100.0)
    before = np.flatnonzero((w > 0) & (np.arange(n) < a))
    after = np.flatnonzero((w > 0) & (np.arange(n) > b))
    assert len(before) >= 3 and len(after) >= 3
    assert np.allclose(target[before], target[a]) and np.allclose(target[after], target[b])
    # the foot Blender evaluates (the captured ankle blended to the target by the influence)
    # comes to rest on the pin before the run: over its last two frames it moves less than half
    # as far as the captured ankle (6 cm)
    foot = j[:, ankle] + w[:, None] * (target - j[:, ankle])
    assert np.abs(np.diff(foot[a - 2:a + 1, 1])).sum() < 0.03


def test_between_two_close_runs_the_target_goes_from_one_pin_to_the_other_without_a_jump():
    """Two runs of one foot 5 frames apart, pinned 20 cm apart: their ramps cover the gap. The
    target goes from the first pin to the second across it, continuous at both runs' edges.
    Blending the two pins by their ramp weights left a quarter of the old pin in the target on
    the frame before the new run, and the foot jumped onto the new pin there."""
    n = 40
    j = _joints(n)
    hip, knee, ankle, ball = cp.LEG_JOINTS["right"]
    j[:, [ankle, ball], 1] += 0.2 * (np.arange(n) >= 17)[:, None]  # a step between the runs
    c = _contact(n, right_heel=[(5, 14), (20, 34)])
    phases = cp.contact_phases(np.arange(n), c, j, 30.0)
    assert [(p.start, p.end) for p in phases] == [(5, 14), (20, 34)]
    target, w, _ = cp.lock_targets(np.arange(n), j, phases, 30.0, "right", max_speed=100.0)
    assert np.allclose(target[5:15], target[14]) and np.allclose(target[20:35], target[20])
    jump = np.linalg.norm(target[20] - target[14])
    assert 0.19 < jump < 0.21
    steps = np.linalg.norm(np.diff(target[14:21], axis=0), axis=1)
    # smoothstep over six frames: the largest step is 0.28 of the way, the edges' small
    assert steps.max() < 0.3 * jump and steps[0] < 0.1 * jump and steps[-1] < 0.1 * jump
    assert np.all(w[15:20] > 0) and np.all(w[15:20] < 1)


def test_a_toe_pinned_early_in_a_run_stays_pinned_while_the_body_moves_out_of_reach():
    """A run on the ball of the foot only, the body (and the captured foot with it) moving on
    2 cm a frame: the leg soon cannot reach the pin. The heel rises about the pinned ball from
    the run's first frame; raising the ankle straight up, as a landing heel is in a run's first
    half, dragged the ball 34 mm off its pin there, and the foot jumped (11 cm in one frame on
    hop-dolly) when the second half's turn about the ball took over."""
    from videomocap_addon.core.shared import rotations

    n = 40
    j = _joints(n)
    hip, knee, ankle, ball = cp.LEG_JOINTS["right"]
    j[:, [hip, knee, ankle, ball], 1] -= 0.02 * np.clip(np.arange(n) - 8, 0, None)[:, None]
    phases = cp.contact_phases(np.arange(n), _contact(n, right_toe=[(5, 34)]), j, 30.0,
                               reach=0.82)
    assert [(p.point, p.start, p.end) for p in phases] == [("toe", 5, 34)]
    target, w, turn = cp.lock_targets(np.arange(n), j, phases, 30.0, "right", reach=0.82)
    foot = np.einsum("nij,nj->ni", rotations.axis_angle_to_matrix(turn), j[:, ball] - j[:, ankle])
    ball_at = target + foot
    assert np.abs(ball_at[5:34] - phases[0].pinned).max() < 0.002
    assert np.linalg.norm(np.diff(target[5:35], axis=0), axis=1).max() < 0.02


def test_heel_to_toe_roll_chains_without_a_jump():
    n = 40
    j = _joints(n, drift=0.003)
    ankle, ball = cp.LEG_JOINTS["left"][2], cp.LEG_JOINTS["left"][3]
    j[20:, ankle, 2] += 0.01 * np.arange(20)  # heel rises about the ball
    c = _contact(n, left_heel=[(5, 19)], left_toe=[(5, 30)])
    phases = cp.contact_phases(np.arange(n), c, j, 30.0)
    assert [(p.point, p.start, p.end, p.chained) for p in phases] == [
        ("flat", 5, 19, False), ("toe", 20, 30, True)]
    target, influence, _ = cp.lock_targets(np.arange(n), j, phases, 30.0, "left")
    offset = target - j[:, ankle]
    # the ball stays where the heel phase's correction put it on the roll; the correction is
    # continuous
    assert np.allclose((j[:, ball] + offset)[19:31], (j[19, ball] + offset[19]), atol=1e-12)
    assert np.max(np.linalg.norm(np.diff(offset[5:31], axis=0), axis=1)) < 0.0031
    assert np.all(influence[5:31] == 1)


def test_a_short_toe_off_stays_a_toe_phase():
    # the heel lifts two frames before the toe leaves the ground: too short for a phase of its
    # own in mid-run, but at the end of the run it is toe-off, and the ankle must rise with the
    # heel rather than stay pinned as the flat phase before it pinned it
    n = 40
    j = _joints(n)
    ankle = cp.LEG_JOINTS["left"][2]
    j[20:, ankle, 2] += 0.02 * np.arange(20)  # the heel rises about the ball
    c = _contact(n, left_heel=[(5, 19)], left_toe=[(5, 21)])
    phases = cp.contact_phases(np.arange(n), c, j, 30.0)
    assert [(p.point, p.start, p.end) for p in phases] == [("flat", 5, 19), ("toe", 20, 21)]
    target, _, _ = cp.lock_targets(np.arange(n), j, phases, 30.0, "left")
    assert target[21, 2] > target[19, 2] + 0.015  # the ankle goes up with the heel
    # in mid-run the same short stretch is still absorbed by its neighbour
    c = _contact(n, left_heel=[(5, 19), (22, 30)], left_toe=[(5, 30)])
    kinds = [p.point for p in cp.contact_phases(np.arange(n), c, j, 30.0)]
    assert kinds == ["flat"]


def test_flat_foot_holds_heel_and_ball_through_the_roll():
    from videomocap_addon.core.shared import rotations

    n = 45
    j = _joints(n, drift=0.002)
    ankle, ball = cp.LEG_JOINTS["left"][2], cp.LEG_JOINTS["left"][3]
    # the captured foot pitches 1 degree a frame about the ankle while flat on the ground
    ang = np.radians(np.arange(n) - 12.0)
    rel = j[0, ball] - j[0, ankle]
    j[:, ball] = j[:, ankle] + np.stack(
        [np.full(n, rel[0]), rel[1] * np.cos(ang) - rel[2] * np.sin(ang),
         rel[1] * np.sin(ang) + rel[2] * np.cos(ang)], axis=1)
    c = _contact(n, left_heel=[(5, 12), (13, 19)], left_toe=[(5, 30)], right_heel=[(5, 12)])
    phases = cp.contact_phases(np.arange(n), c, j, 30.0)
    left = [p for p in phases if p.side == "left"]
    assert [(p.point, p.start, p.end, p.chained) for p in left] == [
        ("flat", 5, 19, False), ("toe", 20, 30, True)]
    assert [p.point for p in phases if p.side == "right"] == ["heel"]
    target, influence, turn = cp.lock_targets(np.arange(n), j, phases, 30.0, "left")
    locked_ball = target + np.einsum("nij,nj->ni", rotations.axis_angle_to_matrix(turn),
                                     j[:, ball] - j[:, ankle])
    # flat: ankle and ball both stay put although the captured foot turns 14 degrees
    assert np.ptp(target[5:20], axis=0).max() < 1e-12
    assert np.ptp(locked_ball[5:20], axis=0).max() < 1e-12
    # toe: the ball stays there while the heel rises about it, and nothing jumps at the roll
    assert np.linalg.norm(locked_ball[20:31] - locked_ball[19], axis=1).max() < 1e-12
    assert np.max(np.linalg.norm(np.diff(target[5:31], axis=0), axis=1)) < 0.0031
    assert np.max(np.linalg.norm(np.diff(turn[5:31], axis=0), axis=1)) < np.radians(1.01)
    assert np.all(influence[5:31] == 1)
    # heel-only: the ankle is pinned, the foot turns as captured (no turn added)
    right = [p for p in phases if p.side == "right"][0]
    t_r, _, turn_r = cp.lock_targets(np.arange(n), j, phases, 30.0, "right")
    assert np.ptp(t_r[right.first:right.last + 1], axis=0).max() < 1e-12
    assert np.allclose(turn_r[right.first:right.last + 1], 0.0)
    assert cp.sliding(np.concatenate([target[:, None]] * 24, axis=1), np.arange(n),
                      left[:1])["frames"] == 2 * 14  # flat phases count both points


def test_unreachable_target_turns_the_foot_about_the_ball_and_never_overextends():
    n = 30
    j = _joints(n)
    hip, knee, ankle, ball = cp.LEG_JOINTS["left"]
    j[:, [hip, knee, ankle, ball], 1] -= 0.02 * np.arange(n)[:, None]  # the captured foot slides
    # along with the body
    phases = cp.contact_phases(np.arange(n), _contact(n, left_toe=[(0, 29)]), j, 30.0)
    reach = 0.4 + 0.43
    target, _, turn = cp.lock_targets(np.arange(n), j, phases, 30.0, "left", reach=reach)
    assert np.all(np.linalg.norm(target - j[:, hip], axis=1) <= cp.REACH * reach + 1e-9)
    moved = np.linalg.norm(turn, axis=1) > 1e-6
    assert moved.any()
    # where turned, the ankle stays a foot's length from the pinned ball
    foot = np.linalg.norm(j[0, ankle] - j[0, ball])
    pin = phases[0].pinned
    reachable = np.linalg.norm(j[:, hip] - pin, axis=1) < cp.REACH * reach + foot
    ok = moved & reachable
    assert ok.any()
    assert np.allclose(np.linalg.norm(target[ok] - pin, axis=1), foot)


def test_landing_out_of_reach_lowers_the_ankle_straight_down_onto_its_pin():
    # the body walks over a planted foot: at the start and at the end of the contact the hip is
    # too far from the pin for the leg. Landing (first half), the ankle is held above its pin
    # and only comes down; leaving (second half), the heel rises about the ball
    n = 30
    j = _joints(n)
    hip, knee, ankle, ball = cp.LEG_JOINTS["left"]
    # the captured foot slides along with the body (the pin is its mean position, under the
    # hip halfway through)
    j[:, [hip, knee, ankle, ball], 1] += np.linspace(0.3, -0.3, n)[:, None]
    phases = cp.contact_phases(np.arange(n), _contact(n, left_heel=[(0, 29)], left_toe=[(0, 29)]),
                               j, 30.0)
    assert [p.point for p in phases if p.side == "left"] == ["flat"]
    pin = phases[0].pinned
    reach = 0.4 + 0.43
    target, influence, turn = cp.lock_targets(np.arange(n), j, phases, 30.0, "left", reach=reach)
    assert np.all(influence == 1.0)
    assert np.all(np.linalg.norm(target - j[:, hip], axis=1) <= cp.REACH * reach + 1e-6)
    early = slice(0, n // 2)
    assert np.allclose(target[early, :2], pin[:2])
    assert target[0, 2] > pin[2] + 0.01  # held up where the leg cannot reach down
    assert np.all(np.diff(target[early, 2]) <= 1e-9)  # and only ever comes down
    assert np.allclose(target[n // 2 - 3:n // 2, 2], pin[2])  # onto the pin
    assert np.allclose(turn[early], 0.0)
    assert np.linalg.norm(turn[-1]) > 0.05  # heel-off


def test_toe_phase_ends_when_the_hip_leaves_the_leg_and_foot_reach():
    # the hip walks on (y decreases) over a foot that stays, with the toe said to be down for
    # a second: the toe phase ends on the last frame the leg (REACH of thigh + shin) and the
    # foot can reach its pin
    n = 30
    j = _joints(n)
    hip, knee, ankle, ball = cp.LEG_JOINTS["left"]
    j[:, [hip, knee], 1] -= 0.02 * np.arange(n)[:, None]
    contact = _contact(n, left_toe=[(0, 29)])
    reach = 0.4 + 0.43
    whole = cp.contact_phases(np.arange(n), contact, j, 30.0)
    cut = cp.contact_phases(np.arange(n), contact, j, 30.0, reach=(reach, reach))
    assert whole[0].last == 29 and cut[0].point == "toe"
    pin, foot = cut[0].pinned, np.linalg.norm(j[0, ankle] - j[0, ball])
    dist = np.linalg.norm(j[:, hip] - pin, axis=1)
    assert dist[cut[0].last] <= cp.REACH * reach + foot < dist[cut[0].last + 1]
    assert 5 < cut[0].last < 29


def test_pole_in_front_of_the_bent_knee():
    j = _joints(3)
    knee = cp.LEG_JOINTS["left"][1]
    j[:, knee, 1] = [-0.1, -0.001, 0.0]  # bent forward (-y), nearly straight, straight
    poles = cp.pole_positions(j, "left", distance=0.5)
    assert np.allclose(np.linalg.norm(poles - j[:, knee], axis=1), 0.5)
    assert np.all(poles[:, 1] - j[:, knee, 1] < -0.3)  # in front (-y), also on a straight leg


def test_a_large_correction_is_released_more_slowly():
    n = 60
    j = _joints(n, drift=0.01)  # 1 cm per frame: the pin ends up far from the animated foot
    phases = cp.contact_phases(np.arange(n), _contact(n, left_heel=[(10, 29)]), j, 30.0)
    _, w, _ = cp.lock_targets(np.arange(n), j, phases, 30.0, "left", ramp_seconds=0.1)
    assert np.count_nonzero((w > 0) & (w < 1)) > 2 * 3  # longer than the two 3-frame ramps


def test_handing_back_a_nearly_straight_pinned_leg_never_snaps_the_knee():
    """The pin holds the leg nearly straight while the captured knee bends more and more; when
    the phase ends and the ramp hands the foot back, the knee bend the target asks for changes
    by at most 6 degrees a frame more than the captured knee's (without the easing: a 20-degree
    step on the first frame after the pin)."""
    n = 60
    j = _joints(n)
    hip, knee, ankle, ball = cp.LEG_JOINTS["left"]
    # a rigid captured leg (thigh 0.40, shin 0.42) whose knee bends 2 degrees a frame from frame 10
    bend_true = np.radians(10.0 + 2.0 * np.clip(np.arange(n) - 10, 0, None))
    j[:, knee] = j[:, hip] + 0.40 * np.stack([np.zeros(n), -np.sin(0.5 * bend_true),
                                              -np.cos(0.5 * bend_true)], 1)
    j[:, ankle] = j[:, knee] + 0.42 * np.stack([np.zeros(n), np.sin(0.5 * bend_true),
                                                -np.cos(0.5 * bend_true)], 1)
    j[:, ball] = j[:, ankle] + (0.0, -0.12, -0.06)
    reach = 0.82
    phases = cp.contact_phases(np.arange(n), _contact(n, left_toe=[(5, 28)]), j, 30.0, reach=[reach, reach])

    def bend(targets):
        thigh = np.linalg.norm(j[0, knee] - j[0, hip])
        shin = np.linalg.norm(j[0, ankle] - j[0, knee])
        return np.degrees(cp._knee_bend(np.linalg.norm(targets - j[:, hip], axis=1), thigh, shin))

    eased, _, _ = cp.lock_targets(np.arange(n), j, phases, 30.0, "left", reach=reach)
    raw, _, _ = cp.lock_targets(np.arange(n), j, phases, 30.0, "left", reach=reach,
                                max_knee_step=None)
    last = max(p.last for p in phases if p.side == "left")
    free = bend(j[:, ankle])
    extra = lambda t: np.abs(np.diff(bend(t)) - np.diff(free))[last:]  # from the phase's end on
    assert extra(raw).max() > 10.0  # what the easing is for
    assert extra(eased).max() <= 6.0 + 1e-6
    inside = np.arange(n) <= last
    np.testing.assert_allclose(eased[inside & (np.arange(n) >= 5)], raw[inside & (np.arange(n) >= 5)])
