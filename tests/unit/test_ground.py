import warnings

import numpy as np

from videomocap.body.fit_skeleton import CameraFrameFit
from videomocap.skeleton import forward_kinematics
from videomocap.world.ground import fit_world_frame, foot_contacts, foot_points
from videomocap.rotations import axis_angle_to_matrix, matrix_to_axis_angle

from .synthetic import camera, walker


def _camera_frame_fit(orient, pose, transl, bones, R, c):
    cam_orient = matrix_to_axis_angle(R.T @ axis_angle_to_matrix(orient))
    cam_transl = (transl - c) @ R
    joints, _, marks = forward_kinematics(cam_orient, pose, cam_transl, bones, markers=True)
    return CameraFrameFit(cam_orient, pose, cam_transl, bones, joints, marks,
                          np.zeros(len(joints)))


def test_ground_plane_and_gravity_from_a_walk_seen_by_a_tilted_camera():
    orient, pose, transl, bones = walker(n=150)
    R, c = camera(tilt_deg=20.0, height=2.0)
    fit = _camera_frame_fit(orient, pose, transl, bones, R, c)
    world = fit_world_frame([fit], fps=30.0)
    # world up recovered: the camera's true up, expressed in camera coordinates, is R.T @ z
    true_up = R.T @ np.array([0.0, 0.0, 1.0])
    angle = np.degrees(np.arccos(np.clip(world.R[2] @ true_up, -1, 1)))
    assert angle < 3.0, angle
    # camera height above the ground recovered
    assert abs(world.t[2] - 2.0) < 0.08
    feet = world.points(foot_points(fit.markers))
    assert np.percentile(feet[..., 2].min(axis=1), 50) < 0.03


def test_contacts_follow_foot_height_and_speed():
    fps = 30.0
    n = 60
    planted = np.zeros((n, 3))
    swing = np.stack([np.linspace(0, 4.8, n), np.zeros(n), 0.02 + 0.1 * np.sin(np.linspace(0, np.pi, n))], 1)
    lifted = np.tile([0.0, 0.0, 0.3], (n, 1))
    feet = np.stack([planted, swing, lifted, planted + [0, 0, 0.01]], axis=1)
    p = foot_contacts(feet, fps)
    assert p.shape == (n, 4)
    assert np.all(p[:, 0] > 0.9)
    assert np.all(p[:, 3] > 0.8)
    assert np.all(p[:, 1] < 0.05)  # a swinging foot: 2.4 m/s
    assert np.all(p[:, 2] < 0.1)  # 30 cm above the ground


def test_contacts_use_speed_in_metres_per_second_and_hold_through_blips():
    # the same motion sampled at 30 and at 60 fps gives the same contacts
    for fps in (30.0, 60.0):
        n = int(2 * fps)
        t = np.arange(n) / fps
        x = np.where(t < 1.0, 0.0, 1.5 * (t - 1.0))  # still for 1 s, then 1.5 m/s
        foot = np.stack([x, np.zeros(n), np.zeros(n)], 1)
        p = foot_contacts(np.repeat(foot[:, None], 4, 1), fps, np.arange(n))
        assert np.all(p[: int(0.8 * fps), 0] > 0.5)
        assert np.all(p[int(1.2 * fps):, 0] < 0.5)
    # a planted foot with a one-frame glitch (a fitted foot jumps 8 cm and back) stays planted
    n = 60
    foot = np.zeros((n, 3))
    foot[30, 0] = 0.08
    p = foot_contacts(np.repeat(foot[:, None], 4, 1), 30.0, np.arange(n))
    assert np.all(p[:, 0] > 0.5)
    # a tap shorter than the minimum contact is no contact
    foot = np.stack([np.linspace(0, 6, n), np.zeros(n), np.zeros(n)], 1)
    foot[30:32] = foot[30]
    p = foot_contacts(np.repeat(foot[:, None], 4, 1), 30.0, np.arange(n))
    assert np.all(p[:, 0] < 0.5)


def test_contacts_discount_depth_wobble_along_the_camera_ray():
    """A planted foot whose captured depth wobbles (along the camera ray, 1.3 m/s peaks) is in
    contact once the rays are given; the same wobble across the ray is real motion: no contact."""
    fps, n = 30.0, 60
    t = np.arange(n) / fps
    wobble = 0.07 * np.sin(2 * np.pi * 3.0 * t)  # metres; speed up to 1.3 m/s
    rays = np.tile([0.0, 1.0, 0.0], (n, 1))  # camera looking along +y
    feet = np.zeros((n, 4, 3))
    feet[..., 0] = np.arange(4) * 0.1
    along = feet.copy()
    along[..., 1] += wobble[:, None]
    across = feet.copy()
    across[..., 0] += wobble[:, None]
    assert (foot_contacts(along, fps) > 0.5).mean() < 0.5  # without rays: looks like moving
    assert (foot_contacts(along, fps, rays=rays) > 0.5).all()
    assert (foot_contacts(across, fps, rays=rays) > 0.5).mean() < 0.5


def test_foot_visibility_follows_the_landmarks_confidence_smoothly():
    from videomocap.world.ground import foot_visibility

    n = 60
    kp = np.zeros((n, 33, 3))
    kp[..., 2] = 0.9
    kp[30:, 31, 2] = 0.02  # the left foot's tip leaves the picture at frame 30
    kp[10, 29, 2] = kp[10, 27, 2] = 0.0  # one frame's left heel dropout
    vis = foot_visibility(kp, 30.0)
    assert vis.shape == (n, 4)
    assert (vis[:, 2:] == 1.0).all()  # right foot seen throughout
    assert vis[10, 0] > 0.9  # a one-frame dropout is smoothed over
    assert (vis[:25, 1] == 1.0).all() and (vis[36:, 1] == 0.0).all()
    assert np.all(np.diff(vis[:, 1]) <= 0)  # fades out, no jump back
    # frames across a gap are not averaged together
    ids = np.r_[np.arange(30), np.arange(100, 130)]
    assert (foot_visibility(kp, 30.0, ids)[:30, 1] == 1.0).all()


def test_contacts_weigh_what_the_picture_shows_of_each_foot():
    """Feet whose captured world speed is near the step (0.6 and 0.8 m/s, against 0.7): the
    picture's own measure of each foot (person-heights per frame) tips them, planted where the
    picture shows the foot still and lifted where it shows it moving; unmeasured frames (NaN)
    keep the world speed's verdict."""
    fps, n = 30.0, 40
    feet = np.zeros((n, 4, 3))
    speeds = np.array([0.6, 0.6, 0.8, 0.8])  # m/s, each point along x
    feet[..., 0] = np.arange(n)[:, None] / fps * speeds[None]
    still = np.zeros((n, 4))
    moving = np.full((n, 4), 0.05)  # 1.5 heights a second: a swing
    mid = slice(5, -5)  # the clip's ends read slower (the path is smoothed up to its ends)
    alone = foot_contacts(feet, fps) > 0.5
    assert alone[mid, :2].all() and not alone[mid, 2:].any()
    seen_still = foot_contacts(feet, fps, image_speed=still) > 0.5
    assert seen_still.all()
    seen_moving = foot_contacts(feet, fps, image_speed=moving) > 0.5
    assert not seen_moving[mid].any()
    unmeasured = foot_contacts(feet, fps, image_speed=np.full((n, 4), np.nan)) > 0.5
    assert np.array_equal(unmeasured, alone)
    # a foot held 13 cm up (over the 12 cm step) that the picture shows still: planted; moving
    # in the picture, or seen nowhere: lifted
    up = feet.copy()
    up[..., 0] = 0.0
    up[..., 2] = 0.13
    up[:, 0, 2] = 0.0  # one point on the floor keeps the local ground at 0
    assert (foot_contacts(up, fps, image_speed=still)[:, 1:] > 0.5).all()
    assert not (foot_contacts(up, fps, image_speed=moving)[:, 1:] > 0.5).any()
    assert not (foot_contacts(up, fps)[:, 1:] > 0.5).any()
    with warnings.catch_warnings():  # a foot flying across the picture: no overflow, no contact
        warnings.simplefilter("error")
        assert not (foot_contacts(feet, fps, image_speed=np.full((n, 4), 10.0)) > 0.5).any()


def test_a_camera_translation_found_once_is_kept_when_the_refitted_bodies_lose_it(monkeypatch):
    """place_people again after a refit: where the new bodies' floor leaves the translation
    search without enough ground, the translation the first call found stands (the camera used
    to be taken for one that only turns, and a dolly shot's path shrank to a quarter)."""
    import dataclasses

    import videomocap.camera.place as place
    from videomocap.camera.estimate_motion import CameraMotion

    orient, pose, transl, bones = walker(n=60)
    R, c = camera(tilt_deg=20.0, height=2.0)
    fit = _camera_frame_fit(orient, pose, transl, bones, R, c)
    n = len(transl)
    K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    raw = CameraMotion(R=np.repeat(np.eye(3)[None], n, 0), t=np.zeros((n, 3)), static=False,
                       inliers=np.full(n, 100), confidence=np.ones(n), K=K,
                       focal_estimated=False)
    slide = np.column_stack([np.linspace(0, 1.2, n), np.zeros(n), np.zeros(n)])
    found = dataclasses.replace(raw, t=slide, translation="ground-plane")
    monkeypatch.setattr(place, "add_ground_translation", lambda *a, **k: found)
    placed, _, used = place.place_people([fit], [np.arange(n)], raw, tracker=object(), fps=30.0)
    assert used.translation == "ground-plane"
    # the refit's search fails: the first call's camera and its placement stand
    monkeypatch.setattr(place, "add_ground_translation", lambda *a, **k: raw)
    again, _, kept = place.place_people([fit], [np.arange(n)], raw, tracker=object(), fps=30.0,
                                        used=used)
    assert kept is used
    assert np.allclose(again[0].transl, placed[0].transl)
    # with no earlier call, a failed search leaves the camera turning only
    _, _, alone = place.place_people([fit], [np.arange(n)], raw, tracker=object(), fps=30.0)
    assert alone.translation == "none"
