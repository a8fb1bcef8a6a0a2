"""Metrics of DESIGN section 6 on small cases computed by hand."""

import numpy as np
import pytest

from videomocap.bench import metrics as m
from videomocap.rotations import axis_angle_to_matrix


def test_mpjpe_ignores_a_common_offset_and_counts_millimetres():
    gt = np.zeros((2, 3, 3))
    gt[:, 1] = [1, 0, 0]
    gt[:, 2] = [0, 1, 0]
    pred = gt + [5, 5, 5]  # same pose elsewhere
    pred[:, 2, 2] += 0.03  # one joint 3 cm off
    assert m.mpjpe(pred, gt) == pytest.approx(10.0)  # (0 + 0 + 30) / 3 mm


def test_pa_mpjpe_removes_rotation_and_scale():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(4, 10, 3))
    r = axis_angle_to_matrix(np.array([0.3, -1.0, 0.5]))
    pred = 2.0 * gt @ r.T + [1, 2, 3]
    assert m.pa_mpjpe(pred, gt) == pytest.approx(0.0, abs=1e-6)
    assert m.mpjpe(pred, gt) > 100


def test_accel_error_and_jitter_by_hand():
    fps = 10.0
    t = np.arange(6, dtype=float)
    gt = np.zeros((6, 1, 3))
    gt[:, 0, 0] = t  # constant velocity: no acceleration
    pred = gt.copy()
    pred[:, 0, 0] = 0.5 * t ** 2  # constant acceleration 1 m/frame^2
    assert m.accel_error(pred, gt, fps) == pytest.approx(1.0 * fps ** 2)
    # third difference of t^3/6 is 1 m/frame^3
    cubic = np.zeros((6, 1, 3))
    cubic[:, 0, 1] = t ** 3 / 6
    assert m.jitter(cubic, fps) == pytest.approx(fps ** 3 / 10)
    assert m.jitter(gt, fps) == pytest.approx(0.0)


def test_world_metrics_wa_versus_w():
    rng = np.random.default_rng(1)
    gt = rng.normal(size=(150, 5, 3))
    pred = 1.5 * gt + [0, 0, 2]  # a similarity of the truth: both metrics are zero
    assert m.wa_mpjpe(pred, gt) == pytest.approx(0.0, abs=1e-6)
    assert m.w_mpjpe(pred, gt) == pytest.approx(0.0, abs=1e-6)
    drift = pred.copy()
    drift[:, :, 0] += np.linspace(0, 1.0, 150)[:, None]  # drifting 1 m over the clip
    assert m.w_mpjpe(drift, gt) > m.wa_mpjpe(drift, gt) > 10


def test_rte_is_percent_of_path_length():
    gt = np.zeros((11, 3))
    gt[:, 0] = np.linspace(0, 10, 11)  # 10 m straight
    pred = gt.copy()
    pred[:, 1] = 0.2  # a constant 20 cm offset is removed by the rigid alignment
    assert m.rte(pred, gt) == pytest.approx(0.0, abs=1e-9)
    pred = gt.copy()
    pred[:, 0] *= 1.1  # 10 % too long: mean error after centring is 0.1 * mean |x - 5| = 0.2727 m
    expected = 100 * 0.1 * np.abs(gt[:, 0] - 5).mean() / 10
    assert m.rte(pred, gt) == pytest.approx(expected, rel=1e-6)


def test_foot_sliding_only_where_the_true_foot_is_still():
    gt = np.zeros((5, 1, 3))
    gt[3:, 0, 0] = [0.5, 1.0]  # still for frames 0-2, then moving
    pred = gt.copy()
    pred[:3, 0, 0] = [0.0, 0.002, 0.004]  # sliding 2 mm per frame while planted
    assert m.foot_sliding(pred, gt) == pytest.approx(2.0)


def test_ground_contact_is_low_for_each_point_and_still():
    fps = 30.0
    t = np.arange(60)
    pts = np.zeros((60, 2, 3))
    # point 0 plants at 8 cm for frames 0-29, then swings up and forward
    pts[:, 0, 2] = np.where(t < 30, 0.08, 0.08 + 0.2 * np.sin(np.pi * (t - 29) / 31))
    pts[:, 0, 0] = np.where(t < 30, 0.0, 0.04 * (t - 29))
    # point 1 never comes near 0 (a toe 6 cm up at its lowest) and hangs still high up too
    pts[:, 1, 2] = np.where(t < 30, 0.06, 0.30)
    c = m.ground_contact(pts, fps)
    assert c[:30, 0].all() and not c[31:, 0].any()
    assert c[:30, 1].all()  # low for itself: in contact although 6 cm up
    assert not c[31:, 1].any()  # still, but 24 cm above its low: not in contact
    pred = pts.copy()
    pred[:30, :, 1] += 0.003 * t[:30, None]  # both points slide 3 mm/frame while planted
    assert m.foot_sliding(pred, pts, fps) == pytest.approx(3.0)
    assert m.foot_sliding(pts, pts, fps) == pytest.approx(0.0)
    # the old "still" rule counted the toe hanging still 30 cm up as well
    assert m.foot_sliding_still(pred, pts) == pytest.approx(2.0)  # (29 + 29) * 3 mm / 87 steps


def test_tracking_scores_count_switches_and_misses():
    box_a = np.array([[0, 0, 10, 10]], float)
    box_b = np.array([[50, 0, 60, 10]], float)
    gt = {f: (np.array([1, 2]), np.concatenate([box_a, box_b])) for f in range(4)}
    pred = {
        0: (np.array([7, 8]), np.concatenate([box_a, box_b])),
        1: (np.array([7, 8]), np.concatenate([box_a, box_b])),
        2: (np.array([9, 8]), np.concatenate([box_a, box_b])),  # person 1 gets a new id
        3: (np.array([8]), box_b),  # person 1 missed
    }
    s = m.tracking_scores(gt, pred)
    assert s["IDSW"] == 1
    assert s["FN"] == 1 and s["FP"] == 0
    assert s["MOTA"] == pytest.approx(1 - 2 / 8)
    # IDF1: id 7 <-> 1 (2 frames), 8 <-> 2 (4 frames); 9 unmatched
    assert s["IDF1"] == pytest.approx(2 * 6 / (8 + 7))


def test_jitter_and_accel_do_not_bridge_a_track_gap():
    fps = 30.0
    # two smooth runs (constant velocity), the second 2 m away after a 10-frame gap
    frames = np.r_[np.arange(0, 20), np.arange(30, 50)]
    pts = np.zeros((40, 1, 3))
    pts[:, 0, 0] = 0.01 * frames + np.where(frames >= 30, 2.0, 0.0)
    assert m.jitter(pts, fps, frames) == pytest.approx(0.0, abs=1e-9)
    assert m.accel_error(pts, np.zeros_like(pts), fps, frames) == pytest.approx(0.0, abs=1e-9)
    # without the frame numbers the jump counts as motion between neighbours
    assert m.jitter(pts, fps) > 100
    # a run of three frames has no third difference: it adds nothing, breaks nothing
    assert m.jitter(pts[:23], fps, frames[:23]) == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(m.jitter(pts[:3], fps, frames[:3]))


def test_foot_sliding_skips_steps_across_a_gap():
    frames = np.array([0, 1, 2, 10, 11])
    gt = np.zeros((5, 1, 3))
    pred = np.zeros((5, 1, 3))
    pred[3:, 0, 0] = 1.0  # the person reappears 1 m away: not a slide
    pred[4, 0, 0] += 0.002
    # steps 0-1, 1-2 and 10-11 count: (0 + 0 + 2 mm) / 3
    assert m.foot_sliding(pred, gt, frames=frames) == pytest.approx(2.0 / 3)
    assert m.foot_sliding(pred, gt) > 200


def test_pair_distance_error_is_relative_and_ignores_height_and_rigid_moves():
    n = 10
    a = np.zeros((n, 3))
    b = np.zeros((n, 3))
    b[:, 0] = 2.0
    pa = a + [5.0, -3.0, 0.3]  # elsewhere, a different height: distance unchanged
    pb = b * 1.05 + [5.0, -3.0, 0.0]  # 5 % too far apart
    pb[:5, 0] = 5.0 + 2.0 * 1.2  # half the frames 20 % too far apart
    err, ok = m.pair_distance_error(pa, pb, a, b)
    assert err == pytest.approx((5 * 5 + 5 * 20) / 10)
    assert ok == pytest.approx(50.0)


def test_knee_flexion_and_the_pop_the_lock_adds():
    n = 10
    bend = np.linspace(0.0, 90.0, n)  # the capture's own knee bends 10 degrees a frame
    t = np.radians(bend)
    hip = np.zeros((n, 3))
    knee = np.tile([0.0, 0.0, -0.4], (n, 1))
    ankle = knee + 0.4 * np.stack([np.sin(t), np.zeros(n), -np.cos(t)], axis=1)
    assert np.allclose(m.knee_flexion(hip, knee, ankle), bend, atol=1e-6)
    free = np.stack([hip, knee, ankle], axis=1)
    legs = [(0, 1, 2)]
    assert m.knee_pop(free, free, legs) == pytest.approx(0.0, abs=1e-6)
    locked = free.copy()  # the lock straightens the knee on frame 5 only: 50 -> 20 degrees
    s = np.radians(20.0)
    locked[5, 2] = knee[5] + 0.4 * np.array([np.sin(s), 0.0, -np.cos(s)])
    # steps 4->5 (-20) and 5->6 (+40) differ from the capture's (+10) by 30 degrees
    assert m.knee_pop(locked, free, legs) == pytest.approx(30.0, abs=1e-4)
    # frames 4 and 5 not neighbours (a track gap): only the step 5->6 is counted, as big
    gap = np.array([0, 1, 2, 3, 4, 15, 16, 17, 18, 19])
    assert m.knee_pop(locked, free, legs, gap) == pytest.approx(30.0, abs=1e-4)


def test_overlay_error_sees_depth_that_mpjpe_forgives():
    """A body moved along the camera ray (farther and so smaller in the picture) keeps its MPJPE
    at 0 after pelvis alignment but no longer lines up with the picture; moved 10 cm across at
    5 m (about 10 px through a 500 px lens) it is off by about 10 px over its picture height."""
    rng = np.random.default_rng(0)
    true = rng.normal(scale=0.05, size=(5, 17, 3))
    true[..., 1] += np.linspace(-0.9, 0.9, 17)  # a column 1.8 m tall
    true[..., 2] += 5.0
    K = np.repeat(np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])[None], 5, axis=0)
    assert m.overlay_error(true, K, true, K) == 0.0
    uv = true @ K[0].T
    height = np.ptp(uv[..., 1] / uv[..., 2], axis=1).mean()  # about 180 px
    across = m.overlay_error(true + np.array([0.1, 0.0, 0.0]), K, true, K)
    assert across == pytest.approx(100.0 * 10.0 / height, rel=0.05)
    farther = true + true[:, :1] * 0.2  # 20 % farther along the pelvis ray
    assert m.mpjpe(farther, true) < 1e-9
    assert m.overlay_error(farther, K, true, K) > 3.0


def test_a_track_carried_through_an_occlusion_is_not_a_false_positive():
    """Two people; the second is hidden (visible 0.1) on frames 3-5. A capture that keeps a box
    on him there is scored as one that does not: those frames ask nothing either way. A box
    where nobody is remains a false positive."""
    import types

    from videomocap.bench.run import BODY_MARGINS, tracking_of_scene

    n = 8
    boxes = np.zeros((n, 2, 4))
    boxes[:, 0] = [100, 100, 140, 200]
    boxes[:, 1] = [300, 100, 340, 200]
    visible = np.ones((n, 2))
    visible[3:6, 1] = 0.1
    gt = {"boxes": boxes, "visible": visible, "person_ids": np.array([0, 1])}

    def person(pid, box, frames):
        # landmarks whose body box (with the bench's margins) is the given box
        x0, y0, x1, y1 = box
        h = (y1 - y0) / (1 + BODY_MARGINS[1] + BODY_MARGINS[3])
        lo = np.array([x0 + BODY_MARGINS[0] * h, y0 + BODY_MARGINS[1] * h])
        hi = np.array([x1 - BODY_MARGINS[2] * h, lo[1] + h])
        kp = np.zeros((len(frames), 33, 3))
        kp[:, :, :2] = np.linspace(lo, hi, 33)
        kp[:, :, 2] = 0.9
        return types.SimpleNamespace(person_id=pid, frame_ids=np.array(frames), keypoints2d=kp)

    seen_only = [person(1, boxes[0, 0], range(n)), person(2, boxes[0, 1], [0, 1, 2, 6, 7])]
    carried = [person(1, boxes[0, 0], range(n)), person(2, boxes[0, 1], range(n))]
    a = tracking_of_scene(types.SimpleNamespace(people=seen_only), gt)
    b = tracking_of_scene(types.SimpleNamespace(people=carried), gt)
    assert a == b and a["FP"] == 0 and a["FN"] == 0 and a["IDF1"] == pytest.approx(1.0)
    ghost = carried + [person(3, [500, 100, 540, 200], [4])]
    assert tracking_of_scene(types.SimpleNamespace(people=ghost), gt)["FP"] == 1


def test_a_person_box_holds_the_captured_body_where_the_landmarks_collapse():
    """The bench's box of a captured person covers both their confident landmarks and their
    fitted body seen through the capture's camera: a side-on walker whose landmarks put both
    legs on one line still gets a box as wide as the body's stride."""
    import types

    from videomocap.bench.ground_truth import JOINT_NAMES
    from videomocap.bench.run import BODY_MARGINS, JOINT_MARGINS, _person_boxes
    from videomocap.skeleton import JOINT_INDEX

    f = 500.0
    K = np.array([[f, 0, 320], [0, f, 240], [0, 0, 1.0]])
    cam_R = np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]])  # world-from-camera: x right, y down = -z, looks along +y
    motion = types.SimpleNamespace(K=K[None], cam_R=cam_R[None], cam_t=np.zeros((1, 3)))
    joints = np.zeros((1, 24, 3))
    joints[0, :, 1] = 5.0  # 5 m in front
    joints[0, :, 2] = 1.0
    joints[0, JOINT_INDEX["head"], 2] = 1.7
    for side, x in (("left", -0.4), ("right", 0.4)):  # a wide stride across the picture
        joints[0, JOINT_INDEX[f"{side}_ankle"], [0, 2]] = [x, 0.1]
        joints[0, JOINT_INDEX[f"{side}_foot"], [0, 2]] = [x, 0.05]
    kp = np.zeros((1, 33, 3))
    kp[0, :, 0] = 320 + np.linspace(-2, 2, 33)  # landmarks collapsed onto one line
    kp[0, :, 1] = np.linspace(240 - 0.7 * f / 5, 240 + 0.95 * f / 5, 33)
    kp[0, :, 2] = 0.9
    person = types.SimpleNamespace(frame_ids=np.array([0]), keypoints2d=kp, joints=joints)

    alone = _person_boxes(person)[0]
    box = _person_boxes(person, motion)[0]
    lm_height = kp[0, :, 1].ptp()
    assert alone[2] - alone[0] == pytest.approx(4 + (BODY_MARGINS[0] + BODY_MARGINS[2])
                                                * lm_height)
    body = joints[0, [JOINT_INDEX[n] for n in JOINT_NAMES]]
    u = 320 + f * body[:, 0] / body[:, 1]
    v = 240 - f * body[:, 2] / body[:, 1]
    span = v.max() - v.min()
    assert box[0] == pytest.approx(u.min() - JOINT_MARGINS[0] * span)
    assert box[2] == pytest.approx(u.max() + JOINT_MARGINS[2] * span)
    assert box[2] - box[0] > 3 * (alone[2] - alone[0])
    # the top still comes from the landmarks where they reach higher than the body's margins
    assert box[1] == pytest.approx(min(alone[1], v.min() - JOINT_MARGINS[1] * span))


def test_pa_depth_share_finds_error_along_the_line_of_sight():
    from videomocap.bench.metrics import pa_depth_share

    rng = np.random.default_rng(3)
    true = rng.normal(size=(20, 17, 3)) * 0.3 + [0, 0, 4.0]
    along = true.copy()
    along[..., 2] += rng.normal(size=(20, 17)) * 0.05  # limbs misplaced in depth only
    across = true.copy()
    across[..., 0] += rng.normal(size=(20, 17)) * 0.05
    even = true + rng.normal(size=true.shape) * 0.05
    assert pa_depth_share(along, true) > 85
    assert pa_depth_share(across, true) < 15
    assert 20 < pa_depth_share(even, true) < 45


def test_motion_kept_is_under_100_for_smoothed_motion_and_100_for_the_truth():
    from scipy.ndimage import gaussian_filter1d

    from videomocap.bench.metrics import motion_kept

    t = np.arange(120) / 30.0
    true = np.zeros((120, 3, 3))
    true[:, 1, 2] = 0.3 * np.sin(2 * np.pi * 2.0 * t)  # a joint bouncing at 2 Hz
    true[:, 2, 0] = 0.2 * np.sin(2 * np.pi * 1.0 * t)
    smooth = gaussian_filter1d(true, 3.0, axis=0, mode="nearest")
    assert motion_kept(true, true) == pytest.approx(100.0)
    assert motion_kept(smooth, true) < 70
    # a gap: second differences never bridge it
    frames = np.r_[0:60, 90:150]
    jumpy = true.copy()
    jumpy[60:, 1] += 1.0  # a jump between the two runs would be a huge acceleration
    assert motion_kept(jumpy, true, frames) == pytest.approx(100.0)
