"""Image motion of feet, measured with OpenCV's optical flow on generated frames."""

from dataclasses import dataclass

import numpy as np

from videomocap.detect.foot_motion import measure_foot_motion

HEIGHT_PX = 100.0  # the person's landmark height in the picture
FOOT_Y = 198


@dataclass
class _Track:
    frame_ids: np.ndarray
    keypoints2d: np.ndarray


def _texture(h, w, seed):
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, size=(h // 4 + 2, w // 4 + 2))
    return np.kron(small, np.ones((4, 4)))[:h, :w]  # 4-px blocks: corners everywhere


def _landmarks(left_x, right_x):
    """(33, 3) landmarks: the head 100 px above the feet; each foot's ankle, heel and tip."""
    kp = np.zeros((33, 3))
    kp[:, 2] = 0.9
    kp[:, :2] = [0.5 * (left_x + right_x), FOOT_Y - HEIGHT_PX]
    for (ankle, heel, tip), x in (((27, 29, 31), left_x), ((28, 30, 32), right_x)):
        kp[ankle] = (x, FOOT_Y - 6, 0.9)
        kp[heel] = (x - 4, FOOT_Y, 0.9)
        kp[tip] = (x + 6, FOOT_Y + 2, 0.9)
    return kp


def _scene(left_x, pan_px=0):
    """Frames of a textured floor that the camera pans ``pan_px`` (whole pixels) a frame to the
    right, and the track of a person whose left foot (a patch of its own texture) is at
    ``left_x[i]`` in the picture and whose right foot stands on the floor (drawn into the
    floor's texture, so it moves with the floor)."""
    n = len(left_x)
    floor = _texture(240, 320 + pan_px * n + 32, seed=0)
    floor[FOOT_Y - 8:FOOT_Y + 8, 200:220] = _texture(16, 20, seed=2)  # the planted right foot
    foot = _texture(16, 20, seed=1)
    frames, landmarks = [], []
    for i, x in enumerate(left_x):
        img = floor[:, pan_px * i:pan_px * i + 320].copy()
        img[FOOT_Y - 8:FOOT_Y + 8, int(x) - 10:int(x) + 10] = foot
        frames.append(np.repeat(img[..., None], 3, axis=2).astype(np.uint8))
        landmarks.append(_landmarks(x, 210.0 - pan_px * i))
    return frames, np.array(landmarks)


def test_a_still_foot_shows_no_motion_and_a_moving_one_does():
    x = np.r_[np.full(10, 100.0), 100.0 + 4.0 * np.arange(1, 11)]  # still, then 4 px a frame
    frames, landmarks = _scene(x)
    keep = np.arange(len(x)) != 15  # the track misses frame 15: frame 14 has no next frame
    track = _Track(np.flatnonzero(keep), landmarks[keep])
    speed = measure_foot_motion(iter(enumerate(frames)), [track], relative=False)[0]
    assert speed.shape == (keep.sum(), 4)
    # each side's measure goes to both of its points (heel, toe)
    assert np.array_equal(speed[:, 0], speed[:, 1], equal_nan=True)
    assert np.array_equal(speed[:, 2], speed[:, 3], equal_nan=True)
    assert np.isnan(speed[14]).all() and np.isnan(speed[-1]).all()
    left, right = speed[:, 0], speed[:, 2]
    assert np.nanmax(left[:9]) < 0.005  # still: well under a pixel (heights per frame)
    assert np.all(np.abs(left[10:14] - 4.0 / HEIGHT_PX) < 0.01)  # moving 4 px a frame
    assert np.nanmax(right) < 0.005


def test_under_a_panning_camera_a_foot_on_the_floor_moves_with_the_floor():
    """The camera pans 3 px a frame. The planted foot moves 3 px in the picture, and so does the
    floor below it: measured against the floor it is still. The other foot keeps its pixel, so
    against the floor it slides 3 px a frame."""
    frames, landmarks = _scene(np.full(12, 100.0), pan_px=3)
    track = _Track(np.arange(12), landmarks)
    raw = measure_foot_motion(iter(enumerate(frames)), [track], relative=False)[0][:-1]
    rel = measure_foot_motion(iter(enumerate(frames)), [track], relative=True)[0][:-1]
    step = 3.0 / HEIGHT_PX
    assert np.all(np.abs(raw[:, 2] - step) < 0.005)  # the planted foot moves in the picture
    assert np.max(rel[:, 2]) < 0.005  # but not against the floor
    assert np.max(raw[:, 0]) < 0.01  # the other foot holds its pixel ...
    assert np.all(np.abs(rel[:, 0] - step) < 0.01)  # ... so it slides over the floor


def test_a_stopped_measure_reads_no_further():
    """The pipeline stops the measure when the fit beside it fails: it returns at once, reading
    at most the frame in hand, and leaves everything unmeasured."""
    import threading

    frames, landmarks = _scene(np.full(8, 100.0))
    read = []

    def video():
        for i, f in enumerate(frames):
            read.append(i)
            yield i, f

    stop = threading.Event()
    stop.set()
    speed = measure_foot_motion(video(), [_Track(np.arange(8), landmarks)], False, stop)[0]
    assert np.isnan(speed).all() and len(read) <= 1
