import numpy as np

from videomocap.detect import FrameDetections
from videomocap.track.track_people import track_people


def _frame(i, boxes):
    p = len(boxes)
    kp = np.zeros((p, 33, 3), np.float32)
    for k, b in enumerate(boxes):
        kp[k, :, 0] = 0.5 * (b[0] + b[2]) + k * 0.001
        kp[k, :, 2] = 1.0
    return FrameDetections(i, kp, kp.copy(), np.array(boxes, np.float32).reshape(-1, 4),
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


def test_short_tracks_dropped_and_max_people():
    frames = [_frame(i, [[10, 10, 50, 100]] + ([[300, 10, 340, 100]] if i < 5 else [])
                     + [[600, 10, 640, 100]]) for i in range(40)]
    assert len(track_people(frames, fps=30.0)) == 2  # the 5-frame blip is dropped
    assert len(track_people(frames, fps=30.0, max_people=1)) == 1
