"""bpy code that turns motion files into Blender data. Operators call into here."""
