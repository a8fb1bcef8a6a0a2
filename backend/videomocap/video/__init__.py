"""Video stage: probe a file and stream its frames upright, in RGB."""

from .cuts import CutDetector
from .decode import DEFAULT_FPS, VideoInfo, probe_video, read_ahead, read_frames, rotate_frame

__all__ = ["CutDetector", "DEFAULT_FPS", "VideoInfo", "probe_video", "read_ahead", "read_frames",
           "rotate_frame"]
