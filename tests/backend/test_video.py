"""Backend tier: real decoding with OpenCV (video stage)."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from videomocap.errors import CaptureError
from videomocap.video import VideoInfo, probe_video, read_frames, rotate_frame

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
VTEST = DATA / "video" / "vtest.avi"
needs_vtest = pytest.mark.skipif(not VTEST.is_file(), reason=f"shared test video missing: {VTEST}")


# --- vtest.avi ------------------------------------------------------------------------------------
@needs_vtest
def test_probe_vtest():
    info = probe_video(VTEST)
    assert isinstance(info, VideoInfo)
    assert (info.width, info.height) == (768, 576)
    assert info.fps == pytest.approx(10.0)
    assert info.frame_count == 795
    assert info.rotation == 0
    assert info.path == str(VTEST)


@needs_vtest
def test_read_frames_seek_matches_sequential():
    sequential = {}
    for i, frame in read_frames(VTEST, 0, 101):
        sequential[i] = frame
    assert sorted(sequential) == list(range(101))

    got = list(read_frames(VTEST, start=100, end=105))
    assert [i for i, _ in got] == [100, 101, 102, 103, 104]
    for _, frame in got:
        assert frame.shape == (576, 768, 3)
        assert frame.dtype == np.uint8
        assert frame.flags.c_contiguous
    np.testing.assert_array_equal(got[0][1], sequential[100])
    # consecutive frames differ (people walk), so a frame-off-by-one seek would be caught
    assert not np.array_equal(sequential[99], sequential[100])


@needs_vtest
def test_read_frames_is_rgb():
    (_, rgb), = list(read_frames(VTEST, 0, 1))
    cap = cv2.VideoCapture(str(VTEST))
    ok, bgr = cap.read()
    cap.release()
    assert ok
    np.testing.assert_array_equal(rgb, bgr[..., ::-1])


@needs_vtest
def test_read_frames_end_past_last_frame_stops():
    got = [i for i, _ in read_frames(VTEST, start=792, end=10_000)]
    assert got == [792, 793, 794]
    assert list(read_frames(VTEST, start=5000)) == []
    assert list(read_frames(VTEST, start=3, end=3)) == []


def test_read_frames_is_lazy(tmp_path):
    gen = read_frames(tmp_path / "nope.mp4")  # nothing happens until iteration
    with pytest.raises(CaptureError):
        next(gen)


# --- rotation -------------------------------------------------------------------------------------
def _marker_video(path: Path, n: int = 6, w: int = 64, h: int = 48) -> None:
    """A small mp4 whose frames have a bright square in the top-left corner."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25, (w, h))
    assert writer.isOpened()
    for k in range(n):
        frame = np.full((h, w, 3), 40, np.uint8)
        frame[:16, :16] = 255
        frame[-4:, -4:, 1] = 10 * k
        writer.write(frame)
    writer.release()


def _set_mp4_rotation(src: Path, dst: Path, degrees: int) -> None:
    """Write the display matrix of the first track header (tkhd) so that players rotate the video
    ``degrees`` clockwise (what phones do for portrait video); no ffmpeg binary needed."""
    data = bytearray(src.read_bytes())
    i = data.find(b"tkhd")
    assert i > 0
    version = data[i + 4]
    # after 'tkhd': version/flags(4), times+track id+reserved+duration (20 or 32), reserved(8),
    # layer/alternate group/volume/reserved (8), then the 3x3 matrix (9 x int32, 16.16 / 2.30)
    off = i + 4 + 4 + (32 if version == 1 else 20) + 8 + 8
    one = 1 << 16
    a, b, c, d = {0: (one, 0, 0, one), 90: (0, one, -one, 0), 180: (-one, 0, 0, -one), 270: (0, -one, one, 0)}[degrees]
    struct.pack_into(">9i", data, off, a, b, 0, c, d, 0, 0, 0, 1 << 30)
    dst.write_bytes(bytes(data))


def _bright_corner(frame: np.ndarray) -> tuple[str, str]:
    h, w = frame.shape[:2]
    ys, xs = np.nonzero(frame[..., 0] > 200)
    return ("top" if ys.mean() < h / 2 else "bottom", "left" if xs.mean() < w / 2 else "right")


@pytest.mark.parametrize(
    "degrees, size, corner",
    [
        (0, (64, 48), ("top", "left")),
        (90, (48, 64), ("top", "right")),
        (180, (64, 48), ("bottom", "right")),
        (270, (48, 64), ("bottom", "left")),
    ],
)
def test_rotated_mp4_comes_out_upright_once(tmp_path, degrees, size, corner):
    plain = tmp_path / "plain.mp4"
    _marker_video(plain)
    rotated = tmp_path / f"rot{degrees}.mp4"
    _set_mp4_rotation(plain, rotated, degrees)

    info = probe_video(rotated)
    assert info.rotation == degrees
    assert (info.width, info.height) == size
    assert info.frame_count == 6
    frames = list(read_frames(rotated, start=2))
    assert [i for i, _ in frames] == [2, 3, 4, 5]
    for _, frame in frames:
        assert frame.shape == (size[1], size[0], 3)
        assert frame.flags.c_contiguous
        assert _bright_corner(frame) == corner


def test_rotate_frame_helper():
    a = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    np.testing.assert_array_equal(rotate_frame(a, 0), a)
    np.testing.assert_array_equal(rotate_frame(a, 90), np.rot90(a, k=-1))
    np.testing.assert_array_equal(rotate_frame(a, 180), np.rot90(a, k=2))
    np.testing.assert_array_equal(rotate_frame(a, 270), np.rot90(a, k=1))
    np.testing.assert_array_equal(rotate_frame(a, -90), np.rot90(a, k=1))
    np.testing.assert_array_equal(rotate_frame(a, 89.7), np.rot90(a, k=-1))
    assert rotate_frame(a[:, ::-1], 0).flags.c_contiguous


# --- bad inputs -----------------------------------------------------------------------------------
def _one_sentence(exc: CaptureError) -> str:
    msg = str(exc)
    assert msg and "\n" not in msg and len(msg) < 200
    assert msg.endswith(".")
    return msg


def test_missing_file(tmp_path):
    with pytest.raises(CaptureError) as e:
        probe_video(tmp_path / "missing.mp4")
    assert "does not exist" in _one_sentence(e.value)
    with pytest.raises(CaptureError):
        list(read_frames(tmp_path / "missing.mp4"))


def test_directory(tmp_path):
    with pytest.raises(CaptureError) as e:
        probe_video(tmp_path)
    assert "folder" in _one_sentence(e.value)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(CaptureError) as e:
        probe_video(p)
    assert "empty" in _one_sentence(e.value)


def test_text_file_renamed_mp4(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video\n" * 50)
    with pytest.raises(CaptureError) as e:
        probe_video(p)
    _one_sentence(e.value)
    with pytest.raises(CaptureError):
        list(read_frames(p))


def test_bad_range(tmp_path):
    with pytest.raises(CaptureError):
        list(read_frames(tmp_path / "x.mp4", start=-1))
    with pytest.raises(CaptureError):
        list(read_frames(tmp_path / "x.mp4", start=5, end=2))
