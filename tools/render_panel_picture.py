"""Draw the "Capture from Video" sidebar panel into a PNG for the README, without a screen.

Blender as a Python module (``bpy``) has no windows, so its interface cannot be screenshotted
headless. Instead this runs the panel's own ``draw()`` (``addon/panels.py``) against a recording
layout and paints what it recorded (labels, values, buttons, progress bar) in Blender's default
dark theme colours with Pillow. Layout, texts and values are the panel's; the pixels are this
script's approximation of Blender's widgets, not Blender's drawing.

    python tools/render_panel_picture.py -o docs/images/extension_panel.png
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]


class Recorder:
    """Stands in for ``bpy.types.UILayout``: records widgets in drawing order."""

    def __init__(self, out, depth=0, enabled=True):
        self._out, self._depth = out, depth
        self.enabled = enabled
        self.scale_y = 1.0
        self.alignment = "EXPAND"

    def _child(self):
        return Recorder(self._out, self._depth, self.enabled)

    def column(self, align=False):
        return _Sub(self)

    def row(self, align=False):
        return _Sub(self)

    def box(self):
        self._out.append(("box", self._depth))
        return _Sub(self, depth=self._depth + 1)

    def separator(self, factor=1.0):
        self._out.append(("sep", self._depth))

    def label(self, text="", icon="NONE"):
        self._out.append(("label", self._depth, text, icon, self._enabled()))

    def prop(self, data, name, text=None):
        self._out.append(("prop", self._depth, data, name, self._enabled()))

    def operator(self, idname, text="", icon="NONE"):
        self._out.append(("op", self._depth, text, icon, getattr(self, "scale_y", 1.0)))
        return SimpleNamespace()

    def progress(self, factor=0.0, type="BAR", text=""):
        self._out.append(("progress", self._depth, factor, text))

    def _enabled(self):
        return self.enabled


class _Sub(Recorder):
    def __init__(self, parent, depth=None):
        super().__init__(parent._out, parent._depth if depth is None else depth, parent.enabled)
        self._parent = parent

    def _enabled(self):
        return self.enabled and self._parent._enabled()


def _defs(cls):
    """Property definitions (name, items, ...) of a PropertyGroup's annotations."""
    namespace = vars(sys.modules[cls.__module__])
    out = {}
    for k, v in cls.__annotations__.items():
        if isinstance(v, str):  # postponed annotations (from __future__ import annotations)
            v = eval(v, namespace)
        out[k] = (v.function.__name__, v.keywords)
    return out


BG, PANEL, HEADER, TEXT, DIM = (48, 48, 48), (61, 61, 61), (66, 66, 66), (230, 230, 230), \
    (140, 140, 140)
FIELD, CHECK_ON, BUTTON, BAR, BOX = (84, 84, 84), (71, 114, 179), (84, 84, 84), (71, 114, 179), \
    (54, 54, 54)


def paint(items, defs, settings, title, width=370):
    from PIL import Image, ImageDraw, ImageFont

    fonts = "/usr/share/fonts/truetype/dejavu/"
    try:
        font = ImageFont.truetype(fonts + "DejaVuSans.ttf", 13)
        bold = ImageFont.truetype(fonts + "DejaVuSans-Bold.ttf", 13)
    except OSError:
        font = bold = ImageFont.load_default()
    img = Image.new("RGB", (width, 40 + 32 * len(items)), BG)
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((6, 6, width - 6, img.height - 6), 6, fill=PANEL)
    d.rounded_rectangle((6, 6, width - 6, 34), 6, fill=HEADER)
    d.text((16, 12), "v  " + title, font=bold, fill=TEXT)
    y = 44
    x0, x1 = 16, width - 16
    for item in items:
        kind, depth = item[0], item[1]
        x = x0 + 8 * depth
        if kind == "sep":
            y += 8
            continue
        if kind == "box":
            d.rounded_rectangle((x - 4, y - 2, x1 + 4, y + 26 * 2), 4, fill=BOX)
            continue
        if kind == "label":
            _, _, text, icon, enabled = item
            mark = {"ERROR": "(!) ", "CHECKMARK": "(ok) ", "INFO": "(i) "}.get(icon, "")
            d.text((x, y + 4), mark + text, font=font, fill=TEXT if enabled else DIM)
            y += 24
        elif kind == "prop":
            _, _, data, name, enabled = item
            func, kw = defs[name]
            label, value = kw.get("name", name), getattr(data, name)
            col = TEXT if enabled else DIM
            if func == "BoolProperty":
                d.rounded_rectangle((x, y + 4, x + 16, y + 20), 3,
                                    fill=CHECK_ON if value else FIELD)
                if value:
                    d.line((x + 4, y + 12, x + 7, y + 16, x + 13, y + 7), fill=TEXT, width=2)
                d.text((x + 24, y + 4), label, font=font, fill=col)
            else:
                mid = x + 130
                d.text((x, y + 5), label, font=font, fill=col)
                d.rounded_rectangle((mid, y + 2, x1, y + 24), 4, fill=FIELD)
                if func == "EnumProperty":
                    shown = next(i[1] for i in kw["items"] if i[0] == value) + "  v"
                else:
                    shown = str(value)
                d.text((mid + 8, y + 5), shown, font=font, fill=col)
            y += 28
        elif kind == "op":
            _, _, text, icon, scale = item
            h = int(24 * scale)
            d.rounded_rectangle((x, y + 2, x1, y + 2 + h), 4, fill=BUTTON)
            tw = d.textlength(text, font=font)
            d.text(((x + x1 - tw) / 2, y + 2 + (h - 14) / 2), text, font=font, fill=TEXT)
            y += h + 6
        elif kind == "progress":
            _, _, factor, text = item
            d.rounded_rectangle((x, y + 2, x1, y + 26), 4, fill=FIELD)
            d.rounded_rectangle((x, y + 2, x + max(8, int((x1 - x) * factor)), y + 26), 4,
                                fill=BAR)
            tw = d.textlength(text, font=font)
            d.text(((x + x1 - tw) / 2, y + 7), text, font=font, fill=TEXT)
            y += 32
    return img.crop((0, 0, width, y + 14))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", default=str(REPO / "docs" / "images" / "extension_panel.png"))
    args = ap.parse_args(argv)
    home = tempfile.mkdtemp(prefix="videomocap-panel-")
    os.environ.update(HOME=home, XDG_CONFIG_HOME=home, XDG_CACHE_HOME=home)
    sys.path.insert(0, str(REPO))
    from PIL import Image

    from videomocap_addon import operators, panels
    from videomocap_addon.core.progress import ProgressTracker

    defs = _defs(panels.VideoMocapSettings)
    settings = SimpleNamespace(**{k: kw.get("default") for k, (_, kw) in defs.items()})
    settings.max_people = 2
    context = SimpleNamespace(scene=SimpleNamespace(videomocap=settings))
    panel = SimpleNamespace()

    pictures = []
    # idle, after a capture
    operators.Runtime.job = None
    operators.Runtime.last_result = "Captured 1 person from sample.mp4 in 28 s."
    panel.layout = Recorder(items := [])
    panels.VIEW3D_PT_videomocap.draw(panel, context)
    pictures.append(paint(items, defs, settings, "Capture from Video"))
    # running: a real ProgressTracker fed the events of a 270-frame capture at frame 120
    clock = SimpleNamespace(t=0.0)
    tracker = ProgressTracker(lambda: clock.t)
    clock.t = 6.0
    tracker.update({"stage": "detect", "done": 0, "total": 270})
    clock.t = 18.0
    tracker.update({"stage": "detect", "done": 120, "total": 270})
    operators.Runtime.job = SimpleNamespace(state="running", fraction=tracker.fraction,
                                            text=tracker.text)
    operators.Runtime.last_result = ""
    panel.layout = Recorder(items := [])
    panels.VIEW3D_PT_videomocap.draw(panel, context)
    pictures.append(paint(items, defs, settings, "Capture from Video"))
    operators.Runtime.job = None

    w = sum(p.width for p in pictures) + 10 * (len(pictures) + 1)
    h = max(p.height for p in pictures) + 20
    sheet = Image.new("RGB", (w, h), (35, 35, 35))
    x = 10
    for p in pictures:
        sheet.paste(p, (x, 10))
        x += p.width + 10
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.output, optimize=True)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
