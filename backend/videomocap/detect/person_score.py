"""How sure BlazePose's person detector is that an image holds somebody: a cheap look before the
costly one.

The scan for newcomers (:class:`~videomocap.detect.landmarker.PoseDetector`) hands image regions
to MediaPipe's Tasks API pose landmarker, which runs the person detector and then, for every
person found, the landmark model. Most scanned regions hold nobody new (the people followed are
painted over), yet the Tasks call costs about 14 ms for the detector alone: it runs on one
thread, behind a graph. :class:`PersonScore` runs the same detector model (shipped in the
mediapipe wheel, ``modules/pose_detection/pose_detection.tflite``) with the LiteRT interpreter
on all free threads, on the same input (the image letterboxed into 224 x 224, values in
[-1, 1], the border black), and returns its best anchor score; where that is well below the
Tasks API's own detection threshold the Tasks call cannot find anybody and is skipped. The
model (read from its input/output details): input (1, 224, 224, 3) float32; outputs boxes and
keypoints (1, 2254, 12) and score logits (1, 2254, 1).
"""

from __future__ import annotations

import numpy as np

__all__ = ["PersonScore"]

_SIZE = 224


class PersonScore:
    """The detector's best person score for an RGB uint8 image. Thread-safe: each thread gets
    interpreters of its own."""

    def __init__(self, model_path=None):
        from .task_bundle import DETECTOR_NAME, ThreadInterpreters

        def indices(it):
            scores = [d["index"] for d in it.get_output_details() if tuple(d["shape"][2:]) == (1,)]
            return it.get_input_details()[0]["index"], scores[0]

        self._interpreters = ThreadInterpreters(DETECTOR_NAME, indices, model_path)

    @staticmethod
    def model_input(image: np.ndarray) -> np.ndarray:
        """``image`` scaled to fit 224 x 224 keeping its aspect ratio, centred on black, as
        float32 in [-1, 1] with a batch axis."""
        import cv2

        h, w = image.shape[:2]
        scale = _SIZE / max(h, w)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
        out = np.zeros((_SIZE, _SIZE, 3), np.uint8)
        x0, y0 = (_SIZE - nw) // 2, (_SIZE - nh) // 2
        out[y0:y0 + nh, x0:x0 + nw] = small
        return (out.astype(np.float32) * (2.0 / 255.0) - 1.0)[None]

    def best(self, image: np.ndarray, threads: int = 1) -> float:
        """The highest person score (0-1) of any anchor for ``image`` (H, W, 3) RGB uint8."""
        it, (inp, out) = self._interpreters.get(threads)
        it.set_tensor(inp, self.model_input(image))
        it.invoke()
        logit = float(np.max(it.get_tensor(out)))
        return float(1.0 / (1.0 + np.exp(-np.clip(logit, -100.0, 100.0))))
