"""Benchmark suites as data: each scene names a mocap file, a camera preset, a seed and a clip.

Adding a scene is adding a line here; the renderer (``bench.scene``) needs no change. Mocap paths
are relative to the shared data folder (``shared/data/mocap`` beside the repository, or
``$VIDEOMOCAP_DATA/mocap``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SceneSpec:
    name: str
    mocap: str
    camera: str = "static"
    seed: int = 0
    start_seconds: float = 0.0
    seconds: float = 6.0
    people: int = 1
    more_mocap: tuple[str, ...] = ()  # motions of the 2nd, 3rd person (default: the first, offset)

    def as_dict(self) -> dict:
        return asdict(self)


#: Part of every render's cache key: bump it whenever bench/scene.py would render a scene differently.
GENERATOR_VERSION = 2
#: ... and this one too for scenes with several people (3: the layout search checks the whole clip,
#: so nobody walks half-hidden behind someone else for seconds).
GENERATOR_VERSION_MULTI = 4  # 4: no orange shirts (a bare-looking body MediaPipe misses)

SUITES: dict[str, tuple[SceneSpec, ...]] = {
    # one short scene: checks the machinery end to end in about two minutes from nothing
    "quick": (
        SceneSpec("walk-static-short", "animdraw/old_cmu_1006_walking.bvh", "static", 0, 2.5, 3.0),
    ),
    # about 59 s of video (1,770 frames): ~30 min to render on 2 cores, ~8 min to capture and score
    "default": (
        # from 0.05 s: the FBX's first frame is its T-pose (the body snapped from it into the walk
        # between video frames 0 and 1, a 0.67 m jump of the wrists in the ground truth)
        SceneSpec("walk-fbx-static", "cmu/07_01.fbx", "static", 1, 0.05, 2.6),
        SceneSpec("walk-turn-static", "animdraw/old_cmu_1006_walking.bvh", "static", 2, 8.0, 5.0),
        SceneSpec("run-handheld", "animdraw/old_cmu_1006_running.bvh", "handheld", 3, 2.0, 4.0),
        SceneSpec("jump-static", "animdraw/old_cmu_1006_jumping.bvh", "static", 4, 1.5, 4.0),
        SceneSpec("hop-dolly", "cmu/131_03.bvh", "dolly", 5, 1.0, 4.0),
        SceneSpec("skip-pan", "animdraw/old_cmu_1006_skipping.bvh", "pan", 6, 2.3, 4.0),
        SceneSpec("cartwheel-static", "animdraw/old_cmu_new3_cartwheel_clean.bvh", "static", 7, 0.0, 4.0),
        SceneSpec("circle-walk-static", "animdraw/old_sst_walk_circle.bvh", "static", 8, 1.0, 4.0),
        SceneSpec("speed-change-pan", "animdraw/old_sst_walk_speed_variation.bvh", "pan", 9, 1.0, 4.0),
        SceneSpec("jumping-jacks-static", "animdraw/cmu1_jumping_jacks.bvh", "static", 10, 0.3, 3.9),
        # several people: paths cross, one fully hides another for about a second
        # (the layout search makes paths cross and one person pass wholly behind another)
        SceneSpec("two-cross-static", "animdraw/old_cmu_1006_walking.bvh", "static", 11, 2.5, 6.0,
                  people=2),
        SceneSpec("three-cross-pan", "animdraw/old_cmu_1006_walking.bvh", "pan", 12, 0.0, 6.0,
                  people=3, more_mocap=("animdraw/old_sst_walk_speed_variation.bvh",)),
    ),
}
