import numpy as np

from videomocap.detect import FrameDetections
from videomocap.track.track_people import track_people


def _frame(i, boxes):
    p = len(boxes)
    kp = np.zeros((p, 33, 3), np.float32)
    for k, b in enumerate(boxes):
        kp[k, :, 0] = 0.5 * (b[0] + b[2]) + k * 0.001
        kp[k, :, 2] = 1.0
    kp2 = kp.copy()
    for k, b in enumerate(boxes):
        kp2[k, :, 1] = np.linspace(b[1], b[3], 33)  # head to feet, in the image
    return FrameDetections(i, kp2, kp, np.array(boxes, np.float32).reshape(-1, 4),
                           np.ones(p, np.float32))


def test_two_walkers_keep_their_ids_through_a_short_gap():
    frames = []
    for i in range(60):
        a = [100 + 3 * i, 100, 160 + 3 * i, 300]
        b = [500 - 2 * i, 120, 560 - 2 * i, 320]
        boxes = [a, b] if not (20 <= i < 30) else [a]  # b unseen for 1/3 s
        frames.append(_frame(i, boxes))
    tracks = track_people(frames, fps=30.0)
    assert len(tracks) == 2
    a, b = tracks
    assert len(a.frame_ids) == 60 and len(b.frame_ids) == 50
    assert np.all(a.boxes[:, 0] == 100 + 3 * a.frame_ids)  # never swapped to the other person
    assert np.all(b.boxes[:, 0] == 500 - 2 * b.frame_ids)


def test_people_too_small_to_reconstruct_are_dropped():
    # two walkers seen for a second, one 200 px tall, one 30 px (a distant pedestrian)
    frames = [_frame(i, [[100 + 2 * i, 100, 160 + 2 * i, 300], [400, 100, 410, 130]])
              for i in range(30)]
    tracks = track_people(frames, fps=30.0)
    assert len(tracks) == 1 and tracks[0].boxes[0, 3] - tracks[0].boxes[0, 1] == 200
    from videomocap.track.track_people import TrackerSettings

    assert len(track_people(frames, fps=30.0, settings=TrackerSettings(min_height_px=20))) == 2


def test_short_tracks_dropped_and_max_people():
    frames = [_frame(i, [[10, 10, 50, 100]] + ([[300, 10, 340, 100]] if i < 5 else [])
                     + [[600, 10, 640, 100]]) for i in range(40)]
    assert len(track_people(frames, fps=30.0)) == 2  # the 5-frame blip is dropped
    assert len(track_people(frames, fps=30.0, max_people=1)) == 1


# --- PHALP-style terms: appearance, prediction, life cycle in seconds, gap filling -------------

from videomocap.track.appearance import DIM, NUM_PARTS, appearance_distance, describe_appearance
from videomocap.track.track_people import fill_gaps


def _colour(lab):
    """A descriptor whose every part has the Lab colour ``lab``."""
    d = np.zeros((NUM_PARTS, 4), np.float32)
    d[:, :3] = lab
    d[:, 3] = 1.0
    return d.reshape(DIM)


RED, BLUE = (50.0, 60.0, 40.0), (40.0, 20.0, -60.0)


def _walk(fps, seconds, paths, hidden=lambda who, t: False, width=60, height=200):
    """Frames with people whose box x0 at time t is ``paths[who](t)``; returns (frames, app)."""
    frames, app = [], []
    for i in range(int(round(seconds * fps))):
        t = i / fps
        boxes, looks = [], []
        for who, path in enumerate(paths):
            if hidden(who, t):
                continue
            x = path(t)
            boxes.append([x, 100, x + width + 4 * who, 100 + height])
            looks.append(_colour(RED if who == 0 else BLUE))
        order = np.argsort([b[0] for b in boxes]) if boxes else []
        boxes = [boxes[k] for k in order]
        looks = [looks[k] for k in order]
        frames.append(_frame(i, boxes))
        app.append(np.array(looks, np.float32).reshape(-1, DIM))
    return frames, app


def _ids_by_colour(tracks, frames, app):
    """For each track, the set of colours (0 red, 1 blue) of the detections it took."""
    out = []
    for tr in tracks:
        colours = set()
        for f, box in zip(tr.frame_ids, tr.boxes):
            k = int(np.argmin(np.abs(frames[f].boxes - box).sum(1)))
            colours.add(0 if app[f][k, 1] > 40 else 1)
        out.append(colours)
    return out


def test_appearance_keeps_ids_when_people_meet_and_turn_back():
    # they walk towards each other, meet (the blue one hidden behind the red one for 0.6 s) and
    # each goes back the way it came: motion alone predicts a swap, appearance prevents it
    def red(t):
        return 100 + 150 * min(t, 2.0) - 150 * max(t - 2.0, 0.0)

    def blue(t):
        return 700 - 150 * min(t, 2.0) + 150 * max(t - 2.0, 0.0)

    frames, app = _walk(30.0, 4.0, [red, blue], hidden=lambda who, t: who == 1 and 1.7 <= t < 2.3)
    tracks = track_people(frames, 30.0, appearance=app)
    assert _ids_by_colour(tracks, frames, app) == [{0}, {1}]
    assert len(tracks[1].frame_ids) == 120 - 18


def test_hidden_up_to_two_seconds_keeps_the_id_at_any_frame_rate():
    def red(t):
        return 100 + 100 * t

    def blue(t):
        return 500 - 20 * t

    for fps in (10.0, 30.0, 60.0):
        frames, app = _walk(fps, 5.0, [red, blue], hidden=lambda who, t: who == 1 and 1.0 <= t < 2.8)
        tracks = track_people(frames, fps, appearance=app)
        assert len(tracks) == 2, fps
        assert _ids_by_colour(tracks, frames, app) == [{0}, {1}], fps
        # the same without appearance: location alone still bridges the gap
        assert len(track_people(frames, fps)) == 2, fps
        # hidden for 3 s: the old track is deleted, the person comes back as someone new
        frames, app = _walk(fps, 6.0, [red, blue], hidden=lambda who, t: who == 1 and 1.0 <= t < 4.0)
        assert len(track_people(frames, fps, appearance=app)) == 3, fps


def test_appearance_gate_refuses_a_different_looking_person_in_the_same_place():
    # red leaves at t = 1 s; blue appears where red was predicted to be half a second later
    frames, app = [], []
    for i in range(60):
        t = i / 30.0
        x = 100 + 60 * t
        if t < 1.0:
            frames.append(_frame(i, [[x, 100, x + 60, 300]])); app.append(_colour(RED)[None])
        elif t >= 1.5:
            frames.append(_frame(i, [[x, 100, x + 60, 300]])); app.append(_colour(BLUE)[None])
        else:
            frames.append(_frame(i, [])); app.append(np.zeros((0, DIM), np.float32))
    assert len(track_people(frames, 30.0, min_seconds=0.3, appearance=app)) == 2
    assert len(track_people(frames, 30.0, min_seconds=0.3)) == 1  # geometry alone links them


def test_gaps_filled_and_flagged():
    frames = [_frame(i, [[100 + 3 * i, 100, 160 + 3 * i, 300]]) for i in range(40) if not 10 <= i < 16]
    (tr,) = track_people(frames, 30.0, fill_seconds=0.5)
    assert np.array_equal(tr.frame_ids, np.arange(40))
    assert np.array_equal(np.flatnonzero(tr.filled), np.arange(10, 16))
    assert np.allclose(tr.boxes[:, 0], 100 + 3 * np.arange(40))
    assert np.all(tr.keypoints2d[tr.filled, :, 2] == 0.5) and np.all(tr.scores[tr.filled] == 0.5)
    (tr,) = track_people(frames, 30.0, fill_seconds=0.1)  # a gap longer than that stays open
    assert len(tr.frame_ids) == 34 and not tr.filled.any()
    assert fill_gaps(tr, 0) is tr


def test_filled_frames_follow_a_turning_camera():
    # a person standing still in the world, hidden while the camera turns 6 degrees aside and
    # back (a handheld sway): the gap's frames are filled where the turn put the person, not on
    # the straight line between its ends
    from videomocap.rotations import axis_angle_to_matrix

    K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    i = np.arange(40)
    angle = np.where((i >= 8) & (i <= 20), np.radians(6.0) * np.sin(np.pi * (i - 8) / 12), 0.0)
    R = axis_angle_to_matrix(angle[:, None] * [0.0, 1.0, 0.0])  # reference camera <- camera f
    body = np.array([[-0.3, -0.9, 4.0], [0.3, -0.9, 4.0], [0.3, 0.9, 4.0], [-0.3, 0.9, 4.0]])
    cam = np.einsum("fji,pj->fpi", R, body)  # R_f^T X: the body seen from camera f
    px = cam[..., :2] / cam[..., 2:] * 500.0 + [320, 240]
    truth = np.concatenate([px.min(1), px.max(1)], axis=1)
    frames = [_frame(k, [truth[k]]) for k in i if not 9 <= k < 20]
    view = K @ R @ np.linalg.inv(K)
    (tr,) = track_people(frames, 30.0, fill_seconds=0.5, view=view)
    assert np.array_equal(np.flatnonzero(tr.filled), np.arange(9, 20))
    assert np.abs(tr.boxes - truth).max() < 1.0
    assert np.abs(tr.keypoints2d[:, 0, 0] - truth[:, [0, 2]].mean(1)).max() < 1.0
    (flat,) = track_people(frames, 30.0, fill_seconds=0.5)  # interpolated in the picture
    assert np.abs(flat.boxes - truth).max() > 40.0


def test_describe_appearance_samples_body_part_colours():
    img = np.zeros((400, 300, 3), np.uint8)
    img[:200] = (200, 30, 30)  # red above y = 200 (torso)
    img[200:] = (30, 30, 200)  # blue below (legs)
    kp = np.zeros((2, 33, 3), np.float32)
    kp[:, :, 2] = 1.0
    pts = {0: (150, 40), 7: (140, 40), 8: (160, 40), 11: (120, 80), 12: (180, 80), 13: (110, 130),
           14: (190, 130), 15: (105, 180), 16: (195, 180), 23: (130, 190), 24: (170, 190),
           25: (130, 290), 26: (170, 290), 27: (130, 380), 28: (170, 380)}
    for k, (x, y) in pts.items():
        kp[0, k, :2] = (x, y)
    kp[1] = kp[0]
    kp[1, 25:29, 2] = 0.0  # second copy: legs not visible
    d = describe_appearance(img, kp).reshape(2, NUM_PARTS, 4)
    assert d.shape == (2, NUM_PARTS, 4)
    torso, shins = 1, 6
    assert d[0, torso, 1] > 40 and d[0, shins, 2] < -40  # red torso (a > 0), blue shins (b < 0)
    assert d[1, shins, 3] == 0 and d[0, shins, 3] > 0.5
    dist = appearance_distance(d[:1].reshape(1, -1), d.reshape(2, -1))
    assert dist[0, 0] == 0 and dist[0, 1] == 0  # parts seen by only one side are ignored
    assert describe_appearance(img, np.zeros((0, 33, 3))).shape == (0, DIM)


def test_one_jumping_turning_person_stays_one_track():
    # box height and width swing from frame to frame (limbs), the body jumps and tumbles:
    # alone in view, the person must never be split into two tracks
    rng = np.random.default_rng(0)
    frames = []
    for i in range(120):
        t = i / 30.0
        h = 200 * (1 + 0.15 * np.sin(7 * t)) * (0.6 if 50 <= i < 70 else 1.0)  # crouch / invert
        w = 70 * (1 + 0.4 * abs(np.sin(5 * t))) * (2.5 if 50 <= i < 70 else 1.0)
        cx = 200 + 80 * t + rng.normal(0, 3)
        bottom = 400 - 60 * max(0.0, np.sin(np.pi * (t - 1.0) / 0.6)) * (1.0 <= t < 1.6)  # 0.5 m
        frames.append(_frame(i, [[cx - w / 2, bottom - h, cx + w / 2, bottom]]))
    tracks = track_people(frames, 30.0)
    assert len(tracks) == 1 and len(tracks[0].frame_ids) == 120


def test_no_track_goes_across_a_cut():
    """The same two walkers, with a cut at frame 30: four tracks, each within one shot (a
    person can look alike in the next shot, their track still ends at the cut)."""
    frames = [_frame(i, [[100 + 3 * i, 100, 160 + 3 * i, 300], [500 - 2 * i, 120, 560 - 2 * i, 320]])
              for i in range(60)]
    whole = track_people(frames, fps=30.0)
    assert len(whole) == 2
    tracks = track_people(frames, fps=30.0, cuts=[30])
    assert sorted((int(t.frame_ids[0]), int(t.frame_ids[-1])) for t in tracks) == [
        (0, 29), (0, 29), (30, 59), (30, 59)]


def test_a_track_is_carried_into_a_long_gap_at_its_picture_velocity():
    # a person crossing at a steady pace behind a sway of the camera (as in
    # test_filled_frames_follow_a_turning_camera), lost for a second: a fifth of a second of each
    # side of the gap is carried on where the person is, flagged and less confident; the middle
    # stays open, and a gap short enough to fill is filled, not carried
    from videomocap.rotations import axis_angle_to_matrix

    K = np.array([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]])
    i = np.arange(80)
    angle = np.where((i >= 20) & (i <= 60), np.radians(5.0) * np.sin(np.pi * (i - 20) / 40), 0.0)
    R = axis_angle_to_matrix(angle[:, None] * [0.0, 1.0, 0.0])  # reference camera <- camera f
    body = np.array([[-0.3, -0.9, 4.0], [0.3, -0.9, 4.0], [0.3, 0.9, 4.0], [-0.3, 0.9, 4.0]])
    walk = np.zeros((80, 1, 3))
    walk[:, 0, 0] = -1.0 + 0.04 * i  # 1.2 m/s across the picture
    cam = np.einsum("fji,fpj->fpi", R, body[None] + walk)
    px = cam[..., :2] / cam[..., 2:] * 500.0 + [320, 240]
    truth = np.concatenate([px.min(1), px.max(1)], axis=1)
    seen = [k for k in i if not 30 <= k < 60]
    view = K @ R @ np.linalg.inv(K)
    frames = [_frame(k, [truth[k]]) for k in seen]
    (tr,) = track_people(frames, 30.0, fill_seconds=0.5, carry_seconds=0.2, view=view)
    carried = np.r_[30:36, 54:60]
    assert np.array_equal(tr.frame_ids, np.r_[0:36, 54:80])
    assert np.array_equal(tr.frame_ids[tr.filled], carried)
    assert np.abs(tr.boxes - truth[tr.frame_ids]).max() < 1.0
    assert np.all(tr.keypoints2d[tr.filled, :, 2] == 0.5) and np.all(tr.scores[tr.filled] == 0.5)
    (flat,) = track_people(frames, 30.0, fill_seconds=0.5, carry_seconds=0.2)  # in the picture
    assert np.abs(flat.boxes - truth[flat.frame_ids]).max() > 5.0
    # never more than half the gap from each side; a gap within fill_seconds is filled instead
    short = [_frame(k, [truth[k]]) for k in i if not 30 <= k < 45]  # 15 frames: 0.5 s
    (tr,) = track_people(short, 30.0, fill_seconds=0.5, carry_seconds=0.2, view=view)
    assert np.array_equal(tr.frame_ids, i) and np.array_equal(np.flatnonzero(tr.filled),
                                                              np.r_[30:45])
    (tr,) = track_people(short, 30.0, fill_seconds=0.2, carry_seconds=0.5, view=view)
    assert np.array_equal(tr.frame_ids, np.r_[0:37, 38:80])  # 7 frames from each side
    assert np.abs(tr.boxes - truth[tr.frame_ids]).max() < 1.0
