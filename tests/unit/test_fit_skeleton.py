import numpy as np
import pytest

from videomocap import skeleton as sk
from videomocap.body.fit_skeleton import (
    FitSettings, PlantedSoles, _Objective, fit_people, fit_skeleton, initial_pose,
    initial_translation,
)
from videomocap.body.landmark_map import POINT_NAMES, estimate_bone_lengths, targets_from_landmarks, MP

from .synthetic import camera, observe, walker


def _planted(n, R, c, seed=1):
    """Contacts of n frames seen by a camera that turns and moves a little from frame to frame,
    with a gap after frame 6, of a body the world step turns about the vertical."""
    rng = np.random.default_rng(seed)
    turn = sk.forward_kinematics(rng.normal(scale=0.05, size=(n, 3)), np.zeros((n, 23, 3)),
                                 np.zeros((n, 3)), sk.TEMPLATE_BONE_LENGTHS)[1][:, 0]
    linked = np.ones(n - 1, dtype=bool)
    linked[6] = False
    return PlantedSoles(rng.uniform(0.0, 1.0, size=(n, 4)), turn @ R,
                        c + rng.normal(scale=0.05, size=(n, 3)), linked,
                        rng.normal(scale=0.3, size=n))


def _objective(n=9, seed=0, planted=False):
    """A fit objective over n frames of a noisy synthetic walker, and a start near its answer."""
    orient, pose, transl, bones = walker()
    R, c = camera()
    targets, K, _, _ = observe(orient[:n], pose[:n], transl[:n], bones, R, c)
    rng = np.random.default_rng(seed)
    rot = initial_pose(targets, bones) + rng.normal(scale=0.1, size=(n, 24, 3))
    rot[2, 5] = 0.0  # a rotation exactly at zero, where Rodrigues' formula needs its epsilon
    rot[3, 4, 0] = -0.3  # a knee bent backwards and an elbow the wrong way: the limits act
    rot[3, 18, 1] = 0.4
    rot[4, sk.JOINT_INDEX["left_ankle"], 0] = 1.1  # toes far down and far up: the ankle limits
    rot[5, sk.JOINT_INDEX["right_ankle"], 0] = -0.8
    inside = np.ones(n - 2, dtype=bool)
    inside[4] = False  # as if a second person started at frame 6
    settings = FitSettings(weight_floor=3.0, weight_planted=5.0) if planted else FitSettings()
    contact = None
    if planted:
        contact = _planted(n, R, c).terms()
    obj = _Objective(np.repeat(bones[None], n, 0), K, targets.points2d, targets.points3d,
                     targets.confidence, inside, settings, contact)
    return obj, np.ascontiguousarray(rot.transpose(1, 0, 2)), initial_translation(targets, K), bones


def test_numpy_model_matches_forward_kinematics():
    obj, rot, tr, bones = _objective()
    pts = obj.points(rot, tr).transpose(1, 0, 2)
    aa = rot.transpose(1, 0, 2)
    joints, _, marks = sk.forward_kinematics(aa[:, 0], aa[:, 1:], tr, bones, markers=True)
    assert np.allclose(pts[:, :24], joints, atol=1e-9)
    for k, name in enumerate(POINT_NAMES[24:]):
        assert np.allclose(pts[:, 24 + k], marks[name], atol=1e-9)


@pytest.mark.parametrize("planted", [False, True])
def test_hand_written_gradient_matches_finite_differences(planted):
    obj, rot, tr, _ = _objective(planted=planted)
    _, g_rot, g_tr = obj(rot, tr)
    eps = 1e-6
    for params, grad, other in ((rot, g_rot, 0), (tr, g_tr, 1)):
        num = np.zeros_like(params)
        for idx in np.ndindex(params.shape):
            hi, lo = params.copy(), params.copy()
            hi[idx] += eps
            lo[idx] -= eps
            args_hi = (hi, tr) if other == 0 else (rot, hi)
            args_lo = (lo, tr) if other == 0 else (rot, lo)
            num[idx] = (obj(*args_hi)[0] - obj(*args_lo)[0]) / (2 * eps)
        assert np.abs(grad - num).max() < 1e-6 * np.abs(num).max(), np.abs(grad - num).max()


def test_fit_recovers_a_walking_skeleton_from_noisy_landmarks():
    orient, pose, transl, bones = walker()
    R, c = camera()
    targets, K, cam_joints, _ = observe(orient, pose, transl, bones, R, c)
    start = initial_translation(targets, K)
    assert np.abs(start - cam_joints[:, 0]).mean() < 0.3
    fit = fit_skeleton(targets, bones, K)
    err = np.linalg.norm(fit.joints - cam_joints, axis=-1)
    assert err.mean() < 0.04, err.mean(0)
    assert np.nanmedian(fit.reprojection_error) < 5.0  # pixels; 1 px of landmark noise
    # limbs stay where joint limits allow: no knee bends backwards
    assert np.all(fit.body_pose[:, sk.JOINT_INDEX["left_knee"] - 1, 0] > -0.15)


def test_bone_lengths_from_world_landmarks():
    rng = np.random.default_rng(4)
    bones = sk.TEMPLATE_BONE_LENGTHS * 1.08
    joints, _, marks = sk.forward_kinematics(rng.normal(scale=0.2, size=(40, 3)),
                                             rng.normal(scale=0.3, size=(40, 23, 3)),
                                             np.zeros((40, 3)), bones, markers=True)
    kp3 = np.zeros((40, 33, 3))
    for side in ("left", "right"):
        for name in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist"):
            kp3[:, MP[f"{side}_{name}"]] = joints[:, sk.JOINT_INDEX[f"{side}_{name}"]]
    kp2 = np.ones((40, 33, 3))
    est = estimate_bone_lengths(kp2, kp3)
    for name in ("left_knee", "left_ankle", "left_elbow", "left_wrist", "left_hip"):
        i = sk.JOINT_INDEX[name] - 1
        assert abs(est[i] - bones[i]) < 0.01, name
    t = targets_from_landmarks(kp2, kp3)
    assert np.allclose(t.points3d[:, 0], 0)  # pelvis-relative


def test_fit_keeps_the_lowest_loss_iterate():
    """Adam is not monotonic: with a step far too large it ends worse than it started, and the
    fit must then return the best iterate it saw (here: no worse than the analytic start)."""
    orient, pose, transl, bones = walker()
    R, c = camera()
    targets, K, _, _ = observe(orient[:12], pose[:12], transl[:12], bones, R, c)
    n = len(targets.points2d)
    settings = FitSettings(iterations=15, learning_rate=1.0)

    def loss_of(rot_nj3, trans):
        obj = _Objective(np.repeat(bones[None], n, 0), K, targets.points2d, targets.points3d,
                         targets.confidence, np.ones(n - 2, dtype=bool), settings)
        return obj(np.ascontiguousarray(rot_nj3.transpose(1, 0, 2)), trans)[0]

    start = loss_of(initial_pose(targets, bones), initial_translation(targets, K))
    fit = fit_skeleton(targets, bones, K, settings)
    got = loss_of(np.concatenate([fit.global_orient[:, None], fit.body_pose], 1), fit.transl)
    assert got <= start + 1e-12
    # and the safeguard is what holds it: the last of these wild steps is worse than the start
    last = fit_skeleton(targets, bones, K, FitSettings(iterations=15, learning_rate=1.0,
                                                       keep_best=False))
    assert loss_of(np.concatenate([last.global_orient[:, None], last.body_pose], 1),
                   last.transl) > start


def test_refit_holds_planted_soles_still_on_the_floor():
    """Someone standing still, seen with noisy metric landmarks: fitted once, the soles wander in
    the world from frame to frame; refitted with them planted (floor and stillness terms), they
    wander less than half as much and sit on the floor, and the skeleton still matches the
    picture."""
    n = 30
    orient, pose, transl, bones = walker(n)
    orient[:], pose[:], transl[:] = orient[0], pose[0], transl[0]
    _, _, marks = sk.forward_kinematics(orient, pose, transl, bones, markers=True)
    heights = np.array([marks[name][0, 2] for name in sk.CONTACT_NAMES])
    transl[:, 2] -= heights.min()  # the lowest sole on z = 0; those within 1 cm of it planted
    down = (heights - heights.min() < 0.01).astype(float)
    R, c = camera()
    targets, K, _, _ = observe(orient, pose, transl, bones, R, c, noise_m=0.04, seed=3)
    once = fit_skeleton(targets, bones, K)
    planted = PlantedSoles(np.repeat(down[None], n, 0), np.repeat(R[None], n, 0),
                           np.repeat(c[None], n, 0), np.ones(n - 1, dtype=bool))
    again = fit_people([targets], [bones], K,
                       FitSettings(iterations=120, weight_floor=3.0, weight_planted=3.0),
                       start=[once], planted=[planted])[0]

    def soles(fit):  # (N, 4, 3) world
        return np.stack([fit.markers[name] for name in sk.CONTACT_NAMES], 1) @ R.T + c

    def wander(fit):
        return np.linalg.norm(np.diff(soles(fit)[:, down > 0], axis=0), axis=-1).mean()

    assert wander(again) < 0.5 * wander(once), (wander(again), wander(once))
    low = np.abs(soles(again)[:, down > 0, 2]).mean()
    assert low < min(0.02, np.abs(soles(once)[:, down > 0, 2]).mean())
    assert np.nanmedian(again.reprojection_error) < np.nanmedian(once.reprojection_error) + 1.0
