"""Blender tier, end to end: the sample video's capture built into an armature, whose ankles are read
back through the depsgraph and compared with the ground truth the video was rendered from."""

from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from videomocap import motion_file  # noqa: E402
from videomocap.bench.evaluate import load_ground_truth  # noqa: E402
from videomocap.bench.metrics import apply_transform, similarity_transform  # noqa: E402
from videomocap_addon.build.armature import FRAME_OFFSET  # noqa: E402
from videomocap_addon.build.scene import build_capture  # noqa: E402

from ..conftest import SAMPLE_GT  # noqa: E402


def test_demo_armature_ankles_follow_the_true_ankles(sample_capture):
    motion = motion_file.load(sample_capture)
    gt = load_ground_truth(SAMPLE_GT)
    names = [str(n) for n in gt["joint_names"]]
    bpy.ops.wm.read_factory_settings(use_empty=True)
    built = build_capture(motion, "Capture sample")
    arm = built["armatures"][0]
    person = motion.people[0]
    frames = person.frame_ids[::10]
    ours, true = [], []
    scene = bpy.context.scene
    for f in frames:
        scene.frame_set(int(f) + FRAME_OFFSET)
        ev = arm.evaluated_get(bpy.context.evaluated_depsgraph_get())
        ours.append([np.array(ev.matrix_world @ ev.pose.bones[b].head)
                     for b in ("pelvis", "left_ankle", "right_ankle")])
        true.append(gt["joints"][f, [names.index("pelvis"), names.index("left_ankle"),
                                     names.index("right_ankle")]])
    ours, true = np.array(ours), np.array(true)
    # one similarity for the whole clip (our world has its own origin, heading and scale)
    tr = similarity_transform(ours.reshape(-1, 3), true.reshape(-1, 3))
    err = np.linalg.norm(apply_transform(ours, *tr) - true, axis=-1)
    # measured 2026-11-21: mean ankle error about 0.1 m after this alignment
    assert err[:, 1:].mean() < 0.2, err.mean(0)
    # the walk goes the right way and the right distance (in the aligned world)
    walked = np.linalg.norm(apply_transform(ours[-1, 0], *tr) - apply_transform(ours[0, 0], *tr))
    true_walk = np.linalg.norm(true[-1, 0] - true[0, 0])
    assert abs(walked - true_walk) < 0.2 * true_walk
