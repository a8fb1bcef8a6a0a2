"""Backend tier: BlazePose's landmark model on tracking ROIs (no person detector), on the real sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videomocap.detect import FrameDetections, PoseDetector, detect_people, ensure_task_bundle
from videomocap.detect.roi_landmarks import Roi, RoiLandmarker, roi_from_alignment, roi_from_keypoints
from videomocap.video import read_frames

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample.mp4"
N = 30


def _world_diff(a, b):
    """Median distance (m) of two world-landmark sets after centring each on its mean (the model's
    hip-centred origin moves a few cm with the crop it was given)."""
    return float(np.median(np.linalg.norm((a - a.mean(0)) - (b - b.mean(0)), axis=1)))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return ensure_task_bundle(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def frames():
    return [f for _, f in read_frames(SAMPLE, 0, N)]


@pytest.fixture(scope="module")
def tasks_api(bundle, frames):
    """The Tasks-API path (detector + landmark model) on every frame on its own."""
    with PoseDetector(max_people=1, mode="image", bundle_path=bundle) as det:
        out = [det.detect(f, i, 33 * i) for i, f in enumerate(frames)]
    assert all(d.num_people == 1 for d in out)
    return out


@pytest.fixture(scope="module")
def roi_model():
    return RoiLandmarker()


def test_follow_sample_agrees_with_tasks_api(frames, tasks_api, roi_model):
    roi = roi_from_keypoints(tasks_api[0].keypoints2d[0])
    for i, frame in enumerate(frames):
        pose = roi_model.landmarks_in_roi(frame, roi)
        assert pose is not None, f"lost the person in frame {i}"
        # a lone ROI runs the model on two threads: the same numbers, bit for bit
        two = roi_model.landmarks_in_roi(frame, roi, threads=2)
        assert np.array_equal(two.kp2d, pose.kp2d) and np.array_equal(two.kp3d, pose.kp3d)
        ref2, ref3 = tasks_api[i].keypoints2d[0], tasks_api[i].keypoints3d[0]
        err = np.linalg.norm(pose.kp2d[:, :2] - ref2[:, :2], axis=1)
        assert np.median(err) < 3.0 and np.percentile(err, 90) < 8.0, (i, err)
        assert np.abs(pose.kp2d[:, 2] - ref2[:, 2]).mean() < 0.05  # hidden joints differ most
        assert _world_diff(pose.kp3d, ref3) < 0.08
        assert pose.presence > 0.9
        # the next ROI is MediaPipe's, from the alignment points: upright person, hips centre
        roi = roi_from_alignment(pose.alignment)
        assert abs(roi.rotation) < 0.3
        hips = pose.kp2d[[23, 24], :2].mean(0)
        assert np.linalg.norm(hips - [roi.cx, roi.cy]) < 0.1 * roi.side
        assert (pose.kp2d[:, 1].max() - pose.kp2d[:, 1].min()) < roi.side


def test_rotated_frame_gives_rotated_landmarks(frames, tasks_api, roi_model):
    """A frame turned 90 degrees counter-clockwise: the ROI turns with the alignment points, 2D
    landmarks come back in the turned frame's pixels and world landmarks in its axes."""
    frame = frames[0]
    width = frame.shape[1]
    up = roi_model.landmarks_in_roi(frame, roi_from_keypoints(tasks_api[0].keypoints2d[0]))
    turned = np.ascontiguousarray(np.rot90(frame))  # (x, y) -> (y, W - x)

    def turn(xy):
        return np.stack([xy[..., 1], width - xy[..., 0]], -1)

    roi = roi_from_alignment(turn(up.alignment))
    assert abs(abs(roi.rotation) - np.pi / 2) < 0.3
    side = roi_model.landmarks_in_roi(turned, roi)
    assert side is not None
    err = np.linalg.norm(side.kp2d[:, :2] - turn(up.kp2d[:, :2]), axis=1)
    assert np.median(err) < 2.0, err
    expect3 = np.stack([up.kp3d[:, 1], -up.kp3d[:, 0], up.kp3d[:, 2]], -1)
    assert np.median(np.linalg.norm(side.kp3d - expect3, axis=1)) < 0.03
    # head above the hips in the turned frame's axes means towards -x
    assert side.kp3d[0, 0] < -0.3


def test_empty_roi_finds_nobody(frames, roi_model):
    black = np.zeros_like(frames[0])
    assert roi_model.landmarks_in_roi(black, Roi(320, 240, 200)) is None
    # a roi on the empty left part of the sample (the person stands on the right)
    assert roi_model.landmarks_in_roi(frames[0], Roi(120, 240, 200)) is None
    assert roi_model.landmarks_in_roi(frames[0], Roi(320, 240, 0.0)) is None


def test_detector_with_roi_tracking_matches_tasks_path(bundle, frames, tasks_api):
    dets = detect_people(enumerate(frames[:12]), fps=30.0, max_people=2, bundle_path=bundle, roi_tracking=True)
    for d, ref in zip(dets, tasks_api):
        assert d.num_people == 1
        err = np.linalg.norm(d.keypoints2d[0, :, :2] - ref.keypoints2d[0, :, :2], axis=1)
        assert np.median(err) < 3.0
        assert d.keypoints3d.shape == (1, 33, 3) and d.boxes.shape == (1, 4)
        assert _world_diff(d.keypoints3d[0], ref.keypoints3d[0]) < 0.08


def test_newcomer_is_followed_back_in_time(bundle, frames, tasks_api):
    """A person the detector first finds in frame 20 (a fresh detector: a newcomer) is followed
    back through the ten frames before, where the detector is told nobody was found, onto the
    places the Tasks API finds them in those frames; where they were found already, nothing is
    added."""
    with PoseDetector(max_people=2, bundle_path=bundle, roi_tracking=True) as det:
        now = det.detect(frames[20], 20, 20 * 33)
        assert now.num_people == 1 and len(det.newcomers) == 1
        empty = [(frames[k], FrameDetections.empty(k), 33 * k) for k in range(19, 9, -1)]
        back = det.trace_back(empty)
        assert sorted(back) == list(range(10)), "followed back through all ten frames"
        for k, poses in back.items():
            assert len(poses) == 1
            ref = tasks_api[19 - k].keypoints2d[0]
            err = np.linalg.norm(poses[0].kp2d[:, :2] - ref[:, :2], axis=1)
            assert np.median(err) < 4.0, (19 - k, np.median(err))
        known = [(frames[k], tasks_api[k], 33 * k) for k in range(19, 9, -1)]
        assert det.trace_back(known) == {}


def test_detect_people_fills_in_a_missed_start(bundle, frames, tasks_api, monkeypatch):
    """When the detector (face-keyed, Tasks API) misses somebody in the first six frames and finds
    them in the seventh, detect_people follows them back through those frames, marks them
    recovered there, and hands each replaced frame to ``revised``."""
    real_run = PoseDetector._run

    def blind_at_first(self, *args, **kwargs):
        return [] if self._frames_seen < 6 else real_run(self, *args, **kwargs)

    monkeypatch.setattr(PoseDetector, "_run", blind_at_first)
    seen = {}
    out = detect_people(enumerate(frames[:12]), 30.0, max_people=2, bundle_path=bundle,
                        revised=lambda position, rgb, dets: seen.update({position: (rgb, dets)}))
    assert [d.num_people for d in out] == [1] * 12
    assert [bool(d.recovered[0]) for d in out] == [True] * 6 + [False] * 6
    assert sorted(seen) == list(range(6))
    for position, (rgb, dets) in seen.items():
        assert dets is out[position] and rgb is frames[position]
        err = np.linalg.norm(dets.keypoints2d[0, :, :2] - tasks_api[position].keypoints2d[0, :, :2], axis=1)
        assert np.median(err) < 4.0


def test_following_back_paints_over_the_people_already_found(bundle, frames, tasks_api):
    """Followed back, the landmark model sees the frame with the other people found there painted
    over (outside the followed person's own columns), as it does following forwards; the person is
    still followed back through every frame, and the pixels of their own box are untouched."""
    with PoseDetector(max_people=2, bundle_path=bundle, roi_tracking=True) as det:
        det.detect(frames[20], 20, 20 * 33)
        assert len(det.newcomers) == 1
        seen = []
        real = det._roi.landmarks_in_roi

        def spy(image, roi, threads=1):
            seen.append(image)
            return real(image, roi, threads)

        det._roi.landmarks_in_roi = spy
        earlier, others = [], []
        for k in range(19, 13, -1):
            true = tasks_api[k]
            box = true.boxes[0]
            shift = 0.8 * (box[2] - box[0])  # somebody found beside them, overlapping their crop
            other = np.array([box[0] + shift, box[1], box[2] + shift, box[3]], np.float32)
            kp2 = true.keypoints2d[0].copy()
            kp2[:, 0] += shift
            dets = FrameDetections(k, kp2[None], true.keypoints3d[:1], other[None], true.scores[:1],
                                   np.zeros(1, bool))
            earlier.append((frames[k], dets, 33 * k))
            others.append((other, box))
        back = det.trace_back(earlier)
    assert sorted(back) == list(range(6))
    assert len(seen) == 6
    for image, (frame, _, _), (other, box) in zip(seen, earlier, others):
        x0, y0, y1 = int(box[0]), int(box[1]), int(box[3])
        x1 = int(other[0])  # the followed person's box, up to where the other's begins
        assert np.array_equal(image[y0:y1, x0:x1], frame[y0:y1, x0:x1]), "their own box is untouched"
        # the other's box beyond the followed person's columns (their box a frame later, a few
        # pixels away from this frame's)
        w = box[2] - box[0]
        ox0, oy0, ox1, oy1 = int(box[2] + 0.1 * w), int(other[1]) + 1, int(other[2]) - 1, int(other[3]) - 1
        ox1 = min(ox1, frame.shape[1])
        painted = image[oy0:oy1, ox0:ox1].reshape(-1, 3)
        assert len(painted) and (painted == painted[0]).all(), "the other person is painted over"
        assert not (frame[oy0:oy1, ox0:ox1].reshape(-1, 3) == painted[0]).all()
