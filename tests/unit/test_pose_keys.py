"""The bpy-free half of the Blender builder: file rotations -> pose-bone channels."""

import numpy as np

from videomocap import skeleton as sk
from videomocap.rotations import axis_angle_to_matrix, quaternion_to_matrix
from videomocap_addon.core import pose_keys


def test_blender_chain_of_keyed_quaternions_reproduces_world_rotations():
    rng = np.random.default_rng(0)
    n = 12
    orient = rng.normal(size=(n, 3))
    pose = rng.normal(scale=0.5, size=(n, 23, 3))
    # any rest orientation per bone (roll and direction are Blender's business)
    rest = axis_angle_to_matrix(rng.normal(size=(24, 3)))
    q = pose_keys.bone_quaternions(orient, pose, rest)
    assert q.shape == (n, 24, 4)
    assert np.all(np.sum(q[1:] * q[:-1], axis=-1) >= 0)  # continuous signs
    basis = quaternion_to_matrix(q)
    # Blender: posed_j = posed_parent @ (rest_parent^T rest_j) @ basis_j ; root: rest_0 @ basis_0
    posed = np.empty((n, 24, 3, 3))
    posed[:, 0] = rest[0] @ basis[:, 0]
    for j in range(1, 24):
        p = sk.PARENTS[j]
        posed[:, j] = posed[:, p] @ (rest[p].T @ rest[j]) @ basis[:, j]
    _, world = sk.forward_kinematics(orient, pose, np.zeros((n, 3)), sk.TEMPLATE_BONE_LENGTHS)
    expected = world @ sk.REST_ORIENT_WORLD.T @ rest
    assert np.allclose(posed, expected, atol=1e-9)


def test_rest_layout_stands_on_the_ground_and_matches_the_skeleton():
    bones = sk.TEMPLATE_BONE_LENGTHS * 0.9
    heads, tails = pose_keys.rest_layout(bones)
    _, _, marks = sk.forward_kinematics(np.array([[np.pi / 2, 0, 0]]), np.zeros((1, 23, 3)),
                                        heads[:1], bones, markers=True)
    soles = np.array([m[0, 2] for name, m in marks.items() if name != "nose"])
    assert abs(soles.min()) < 1e-9  # lowest sole point on z = 0
    parents = np.array(sk.PARENTS[1:])
    assert np.allclose(np.linalg.norm(heads[1:] - heads[parents], axis=1), bones)
    assert np.all(np.linalg.norm(tails - heads, axis=1) > 0.02)  # no zero-length bones


def test_root_location_channel_puts_the_pelvis_at_transl():
    rng = np.random.default_rng(1)
    rest0 = axis_angle_to_matrix(rng.normal(size=3))
    head0 = rng.normal(size=3)
    transl = rng.normal(size=(5, 3))
    loc = pose_keys.root_locations(transl, rest0, head0)
    assert np.allclose(head0 + loc @ rest0.T, transl)


def test_visibility_hides_before_after_and_in_long_gaps():
    frames = np.r_[10:20, 22:30, 60:70]  # a 2-frame gap (kept) and a 30-frame gap (hidden)
    f, hidden = pose_keys.visibility_keys(frames, fps=30.0)
    state = lambda k: hidden[np.searchsorted(f, k, side="right") - 1]  # noqa: E731  constant keys
    assert state(9) == 1 and state(10) == 0 and state(21) == 0 and state(29) == 0
    assert state(30) == 1 and state(59) == 1 and state(60) == 0 and state(69) == 0
    assert state(70) == 1
