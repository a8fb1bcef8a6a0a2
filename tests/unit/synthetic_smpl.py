"""A synthetic SMPL-format model file, written by the tests (never a real SMPL file).

The "body" is one six-sided prism per bone around our own template skeleton (body frame, y up),
rigidly weighted to that bone, plus one vertex at each joint; ``J_regressor`` picks those joint
vertices. Three shape directions: overall size, leg length, arm length.
"""

from __future__ import annotations

import pickle
import sys
import types

import numpy as np
import scipy.sparse

from videomocap import skeleton as sk

SIDES = 6
SMPL_ROOT_PARENT = 4294967295  # how SMPL's kintree_table marks the root


def _tails(joints: np.ndarray) -> np.ndarray:
    tails = np.empty_like(joints)
    for j in range(sk.NUM_JOINTS):
        kids = [c for c, p in enumerate(sk.PARENTS) if p == j]
        name = sk.JOINT_NAMES[j]
        if name == "pelvis":
            tails[j] = joints[sk.JOINT_INDEX["spine1"]]
        elif name == "spine3":
            tails[j] = joints[sk.JOINT_INDEX["neck"]]
        elif len(kids) == 1:
            tails[j] = joints[kids[0]]
        else:
            p = sk.PARENTS[j]
            d = joints[j] - joints[p]
            tails[j] = joints[j] + 0.8 * d
    return tails


def model_arrays(num_betas: int = 10) -> dict[str, np.ndarray]:
    joints = sk.REST_JOINTS.copy()
    tails = _tails(joints)
    verts, faces, owner = [], [], []
    for j in range(sk.NUM_JOINTS):
        a, b = joints[j], tails[j]
        d = (b - a) / np.linalg.norm(b - a)
        helper = np.array([0.0, 0.0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
        u = np.cross(d, helper)
        u /= np.linalg.norm(u)
        v = np.cross(d, u)
        ang = np.linspace(0, 2 * np.pi, SIDES, endpoint=False)
        ring = 0.04 * (np.cos(ang)[:, None] * u + np.sin(ang)[:, None] * v)
        base = len(verts)
        # rings a little inside the bone, so that a vertex's bone is the one it moves with
        verts.extend(a + 0.1 * (b - a) + ring)
        verts.extend(a + 0.9 * (b - a) + ring)
        owner.extend([j] * (2 * SIDES))
        for i in range(SIDES):
            k = (i + 1) % SIDES
            faces.append((base + i, base + k, base + SIDES + k))
            faces.append((base + i, base + SIDES + k, base + SIDES + i))
    first_joint_vertex = len(verts)
    verts.extend(joints)
    owner.extend(range(sk.NUM_JOINTS))
    verts = np.asarray(verts)
    n = len(verts)
    weights = np.zeros((n, sk.NUM_JOINTS))
    weights[np.arange(n), owner] = 1.0
    regressor = np.zeros((sk.NUM_JOINTS, n))
    regressor[np.arange(sk.NUM_JOINTS), first_joint_vertex + np.arange(sk.NUM_JOINTS)] = 1.0
    shapedirs = np.zeros((n, 3, num_betas))
    pelvis = joints[0]
    shapedirs[:, :, 0] = 0.1 * (verts - pelvis)  # overall size
    below = verts[:, 1] < pelvis[1]
    shapedirs[below, 1, 1] = 0.1 * (verts[below, 1] - pelvis[1])  # leg length
    side = np.abs(verts[:, 0]) > 0.18
    shapedirs[side, 0, 2] = 0.1 * np.sign(verts[side, 0]) * (np.abs(verts[side, 0]) - 0.18)
    kintree = np.array([[SMPL_ROOT_PARENT] + list(sk.PARENTS[1:]), list(range(sk.NUM_JOINTS))],
                       dtype=np.int64)
    return {"v_template": verts, "shapedirs": shapedirs, "J_regressor": regressor,
            "weights": weights, "kintree_table": kintree, "f": np.asarray(faces, dtype=np.uint32),
            "posedirs": np.zeros((n, 3, 207))}


def write_npz(path, arrays=None):
    np.savez(path, **(arrays or model_arrays()))
    return path


class _FakeCh:
    """Pickles like chumpy.ch.Ch: its state is a dict holding the array under "x"."""

    def __init__(self, x):
        self.x = x

    def __getstate__(self):
        return {"x": self.x, "_dirty_vars": set(), "_itr": None, "_make_dense": False}


def write_pkl(path, monkeypatch, arrays=None, protocol: int = 2):
    """An SMPL-style pickle (protocol 2, as SMPL's are): shapedirs as a chumpy object,
    J_regressor as a scipy CSC matrix, the rest numpy arrays."""
    arrays = dict(arrays or model_arrays())
    chumpy = types.ModuleType("chumpy")
    ch = types.ModuleType("chumpy.ch")
    _FakeCh.__module__ = "chumpy.ch"
    _FakeCh.__qualname__ = _FakeCh.__name__ = "Ch"
    ch.Ch = _FakeCh
    chumpy.ch = ch
    monkeypatch.setitem(sys.modules, "chumpy", chumpy)
    monkeypatch.setitem(sys.modules, "chumpy.ch", ch)
    arrays["shapedirs"] = _FakeCh(arrays["shapedirs"])
    arrays["J_regressor"] = scipy.sparse.csc_matrix(arrays["J_regressor"])
    arrays["bs_style"] = "lbs"
    with open(path, "wb") as f:
        pickle.dump(arrays, f, protocol=protocol)
    monkeypatch.delitem(sys.modules, "chumpy")
    monkeypatch.delitem(sys.modules, "chumpy.ch")
    return path
