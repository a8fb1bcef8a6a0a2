import numpy as np
import pytest

from videomocap import motion_file as mf
from videomocap.skeleton import TEMPLATE_BONE_LENGTHS


def make_motion(n_frames=20, people=(1, 3)):
    rng = np.random.default_rng(0)
    ps = []
    for pid in people:
        frames = np.arange(2, 2 + n_frames - 4)
        n = len(frames)
        ps.append(mf.PersonMotion(
            person_id=pid, frame_ids=frames, global_orient=rng.normal(size=(n, 3)),
            body_pose=rng.normal(size=(n, 23, 3)), transl=rng.normal(size=(n, 3)),
            betas=np.zeros(10), bone_lengths=TEMPLATE_BONE_LENGTHS.copy(),
            joints=rng.normal(size=(n, 24, 3)), contact=rng.uniform(size=(n, 4)),
            keypoints2d=rng.uniform(size=(n, 33, 3)), confidence=rng.uniform(size=n)))
    return mf.Motion(fps=29.97, image_size=np.array([640, 480]),
                     K=np.repeat(np.eye(3)[None], n_frames, 0),
                     cam_R=np.repeat(np.eye(3)[None], n_frames, 0), cam_t=np.zeros((n_frames, 3)),
                     people=ps, meta={"tool": "test"})


def test_round_trip_without_pickle(tmp_path):
    m = make_motion()
    path = mf.save(m, tmp_path / "a.mocap.npz")
    with np.load(path, allow_pickle=False) as data:  # must load with no pickle at all
        assert str(data["format"]) == "videomocap/1"
        assert data["p3/body_pose"].shape == (16, 23, 3)
        assert data["p3/body_pose"].dtype == np.float32
    back = mf.load(path)
    assert back.fps == pytest.approx(29.97)
    assert [p.person_id for p in back.people] == [1, 3]
    for a, b in zip(m.people, back.people):
        np.testing.assert_array_equal(a.frame_ids, b.frame_ids)
        np.testing.assert_allclose(a.body_pose, b.body_pose, rtol=1e-6)
        np.testing.assert_allclose(a.joints, b.joints, rtol=1e-6)
    assert back.meta == {"tool": "test"}


def test_unknown_format_is_refused(tmp_path):
    m = make_motion()
    path = mf.save(m, tmp_path / "a.mocap.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["format"] = np.array("videomocap/99")
    np.savez(tmp_path / "b.npz", **arrays)
    with pytest.raises(mf.MotionFileError, match="format 'videomocap/99'"):
        mf.load(tmp_path / "b.npz")


def test_not_a_motion_file_is_refused(tmp_path):
    bad = tmp_path / "x.mocap.npz"
    bad.write_text("hello")
    with pytest.raises(mf.MotionFileError, match="not a readable motion file"):
        mf.load(bad)
    with pytest.raises(mf.MotionFileError, match="does not exist"):
        mf.load(tmp_path / "missing.npz")


def test_wrong_shapes_and_nans_are_refused(tmp_path):
    m = make_motion()
    m.people[0].body_pose = m.people[0].body_pose[:, :22]
    with pytest.raises(mf.MotionFileError, match="body_pose"):
        mf.save(m, tmp_path / "a.npz")
    m = make_motion()
    m.people[1].transl[3, 1] = np.nan
    with pytest.raises(mf.MotionFileError, match="NaN"):
        mf.save(m, tmp_path / "a.npz")
    m = make_motion()
    m.people[0].frame_ids = m.people[0].frame_ids[::-1].copy()
    with pytest.raises(mf.MotionFileError, match="increasing"):
        mf.save(m, tmp_path / "a.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path, monkeypatch):
    path = mf.save(make_motion(), tmp_path / "a.mocap.npz")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError):
        mf.save(make_motion(people=(7,)), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mocap.npz"]
    assert path.read_bytes() == before
