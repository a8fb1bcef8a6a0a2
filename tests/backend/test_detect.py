"""Backend tier: the MediaPipe pose landmarker built from the wheel's own models (detect stage)."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from videomocap.detect import (
    LANDMARK_NAMES,
    FrameDetections,
    PoseDetector,
    detect_people,
    ensure_task_bundle,
)
from videomocap.video import read_frames

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
VTEST = DATA / "video" / "vtest.avi"
needs_vtest = pytest.mark.skipif(not VTEST.is_file(), reason=f"shared test video missing: {VTEST}")

L = {name: i for i, name in enumerate(LANDMARK_NAMES)}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return ensure_task_bundle(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def vtest_dets(bundle):
    if not VTEST.is_file():
        pytest.skip(f"shared test video missing: {VTEST}")
    frames = read_frames(VTEST, 100, 111)
    return detect_people(frames, fps=10.0, max_people=8, bundle_path=bundle)


def test_landmark_names():
    assert len(LANDMARK_NAMES) == 33 and len(set(LANDMARK_NAMES)) == 33
    assert LANDMARK_NAMES[0] == "nose"
    assert (L["left_shoulder"], L["right_hip"], L["right_foot_index"]) == (11, 24, 32)


def test_bundle_builds_and_is_cached(bundle):
    assert bundle.is_file() and bundle.suffix == ".task"
    assert "0.10.21" in bundle.name or "mp" in bundle.name
    with zipfile.ZipFile(bundle) as zf:
        assert {"pose_detector.tflite", "pose_landmarks_detector.tflite"} <= set(zf.namelist())
    before = (bundle.stat().st_mtime_ns, bundle.read_bytes())
    t = time.perf_counter()
    again = ensure_task_bundle(bundle.parent)
    assert time.perf_counter() - t < 1.0
    assert again == bundle
    assert (bundle.stat().st_mtime_ns, bundle.read_bytes()) == before
    assert not [p for p in bundle.parent.iterdir() if p.name.endswith(".tmp")]


def test_bundle_default_cache_dir_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDEOMOCAP_CACHE", str(tmp_path / "c"))
    path = ensure_task_bundle()
    assert path.parent == tmp_path / "c" and path.is_file()


def test_black_frame_finds_nobody(bundle):
    with PoseDetector(max_people=4, bundle_path=bundle) as det:
        d = det.detect(np.zeros((480, 640, 3), np.uint8), 7, 0)
    assert isinstance(d, FrameDetections)
    assert d.frame_index == 7
    assert d.keypoints2d.shape == (0, 33, 3) and d.keypoints2d.dtype == np.float32
    assert d.keypoints3d.shape == (0, 33, 3) and d.keypoints3d.dtype == np.float32
    assert d.boxes.shape == (0, 4) and d.scores.shape == (0,)


def test_timestamps_must_increase(bundle):
    with PoseDetector(bundle_path=bundle) as det:
        frame = np.zeros((120, 160, 3), np.uint8)
        det.detect(frame, 0, 100)
        with pytest.raises(ValueError):
            det.detect(frame, 1, 100)


@needs_vtest
def test_vtest_several_people(vtest_dets):
    assert [d.frame_index for d in vtest_dets] == list(range(100, 111))
    counts = [d.num_people for d in vtest_dets]
    assert sum(c >= 2 for c in counts) >= 0.8 * len(counts), counts
    assert max(counts) >= 3, counts


@needs_vtest
def test_vtest_arrays_consistent(vtest_dets):
    for d in vtest_dets:
        p = d.num_people
        assert d.keypoints2d.shape == (p, 33, 3) and d.keypoints2d.dtype == np.float32
        assert d.keypoints3d.shape == (p, 33, 3) and d.keypoints3d.dtype == np.float32
        assert d.boxes.shape == (p, 4) and d.scores.shape == (p,)
        assert np.all((d.scores >= 0) & (d.scores <= 1))
        conf = d.keypoints2d[..., 2]
        assert np.all((conf >= 0) & (conf <= 1))
        for k in range(p):
            kp = d.keypoints2d[k]
            sure = kp[:, 2] > 0.5
            assert sure.sum() >= 10
            # confident keypoints lie in the 768x576 image
            assert np.all((kp[sure, 0] >= -1) & (kp[sure, 0] <= 769)), kp[sure, :2]
            assert np.all((kp[sure, 1] >= -1) & (kp[sure, 1] <= 577)), kp[sure, :2]
            # the box holds every keypoint that is inside the image
            x0, y0, x1, y1 = d.boxes[k]
            assert 0 <= x0 < x1 <= 768 and 0 <= y0 < y1 <= 576
            inside = (kp[:, 0] >= 0) & (kp[:, 0] <= 768) & (kp[:, 1] >= 0) & (kp[:, 1] <= 576)
            assert np.all((kp[inside, 0] >= x0) & (kp[inside, 0] <= x1))
            assert np.all((kp[inside, 1] >= y0) & (kp[inside, 1] <= y1))
            # vtest pedestrians are small: boxes well under half the frame height
            assert y1 - y0 < 300


@needs_vtest
def test_vtest_world_landmarks_human_sized_and_camera_aligned(vtest_dets):
    good = 0
    for d in vtest_dets:
        for k in range(d.num_people):
            if d.scores[k] < 0.6:
                continue
            w = d.keypoints3d[k]
            hips = w[[L["left_hip"], L["right_hip"]]].mean(0)
            shoulders = w[[L["left_shoulder"], L["right_shoulder"]]].mean(0)
            assert np.linalg.norm(hips) < 0.05  # hip-centred
            assert 0.3 < np.linalg.norm(shoulders - hips) < 0.7
            # y points down: head above hips above ankles (upright pedestrians)
            assert w[L["nose"], 1] < shoulders[1] < 0 < w[[L["left_ankle"], L["right_ankle"]], 1].mean()
            # x follows the image x: the left/right shoulder order agrees in both
            kp = d.keypoints2d[k]
            img_dx = kp[L["left_shoulder"], 0] - kp[L["right_shoulder"], 0]
            wld_dx = w[L["left_shoulder"], 0] - w[L["right_shoulder"], 0]
            if abs(img_dx) > 4:
                assert np.sign(img_dx) == np.sign(wld_dx)
            good += 1
    assert good >= 10


def test_image_mode_matches_black(bundle):
    with PoseDetector(mode="image", bundle_path=bundle) as det:
        assert det.detect(np.zeros((64, 64, 3), np.uint8), 0, 0).num_people == 0
    with pytest.raises(ValueError):
        PoseDetector(mode="bogus", bundle_path=bundle)


@needs_vtest
def test_vtest_world_z_points_away_from_camera(vtest_dets):
    """People facing the camera (their left shoulder on the image right) have the nose at smaller z
    than the shoulders: z grows away from the camera, as in OpenCV's camera frame."""
    agree = total = 0
    for d in vtest_dets:
        for k in range(d.num_people):
            kp, w = d.keypoints2d[k], d.keypoints3d[k]
            dx = kp[L["left_shoulder"], 0] - kp[L["right_shoulder"], 0]
            if d.scores[k] < 0.6 or abs(dx) < 4:
                continue
            nose_ahead = w[L["nose"], 2] < w[[L["left_shoulder"], L["right_shoulder"]], 2].mean()
            agree += int(nose_ahead == (dx > 0))
            total += 1
    assert total >= 10 and agree >= 0.8 * total, (agree, total)


def test_person_score_sees_the_person_and_not_the_empty_frame(bundle):
    """The detector-only look the scan takes first: high on a frame with somebody, under the
    scan's gate on the same frame with them painted over and on a black frame."""
    from videomocap.detect.person_score import PersonScore
    from videomocap.detect.landmarker import _paint_over

    from ..conftest import SAMPLE

    frame = next(iter(read_frames(SAMPLE, 30, 31)))[1]
    with PoseDetector(mode="image", bundle_path=bundle) as det:
        found = det.detect(frame, 30, 0)
        gate = det._gate
    assert found.num_people == 1
    score = PersonScore()
    x0, y0, x1, y1 = (int(v) for v in found.boxes[0])
    half = (y1 - y0) * 3 // 4  # a square around them, as a scan tile holds somebody
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    tile = np.array(frame[max(0, cy - half):cy + half, max(0, cx - half):cx + half])
    assert score.best(tile) > 0.5 and score.best(tile, threads=2) == score.best(tile)
    _paint_over(tile, (max(0, cx - half), max(0, cy - half)), [(x0 - 10, y0 - 10, x1 + 10, y1 + 10)])
    assert score.best(tile) < gate and score.best(np.zeros_like(frame)) < gate


@needs_vtest
def test_scan_gate_changes_nothing_but_time(bundle, monkeypatch):
    """A scan skipped because the detector alone scores the region low would have found nobody:
    on real footage, every scan region (the whole frame and each tile) gives the same poses
    with the gate as without it, bit for bit, the gate having skipped some of them."""
    from videomocap.detect import person_score
    from videomocap.detect.landmarker import _tiles

    looks = []
    real = person_score.PersonScore.best

    def counted(self, image, threads=1):
        looks.append(real(self, image, threads))
        return looks[-1]

    monkeypatch.setattr(person_score.PersonScore, "best", counted)
    found = 0
    with PoseDetector(mode="image", bundle_path=bundle) as det:
        for _, frame in read_frames(VTEST, 100, 104):
            height, width = frame.shape[:2]
            for region in [(0, 0, width, height)] + _tiles(width, height):
                det._gate_passed = 0.0  # the gate is looked through whatever came before
                gated = det._run(det._scan, frame, region, gate=True, threads=2)
                plain = det._run(det._scan, frame, region)
                assert len(gated) == len(plain), region
                for a, b in zip(gated, plain):
                    assert np.array_equal(a.kp2d, b.kp2d)
                found += bool(plain)
    skipped = sum(s < det._gate for s in looks)
    assert found >= 10 and skipped >= 5 and len(looks) == 4 * (1 + len(_tiles(width, height)))
