"""bpy writes user config/cache under HOME: point it at a temporary folder before bpy loads."""
import os
import sys
import tempfile
from pathlib import Path

_home = tempfile.mkdtemp(prefix="videomocap-bpy-home-")
for var, sub in (("HOME", ""), ("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache")):
    os.environ[var] = os.path.join(_home, sub) if sub else _home

try:  # until the backend is installed as a package
    import videomocap  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "backend"))
