"""bpy-free logic of the extension (testable with plain pytest)."""
