"""The bpy-free process layer: non-blocking runs, cancel of a whole process group, env setup."""

from __future__ import annotations

import os
import sys
import time

import pytest

from videomocap_addon import backend_process as bp

FAKE_BACKEND = """
import json, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(child.pid, file=sys.stderr, flush=True)
for i in range(1000):
    print(json.dumps({"stage": "detect", "done": i, "total": 1000}), flush=True)
    time.sleep(0.02)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_capture_command_maps_the_options():
    cmd = bp.capture_command("py", "v.mp4", "o.npz", max_people=2, start=5, end=50,
                             device="cuda", model="default")
    assert cmd[:5] == ["py", "-m", "videomocap.cli", "capture", "v.mp4"]
    joined = " ".join(cmd)
    for part in ("-o o.npz", "--progress jsonl", "--device cuda", "--max-people 2",
                 "--start 5", "--end 50", "--model default"):
        assert part in joined
    assert "--max-people" not in bp.capture_command("py", "v", "o", max_people=0)
    assert "--focal-mm 26" in " ".join(bp.capture_command("py", "v", "o", focal_mm=26.0))
    assert "--focal-mm" not in bp.capture_command("py", "v", "o", focal_mm=0.0)


def test_find_backend_python_order(tmp_path, monkeypatch):
    monkeypatch.delenv(bp.PYTHON_ENV_VAR, raising=False)
    with pytest.raises(bp.BackendError, match="Create Backend Environment"):
        bp.find_backend_python("", tmp_path / "env")
    env_py = bp.env_python(tmp_path / "env")
    env_py.parent.mkdir(parents=True)
    env_py.write_text("")
    assert bp.find_backend_python("", tmp_path / "env") == str(env_py)
    monkeypatch.setenv(bp.PYTHON_ENV_VAR, sys.executable)
    assert bp.find_backend_python("", tmp_path / "env") == sys.executable
    assert bp.find_backend_python(str(tmp_path / "env"), None) == str(env_py)  # a venv folder
    with pytest.raises(bp.BackendError, match="does not exist"):
        bp.find_backend_python(str(tmp_path / "nope" / "python"), None)


def test_cancel_kills_the_process_group_and_removes_the_output(tmp_path):
    script = tmp_path / "fake_backend.py"
    script.write_text(FAKE_BACKEND)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    job = bp.CaptureJob(sys.executable, str(video))
    job.process.kill()  # replace the real command by the fake backend, same machinery
    job.process = bp.LineProcess([sys.executable, str(script)])
    job.state = "running"
    t0 = time.monotonic()
    while job.tracker.done < 20:
        assert job.poll() == "running"
        assert time.monotonic() - t0 < 30
        time.sleep(0.02)
    grandchild = int(job.process.stderr_lines[0])
    job.output.write_bytes(b"partial")
    job.cancel()
    assert job.state == "cancelled"
    assert not _alive(job.pid) and not _alive(grandchild)
    assert not job.folder.exists()


def test_poll_never_blocks_and_reports_failure(tmp_path):
    proc = bp.LineProcess([sys.executable, "-c", "import sys, time; time.sleep(1.5); "
                           "print('videomocap: The video is too short.', file=sys.stderr); "
                           "sys.exit(1)"])
    t0 = time.monotonic()
    assert proc.poll() is None and time.monotonic() - t0 < 0.2
    while proc.poll() is None:
        proc.drain()
        time.sleep(0.05)
    proc.drain()
    assert proc.stderr_lines == ["videomocap: The video is too short."]


def test_env_steps_choose_the_torch_build(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "pyproject.toml").write_text('dependencies = ["numpy<2", "torch==2.13.0"]\n')
    cpu = bp.env_setup_steps("/usr/bin/python3", tmp_path / "env", src, "cpu", "linux")
    torch_step = " ".join(cpu[1][1])
    assert "torch==2.13.0" in torch_step and bp.TORCH_CPU_INDEX in torch_step
    cuda = bp.env_setup_steps("/usr/bin/python3", tmp_path / "env", src, "cuda", "linux")
    assert "--index-url" not in cuda[1][1]  # PyPI's Linux torch is the CUDA build
    assert cpu[0][1][1:3] == ["-m", "venv"] and str(src) in cpu[2][1]


def test_env_setup_offline_gives_a_clear_message(tmp_path):
    """A real venv + pip run with every connection refused (proxy on a closed port)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "pyproject.toml").write_text('dependencies = ["torch==2.13.0"]\n')
    env = dict(os.environ, http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9",
               PIP_CONFIG_FILE=os.devnull, PIP_FIND_LINKS="", PIP_NO_INDEX="")
    env.pop("PIP_FIND_LINKS")
    env.pop("PIP_NO_INDEX")
    steps = bp.env_setup_steps(sys.executable, tmp_path / "env", src, "cuda", sys.platform)
    steps[0] = (steps[0][0], steps[0][1] + ["--without-pip", "--system-site-packages"])
    setup = bp.EnvSetup(steps, env=env, env_dir=tmp_path / "env")
    t0 = time.monotonic()
    while setup.poll() == "running":
        assert time.monotonic() - t0 < 120
        time.sleep(0.1)
    assert setup.state == "failed" and setup.step == 1, setup.log[-20:]
    assert "offline" in setup.error, (setup.error, setup.log[-20:])
