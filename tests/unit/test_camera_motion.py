"""Camera rotation from background correspondences and from rendered (warped) image sequences."""

from __future__ import annotations

import numpy as np
import pytest

from videomocap.camera import CameraMotionEstimator, camera_poses, rotation_from_correspondences
from videomocap.camera.estimate_motion import CameraMotion, estimate_focal, fit_in_reference
from videomocap.rotations import axis_angle_to_matrix


def _angle_deg(A, B):
    return float(np.degrees(np.arccos(np.clip((np.trace(A.T @ B) - 1) / 2, -1, 1))))


def _K(f, w=640, h=480):
    return np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1.0]])


def _project(K, R, rays):
    """Pixels of rays (N, 3) given in the reference camera, seen by a camera turned by R
    (reference-from-camera)."""
    p = rays @ R @ K.T  # R.T applied to each ray, then K
    return p[:, :2] / p[:, 2:3], p[:, 2] > 0


def _scene_rays(n, rng, spread=0.6):
    rays = np.column_stack([rng.uniform(-spread, spread, (n, 2)), np.ones(n)])
    return rays / np.linalg.norm(rays, axis=1, keepdims=True)


def test_rotation_is_recovered_from_noisy_correspondences_with_outliers():
    rng = np.random.default_rng(1)
    K = _K(600.0)
    R_true = axis_angle_to_matrix(np.radians([1.5, -4.0, 2.0]))
    rays = _scene_rays(300, rng)
    x_ref, _ = _project(K, np.eye(3), rays)
    x_cam, _ = _project(K, R_true, rays)
    x_cam += rng.normal(0, 0.3, x_cam.shape)
    bad = rng.random(len(x_cam)) < 0.35  # a third of the points on movers
    x_cam[bad] += rng.uniform(-40, 40, (bad.sum(), 2))
    R, inl = rotation_from_correspondences(x_ref, x_cam, K)
    assert _angle_deg(R, R_true) < 0.05
    assert inl[~bad].mean() > 0.95 and inl[bad].mean() < 0.1
    # the direction of the rotation matters: the inverse is far from the truth
    assert _angle_deg(R.T, R_true) > 8.0


def test_too_few_points_give_the_identity_and_no_inliers():
    K = _K(600.0)
    R, inl = rotation_from_correspondences(np.zeros((3, 2)), np.ones((3, 2)), K)
    assert np.allclose(R, np.eye(3)) and not inl.any()


def test_focal_length_is_measured_from_rotating_views():
    rng = np.random.default_rng(2)
    K_true, K_guess = _K(500.0), _K(800.0)
    pairs = []
    for yaw in (5.0, -7.0, 9.0, 6.0):
        R = axis_angle_to_matrix(np.radians([rng.uniform(-2, 2), yaw, rng.uniform(-1, 1)]))
        rays = _scene_rays(150, rng)
        a, _ = _project(K_true, np.eye(3), rays)
        b, _ = _project(K_true, R, rays)
        pairs.append((a, b + rng.normal(0, 0.2, b.shape)))
    f, gain = estimate_focal(pairs, K_guess)
    assert abs(f - 500.0) < 10.0, f
    assert gain > 1.5


def _warp_sequence(image, K_src, K_out, size, rotations):
    """Frames seen by a camera turning by ``rotations`` (reference-from-camera) in front of the
    picture ``image`` at infinity: x_out ~ K_out R^T K_src^-1 x_src."""
    import cv2

    for R in rotations:
        H = K_out @ R.T @ np.linalg.inv(K_src)
        yield cv2.warpPerspective(image, H, size, flags=cv2.INTER_LINEAR)


def _texture(rng, w=960, h=720):
    import cv2

    img = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(img, (3, 3), 0)


def test_streamed_estimator_follows_a_synthetic_pan_and_masks_people():
    rng = np.random.default_rng(3)
    f = 500.0
    K_src, K_out = _K(f, 960, 720), _K(f, 320, 240)
    n = 40
    yaw = np.radians(np.linspace(0, 12, n))
    pitch = np.radians(np.linspace(0, -3, n))
    rotations = axis_angle_to_matrix(np.stack([pitch, yaw, 0 * yaw], 1))
    est = CameraMotionEstimator(320, 240, _K(400.0, 320, 240))  # focal guessed wrong on purpose
    box = np.array([[130.0, 60.0, 190.0, 230.0]])
    for k, frame in enumerate(_warp_sequence(_texture(rng), K_src, K_out, (320, 240), rotations)):
        frame = frame.copy()
        # a "person": a textured patch that stays put in the image while the camera turns
        frame[60:230, 130:190] = np.roll(_texture(np.random.default_rng(9), 60, 170), k, 0)
        est.add(frame, box)
    # no background point is taken from the person
    for xy in est.frames_xy:
        on_person = (xy[:, 0] > 130) & (xy[:, 0] < 190) & (xy[:, 1] > 60) & (xy[:, 1] < 230)
        assert len(xy) > 50 and not on_person.any()
    motion = est.finish()
    assert not motion.static
    assert motion.focal_estimated and abs(motion.K[0, 0] - f) < 0.05 * f, motion.K[0, 0]
    errors = [_angle_deg(motion.R[i], rotations[i]) for i in range(n)]
    assert max(errors) < 0.3, max(errors)
    assert np.allclose(motion.R[0], np.eye(3))


def test_a_still_picture_is_a_static_camera():
    rng = np.random.default_rng(4)
    img = _texture(rng, 320, 240)
    est = CameraMotionEstimator(320, 240, _K(400.0, 320, 240))
    for k in range(12):
        noisy = np.clip(img.astype(int) + rng.integers(-3, 4, img.shape), 0, 255).astype(np.uint8)
        est.add(noisy, np.zeros((0, 4)))
    motion = est.finish()
    assert motion.static
    assert np.array_equal(motion.R, np.repeat(np.eye(3)[None], 12, 0))


def test_bodies_and_cameras_move_into_one_world():
    from videomocap.body.fit_skeleton import CameraFrameFit

    n = 5
    R = axis_angle_to_matrix(np.stack([np.zeros(n), np.radians(np.arange(n) * 10.0), np.zeros(n)], 1))
    motion = CameraMotion(R=R, t=np.zeros((n, 3)), static=False, inliers=np.full(n, 100),
                          confidence=np.ones(n), K=_K(500.0), focal_estimated=False)
    # a point fixed in the reference camera, 4 m ahead: in camera f it is R[f].T @ p
    p_ref = np.array([0.0, 0.0, 4.0])
    p_cam = np.einsum("nji,j->ni", R, p_ref)
    fit = CameraFrameFit(global_orient=np.zeros((n, 3)), body_pose=np.zeros((n, 23, 3)),
                         transl=p_cam, bone_lengths=np.ones(23), joints=p_cam[:, None].repeat(24, 1),
                         markers={"left_heel": p_cam}, reprojection_error=np.zeros(n))
    moved = fit_in_reference(fit, motion, np.arange(n))
    assert np.allclose(moved.transl, p_ref) and np.allclose(moved.markers["left_heel"], p_ref)
    assert np.allclose(axis_angle_to_matrix(moved.global_orient), R)
    world_R = axis_angle_to_matrix(np.radians([90.0, 0, 0]))
    cam_R, cam_t = camera_poses(motion, world_R, np.array([0, 0, 1.5]), first=2, n_video=9)
    assert cam_R.shape == (9, 3, 3) and np.allclose(cam_R[2], world_R)
    assert np.allclose(cam_R[0], world_R) and np.allclose(cam_R[8], world_R @ R[4])
    assert np.allclose(cam_t, [0, 0, 1.5])


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_inputs(n):
    est = CameraMotionEstimator(64, 48, _K(80.0, 64, 48))
    for _ in range(n):
        est.add(np.zeros((48, 64, 3), np.uint8))
    motion = est.finish()
    assert motion.static and len(motion.R) == n


def _floor_and_wall_tracks(centres, rotations, rng, K):
    """An estimator holding the tracks a camera at ``centres`` turned by ``rotations`` would see
    of a floor 1.5 m below it and a wall 18 m ahead (OpenCV axes: y down, floor at y = +1.5)."""
    floor = np.column_stack([rng.uniform(-8, 8, 400), np.full(400, 1.5), rng.uniform(3, 16, 400)])
    wall = np.column_stack([rng.uniform(-20, 20, 200), rng.uniform(-4, 1.5, 200),
                            np.full(200, 18.0)])
    X = np.vstack([floor, wall])
    est = CameraMotionEstimator(640, 480, K)
    for c, R in zip(centres, rotations):
        q = (X - c) @ R
        uv = q[:, :2] / q[:, 2:3] * K[0, 0] + K[:2, 2] + rng.normal(0, 0.15, (len(X), 2))
        seen = (q[:, 2] > 0) & (uv[:, 0] > 0) & (uv[:, 0] < 640) & (uv[:, 1] > 0) & (uv[:, 1] < 480)
        est.frames_ids.append(np.flatnonzero(seen))
        est.frames_xy.append(uv[seen].astype(np.float32))
    return est


@pytest.mark.parametrize("lag", [None, 3])
def test_sliding_camera_translation_comes_from_the_ground_plane(lag):
    """A camera sliding sideways 1.2 m past a floor and a far wall (no rotation): the rotation-only
    estimate mistakes the slide for a turn; the ground plane (height known from the people) gives
    the slide back in metres and removes the false turn."""
    from videomocap.camera import add_ground_translation

    K, n = _K(500.0), 30
    centres = np.column_stack([np.linspace(0, 1.2, n), np.zeros(n), np.zeros(n)])
    est = _floor_and_wall_tracks(centres, np.repeat(np.eye(3)[None], n, 0),
                                 np.random.default_rng(5), K)
    rotation_only = est.finish()
    false_turn = max(_angle_deg(R, np.eye(3)) for R in rotation_only.R)
    assert rotation_only.translation == "none" and false_turn > 0.5
    moved = add_ground_translation(est, rotation_only, up=np.array([0.0, -1.0, 0.0]), height=1.5,
                                   lag=lag)
    assert moved.translation == "ground-plane"
    assert np.abs(moved.t - centres).max() < 0.03, np.abs(moved.t - centres).max()
    # chained frame to frame (lag) the turn's noise adds up a little
    assert max(_angle_deg(R, np.eye(3)) for R in moved.R) < (0.1 if lag is None else 0.2)


@pytest.mark.parametrize("lag", [None, 3])
def test_a_turning_camera_gets_no_translation_even_from_a_wrong_ground(lag):
    from videomocap.camera import add_ground_translation

    K, n = _K(500.0), 30
    rotations = axis_angle_to_matrix(np.stack([np.zeros(n), np.radians(np.linspace(0, 15, n)),
                                               np.zeros(n)], 1))
    est = _floor_and_wall_tracks(np.zeros((n, 3)), rotations, np.random.default_rng(6), K)
    turned = est.finish()
    assert max(_angle_deg(turned.R[i], rotations[i]) for i in range(n)) < 0.1
    # the people's ground is 10 degrees off and 30 cm too low: still no invented translation
    up = axis_angle_to_matrix(np.radians([10.0, 0, 0])[None])[0] @ np.array([0.0, -1.0, 0.0])
    moved = add_ground_translation(est, turned, up=up, height=1.8, lag=lag)
    assert moved.translation == "none" and np.array_equal(moved.t, np.zeros((n, 3)))


def test_a_camera_moving_forwards_is_followed_over_the_floor_in_view():
    """A dolly: 4 m straight ahead over 60 frames. The floor the first frame saw passes under the
    camera; against the frame 3 before, the floor in view gives the centres within a few cm."""
    from videomocap.camera import add_ground_translation

    K, n = _K(500.0), 60
    centres = np.column_stack([np.zeros(n), np.zeros(n), np.linspace(0, 4.0, n)])
    est = _floor_and_wall_tracks(centres, np.repeat(np.eye(3)[None], n, 0),
                                 np.random.default_rng(7), K)
    rotation_only = est.finish()
    moved = add_ground_translation(est, rotation_only, up=np.array([0.0, -1.0, 0.0]), height=1.5,
                                   lag=3)
    assert moved.translation == "ground-plane"
    assert np.abs(moved.t - centres).max() < 0.05, np.abs(moved.t - centres).max()


def test_ground_pose_fit_survives_degenerate_points():
    """Ground points in a line (A singular: the rotation about that line is unobservable) and a
    point behind the camera: the robust fit stays finite and silent, and the points in front are
    still seen where they are."""
    import warnings

    from videomocap.camera.estimate_motion import pose_from_ground_points

    K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    X = np.stack([np.linspace(-2, 2, 30), np.full(30, 1.5), np.full(30, 6.0)], 1)  # a line
    X = np.vstack([X, [[0.0, 1.5, -3.0]]])  # behind the camera
    q = X[:, :2] / np.abs(X[:, 2:])
    xf = q * 500.0 + [320, 240]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        R, c, err = pose_from_ground_points(X, xf, K, np.eye(3), np.zeros(3))
    assert np.all(np.isfinite(R)) and np.all(np.isfinite(c))
    assert np.median(err[:30]) < 0.01
