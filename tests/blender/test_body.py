"""Blender tier: the skinned body meshes (MakeHuman, SMPL from a synthetic model file, proxy
fallback), deformed by the keyed armature and read back through the depsgraph."""

from __future__ import annotations

import logging
import os
import pickle

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from videomocap import motion_file, skeleton  # noqa: E402
from videomocap.bench.speed import _long_motion  # noqa: E402
from videomocap_addon.build.armature import FRAME_OFFSET  # noqa: E402
from videomocap_addon.build.capture import build_full_capture  # noqa: E402
from videomocap_addon.core import body_mesh as core_body  # noqa: E402

from ..conftest import run_cli  # noqa: E402
from ..unit.synthetic_smpl import write_npz  # noqa: E402

J = skeleton.JOINT_INDEX


def _motion(n: int = 40, scale: float = 0.93):
    """A short walk with the arms lowered, for a person smaller than the template."""
    motion = _long_motion(n)
    person = motion.people[0]
    person.bone_lengths = skeleton.TEMPLATE_BONE_LENGTHS * scale
    person.body_pose[:, J["left_shoulder"] - 1, 2] = -1.1
    person.body_pose[:, J["right_shoulder"] - 1, 2] = 1.1
    person.body_pose[:, J["left_ankle"] - 1, 0] = 0.5 * np.sin(np.arange(n) / 5.0)
    person.transl[:, 2] *= scale
    person.joints, person_rot = skeleton.forward_kinematics(
        person.global_orient, person.body_pose, person.transl, person.bone_lengths)
    return motion, person_rot


def _build(motion, **kw):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return build_full_capture(motion, "Body test", bpy.context.scene, foot_lock=False, **kw)


def _evaluated_verts(obj, frame: int) -> np.ndarray:
    bpy.context.scene.frame_set(frame)
    dg = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(dg)
    co = np.empty(len(ev.data.vertices) * 3, dtype=np.float32)
    ev.data.vertices.foreach_get("co", co)
    mw = np.array(ev.matrix_world)
    return co.reshape(-1, 3) @ mw[:3, :3].T + mw[:3, 3]


def _rest_verts(obj) -> np.ndarray:
    co = np.empty(len(obj.data.vertices) * 3, dtype=np.float32)
    obj.data.vertices.foreach_get("co", co)
    return co.reshape(-1, 3).astype(np.float64)


def _group_weights(obj, name: str) -> np.ndarray:
    vg = obj.vertex_groups[name]
    w = np.zeros(len(obj.data.vertices))
    for v in obj.data.vertices:
        for g in v.groups:
            if g.group == vg.index:
                w[v.index] = g.weight
    return w


def test_makehuman_body_follows_the_armature():
    motion, rot = _motion()
    person = motion.people[0]
    built = _build(motion)
    assert built["body"] == "makehuman"
    body, arm = built["bodies"][0], built["armatures"][0]
    assert body.type == "MESH" and body.parent == arm
    assert [g.name for g in body.vertex_groups] == list(skeleton.JOINT_NAMES)
    mods = [m for m in body.modifiers if m.type == "ARMATURE"]
    assert len(mods) == 1 and mods[0].object == arm
    assert len(body.data.materials) == 2
    assert body.animation_data.action is not None  # hidden when the person is not seen

    # rest: soles on the floor, the top of the head above the head joint by a head's height
    rest = _rest_verts(body)
    joints_rest = core_body.rest_joints(person.bone_lengths)
    assert abs(rest[:, 2].min()) < 0.03
    assert 0.05 < rest[:, 2].max() - joints_rest[J["head"], 2] < 0.17

    # vertices weighted to the left foot bones move rigidly with the left ankle's frame
    c = skeleton.REST_ORIENT_WORLD
    w_ankle = _group_weights(body, "left_ankle")
    foot = np.nonzero(w_ankle > 0.99)[0]
    assert len(foot) > 100
    for k in (5, 30):
        ev = _evaluated_verts(body, int(person.frame_ids[k]) + FRAME_OFFSET)
        j = J["left_ankle"]
        expected = person.joints[k, j] + (rest[foot] - joints_rest[j]) @ (rot[k, j] @ c.T).T
        assert np.abs(ev[foot] - expected).max() < 0.01
        # the whole body went with the pelvis: its vertical extent is the standing height
        assert abs(np.ptp(ev[:, 2]) - np.ptp(rest[:, 2])) < 0.2
        assert np.linalg.norm(ev.mean(0)[:2] - person.joints[k, 0, :2]) < 0.15


def test_smpl_body_from_a_synthetic_model_file(tmp_path):
    model = write_npz(tmp_path / "model.npz")
    motion, _ = _motion(20)
    person = motion.people[0]
    built = _build(motion, smpl_model=model)
    assert built["body"] == "smpl"
    body = built["bodies"][0]
    n_model = np.load(model)["v_template"].shape[0]
    assert len(body.data.vertices) == n_model and len(body.data.polygons) > 0
    # the synthetic model's last 24 vertices sit on its joints: they land on the captured joints
    for k in (0, 15):
        ev = _evaluated_verts(body, int(person.frame_ids[k]) + FRAME_OFFSET)
        assert np.abs(ev[-24:] - person.joints[k]).max() < 2e-3


def test_bad_model_file_changes_nothing(tmp_path):
    bad = tmp_path / "SMPL_NEUTRAL.pkl"
    bad.write_bytes(pickle.dumps({"v_template": os.getcwd}, protocol=2))
    motion, _ = _motion(5)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    before = set(bpy.data.objects), set(bpy.data.collections)
    with pytest.raises(core_body.BodyMeshError):
        build_full_capture(motion, "Body test", bpy.context.scene, smpl_model=bad)
    assert (set(bpy.data.objects), set(bpy.data.collections)) == before


def test_missing_template_falls_back_to_the_proxy(monkeypatch, tmp_path, caplog):
    monkeypatch.setattr(core_body, "MAKEHUMAN_TEMPLATE", tmp_path / "gone.npz")
    motion, _ = _motion(5)
    with caplog.at_level(logging.WARNING, logger="videomocap"):
        built = _build(motion)
    assert built["body"] == "proxy" and len(built["bodies"]) == 1
    assert "gone.npz" in caplog.text and "proxy" in caplog.text


def test_cli_blend_with_a_bad_smpl_model_says_so_and_writes_nothing(tmp_path):
    motion, _ = _motion(5)
    motion_file.save(motion, tmp_path / "walk.mocap.npz")
    bad = tmp_path / "model.npz"
    np.savez(bad, v_template=np.zeros((3, 3)))
    out = tmp_path / "out.blend"
    proc = run_cli("blend", tmp_path / "walk.mocap.npz", "-o", out, "--smpl-model", bad)
    assert proc.returncode == 1
    line = proc.stderr.strip()
    assert "\n" not in line and "model.npz" in line and "SMPL" in line
    assert not out.exists()
