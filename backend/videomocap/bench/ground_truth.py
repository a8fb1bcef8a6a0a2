"""Ground truth for rendered benchmark videos: camera maths, projection, contact labels, and
the ``*.gt.npz`` file. Plain numpy (no bpy).

GT file keys (npz, no pickle):
  fps () float, image_size (2,) W,H, K (F,3,3), cam_R (F,3,3) world-from-camera rotation in the
  OpenCV camera convention (x right, y down, z forward), cam_t (F,3) camera centre in world,
  joint_names (J,) str, joints (F,J,3) world metres (z up, ground z=0),
  contact (F,4) left_heel, left_toe, right_heel, right_toe in {0,1}, person_ids (P,),
  boxes (F,P,4) x0,y0,x1,y1 pixels (the whole projected body, occluded parts included, clipped
  to the image; all zeros when the body is wholly outside), visible (F,P) fraction of the
  body's projected silhouette that lies in the image and is not hidden by a nearer body,
  source str.
With several people (P > 1): joints (F,P,J,3) and contact (F,P,4); person p is index p of
the second axis everywhere. With one person the shapes above (no person axis) are kept.
A pixel p of world point X: p ~ K @ cam_R.T @ (X - cam_t).
"""
from __future__ import annotations

import numpy as np

JOINT_NAMES = (
    "pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_foot", "right_foot", "neck", "head", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)
CONTACT_NAMES = ("left_heel", "left_toe", "right_heel", "right_toe")

# Blender -> OpenCV camera axes: Blender cameras look down -z with y up.
BLENDER_TO_CV = np.diag([1.0, -1.0, -1.0])


def look_at(position: np.ndarray, target: np.ndarray, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """(…,3),(…,3) -> (…,3,3) world-from-camera rotations, OpenCV convention, no roll."""
    f = np.asarray(target, float) - np.asarray(position, float)
    f = f / np.linalg.norm(f, axis=-1, keepdims=True)
    r = np.cross(f, np.broadcast_to(np.asarray(up, float), f.shape))
    r = r / np.linalg.norm(r, axis=-1, keepdims=True)
    d = np.cross(f, r)
    return np.stack([r, d, f], axis=-1)


def intrinsics(lens_mm: float, sensor_width_mm: float, width: int, height: int) -> np.ndarray:
    """Blender camera (sensor fit on the larger image side, square pixels, centred)."""
    fpx = lens_mm / sensor_width_mm * max(width, height)
    return np.array([[fpx, 0, width / 2.0], [0, fpx, height / 2.0], [0, 0, 1.0]])


def project(points: np.ndarray, K: np.ndarray, cam_R: np.ndarray, cam_t: np.ndarray) -> np.ndarray:
    """points (F,N,3) world, K/cam_R (F,3,3), cam_t (F,3) -> (F,N,3) pixel u, v and depth."""
    pc = np.einsum("fji,fnj->fni", cam_R, points - cam_t[:, None])
    uv = np.einsum("fij,fnj->fni", K, pc)
    return np.concatenate([uv[..., :2] / uv[..., 2:3], pc[..., 2:3]], axis=-1)


def contact_labels(points: np.ndarray, rest_height: np.ndarray, speed_thresh: float = 0.01,
                   height_margin: float = 0.03) -> np.ndarray:
    """points (F,4,3) heel/toe GT points, rest_height (4,) their heights standing at rest.
    1 where the point moves < speed_thresh m/frame and is within height_margin of its rest
    height above the ground, else 0."""
    F = len(points)
    v = np.zeros((F, points.shape[1]))
    if F > 1:
        d = np.linalg.norm(np.diff(points, axis=0), axis=-1)
        v[1:] = d
        v[0] = d[0]
        v[1:-1] = np.minimum(d[:-1], d[1:])  # centred: slow on either side
    near = points[..., 2] < np.asarray(rest_height)[None] + height_margin
    return ((v < speed_thresh) & near).astype(np.float32)


def boxes_from_points(uv: np.ndarray, width: int, height: int) -> np.ndarray:
    """uv (F,N,2) -> (F,4) x0,y0,x1,y1 clipped to the image."""
    lo = uv.min(axis=1)
    hi = uv.max(axis=1)
    b = np.concatenate([lo, hi], axis=1)
    b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, width)
    b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, height)
    return b


def silhouette_visibility(uvz: list[np.ndarray], faces: np.ndarray | None, width: int, height: int,
                          pad: float = 0.5) -> np.ndarray:
    """Visible fraction of each body's silhouette in one frame.

    uvz: per person (V,3) pixel u, v and camera depth of the mesh vertices; faces (Fc,k) vertex
    indices. Each silhouette is rasterised (OpenCV, on the image padded by ``pad`` of its size
    on every side); bodies are ordered by median depth, and a body's visible part is its
    silhouette inside the image minus the silhouettes of the nearer bodies. Returns (P,) in
    [0, 1]; 0 for a body behind the camera. With ``faces=None`` the vertices are splatted as
    pixels and the masks closed by one pixel (fast, for coarse images of dense meshes)."""
    import cv2

    P = len(uvz)
    pw, ph = int(width * pad), int(height * pad)
    occ = np.zeros((height + 2 * ph, width + 2 * pw), np.uint8)
    vis = np.zeros(P)
    depth = [float(np.median(p[:, 2])) for p in uvz]
    for p in sorted(range(P), key=lambda i: depth[i]):
        if depth[p] <= 0.1:
            continue
        m = np.zeros_like(occ)
        if faces is None:
            ij = np.round(uvz[p][:, :2] + [pw, ph]).astype(np.int64)
            ok = (uvz[p][:, 2] > 0.1) & (ij[:, 0] >= 0) & (ij[:, 0] < m.shape[1]) \
                & (ij[:, 1] >= 0) & (ij[:, 1] < m.shape[0])
            m[ij[ok, 1], ij[ok, 0]] = 1
            m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
        else:
            front = (uvz[p][faces, 2] > 0.1).all(axis=1)
            pts = np.clip(np.round(uvz[p][:, :2] + [pw, ph]), -4 * occ.shape[1], 4 * occ.shape[1])
            for poly in pts.astype(np.int32)[faces[front]]:
                cv2.fillConvexPoly(m, poly, 1)
        area = int(m.sum())
        if area:
            inside = m[ph:ph + height, pw:pw + width] & (1 - occ[ph:ph + height, pw:pw + width])
            vis[p] = inside.sum() / area
        occ |= m
    return vis


def save_gt(path, *, fps, image_size, K, cam_R, cam_t, joints, contact, boxes, source,
            joint_names=JOINT_NAMES, visible=None) -> None:
    F = len(joints)
    boxes = np.asarray(boxes, np.float32)
    if boxes.ndim == 2:
        boxes = boxes[:, None]
    extra = {}
    if visible is not None:
        extra["visible"] = np.asarray(visible, np.float32).reshape(F, boxes.shape[1])
    np.savez_compressed(
        path,
        fps=np.float64(fps),
        image_size=np.asarray(image_size, np.int32),
        K=np.asarray(K, np.float32).reshape(F, 3, 3),
        cam_R=np.asarray(cam_R, np.float32).reshape(F, 3, 3),
        cam_t=np.asarray(cam_t, np.float32).reshape(F, 3),
        joint_names=np.asarray(joint_names, dtype=str),
        joints=np.asarray(joints, np.float32),
        contact=np.asarray(contact, np.float32),
        person_ids=np.arange(boxes.shape[1], dtype=np.int32),
        boxes=boxes,
        source=np.asarray(str(source)),
        **extra,
    )


def load_gt(path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
