"""BlazePose's landmark model run directly on a region of interest, without the person detector.

MediaPipe's own video mode runs its person detector only when it has nobody to follow; otherwise it
crops the next frame around a *tracking ROI* built from the previous frame's landmarks and runs only
the landmark model there. The detector keys on the face, so it misses small, pale or half-hidden
people that the landmark model, given a good region, still finds. :class:`RoiLandmarker` does that
second half with the landmark model shipped in the mediapipe wheel
(``modules/pose_landmark/pose_landmark_full.tflite``), run by the LiteRT interpreter
(``ai-edge-litert``).

The model (read from its input/output details): input (1, 256, 256, 3) float32 RGB in [0, 1];
outputs landmarks (1, 195) = 39 points x (x, y, z, visibility logit, presence logit) in input
pixels, a pose-presence score (1, 1), segmentation, heatmap and world landmarks (1, 117) = 39 x 3
metres. Points 0-32 are the BlazePose landmarks; 33 (hips centre) and 34 (a point whose direction
and distance from 33 give the body's rotation and scale) are the alignment points the next ROI is
built from, as in MediaPipe's ``pose_landmarks_to_roi`` graph: centre on point 33, rotation making
33 -> 34 point up, square side 2 x |34 - 33| x 1.25.

An :class:`Roi` is a square in frame pixels (continuous coordinates: pixel i spans [i, i + 1)),
rotated by ``rotation`` radians (clockwise on screen, image y pointing down, as MediaPipe's
``NormalizedRect.rotation``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Roi", "RoiPose", "RoiLandmarker", "roi_from_alignment", "roi_from_keypoints"]

_SIZE = 256
_ROI_SCALE = 1.25
_NUM = 33


@dataclass(frozen=True)
class Roi:
    cx: float
    cy: float
    side: float
    rotation: float = 0.0  # radians

    def shifted(self, dx: float, dy: float) -> "Roi":
        return Roi(self.cx + dx, self.cy + dy, self.side, self.rotation)

    def to_frame(self) -> np.ndarray:
        """(2, 3) affine taking ROI-normalised coordinates ([0, 1]^2) to frame pixels."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        a = self.side * np.array([[c, -s], [s, c]])
        t = np.array([self.cx, self.cy]) - a @ np.array([0.5, 0.5])
        return np.hstack([a, t[:, None]])


@dataclass
class RoiPose:
    kp2d: np.ndarray  # (33, 3): frame pixels x, y; confidence sigmoid(visibility) * sigmoid(presence)
    kp3d: np.ndarray  # (33, 3): world landmarks, metres, rotated back to the frame's axes
    alignment: np.ndarray  # (2, 2): frame pixels of alignment points 33 (hips centre) and 34
    presence: float  # pose-presence score of the ROI


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def roi_from_alignment(alignment: np.ndarray) -> Roi:
    """MediaPipe's tracking ROI from the two alignment points (frame pixels)."""
    (x0, y0), (x1, y1) = np.asarray(alignment, float)[:2, :2]
    rotation = 0.5 * math.pi - math.atan2(-(y1 - y0), x1 - x0)
    rotation = rotation - 2 * math.pi * math.floor((rotation + math.pi) / (2 * math.pi))
    side = 2.0 * math.hypot(x1 - x0, y1 - y0) * _ROI_SCALE
    return Roi(float(x0), float(y0), float(max(side, 8.0)), float(rotation))


def roi_from_keypoints(kp2d: np.ndarray) -> Roi:
    """A tracking ROI for a pose known only by its 33 landmarks (e.g. found by the Tasks API):
    centred on the hips' midpoint, rotated so that hips -> shoulders points up, and large enough
    to hold every landmark (the alignment points' circle encloses the body the same way)."""
    kp = np.asarray(kp2d, float)
    hips = kp[[23, 24], :2].mean(0)
    shoulders = kp[[11, 12], :2].mean(0)
    radius = float(np.linalg.norm(kp[:, :2] - hips, axis=1).max())
    up = shoulders - hips
    n = float(np.linalg.norm(up))
    up = up / n if n > 1e-6 else np.array([0.0, -1.0])
    return roi_from_alignment(np.stack([hips, hips + 1.1 * radius * up]))


class RoiLandmarker:
    """The landmark model on ROIs. Thread-safe: each thread gets an interpreter of its own."""

    def __init__(self, model_path=None, min_presence: float = 0.5):
        from .task_bundle import LANDMARKER_NAME, ThreadInterpreters

        def indices(it):
            outs = {tuple(d["shape"][1:]): d["index"] for d in it.get_output_details()}
            return it.get_input_details()[0]["index"], outs[(195,)], outs[(1,)], outs[(117,)]

        self._interpreters = ThreadInterpreters(LANDMARKER_NAME, indices, model_path)
        self.min_presence = float(min_presence)

    def crop(self, frame: np.ndarray, roi: Roi) -> np.ndarray:
        """The (256, 256, 3) float32 [0, 1] model input for ``roi`` (outside the frame: black)."""
        import cv2

        a = roi.to_frame()
        # dst pixel u (centre u + 0.5) -> ROI-normalised (u + 0.5) / 256 -> frame continuous -> frame pixel index
        m = a[:, :2] / _SIZE
        t = a[:, 2] + m @ np.array([0.5, 0.5]) - 0.5
        warp = np.hstack([m, t[:, None]]).astype(np.float64)
        img = cv2.warpAffine(frame, warp, (_SIZE, _SIZE), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        return img.astype(np.float32) * (1.0 / 255.0)

    def landmarks_in_roi(self, frame: np.ndarray, roi: Roi, threads: int = 1) -> RoiPose | None:
        """The pose in ``roi`` of the RGB uint8 ``frame``, or None if the model says nobody is there
        (presence below ``min_presence``) or the ROI is degenerate. ``threads``: how many threads
        the model runs on (more than one only where nothing else runs beside it)."""
        if not (roi.side >= 8 and all(map(math.isfinite, (roi.cx, roi.cy, roi.side, roi.rotation)))):
            return None
        it, (inp, lm_i, flag_i, world_i) = self._interpreters.get(threads)
        it.set_tensor(inp, self.crop(frame, roi)[None])
        it.invoke()
        flag = float(np.asarray(it.get_tensor(flag_i)).reshape(-1)[0])
        presence = flag if 0.0 <= flag <= 1.0 else float(_sigmoid(np.float64(flag)))
        if presence < self.min_presence:
            return None
        lm = np.asarray(it.get_tensor(lm_i), np.float64).reshape(39, 5)
        world = np.asarray(it.get_tensor(world_i), np.float64).reshape(39, 3)
        a = roi.to_frame()
        xy = lm[:, :2] / _SIZE @ a[:, :2].T + a[:, 2]
        conf = _sigmoid(lm[:_NUM, 3]) * _sigmoid(lm[:_NUM, 4])
        kp2d = np.concatenate([xy[:_NUM], conf[:, None]], 1).astype(np.float32)
        c, s = math.cos(roi.rotation), math.sin(roi.rotation)
        kp3d = world[:_NUM].copy()
        kp3d[:, 0] = c * world[:_NUM, 0] - s * world[:_NUM, 1]
        kp3d[:, 1] = s * world[:_NUM, 0] + c * world[:_NUM, 1]
        return RoiPose(kp2d, kp3d.astype(np.float32), xy[33:35].astype(np.float32), presence)
