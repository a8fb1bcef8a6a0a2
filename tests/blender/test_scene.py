"""Renders a tiny ground-truth clip through videomocap.bench.scene and checks the GT file."""
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")
cv2 = pytest.importorskip("cv2")
pytest.importorskip("anny")

from videomocap.bench import ground_truth as gt  # noqa: E402
from videomocap.bench import scene  # noqa: E402

MOCAP = Path("/work/shared/data/mocap/animdraw/old_cmu_1006_walking.bvh")
W, H = 160, 120


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    if not MOCAP.exists():
        pytest.skip(f"mocap file not available: {MOCAP}")
    out = tmp_path_factory.mktemp("scene") / "clip.mp4"
    # 3 frames from the start of the walk
    info = scene.generate(MOCAP, out, camera="static", seed=0, start_seconds=4.0, seconds=0.1,
                          width=W, height=H)
    # the same scene without the body, frame 1, for a background reference
    sc = bpy.context.scene
    bpy.data.objects["MakeHumanBody"].hide_render = True
    sc.frame_set(1)
    if hasattr(sc.render.image_settings, "media_type"):
        sc.render.image_settings.media_type = "IMAGE"
    sc.render.image_settings.file_format = "PNG"
    sc.render.filepath = str(out.with_name("background.png"))
    bpy.ops.render.render(write_still=True)
    return out, info


def test_gt_file(rendered):
    out, info = rendered
    d = gt.load_gt(out.with_name("clip.gt.npz"))
    F, J = 3, len(gt.JOINT_NAMES)
    assert d["joints"].shape == (F, J, 3)
    assert d["K"].shape == (F, 3, 3) and d["cam_R"].shape == (F, 3, 3) and d["cam_t"].shape == (F, 3)
    assert d["contact"].shape == (F, 4) and d["boxes"].shape == (F, 1, 4)
    assert list(d["joint_names"]) == list(gt.JOINT_NAMES)
    assert float(d["fps"]) == 30.0 and tuple(d["image_size"]) == (W, H)
    assert "old_cmu_1006_walking.bvh" in str(d["source"])
    R = d["cam_R"][0]
    assert np.allclose(R.T @ R, np.eye(3), atol=1e-4) and np.linalg.det(R) > 0.99
    names = list(gt.JOINT_NAMES)
    pelvis = d["joints"][:, names.index("pelvis")]
    assert np.all((pelvis[:, 2] > 0.8) & (pelvis[:, 2] < 1.1)), pelvis
    feet = d["joints"][:, [names.index(n) for n in ("left_foot", "right_foot")], 2]
    assert feet.min() > -0.02 and feet.min() < 0.06, feet  # a toe near the floor
    assert info["proj_err_px"] < 0.5


def test_projection_lands_on_body(rendered):
    out, _ = rendered
    d = gt.load_gt(out.with_name("clip.gt.npz"))
    cap = cv2.VideoCapture(str(out))
    ok, frame = cap.read()
    assert ok and frame.shape[:2] == (H, W)
    n = 1
    while cap.read()[0]:
        n += 1
    assert n == 3
    bg = cv2.imread(str(out.with_name("background.png")))
    uvz = gt.project(d["joints"][:1], d["K"][:1], d["cam_R"][:1], d["cam_t"][:1])[0]
    assert np.all(uvz[:, 2] > 0)
    assert np.all((uvz[:, 0] >= 0) & (uvz[:, 0] < W) & (uvz[:, 1] >= 0) & (uvz[:, 1] < H))
    box = d["boxes"][0, 0]
    J = {n: uvz[i, :2] for i, n in enumerate(gt.JOINT_NAMES)}
    probes = {  # points well inside the silhouette
        "pelvis": J["pelvis"],
        "torso": (J["pelvis"] + J["neck"]) / 2,
        "left_thigh": (J["left_hip"] + J["left_knee"]) / 2,
        "right_thigh": (J["right_hip"] + J["right_knee"]) / 2,
    }
    for name, p in probes.items():
        u, v = np.round(p).astype(int)
        assert box[0] <= u <= box[2] and box[1] <= v <= box[3], name
        diff = np.abs(frame[v, u].astype(int) - bg[v, u].astype(int)).sum()
        assert diff > 25, (name, frame[v, u], bg[v, u])
    # far from the person, the video equals the background render
    far = np.ones((H, W), bool)
    x0, y0, x1, y1 = box.astype(int)
    far[max(y0 - 5, 0):y1 + 5, max(x0 - 15, 0):x1 + 15] = False
    far[(bg.max(axis=2) < 5)] = False
    err = np.abs(frame.astype(int) - bg.astype(int)).max(axis=2)[far]
    assert np.median(err) < 12
