"""Backend tier: the focal length on the shipped sample video (true focal 497.8 px).

The sample has no lens metadata, its camera is static, and the one person walks across the view
at nearly constant depth (apparent height changes by under 10 %): the people-based estimate must
decline there and the capture keep the default sqrt(W^2 + H^2) = 800 px."""

from __future__ import annotations

import numpy as np

from videomocap import motion_file
from videomocap.camera.focal_from_people import focal_from_metadata, focal_from_tracks

from ..conftest import SAMPLE, SAMPLE_GT


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
