"""Write whole curves of keyframes at once, on Blender 4.2 (``action.fcurves``) and 4.4+/5.0
(layered actions: slots, layers, strips, channelbags).

Keys are written with ``keyframe_points.add`` + ``foreach_set``: one call per curve instead of one
Python call per key (a ``keyframe_insert`` loop is thousands of times slower on long captures).
"""

from __future__ import annotations

import bpy
import numpy as np

_INTERPOLATION = {"CONSTANT": 0, "LINEAR": 1, "BEZIER": 2}  # enum values of keyframe interpolation


class CurveWriter:
    """Creates an action for one ID and adds fully keyed F-curves to it."""

    def __init__(self, owner: bpy.types.ID, action_name: str):
        self.action = bpy.data.actions.new(action_name)
        owner.animation_data_create()
        if hasattr(self.action, "slots"):  # Blender 4.4+: layered actions
            slot = self.action.slots.new(id_type=owner.id_type, name=owner.name)
            layer = self.action.layers.new("Layer")
            strip = layer.strips.new(type="KEYFRAME")
            self._bag = strip.channelbag(slot, ensure=True)
            self._fcurves = self._bag.fcurves
            owner.animation_data.action = self.action
            owner.animation_data.action_slot = slot
        else:  # Blender 4.2 LTS
            self._bag = None
            self._fcurves = self.action.fcurves
            owner.animation_data.action = self.action
        self._groups: dict[str, object] = {}

    def _group(self, name: str):
        if name not in self._groups:
            groups = self._bag.groups if self._bag is not None else self.action.groups
            self._groups[name] = groups.new(name)
        return self._groups[name]

    def add(self, data_path: str, frames: np.ndarray, values: np.ndarray,
            group: str | None = None, interpolation: str = "LINEAR") -> None:
        """Key ``values`` (N, C) on ``frames`` (N,) as C curves ``data_path[0..C-1]``."""
        values = np.asarray(values, dtype=np.float32).reshape(len(frames), -1)
        frames = np.asarray(frames, dtype=np.float32)
        co = np.empty((len(frames), 2), dtype=np.float32)
        co[:, 0] = frames
        interp = np.full(len(frames), _INTERPOLATION[interpolation], dtype=np.int32)
        for i in range(values.shape[1]):
            fc = self._fcurves.new(data_path, index=i)
            if group is not None:
                fc.group = self._group(group)
            co[:, 1] = values[:, i]
            fc.keyframe_points.add(len(frames))
            fc.keyframe_points.foreach_set("co", co.ravel())
            fc.keyframe_points.foreach_set("interpolation", interp)
            fc.update()
