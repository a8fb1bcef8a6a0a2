import numpy as np

from videomocap import skeleton as sk
from videomocap.rotations import axis_angle_to_matrix


def test_hierarchy_is_a_tree_in_topological_order():
    assert len(sk.JOINT_NAMES) == len(sk.PARENTS) == 24
    assert sk.PARENTS[0] == -1
    assert all(0 <= p < j for j, p in enumerate(sk.PARENTS) if j)
    assert sk.JOINT_NAMES[sk.PARENTS[sk.JOINT_INDEX["left_wrist"]]] == "left_elbow"


def test_template_is_left_right_symmetric_and_human_sized():
    left = [i for i, n in enumerate(sk.JOINT_NAMES) if n.startswith("left_")]
    for i in left:
        j = sk.JOINT_INDEX["right_" + sk.JOINT_NAMES[i][5:]]
        assert np.allclose(sk.REST_JOINTS[i] * [-1, 1, 1], sk.REST_JOINTS[j])
        assert sk.REST_JOINTS[i, 0] > 0  # body frame +x is the body's left
    height = sk.REST_JOINTS[:, 1].max() - sk.REST_JOINTS[:, 1].min()
    assert 1.4 < height < 1.7  # ankle-to-head-joint of an adult


def test_forward_kinematics_keeps_bone_lengths_and_rest_pose():
    rng = np.random.default_rng(0)
    n = 50
    bones = sk.TEMPLATE_BONE_LENGTHS * rng.uniform(0.8, 1.2, 23)
    rest, _ = sk.forward_kinematics(np.zeros((1, 3)), np.zeros((1, 23, 3)), np.zeros((1, 3)), bones)
    assert np.allclose(rest[0], sk.rest_joints_from_bone_lengths(bones))
    joints, rots = sk.forward_kinematics(rng.normal(size=(n, 3)), rng.normal(scale=0.5, size=(n, 23, 3)),
                                         rng.normal(size=(n, 3)), bones)
    parents = np.array(sk.PARENTS[1:])
    lengths = np.linalg.norm(joints[:, 1:] - joints[:, parents], axis=-1)
    assert np.allclose(lengths, bones[None], atol=1e-9)
    assert np.allclose(rots @ np.swapaxes(rots, -1, -2), np.eye(3), atol=1e-9)


def test_rest_orientation_stands_upright_facing_minus_y():
    go = np.array([[np.pi / 2, 0.0, 0.0]])
    assert np.allclose(axis_angle_to_matrix(go)[0], sk.REST_ORIENT_WORLD)
    joints, _, marks = sk.forward_kinematics(go, np.zeros((1, 23, 3)), np.zeros((1, 3)),
                                             sk.TEMPLATE_BONE_LENGTHS, markers=True)
    head, pelvis = joints[0, sk.JOINT_INDEX["head"]], joints[0, 0]
    assert head[2] > pelvis[2] + 0.5
    assert marks["nose"][0, 1] < head[1]  # the face looks towards -y
    assert joints[0, sk.JOINT_INDEX["left_hip"], 0] > 0  # the body's left is +x seen from the front
    assert marks["left_heel"][0, 2] < joints[0, sk.JOINT_INDEX["left_ankle"], 2] - 0.05
