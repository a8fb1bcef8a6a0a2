"""Multi-person 2D + 3D body keypoints with the MediaPipe pose landmarker (BlazePose GHUM, "full").

Why not just ``PoseLandmarker`` in VIDEO mode on the whole frame: its person detector sees the frame
letterboxed to 224x224, so people smaller than roughly a quarter of the frame height are never
found (measured: on ``vtest.avi``, 768x576 with ~80 px pedestrians, full-frame VIDEO mode with
``num_poses=8`` finds nobody in any frame). So :class:`PoseDetector` runs the same Tasks-API
landmarker (IMAGE mode) on image regions:

* **tracked crops**: every person kept from the previous frame gets a square crop around their
  previous box (1.4x the longer side,
  other followed people painted over); the landmarker re-finds them there at full resolution;
* **tracking ROIs** (on by default; ``roi_tracking=False`` or ``VIDEOMOCAP_ROI_TRACKING=0`` turns
  them off): as MediaPipe's own video mode does, a person followed is looked for by the landmark model
  alone, without the face-keyed person detector, in the rotated square ROI built from their last
  landmarks (:mod:`.roi_landmarks`); people lost are searched for the same way at the ROI their
  last sideways motion leads to, for ``_ROI_LOST_SECONDS``. The detector crop above is the
  fallback where the model finds nobody. Measured on the rendered bench scenes
  (tools/diag/detection_recall.py): the recall of a small pale walker rose from 17 to 118 of 151
  visible frames, of a walker behind another from 67 to 136 of 148, IDF1 0.773 -> 0.889 and
  0.794 -> 0.963 with no identity switch, at a lower cost per frame;
* **scan tiles**: the whole frame plus overlapping square tiles of about 1/3 of the short side
  (at least 160 px) find new people. In ``mode="video"`` the first frame is scanned completely and
  later frames each scan the next few regions of that rotation in turn, so the whole frame is
  re-scanned about once a second of video while people are followed (twice while nobody is, with
  the full frame looked at on every frame); in ``mode="image"`` every frame is scanned completely.
* **following back** (:func:`detect_people`, with tracking ROIs): somebody who appears (found by
  the scan, or found again after being lost) is followed backwards through the last second of
  frames in their tracking ROI, where the scan had missed them; those frames gain them as
  recovered detections. On the three-person bench scene the pale walker's first 11 frames come
  back that way (IDF1 0.889 -> 0.898). As going forwards, the people already found in a frame
  are painted over outside the followed person's columns: the same walker, coming out from
  behind a nearer one, was followed back 1 frame without that and 11 with it (IDF1 0.898 ->
  0.904; two-cross-static 0.963 -> 0.966).

Candidates from all regions are mapped back to frame pixels, and duplicates (the same person seen
in several regions) are suppressed by box overlap / keypoint distance, keeping the most confident.

Outputs per frame (:class:`FrameDetections`):

* ``keypoints2d`` (P, 33, 3): x, y in pixels of the (upright) frame and a confidence
  ``visibility * presence``. MediaPipe's *presence* is the probability that the landmark lies inside
  the image region it was found in, *visibility* the probability that it is present and not
  occluded; their product is low both for hidden joints and for joints that were extrapolated past
  the crop/frame border, which is what a 2D fitting weight should be.
* ``keypoints3d`` (P, 33, 3): MediaPipe *world* landmarks, metres, origin midway between the hips.
  Axes, checked empirically on vtest (see tests): aligned with the camera frame the image was taken
  in, i.e. OpenCV-like: **x to the image right, y down (head has negative y, ankles positive), z away
  from the camera** (nose z < 0 for people facing the camera); no translation to the camera. Scale
  is a typical adult's (shoulder-to-hip midpoint distance ~0.45 m).
* ``boxes`` (P, 4): x0, y0, x1, y1 pixels around all 33 landmarks, padded by 10 % of the box size
  and clipped to the frame.
* ``scores`` (P,): per-person confidence = mean keypoint confidence over the 33 landmarks.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from .task_bundle import ensure_task_bundle

log = logging.getLogger(__name__)

LANDMARK_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
)
NUM_LANDMARKS = len(LANDMARK_NAMES)

_BOX_PAD = 0.10  # fraction of the landmark box size added on every side
_CROP_SCALE = 1.4  # tracked crop side / longer side of the previous box
_MIN_CROP = 96  # px
_MIN_TILE = 160  # px
_TILE_SCALES = ((0.75, 1.0 / 3.0), (0.5, 0.5))  # (tile side / short side, stride / side)
_RESCAN_SECONDS = 1.0  # video mode: the whole frame is re-scanned about this often
_LOST_SECONDS = 1.0  # a person not found is searched for at their predicted place this long
# with ROI tracking a lost person costs one landmark-model run a frame, so they are searched for
# longer: long enough to come out from behind somebody walking the same way
_ROI_LOST_SECONDS = 2.0
_ROI_RETRY_AFTER = 1.0  # seconds lost before the tighter ROI is tried too
# people who appear (found by the scan, or found again after being lost) are followed backwards
# through this many seconds of the frames before, where the detector had missed them
_TRACE_BACK_SECONDS = 1.0
_TRACE_BACK_BYTES = 256 * 2 ** 20  # at most this much of recent frames is kept for it
_ROI_MAX_TURN = math.radians(45.0)  # most a body's ROI may turn between two frames
_ROI_MAX_TILT = math.radians(100.0)  # most a pose found in an ROI may lean from upright
_DUP_IOU = 0.5
_DUP_KP = 0.25  # mean torso-keypoint distance / torso size under which two poses are one person
_TORSO = (11, 12, 23, 24)

__all__ = ["LANDMARK_NAMES", "NUM_LANDMARKS", "FrameDetections", "PoseDetector", "detect_people"]


@dataclass
class FrameDetections:
    """Everyone found in one frame. P may be 0 (arrays then have a leading 0 dimension)."""

    frame_index: int
    keypoints2d: np.ndarray  # (P, 33, 3) float32: x, y pixels; confidence in [0, 1]
    keypoints3d: np.ndarray  # (P, 33, 3) float32: world landmarks, metres, hip-centred
    boxes: np.ndarray  # (P, 4) float32: x0, y0, x1, y1 pixels
    scores: np.ndarray  # (P,) float32
    #: (P,) bool: found again by searching where a person lost in the frames before should be,
    #: not by the scan or the crop of a person seen in the previous frame (less certain)
    recovered: np.ndarray | None = None

    def __post_init__(self):
        if self.recovered is None:
            self.recovered = np.zeros(len(self.scores), bool)

    @property
    def num_people(self) -> int:
        return int(self.keypoints2d.shape[0])

    def with_people(self, poses: list) -> "FrameDetections":
        """A copy with ``poses`` (found afterwards, by following people back in time) added as
        recovered people, everyone ordered left to right."""
        kp2 = np.concatenate([self.keypoints2d, np.stack([p.kp2d for p in poses])]).astype(np.float32)
        order = np.argsort(kp2[:, :, 0].min(1) + kp2[:, :, 0].max(1), kind="stable")
        cat = lambda a, b, dt: np.concatenate([a, np.asarray(b, dt)])[order]  # noqa: E731
        return FrameDetections(
            frame_index=self.frame_index,
            keypoints2d=kp2[order],
            keypoints3d=cat(self.keypoints3d, [p.kp3d for p in poses], np.float32),
            boxes=cat(self.boxes, [p.box for p in poses], np.float32),
            scores=cat(self.scores, [p.score for p in poses], np.float32),
            recovered=cat(self.recovered, [True] * len(poses), bool),
        )

    @classmethod
    def empty(cls, frame_index: int) -> "FrameDetections":
        return cls(
            frame_index=int(frame_index),
            keypoints2d=np.zeros((0, NUM_LANDMARKS, 3), np.float32),
            keypoints3d=np.zeros((0, NUM_LANDMARKS, 3), np.float32),
            boxes=np.zeros((0, 4), np.float32),
            scores=np.zeros((0,), np.float32),
            recovered=np.zeros((0,), bool),
        )


@dataclass
class _Pose:
    kp2d: np.ndarray  # (33, 3)
    kp3d: np.ndarray  # (33, 3)
    box: np.ndarray  # (4,)
    score: float
    recovered: bool = False
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))  # px/ms
    #: (2, 2) frame pixels of the landmark model's alignment points (hips centre, scale/rotation
    #: point) when the pose came from :class:`RoiLandmarker`; None from the Tasks API
    alignment: np.ndarray | None = None
    #: found in a tracking ROI or crop of somebody followed in the previous frame
    followed: bool = False
    #: recovered poses: when (ms) the person was last seen before
    lost_since: int | None = None


@dataclass
class _Lost:
    """A person followed until recently but not found since ``seen_ms``: their box is searched
    for at the place their last motion leads to, for up to ``_LOST_SECONDS``."""

    pose: _Pose
    velocity: np.ndarray  # (2,) px per ms of the box centre when last seen
    seen_ms: int

    def box_at(self, ms: int, width: int, height: int) -> np.ndarray:
        dx, dy = self.velocity * (ms - self.seen_ms)
        b = self.pose.box + np.array([dx, dy, dx, dy], np.float32)
        return np.clip(b, 0, [width, height, width, height]).astype(np.float32)


def _landmark_box(kp2d: np.ndarray, width: int, height: int) -> np.ndarray:
    x0, y0 = kp2d[:, 0].min(), kp2d[:, 1].min()
    x1, y1 = kp2d[:, 0].max(), kp2d[:, 1].max()
    px, py = _BOX_PAD * (x1 - x0), _BOX_PAD * (y1 - y0)
    pad = max(px, py, 2.0)
    return np.array(
        [max(0.0, x0 - pad), max(0.0, y0 - pad), min(float(width), x1 + pad), min(float(height), y1 + pad)],
        np.float32,
    )


def _make_pose(kp2: np.ndarray, kp3: np.ndarray, width: int, height: int) -> "_Pose":
    kp2 = np.array(kp2, np.float32)
    # joints extrapolated past the frame border are not "present" in the frame
    outside = (kp2[:, 0] < 0) | (kp2[:, 0] > width) | (kp2[:, 1] < 0) | (kp2[:, 1] > height)
    kp2[outside, 2] *= 0.1
    return _Pose(kp2, np.asarray(kp3, np.float32), _landmark_box(kp2, width, height), float(kp2[:, 2].mean()))


def _tracking_roi(p: "_Pose"):
    """The tracking ROI of a pose: from the landmark model's alignment points when it came from an
    ROI, else from its landmarks."""
    from .roi_landmarks import roi_from_alignment, roi_from_keypoints

    return roi_from_alignment(p.alignment) if p.alignment is not None else roi_from_keypoints(p.kp2d)


def _pose_in_roi(found, roi, box: np.ndarray, width: int, height: int) -> "_Pose | None":
    """The _Pose of what the landmark model found in ``roi`` (a RoiPose or None), or None where
    it is not a believable next pose of the person expected in ``box``."""
    from .roi_landmarks import roi_from_alignment

    if found is None:
        return None
    upright = roi_from_alignment(found.alignment).rotation  # in (-pi, pi]
    turn = upright - roi.rotation
    if abs((turn + math.pi) % (2 * math.pi) - math.pi) > _ROI_MAX_TURN:
        return None  # the body turned over in one frame: the model lost its bearings
    if abs(upright) > _ROI_MAX_TILT:
        return None  # upside down: more likely a misfit than a handstand; the detector decides
    pose = _make_pose(found.kp2d, found.kp3d, width, height)
    pose.alignment = found.alignment
    if _iou(pose.box, box) < 0.2:
        return None  # drifted onto somebody or something else
    return pose


def _paint_over(image: np.ndarray, origin: tuple[int, int], boxes, colour_of=None) -> None:
    """Paint ``boxes`` (frame pixels) over ``image``, a region of the frame whose top-left pixel
    is ``origin``, in place, with the median colour of ``colour_of`` (default: ``image``)."""
    if not boxes:
        return
    x0, y0 = origin
    sample = image if colour_of is None else colour_of
    fill = np.median(sample[::4, ::4].reshape(-1, 3), axis=0).astype(np.uint8)
    for bx0, by0, bx1, by1 in boxes:
        image[max(0, by0 - y0):max(0, by1 - y0), max(0, bx0 - x0):max(0, bx1 - x0)] = fill


def _painted(frame: np.ndarray, roi, box: np.ndarray, boxes) -> np.ndarray:
    """``frame``, or a copy with the parts of the other people's ``boxes`` that fall in ``roi``'s
    bounding square, outside the columns of ``box`` (the person looked for), painted over
    (:meth:`PoseDetector._others`)."""
    height, width = frame.shape[:2]
    half = 0.5 * roi.side * math.sqrt(2.0)
    region = (int(max(0, roi.cx - half)), int(max(0, roi.cy - half)),
              int(min(width, roi.cx + half + 1)), int(min(height, roi.cy + half + 1)))
    masks = PoseDetector._others(box, region, boxes)
    if not masks:
        return frame
    img = frame.copy()
    x0, y0, x1, y1 = region
    _paint_over(img, (0, 0), masks, colour_of=frame[y0:y1, x0:x1])
    return img


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _same_person(a: _Pose, b: _Pose) -> bool:
    if _iou(a.box, b.box) > _DUP_IOU:
        return True
    ta, tb = a.kp2d[list(_TORSO), :2], b.kp2d[list(_TORSO), :2]
    size = max(
        np.linalg.norm(ta[[0, 1]].mean(0) - ta[[2, 3]].mean(0)),
        np.linalg.norm(tb[[0, 1]].mean(0) - tb[[2, 3]].mean(0)),
        1.0,
    )
    return float(np.linalg.norm(ta - tb, axis=1).mean()) < _DUP_KP * size


def _torso(p: _Pose) -> tuple[np.ndarray, float]:
    hips = p.kp2d[[23, 24], :2].mean(0)
    return hips, float(np.linalg.norm(p.kp2d[[11, 12], :2].mean(0) - hips))


def _same_body(a: _Pose, b: _Pose) -> bool:
    """``_same_person`` or, looser, hips close together at the same scale: a crop cut through
    somebody gives a pose of their visible part whose box and limbs differ, not their hips."""
    if _same_person(a, b):
        return True
    (ha, ta), (hb, tb) = _torso(a), _torso(b)
    size = max(ta, tb, 1.0)
    return float(np.linalg.norm(ha - hb)) < 0.5 * size and 0.7 < (ta + 1e-6) / (tb + 1e-6) < 1.0 / 0.7


def _suppress(poses: list[_Pose], limit: int) -> list[_Pose]:
    kept: list[_Pose] = []
    for p in sorted(poses, key=lambda q: -q.score):
        if not any(_same_person(p, k) for k in kept):
            kept.append(p)
        if len(kept) >= limit:
            break
    return kept


def _tiles(width: int, height: int, scales=None) -> list[tuple[int, int, int, int]]:
    """Overlapping square tiles (x0, y0, x1, y1) covering the frame; the full frame itself is
    scanned separately. Each scale is (side as a fraction of the short side, stride as a
    fraction of the side): a tile of side s and stride d holds every person up to s - d tall
    whole, and BlazePose's detector (224 px input) finds people down to about a fifth of s, so
    the scales chain: full frame (people over ~1/3 of the frame), 3/4-side tiles (up to ~1/2
    whole), 1/2-side tiles (up to ~1/4 whole, down to ~1/10 of the frame)."""
    short = min(width, height)
    out: list[tuple[int, int, int, int]] = []
    for fraction, stride_fraction in (_TILE_SCALES if scales is None else scales):
        side = int(round(max(_MIN_TILE, fraction * short)))
        if side >= short:
            continue
        stride = max(1, int(round(side * stride_fraction)))

        def starts(n: int) -> list[int]:
            s = list(range(0, max(n - side, 0) + 1, stride))
            if s[-1] + side < n:
                s.append(n - side)
            return s

        out += [(x, y, x + side, y + side) for y in starts(height) for x in starts(width)]
    return out


class PoseDetector:
    """Multi-person pose landmarker over a frame stream (a context manager).

    ``mode="video"``: frames must come in order with strictly increasing ``timestamp_ms``; people
    are followed from frame to frame and the frame is scanned for newcomers a few tiles at a time.
    ``mode="image"``: every frame is handled on its own (full scan, slower).
    """

    def __init__(
        self,
        max_people: int = 4,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        mode: str = "video",
        *,
        min_presence_confidence: float = 0.5,
        min_person_score: float = 0.3,
        bundle_path=None,
        workers: int | None = None,
        roi_tracking: bool | None = None,
    ):
        if mode not in ("video", "image"):
            raise ValueError(f"mode must be 'video' or 'image', not {mode!r}")
        if max_people < 1:
            raise ValueError("max_people must be at least 1")
        os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ INFO chatter
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        self.max_people = int(max_people)
        self.mode = mode
        self.min_person_score = float(min_person_score)
        path = str(bundle_path or ensure_task_bundle())

        def make(num_poses: int):
            opts = vision.PoseLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=path),
                running_mode=vision.RunningMode.IMAGE,
                num_poses=num_poses,
                min_pose_detection_confidence=float(min_detection_confidence),
                min_pose_presence_confidence=float(min_presence_confidence),
                min_tracking_confidence=float(min_tracking_confidence),
            )
            return vision.PoseLandmarker.create_from_options(opts)

        # scan regions may hold several people; a tracked crop holds its person and maybe a
        # neighbour, of which we keep the one that overlaps the previous box most
        self._make = {"scan": lambda: make(self.max_people), "crop": lambda: make(2)}
        # ROI tracking: people followed (and searched for) are looked for by the landmark model
        # alone, in MediaPipe's tracking ROI from their last landmarks; the detector-based crop
        # is the fallback where the model finds nobody there
        if roi_tracking is None:
            roi_tracking = os.environ.get("VIDEOMOCAP_ROI_TRACKING", "1") not in ("", "0")
        self._roi = None
        self._lost_seconds = _ROI_LOST_SECONDS if roi_tracking else _LOST_SECONDS
        if roi_tracking:
            from .roi_landmarks import RoiLandmarker

            self._roi = RoiLandmarker(min_presence=float(min_tracking_confidence))
        # a region the detector scores well below its own threshold holds nobody: its Tasks
        # call is skipped (measured on the bench renders: of 1141 scans, the 81 that found
        # somebody scored 0.51 or more here, 85 % of the others under the gate). The look pays
        # only on all the worker threads (6 ms against the Tasks call's 14; on one thread beside
        # other scans it costs 12 of 21), so only a scan that runs alone takes it, and only
        # while most recent scans came out empty (a crowd fills most of them).
        from .person_score import PersonScore

        self._person_score = PersonScore()
        self._gate = 0.5 * float(min_detection_confidence)
        self._gate_passed = 0.0  # running share of recent scans that held somebody
        self._scan = self._make["scan"]()
        self._crop = self._make["crop"]()
        # The regions of one frame are independent and MediaPipe releases the GIL while it
        # runs, so they run on a few threads, each with landmarkers of its own (a landmarker
        # is not safe to share between threads). Measured on 2 cores: see docs/benchmarks.md.
        self.workers = max(1, min(int(workers) if workers else 2, os.cpu_count() or 1))
        self._pool = None
        self._local = threading.local()
        self._local.scan, self._local.crop = self._scan, self._crop  # the creating thread's own
        self._all_landmarkers = [self._scan, self._crop]
        self._lock = threading.Lock()
        self._prev: list[_Pose] = []
        self._lost: list[_Lost] = []
        self._last_ts: int | None = None
        self._tile_cursor = 0
        self._frames_seen = 0
        self._closed = False
        #: the people of the last frame who were not followed from the frame before it
        self.newcomers: list[_Pose] = []

    # -- context manager -------------------------------------------------------------------
    def __enter__(self) -> "PoseDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            for landmarker in self._all_landmarkers:
                landmarker.close()

    def _landmarker(self, kind: str):
        """This thread's landmarker of ``kind`` ("scan" or "crop"), made on first use."""
        own = getattr(self._local, kind, None)
        if own is None:
            own = self._make[kind]()
            setattr(self._local, kind, own)
            with self._lock:
                self._all_landmarkers.append(own)
        return own

    def _run_all(self, kind: str, frame: np.ndarray, jobs: list) -> list[list[_Pose]]:
        """``_run`` for each (region, mask_boxes) of ``jobs``, on the worker threads; results in
        the order of ``jobs``. Scans look first with the detector alone (``_run``'s gate)."""
        gate = kind == "scan"
        threads = self.workers if len(jobs) == 1 else 1  # a lone job has the machine to itself
        return self._map(lambda job: self._run(self._landmarker(kind), frame, job[0], job[1],
                                               gate=gate, threads=threads), jobs)

    def _map(self, fn, items: list, solo=None) -> list:
        """``[fn(item) for item in items]``, on the worker threads when there are several items.

        ``solo``: what runs an item that has the machine to itself, its model on all the worker
        threads. The items are spread over the workers in whole rounds and the ones left over
        (the third person of three on two cores, or a lone person) run one after the other that
        way: a round with an idle core costs as much as a full one, while the landmark model on
        two threads takes 8 ms instead of 15 (and gives the same numbers, bit for bit)."""
        if self.workers == 1:
            return [fn(item) for item in items]
        rounds = len(items) - len(items) % self.workers if solo is not None else len(items)
        if rounds < 2:
            out = [fn(item) for item in items[:rounds]]
        else:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="landmarker")
            out = list(self._pool.map(fn, items[:rounds]))
        return out + [solo(item) for item in items[rounds:]]

    def reset(self) -> None:
        """Forget the people followed so far (e.g. after a cut or a seek)."""
        self._prev = []
        self._lost = []
        self._last_ts = None
        self._frames_seen = 0

    # -- detection -------------------------------------------------------------------------
    def _run(self, landmarker, frame: np.ndarray, region, mask_boxes=(), gate: bool = False,
             threads: int = 1) -> list[_Pose]:
        """The Tasks API ``landmarker`` on ``region`` of ``frame`` with ``mask_boxes`` painted
        over. ``gate``: where ``threads`` > 1, first the detector model alone on that many
        threads, and nothing more where it scores the region under half the detection
        threshold."""
        x0, y0, x1, y1 = region
        height, width = frame.shape[:2]
        if (x0, y0, x1, y1) == (0, 0, width, height) and not mask_boxes:
            crop = frame
        else:
            crop = np.array(frame[y0:y1, x0:x1])  # a copy: C-contiguous and safe to paint on
            _paint_over(crop, (x0, y0), mask_boxes)
        gate = gate and threads > 1
        if gate:
            if self._gate_passed < 0.5:
                passed = self._person_score.best(crop, threads) >= self._gate
            else:
                passed = None  # not looked: the Tasks call below tells
            if passed is False:
                self._gate_passed *= 0.9
                return []
        cw, ch = x1 - x0, y1 - y0
        result = landmarker.detect(self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=crop))
        if gate:
            held = passed if passed is not None else bool(result.pose_landmarks)
            self._gate_passed = 0.9 * self._gate_passed + 0.1 * float(held)
        poses = []
        for lm2, lm3 in zip(result.pose_landmarks, result.pose_world_landmarks):
            kp2 = np.empty((NUM_LANDMARKS, 3), np.float32)
            kp3 = np.empty((NUM_LANDMARKS, 3), np.float32)
            for j, (a, b) in enumerate(zip(lm2, lm3)):
                vis = a.visibility if a.visibility is not None else 1.0
                pres = a.presence if a.presence is not None else 1.0
                kp2[j] = (x0 + a.x * cw, y0 + a.y * ch, min(max(vis * pres, 0.0), 1.0))
                kp3[j] = (b.x, b.y, b.z)
            poses.append(_make_pose(kp2, kp3, width, height))
        return poses

    def _follow_roi(self, frame: np.ndarray, targets) -> list:
        """The landmark model in each target's tracking ROI: for every (box, since, roi, retry) a
        _Pose, or None where the model finds nobody or somebody away from the expected box."""
        height, width = frame.shape[:2]

        from .roi_landmarks import Roi

        boxes = [t[0] for t in targets]

        def one(target, threads=1):
            box, since, roi, retry = target
            img = _painted(frame, roi, box, boxes)  # the others painted over, as in the crops
            found = self._roi.landmarks_in_roi(img, roi, threads)
            if found is None and retry:
                # the last pose of somebody going out of sight is often stretched (extrapolated
                # hidden joints): a tighter ROI finds them when they come out again (not sooner:
                # found half hidden, their look differs and the tracker starts a new identity)
                found = self._roi.landmarks_in_roi(img, Roi(roi.cx, roi.cy, 0.7 * roi.side, roi.rotation),
                                                   threads)
            pose = _pose_in_roi(found, roi, box, width, height)
            if pose is not None:
                pose.recovered, pose.lost_since = since is not None, since
            return pose

        return self._map(one, targets, solo=lambda target: one(target, self.workers))

    def _crop_region(self, box: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        side = max(_MIN_CROP, _CROP_SCALE * max(box[2] - box[0], box[3] - box[1]))
        x0 = int(math.floor(max(0.0, cx - side / 2)))
        y0 = int(math.floor(max(0.0, cy - side / 2)))
        x1 = int(math.ceil(min(float(width), cx + side / 2)))
        y1 = int(math.ceil(min(float(height), cy + side / 2)))
        return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)

    @staticmethod
    def _others(target_box: np.ndarray, region, boxes) -> list[tuple[int, int, int, int]]:
        """Parts of the other known people's ``boxes`` that fall in ``region`` but outside the
        target's own box: painted over so that the detector cannot pick the neighbour instead
        (BlazePose's detector keeps only the most prominent of two overlapping people)."""
        tx0, ty0, tx1, ty1 = (float(v) for v in target_box)
        out = []
        for box in boxes:
            ox0, oy0, ox1, oy1 = (float(v) for v in box)
            if (ox0, oy0, ox1, oy1) == (tx0, ty0, tx1, ty1):
                continue
            if ox1 <= region[0] or ox0 >= region[2] or oy1 <= region[1] or oy0 >= region[3]:
                continue
            # keep the strip of the other box that overlaps the target box horizontally unpainted
            if ox0 < tx0 < ox1:
                ox1 = tx0
            elif ox0 < tx1 < ox1:
                ox0 = tx1
            elif tx0 <= ox0 and ox1 <= tx1:
                continue  # fully inside the target's columns: leave it
            out.append((int(ox0), int(oy0), int(math.ceil(ox1)), int(math.ceil(oy1))))
        return out

    def _follow(self, frame: np.ndarray, timestamp_ms: int) -> list[_Pose]:
        """Look for everyone followed: the people of the previous frame in crops around their
        last boxes, and the people lost in the last ``_LOST_SECONDS`` in crops around where
        their last motion leads (found that way, a pose is marked ``recovered``)."""
        height, width = frame.shape[:2]
        self._lost = [lost for lost in self._lost
                      if timestamp_ms - lost.seen_ms <= 1000.0 * self._lost_seconds]
        # (expected box, when last seen if lost else None)
        targets = [(p.box, None) for p in self._prev]
        targets += [(lost.box_at(timestamp_ms, width, height), lost.seen_ms) for lost in self._lost]
        boxes = [box for box, _ in targets]
        found_poses = []
        if self._roi is not None:
            rois = [(_tracking_roi(p), False) for p in self._prev]
            for lost in self._lost:
                dx, dy = lost.velocity * (timestamp_ms - lost.seen_ms)
                rois.append((_tracking_roi(lost.pose).shifted(float(dx), float(dy)),
                             timestamp_ms - lost.seen_ms >= 1000.0 * _ROI_RETRY_AFTER))
            by_roi = self._follow_roi(frame, [(box, rec, roi, retry)
                                              for (box, rec), (roi, retry) in zip(targets, rois)])
            # a lost person's ROI lying on somebody followed (the one hiding them, say) finds
            # that somebody again: not the lost person, who stays lost and searched for
            tracked = [p for p in by_roi[: len(self._prev)] if p is not None]
            by_roi = [p if p is None or not p.recovered or not any(_same_body(p, q) for q in tracked)
                      else False for p in by_roi]
            found_poses = [p for p in by_roi if p]
            targets = [t for t, p in zip(targets, by_roi) if p is None]
        jobs = []
        for box, _ in targets:
            region = self._crop_region(box, width, height)
            jobs.append((region, self._others(box, region, boxes)))
        for (box, since), found in zip(targets, self._run_all("crop", frame, jobs)):
            if not found:
                continue
            best = max(found, key=lambda q: (_iou(q.box, box), q.score))
            if since is not None and _iou(best.box, box) < 0.2:
                continue  # somebody else near the predicted place
            best.recovered, best.lost_since = since is not None, since
            found_poses.append(best)
        for p in found_poses:
            p.followed = not p.recovered
        return found_poses

    def _update_lost(self, people: list[_Pose], timestamp_ms: int) -> None:
        """Whoever was followed but is not among ``people`` now joins the lost (or stays)."""
        def found_among(candidates, box):
            return any(_iou(p.box, box) > 0.3 for p in candidates)

        dt = max(1, timestamp_ms - (self._last_ts if self._last_ts is not None else timestamp_ms - 1))
        for p in people:  # velocity of the people followed, for predicting their boxes if lost
            prev = max(self._prev, key=lambda q: _iou(q.box, p.box), default=None)
            if prev is not None and _iou(prev.box, p.box) > 0.3:
                step = ((p.box[:2] + p.box[2:]) - (prev.box[:2] + prev.box[2:])) / (2.0 * dt)
                if self._roi is not None:
                    if p.alignment is not None and prev.alignment is not None:
                        # the hips centre: steadier than the box centre, which jumps when the
                        # box shrinks to the joints still visible
                        step = (p.alignment[0] - prev.alignment[0]) / dt
                    # people walk on the ground: their image motion is mostly sideways, while
                    # the vertical motion of a pose going behind somebody is the crop shrinking
                    step = np.array([step[0], 0.0])
                    # nobody walks faster than about a body height a second
                    top = (p.box[3] - p.box[1]) / 1000.0
                    step = step * min(1.0, top / max(float(np.linalg.norm(step)), 1e-9))
                p.velocity = (0.5 * prev.velocity + 0.5 * step).astype(np.float32)
        if self._roi is not None:
            # one to one: a person hidden behind another must not count as found through the
            # other's box (their boxes overlap), so each person found accounts for one person
            # followed, best overlap first, and only the rest can account for the lost
            pairs = sorted(((_iou(p.box, q.box), i, j) for i, p in enumerate(people)
                            for j, q in enumerate(self._prev)), reverse=True)
            used_p, used_q = set(), set()
            for v, i, j in pairs:
                if v > 0.3 and i not in used_p and j not in used_q:
                    used_p.add(i)
                    used_q.add(j)
            rest = [p for i, p in enumerate(people) if i not in used_p or p.recovered]
            gone = [q for j, q in enumerate(self._prev) if j not in used_q]
        else:
            rest = people
            gone = [q for q in self._prev if not found_among(people, q.box)]
        still = [lost for lost in self._lost
                 if not found_among(rest, lost.box_at(timestamp_ms, 1e9, 1e9))]
        for prev in gone:
            still.append(_Lost(prev, prev.velocity.copy(),
                               timestamp_ms if self._last_ts is None else self._last_ts))
        self._lost = still

    def trace_back(self, earlier: list) -> dict[int, list]:
        """Follow the last frame's newcomers backwards through ``earlier`` ((frame RGB,
        FrameDetections, timestamp ms) triples, the frame just before the last first), back to
        when they were last seen if they had been lost before: where the scan missed a
        person for a while before finding them (a walker who does not face the camera, somebody
        coming out from behind another), the landmark model in their tracking ROI often finds
        them, as it does going forwards. A person is followed back until the model loses them,
        their pose turns over, or they meet somebody already found in that frame. Returns
        {position in ``earlier``: [poses]}; needs ROI tracking (else returns {})."""
        if self._roi is None or not self.newcomers or not earlier:
            return {}

        def back(start: _Pose, threads: int = 1) -> list:
            found, pose = [], start
            for k, (frame, dets, ms) in enumerate(earlier):
                if start.lost_since is not None and ms <= start.lost_since:
                    break
                roi = _tracking_roi(pose)
                height, width = frame.shape[:2]
                # the people already found there painted over, as when following forwards: a
                # small walker coming out from behind somebody is lost to the model otherwise
                img = _painted(frame, roi, pose.box, list(dets.boxes))
                nxt = _pose_in_roi(self._roi.landmarks_in_roi(img, roi, threads), roi, pose.box,
                                   width, height)
                if nxt is None:
                    break
                grow = (nxt.box[3] - nxt.box[1]) / max(float(pose.box[3] - pose.box[1]), 1.0)
                if not 0.75 < grow < 1.33 or nxt.score < self.min_person_score:
                    break
                known = [_make_pose(dets.keypoints2d[i], dets.keypoints3d[i], width, height)
                         for i in range(dets.num_people)]
                if any(_same_body(nxt, q) or _iou(nxt.box, q.box) > 0.5 for q in known):
                    break  # already found there (or the ROI slid onto somebody who was)
                found.append((k, nxt))
                pose = nxt
            return found

        out: dict[int, list] = {}
        for trail in self._map(back, list(self.newcomers), solo=lambda p: back(p, self.workers)):
            for k, pose in trail:
                if not any(_same_body(pose, q) for q in out.get(k, [])):
                    out.setdefault(k, []).append(pose)
        return out

    def detect(self, frame_rgb: np.ndarray, frame_index: int, timestamp_ms: int) -> FrameDetections:
        """Find up to ``max_people`` people in one RGB uint8 (H, W, 3) frame."""
        if self._closed:
            raise RuntimeError("PoseDetector is closed")
        frame = np.ascontiguousarray(frame_rgb, dtype=np.uint8)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an RGB (H, W, 3) frame, got shape {frame_rgb.shape}")
        timestamp_ms = int(timestamp_ms)
        if self.mode == "video" and self._last_ts is not None and timestamp_ms <= self._last_ts:
            raise ValueError(
                f"timestamps must increase strictly in video mode ({timestamp_ms} ms after {self._last_ts} ms)"
            )
        height, width = frame.shape[:2]
        tiles = _tiles(width, height)

        video = self.mode == "video"
        # 1. follow the people of the previous frame, and search for those lost recently
        candidates: list[_Pose] = self._follow(frame, timestamp_ms) if video else []
        # 2. scan for newcomers. The whole frame and the tiles form one rotation, re-scanned every
        #    _RESCAN_SECONDS of video while people are being followed (they are found again in
        #    their crops), twice as often while nobody is; image mode scans everything every frame.
        #    The people already found are painted over: the scan then looks only for the others
        #    (BlazePose's detector would otherwise keep the most prominent person of a region and
        #    miss a smaller one beside them) and, finding nobody, skips the costly landmark model.
        regions = [(0, 0, width, height)] + tiles
        if not video or self._frames_seen == 0:
            todo = regions
        else:
            period = _RESCAN_SECONDS if self._prev else 0.5 * _RESCAN_SECONDS
            dt = 1000.0 / 30.0 if self._last_ts is None else max(timestamp_ms - self._last_ts, 1)
            per_frame = max(1, math.ceil(len(regions) * dt / (1000.0 * period)))
            todo = [regions[(self._tile_cursor + k) % len(regions)]
                    for k in range(min(per_frame, len(regions)))]
            self._tile_cursor = (self._tile_cursor + len(todo)) % len(regions)
            if not self._prev and regions[0] not in todo:
                todo.insert(0, regions[0])  # nobody followed: look at the whole frame every time
        known = [tuple(int(round(v)) for v in c.box) for c in candidates if c.score >= self.min_person_score]
        jobs = [(region, [k for k in known if k[0] < region[2] and k[2] > region[0]
                          and k[1] < region[3] and k[3] > region[1]]) for region in todo]
        for found in self._run_all("scan", frame, jobs):
            candidates += found

        candidates = [c for c in candidates if c.score >= self.min_person_score]
        people = _suppress(candidates, self.max_people)
        # stable order: left to right by box centre (identities are the tracker's job)
        people.sort(key=lambda q: float(q.box[0] + q.box[2]))
        if video:
            # newcomers: found by the scan (not somebody followed) or found again after being lost
            self.newcomers = [p for p in people if p.recovered or not (
                p.followed or any(_iou(p.box, q.box) > 0.3 for q in self._prev))]
            self._update_lost(people, timestamp_ms)
            self._prev = people
        self._last_ts = timestamp_ms
        self._frames_seen += 1
        if not people:
            return FrameDetections.empty(frame_index)
        return FrameDetections(
            frame_index=int(frame_index),
            keypoints2d=np.stack([p.kp2d for p in people]).astype(np.float32),
            keypoints3d=np.stack([p.kp3d for p in people]).astype(np.float32),
            boxes=np.stack([p.box for p in people]).astype(np.float32),
            scores=np.array([p.score for p in people], np.float32),
            recovered=np.array([p.recovered for p in people], bool),
        )


def detect_people(
    frames: Iterable[tuple[int, np.ndarray]],
    fps: float,
    max_people: int = 4,
    progress: Callable[[int, FrameDetections], None] | None = None,
    revised: Callable[[int, np.ndarray, FrameDetections], None] | None = None,
    cuts: list | None = None,
    **detector_kwargs,
) -> list[FrameDetections]:
    """Run a video-mode :class:`PoseDetector` over ``(frame_index, rgb)`` pairs.

    Timestamps are ``frame_index / fps`` in ms (bumped by 1 ms if rounding would repeat one).
    ``progress(frame_index, detections)`` is called after every frame if given. People who
    appear are followed back through the last ``_TRACE_BACK_SECONDS`` of frames
    (:meth:`PoseDetector.trace_back`); a frame's detections that gain somebody that way are
    replaced in the returned list, and ``revised(position, rgb, detections)`` is called with the
    new ones. Frames are only kept as references, so their arrays must not be reused.

    At a hard cut between shots (:class:`..video.cuts.CutDetector`) everyone followed is
    forgotten and nobody is followed back across it; the frame numbers where shots begin are
    appended to ``cuts`` if a list is given.
    """
    from ..video.cuts import CutDetector

    if not (fps and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be positive, not {fps!r}")
    out: list[FrameDetections] = []
    last = None
    recent: deque = deque()  # (position in out, frame, ms) of the last frames, newest last
    keep = max(1, int(round(_TRACE_BACK_SECONDS * fps)))
    shots = CutDetector(fps)
    with PoseDetector(max_people=max_people, mode="video", **detector_kwargs) as det:
        for index, frame in frames:
            if shots.add(frame):  # a new shot: its people are new, and not followed back
                det.reset()
                recent.clear()
                if cuts is not None:
                    cuts.append(int(index))
            ts = int(round(index * 1000.0 / fps))
            if last is not None and ts <= last:
                ts = last + 1
            last = ts
            dets = det.detect(frame, index, ts)
            out.append(dets)
            if progress is not None:
                progress(index, dets)
            # people who appear are followed back through the recent frames
            earlier = [(f, out[pos], ms) for pos, f, ms in reversed(recent)] if det.newcomers else []
            for k, poses in det.trace_back(earlier).items():
                pos, f, _ = recent[len(recent) - 1 - k]
                out[pos] = out[pos].with_people(poses)
                if revised is not None:
                    revised(pos, f, out[pos])
            recent.append((len(out) - 1, frame, ts))
            while len(recent) > min(keep, max(1, _TRACE_BACK_BYTES // max(frame.nbytes, 1))):
                recent.popleft()
    return out
