"""The 3D viewport sidebar tab "Mocap", its settings, and the status-bar progress."""

from __future__ import annotations

import bpy

from bpy.props import EnumProperty

from .operators import (PRESET_ITEMS, CaptureOptions, Runtime, VIDEOMOCAP_OT_cancel_capture,
                        VIDEOMOCAP_OT_capture, VIDEOMOCAP_OT_import_motion,
                        VIDEOMOCAP_OT_retarget)


class VideoMocapSettings(CaptureOptions, bpy.types.PropertyGroup):
    """The panel's options; the capture operator takes every option it is not given from here."""

    retarget_preset: EnumProperty(name="Bone Map", items=PRESET_ITEMS, default="auto",
                                  description="How the character's bones map to the capture's")


def _wrapped(layout, text: str, icon: str = "NONE", width: int = 38) -> None:
    words, line, first = text.split(), "", True
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            layout.label(text=line, icon=icon if first else "BLANK1")
            line, first = word, False
        else:
            line = f"{line} {word}".strip()
    if line:
        layout.label(text=line, icon=icon if first else "BLANK1")


class VIEW3D_PT_videomocap(bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Mocap"
    bl_label = "Capture from Video"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.videomocap
        running = Runtime.running()

        col = layout.column()
        col.enabled = not running
        col.prop(settings, "max_people")
        col.prop(settings, "use_frame_range")
        sub = col.column(align=True)
        sub.enabled = settings.use_frame_range
        sub.prop(settings, "frame_start")
        sub.prop(settings, "frame_end")
        col.prop(settings, "foot_lock")
        col.prop(settings, "focal_mm")
        col.prop(settings, "model")
        col.prop(settings, "device")

        layout.separator()
        if running:
            job = Runtime.job
            layout.progress(factor=job.fraction, type="BAR", text=job.text())
            layout.operator(VIDEOMOCAP_OT_cancel_capture.bl_idname, text="Cancel", icon="CANCEL")
        else:
            row = layout.row()
            row.scale_y = 1.6
            row.operator(VIDEOMOCAP_OT_capture.bl_idname, text="Capture from Video",
                         icon="FILE_MOVIE")
            layout.operator(VIDEOMOCAP_OT_import_motion.bl_idname, text="Import Motion File",
                            icon="IMPORT")
            layout.separator()
            col = layout.column(align=True)
            col.label(text="Retarget to a character:")
            col.prop(settings, "retarget_preset", text="")
            col.operator(VIDEOMOCAP_OT_retarget.bl_idname, icon="ARMATURE_DATA")
        if Runtime.last_error:
            _wrapped(layout.box().column(align=True), Runtime.last_error, icon="ERROR")
        elif Runtime.last_result and not running:
            _wrapped(layout.column(align=True), Runtime.last_result, icon="CHECKMARK")


def draw_status(self, context):
    """Status bar: the running capture's bar, stage and ETA."""
    if Runtime.running():
        job = Runtime.job
        row = self.layout.row(align=True)
        row.label(text="Video Mocap", icon="FILE_MOVIE")
        row.progress(factor=job.fraction, type="BAR", text=job.text())


classes = (VideoMocapSettings, VIEW3D_PT_videomocap)
