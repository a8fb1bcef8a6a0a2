"""Backend tier: the focal length on the shipped sample video (true focal 497.8 px).

The sample has no lens metadata, its camera is static, and the one person walks across the view
at nearly constant depth (apparent height changes by under 10 %): the people-based estimate must
decline there and the capture keep the default sqrt(W^2 + H^2) = 800 px."""

from __future__ import annotations

import numpy as np

from videomocap import motion_file
from videomocap.camera.focal_from_people import focal_from_metadata, focal_from_tracks

from ..conftest import SAMPLE, SAMPLE_GT, run_cli


def test_sample_focal_length(sample_capture):
    motion = motion_file.load(sample_capture)
    w, h = (int(v) for v in motion.image_size)
    assert focal_from_metadata(SAMPLE, w, h) is None
    assert motion.meta["camera"]["focal_source"] == "default"
    assert motion.meta["camera"]["focal_px"] == round(float(np.hypot(w, h)), 1)
    est = focal_from_tracks(motion.people, w, h, fps=float(motion.fps))
    assert est.observations > 100  # the walker is upright in most frames
    assert not est.accepted, (est.focal, float(np.load(SAMPLE_GT)["K"][0, 0]))
    assert est.info["depth_ratio"] < 1.3


def test_the_users_lens_is_used(tmp_path):
    """--focal-mm (35 mm equivalent) sets the focal length: 28 mm on the 640 x 480 sample is
    28 / 43.27 x 800 px; the depth of the person scales with it (pinhole: same picture, focal
    and distance in proportion)."""
    out = tmp_path / "lens.mocap.npz"
    proc = run_cli("capture", SAMPLE, "-o", out, "--progress", "none", "--end", "24",
                   "--focal-mm", "28")
    assert proc.returncode == 0, proc.stderr
    motion = motion_file.load(out)
    w, h = (int(v) for v in motion.image_size)
    expected = 28.0 / np.hypot(36.0, 24.0) * np.hypot(w, h)
    assert motion.meta["camera"]["focal_source"] == "user"
    assert abs(motion.meta["camera"]["focal_px"] - expected) < 0.1
    assert np.allclose(motion.K[:, 0, 0], expected, atol=1e-6)


def test_a_lens_that_is_not_one_is_refused(tmp_path):
    proc = run_cli("capture", SAMPLE, "-o", tmp_path / "o.mocap.npz", "--focal-mm", "0.5")
    assert proc.returncode == 1
    assert "35 mm-equivalent" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o.mocap.npz").exists()
