"""The extension as an animator gets it: build, validate, install, capture, cancel, fail."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np

from .conftest import REPO, run_blender

SAMPLE = REPO / "assets" / "sample.mp4"


def _blender_ext() -> Path:
    spec = importlib.util.find_spec("bpy")
    root = Path(list(spec.submodule_search_locations)[0])
    return sorted(root.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))[-1]


def test_zip_is_a_valid_extension_with_shared_modules_and_backend_source(extension_zip):
    proc = subprocess.run([sys.executable, str(_blender_ext()), "validate", str(extension_zip)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    manifest = tomllib.loads((REPO / "blender_manifest.toml").read_text())
    assert extension_zip.name == f"videomocap-{manifest['version']}.zip"
    assert manifest["id"] == "videomocap" and manifest["blender_version_min"] == "4.2.0"
    with zipfile.ZipFile(extension_zip) as zf:
        names = set(zf.namelist())
        for name in ("blender_manifest.toml", "__init__.py", "operators.py", "panels.py",
                     "preferences.py", "backend_process.py", "headless.py", "core/progress.py",
                     "build/scene.py", "_shared/__init__.py", "backend_src/pyproject.toml",
                     "backend_src/videomocap/cli.py", "data/makehuman_body.npz"):
            assert name in names, name
        for module in ("motion_file", "rotations", "skeleton"):  # copies, made by the build
            assert zf.read(f"_shared/{module}.py") == \
                (REPO / "backend" / "videomocap" / f"{module}.py").read_bytes()
        backend = tomllib.loads(zf.read("backend_src/pyproject.toml").decode())
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert not any(n.startswith(("tests/", "assets/", ".venv")) for n in names)
    deps = backend["project"]["dependencies"]
    assert not any(d.startswith("bpy") for d in deps) and any(d.startswith("torch") for d in deps)
    assert not (REPO / "addon" / "_shared").exists()  # never committed, never copied by hand


def test_backend_source_of_the_zip_runs_without_the_addon_package(extension_zip, tmp_path):
    """The backend environment the preferences create holds ``backend_src`` alone (no
    ``videomocap_addon``, no bpy): its set-up check and ``videomocap capture --help`` must run
    there. Checked with this Python, the add-on package made unimportable."""
    from videomocap_addon.backend_process import BACKEND_CHECK

    with zipfile.ZipFile(extension_zip) as zf:
        zf.extractall(tmp_path, [n for n in zf.namelist() if n.startswith("backend_src/")])
    src = tmp_path / "backend_src"
    alone = (f"import sys; sys.modules['videomocap_addon'] = None; sys.modules['bpy'] = None; "
             f"sys.path.insert(0, {str(src)!r}); ")
    check = subprocess.run([sys.executable, "-c", alone + BACKEND_CHECK + "; print(videomocap.__file__)"],
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr[-2000:]
    assert check.stdout.startswith("videomocap ") and str(src) in check.stdout
    cli = subprocess.run([sys.executable, "-c", alone + "from videomocap.cli import main; "
                          "sys.exit(main(sys.argv[1:]))", "capture", "--help"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0 and "--focal-mm" in cli.stdout, cli.stderr[-2000:]
    blend = subprocess.run([sys.executable, "-c", alone + "from videomocap.cli import main; "
                            "sys.exit(main(sys.argv[1:]))", "blend", "x.mocap.npz", "-o", "x.blend"],
                           capture_output=True, text=True, timeout=120)
    assert blend.returncode == 1 and blend.stderr.count("\n") == 1, blend.stderr
    assert "needs the Blender side" in blend.stderr


def test_install_disable_reenable_and_persist(extension_zip, tmp_path):
    home = tmp_path / "home"
    r = run_blender("install", {"zip": str(extension_zip)}, home)
    wanted = {"enabled": True, "capture_op": True, "import_op": True, "op_callable": True,
              "panel": True, "file_handler": True, "prefs": True, "scene_prop": True}
    for state in (r["first"], *r["reenabled"]):
        assert {k: state[k] for k in wanted} == wanted, state
        assert len(state["status_hooks"]) == 1 and len(state["import_hooks"]) == 1, state
        assert state["timers"] == []
    for state in r["disabled"]:  # nothing of ours is left registered
        assert not any(state[k] for k in wanted), state
        assert state["status_hooks"] == [] and state["import_hooks"] == [] and state["timers"] == []
    # a new session with the same user folder: still installed and enabled
    again = run_blender("persist", {}, home)
    assert again.get("saved_in_prefs", True) is True
    assert {k: again["startup"][k] for k in wanted} == wanted


def test_capture_operator_in_background_builds_armatures(extension_zip, tmp_path):
    out = tmp_path / "capture.blend"
    r = run_blender("capture", {"zip": str(extension_zip), "video": str(SAMPLE), "start": 0,
                                "end": 45, "save": str(out)}, tmp_path / "home")
    assert r["return"] == ["FINISHED"], r["_stderr"][-2000:]
    scene = r["scene"]
    assert [a["name"] for a in scene["armatures"]] == ["Person 1"]
    arm = scene["armatures"][0]
    assert arm["bones"] == 24 and arm["collection"] == "Capture sample"
    assert arm["keyed_frames"] >= 40  # every captured frame keyed (plus visibility keys)
    assert {"Person 1 body", "Video camera"} <= set(scene["objects"])
    kind, n_verts = scene["bodies"]["Person 1 body"]  # the MakeHuman body shipped in the zip
    assert kind == "makehuman" and n_verts > 10_000
    assert r["frame_range"] == [1, 45]
    assert scene["heavy_modules"] == []  # Blender's side never imports torch/mediapipe/cv2
    assert "Finding people" in r["_stdout"] and "left" in r["_stdout"]  # progress with ETA
    assert out.is_file()


def test_cancel_halfway_kills_the_backend_and_changes_nothing(extension_zip, tmp_path):
    r = run_blender("cancel", {"zip": str(extension_zip), "video": str(SAMPLE), "after": 15},
                    tmp_path / "home")
    assert r["return"] == ["CANCELLED"]
    assert r["seen"]["done_at_cancel"] < r["seen"]["total"]  # it was stopped midway
    assert r["alive_after"] is False and r["group_after"] == []
    assert r["folder_left"] is False  # the partial output is gone
    assert r["unchanged"] is True and r["runtime_clear"] is True
    assert "cancelled" in r["last_result"]


def test_failing_backend_shows_its_sentence(extension_zip, tmp_path):
    fake = tmp_path / "shopping.mp4"
    fake.write_text("this is a shopping list, not a video\n" * 20)
    r = run_blender("fail", {"zip": str(extension_zip), "video": str(fake)}, tmp_path / "home")
    assert r["raised"] is not None and "not a video" in r["raised"], r
    assert "not a video" in r["last_error"] and r["armatures"] == []
    assert "Video Mocap: " in r["_stderr"] and "not a video" in r["_stderr"]  # logged


def test_missing_backend_says_how_to_set_it_up(extension_zip, tmp_path):
    fake = tmp_path / "clip.mp4"
    fake.write_bytes(b"\0" * 100)
    r = run_blender("fail", {"zip": str(extension_zip), "video": str(fake)}, tmp_path / "home",
                    VIDEOMOCAP_PYTHON="")
    assert "Create Backend Environment" in r["raised"], r


def _synthetic_motion(path: Path) -> Path:
    from videomocap import motion_file, skeleton

    n = 30
    t = np.arange(n) / 30.0
    body_pose = np.zeros((n, 23, 3))
    body_pose[:, skeleton.JOINT_INDEX["left_knee"] - 1, 0] = 0.5 * np.sin(2 * np.pi * t)
    orient = np.tile(np.array([np.pi / 2, 0, 0]), (n, 1))
    transl = np.stack([t, 0 * t, 0.95 + 0 * t], 1)
    bones = skeleton.TEMPLATE_BONE_LENGTHS
    fk = skeleton.forward_kinematics(orient, body_pose, transl, bones)
    joints = fk[0] if isinstance(fk, tuple) else fk
    person = motion_file.PersonMotion(
        person_id=1, frame_ids=np.arange(n), global_orient=orient, body_pose=body_pose,
        transl=transl, betas=np.zeros(10), bone_lengths=bones, joints=joints,
        contact=np.zeros((n, 4)), keypoints2d=np.zeros((n, 33, 3)), confidence=np.ones(n))
    motion = motion_file.Motion(fps=30.0, image_size=np.array([640, 480]),
                                K=np.tile(np.array([[800, 0, 320], [0, 800, 240], [0, 0, 1.0]]),
                                          (n, 1, 1)),
                                cam_R=np.tile(np.eye(3), (n, 1, 1)), cam_t=np.zeros((n, 3)),
                                people=[person], meta={"video": "walk.mp4"})
    return motion_file.save(motion, path)


def test_file_import_motion_file(extension_zip, tmp_path):
    motion = _synthetic_motion(tmp_path / "walk.mocap.npz")
    r = run_blender("import", {"zip": str(extension_zip), "motion": str(motion)},
                    tmp_path / "home")
    assert r["return"] == ["FINISHED"]
    assert r["menu_entry"] is True
    arms = r["scene"]["armatures"]
    assert [a["collection"] for a in arms] == ["Capture walk"] and arms[0]["keyed_frames"] >= 30


def test_headless_script_writes_a_blend(extension_zip, tmp_path):
    out = tmp_path / "headless.blend"
    r = run_blender("headless", {"zip": str(extension_zip),
                                 "argv": [str(SAMPLE), "-o", str(out), "--start", "10", "--end",
                                          "40"]}, tmp_path / "home")
    assert r["code"] == 0, r["_stderr"][-2000:]
    assert "/extensions/user_default/videomocap/headless.py" in r["headless_file"]
    assert out.is_file() and out.stat().st_size > 10000
    objects = r["scene"]["objects"]
    assert "Cube" not in objects and "Person 1" in objects  # an empty scene plus the capture
