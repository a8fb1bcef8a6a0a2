"""``videomocap bench``: render (or reuse) the suite's scenes, capture them, score them, and time
the parts that users wait for. Prints a table; optionally writes JSON and docs/benchmarks.md."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..errors import CaptureError
from .suites import GENERATOR_VERSION, GENERATOR_VERSION_MULTI, SUITES, SceneSpec



def data_dir() -> Path:
    env = os.environ.get("VIDEOMOCAP_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / "shared" / "data" for p in [Path.cwd(), *Path.cwd().parents, *here.parents]]
    for c in candidates:
        if (c / "mocap").is_dir():
            return c
    raise CaptureError("The benchmark needs the shared data folder (shared/data with mocap/); "
                       "set VIDEOMOCAP_DATA to it.")


def cache_dir() -> Path:
    root = os.environ.get("VIDEOMOCAP_BENCH_CACHE")
    return Path(root) if root else Path.cwd() / "build" / "bench"


def scene_key(spec: SceneSpec, mocap: Path) -> str:
    """Content hash of what a render depends on: the spec, the mocap file's bytes and the
    generator's version (``suites.GENERATOR_VERSION``)."""
    fields = {k: v for k, v in spec.as_dict().items() if not (k == "more_mocap" and not v)}
    h = hashlib.sha256(json.dumps(fields, sort_keys=True).encode())
    h.update(mocap.read_bytes())
    for extra in spec.more_mocap:
        h.update((mocap.parents[1] / extra).read_bytes())
    h.update(str(GENERATOR_VERSION).encode())
    if spec.people > 1:
        h.update(f"multi{GENERATOR_VERSION_MULTI}".encode())
    return h.hexdigest()[:12]


RENDER_LOG: list[tuple[str, float]] = []  # (scene, seconds) of the renders made by this process


def render_scene(spec: SceneSpec, data: Path, cache: Path, log=print) -> tuple[Path, Path]:
    """The scene's video and ground truth, rendered once and then reused (content-hashed)."""
    mocap = data / "mocap" / spec.mocap
    if not mocap.is_file():
        raise CaptureError(f"The benchmark scene {spec.name} needs {mocap}, which is missing.")
    folder = cache / "scenes" / f"{spec.name}-{scene_key(spec, mocap)}"
    video, gt = folder / "scene.mp4", folder / "scene.gt.npz"
    if video.is_file() and gt.is_file():
        return video, gt
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "videomocap.bench.scene", "--mocap", str(mocap),
           "--camera", spec.camera, "--seed", str(spec.seed), "--start-seconds",
           str(spec.start_seconds), "--seconds", str(spec.seconds), "-o", str(video)]
    for extra in spec.more_mocap:
        cmd += ["--mocap", str(data / "mocap" / extra)]
    if spec.people != 1:
        cmd += ["--people", str(spec.people)]
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=f"{home}/.config",
                   XDG_CACHE_HOME=f"{home}/.cache")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0 or not (video.is_file() and gt.is_file()):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise CaptureError(f"Rendering the scene {spec.name} failed: {' / '.join(tail)}.")
    RENDER_LOG.append((spec.name, time.perf_counter() - t0))
    log(f"  rendered {spec.name} in {RENDER_LOG[-1][1]:.0f} s")
    return video, gt


def _match_people(motion, gt: dict) -> list[tuple[int, object]]:
    """Pair each ground-truth person with the captured person whose boxes overlap it most."""
    from ..boxes import box_iou

    boxes = gt["boxes"]  # (F, P, 4)
    pairs = []
    used = set()
    for g in range(boxes.shape[1]):
        best, best_score = None, 0.0
        for p in motion.people:
            if p.person_id in used:
                continue
            kp = np.asarray(p.keypoints2d)
            ok = kp[..., 2] > 0.3
            scores = []
            for k, f in enumerate(p.frame_ids[::5]):
                sel = ok[k * 5]
                if f >= len(boxes) or not sel.any():
                    continue
                pts = kp[k * 5][sel, :2]
                box = np.array([[*pts.min(0), *pts.max(0)]])
                scores.append(box_iou(box, boxes[f, g])[0, 0])
            score = float(np.sum(scores))
            if score > best_score:
                best, best_score = p, score
        if best is not None:
            used.add(best.person_id)
            pairs.append((g, best))
    return pairs


#: how far a body reaches beyond its confident landmarks, in person-heights (the landmarks'
#: vertical span): left, top, right, bottom. Medians over the bench's fully visible people
#: (1947 frames) of the rendered mesh's box against the landmarks': the crown above the eyes and
#: ears, the soles below the heels, flesh beside the joints. The ground-truth boxes enclose the
#: mesh, as MOT's enclose the whole body; the earlier 10 % of the landmarks' own width and
#: height on every side reached 0.1 heights below the heels (three-cross-pan IDF1 0.904 -> 0.914)
BODY_MARGINS = (0.02, 0.08, 0.02, 0.03)

#: the same for the captured body's joints (the ground truth's joints, JOINT_NAMES of
#: ground_truth.py), in heights of the joints' vertical span: medians over the bench's fully
#: visible people (3794 frames) of the rendered mesh's box against its own skeleton's joints
#: seen through the true camera
JOINT_MARGINS = (0.03, 0.106, 0.035, 0.033)


def _person_boxes(person, motion=None) -> dict:
    """frame -> box around the person's body: their confident landmarks plus BODY_MARGINS, grown
    to hold the captured body (its joints seen through the capture's camera, plus JOINT_MARGINS)
    when ``motion`` has a camera. The landmarks alone can be far narrower than the person: on a
    small walker seen from the side (85 px tall) the landmark model put both ankles 3 px apart
    while the legs spanned 31 px; the fitted body keeps the track's bone lengths and its stride
    (three-cross-pan IDF1 0.914 -> 0.945, two-cross-static 0.966 -> 0.975)."""
    out = {}
    kp = np.asarray(person.keypoints2d)
    margin = np.array(BODY_MARGINS) * [-1, -1, 1, 1]
    for k, f in enumerate(person.frame_ids):
        sel = kp[k, :, 2] > 0.3
        if not sel.any():
            continue
        lo, hi = kp[k, sel, :2].min(0), kp[k, sel, :2].max(0)
        out[int(f)] = np.concatenate([lo, hi]) + margin * (hi[1] - lo[1])
    if motion is None or getattr(motion, "K", None) is None or not out:
        return out
    from ..skeleton import JOINT_INDEX
    from .evaluate import to_camera
    from .ground_truth import JOINT_NAMES

    frames = np.asarray(person.frame_ids)
    joints = np.asarray(person.joints, np.float64)[:, [JOINT_INDEX[n] for n in JOINT_NAMES]]
    cam = to_camera(joints, np.asarray(motion.cam_R, np.float64)[frames],
                    np.asarray(motion.cam_t, np.float64)[frames])
    uv = np.einsum("nij,nkj->nki", np.asarray(motion.K, np.float64)[frames], cam)
    in_front = np.all(uv[..., 2] > 1e-6, axis=1)
    uv = uv[..., :2] / np.maximum(uv[..., 2:], 1e-6)
    lo, hi = uv.min(1), uv.max(1)
    body = (np.concatenate([lo, hi], axis=1)
            + np.array(JOINT_MARGINS) * [-1, -1, 1, 1] * (hi[:, 1:] - lo[:, 1:]))
    for k, f in enumerate(frames):
        box = out.get(int(f))
        if box is not None and in_front[k]:
            out[int(f)] = np.concatenate([np.minimum(box[:2], body[k, :2]),
                                          np.maximum(box[2:], body[k, 2:])])
    return out


def tracking_of_scene(motion, gt: dict) -> dict:
    """MOTA / ID switches / IDF1 of the captured identities against the rendered ones."""
    from .metrics import tracking_scores

    from scipy.optimize import linear_sum_assignment

    from ..boxes import box_iou

    boxes = gt["boxes"]
    visible = gt.get("visible")
    ids = np.asarray(gt["person_ids"]).reshape(-1)
    pred: dict = {}
    for p in motion.people:
        for f, box in _person_boxes(p, motion).items():
            pid, bx = pred.get(f, (np.zeros(0, int), np.zeros((0, 4))))
            pred[f] = (np.append(pid, p.person_id), np.vstack([bx, box]))
    truth = {}
    for f in range(len(boxes)):
        there = np.all(np.isfinite(boxes[f]), axis=1) & (boxes[f][:, 2] > boxes[f][:, 0])
        keep = there.copy()
        if visible is not None:
            keep &= np.asarray(visible[f]).reshape(-1) > 0.2  # fully hidden: nothing to detect
        truth[f] = (ids[keep], boxes[f][keep])
        hidden = there & ~keep
        if hidden.any() and f in pred:
            # a box where a hidden person is (a track carried through the occlusion) is neither
            # right nor wrong: dropped before scoring, as TrackEval drops the boxes that match
            # distractors (all people in the frame matched at once, IoU >= 0.5)
            pid, bx = pred[f]
            iou = box_iou(boxes[f][there], bx)
            rows, cols = linear_sum_assignment(-iou)
            drop = [c for r, c in zip(rows, cols)
                    if iou[r, c] >= 0.5 and hidden[np.flatnonzero(there)[r]]]
            keep_pred = np.setdiff1d(np.arange(len(pid)), drop)
            pred[f] = (pid[keep_pred], bx[keep_pred])
    return tracking_scores(truth, pred)


def _after_lock(person, gt: dict, motion, g: int) -> tuple[float, float, np.ndarray]:
    """(FS, knee pop in degrees, joints (N, 24, 3)) of the joints Blender evaluates once the foot
    lock is on (what the animator gets); the pop is the largest knee-angle step the lock adds to
    the capture's."""
    import dataclasses

    import bpy

    from videomocap_addon.build.foot_lock import locked_joints

    from ..skeleton import JOINT_INDEX
    from .evaluate import score_person
    from .metrics import knee_pop

    bpy.ops.wm.read_factory_settings(use_empty=True)
    joints = locked_joints(person, float(motion.fps))
    locked = dataclasses.replace(person, joints=joints)
    legs = [tuple(JOINT_INDEX[f"{side}_{j}"] for j in ("hip", "knee", "ankle"))
            for side in ("left", "right")]
    pop = knee_pop(joints, np.asarray(person.joints, np.float64), legs, person.frame_ids)
    return score_person(locked, gt, motion, person_index=g)["FS"], pop, joints


def score_scene(spec: SceneSpec, video: Path, gt_path: Path) -> dict:
    from ..pipeline import capture
    from ..skeleton import JOINT_INDEX
    from .evaluate import (FOOT_POINTS, gt_contact, load_ground_truth, pair_distances,
                           score_person, slide_split)

    gt = load_ground_truth(gt_path)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        motion = capture(video, Path(tmp) / "scene.mocap.npz")
        seconds = time.perf_counter() - t0
    rows = []
    pairs = _match_people(motion, gt)
    for g, person in pairs:
        s = score_person(person, gt, motion, person_index=g)
        s["FS locked"], s["knee pop"], locked = _after_lock(person, gt, motion, g)
        feet = [JOINT_INDEX[n] for n in FOOT_POINTS]
        s["slide"] = {"file": slide_split(np.asarray(person.joints)[:, feet], person, gt, g),
                      "locked": slide_split(locked[:, feet], person, gt, g)}
        # contact labels from the ground-truth joints (each point low for itself and still),
        # not the render-time labels stored in the file (those need the point within 3 cm of
        # its rest height, which some mocap toes never reach)
        true = gt_contact(gt, g)
        frames = person.frame_ids[person.frame_ids < len(true)]
        s["contact agree %"] = 100.0 * float(
            ((person.contact[: len(frames)] > 0.5) == (true[frames] > 0.5)).mean())
        rows.append(s)
    n_frames = int(motion.meta["frames_processed"])
    track = tracking_of_scene(motion, gt)
    result = {"scene": spec.name, "camera": spec.camera, "people_true": int(gt["boxes"].shape[1]),
              "people_found": len(motion.people), "frames": n_frames,
              "fps": n_frames / seconds, "IDF1": track["IDF1"], "IDSW": track["IDSW"],
              "MOTA": track["MOTA"]}
    keys = ("MPJPE", "PA-MPJPE", "2D %", "Accel", "W-MPJPE100", "WA-MPJPE100", "RTE%", "Jitter",
            "FS", "FS locked", "knee pop", "contact agree %", "PA depth %", "motion kept %",
            "depth err %")
    for k in keys:
        vals = [r[k] for r in rows if np.isfinite(r[k])]
        worst = k in WORST_OF  # a limit that holds for everybody, not on average
        result[k] = float((np.max if worst else np.mean)(vals)) if vals else float("nan")
    # where the sliding comes from, pooled over the scene's people (bench/targets.py reads it)
    result["slide"] = {
        src: {part: [sum(r["slide"][src][part][i] for r in rows) for i in (0, 1)]
              for part in ("agree", "miss")} for src in ("file", "locked")}
    # the capture's focal length over the true lens's (a static camera's is a guess)
    result["focal ratio"] = float(np.median(np.asarray(motion.K)[:, 0, 0])
                                  / np.median(np.asarray(gt["K"])[:, 0, 0]))
    if gt["boxes"].shape[1] > 1:  # how far apart the people are, against the truth
        dists = [d for d in pair_distances(pairs, gt) if np.isfinite(d[0])]
        result["pair dist err %"] = float(np.mean([d[0] for d in dists])) if dists else float("nan")
        result["pair dist ok %"] = float(np.mean([d[1] for d in dists])) if dists else float("nan")
    return result


#: columns whose scene and summary rows give the worst value, not the mean
WORST_OF = ("knee pop",)

COLUMNS = ("scene", "camera", "people_found", "frames", "MPJPE", "PA-MPJPE", "2D %", "Accel",
           "W-MPJPE100", "WA-MPJPE100", "RTE%", "Jitter", "FS", "FS locked", "knee pop",
           "contact agree %",
           "IDF1", "IDSW", "MOTA", "pair dist err %", "pair dist ok %", "fps")


def _fmt(v) -> str:
    if isinstance(v, float):
        if not np.isfinite(v):
            return "nan"
        return f"{v:.2f}" if abs(v) <= 1.0 else f"{v:.1f}"
    return str(v)


def table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c, "")) for c in COLUMNS) + " |")
    return "\n".join(lines)


def mean_row(rows: list[dict], label: str = "**mean**") -> dict:
    out = {"scene": label, "camera": "", "people_found": "", "frames": sum(r["frames"] for r in rows)}
    for c in COLUMNS[4:]:
        vals = [float(r[c]) for r in rows
                if isinstance(r.get(c), (int, float)) and np.isfinite(r[c])]
        out[c] = float((np.max if c in WORST_OF else np.mean)(vals)) if vals else float("nan")
    return out


def suite_means(rows: list[dict]) -> dict:
    """The static-camera and moving-camera scenes' means, apart (issue 5 reports them apart)."""
    static = [r for r in rows if r.get("camera") == "static"]
    moving = [r for r in rows if r.get("camera") != "static"]
    return {"mean_static": mean_row(static, "**mean, static camera**") if static else None,
            "mean_moving": mean_row(moving, "**mean, moving camera**") if moving else None}


def real_footage_tracks(video: Path, output: Path) -> dict | None:
    """Capture real footage without ground truth (the campus clip vtest.avi: 10 fps, static
    camera, up to 8 pedestrians 50-100 px tall) and describe its tracks: how many, how long, how
    fragmented (gaps inside tracks, frames found by searching or filled rather than detected).
    The capture is kept at ``output`` (tools/render_tracks_picture.py draws it)."""
    from ..pipeline import capture
    from ..track.track_people import FRAME_DETECTED, FRAME_FILLED, FRAME_RECOVERED

    if not video.is_file():
        return None
    output.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    motion = capture(video, output)
    seconds = time.perf_counter() - t0
    fps = float(motion.fps)
    spans = np.array([(p.frame_ids[-1] - p.frame_ids[0] + 1) / fps for p in motion.people])
    gaps = [int(np.sum(np.diff(p.frame_ids) > 1)) for p in motion.people]
    source = np.concatenate([p.frame_source for p in motion.people])
    return {
        "video": video.name, "frames": int(motion.meta["frames_processed"]), "fps": fps,
        "seconds": seconds, "tracks": len(motion.people),
        "tracks_over_2s": int(np.sum(spans > 2.0)), "median_span_s": float(np.median(spans)),
        "gaps_in_tracks": int(sum(gaps)),
        "person_frames": {"detected": int(np.sum(source == FRAME_DETECTED)),
                          "recovered": int(np.sum(source == FRAME_RECOVERED)),
                          "filled": int(np.sum(source == FRAME_FILLED))},
    }


def mean_rows(report: dict) -> list[dict]:
    return [r for r in (report.get("mean_static"), report.get("mean_moving"), report["mean"]) if r]


def run_bench(suite: str = "default", json_path=None, markdown=None, log=print) -> dict:
    from . import speed

    if suite not in SUITES:
        raise CaptureError(f"Unknown suite '{suite}'; choose one of {', '.join(SUITES)}.")
    data, cache = data_dir(), cache_dir()
    started = time.perf_counter()
    rows = []
    for spec in SUITES[suite]:
        log(f"scene {spec.name}")
        video, gt = render_scene(spec, data, cache, log)
        rows.append(score_scene(spec, video, gt))
        log("  " + ", ".join(f"{k} {_fmt(v)}" for k, v in rows[-1].items() if k in COLUMNS[4:]))
    accuracy_seconds = time.perf_counter() - started

    log("real footage")
    real = real_footage_tracks(data / "video" / "vtest.avi", cache / "vtest.mocap.npz")

    log("speed")
    clip, _ = render_scene(SUITES[suite][0], data, cache, log)
    ours = speed.capture_speed(clip)
    ours.pop("motion")
    bare = speed.bare_mediapipe_speed(clip)
    blender = speed.blender_import_speed()
    speed_report = {
        "clip": SUITES[suite][0].name, "capture": ours, "bare_mediapipe": bare,
        "capture_over_bare_ms_ratio": (1000.0 / ours["fps"]) / bare["ms_per_frame"],
        "blender_import": blender,
    }
    report = {
        "suite": suite, "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "scenes": rows, "mean": mean_row(rows), **suite_means(rows), "speed": speed_report,
        "real_footage": real,
        "seconds": {"accuracy": accuracy_seconds, "total": time.perf_counter() - started,
                    "rendering": sum(t for _, t in RENDER_LOG)},
        "rendered": [name for name, _ in RENDER_LOG],
    }
    from .targets import check_targets, render_targets

    report["targets"] = check_targets(report)
    text = render_report(report) + "\n\nTargets:\n" + render_targets(report["targets"])
    log(text)
    if json_path:
        Path(json_path).write_text(json.dumps(report, indent=2, default=float))
    if markdown:
        Path(markdown).write_text(render_markdown(report))
    return report


def render_report(report: dict) -> str:
    sp = report["speed"]
    cap, bare, bl = sp["capture"], sp["bare_mediapipe"], sp["blender_import"]
    stages = ", ".join(f"{k} {v:.1f}" for k, v in cap["ms_per_frame"].items())
    return "\n".join([
        table(report["scenes"] + mean_rows(report)),
        "",
        f"Speed on {sp['clip']} ({cap['frames']} frames, {cap['size'][0]}x{cap['size'][1]}):",
        f"- capture end to end: {cap['fps']:.1f} frames/s; ms per frame by stage: {stages}",
        f"- bare MediaPipe landmarker (full frame, VIDEO mode, one pose): {bare['ms_per_frame']:.1f}"
        f" ms/frame; ours / bare = {sp['capture_over_bare_ms_ratio']:.1f}x",
        f"- Blender import of {bl['frames']} frames: {bl['seconds']:.2f} s"
        f" ({bl['ms_per_frame']:.3f} ms/frame); keyframe_insert loop on "
        f"{bl['keyframe_insert_frames']} frames: {bl['keyframe_insert_seconds']:.2f} s"
        f" ({bl['keyframe_insert_ms_per_frame']:.3f} ms/frame): {bl['speedup_per_frame']:.0f}x"
        " faster per frame",
        f"- whole build of those {bl['frames']} frames (keys, foot lock, {bl['full_build_body']}"
        f" body): {bl['full_build_seconds']:.2f} s",
    ])


def render_markdown(report: dict) -> str:
    from .targets import render_targets

    return f"""# Benchmarks

Generated by `make bench` (`videomocap bench --suite {report['suite']} --markdown docs/benchmarks.md`)
on {report['date']}, {report['machine']}, CPU only. Do not edit by hand.

Each scene is rendered by `videomocap.bench.scene` from real mocap (files in `shared/data/mocap`)
onto a MakeHuman body (Blender Workbench, 640x480, 30 fps), captured by `videomocap capture` with
default settings, and scored against the renderer's ground truth with the metrics of DESIGN §6
(`backend/videomocap/bench/metrics.py`). MPJPE, PA-MPJPE and Accel are computed in each side's own
camera frame after pelvis alignment; W/WA-MPJPE100, RTE, Jitter and FS on world joints. "2D %" is
how well the result lines up with the video: the mean picture distance between each joint seen
through the capture's camera and the truth seen through the true camera, in percent of the height
the true joints span in the picture (root-aligned MPJPE forgives a body at the wrong depth; the
camera view does not; the skeletons' different joint placement alone gives a few percent).
Millimetres,
m/s² (Accel), 10 m/s³ (Jitter), percent of path length (RTE). "FS locked" is foot sliding of the
joints Blender evaluates with the contact-driven foot lock on (what `videomocap blend` builds); the
other columns score the motion file. FS is the mean per-frame displacement (mm) of the ankle and
ball-of-foot joints on frames where the ground truth has that point in contact: within 2 cm of its
own lowest heights in the clip (5th percentile) and slower than 0.1 m/s; the ground truth scored
the same way gives about 1-2 mm (its joints roll a little in contact), the floor of this metric.
"knee pop" (degrees) is the largest per-frame step of a knee's bend that the foot lock adds to
the capture's own (the issue's "no knee angle jumps more than 20 degrees": a runner's knee itself
turns 20-30 degrees a frame at 30 fps, so the lock's share is what is measured; scene and mean
rows give the worst value, not the mean). "contact agree %" compares the capture's contact channels with those labels. "pair dist err %" (scenes with several people) is the mean relative error of the horizontal
pelvis-to-pelvis distance of every two people over the frames both are captured, "pair dist ok %"
the share of those frames within 10 % of the truth. IDF1, IDSW and MOTA match boxes at IoU 0.5:
ours enclose a person's confident landmarks and their fitted body seen through the capture's
camera, each plus a body's margins, the truth's the rendered mesh;
a person less than 20 % visible is not asked for, and a box on them there is dropped, not counted
false. Jitter, Accel and FS never treat the frames
either side of a track gap as neighbours. The ground-truth skeleton is the
MakeHuman `cmu_mb` rig's, ours is the SMPL-topology template: joint placement differs by a few
centimetres by definition (see `bench/scene.py` for the mapping).

## Accuracy

{table(report['scenes'] + mean_rows(report))}

## Targets

The issues' targets (`bench/targets.py`), checked on this run; where one is missed, what limits
it, with numbers from this run unless dated. "PA depth %" below is the share of the squared
error left after PA-MPJPE's alignment that lies along the camera's line of sight; "motion kept"
the capture's root-relative acceleration over the truth's.

{render_targets(report.get("targets") or [])}

{render_real_footage(report.get("real_footage"))}
## Speed

{render_report(report).split(chr(10) + chr(10), 1)[1]}

## Published anchors (other data, GPU models: not comparable one to one)

| method | data | PA-MPJPE | MPJPE | Accel | WA-MPJPE100 | W-MPJPE100 | RTE | Jitter | FS |
|---|---|---|---|---|---|---|---|---|---|
| WHAM | EMDB | 48.8 | 80.7 | 5.9 | | | | | |
| GVHMR | EMDB-2 | | | | 111.0 | 276.5 | 2.0 % | 16.7 | 3.5 |

Bench run time: {report['seconds']['total']:.0f} s in all, of which {report['seconds']['rendering']:.0f} s
rendering {len(report['rendered'])} scene(s) not yet in the render cache (`build/bench/scenes`, keyed
by a hash of the scene, its mocap files and the generator version).
"""


def render_real_footage(real: dict | None) -> str:
    if not real:
        return ""
    pf = real["person_frames"]
    return f"""## Real footage: tracks on {real['video']}

No ground truth here: the campus clip ({real['frames']} frames at {real['fps']:.0f} fps, static
camera, pedestrians 50-100 px tall) is captured end to end in {real['seconds']:.0f} s and its tracks
described. {real['tracks']} tracks, {real['tracks_over_2s']} of them longer than 2 s, median span
{real['median_span_s']:.1f} s; {real['gaps_in_tracks']} gaps inside tracks (a person lost longer
than the half second that is filled); person-frames: {pf['detected']} detected,
{pf['recovered']} recovered (found by searching where a lost or newly found person should be),
{pf['filled']} filled across short gaps or carried 0.2 s into longer ones.
`tools/render_tracks_picture.py build/bench/vtest.mocap.npz
VIDEO` draws them (README).

"""
