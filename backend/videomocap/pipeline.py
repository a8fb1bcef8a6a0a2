"""Run the capture stages in order and report progress.

decode -> detect -> track -> fit body -> refine in time -> world grounding + contact
       -> refit with the floor and the contacts -> refine -> world grounding -> motion file

Each stage is a function over plain data (see the stage folders); this module only wires them
together, times them, checks the input early, and turns "nothing to capture" into a CaptureError.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__
from .errors import CaptureError
from .motion_file import Motion, PersonMotion, save
from .rotations import axis_angle_to_matrix, matrix_to_axis_angle
from .skeleton import CONTACT_NAMES, forward_kinematics

Progress = Callable[[dict], None]

MODELS = ("default", "hmr2", "wham")


@dataclass
class CaptureSettings:
    max_people: int | None = None
    start: int = 0
    end: int | None = None
    device: str = "cpu"
    model: str = "default"
    #: descent steps of the fit, and of the refit with the floor and the foot contacts. 120 +
    #: 120 beat 240 steps of one fit on every bench mean; the refit's 160 against 120 (harness,
    #: 12 scenes) PA-MPJPE 73.3 -> 73.0, W-MPJPE100 237.7 -> 233.5, FS locked 5.53 -> 5.43 for
    #: 0.5 ms a person-frame (200 steps: 72.9, 230.7, 5.36, but fit, refit and world then cost
    #: 4.7-5.8 ms a person-frame against the 5 ms budget)
    fit_iterations: int = 120
    refit_iterations: int = 160
    focal_from_people: bool = False  # off: unreliable on the bench's short, level-ish clips
    #: the lens's 35 mm-equivalent focal length when the user knows it (what phones and camera
    #: specs list); None: metadata, else measured from the camera's turning, else sqrt(W^2 + H^2)
    focal_mm: float | None = None


def _people_per_frame(max_people: int | None) -> int:
    """How many people the detector follows per frame. ``--max-people`` keeps the N people seen
    longest *after* tracking, so the detector must see more than N: with a cap of N per frame, a
    crowd would hand the N slots to different people from frame to frame."""
    return 8 if max_people is None else max(4, 2 * max_people)


def check_output_path(path: str | os.PathLike) -> Path:
    """Fail early, before any work, if the output cannot be written."""
    out = Path(path)
    folder = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise CaptureError(f"The output {out} is a folder; give a file name ending in .mocap.npz.")
    if not folder.is_dir():
        raise CaptureError(f"The output folder {folder} does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CaptureError(f"The output folder {folder} cannot be written to.")
    return out


def _check_settings(settings: CaptureSettings) -> None:
    if settings.model not in MODELS:
        raise CaptureError(f"Unknown model '{settings.model}'; choose one of {', '.join(MODELS)}.")
    if settings.model != "default":
        raise CaptureError(
            f"The {settings.model} model needs its licensed checkpoints, which this version cannot "
            "load yet; use --model default."
        )
    if settings.device not in ("cpu", "cuda"):
        raise CaptureError(f"Unknown device '{settings.device}'; choose cpu or cuda.")
    if settings.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise CaptureError("--device cuda was asked for, but no CUDA GPU is available here.")
    if settings.max_people is not None and settings.max_people < 1:
        raise CaptureError("--max-people must be at least 1.")
    if settings.focal_mm is not None and not 4.0 <= settings.focal_mm <= 1200.0:
        raise CaptureError(f"--focal-mm {settings.focal_mm:g} is not a lens's 35 mm-equivalent "
                           "focal length (4 to 1200 mm; phones' main cameras are about 24-28 mm).")
    if settings.start < 0 or (settings.end is not None and settings.end <= settings.start):
        raise CaptureError("The frame range is empty: --end must be greater than --start >= 0.")


def _smoothed(fit, fps: float):
    """The temporal refinement of a camera-frame fit, its joints and markers recomputed."""
    from .temporal.smooth import smooth_fit

    fit = smooth_fit(fit, fps)
    fit.joints, _, fit.markers = forward_kinematics(fit.global_orient, fit.body_pose, fit.transl,
                                                    fit.bone_lengths, markers=True)
    return fit


def lens_intrinsics(video, info, focal_mm: float | None = None) -> tuple[np.ndarray, str]:
    """Intrinsics before any measurement: the user's lens (``focal_mm``, 35 mm equivalent), else
    the container's lens metadata, else the default sqrt(W^2 + H^2) guess.
    Returns (K, "user" | "metadata" | "default")."""
    from .body.fit_skeleton import default_intrinsics
    from .camera.estimate_motion import _with_focal
    from .camera.focal_from_people import focal_from_metadata, focal_px_from_35mm

    K = default_intrinsics(info.width, info.height)
    if focal_mm is not None:
        return _with_focal(K, focal_px_from_35mm(focal_mm, info.width, info.height)), "user"
    f = focal_from_metadata(video, info.width, info.height)
    return (K, "default") if f is None else (_with_focal(K, f), "metadata")


def _turned_view(camera, start: int) -> np.ndarray:
    """(start + F, 3, 3) homographies taking each video frame's pixels into the first captured
    frame's view, as the camera turned (``K R_f K^-1``; identity before ``start``)."""
    K = np.asarray(camera.K, np.float64)
    view = np.broadcast_to(np.eye(3), (start + len(camera.R), 3, 3)).copy()
    view[start:] = K @ np.asarray(camera.R, np.float64) @ np.linalg.inv(K)
    return view


def choose_focal(camera, tracks, info, source: str, from_people: bool):
    """(camera, where its focal length came from): measured from the camera's rotation, else
    ``source`` (metadata / default); a static camera with the default may take the people's
    estimate when ``from_people`` and it is well conditioned."""
    import dataclasses

    from .camera.estimate_motion import _with_focal
    from .camera.focal_from_people import focal_from_tracks

    if source == "user":  # the user knows their lens
        return camera, source
    if camera.focal_estimated:
        return camera, "camera-rotation"
    if source == "default" and from_people and camera.static:
        est = focal_from_tracks(tracks, info.width, info.height, fps=info.fps)
        if est.accepted:
            return dataclasses.replace(camera, K=_with_focal(camera.K, est.focal)), "people"
    return camera, source


def capture(video: str | os.PathLike, output: str | os.PathLike,
            settings: CaptureSettings | None = None, progress: Progress | None = None) -> Motion:
    """Capture every person in ``video`` and write the motion file ``output``."""
    from .body.fit_skeleton import FitSettings, PlantedSoles, fit_people
    from .body.landmark_map import estimate_bone_lengths, targets_from_landmarks
    from .camera import CameraMotionEstimator, camera_poses, place_people
    from .detect import detect_people
    from .detect.foot_motion import measure_foot_motion
    from .temporal.smooth import smooth_landmarks
    from .track.appearance import describe_appearance
    from .track.left_right import correct_left_right, correct_limb_labels
    from .track.track_people import track_people
    from .video import probe_video, read_ahead, read_frames
    from .world.contact_correction import ground_person
    from .world.facing import travel_heading_correction, turn_about_vertical

    settings = settings or CaptureSettings()
    report = progress or (lambda event: None)
    timings: dict[str, float] = {}
    _check_settings(settings)
    out = check_output_path(output)
    info = probe_video(video)
    end = info.frame_count if settings.end is None else min(settings.end, info.frame_count)
    if settings.start >= info.frame_count:
        raise CaptureError(
            f"--start {settings.start} is past the end of the video ({info.frame_count} frames)."
        )
    total = end - settings.start
    if total < 2:
        raise CaptureError(
            f"{Path(video).name} has only {total} frame{'s' if total != 1 else ''} to capture; "
            "motion needs at least 2."
        )

    # decode + detect, streamed
    t0 = time.perf_counter()
    report({"stage": "detect", "done": 0, "total": total})
    step = max(1, total // 100)

    current: dict = {}  # the frame being detected (one at a time, never the whole video)
    cuts: list[int] = []  # frames where a new shot begins (edited clips)
    # per frame: (P, D) colours sampled at each person's body parts (futures while detecting)
    appearance: list = []
    # camera motion from the background, fed the same decoded frames (people masked by their boxes)
    K0, focal_source = lens_intrinsics(video, info, settings.focal_mm)
    camera_tracker = CameraMotionEstimator(info.width, info.height, K0,
                                           estimate_focal_length=focal_source != "user")

    def frames():
        for index, frame in read_ahead(read_frames(video, settings.start, end)):
            current["rgb"] = frame
            yield index, frame

    # The camera tracker and the colour sampling follow the frames on a thread of their own
    # (OpenCV and numpy release the GIL), a few frames behind: they fill the time a core would
    # wait while this thread does its Python share of the detection. Results are taken in order,
    # so errors surface here; a frame revised later gets a newer sampling in its slot.
    import threading
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    camera_thread = ThreadPoolExecutor(1, thread_name_prefix="camera")
    camera_pending: deque = deque()

    def on_frame(index: int, dets) -> None:
        camera_pending.append(camera_thread.submit(camera_tracker.add, current["rgb"], dets.boxes))
        while len(camera_pending) > 4:
            camera_pending.popleft().result()
        appearance.append(camera_thread.submit(describe_appearance, current.pop("rgb"),
                                               dets.keypoints2d))
        done = index - settings.start + 1
        if done % step == 0 or done == total:
            report({"stage": "detect", "done": done, "total": total})

    def on_revised(position: int, rgb, dets) -> None:
        # somebody found later was followed back into this frame: their colours too
        appearance[position] = camera_thread.submit(describe_appearance, rgb, dets.keypoints2d)

    try:
        detections = detect_people(frames(), info.fps,
                                    max_people=_people_per_frame(settings.max_people),
                                    progress=on_frame, revised=on_revised, cuts=cuts)
        t1 = time.perf_counter()
        while camera_pending:
            camera_pending.popleft().result()
        appearance = [future.result() for future in appearance]
    finally:
        camera_thread.shutdown(wait=True, cancel_futures=True)
    # the camera's time is counted apart, though most of it ran beside the detection
    timings["decode+detect"] = t1 - t0
    t0 = time.perf_counter()
    camera = camera_tracker.finish()
    timings["camera"] = camera_tracker.seconds + time.perf_counter() - t0
    n_frames_read = len(detections)
    if not any(d.num_people for d in detections):
        raise CaptureError(f"No person was found in {Path(video).name}.")

    t0 = time.perf_counter()
    # gaps up to half a second are filled; longer ones are entered a fifth of a second from either
    # side (three-cross-pan IDF1 0.945 -> 0.957, two-cross-static 0.975 -> 0.994)
    tracks = track_people(detections, info.fps, max_people=settings.max_people,
                          appearance=appearance, fill_seconds=0.5, carry_seconds=0.2, cuts=cuts,
                          view=None if camera.static else _turned_view(camera, settings.start))
    timings["track"] = time.perf_counter() - t0
    report({"stage": "track", "done": 1, "total": 1})
    if not tracks:
        raise CaptureError(
            f"Nobody stays in view of {Path(video).name} long enough (half a second) to capture."
        )

    t0 = time.perf_counter()
    # the focal length measured from the camera's rotation, else the lens metadata or the people
    camera, focal_source = choose_focal(camera, tracks, info, focal_source,
                                        settings.focal_from_people)
    K = camera.K
    # the landmark model's mirror-image mistakes (back taken for front, left for right) undone,
    # then those of single limbs (one leg's or arm's landmarks given to the other for a while)
    tracks = [correct_limb_labels(correct_left_right(track, info.fps, K, camera.static))
              for track in tracks]
    # how fast each foot moves in the picture: the video read once more, two frames at a time,
    # on a thread beside the fit (decoding and optical flow release the GIL); the world step
    # waits for it
    feet_thread = ThreadPoolExecutor(1, thread_name_prefix="feet")
    feet_stop = threading.Event()  # set if the fit fails: the thread stops reading at once
    foot_speed_future = feet_thread.submit(measure_foot_motion,
                                           read_frames(video, settings.start, end), tracks,
                                           not camera.static, feet_stop)
    feet_thread.shutdown(wait=False)
    try:
        prepared = []
        for track in tracks:
            conf = track.keypoints2d[..., 2]
            kp2d = track.keypoints2d.copy()
            kp2d[..., :2] = smooth_landmarks(track.keypoints2d[..., :2], conf, info.fps)
            kp3d = smooth_landmarks(track.keypoints3d, conf, info.fps)
            prepared.append((targets_from_landmarks(kp2d, kp3d),
                             estimate_bone_lengths(kp2d, kp3d)))
        report({"stage": "fit", "done": 0, "total": 1})
        # smoothness 6 rather than FitSettings' 10 now that the refit follows (harness, 12
        # scenes: PA-MPJPE 72.7 -> 72.3, W-MPJPE100 235.1 -> 232.3, FS locked 5.05 -> 4.95;
        # 4: PA 72.1, W 228.4 but FS locked 5.26)
        raw_fits = fit_people([t for t, _ in prepared], [b for _, b in prepared], K,
                              FitSettings(iterations=settings.fit_iterations, weight_smooth=6.0))
    except BaseException:
        feet_stop.set()
        raise
    fits = [(track, targets, _smoothed(fit, info.fps))
            for track, (targets, _), fit in zip(tracks, prepared, raw_fits)]
    report({"stage": "fit", "done": 1, "total": 1})
    timings["fit+smooth"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    foot_speed = foot_speed_future.result()
    timings["feet"] = time.perf_counter() - t0  # the part the fit did not hide
    t0 = time.perf_counter()

    def to_world(fits, contacts=None, used=None):
        # bodies into the first frame's camera (through the camera's motion), then gravity and
        # ground
        placed, world, cam = place_people([f for _, _, f in fits],
                                          [t.frame_ids - settings.start for t, _, _ in fits],
                                          camera, camera_tracker, info.fps, used)
        cam_R, cam_t = camera_poses(cam, world.R, world.t, settings.start, info.frame_count)
        people, yaws = [], []
        for k, ((track, targets, _), fit) in enumerate(zip(fits, placed)):
            orient = matrix_to_axis_angle(world.R @ axis_angle_to_matrix(fit.global_orient))
            transl = world.points(fit.transl)
            yaw = None
            if cam.static:
                # walking people face where they go (world/facing.py); only where the camera
                # stood still: on the bench's pans the path's heading was the worse of the two
                # (skip-pan W-MPJPE100 184 -> 221, speed-change-pan 263 -> 317 with it)
                yaw = travel_heading_correction(orient, transl, info.fps, track.frame_ids)
                orient = turn_about_vertical(orient, yaw)
            yaws.append(yaw)
            joints, _, markers = forward_kinematics(orient, fit.body_pose, transl,
                                                    fit.bone_lengths, markers=True)
            feet = np.stack([markers[name] for name in CONTACT_NAMES], axis=1)
            transl, joints, contact = ground_person(transl, joints, feet, info.fps,
                                                    track.frame_ids, cam_t[track.frame_ids],
                                                    track.keypoints2d,
                                                    None if contacts is None else contacts[k],
                                                    foot_speed[k])
            people.append(PersonMotion(
                person_id=track.track_id,
                frame_ids=track.frame_ids,
                global_orient=orient,
                body_pose=fit.body_pose,
                transl=transl,
                betas=np.zeros(10),
                bone_lengths=fit.bone_lengths,
                joints=joints,
                contact=contact,
                keypoints2d=track.keypoints2d,
                confidence=np.mean(targets.confidence, axis=1),
                frame_source=track.frame_source,
            ))
        return people, world, cam, cam_R, cam_t, yaws

    people, world, camera_used, cam_R, cam_t, yaws = to_world(fits)
    timings["world"] = time.perf_counter() - t0
    if settings.refit_iterations > 0:
        # refit with the floor and the contacts just found: planted feet on the floor and still
        # (as they will be once the world step has turned the body to face its travel). It
        # starts from the smoothed first fit, so it asks less smoothness of its own: weight 3
        # rather than 10 (the first fit's, then) gave (bench, 12 scenes) PA-MPJPE 74.7 -> 73.3 mm,
        # W-MPJPE100 247.6 -> 237.7, WA-MPJPE100 116.4 -> 114.2, FS 8.89 -> 8.76, for Accel
        # 6.27 -> 6.49 m/s^2 and Jitter 5.2 -> 6.8 (weight 5: PA 73.8, W 241.5, Accel 6.36).
        # It also leans less on the landmark model's 3D landmarks (weight 0.4 against 1), which
        # the first fit has taken in already and which keep the legs from taking up the step:
        # MPJPE 108.2 -> 106.6, PA 73.0 -> 72.7, Accel 6.45 -> 6.26, FS 8.66 -> 8.07, FS
        # locked 5.43 -> 5.05, W 233.5 -> 235.1 (0.3: W 238.5; 0.5: FS locked 5.14)
        t0 = time.perf_counter()
        planted = [PlantedSoles(person.contact, cam_R[track.frame_ids], cam_t[track.frame_ids],
                                np.diff(track.frame_ids) == 1, yaw)
                   for (track, _, _), person, yaw in zip(fits, people, yaws)]
        refit = fit_people([t for _, t, _ in fits], [f.bone_lengths for _, _, f in fits], K,
                           FitSettings(iterations=settings.refit_iterations, weight_floor=3.0,
                                       weight_planted=3.0, weight_smooth=3.0,
                                       weight_3d=0.4),
                           start=[f for _, _, f in fits], planted=planted)
        fits = [(track, targets, _smoothed(fit, info.fps))
                for (track, targets, _), fit in zip(fits, refit)]
        timings["refit"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        # the contacts stay those of the first pass: found again on the refit motion (whose
        # planted feet are still) they grew, and the foot lock pinned feet the truth had lifted
        # (bench: frames locked while the true foot moves 10 -> 19 %)
        people, world, camera_used, cam_R, cam_t, yaws = to_world(
            fits, [p.contact for p in people], camera_used)
        timings["world"] += time.perf_counter() - t0
    camera = camera_used
    report({"stage": "world", "done": 1, "total": 1})

    n_video = info.frame_count
    motion = Motion(
        fps=info.fps,
        image_size=np.array([info.width, info.height]),
        K=np.repeat(K[None], n_video, axis=0),
        cam_R=cam_R,  # world-from-camera: p_w = R p_c + t
        cam_t=cam_t,
        people=people,
        meta={
            "tool": "videomocap",
            "version": __version__,
            "video": str(Path(video).name),
            "model": settings.model,
            "detector": "mediapipe-pose-landmarker-full",
            "frames_processed": n_frames_read,
            "frame_range": [settings.start, end],
            "ground": world.method,
            "shot_cuts": [int(c) for c in cuts],
            "camera": {"static": camera.static, "translation": camera.translation,
                       "focal_px": round(float(camera.K[0, 0]), 1),
                       "focal_estimated": camera.focal_estimated,
                       "focal_source": focal_source},
            "timings_s": {k: round(v, 3) for k, v in timings.items()},
        },
    )
    t0 = time.perf_counter()
    save(motion, out)
    timings["write"] = time.perf_counter() - t0
    motion.meta["timings_s"]["write"] = round(timings["write"], 3)
    report({"stage": "write", "done": 1, "total": 1})
    return motion

