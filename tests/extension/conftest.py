"""Extension tier: the zip built with Blender's own tool, installed into the ``bpy`` module.

Every Blender-side check runs in a fresh Python (``blender_side.py``) with a private HOME, so the
installed extension, its preferences and any backend process belong to that run alone. The
backend runs with ``$VIDEOMOCAP_PYTHON`` (default: this repository's ``.venv``), as an animator's
Blender runs the Python the preferences point to.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BLENDER_SIDE = Path(__file__).with_name("blender_side.py")

if importlib.util.find_spec("bpy") is None:
    pytest.skip("the bpy module is not installed", allow_module_level=True)


def backend_python() -> str:
    env = os.environ.get("VIDEOMOCAP_PYTHON")
    if env:
        return env
    venv = REPO / ".venv" / "bin" / "python"
    return str(venv) if venv.is_file() else sys.executable


def blender_env(home: Path, **extra) -> dict:
    env = os.environ.copy()
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_CACHE_HOME=str(home / ".cache"), VIDEOMOCAP_PYTHON=backend_python())
    env.update(extra)
    return env


def run_blender(command: str, args: dict, home: Path, timeout: float = 300, **env) -> dict:
    """Run one ``blender_side.py`` command; returns its RESULT (stdout/stderr on failure)."""
    proc = subprocess.run([sys.executable, str(BLENDER_SIDE), command, json.dumps(args)],
                          capture_output=True, text=True, timeout=timeout,
                          env=blender_env(home, **env))
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, (proc.returncode, proc.stdout[-3000:],
                                            proc.stderr[-3000:])
    result = json.loads(lines[-1][len("RESULT "):])
    result["_stdout"] = proc.stdout
    result["_stderr"] = proc.stderr
    return result


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory) -> Path:
    """``tools/build_extension.py`` (stage + blender_ext build + validate) into a temporary dist."""
    root = tmp_path_factory.mktemp("extension")
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "build_extension.py"),
                           "--output-dir", str(root / "dist"), "--staging",
                           str(root / "staging")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    zips = list((root / "dist").glob("videomocap-*.zip"))
    assert len(zips) == 1, proc.stdout
    return zips[0]
