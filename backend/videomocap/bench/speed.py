"""Speed measurements, each taken side by side in one run so the ratios survive a noisy machine.

* capture: end-to-end frames per second and milliseconds per frame of every stage;
* bare MediaPipe: the pose landmarker alone (full frame, VIDEO mode, one pose) on the same clip, to
  show what our detection and everything after it cost on top;
* Blender import: building a 10,000-frame capture (keys written with ``foreach_set``) against a
  ``keyframe_insert`` loop over 1,000 frames, compared per frame; and the whole build of the same
  capture as the button makes it (foot lock and skinned body included).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def capture_speed(video, settings=None) -> dict:
    from ..pipeline import CaptureSettings, capture
    from ..video import probe_video

    info = probe_video(video)
    settings = settings or CaptureSettings()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        motion = capture(video, Path(tmp) / "speed.mocap.npz", settings)
        total = time.perf_counter() - t0
    frames = int(motion.meta["frames_processed"])
    stages = {k: 1000.0 * v / frames for k, v in motion.meta["timings_s"].items()}
    return {"video": Path(video).name, "frames": frames, "people": len(motion.people),
            "size": [info.width, info.height], "seconds": total, "fps": frames / total,
            "ms_per_frame": stages, "motion": motion}


def bare_mediapipe_speed(video, end: int | None = None) -> dict:
    """The pose landmarker alone, as MediaPipe's own examples use it on a video."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from ..detect import ensure_task_bundle
    from ..video import probe_video, read_frames

    info = probe_video(video)
    opts = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(ensure_task_bundle())),
        running_mode=vision.RunningMode.VIDEO, num_poses=1)
    frames = 0
    found = 0
    t0 = time.perf_counter()
    with vision.PoseLandmarker.create_from_options(opts) as lm:
        for index, rgb in read_frames(video, 0, end):
            res = lm.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb),
                                      int(round(index * 1000.0 / info.fps)))
            found += bool(res.pose_landmarks)
            frames += 1
    total = time.perf_counter() - t0
    return {"frames": frames, "seconds": total, "fps": frames / total,
            "ms_per_frame": 1000.0 * total / frames, "frames_with_a_person": found / frames}


def _long_motion(n_frames: int):
    """A plausible 10,000-frame, one-person motion (a walk cycle repeated) for the import test."""
    from ..motion_file import Motion, PersonMotion
    from ..skeleton import JOINT_INDEX, TEMPLATE_BONE_LENGTHS, REST_ORIENT_WORLD, forward_kinematics
    from ..rotations import matrix_to_axis_angle

    t = np.arange(n_frames) / 30.0
    pose = np.zeros((n_frames, 23, 3))
    for side, sign in (("left", 1), ("right", -1)):
        pose[:, JOINT_INDEX[f"{side}_hip"] - 1, 0] = -0.4 * sign * np.sin(2 * np.pi * t)
        pose[:, JOINT_INDEX[f"{side}_knee"] - 1, 0] = 0.6 * np.maximum(0, sign * np.sin(2 * np.pi * t + 1))
    orient = np.repeat(matrix_to_axis_angle(REST_ORIENT_WORLD)[None], n_frames, 0)
    transl = np.stack([np.zeros(n_frames), -1.2 * t, np.full(n_frames, 0.95)], 1)
    joints, _ = forward_kinematics(orient, pose, transl, TEMPLATE_BONE_LENGTHS)
    person = PersonMotion(
        person_id=1, frame_ids=np.arange(n_frames), global_orient=orient, body_pose=pose,
        transl=transl, betas=np.zeros(10), bone_lengths=TEMPLATE_BONE_LENGTHS, joints=joints,
        contact=np.zeros((n_frames, 4)), keypoints2d=np.zeros((n_frames, 33, 3)),
        confidence=np.ones(n_frames))
    eye = np.repeat(np.eye(3)[None], n_frames, 0)
    return Motion(fps=30.0, image_size=np.array([640, 480]), K=eye, cam_R=eye,
                  cam_t=np.zeros((n_frames, 3)), people=[person])


def blender_import_speed(n_frames: int = 10_000, n_insert: int = 1_000) -> dict:
    """Our builder on ``n_frames`` against a keyframe_insert loop over ``n_insert`` frames."""
    import bpy

    from videomocap_addon.build.armature import FRAME_OFFSET, rest_matrices
    from videomocap_addon.build.scene import build_capture
    from videomocap_addon.core import pose_keys

    motion = _long_motion(n_frames)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    t0 = time.perf_counter()
    built = build_capture(motion, "Speed")
    ours = time.perf_counter() - t0

    # the naive way, on the same armature's rest pose: one keyframe_insert per channel and frame
    arm = built["armatures"][0]
    person = motion.people[0]
    rest, heads = rest_matrices(arm)
    quats = pose_keys.bone_quaternions(person.global_orient[:n_insert],
                                       person.body_pose[:n_insert], rest)
    locs = pose_keys.root_locations(person.transl[:n_insert], rest[0], heads[0])
    arm.animation_data_clear()
    bones = [arm.pose.bones[name] for name in [b.name for b in arm.data.bones]]
    from ..skeleton import JOINT_INDEX

    order = [JOINT_INDEX[b.name] for b in bones]
    t0 = time.perf_counter()
    for k in range(n_insert):
        frame = k + FRAME_OFFSET
        for pb, j in zip(bones, order):
            pb.rotation_quaternion = quats[k, j]
            pb.keyframe_insert("rotation_quaternion", frame=frame)
            if j == 0:
                pb.location = locs[k]
                pb.keyframe_insert("location", frame=frame)
    naive = time.perf_counter() - t0

    # everything the button builds: armature, keys, contact-driven foot lock, skinned body
    from videomocap_addon.build.capture import build_full_capture
    from videomocap_addon.core import contact_phases as cp

    for side, (heel, toe) in cp.CONTACT_CHANNELS.items():  # down where a foot is at its lowest
        ankle, ball = cp.LEG_JOINTS[side][2], cp.LEG_JOINTS[side][3]
        za, zb = person.joints[:, ankle, 2], person.joints[:, ball, 2]
        person.contact[:, heel] = (za < za.min() + 0.01).astype(np.float32)
        person.contact[:, toe] = (zb < zb.min() + 0.02).astype(np.float32)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    t0 = time.perf_counter()
    full = build_full_capture(motion, "Speed", bpy.context.scene, foot_lock=True)
    full_seconds = time.perf_counter() - t0
    return {"full_build_seconds": full_seconds, "full_build_body": full["body"],
            "frames": n_frames, "seconds": ours, "ms_per_frame": 1000 * ours / n_frames,
            "keyframe_insert_frames": n_insert, "keyframe_insert_seconds": naive,
            "keyframe_insert_ms_per_frame": 1000 * naive / n_insert,
            "speedup_per_frame": (naive / n_insert) / (ours / n_frames)}
