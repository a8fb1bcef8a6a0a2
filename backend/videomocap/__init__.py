"""videomocap: motion capture from ordinary video.

Heavy modules (torch, mediapipe, opencv) are imported lazily by the stages that need them, so
``import videomocap`` stays cheap and the pure-numpy modules (``motion_file``, ``skeleton``,
``rotations``) can be used from Blender's own Python.
"""

__version__ = "0.1.0"
