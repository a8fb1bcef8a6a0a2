"""Blender tier: FBX (each engine preset), BVH and glTF exports re-imported into a fresh scene.

Joint positions (bone heads, world space, read through the depsgraph) of the re-imported files are
compared with the original scene's, whose legs are pulled by the live foot lock: the files must
carry the locked motion. The importers undo each file's own conventions (FBX unit scale and axes
from the file's GlobalSettings, glTF's Y up, our Y-up BVH with Blender's default BVH axes); the only
import option we set is the FBX importer's ``anim_offset`` (0: our FBX times are Blender frames
/ fps, the importer would otherwise shift keys by its default of one frame). Numbers are printed;
run with ``-s`` to see them.
"""

from __future__ import annotations

import dataclasses
import json
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from videomocap import motion_file, skeleton  # noqa: E402
from videomocap_addon.build import export  # noqa: E402
from videomocap_addon.build import foot_lock as fl  # noqa: E402
from videomocap_addon.build.armature import FRAME_OFFSET  # noqa: E402
from videomocap_addon.build.capture import PHASES_PROPERTY, build_full_capture  # noqa: E402
from videomocap_addon.core import export_presets as presets  # noqa: E402

from ..conftest import run_cli  # noqa: E402

SECOND_ID = 7


def _two_people(sample_capture, tmp_path) -> tuple:
    """The sample capture plus a second walker: the same motion 1.5 m to the side, seen only
    from a third of the clip on (so per-person files have their own frame ranges)."""
    motion = motion_file.load(sample_capture)
    first = motion.people[0]
    k = len(first.frame_ids) // 3
    shift = np.array([1.5, 0.0, 0.0], dtype=np.float32)
    second = dataclasses.replace(
        first, person_id=SECOND_ID, frame_ids=first.frame_ids[k:],
        global_orient=first.global_orient[k:], body_pose=first.body_pose[k:],
        transl=first.transl[k:] + shift, joints=first.joints[k:] + shift,
        contact=first.contact[k:], keypoints2d=first.keypoints2d[k:],
        confidence=first.confidence[k:], frame_source=first.frame_source[k:])
    motion.people = [first, second]
    path = tmp_path / "two.mocap.npz"
    motion_file.save(motion, path)
    return motion, path


def _world_heads(arm, frames) -> np.ndarray:
    """(F, 24, 3) world positions of the SMPL bones' heads on Blender ``frames``."""
    pose = fl.evaluated_pose_matrices(arm, frames)
    mw = np.array(arm.matrix_world)
    return pose[:, :, :3, 3] @ mw[:3, :3].T + mw[:3, 3]


def _glb_json(path) -> dict:
    data = path.read_bytes()
    length, kind = struct.unpack_from("<I4s", data, 12)
    assert kind == b"JSON"
    return json.loads(data[20:20 + length])


def _import(fmt: str, path, fps: float, first_frame: int):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.fps = int(round(fps))
    scene.render.fps_base = scene.render.fps / fps
    if fmt == "fbx":
        bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0.0)
    elif fmt == "bvh":  # a BVH starts at its first frame: put it where the file's range began
        bpy.ops.import_anim.bvh(filepath=str(path), frame_start=first_frame)
    else:
        bpy.ops.import_scene.gltf(filepath=str(path))
    return [o for o in bpy.data.objects if o.type == "ARMATURE"]


@pytest.fixture(scope="module")
def exported(sample_capture, tmp_path_factory):
    """Build the two-person scene with the foot lock, record its joints, export every format
    and preset (per person and all in one); returns what the tests compare."""
    tmp = tmp_path_factory.mktemp("export")
    motion, path = _two_people(sample_capture, tmp)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    built = build_full_capture(motion, "Capture two", scene)
    arms = {int(a["videomocap_person_id"]): a for a in built["armatures"]}
    n_objects, n_actions, n_meshes = len(bpy.data.objects), len(bpy.data.actions), len(bpy.data.meshes)
    truth, frames = {}, {}
    for person in motion.people:
        pid = int(person.person_id)
        plan = fl.plan_foot_lock(person, *fl.rest_matrices(arms[pid]), float(motion.fps))
        locked = sorted({int(p.start) + (int(p.end) - int(p.start)) // 2 for p in plan["phases"]})
        ids = person.frame_ids
        pick = [int(ids[0]), int(ids[len(ids) // 2]), int(ids[-1]), *locked[:3]]
        frames[pid] = np.array(pick) + FRAME_OFFSET
        truth[pid] = _world_heads(arms[pid], frames[pid])
    assert arms[1].get(fl.STATE) == "live"  # the scene's lock is live, files must bake it
    files, seconds = {}, {}
    for fmt, preset, per_person in (("fbx", "default", False), ("fbx", "unity", False),
                                    ("fbx", "unreal", True), ("bvh", "default", True),
                                    ("glb", "default", False)):
        key = (fmt, preset, per_person)
        t0 = time.perf_counter()
        files[key] = export.export_capture(
            fmt, tmp / f"{preset}_{'each' if per_person else 'all'}.{fmt}",
            built["armatures"], per_person=per_person, fbx_preset=preset)
        seconds[key] = time.perf_counter() - t0
    after = {"objects": len(bpy.data.objects) - n_objects,
             "actions": len(bpy.data.actions) - n_actions,
             "meshes": len(bpy.data.meshes) - n_meshes,
             "influences": max(len(v.groups) for a in arms.values()
                               for m in export.skinned_meshes(a) for v in m.data.vertices),
             "names": sorted(o.name for o in bpy.data.objects),
             "lock": arms[1].get(fl.STATE)}
    n_frames = sum(len(p.frame_ids) for p in motion.people)
    print(f"\n[export] {len(motion.people)} people, {n_frames} person-frames: " + ", ".join(
        f"{k[0]} {k[1]} {'per person' if k[2] else 'all'} {v:.2f} s" for k, v in seconds.items()))
    return {"motion": motion, "truth": truth, "frames": frames, "files": files, "after": after,
            "fps": float(motion.fps), "scene_range": (scene.frame_start, scene.frame_end)}


def test_files_are_named_per_person_or_all_in_one(exported):
    files = exported["files"]
    assert [p.name for p in files[("fbx", "default", False)]] == ["default_all.fbx"]
    assert [p.name for p in files[("fbx", "unreal", True)]] == [
        "unreal_each_person1.fbx", f"unreal_each_person{SECOND_ID}.fbx"]
    assert [p.name for p in files[("bvh", "default", True)]] == [
        "default_each_person1.bvh", f"default_each_person{SECOND_ID}.bvh"]
    for paths in files.values():
        assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
        assert not list(paths[0].parent.glob(".tmp-*"))


def test_exporting_leaves_the_scene_as_it_was(exported):
    after = exported["after"]
    assert after["objects"] == 0 and after["actions"] == 0 and after["meshes"] == 0
    assert after["influences"] > 4  # the scene's bodies keep their weights (Unity's files: 4)
    assert "Person 1" in after["names"] and "Person 1 left foot lock" in after["names"]
    assert not any("export" in n or "videomocap scene" in n for n in after["names"])
    assert after["lock"] == "live"


def _check_round_trip(exported, fmt, preset, per_person, name_of):
    """Largest joint error (mm) over every person and picked frame of one export."""
    worst = 0.0
    motion = exported["motion"]
    for path in exported["files"][(fmt, preset, per_person)]:
        ids = [p.person_id for p in motion.people] if len(
            exported["files"][(fmt, preset, per_person)]) == 1 else [
            int(path.stem.rsplit("person", 1)[1])]
        person_first = {int(p.person_id): int(p.frame_ids[0]) + FRAME_OFFSET
                        for p in motion.people}
        arms = _import(fmt, path, exported["fps"], min(person_first[i] for i in ids))
        assert len(arms) == len(ids), [o.name for o in bpy.data.objects]
        for pid in ids:
            arm = bpy.data.objects[name_of(pid, path)]
            assert {b.name for b in arm.data.bones} == set(skeleton.JOINT_NAMES)
            err = np.linalg.norm(_world_heads(arm, exported["frames"][pid])
                                 - exported["truth"][pid], axis=-1)
            worst = max(worst, float(err.max()) * 1000.0)
        objects = {o.type for o in bpy.data.objects}
        assert objects <= {"ARMATURE", "MESH"}, objects  # no helper empties
        shapes = {pb.custom_shape for a in arms for pb in a.pose.bones}  # glTF import's bones
        meshes = [o for o in bpy.data.objects if o.type == "MESH" and o not in shapes]
        assert all(any(m.type == "ARMATURE" for m in o.modifiers) for o in meshes)
        # the skinned body of each person, nothing else (BVH holds skeletons only)
        assert len(meshes) == (0 if fmt == "bvh" else len(ids))
    print(f"\n[round trip] {fmt} {preset} {'per person' if per_person else 'all'}: "
          f"max joint error {worst:.4f} mm")
    return worst


@pytest.mark.parametrize("preset,per_person", [("default", False), ("unity", False),
                                               ("unreal", True)])
def test_fbx_round_trip_within_a_millimetre(exported, preset, per_person):
    name = (lambda pid, path: "Armature") if preset == "unreal" else (
        lambda pid, path: f"Person {pid}")
    assert _check_round_trip(exported, "fbx", preset, per_person, name) < 1.0


def test_bvh_round_trip_within_a_millimetre(exported):
    assert _check_round_trip(exported, "bvh", "default", True,
                             lambda pid, path: path.stem) < 1.0


def test_gltf_round_trip_within_a_millimetre(exported):
    assert _check_round_trip(exported, "glb", "default", False,
                             lambda pid, path: f"Person {pid}") < 1.0


def test_gltf_nodes_are_the_rigs_and_bodies_with_contact_extras(exported):
    doc = _glb_json(exported["files"][("glb", "default", False)][0])
    names = {n.get("name") for n in doc["nodes"]}
    expected = {f"Person {i}" for i in (1, SECOND_ID)} | {f"Person {i} body" for i in
                                                          (1, SECOND_ID)}
    assert names == expected | set(skeleton.JOINT_NAMES)  # no foot-lock helpers
    assert len(doc["skins"]) == 2 and len(doc["animations"]) == 1
    assert doc["animations"][0]["name"] == "Capture two"
    rig = next(n for n in doc["nodes"] if n.get("name") == "Person 1")
    phases = json.loads(rig["extras"][PHASES_PROPERTY])
    assert phases and {p["side"] for p in phases} == {"left", "right"}


def test_unreal_fbx_is_in_centimetres_with_an_armature_root(exported):
    path = exported["files"][("fbx", "unreal", True)][0]
    text = path.read_bytes()
    others = text
    for part in (b"body", b"clothes", b"skin"):  # the body mesh and its materials keep names
        others = others.replace(b"Person 1 " + part, b"")
    assert b"Armature" in text and b"Person 1" not in others
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.fbx(filepath=str(path), global_scale=1.0, use_custom_props=True)
    arm = bpy.data.objects["Armature"]
    # the file's unit is the centimetre and its bones are in it: Blender scales the node by 0.01
    assert np.allclose(np.array(arm.matrix_world.to_scale()), 0.01, atol=1e-6)
    assert arm.data.bones["left_knee"].length > 10.0  # tens of cm, not 0.4 (m)
    assert json.loads(arm[PHASES_PROPERTY])  # the contact phases came along as a user property
    action = arm.animation_data.action
    assert action.name == "Armature|Capture two person 1"


def test_unreal_preset_refuses_several_people_in_one_file(exported, tmp_path):
    proc = run_cli("blend", exported["files"][("fbx", "default", False)][0].parent
                   / "two.mocap.npz", "-o", tmp_path / "x.blend", "--fbx", tmp_path / "x.fbx",
                   "--fbx-preset", "unreal")
    assert proc.returncode == 1
    assert "--per-person" in proc.stderr and proc.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_contact_channels_are_keyed_custom_properties(sample_capture):
    motion = motion_file.load(sample_capture)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    built = build_full_capture(motion, "Capture sample", scene)
    arm, person = built["armatures"][0], motion.people[0]
    action = arm.animation_data.action
    assert action.name == f"Capture sample person {person.person_id}" and action.use_fake_user
    phases = json.loads(arm[PHASES_PROPERTY])
    assert len(phases) >= 4  # a walk: several steps of each foot
    checked = 0
    down = {"heel": ("heel",), "toe": ("toe",), "flat": ("heel", "toe")}  # channels on
    for ph in phases[:6]:
        mid = (ph["start"] + ph["end"]) // 2
        scene.frame_set(mid + FRAME_OFFSET)
        ev = arm.evaluated_get(bpy.context.evaluated_depsgraph_get())
        for point in ("heel", "toe"):
            assert ev[f"contact_{ph['side']}_{point}"] == float(point in down[ph["point"]])
        scene.frame_set(ph["end"] + 1 + FRAME_OFFSET)
        ev = arm.evaluated_get(bpy.context.evaluated_depsgraph_get())
        for point in down[ph["point"]]:
            after = [p for p in phases if p["side"] == ph["side"] and point in down[p["point"]]
                     and p["start"] <= ph["end"] + 1 <= p["end"]]
            assert ev[f"contact_{ph['side']}_{point}"] == (1.0 if after else 0.0)
        checked += 1
    assert checked >= 4


def test_cli_per_person_writes_one_file_each_and_keeps_the_blend_live(exported, tmp_path):
    src = exported["files"][("fbx", "default", False)][0].parent / "two.mocap.npz"
    out = tmp_path / "two.blend"
    proc = run_cli("blend", src, "-o", out, "--fbx", tmp_path / "two.fbx", "--glb",
                   tmp_path / "two.glb", "--bvh", tmp_path / "two.bvh", "--per-person",
                   "--fbx-preset", "unity")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["two.blend"] + [f"two_person{i}.{e}" for i in (1, SECOND_ID)
                         for e in ("fbx", "glb", "bvh")])
    bpy.ops.wm.open_mainfile(filepath=str(out))
    arm = bpy.data.objects["Person 1"]
    assert arm[fl.STATE] == "live" and "Person 1 left foot lock" in bpy.data.objects
    assert [a.use_fake_user for a in bpy.data.actions if a.name.endswith(" person 1")] == [True]


# --- an independent FBX reader -------------------------------------------------------------------
# ufbx (github.com/ufbx/ufbx) is the FBX loader of Godot's importer and of Blender 4.5's new FBX
# importer: written apart from Blender's exporter and its importer, so reading our files with it
# checks the files, not Blender's agreement with itself. It converts every file to metres, Z up.


def _ufbx_read(path, roots: dict, fps: float, tmp_path) -> dict:
    """What fbx_reader.py reads from ``path`` (in a process of its own: see its docstring)."""
    pytest.importorskip("ufbx")
    request = tmp_path / f"{path.stem}.request.json"
    request.write_text(json.dumps({
        "path": str(path), "fps": fps, "joints": list(skeleton.JOINT_NAMES),
        "roots": {root: [int(f) for f in frames] for root, frames in roots.items()}}))
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("fbx_reader.py")),
                           str(request)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("preset,per_person,unit,up", [
    # Blender's own FBX convention: unit cm, the armature node scaled by 100
    ("default", False, 0.01, "POSITIVE_Y"), ("unity", False, 1.0, "POSITIVE_Y"),
    ("unreal", True, 0.01, "POSITIVE_Z")])
def test_fbx_read_by_ufbx_within_a_millimetre(exported, tmp_path, preset, per_person, unit, up):
    """Every preset's files, read and evaluated by ufbx: each person's joints where the scene has
    them (within 1 mm), in the unit and up axis the preset declares."""
    worst = 0.0
    for path in exported["files"][("fbx", preset, per_person)]:
        ids = [int(path.stem.rsplit("person", 1)[1])] if per_person else [
            int(p.person_id) for p in exported["motion"].people]
        roots = {("Armature" if preset == "unreal" else f"Person {i}"): exported["frames"][i]
                 for i in ids}
        read = _ufbx_read(path, roots, exported["fps"], tmp_path)
        assert read["unit_meters"] == pytest.approx(unit) and read["up"] == up
        for root, pid in zip(roots, ids):
            err = np.linalg.norm(np.array(read["heads"][root]) - exported["truth"][pid], axis=-1)
            worst = max(worst, float(err.max()) * 1000.0)
    print(f"\n[ufbx] fbx {preset}: max joint error {worst:.4f} mm")
    assert worst < 1.0


def test_unity_fbx_skins_with_at_most_four_bones_per_vertex(exported, tmp_path):
    """Unity skins with 4 bones per vertex by default: the unity preset's bodies have at most 4,
    weights adding up to 1 on every vertex; the default preset keeps the body's own (more). The
    meshes carry the scene bodies' names (engines name the mesh assets after them)."""
    most = {}
    for preset in ("unity", "default"):
        path = exported["files"][("fbx", preset, False)][0]
        meshes = _ufbx_read(path, {}, exported["fps"], tmp_path)["meshes"]
        assert sorted(m["name"] for m in meshes) == [f"Person {i} body" for i in (1, SECOND_ID)]
        assert all(m["clusters"] == len(skeleton.JOINT_NAMES) for m in meshes)
        # (the MakeHuman weights come in 1/1024 steps)
        assert all(abs(m["sum_min"] - 1) < 3e-3 and abs(m["sum_max"] - 1) < 3e-3 for m in meshes)
        most[preset] = max(m["most"] for m in meshes)
    assert most["unity"] == 4 and most["default"] > 4, most
