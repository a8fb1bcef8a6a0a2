"""The user's SMPL-family model file (SMPL, SMPL-H, SMPL-X) as a skinned body, numpy only.

Reading. ``.npz`` files are opened with ``allow_pickle=False``. ``.pkl`` files (the format SMPL
ships in, written by Python 2 with chumpy and scipy inside) go through :class:`_ModelUnpickler`,
which resolves only numpy's array/dtype reconstructors, scipy's sparse matrix classes and chumpy's
classes -- the latter two to local stand-ins that keep the pickled state and are turned into plain
numpy arrays (neither scipy nor chumpy is imported) -- and refuses every other global, so a
pickle cannot run code. Keys used: ``v_template``, ``shapedirs``, ``J_regressor``, ``weights``,
``kintree_table``, ``f`` (``posedirs`` is not needed: an Armature modifier has no pose correctives).

Shaping. Vertices ``v = v_template + shapedirs @ betas`` and joints ``J = J_regressor @ v`` are
linear in the betas; when the motion file has no betas (all zeros) they are fitted by regularised
Gauss-Newton so the model's bone lengths match the captured ones (:func:`fit_betas`).

Joints. SMPL has our 24 joints; SMPL-H and SMPL-X share the first 22 and add fingers (and jaw and
eyes): their finger weights go to our ``*_hand`` bones, jaw and eyes to ``head``, and our hand
joint is the mean of the four finger roots.
"""

from __future__ import annotations

import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import body_mesh
from .body_mesh import BodyMesh, BodyMeshError
from .shared import skeleton

_KEYS = ("v_template", "shapedirs", "J_regressor", "weights", "kintree_table", "f")
#: SMPL's joint names in our order are ours; these are the extra joints of the bigger models:
#: number of joints -> (first left-hand finger joint, first right-hand finger joint, head extras)
_FAMILIES = {24: None, 52: (22, 37, ()), 55: (25, 40, (22, 23, 24))}
_FINGER_ROOTS = (0, 3, 6, 9)  # index1, middle1, pinky1, ring1 within a hand's 15 finger joints


# --------------------------------------------------------------------------- reading

class _Pickled:
    """Stand-in for a pickled chumpy / scipy object: keeps its state, runs nothing."""

    kind = "object"

    def __init__(self, *args, **kwargs):
        self.state = {}

    def __setstate__(self, state):
        self.state = state if isinstance(state, dict) else {"state": state}


class _Chumpy(_Pickled):
    kind = "chumpy"


class _Sparse(_Pickled):
    kind = "sparse"


def _ndarray_globals():
    try:
        from numpy._core import multiarray  # numpy 2
    except ImportError:
        from numpy.core import multiarray
    return {"_reconstruct": multiarray._reconstruct, "scalar": multiarray.scalar}


class _ModelUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module in ("numpy", "numpy.core.numeric", "numpy._core.numeric") and name in (
                "ndarray", "dtype"):
            return getattr(np, name)
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in (
                "_reconstruct", "scalar"):
            return _ndarray_globals()[name]
        if module in ("numpy.core.numeric", "numpy._core.numeric") and name == "_frombuffer":
            return _frombuffer  # arrays in protocol-5 pickles
        if module.startswith("scipy.sparse") and name in ("csc_matrix", "csr_matrix",
                                                          "coo_matrix"):
            return type(name, (_Sparse,), {"format_name": name})
        if module == "chumpy" or module.startswith("chumpy."):
            return _Chumpy
        if module in ("copy_reg", "copyreg") and name == "_reconstructor":
            return _reconstructor
        if module == "_codecs" and name == "encode":  # bytes in a protocol-2 pickle from Python 3
            return _latin1_encode
        if module in ("__builtin__", "builtins") and name in ("object", "set", "frozenset"):
            return {"object": object, "set": set, "frozenset": frozenset}[name]
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a model file")


def _frombuffer(buf, dtype, shape, order):
    if not isinstance(dtype, np.dtype) or dtype.hasobject:
        raise pickle.UnpicklingError("unexpected array in a model file")
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order).copy()


def _latin1_encode(text, encoding="utf-8", errors="strict"):
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("unexpected bytes in a model file")
    return text.encode("latin1")


def _reconstructor(cls, base, state):
    """copyreg._reconstructor for the stand-ins only."""
    if not (isinstance(cls, type) and issubclass(cls, _Pickled)) or base is not object:
        raise pickle.UnpicklingError("unexpected object in a model file")
    return cls()


def _to_array(value, key: str) -> np.ndarray:
    if isinstance(value, _Chumpy):
        if "x" not in value.state:
            raise BodyMeshError(f"The model's {key} is a chumpy expression, not an array.")
        value = value.state["x"]
    if isinstance(value, _Sparse):
        s = value.state
        shape = tuple(s.get("_shape", s.get("shape", ())))
        fmt = value.format_name
        if fmt == "coo_matrix":
            dense = np.zeros(shape)
            np.add.at(dense, (np.asarray(s["row"]), np.asarray(s["col"])), np.asarray(s["data"]))
            return dense
        data, indices, indptr = (np.asarray(s[k]) for k in ("data", "indices", "indptr"))
        dense = np.zeros(shape)
        major = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        if fmt == "csc_matrix":
            np.add.at(dense, (indices, major), data)
        else:
            np.add.at(dense, (major, indices), data)
        return dense
    return np.asarray(value)


def _read(path: Path) -> dict[str, np.ndarray]:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in _KEYS if k not in z.files]
            if missing:
                raise BodyMeshError(f"{path.name} has no {', '.join(missing)}: it is not an "
                                    "SMPL model file.")
            return {k: np.asarray(z[k]) for k in _KEYS}
    if suffix == ".pkl":
        with open(path, "rb") as f:
            raw = _ModelUnpickler(f, encoding="latin1").load()
        if not isinstance(raw, dict):
            raise BodyMeshError(f"{path.name} does not hold an SMPL model.")
        missing = [k for k in _KEYS if k not in raw]
        if missing:
            raise BodyMeshError(f"{path.name} has no {', '.join(missing)}: it is not an "
                                "SMPL model file.")
        return {k: _to_array(raw[k], k) for k in _KEYS}
    raise BodyMeshError(f"{path.name} is not an SMPL model file (.pkl or .npz).")


@dataclass
class SmplModel:
    v_template: np.ndarray  # (V, 3) body frame (y up, z forward), metres
    shapedirs: np.ndarray  # (V, 3, B)
    J_regressor: np.ndarray  # (J, V)
    weights: np.ndarray  # (V, J)
    parents: np.ndarray  # (J,)
    faces: np.ndarray  # (F, 3)
    name: str = "SMPL"

    @property
    def num_joints(self) -> int:
        return self.J_regressor.shape[0]


def load_model(path) -> SmplModel:
    """Read and check an SMPL-family model file; any problem is one BodyMeshError sentence."""
    path = Path(path)
    if not path.is_file():
        raise BodyMeshError(f"The SMPL model file {path} does not exist.")
    try:
        d = _read(path)
        model = SmplModel(
            v_template=np.asarray(d["v_template"], dtype=np.float64),
            shapedirs=np.asarray(d["shapedirs"], dtype=np.float64),
            J_regressor=np.asarray(d["J_regressor"], dtype=np.float64),
            weights=np.asarray(d["weights"], dtype=np.float64),
            parents=np.asarray(d["kintree_table"]).astype(np.int64)[0],
            faces=np.asarray(d["f"]).astype(np.int64), name=path.name)
    except BodyMeshError:
        raise
    except (pickle.UnpicklingError, ValueError, TypeError, KeyError, IndexError, EOFError,
            AttributeError, OSError, zipfile.BadZipFile) as exc:
        raise BodyMeshError(f"{path.name} cannot be read as an SMPL model ({exc}).") from None
    _check(model, path.name)
    return model


def _check(m: SmplModel, name: str) -> None:
    v = m.v_template.shape[0] if m.v_template.ndim == 2 else -1
    j = m.J_regressor.shape[0] if m.J_regressor.ndim == 2 else -1
    ok = (m.v_template.shape == (v, 3) and m.shapedirs.ndim == 3 and m.shapedirs.shape[:2] == (v, 3)
          and m.J_regressor.shape == (j, v) and m.weights.shape == (v, j)
          and m.faces.ndim == 2 and m.faces.shape[1] == 3 and len(m.parents) == j
          and m.faces.size > 0 and int(m.faces.min()) >= 0 and int(m.faces.max()) < v)
    if not ok:
        raise BodyMeshError(f"{name} has arrays of inconsistent shapes for an SMPL model.")
    if j not in _FAMILIES:
        raise BodyMeshError(f"{name} has {j} joints; SMPL, SMPL-H and SMPL-X have 24, 52 or 55.")
    parents = m.parents.copy()
    parents[0] = -1
    if not np.array_equal(parents[:22], np.array(skeleton.PARENTS[:22])):
        raise BodyMeshError(f"{name} does not have SMPL's joint hierarchy.")
    if not (np.all(np.isfinite(m.v_template)) and np.all(np.isfinite(m.shapedirs))):
        raise BodyMeshError(f"{name} holds non-finite numbers.")


# --------------------------------------------------------------------------- shaping

def _joint_map(model: SmplModel) -> tuple[np.ndarray, np.ndarray]:
    """(24, J) matrix taking the model's joints to our 24, and (J,) our bone of each joint."""
    j = model.num_joints
    to_ours = np.zeros((skeleton.NUM_JOINTS, j))
    bone_of = np.arange(j)
    fam = _FAMILIES[j]
    if fam is None:
        to_ours[np.arange(24), np.arange(24)] = 1.0
        return to_ours, bone_of
    left, right, head_extras = fam
    to_ours[np.arange(22), np.arange(22)] = 1.0
    for ours, first in ((skeleton.JOINT_INDEX["left_hand"], left),
                        (skeleton.JOINT_INDEX["right_hand"], right)):
        to_ours[ours, [first + k for k in _FINGER_ROOTS]] = 1.0 / len(_FINGER_ROOTS)
        bone_of[first:first + 15] = ours
    bone_of[list(head_extras)] = skeleton.JOINT_INDEX["head"]
    return to_ours, bone_of


def _num_betas(model: SmplModel, betas: np.ndarray) -> int:
    return min(len(betas), model.shapedirs.shape[2])


def joints_for(model: SmplModel, betas: np.ndarray) -> np.ndarray:
    """(24, 3) our joints of the model shaped by ``betas`` (body frame)."""
    to_ours, _ = _joint_map(model)
    return to_ours @ (model.J_regressor @ shaped_vertices(model, betas))


def shaped_vertices(model: SmplModel, betas: np.ndarray) -> np.ndarray:
    betas = np.asarray(betas, dtype=np.float64)
    n = _num_betas(model, betas)
    return model.v_template + model.shapedirs[:, :, :n] @ betas[:n]


def fit_betas(model: SmplModel, bone_lengths: np.ndarray, num_betas: int = 10,
              prior: float = 1e-4, iterations: int = 10) -> np.ndarray:
    """Betas whose bone lengths best match ``bone_lengths`` (least squares; ``prior`` weighs
    |betas|^2, betas being unit-variance, against squared length errors in metres).

    Joint offsets are linear in the betas (``d = d0 + D b``); lengths are their norms, so a few
    Gauss-Newton steps on ``|d0 + D b| - L`` converge."""
    n = min(num_betas, model.shapedirs.shape[2])
    to_ours, _ = _joint_map(model)
    reg = to_ours @ model.J_regressor  # (24, V)
    j0 = reg @ model.v_template  # (24, 3)
    jd = np.einsum("jv,vcb->jcb", reg, model.shapedirs[:, :, :n])  # (24, 3, n)
    child = np.arange(1, skeleton.NUM_JOINTS)
    parent = np.array(skeleton.PARENTS[1:])
    d0 = j0[child] - j0[parent]  # (23, 3)
    dd = jd[child] - jd[parent]  # (23, 3, n)
    target = np.asarray(bone_lengths, dtype=np.float64)
    b = np.zeros(n)
    for _ in range(iterations):
        d = d0 + dd @ b
        length = np.maximum(np.linalg.norm(d, axis=1), 1e-9)
        resid = length - target
        jac = np.einsum("jc,jcb->jb", d / length[:, None], dd)
        step = np.linalg.solve(jac.T @ jac + prior * np.eye(n), -(jac.T @ resid + prior * b))
        b = b + step
        if np.max(np.abs(step)) < 1e-8:
            break
    return b


def smpl_body(model: SmplModel, bone_lengths: np.ndarray, betas=None) -> BodyMesh:
    """The model's mesh shaped by ``betas`` (fitted to the bone lengths when None or all zero),
    in the armature's rest frame and fitted to its rest joints, skinned to our 24 bones."""
    if betas is None or not np.any(np.asarray(betas)):
        betas = fit_betas(model, bone_lengths)
    verts = shaped_vertices(model, betas)
    joints = joints_for(model, betas)
    _, bone_of = _joint_map(model)
    weights = np.zeros((len(verts), skeleton.NUM_JOINTS))
    np.add.at(weights.T, bone_of, model.weights.T)
    weights = np.clip(weights, 0.0, None)
    total = weights.sum(1, keepdims=True)
    weights = np.where(total > 0, weights / np.where(total > 0, total, 1), 0.0)
    weights[total[:, 0] <= 0, skeleton.JOINT_INDEX["pelvis"]] = 1.0
    c = skeleton.REST_ORIENT_WORLD
    target = body_mesh.rest_joints(bone_lengths)
    verts_w = verts @ c.T
    joints_w = joints @ c.T
    # across = 1: the model's girth comes from its betas, only the bone lengths are matched
    out = body_mesh.fit_to_skeleton(verts_w, weights.astype(np.float32), joints_w, target,
                                    across=1.0)
    return BodyMesh(out, model.faces, weights.astype(np.float32), "smpl")
