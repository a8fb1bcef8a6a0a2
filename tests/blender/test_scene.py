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


@pytest.fixture(scope="module")
def two_people(tmp_path_factory):
    if not MOCAP.exists():
        pytest.skip(f"mocap file not available: {MOCAP}")
    out = tmp_path_factory.mktemp("scene2") / "two.mp4"
    # the layout search works at a fixed coarse size, so this is the scene of the full-size
    # check render (same mocap, seed and clip), without the video
    info = scene.generate(MOCAP, out, camera="static", seed=11, start_seconds=2.5, seconds=6.0,
                          width=W, height=H, render=False, people=2)
    return gt.load_gt(out.with_name("two.gt.npz")), info


def test_two_people_gt(two_people):
    d, info = two_people
    F, J = 180, len(gt.JOINT_NAMES)
    assert d["joints"].shape == (F, 2, J, 3) and d["contact"].shape == (F, 2, 4)
    assert d["boxes"].shape == (F, 2, 4) and d["visible"].shape == (F, 2)
    assert list(d["person_ids"]) == [0, 1]
    assert d["visible"].min() >= 0 and d["visible"].max() <= 1
    assert info["gt_err_m"] < 1e-3 and info["proj_err_px"] < 0.5
    pelvis = d["joints"][:, :, 0]
    assert np.all((pelvis[..., 2] > 0.7) & (pelvis[..., 2] < 1.25))
    # different bodies: heights differ
    assert abs(info["heights"][0] - info["heights"][1]) > 0.03
    # world paths cross (at different times), and nobody walks through the other
    assert scene._paths_cross(pelvis[::3, 0, :2], pelvis[::3, 1, :2])
    assert np.linalg.norm(pelvis[:, 0, :2] - pelvis[:, 1, :2], axis=1).min() > 0.8
    # they swap sides in the image
    uv = gt.project(pelvis, d["K"], d["cam_R"], d["cam_t"])
    du = uv[:, 0, 0] - uv[:, 1, 0]
    assert np.sign(du[0]) != np.sign(du[-1])
    # person 1 is mostly hidden behind person 0 for about a second ...
    vis1 = d["visible"][:, 1]
    a, b = scene.hidden_interval(vis1, int(np.argmin(vis1)), scene.MOSTLY_HIDDEN)
    assert 0.5 <= (b - a + 1) / 30 <= 1.6, (a, b)
    assert np.all(uv[a:b + 1, 0, 2] < uv[a:b + 1, 1, 2])  # person 0 is the nearer one
    # ... and mostly in view otherwise (not half-hidden behind them for seconds)
    outside = np.ones(F, bool)
    outside[max(0, a - 15):b + 16] = False
    assert (vis1[outside] > 0.5).mean() > 0.85, np.round(vis1[::6], 2)
    assert (d["visible"][:, 0] > 0.5).mean() > 0.95
    # both in frame throughout
    assert np.all(d["boxes"][..., 2] > d["boxes"][..., 0])
