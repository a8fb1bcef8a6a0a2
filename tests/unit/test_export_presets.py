"""Export settings data (bpy-free): presets, file naming, contact channels."""

from pathlib import Path

import numpy as np
import pytest

from videomocap_addon.core import export_presets as ep
from videomocap_addon.core.contact_phases import ContactPhase


def test_presets_differ_where_the_engines_do():
    unity, unreal, default = (ep.fbx_preset(n) for n in ("unity", "unreal", "default"))
    assert (unity["axis_up"], unity["apply_scale_options"]) == ("Y", "FBX_SCALE_ALL")
    assert (unreal["axis_up"], unreal["axis_forward"]) == ("Z", "Y")
    # cm in the file without a scaled root: lengths x100, exporter scale 1/100
    assert unreal["length_scale"] * unreal["global_scale"] == pytest.approx(1.0)
    assert unreal["root_name"] == "Armature" and unreal["one_skeleton_per_file"]
    for p in (unity, unreal, default):
        assert not p["add_leaf_bones"] and p["armature_nodetype"] == "NULL"
        assert p["bake_anim_simplify_factor"] == 0.0
        assert not set(ep.FBX_OWN_KEYS) & set(ep.exporter_options(p))
    unity["object_types"].add("EMPTY")  # a copy: the data itself is untouched
    assert "EMPTY" not in ep.FBX_PRESETS["unity"]["object_types"]
    with pytest.raises(ValueError, match="unity"):
        ep.fbx_preset("godot")


def test_output_paths():
    assert ep.output_paths("out/a.fbx", [3, 5], "fbx", False) == [(Path("out/a.fbx"), [3, 5])]
    assert ep.output_paths("out/a.glb", [3, 5], "glb", True) == [
        (Path("out/a_person3.glb"), [3]), (Path("out/a_person5.glb"), [5])]
    # BVH: one skeleton per file, whatever is asked
    assert ep.output_paths("a.bvh", [3, 5], "bvh", False) == [
        (Path("a_person3.bvh"), [3]), (Path("a_person5.bvh"), [5])]
    assert ep.output_paths("a.bvh", [3], "bvh", True) == [(Path("a.bvh"), [3])]


def test_contact_keys_follow_the_phases_and_drop_to_zero_where_unseen():
    frames = np.array([10, 11, 12, 13, 14, 20, 21, 22])
    phases = [ContactPhase("left", 11, 13, "heel", np.zeros(3), first=1, last=3),
              ContactPhase("left", 20, 21, "toe", np.zeros(3), first=5, last=6)]
    keys = ep.contact_keys(frames, phases)
    assert set(keys) == set(ep.CONTACT_PROPERTIES)

    def value(prop, f):  # CONSTANT interpolation of the keys
        kf, kv = keys[prop]
        return kv[np.searchsorted(kf, f, side="right") - 1]

    heel = [value("contact_left_heel", f) for f in range(10, 23)]
    toe = [value("contact_left_toe", f) for f in range(10, 23)]
    assert heel == [0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    assert toe == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0]
    assert not keys["contact_right_heel"][1].any()
    assert [p["point"] for p in ep.phases_summary(phases)] == ["heel", "toe"]


def test_limit_influences_keeps_the_heaviest_and_each_vertex_total():
    rng = np.random.default_rng(3)
    vertex = np.repeat(np.arange(200), rng.integers(1, 8, 200))  # 1 to 7 bones per vertex
    group = np.concatenate([rng.permutation(24)[:k] for k in np.bincount(vertex)])
    weight = rng.random(len(vertex))
    shuffle = rng.permutation(len(vertex))  # entries in any order
    vertex, group, weight = vertex[shuffle], group[shuffle], weight[shuffle]
    keep, new = ep.limit_influences(vertex, group, weight, 4)
    counts = np.bincount(vertex, minlength=200)
    assert np.array_equal(np.bincount(vertex[keep], minlength=200), np.minimum(counts, 4))
    assert np.allclose(np.bincount(vertex[keep], weights=new[keep], minlength=200),
                       np.bincount(vertex, weights=weight, minlength=200), atol=1e-5)
    for v in range(200):
        mine = vertex == v
        if counts[v] <= 4:  # untouched
            assert keep[mine].all() and np.allclose(new[mine], weight[mine], atol=1e-6)
        else:  # every dropped weight is at most every kept one
            assert weight[mine & ~keep].max() <= weight[mine & keep].min()
