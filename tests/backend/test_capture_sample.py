"""Backend tier, end to end: the shipped sample video (a MakeHuman body walking CMU mocap, rendered
with known ground truth) through the real CLI, decoded and landmarked for real."""

from __future__ import annotations

import numpy as np
import pytest

from videomocap import motion_file
from videomocap.bench.evaluate import load_ground_truth, score_person
from videomocap.skeleton import CONTACT_NAMES

from ..conftest import SAMPLE, SAMPLE_GT


@pytest.fixture(scope="module")
def capture(sample_capture):
    return motion_file.load(sample_capture), load_ground_truth(SAMPLE_GT)


def test_one_person_tracked_through_the_whole_clip(capture):
    motion, gt = capture
    assert len(motion.people) == 1
    person = motion.people[0]
    assert len(person.frame_ids) >= 0.95 * len(gt["joints"])
    assert motion.fps == pytest.approx(float(gt["fps"]))
    assert tuple(motion.image_size) == tuple(gt["image_size"])


def test_body_accuracy_against_ground_truth(capture):
    """Measured 2026-11-21: MPJPE 93 mm, PA-MPJPE 62 mm, Accel 3.1 m/s^2, RTE 2.1 %."""
    motion, gt = capture
    s = score_person(motion.people[0], gt, motion)
    assert s["MPJPE"] < 130, s
    assert s["PA-MPJPE"] < 90, s
    assert s["Accel"] < 6, s
    assert s["RTE%"] < 5, s


def test_world_frame_is_grounded_and_upright(capture):
    motion, gt = capture
    p = motion.people[0]
    head_minus_pelvis = p.joints[:, 15, 2] - p.joints[:, 0, 2]
    assert np.all(head_minus_pelvis > 0.4)  # upright in z-up world
    low = p.joints[:, [7, 8, 10, 11], 2].min(axis=1)
    assert abs(np.median(low)) < 0.1  # feet on z = 0
    # the camera is above the floor, as in the render (ground truth camera height)
    assert abs(motion.cam_t[0, 2] - gt["cam_t"][0, 2]) < 0.5 * gt["cam_t"][0, 2]


def test_contacts_agree_with_ground_truth_labels(capture):
    motion, gt = capture
    p = motion.people[0]
    pred = p.contact > 0.5
    true = gt["contact"][p.frame_ids] > 0.5
    agree = (pred == true).mean()
    assert agree > 0.7, (agree, CONTACT_NAMES)


def test_head_is_upright_like_the_walker_in_the_video(capture):
    """The walker looks ahead; a badly placed face marker once tilted every head down ~30 deg."""
    from videomocap.skeleton import JOINT_INDEX, forward_kinematics

    motion, _ = capture
    p = motion.people[0]
    _, rot = forward_kinematics(p.global_orient, p.body_pose, p.transl, p.bone_lengths)
    head_up = rot[:, JOINT_INDEX["head"]] @ np.array([0.0, 1.0, 0.0])  # body-frame up of the head
    tilt = np.degrees(np.arccos(np.clip(head_up[:, 2], -1, 1)))
    assert np.median(tilt) < 20, np.median(tilt)


def test_feet_out_of_the_picture_are_never_planted(capture, tmp_path):
    """The sample cropped to its top 55 % (the walker from the hips up, legs below the edge): the
    landmark model still places legs and feet, but no contact is claimed for them, where the
    full picture has the feet planted on a good share of the frames."""
    import cv2

    from videomocap.pipeline import capture as run_capture

    src = cv2.VideoCapture(str(SAMPLE))
    fps = src.get(cv2.CAP_PROP_FPS)
    ok, frame = src.read()
    keep = int(frame.shape[0] * 0.55)
    path = tmp_path / "hips_up.mp4"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                          (frame.shape[1], keep))
    for _ in range(90):
        out.write(frame[:keep])
        ok, frame = src.read()
    out.release()
    src.release()
    cropped = run_capture(path, tmp_path / "hips_up.mocap.npz")
    assert len(cropped.people) == 1
    person = cropped.people[0]
    assert person.keypoints2d[:, 27:, 2].mean() < 0.1  # the feet are guesses there
    assert (person.contact < 0.5).all()
    full = capture[0].people[0]
    assert (full.contact[:90] > 0.5).any(axis=1).mean() > 0.4


def test_people_are_not_followed_across_a_cut(tmp_path):
    """An edited clip: 40 frames of the sample, then a cut to the same scene mirrored (the walker
    now where the wall was). The capture finds the cut and gives each shot its own person; the
    walker is not followed from one shot into the other."""
    import cv2

    from videomocap.pipeline import capture as run_capture

    src = cv2.VideoCapture(str(SAMPLE))
    fps = src.get(cv2.CAP_PROP_FPS)
    frames = [src.read()[1] for _ in range(80)]
    src.release()
    path = tmp_path / "cut.mp4"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                          (frames[0].shape[1], frames[0].shape[0]))
    for k, frame in enumerate(frames):
        out.write(frame if k < 40 else cv2.flip(frame, 1))
    out.release()
    motion = run_capture(path, tmp_path / "cut.mocap.npz")
    assert motion.meta["shot_cuts"] == [40]
    spans = sorted((int(p.frame_ids[0]), int(p.frame_ids[-1])) for p in motion.people)
    assert len(spans) == 2 and spans[0][1] < 40 <= spans[1][0], spans


def test_the_picture_tells_planted_feet_from_moving_ones(capture):
    """The flow measured at the captured person's feet in the real video: lower where the ground
    truth has a foot planted than where it moves, for nearly every pair of such frames."""
    from videomocap.detect.foot_motion import measure_foot_motion
    from videomocap.video import read_frames

    motion, gt = capture
    person = motion.people[0]
    speed = measure_foot_motion(read_frames(SAMPLE, 0, None), [person], relative=False)[0]
    assert np.isfinite(speed).mean() > 0.95
    planted = gt["contact"][person.frame_ids] > 0.5
    for k, name in enumerate(CONTACT_NAMES):
        seen = np.isfinite(speed[:, k])
        on, off = speed[seen & planted[:, k], k], speed[seen & ~planted[:, k], k]
        # the share of (planted, moving) frame pairs the measure orders right (the ROC area)
        area = (on[:, None] < off[None, :]).mean()
        assert area > 0.85, (name, area)
        assert np.median(on) * motion.fps < 0.1, name  # planted: under 0.1 heights a second
