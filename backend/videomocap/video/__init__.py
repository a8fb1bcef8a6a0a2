"""Video stage: probe a file and stream its frames upright, in RGB."""

from .decode import DEFAULT_FPS, VideoInfo, probe_video, read_ahead, read_frames, rotate_frame

__all__ = ["DEFAULT_FPS", "VideoInfo", "probe_video", "read_ahead", "read_frames", "rotate_frame"]
