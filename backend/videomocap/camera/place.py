"""People and cameras in one gravity-aligned world when the camera moves.

1. Every body goes from its frame's camera into the first frame's camera through the camera's
   rotation; gravity and the ground come from the feet there (``world.ground.fit_world_frame``),
   as for a static camera.
2. That ground plane (seen from the reference camera, at the people's metric scale) then fixes the
   camera's translation (``estimate_motion.add_ground_translation``); when it can be had, the
   bodies are placed again with it and the ground fitted once more.
"""

from __future__ import annotations

import numpy as np

from .estimate_motion import (CameraMotion, CameraMotionEstimator, add_ground_translation,
                              fit_in_reference)


def place_people(fits: list, frames: list[np.ndarray], raw: CameraMotion,
                 tracker: CameraMotionEstimator | None, fps: float,
                 used: CameraMotion | None = None):
    """fits: camera-frame fits; frames: their frame indices into ``raw`` (the unsmoothed estimate).
    Returns (fits in the reference camera, world frame, the camera motion used). ``used``: the
    camera motion an earlier call returned for these people. Where that call found no translation
    it is taken as it is (the bodies refitted since do not change the background's verdict, and
    the search costs about 1 ms a frame); where it found one, it is estimated again from the new
    bodies' ground plane, and kept if that fails."""
    from ..world.ground import fit_world_frame

    if used is not None and used.translation == "none":
        placed = [fit_in_reference(f, used, idx) for f, idx in zip(fits, frames)]
        return placed, fit_world_frame(placed, fps), used
    camera = raw.smoothed(fps)
    placed = [fit_in_reference(f, camera, idx) for f, idx in zip(fits, frames)]
    world = fit_world_frame(placed, fps)
    if camera.static or tracker is None:
        return placed, world, camera
    # each frame against the one 0.1 s before it (a few frames of parallax, the floor in view)
    moved = add_ground_translation(tracker, raw, up=world.R[2], height=float(world.t[2]),
                                   lag=max(1, int(round(0.1 * fps))))
    if moved.translation == "none":
        if used is not None:
            # the earlier call's translation stands: the refitted bodies' floor can sit lower
            # and leave too few background points on it (with the true lens on the dolly scene
            # the camera height came out 0.85 m against 1.06 the first time, the camera then
            # stood still and the hopper's 1.2 m path shrank to 0.3: RTE 3.4 -> 15 %)
            placed = [fit_in_reference(f, used, idx) for f, idx in zip(fits, frames)]
            return placed, fit_world_frame(placed, fps), used
        return placed, world, camera
    camera = moved.smoothed(fps)
    placed = [fit_in_reference(f, camera, idx) for f, idx in zip(fits, frames)]
    return placed, fit_world_frame(placed, fps), camera
