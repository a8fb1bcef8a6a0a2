"""Scene-level pieces of a capture: its collection, frame rate and range, and the video camera."""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix

from .armature import FRAME_OFFSET, build_person

# OpenCV camera axes (x right, y down, z forward) -> Blender camera axes (x right, y up, -z forward)
_CV_TO_BLENDER_CAMERA = np.diag([1.0, -1.0, -1.0])


def set_timing(scene, motion) -> None:
    """Scene fps from the video (fractional rates through fps_base) and the captured frame range."""
    fps = float(motion.fps)
    scene.render.fps = max(1, int(round(fps)))
    scene.render.fps_base = scene.render.fps / fps
    frames = [p.frame_ids for p in motion.people if len(p.frame_ids)]
    if frames:
        scene.frame_start = int(min(f[0] for f in frames)) + FRAME_OFFSET
        scene.frame_end = int(max(f[-1] for f in frames)) + FRAME_OFFSET
    w, h = (int(v) for v in motion.image_size)
    scene.render.resolution_x, scene.render.resolution_y = w, h
    scene.render.resolution_percentage = 100


def create_camera(motion, collection, frame: int = 0) -> bpy.types.Object:
    """The video's camera (intrinsics and pose of ``frame``; the camera of a static shot)."""
    w, h = (float(v) for v in motion.image_size)
    K = np.asarray(motion.K[frame], dtype=np.float64)
    data = bpy.data.cameras.new("Video camera")
    data.sensor_fit = "HORIZONTAL"
    data.sensor_width = 36.0
    data.lens = float(K[0, 0]) * data.sensor_width / w
    data.shift_x = -(float(K[0, 2]) - w / 2.0) / w
    data.shift_y = (float(K[1, 2]) - h / 2.0) / w
    data.clip_start, data.clip_end = 0.05, 500.0
    obj = bpy.data.objects.new("Video camera", data)
    collection.objects.link(obj)
    m = np.eye(4)
    m[:3, :3] = np.asarray(motion.cam_R[frame], dtype=np.float64) @ _CV_TO_BLENDER_CAMERA
    m[:3, 3] = motion.cam_t[frame]
    obj.matrix_world = Matrix(m.tolist())  # a plain nested list would be read as columns
    return obj


def build_capture(motion, name: str, scene=None) -> dict:
    """Everything of one motion file in a new collection ``name``; returns the created objects."""
    scene = scene or bpy.context.scene
    collection = bpy.data.collections.new(name)
    scene.collection.children.link(collection)
    set_timing(scene, motion)
    camera = create_camera(motion, collection)
    if scene.camera is None:
        scene.camera = camera
    armatures = [build_person(p, collection, float(motion.fps)) for p in motion.people]
    return {"collection": collection, "camera": camera, "armatures": armatures}
