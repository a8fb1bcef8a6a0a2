"""Focal length from people standing on a ground plane (synthetic projections with known answers)
and from QuickTime lens metadata (a hand-built MP4 'moov' box)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from videomocap.camera.focal_from_people import (APPLE_FOCAL_KEY, focal_from_metadata,
                                                 focal_from_people, focal_from_tracks,
                                                 synthetic_people)


def _observations(f, pitch, heights, seed=0, noise=1.5, roll=0.0, depth=(3.0, 12.0)):
    head, foot, person = synthetic_people(f, pitch, 640, 480, n=300, roll_deg=roll,
                                          people_heights=heights, noise_px=noise, seed=seed,
                                          depth=depth)
    return [(head[person == k], foot[person == k]) for k in range(len(heights))]


@pytest.mark.parametrize("f, pitch, roll, heights", [
    (497.8, 10.0, 0.0, (1.6,)),           # the bench renders' lens, one person
    (497.8, 12.0, 3.0, (1.55, 1.8)),       # two people of different heights, a rolled camera
    (800.0, 15.0, -2.0, (1.7,)),           # the default guess's focal length, steeper camera
])
def test_recovers_the_focal_length_of_a_tilted_camera(f, pitch, roll, heights):
    est = focal_from_people(_observations(f, pitch, heights, roll=roll), 640, 480)
    assert est.accepted, est.reason
    assert est.focal == pytest.approx(f, rel=0.05)
    assert est.tilt_deg == pytest.approx(pitch, abs=1.5)
    assert est.roll_deg == pytest.approx(roll, abs=1.5)
    assert 0.0 < est.confidence <= 1.0


def test_level_camera_declines():
    # with no tilt the head-foot lines are parallel and f drops out of the model exactly
    est = focal_from_people(_observations(497.8, 0.3, (1.6,)), 640, 480)
    assert not est.accepted
    assert est.confidence == 0.0


def test_people_at_one_depth_decline():
    est = focal_from_people(_observations(497.8, 10.0, (1.6,), depth=(7.0, 7.4)), 640, 480)
    assert not est.accepted
    assert "depth" in est.reason or "uncertain" in est.reason


def test_too_few_observations_decline():
    obs = [(h[:10], f[:10]) for h, f in _observations(497.8, 10.0, (1.6,))]
    est = focal_from_people(obs, 640, 480)
    assert not est.accepted and est.focal is None


def test_tracks_of_landmarks_walking_in_depth():
    """focal_from_tracks picks upright frames out of 33-point landmarks and averages over a
    stride; a person walking towards a tilted camera gives the focal length back."""
    f, pitch = 497.8, 10.0
    head, foot, _ = synthetic_people(f, pitch, 640, 480, n=240, noise_px=1.0, seed=3)
    n = len(head)
    kp = np.zeros((n, 33, 3))
    kp[..., 2] = 0.9
    down = foot - head
    for idx, t in (((7, 8), 0.0), ((11, 12), 0.18), ((23, 24), 0.48), ((27, 28), 1.0)):
        for j, side in zip(idx, (-1, 1)):
            kp[:, j, :2] = head + t * down + side * np.array([6.0, 0.0])
    kp[::7, 27, 2] = 0.1  # some frames without a confident ankle are skipped

    class Track:
        keypoints2d = kp
        frame_ids = np.arange(n)

    est = focal_from_tracks([Track()], 640, 480, fps=30.0, stride_seconds=0.0)
    assert est.accepted, est.reason
    assert est.focal == pytest.approx(f, rel=0.05)
    assert est.observations == n - len(range(0, n, 7))


# ----------------------------------------------------------------------------- metadata


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _quicktime_file(path, items: dict) -> None:
    keys = b"".join(_box(b"mdta", k.encode()) for k in items)
    ilst = b""
    for i, value in enumerate(items.values(), start=1):
        if isinstance(value, float):
            data = struct.pack(">II", 23, 0) + struct.pack(">f", value)
        elif isinstance(value, int):
            data = struct.pack(">II", 21, 0) + struct.pack(">i", value)
        else:
            data = struct.pack(">II", 1, 0) + value.encode()
        ilst += _box(struct.pack(">I", i), _box(b"data", data))
    meta = _box(b"meta", _box(b"hdlr", b"\0" * 8 + b"mdta" + b"\0" * 13)
                + _box(b"keys", struct.pack(">II", 0, len(items)) + keys) + _box(b"ilst", ilst))
    moov = _box(b"moov", _box(b"mvhd", b"\0" * 100) + meta)
    path.write_bytes(_box(b"ftyp", b"qt  \0\0\0\0qt  ") + _box(b"mdat", b"\0" * 64) + moov)


@pytest.mark.parametrize("value", [26.0, 26, "26"])
def test_focal_from_apple_35mm_equivalent(tmp_path, value):
    path = tmp_path / "phone.mov"
    _quicktime_file(path, {"com.apple.quicktime.make": "Apple", APPLE_FOCAL_KEY: value})
    f = focal_from_metadata(path, 1920, 1080)
    # 26 mm on the 43.27 mm diagonal of a 35 mm frame, scaled to the 2203-pixel diagonal
    assert f == pytest.approx(26.0 / np.hypot(36, 24) * np.hypot(1920, 1080), rel=1e-4)


def test_no_lens_metadata_gives_none(tmp_path):
    path = tmp_path / "other.mov"
    _quicktime_file(path, {"com.apple.quicktime.make": "Apple"})
    assert focal_from_metadata(path, 640, 480) is None
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x20moov" + b"\xff" * 7)  # truncated box
    assert focal_from_metadata(junk, 640, 480) is None
    assert focal_from_metadata(tmp_path / "missing.mp4", 640, 480) is None
