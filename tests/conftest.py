"""Shared paths and the one sample capture several tiers check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
SAMPLE = REPO / "assets" / "sample.mp4"
SAMPLE_GT = REPO / "assets" / "sample.gt.npz"
VTEST = DATA / "video" / "vtest.avi"


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the real console entry point in a subprocess (as a user would)."""
    return subprocess.run([sys.executable, "-m", "videomocap.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


@pytest.fixture(scope="session")
def sample_capture(tmp_path_factory) -> Path:
    """The shipped sample video captured once by the CLI: the motion file's path."""
    if not SAMPLE.is_file():
        pytest.skip(f"sample video missing: {SAMPLE}")
    out = tmp_path_factory.mktemp("sample") / "sample.mocap.npz"
    proc = run_cli("capture", SAMPLE, "-o", out, "--progress", "none")
    assert proc.returncode == 0, proc.stderr
    return out
