"""Shot cuts found in a stream of frames (video/cuts.py) on generated pictures."""

import numpy as np

from videomocap.video import CutDetector


def _scene(seed: int, width: int = 900) -> np.ndarray:
    """A wide textured picture (blurred noise, like a background) to film."""
    import cv2

    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.integers(0, 256, (270, width, 3), dtype=np.uint8), (0, 0), 25)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)


def test_a_cut_is_found_and_a_pan_or_flicker_is_not():
    first, second = _scene(1), _scene(2)
    frames = []
    for i in range(60):  # a pan: 4 px a frame across a 480-px view
        frames.append(first[:, 4 * i:4 * i + 480].copy())
    for i in range(40):  # cut to another place, panning too, under a flickering light
        f = second[:, 6 * i:6 * i + 480].astype(np.int16) + (12 if i % 2 else -12)
        frames.append(np.clip(f, 0, 255).astype(np.uint8))
    det = CutDetector(30.0)
    assert [k for k, f in enumerate(frames) if det.add(f)] == [60]
    fast = CutDetector(30.0)  # twice as fast, no cut: nothing found
    assert not any(fast.add(first[:, 8 * i:8 * i + 480].copy()) for i in range(50))
