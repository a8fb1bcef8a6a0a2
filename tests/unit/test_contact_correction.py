"""Contact-driven root correction (world.contact_correction) on synthetic walks."""

import time

import numpy as np
from scipy.ndimage import gaussian_filter1d

from videomocap.world.contact_correction import correct_contacts, ground_person
from videomocap.world.ground import foot_contacts

FPS = 30.0


def walk(n=240, speed=1.2, period=1.0, stance=0.6):
    """Root (n, 3) and soles (n, 4, 3) (left heel, left toe, right heel, right toe) of a straight
    walk along x, and the true contact mask (n, 4)."""
    t = np.arange(n) / FPS
    root = np.stack([speed * t, np.zeros(n), np.full(n, 0.95)], 1)
    soles = np.zeros((n, 4, 3))
    planted = np.zeros((n, 4), bool)
    for side, (lag, y) in enumerate(((0.0, 0.1), (0.5, -0.1))):
        phase = (t / period + lag) % 1.0
        cycle = np.floor(t / period + lag)
        x_plant = speed * period * (cycle - lag + 0.3)
        s = np.clip((phase - stance) / (1 - stance), 0, 1)
        ramp = 0.5 - 0.5 * np.cos(np.pi * s)
        x = x_plant + ramp * speed * period
        z = 0.12 * np.sin(np.pi * s)
        still = phase < stance
        for k, dx in enumerate((0.0, 0.15)):
            soles[:, 2 * side + k] = np.stack([x + dx, np.full(n, y), z], 1)
            planted[:, 2 * side + k] = still
    return root, soles, planted


def depth_noise(root, camera, seed=0):
    """Monocular-looking root noise: smooth (the fit is smoothed in time), along the camera ray."""
    rng = np.random.default_rng(seed)
    ray = root - camera
    ray[:, 2] = 0.0
    ray /= np.linalg.norm(ray, axis=1, keepdims=True)
    return gaussian_filter1d(rng.normal(0, 0.15, len(root)), 4.0)[:, None] * ray


def planted_slide_mm(soles, planted):
    step = np.linalg.norm(np.diff(soles, axis=0), axis=-1)
    both = planted[1:] & planted[:-1]
    return 1000 * step[both].mean()


def test_planted_feet_stop_sliding_when_the_root_is_noisy():
    root, soles, planted = walk()
    camera = np.array([0.0, -6.0, 1.5])
    noise = depth_noise(root, camera)
    noisy_root, noisy_soles = root + noise, soles + noise[:, None]
    before = planted_slide_mm(noisy_soles, planted)
    frames = np.arange(len(root))
    new_root, joints, contact = ground_person(noisy_root, noisy_root[:, None].copy(),
                                              noisy_soles, FPS, frames,
                                              np.repeat(camera[None], len(root), 0))
    offset = new_root - noisy_root
    after = planted_slide_mm(noisy_soles + offset[:, None], planted)
    assert before > 5.0, before
    assert after < 0.4 * before and after < 3.0, (before, after)
    # the contacts found from the noisy feet agree with the truth on most foot-frames
    assert ((contact > 0.5) == planted).mean() > 0.85
    # joints move with the root
    np.testing.assert_allclose(joints[:, 0], new_root)
    # the trajectory gets closer to the truth, not further (up to a constant shift)
    err_before = np.linalg.norm(noise - noise.mean(0), axis=1).mean()
    fixed = new_root - root
    err_after = np.linalg.norm(fixed - fixed.mean(0), axis=1).mean()
    assert err_after < 0.5 * err_before, (err_before, err_after)
    # no new jitter: the third difference of the root does not grow
    jit = lambda x: np.linalg.norm(np.diff(x, 3, axis=0), axis=1).mean()
    assert jit(new_root) <= jit(noisy_root)


def test_a_real_slide_without_contact_is_kept():
    # skating: both feet glide on the floor at 2 m/s, with the root; nothing is planted
    n = 150
    t = np.arange(n) / FPS
    root = np.stack([2.0 * t, np.zeros(n), np.full(n, 0.95)], 1)
    soles = np.stack([root + [dx, y, -0.95] for y in (0.1, -0.1) for dx in (0.0, 0.15)], 1)
    contact = foot_contacts(soles, FPS, np.arange(n))
    assert contact.max() < 0.5
    offset = correct_contacts(soles, contact, FPS, frame_ids=np.arange(n))
    assert np.abs(offset).max() < 0.01  # the glide (4 m here) stays


def test_a_planted_foot_slide_weighted_by_probability_and_not_across_gaps():
    # one foot planted but drifting 1 cm/frame with the root; the other one in the air
    n = 60
    drift = np.stack([0.01 * np.arange(n), np.zeros(n), np.zeros(n)], 1)
    soles = np.zeros((n, 4, 3))
    soles[:, :2] = drift[:, None] + [[0, 0.1, 0], [0.15, 0.1, 0]]
    soles[:, 2:] = [[0, -0.1, 0.3], [0.15, -0.1, 0.3]]
    contact = np.zeros((n, 4))
    contact[:, :2] = 1.0
    offset = correct_contacts(soles, contact, FPS)
    fixed = soles[:, 0] + offset
    assert np.abs(np.diff(fixed[:, 0])).max() < 0.002  # stopped
    half = correct_contacts(soles, 0.5 * contact, FPS)
    moved = np.diff((soles[:, 0] + half)[:, 0]).mean()
    assert 0.001 < moved < 0.009  # partly absorbed
    # a gap in the frames: the jump across it is not a slide to absorb
    jumped = soles.copy()
    jumped[30:] += [1.0, 0, 0]
    frames = np.r_[np.arange(30), np.arange(40, 70)]
    off_gap = correct_contacts(jumped, contact, FPS, frame_ids=frames)
    assert abs((jumped[30, 0, 0] + off_gap[30, 0]) - (jumped[29, 0, 0] + off_gap[29, 0])) > 0.9


def test_feet_never_go_below_the_floor_and_the_lift_is_smooth():
    root, soles, planted = walk(n=120)
    soles = soles.copy()
    dip = np.zeros(len(soles))
    dip[40:60] = -0.04 * np.sin(np.linspace(0, np.pi, 20))  # the fit sinks 4 cm for a moment
    soles[..., 2] += dip[:, None]
    contact = np.zeros((len(soles), 4))  # no contact: only the floor acts
    offset = correct_contacts(soles, contact, FPS)
    assert (soles[..., 2] + offset[:, None, 2]).min() >= -1e-9
    assert np.abs(offset[:, :2]).max() < 1e-6
    lift = offset[:, 2]
    assert lift[:20].max() < 1e-3 and lift[-20:].max() < 1e-3  # only around the dip
    assert np.abs(np.diff(lift, 3)).max() < 0.01  # no step in it


def test_correction_costs_well_under_a_millisecond_per_frame():
    root, soles, planted = walk(n=3000)
    noise = depth_noise(root, np.array([0.0, -6.0, 1.5]), seed=1)
    soles = soles + noise[:, None]
    contact = foot_contacts(soles, FPS, np.arange(3000))
    t0 = time.perf_counter()
    correct_contacts(soles, contact, FPS, frame_ids=np.arange(3000), rays=root + noise)
    per_frame = (time.perf_counter() - t0) / 3000
    assert per_frame < 2e-4, per_frame


def test_feet_the_picture_does_not_show_are_never_planted():
    """The same noisy walk with its landmarks: feet seen, the contacts are found as above; the
    feet below the frame's edge (confidence 0.02, as for somebody framed from the hips up), no
    contact is claimed and the root keeps its own motion."""
    root, soles, planted = walk()
    camera = np.array([0.0, -6.0, 1.5])
    noise = depth_noise(root, camera)
    noisy_root, noisy_soles = root + noise, soles + noise[:, None]
    frames = np.arange(len(root))
    cams = np.repeat(camera[None], len(root), 0)
    kp = np.zeros((len(root), 33, 3))
    kp[..., 2] = 0.95
    _, _, seen = ground_person(noisy_root, noisy_root[:, None].copy(), noisy_soles, FPS, frames,
                               cams, kp)
    assert ((seen > 0.5) == planted).mean() > 0.85
    kp[:, 25:, 2] = 0.02  # knees down out of the picture
    new_root, _, unseen = ground_person(noisy_root, noisy_root[:, None].copy(), noisy_soles, FPS,
                                        frames, cams, kp)
    assert (unseen < 0.5).all()
    np.testing.assert_allclose(new_root[:, :2], noisy_root[:, :2], atol=1e-3)


def test_a_walk_away_from_the_camera_is_kept_and_depth_noise_is_not():
    """Somebody walks straight away from the camera, 4 m -> 9 m, but the captured legs stay
    under the body (the landmark model's habit for a back view): every "planted" foot travels
    with the root. The correction keeps the walk: the distance changes by more than a factor of
    2.2. The same planted-foot slide on somebody whose distance only wobbles (noise along the
    ray, 5 m +- 0.3) is taken out as before."""
    n = 240
    t = np.arange(n) / FPS
    camera = np.zeros((n, 3))
    planted = np.ones((n, 4))
    soles_at = lambda root: np.stack([root + [dx, 0.0, -root[0, 2]] for dx in
                                      (-0.1, 0.05, 0.1, 0.25)], 1)
    away = np.stack([np.zeros(n), 4.0 + 5.0 * t / t[-1], np.full(n, 0.95)], 1)
    offset = correct_contacts(soles_at(away), planted, FPS, frame_ids=np.arange(n),
                              rays=away - camera)
    travelled = (away + offset)[-1, 1] - (away + offset)[0, 1]
    assert travelled > 3.5, travelled  # of 5 m (the smoothing trims its ends; without: < 1 m)
    without = correct_contacts(soles_at(away), planted, FPS, frame_ids=np.arange(n),
                               rays=away - camera, travel_range=(10.0, 11.0))
    assert (away + without)[-1, 1] - (away + without)[0, 1] < 1.0

    wobble = np.stack([np.zeros(n), 5.0 + 0.3 * np.sin(2 * np.pi * t / 4.0), np.full(n, 0.95)],
                      1)
    offset = correct_contacts(soles_at(wobble), planted, FPS, frame_ids=np.arange(n),
                              rays=wobble - camera)
    corrected = (wobble + offset)[:, 1]
    assert np.ptp(corrected) < 0.1 * np.ptp(wobble[:, 1]), np.ptp(corrected)
