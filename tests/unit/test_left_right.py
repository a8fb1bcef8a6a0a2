"""Mirror-image mistakes of the landmark model undone on a track (track/left_right.py)."""

import numpy as np

from videomocap.body.fit_skeleton import default_intrinsics
from videomocap.track.left_right import (LIMB_EXCHANGE, MIRROR, _facing, choose_limb_exchanged,
                                         choose_mirrored, correct_limb_labels, mirror_pose)
from videomocap.track.track_people import PersonTrack

FPS = 30.0
K = default_intrinsics(640, 480)


def _unit(v):
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def _body(forward, up=(0.0, -1.0, 0.0), phase=0.0):
    """33 BlazePose landmarks (metres, camera axes: x right, y down, z away) of a walking body
    centred on its hips, facing ``forward``; legs and arms swing with ``phase``."""
    f, u = _unit(forward), _unit(up)
    left = np.cross(u, f)
    swing = 0.25 * np.sin(phase)
    p = np.zeros((33, 3))

    def put(i, a_left, a_up, a_fwd):
        p[i] = a_left * left + a_up * u + a_fwd * f

    put(0, 0.0, 0.65, 0.10)  # nose
    for side, s in ((0, 1.0), (1, -1.0)):  # 0: left points, 1: right points
        put(1 + 3 * side, 0.02 * s, 0.68, 0.08)
        put(2 + 3 * side, 0.035 * s, 0.68, 0.08)
        put(3 + 3 * side, 0.05 * s, 0.68, 0.07)
        put(7 + side, 0.08 * s, 0.66, 0.0)
        put(9 + side, 0.025 * s, 0.60, 0.09)
        arm = -s * swing
        put(11 + side, 0.18 * s, 0.50, 0.0)
        put(13 + side, 0.20 * s, 0.22, 0.5 * arm)
        put(15 + side, 0.21 * s, -0.02, arm)
        for k, extra in ((17, 0.06), (19, 0.08), (21, 0.05)):
            put(k + side, 0.21 * s, -0.02 - extra, arm + 0.02)
        leg = s * swing
        put(23 + side, 0.10 * s, 0.0, 0.0)
        put(25 + side, 0.10 * s, -0.45, 0.5 * leg + 0.03)
        put(27 + side, 0.10 * s, -0.88, leg)
        put(29 + side, 0.10 * s, -0.92, leg - 0.05)
        put(31 + side, 0.10 * s, -0.94, leg + 0.15)
    return p


def _track(forward, velocity, n=90, up=(0.0, -1.0, 0.0), start=(0.3, 0.8, 4.0), seed=0):
    """(kp2d, kp3d, times) of a body moving at ``velocity`` (m/s, camera axes) facing
    ``forward``, as the landmark model would give it (1 px, 1 cm noise)."""
    rng = np.random.default_rng(seed)
    times = np.arange(n) / FPS
    kp3 = np.stack([_body(forward, up, 2 * np.pi * 1.0 * t) for t in times])
    pelvis = np.asarray(start) + times[:, None] * np.asarray(velocity, float)
    cam = kp3 + pelvis[:, None]
    uv = cam[..., :2] / cam[..., 2:] * K[0, 0] + K[:2, 2]
    kp2 = np.concatenate([uv + rng.normal(0, 1.0, uv.shape), np.ones(uv.shape[:2] + (1,))], -1)
    return kp2, kp3 + rng.normal(0, 0.01, kp3.shape), times


def test_mirror_image_is_an_involution_that_turns_front_to_back():
    assert sorted(MIRROR) == list(range(33)) and np.all(MIRROR[MIRROR] == np.arange(33))
    kp3 = _body(_unit([0.5, 0.0, -1.0]))[None]  # three-quarters towards the camera
    kp2 = np.zeros((1, 33, 3))
    m2, m3 = mirror_pose(kp2, kp3)
    assert np.allclose(mirror_pose(m2, m3)[1], kp3)
    (fx, fz), (mx, mz) = _facing(kp3)[0], _facing(m3)[0]
    assert np.isclose(fx, mx) and fz < -0.8 and np.isclose(mz, -fz)  # sideways kept, depth flipped
    # facing the camera the left shoulder is on the image's right; seen from behind, on its left
    assert kp3[0, 11, 0] > 0 > m3[0, 11, 0] and np.allclose(m3[0, 11, :2], kp3[0, 12, :2])


def test_walker_going_away_seen_as_facing_the_camera_is_turned_round():
    kp2, kp3, times = _track(forward=[0, 0, 1], velocity=[0.1, 0, 1.2])
    assert not choose_mirrored(kp2, kp3, times, K).any()  # the model's pose is right: kept
    wrong2, wrong3 = mirror_pose(kp2, kp3)  # the model's mistake: a body facing the camera
    assert choose_mirrored(wrong2, wrong3, times, K).all()
    # on a moving camera the path says nothing: the model's pose stands
    assert not choose_mirrored(wrong2, wrong3, times, K, static_camera=False).any()


def test_a_slow_walker_going_away_is_turned_round_too():
    # 0.6 m/s, a walker setting off: read at the true lens's scale, such speeds used to give no
    # evidence at all (two-cross-static's first 13 frames stayed facing the camera)
    kp2, kp3, times = _track(forward=[0, 0, 1], velocity=[0.05, 0, 0.6])
    wrong2, wrong3 = mirror_pose(kp2, kp3)
    assert choose_mirrored(wrong2, wrong3, times, K).all()
    assert not choose_mirrored(kp2, kp3, times, K).any()


def test_walking_backwards_slowly_is_left_alone():
    kp2, kp3, times = _track(forward=[0, 0, -1], velocity=[0, 0, 0.3])
    assert not choose_mirrored(kp2, kp3, times, K).any()


def test_a_flicker_of_mirrored_frames_is_put_back():
    kp2, kp3, times = _track(forward=_unit([1, 0, -0.6]), velocity=[1.0, 0, 0], n=60)
    bad = np.zeros(60, bool)
    bad[30:34] = True
    kp2[bad], kp3[bad] = mirror_pose(kp2[bad], kp3[bad])
    for static in (True, False):
        assert np.array_equal(choose_mirrored(kp2, kp3, times, K, static_camera=static), bad)


def test_a_body_far_from_upright_is_never_mirrored():
    kp2, kp3, times = _track(forward=[0, 0, 1], velocity=[0, 0, 1.2], up=[1.0, -0.3, 0.0])
    wrong2, wrong3 = mirror_pose(kp2, kp3)
    bad = np.zeros(90, bool)
    bad[40:43] = True
    kp2[bad], kp3[bad] = wrong2[bad], wrong3[bad]
    assert not choose_mirrored(kp2, kp3, times, K).any()


def test_legs_labels_given_to_the_other_leg_for_a_few_frames_are_set_back():
    """A walker seen from the side: the landmark model gives the left leg's knee, ankle, heel and
    foot tip to the right leg for seven frames while the legs are apart (as on walk-turn-static,
    frames 132-137). Those frames, and only those, are read with the labels exchanged; the
    legs crossing twice a stride (both readings then alike) is left alone."""
    kp2, kp3, times = _track(forward=(1.0, 0.0, 0.0), velocity=(1.0, 0.0, 0.0))
    frames = np.arange(len(kp2)) + 200
    assert not choose_limb_exchanged(kp2, frames).any()
    bad = np.arange(19, 26)  # the legs 0.3-0.4 m apart
    wrong2, wrong3 = kp2.copy(), kp3.copy()
    swap = LIMB_EXCHANGE["legs"]
    wrong2[bad], wrong3[bad] = kp2[bad][:, swap], kp3[bad][:, swap]
    assert np.array_equal(np.flatnonzero(choose_limb_exchanged(wrong2, frames)), bad)
    track = PersonTrack(1, frames, wrong2, wrong3, np.zeros((len(frames), 4)),
                        np.ones(len(frames)))
    fixed = correct_limb_labels(track)
    assert np.array_equal(fixed.keypoints2d, kp2) and np.array_equal(fixed.keypoints3d, kp3)
    # given back as the legs cross (frame 30), where neither reading jumps: found all the same
    late = np.arange(23, 30)
    wrong = kp2.copy()
    wrong[late] = kp2[late][:, swap]
    assert np.array_equal(np.flatnonzero(choose_limb_exchanged(wrong, frames)), late)
    # one ankle gone astray halfway to the other leg, alone, is not a leg given to the other
    astray = kp2.copy()
    astray[22, 27, :2] = 0.5 * (kp2[22, 27, :2] + kp2[22, 28, :2])
    assert not choose_limb_exchanged(astray, frames).any()
    # seen apart from the frames around them (track gaps on both sides), they give no jump
    # to read, and the labels stand
    index = np.arange(len(frames))
    gapped = frames + 10 * (index >= 19) + 10 * (index >= 26)
    assert not choose_limb_exchanged(wrong2, gapped).any()


def test_arms_given_to_the_other_arm_are_set_back_and_the_legs_left_alone():
    kp2, kp3, _ = _track(forward=(1.0, 0.0, 0.0), velocity=(1.0, 0.0, 0.0))
    frames = np.arange(len(kp2))
    bad = np.arange(19, 26)  # the arms swing 0.2-0.25 m apart
    wrong2, wrong3 = kp2.copy(), kp3.copy()
    swap = LIMB_EXCHANGE["arms"]
    wrong2[bad], wrong3[bad] = kp2[bad][:, swap], kp3[bad][:, swap]
    assert np.array_equal(np.flatnonzero(choose_limb_exchanged(wrong2, frames, "arms")), bad)
    assert not choose_limb_exchanged(wrong2, frames, "legs").any()
    track = PersonTrack(1, frames, wrong2, wrong3, np.zeros((len(frames), 4)),
                        np.ones(len(frames)))
    fixed = correct_limb_labels(track)
    assert np.array_equal(fixed.keypoints2d, kp2) and np.array_equal(fixed.keypoints3d, kp3)
