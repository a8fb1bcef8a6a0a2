"""The issues' targets checked on a bench report (bench/targets.py)."""

from videomocap.bench.run import mean_row, suite_means
from videomocap.bench.targets import check_targets, render_targets


def _scene(name, camera, people=1, **values):
    row = {"scene": name, "camera": camera, "people_true": people, "people_found": people,
           "frames": 100, "fps": 20.0, "IDF1": 1.0, "IDSW": 0, "MOTA": 1.0, "MPJPE": 60.0,
           "PA-MPJPE": 40.0, "2D %": 4.0, "Accel": 4.0, "W-MPJPE100": 200.0,
           "WA-MPJPE100": 90.0, "RTE%": 1.5, "Jitter": 5.0, "FS": 1.5, "FS locked": 0.8,
           "knee pop": 10.0, "contact agree %": 90.0, "PA depth %": 50.0, "motion kept %": 80.0,
           "depth err %": 5.0, "focal ratio": 1.0,
           "slide": {"file": {"agree": [100.0, 100], "miss": [300.0, 10]},
                     "locked": {"agree": [50.0, 100], "miss": [300.0, 10]}}}
    row.update(values)
    return row


def _report(scenes, fit_ms=(2.0, 0.1, 2.0)):
    return {"scenes": scenes, "mean": mean_row(scenes), **suite_means(scenes),
            "speed": {"capture": {"ms_per_frame": {"decode+detect": 30.0, "fit+smooth": fit_ms[0],
                                                   "world": fit_ms[1], "refit": fit_ms[2]}},
                      "blender_import": {"full_build_seconds": 0.9}}}


def test_targets_met_say_nothing_and_misses_say_what_limits_them_with_the_runs_numbers():
    scenes = [_scene("walk", "static"), _scene("pan", "pan"),
              _scene("cross", "static", people=3, fps=16.0, **{"pair dist err %": 5.0})]
    rows = check_targets(_report(scenes))
    assert all(r["met"] and r["why"] == "" for r in rows), [r for r in rows if not r["met"]]
    # every target on the means is checked for the static and the moving camera apart
    assert sum(r["target"].startswith("PA-MPJPE") for r in rows) == 2

    scenes[1].update({"PA-MPJPE": 80.0, "PA depth %": 61.0, "FS locked": 4.0})
    scenes[2].update({"IDF1": 0.9, "fps": 12.0, "pair dist err %": 70.0, "focal ratio": 1.6,
                      "depth err %": 55.0})
    rows = check_targets(_report(scenes, fit_ms=(3.0, 0.2, 2.5)))
    missed = {(r["target"].split(" ")[0], r["suite"]): r for r in rows if not r["met"]}
    assert set(missed) == {("PA-MPJPE", "moving camera"), ("IDF1", "every scene"),
                           ("three", ""), ("distance", "static camera"),
                           ("foot", "moving camera"), ("fit", "")}
    assert "61 %" in missed[("PA-MPJPE", "moving camera")]["why"]
    assert "1.60 times" in missed[("distance", "static camera")]["why"]
    assert "3.0" in missed[("fit", "")]["why"] and "2.5" in missed[("fit", "")]["why"]
    # pooled sliding: 300 mm over 10 of 110 steps is 75 % of 400 mm
    why = missed[("foot", "moving camera")]["why"]
    assert "0.5 mm" in why and "30.0 mm" in why and "86 %" in why and "9 %" in why
    table = render_targets(rows)
    assert table.count("**no**") == len(missed) and len(table.splitlines()) == len(rows) + 2

