"""Streaming video decode with OpenCV (FFmpeg backend).

Frames are streamed one at a time as upright RGB ``uint8`` arrays; the whole video is never held in
memory.

Rotation: phones store portrait video as landscape frames plus a display-matrix ("rotate") tag.
OpenCV exposes the tag as ``CAP_PROP_ORIENTATION_META`` (degrees clockwise) and can apply it itself
when ``CAP_PROP_ORIENTATION_AUTO`` is on. In the ``opencv-contrib-python==4.11`` wheel that switch
reads 0 by default (measured: frames come out un-rotated), while other builds and versions have had
it on. To rotate exactly once whatever the build default, we switch auto-rotation OFF explicitly,
read the tag, and apply it ourselves with :func:`rotate_frame`. ``VideoInfo.width/height`` are the
displayed (rotated) size.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..errors import CaptureError

log = logging.getLogger(__name__)

DEFAULT_FPS = 30.0
# CAP_PROP_FRAME_COUNT is estimated from the container (duration * rate for some formats); beyond
# this it is surely garbage (a day of 1000 fps video is 86.4M frames).
_MAX_SANE_FRAMES = 100_000_000

__all__ = ["VideoInfo", "probe_video", "read_frames", "rotate_frame", "DEFAULT_FPS"]


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` learns about a video file."""

    path: str
    width: int  # displayed width in pixels, after the rotation tag is applied
    height: int  # displayed height in pixels, after the rotation tag is applied
    fps: float  # frames per second as read from the container (30 if it reports none)
    frame_count: int  # number of decodable frames (container count when sane, else counted)
    rotation: int  # degrees clockwise from the rotation tag: 0, 90, 180 or 270


def rotate_frame(frame: np.ndarray, rotation: int) -> np.ndarray:
    """Rotate a stored frame clockwise by ``rotation`` degrees (0/90/180/270) for display.

    ``rotation`` uses the same convention as ``CAP_PROP_ORIENTATION_META`` and FFmpeg's ``rotate``
    tag: a portrait phone video tagged 90 has its stored frames turned 90 degrees clockwise here.
    The result is C-contiguous.
    """
    rotation = _normalise_rotation(rotation)
    if rotation == 90:
        return cv2.rotate(frame, cv2.ROTATE_90_CLOCKWISE)
    if rotation == 180:
        return cv2.rotate(frame, cv2.ROTATE_180)
    if rotation == 270:
        return cv2.rotate(frame, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return np.ascontiguousarray(frame)


def _normalise_rotation(rotation: float) -> int:
    if rotation is None or not math.isfinite(rotation):
        return 0
    r = int(round(rotation)) % 360
    # snap to the nearest quarter turn (display matrices can carry tiny float noise)
    r = int(round(r / 90.0)) * 90 % 360
    return r


@contextlib.contextmanager
def _quiet_opencv():
    """Silence OpenCV/FFmpeg's own stderr chatter while probing a possibly bad file."""
    try:
        old = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except Exception:  # pragma: no cover - very old/odd builds
        old = None
    try:
        yield
    finally:
        if old is not None:
            cv2.utils.logging.setLogLevel(old)


def _check_path(path) -> Path:
    p = Path(os.fspath(path)).expanduser()
    if not p.exists():
        raise CaptureError(f"The video file {str(p)!r} does not exist.")
    if p.is_dir():
        raise CaptureError(f"{str(p)!r} is a folder, not a video file.")
    if not os.access(p, os.R_OK):
        raise CaptureError(f"The video file {str(p)!r} cannot be read (permission denied).")
    if p.stat().st_size == 0:
        raise CaptureError(f"The video file {str(p)!r} is empty.")
    return p


def _open(p: Path) -> tuple["cv2.VideoCapture", int]:
    """Open ``p`` with auto-rotation off; return the capture and the clockwise rotation tag."""
    with _quiet_opencv():
        cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            cap = cv2.VideoCapture(str(p))  # any other backend that can read it
    if not cap.isOpened():
        cap.release()
        raise CaptureError(f"{str(p)!r} is not a video file OpenCV can decode.")
    rotation = 0
    if hasattr(cv2, "CAP_PROP_ORIENTATION_AUTO"):
        # Off, so that we rotate exactly once ourselves (see module docstring). A backend that
        # refuses the setting does not know about rotation tags either.
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
        auto = cap.get(cv2.CAP_PROP_ORIENTATION_AUTO)
        rotation = _normalise_rotation(cap.get(cv2.CAP_PROP_ORIENTATION_META))
        if rotation and auto:  # could not switch it off: OpenCV already rotates
            rotation = 0
    return cap, rotation


def _read_rgb(cap, rotation: int) -> np.ndarray | None:
    ok, bgr = cap.read()
    if not ok or bgr is None:
        return None
    if bgr.ndim == 2:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    elif bgr.shape[2] == 4:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGB)
    else:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if rgb.dtype != np.uint8:  # 16-bit sources: keep the top 8 bits
        rgb = (rgb >> 8).astype(np.uint8) if rgb.dtype == np.uint16 else rgb.astype(np.uint8)
    return rotate_frame(rgb, rotation)


def probe_video(path) -> VideoInfo:
    """Open a video and report its displayed size, fps, frame count and rotation tag.

    Raises :class:`CaptureError` (one sentence) if the path is missing, a folder, empty, not a
    decodable video, or has no frames.
    """
    p = _check_path(path)
    cap, rotation = _open(p)
    try:
        first = _read_rgb(cap, rotation)
        if first is None:
            raise CaptureError(f"The video {str(p)!r} has no frames that can be decoded.")
        height, width = first.shape[:2]

        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not math.isfinite(fps) or fps <= 0 or fps > 10_000:
            log.warning("%s reports no usable frame rate (%r); assuming %.0f fps", p, fps, DEFAULT_FPS)
            fps = DEFAULT_FPS

        reported = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        if reported is not None and math.isfinite(reported) and 0 < reported < _MAX_SANE_FRAMES:
            frame_count = int(round(reported))
        else:
            # The container does not know: count by demuxing (grab does not convert pixels).
            log.info("%s reports no usable frame count (%r); counting frames", p, reported)
            frame_count = 1
            while cap.grab():
                frame_count += 1
    finally:
        cap.release()
    return VideoInfo(
        path=str(p), width=int(width), height=int(height), fps=fps,
        frame_count=int(frame_count), rotation=int(rotation),
    )


def read_frames(path, start: int = 0, end: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Stream ``(frame_index, rgb)`` for source frames ``start <= index < end``.

    ``rgb`` is an upright (rotation tag applied), C-contiguous ``uint8`` array of shape (H, W, 3).
    Frames are decoded one at a time. ``end=None`` or an ``end`` past the last frame stops at the
    end of the video; a ``start`` past the end yields nothing. Seeking uses
    ``CAP_PROP_POS_FRAMES`` and falls back to decoding from the beginning if the seek cannot be
    confirmed.
    """
    start = int(start)
    if start < 0:
        raise CaptureError(f"The start frame must be 0 or more, not {start}.")
    if end is not None:
        end = int(end)
        if end < start:
            raise CaptureError(f"The end frame ({end}) must not be before the start frame ({start}).")
        if end == start:
            return
    p = _check_path(path)
    cap, rotation = _open(p)
    try:
        if start > 0:
            cap = _seek(cap, p, start)
        index = start
        while end is None or index < end:
            frame = _read_rgb(cap, rotation)
            if frame is None:
                break
            yield index, frame
            index += 1
    finally:
        cap.release()


def _seek(cap, p: Path, start: int):
    """Position ``cap`` so that the next read returns frame ``start``.

    OpenCV's FFmpeg seek jumps to the preceding key frame and decodes forward; it is exact for
    ordinary files. We confirm the position it reports and otherwise re-open and skip frames.
    """
    ok = cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    pos = cap.get(cv2.CAP_PROP_POS_FRAMES)
    if ok and pos is not None and math.isfinite(pos) and int(round(pos)) == start:
        return cap
    log.info("seek to frame %d in %s not confirmed (at %r); decoding from the start", start, p, pos)
    cap.release()
    cap, _ = _open(p)
    for _ in range(start):
        if not cap.grab():
            break
    return cap


def read_ahead(frames: Iterator, depth: int = 2) -> Iterator:
    """Yield the items of ``frames`` while a background thread already decodes the next
    ``depth`` ones (OpenCV releases the GIL while it decodes, so on two cores decoding overlaps
    the detector). Frames stay streamed: at most ``depth`` + 1 are held at once. An exception in
    the reader is raised here, in order; closing this generator stops the reader."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    done = object()

    def reader():
        try:
            for item in frames:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("end", done))
        except BaseException as exc:  # handed to the consumer
            q.put(("error", exc))
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=reader, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
