"""Progress lines of ``videomocap capture --progress jsonl``: parsing, fraction, ETA, errors."""

from __future__ import annotations

import json

import pytest

from videomocap_addon.core import progress as pg


def test_parse_line_accepts_events_and_ignores_everything_else():
    assert pg.parse_line('{"stage": "detect", "done": 3, "total": 45}\n') == \
        {"stage": "detect", "done": 3, "total": 45}
    assert pg.parse_line(b'{"stage": "write", "done": 1, "total": 1}') == \
        {"stage": "write", "done": 1, "total": 1}
    for junk in ("", "Captured 1 person", "{not json", '{"stage": "dance", "done": 1}',
                 '{"stage": "fit", "done": "x", "total": 1}', "[1, 2]", "null"):
        assert pg.parse_line(junk) is None, junk


def test_weights_cover_the_backend_stages():
    assert set(pg.WEIGHTS) == set(pg.STAGES) == set(pg.LABELS)
    assert sum(pg.WEIGHTS.values()) == pytest.approx(1.0)


def test_fraction_grows_through_the_stages_and_ends_at_one():
    events = [{"stage": "detect", "done": d, "total": 10} for d in range(11)]
    events += [{"stage": s, "done": d, "total": 1} for s in pg.STAGES[1:] for d in (0, 1)]
    fractions = [pg.overall_fraction(e) for e in events]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0 and fractions[-1] == pytest.approx(1.0)
    assert pg.overall_fraction({"stage": "detect", "done": 5, "total": 10}) == \
        pytest.approx(pg.WEIGHTS["detect"] / 2)
    assert pg.overall_fraction({"stage": "detect", "done": 5, "total": 0}) == 0.0


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_eta_extrapolates_the_rate_after_start_up():
    clock = Clock()
    tr = pg.ProgressTracker(clock)
    assert tr.eta() is None and tr.text().startswith("Starting the backend")
    clock.t += 8.0  # importing torch and mediapipe: not progress
    tr.update({"stage": "detect", "done": 0, "total": 100})
    assert tr.eta() is None
    clock.t += 10.0
    tr.update({"stage": "detect", "done": 50, "total": 100})  # 0.39 of the run in 10 s
    assert tr.eta() == pytest.approx((1 - 0.39) / (0.39 / 10.0))
    text = tr.text()
    assert text.startswith("Finding people 50/100 (39%)") and "s left" in text
    tr.update({"stage": "detect", "done": 10, "total": 100})  # never goes backwards
    assert tr.fraction == pytest.approx(0.39)
    tr.update({"stage": "write", "done": 1, "total": 1})
    assert tr.fraction == pytest.approx(1.0) and tr.eta() == 0.0
    assert "left" not in tr.text()


def test_format_seconds():
    assert pg.format_seconds(4.4) == "4 s"
    assert pg.format_seconds(75) == "1 min 15 s"
    assert pg.format_seconds(3 * 3600 + 120) == "3 h 02 min"


def test_error_sentence_prefers_the_backends_own_line():
    stderr = ("[ WARN:0@0.04] global cap.cpp:215 open VIDEOIO(FFMPEG): ...\n"
              "videomocap: 'a.mp4' is not a video file OpenCV can decode.\n")
    assert pg.error_sentence(stderr, 1) == "'a.mp4' is not a video file OpenCV can decode."
    assert pg.error_sentence("Traceback ...\nMemoryError\n", 1) == \
        "The backend failed: MemoryError"
    assert pg.error_sentence("", -9) == "The backend was stopped by signal 9."
    assert pg.error_sentence("", 3) == "The backend stopped with exit status 3."


def test_the_cli_writes_what_the_parser_reads():
    """The event format of cli.py's jsonl printer round-trips through parse_line."""
    line = json.dumps({"stage": "fit", "done": 0, "total": 1})
    assert pg.parse_line(line) == {"stage": "fit", "done": 0, "total": 1}
