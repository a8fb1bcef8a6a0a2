"""The body's heading pulled towards the direction of travel (world/facing.py)."""

import numpy as np

from videomocap.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from videomocap.world.facing import travel_heading_correction, turn_about_vertical

FPS = 30.0


def _upright_facing(heading_rad: np.ndarray) -> np.ndarray:
    """Axis-angle of an upright body (body y -> world z) whose forward axis (+z) has ``heading``."""
    # columns: the body's x (left), y (up), z (forward) in the world
    n = len(heading_rad)
    fwd = np.stack([np.cos(heading_rad), np.sin(heading_rad), np.zeros(n)], 1)
    up = np.tile([0.0, 0.0, 1.0], (n, 1))
    left = np.cross(up, fwd)
    m = np.stack([left, up, fwd], axis=2)
    return matrix_to_axis_angle(m)


def _heading_of(orient: np.ndarray) -> np.ndarray:
    f = axis_angle_to_matrix(orient)[:, :, 2]
    return np.degrees(np.arctan2(f[:, 1], f[:, 0]))


def _walk(direction_deg: float, speed: float, n: int = 150) -> np.ndarray:
    t = np.arange(n) / FPS
    d = np.radians(direction_deg)
    sway = 0.03 * np.sin(2 * np.pi * 1.0 * t)  # gait's side-to-side sway
    return np.stack([speed * t * np.cos(d) - sway * np.sin(d),
                     speed * t * np.sin(d) + sway * np.cos(d), np.full(n, 0.95)], 1)


def test_a_walker_turned_away_from_the_path_is_turned_back():
    transl = _walk(30.0, 1.3)
    orient = _upright_facing(np.full(len(transl), np.radians(30.0 - 20.0)))
    yaw = travel_heading_correction(orient, transl, FPS, gain=1.0)
    fixed = _heading_of(turn_about_vertical(orient, yaw))
    mid = slice(30, -30)
    assert np.all(np.abs(fixed[mid] - 30.0) < 1.0), fixed[mid]
    # by default 80 % of the way (both headings are measurements)
    partial = _heading_of(turn_about_vertical(orient, travel_heading_correction(orient, transl, FPS)))
    assert np.all(np.abs(partial[mid] - 26.0) < 1.0), partial[mid]
    # the body stays upright: only a turn about the vertical
    up = axis_angle_to_matrix(turn_about_vertical(orient, yaw))[:, :, 1]
    assert np.allclose(up, [0, 0, 1], atol=1e-9)


def test_sidesteps_backing_up_and_standing_are_left_alone():
    n = 150
    orient = _upright_facing(np.zeros(n))
    for path in (_walk(90.0, 1.0, n), _walk(180.0, 1.0, n), _walk(0.0, 0.1, n)):
        yaw = travel_heading_correction(orient, path, FPS)
        assert np.abs(yaw).max() < 1e-6, np.degrees(np.abs(yaw).max())


def test_a_body_wheeling_sideways_is_not_turned():
    """A cartwheel: travel along the body's forward axis 17 degrees off, the body lying on its
    side (up horizontal): not upright, so no turn."""
    n = 120
    transl = _walk(0.0, 1.5, n)
    fwd = np.array([np.cos(0.3), np.sin(0.3), 0.0])
    up = np.array([-np.sin(0.3), np.cos(0.3), 0.0])
    m = np.tile(np.stack([np.cross(up, fwd), up, fwd], axis=1), (n, 1, 1))
    yaw = travel_heading_correction(matrix_to_axis_angle(m), transl, FPS)
    assert np.abs(yaw).max() < 1e-6


def test_a_gap_in_the_frames_is_time_not_a_jump():
    """A stroll (0.35 m/s, too slow to be sure of the heading) seen on frames 0-59 and 90-149:
    the pelvis moves 0.35 m across the gap, which is no step between neighbouring frames (it
    would read as 10 m/s), so nothing is turned."""
    transl = _walk(0.0, 0.35)
    frames = np.r_[0:60, 90:150]
    orient = _upright_facing(np.full(len(frames), np.radians(-20.0)))
    yaw = travel_heading_correction(orient, transl[frames], FPS, frames)
    assert np.abs(yaw).max() < 1e-9, np.degrees(np.abs(yaw).max())
    # (taking the frames as consecutive would see a leap there and turn the body)
    assert np.abs(travel_heading_correction(orient, transl[frames], FPS)).max() > np.radians(5)
