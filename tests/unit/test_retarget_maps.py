"""Bone maps for retargeting: name normalisation, preset detection, name matching (no Blender)."""

from __future__ import annotations

import pytest

from videomocap_addon.core import retarget_maps as rm


@pytest.mark.parametrize("name,side,core", [
    ("mixamorig:LeftUpLeg", "left", "upleg"), ("DEF-thigh.L", "left", "thigh"),
    ("Bip01 R Forearm", "right", "forearm"), ("LThigh", "left", "thigh"),
    ("LeftLeg", "left", "leg"), ("Leg", None, "leg"), ("thigh_l", "left", "thigh"),
    ("upperleg01.L", "left", "upperleg"), ("CC_Base_L_Thigh", "left", "thigh"),
    ("ThighLeft", "left", "thigh"), ("spine_03", None, "spine"), ("hand_r", "right", "hand"),
])
def test_normalize(name, side, core):
    assert rm.normalize(name) == (side, core)


def _chain(*pairs):
    return {b: p for b, p in pairs}


def _ue(spines: int, necks: int) -> dict:
    parents = {"root": None, "pelvis": "root"}
    prev = "pelvis"
    for i in range(1, spines + 1):
        parents[f"spine_0{i}"] = prev
        prev = f"spine_0{i}"
    top = prev
    for i in range(1, necks + 1):
        parents[f"neck_0{i}"] = prev
        prev = f"neck_0{i}"
    parents["head"] = prev
    for s in ("l", "r"):
        parents.update({f"clavicle_{s}": top, f"upperarm_{s}": f"clavicle_{s}",
                        f"upperarm_twist_01_{s}": f"upperarm_{s}",
                        f"lowerarm_{s}": f"upperarm_{s}", f"hand_{s}": f"lowerarm_{s}",
                        f"thigh_{s}": "pelvis", f"thigh_twist_01_{s}": f"thigh_{s}",
                        f"calf_{s}": f"thigh_{s}", f"foot_{s}": f"calf_{s}",
                        f"ball_{s}": f"foot_{s}"})
    return parents


def test_unreal_mannequin_and_manny_are_told_apart():
    assert rm.detect_preset(_ue(3, 1)) == "unreal"
    assert rm.detect_preset(_ue(5, 2)) == "unreal_manny"
    _, m = rm.build_map("auto", _ue(5, 2))
    assert m["spine3"] == "spine_05" and m["left_shoulder"] == "upperarm_l"


def test_name_matching_uses_the_hierarchy():
    rig = _ue(5, 2)
    renamed = {}
    for b, p in rig.items():
        def new(n):
            return None if n is None else "jnt_" + n.replace("calf", "shin").replace(
                "ball", "toes").replace("upperarm", "arm").replace("lowerarm", "forearm")
        renamed[new(b)] = new(p)
    assert rm.detect_preset(renamed) is None
    used, m = rm.build_map("auto", renamed)
    assert used == "names"
    assert m["pelvis"] == "jnt_pelvis"  # the deepest of "root"/"pelvis" above both thighs
    assert m["left_knee"] == "jnt_shin_l" and m["right_foot"] == "jnt_toes_r"
    assert m["left_shoulder"] == "jnt_arm_l"  # not its twist bone
    assert (m["spine1"], m["spine3"], m["neck"]) == ("jnt_spine_01", "jnt_spine_05", "jnt_neck_01")


def test_too_few_bones_is_one_sentence():
    with pytest.raises(rm.RetargetMapError) as info:
        rm.build_map("auto", {"Hips": None, "Spine": "Hips", "LeftUpLeg": "Hips"})
    msg = str(info.value)
    assert msg.endswith(".") and "\n" not in msg and "missing" in msg
    with pytest.raises(rm.RetargetMapError):
        rm.build_map("mixamo", _ue(3, 1))


def test_a_map_against_the_hierarchy_is_refused():
    rig = _ue(3, 1)
    m = rm.resolve_preset("unreal", rig)
    m["left_knee"], m["right_knee"] = m["right_knee"], m["left_knee"]  # crossed legs
    with pytest.raises(rm.RetargetMapError):
        rm.check_map(m, rig)


def _rigify_generated() -> dict:
    """The control hierarchy of a rig Rigify generates from its human metarig (the bones the
    "rigify" preset uses and the mechanism bones between them)."""
    p = {"root": None, "MCH-torso.parent": None, "torso": "MCH-torso.parent",
         "MCH-spine.001": "torso", "spine_fk.001": "MCH-spine.001",
         "MCH-spine": "spine_fk.001", "spine_fk": "MCH-spine", "tweak_spine": "spine_fk",
         "ORG-spine": "tweak_spine", "MCH-spine.002": "torso", "spine_fk.002": "MCH-spine.002",
         "MCH-spine.003": "spine_fk.002", "spine_fk.003": "MCH-spine.003",
         "tweak_spine.003": "spine_fk.003", "ORG-spine.003": "tweak_spine.003",
         "MCH-ROT-neck": "spine_fk.003", "neck": "MCH-ROT-neck", "MCH-ROT-head": "neck",
         "head": "MCH-ROT-head"}
    for s in ("L", "R"):
        p.update({f"MCH-thigh_parent.{s}": "ORG-spine", f"thigh_fk.{s}": f"MCH-thigh_parent.{s}",
                  f"shin_fk.{s}": f"thigh_fk.{s}", f"MCH-foot_fk.{s}": f"shin_fk.{s}",
                  f"foot_fk.{s}": f"MCH-foot_fk.{s}", f"MCH-toe_fk.{s}": f"foot_fk.{s}",
                  f"toe_fk.{s}": f"MCH-toe_fk.{s}", f"shoulder.{s}": "ORG-spine.003",
                  f"ORG-shoulder.{s}": "ORG-spine.003",
                  f"MCH-upper_arm_parent.{s}": f"ORG-shoulder.{s}",
                  f"upper_arm_fk.{s}": f"MCH-upper_arm_parent.{s}",
                  f"forearm_fk.{s}": f"upper_arm_fk.{s}", f"MCH-hand_fk.{s}": f"forearm_fk.{s}",
                  f"hand_fk.{s}": f"MCH-hand_fk.{s}"})
    return p


def test_generated_rigify_hierarchy_is_accepted_but_crossed_limbs_are_not():
    rig = _rigify_generated()
    assert rm.detect_preset(rig) == "rigify"
    used, m = rm.build_map("auto", rig)
    assert used == "rigify" and len(m) == 22  # every mappable joint
    assert m["spine2"] == "spine_fk.002" and m["left_shoulder"] == "upper_arm_fk.L"
    crossed = rm.resolve_preset("rigify", rig)
    crossed["left_knee"], crossed["right_knee"] = crossed["right_knee"], crossed["left_knee"]
    with pytest.raises(rm.RetargetMapError):
        rm.check_map(crossed, rig)
