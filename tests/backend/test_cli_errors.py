"""Bad input: one plain sentence on stderr, a non-zero exit, and nothing written."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ..conftest import VTEST, run_cli


def _write_video(path, frames, fps=30.0):
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for f in frames:
        vw.write(f)
    vw.release()
    return path


def _assert_refused(proc, folder, pattern):
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("videomocap:")]
    assert len(lines) == 1, proc.stderr
    sentence = lines[0][len("videomocap: "):]
    assert sentence.endswith("."), sentence
    assert "Traceback" not in proc.stderr
    assert pattern in sentence, sentence
    if folder is not None and folder.exists():
        leftovers = [p.name for p in folder.iterdir() if ".mocap" in p.name or p.name.startswith(".tmp")]
        assert leftovers == [], leftovers


def test_missing_video(tmp_path):
    proc = run_cli("capture", tmp_path / "nope.mp4", "-o", tmp_path / "o.mocap.npz")
    _assert_refused(proc, tmp_path, "does not exist")


def test_file_that_is_not_a_video(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is a shopping list, not a video\n" * 50)
    proc = run_cli("capture", fake, "-o", tmp_path / "o.mocap.npz")
    _assert_refused(proc, tmp_path, "video")


def test_video_with_nobody_in_it(tmp_path):
    rng = np.random.default_rng(0)
    frames = [np.full((240, 320, 3), 90, np.uint8) + rng.integers(0, 20, (240, 320, 3), dtype=np.uint8)
              for _ in range(15)]
    video = _write_video(tmp_path / "empty_room.mp4", frames)
    proc = run_cli("capture", video, "-o", tmp_path / "o.mocap.npz")
    _assert_refused(proc, tmp_path, "No person was found")


def test_one_frame_video(tmp_path):
    video = _write_video(tmp_path / "still.mp4", [np.zeros((120, 160, 3), np.uint8)])
    proc = run_cli("capture", video, "-o", tmp_path / "o.mocap.npz")
    _assert_refused(proc, tmp_path, "only 1 frame")


@pytest.mark.skipif(not VTEST.is_file(), reason="shared test video missing")
def test_output_folder_that_cannot_be_written(tmp_path):
    proc = run_cli("capture", VTEST, "-o", tmp_path / "missing" / "o.mocap.npz")
    _assert_refused(proc, None, "does not exist")
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    proc = run_cli("capture", VTEST, "-o", blocker / "o.mocap.npz")
    _assert_refused(proc, None, "does not exist")
    proc = run_cli("capture", VTEST, "-o", tmp_path)
    _assert_refused(proc, tmp_path, "is a folder")


def test_blend_refuses_a_malformed_motion_file(tmp_path):
    bad = tmp_path / "broken.mocap.npz"
    np.savez(bad, format=np.array("videomocap/1"), fps=np.array(30.0))
    proc = run_cli("blend", bad, "-o", tmp_path / "out.blend")
    _assert_refused(proc, None, "lacks")
    assert not (tmp_path / "out.blend").exists()
