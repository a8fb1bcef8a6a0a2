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

    def as_dict(self) -> dict:
        return asdict(self)


SUITES: dict[str, tuple[SceneSpec, ...]] = {
    # one short scene: checks the machinery end to end in about a minute once rendered
    "quick": (
        SceneSpec("walk-static-short", "animdraw/old_cmu_1006_walking.bvh", "static", 0, 2.5, 3.0),
    ),
    "default": (
        SceneSpec("walk-static", "animdraw/old_cmu_1006_walking.bvh", "static", 0, 2.5, 8.0),
        SceneSpec("walk-pan", "cmu/131_01.bvh", "pan", 1, 0.0, 6.0),
        SceneSpec("run-handheld", "animdraw/old_cmu_1006_running.bvh", "handheld", 2, 0.0, 5.0),
        SceneSpec("jump-static", "cmu/01_01.bvh", "static", 3, 0.0, 6.0),
        SceneSpec("hop-dolly", "cmu/131_03.bvh", "dolly", 4, 0.0, 6.0),
        SceneSpec("skip-static", "animdraw/old_cmu_1006_skipping.bvh", "static", 5, 0.0, 6.0),
        SceneSpec("cartwheel-static", "animdraw/old_cmu_new3_cartwheel_clean.bvh", "static", 6, 0.0, 5.0),
        SceneSpec("circle-walk-static", "animdraw/old_sst_walk_circle.bvh", "static", 7, 0.0, 8.0),
        SceneSpec("speed-change-pan", "animdraw/old_sst_walk_speed_variation.bvh", "pan", 8, 0.0, 8.0),
        SceneSpec("jumping-jacks-static", "animdraw/cmu1_jumping_jacks.bvh", "static", 9, 0.0, 5.0),
    ),
}
