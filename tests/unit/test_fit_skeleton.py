import numpy as np
import torch

from videomocap import skeleton as sk
from videomocap.body.fit_skeleton import SkeletonModel, fit_skeleton, initial_translation
from videomocap.body.landmark_map import POINT_NAMES, estimate_bone_lengths, targets_from_landmarks, MP

from .synthetic import camera, observe, walker


def test_torch_model_matches_numpy_forward_kinematics():
    rng = np.random.default_rng(0)
    rot = rng.normal(scale=0.6, size=(7, 24, 3))
    tr = rng.normal(size=(7, 3))
    bones = sk.TEMPLATE_BONE_LENGTHS * 1.1
    pts = SkeletonModel(bones, torch.float64)(torch.tensor(rot), torch.tensor(tr)).numpy()
    joints, _, marks = sk.forward_kinematics(rot[:, 0], rot[:, 1:], tr, bones, markers=True)
    assert np.allclose(pts[:, :24], joints, atol=1e-9)
    for k, name in enumerate(POINT_NAMES[24:]):
        assert np.allclose(pts[:, 24 + k], marks[name], atol=1e-9)


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
