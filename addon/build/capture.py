"""Everything one capture becomes in Blender, as the button and ``videomocap blend`` both build it:
the collection with the video camera and one armature per person (``scene.build_capture``), the
contact-driven foot lock on each armature, and a body proxy per person that hides when they do."""

from __future__ import annotations

from .armature import key_visibility
from .body_proxy import create_body_proxy
from .scene import build_capture

#: Body colours, one per person in turn.
PALETTE = [(0.85, 0.45, 0.15, 1), (0.2, 0.55, 0.85, 1), (0.35, 0.75, 0.3, 1),
           (0.8, 0.3, 0.6, 1), (0.9, 0.8, 0.2, 1), (0.5, 0.4, 0.8, 1)]


def build_full_capture(motion, name: str, scene, foot_lock: bool = True) -> dict:
    """Build ``motion`` into ``scene``; returns build_capture's dict plus "bodies"."""
    built = build_capture(motion, name, scene)
    if foot_lock:
        from .foot_lock import apply_foot_lock

        for arm, person in zip(built["armatures"], motion.people):
            apply_foot_lock(arm, person, float(motion.fps))
    bodies = []
    for i, (arm, person) in enumerate(zip(built["armatures"], motion.people)):
        body = create_body_proxy(arm, built["collection"], PALETTE[i % len(PALETTE)])
        key_visibility(body, person.frame_ids, motion.fps)
        bodies.append(body)
    built["bodies"] = bodies
    built["foot_lock"] = bool(foot_lock)
    return built
