import numpy as np

from videomocap import rotations as r


def _random_aa(n, rng):
    axis = rng.normal(size=(n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    return axis * rng.uniform(0, np.pi * 0.999, size=(n, 1))


def test_axis_angle_matrix_quaternion_round_trips():
    rng = np.random.default_rng(1)
    aa = _random_aa(500, rng)
    m = r.axis_angle_to_matrix(aa)
    assert np.allclose(m @ np.swapaxes(m, 1, 2), np.eye(3), atol=1e-9)
    assert np.allclose(np.linalg.det(m), 1.0)
    assert np.allclose(r.matrix_to_axis_angle(m), aa, atol=1e-6)
    q = r.axis_angle_to_quaternion(aa)
    assert np.allclose(r.quaternion_to_matrix(q), m, atol=1e-9)
    assert np.allclose(r.quaternion_to_axis_angle(q), aa, atol=1e-6)


def test_known_rotation():
    # +90 degrees about z takes x to y
    m = r.axis_angle_to_matrix(np.array([0, 0, np.pi / 2]))
    assert np.allclose(m @ [1, 0, 0], [0, 1, 0])
    q = r.matrix_to_quaternion(m)
    assert np.allclose(q, [np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)])


def test_near_half_turn_is_accurate():
    aa = np.array([[0.0, np.pi - 1e-4, 0.0], [np.pi - 1e-5, 0.0, 0.0]])
    m = r.axis_angle_to_matrix(aa)
    assert np.allclose(r.axis_angle_to_matrix(r.matrix_to_axis_angle(m)), m, atol=1e-7)


def test_rotation_between_and_kabsch():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(100, 3))
    b = rng.normal(size=(100, 3))
    m = r.rotation_between(a, b)
    bn = b / np.linalg.norm(b, axis=1, keepdims=True)
    an = a / np.linalg.norm(a, axis=1, keepdims=True)
    assert np.allclose(np.einsum("nij,nj->ni", m, an), bn, atol=1e-9)
    anti = r.rotation_between(np.array([1.0, 0, 0]), np.array([-1.0, 0, 0]))
    assert np.allclose(anti @ [1, 0, 0], [-1, 0, 0])
    true = r.axis_angle_to_matrix(_random_aa(1, rng))[0]
    pts = rng.normal(size=(10, 3))
    assert np.allclose(r.kabsch(pts, pts @ true.T), true, atol=1e-9)


def test_quaternion_continuity_removes_sign_flips():
    rng = np.random.default_rng(3)
    aa = np.cumsum(rng.normal(scale=0.05, size=(200, 3)), axis=0)
    q = r.axis_angle_to_quaternion(aa)
    flipped = q * rng.choice([-1.0, 1.0], size=(200, 1))
    fixed = r.make_quaternions_continuous(flipped)
    assert np.all(np.sum(fixed[1:] * fixed[:-1], axis=1) > 0)
    assert np.allclose(np.abs(np.sum(fixed * q, axis=1)), 1.0)
