"""The backend as a child process: capture runs and backend-environment setup (no bpy here).

Blender never imports the backend (PyTorch, MediaPipe, OpenCV): it runs ``python -m videomocap.cli
capture ... --progress jsonl`` with the backend's own Python and reads one JSON object per line.
Everything here is non-blocking: a process is started, two reader threads queue its lines, and the
caller polls (from a Blender timer or modal operator, or a loop in background mode).

Children start in their own process group (POSIX: a new session; Windows: a new process group), so
cancelling stops the backend and anything it started.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .core.progress import ProgressTracker, error_sentence, parse_line

#: Environment variable naming the backend's Python (development, tests, headless scripts).
PYTHON_ENV_VAR = "VIDEOMOCAP_PYTHON"
_WINDOWS = sys.platform == "win32"


class BackendError(RuntimeError):
    """A failure to show the user, in one sentence."""


# --------------------------------------------------------------------------------------------
# processes


class LineProcess:
    """A child process whose stdout and stderr lines are collected by threads, never blocking."""

    def __init__(self, cmd: list[str], env: dict | None = None, cwd: str | None = None):
        self.cmd = [str(c) for c in cmd]
        full_env = dict(os.environ if env is None else env)
        full_env.setdefault("PYTHONUNBUFFERED", "1")
        # Blender's own Python settings must not leak into another interpreter.
        for var in ("PYTHONHOME", "PYTHONPATH"):
            full_env.pop(var, None)
        kwargs = {}
        if _WINDOWS:
            kwargs["creationflags"] = (subprocess.CREATE_NEW_PROCESS_GROUP
                                       | getattr(subprocess, "CREATE_NO_WINDOW", 0))
        else:
            kwargs["start_new_session"] = True
        try:
            self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         stdin=subprocess.DEVNULL, env=full_env, cwd=cwd,
                                         text=True, encoding="utf-8", errors="replace",
                                         bufsize=1, **kwargs)
        except OSError as exc:
            raise BackendError(f"Could not start {self.cmd[0]}: {exc.strerror or exc}.") from exc
        self.lines: queue.Queue = queue.Queue()
        self.stderr_lines: list[str] = []
        self._threads = [threading.Thread(target=self._read, args=(self.proc.stdout, "out"),
                                          daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stderr, "err"),
                                          daemon=True)]
        for t in self._threads:
            t.start()

    def _read(self, stream, name: str) -> None:
        try:
            for line in stream:
                self.lines.put((name, line.rstrip("\r\n")))
        except (OSError, ValueError):
            pass
        finally:
            self.lines.put((name, None))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def drain(self) -> list[tuple[str, str]]:
        """Lines that arrived since the last call, as (stream, line)."""
        out = []
        while True:
            try:
                stream, line = self.lines.get_nowait()
            except queue.Empty:
                return out
            if line is None:
                continue
            if stream == "err":
                self.stderr_lines.append(line)
                del self.stderr_lines[:-400]
            out.append((stream, line))

    def poll(self) -> int | None:
        """Exit status once the process has ended and its output is read, else None."""
        code = self.proc.poll()
        if code is None:
            return None
        for t in self._threads:
            t.join(timeout=2.0)
        return code

    def kill(self, grace: float = 3.0) -> None:
        """Stop the process and its children (its whole process group), then reap it."""
        if self.proc.poll() is None:
            try:
                if _WINDOWS:
                    subprocess.run(["taskkill", "/F", "/T", "/PID", str(self.proc.pid)],
                                   capture_output=True)
                else:
                    os.killpg(self.proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError, OSError):
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        if not _WINDOWS:
            try:  # stragglers of the group (the child ignored SIGTERM, or grandchildren)
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, OSError):
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for t in self._threads:
            t.join(timeout=2.0)
        for stream in (self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


# --------------------------------------------------------------------------------------------
# which Python runs the backend


def env_python(env_dir: str | os.PathLike) -> Path:
    """The interpreter of the virtual environment ``env_dir``."""
    env_dir = Path(env_dir)
    return env_dir / ("Scripts/python.exe" if _WINDOWS else "bin/python")


def find_backend_python(preference: str = "", env_dir: str | os.PathLike | None = None) -> str:
    """The Python that runs the backend: the preference if set, else ``$VIDEOMOCAP_PYTHON``,
    else the environment the preferences created. Raises BackendError if there is none."""
    for candidate, origin in ((preference, "The backend Python set in the preferences"),
                              (os.environ.get(PYTHON_ENV_VAR, ""), f"${PYTHON_ENV_VAR}")):
        candidate = (candidate or "").strip()
        if candidate:
            path = Path(os.path.expanduser(candidate))
            if path.is_dir():  # a venv folder given instead of its interpreter
                path = env_python(path)
            if not path.is_file():
                raise BackendError(f"{origin} ({candidate}) does not exist.")
            return str(path)
    if env_dir is not None and env_python(env_dir).is_file():
        return str(env_python(env_dir))
    raise BackendError("The capture backend is not set up: open Edit > Preferences > Add-ons > "
                       "Video Mocap and press Create Backend Environment, or set the Python of an "
                       "existing one.")


# --------------------------------------------------------------------------------------------
# capture


def capture_command(python: str, video: str, output: str, *, max_people: int = 0,
                    start: int = 0, end: int | None = None, device: str = "cpu",
                    model: str = "default", focal_mm: float = 0.0) -> list[str]:
    cmd = [python, "-m", "videomocap.cli", "capture", str(video), "-o", str(output),
           "--progress", "jsonl", "--device", device, "--model", model]
    if max_people and max_people > 0:
        cmd += ["--max-people", str(int(max_people))]
    if start:
        cmd += ["--start", str(int(start))]
    if end is not None:
        cmd += ["--end", str(int(end))]
    if focal_mm and focal_mm > 0:  # 0: let the backend find it
        cmd += ["--focal-mm", f"{float(focal_mm):g}"]
    return cmd


class CaptureJob:
    """One ``videomocap capture`` run into a private temporary folder.

    ``poll()`` returns "running", "done" (``output`` holds the motion file) or "failed"
    (``error`` holds the sentence to show). ``cancel()`` stops the process group and removes
    everything the run wrote. ``cleanup()`` removes the temporary folder once it is read.
    """

    def __init__(self, python: str, video: str, *, env: dict | None = None, **options):
        video_path = Path(video)
        if not video_path.is_file():
            raise BackendError(f"The video {video} does not exist.")
        self.video = str(video_path.resolve())
        self.folder = Path(tempfile.mkdtemp(prefix="videomocap-"))
        self.output = self.folder / f"{video_path.stem}.mocap.npz"
        self.command = capture_command(python, self.video, str(self.output), **options)
        self.tracker = ProgressTracker()
        self.error: str | None = None
        self.state = "running"
        try:
            self.process = LineProcess(self.command, env=env)
        except BackendError:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def fraction(self) -> float:
        return self.tracker.fraction

    def text(self) -> str:
        return self.tracker.text()

    def poll(self) -> str:
        if self.state != "running":
            return self.state
        for stream, line in self.process.drain():
            if stream == "out":
                event = parse_line(line)
                if event is not None:
                    self.tracker.update(event)
        code = self.process.poll()
        if code is None:
            return "running"
        self.process.drain()
        if code == 0 and self.output.is_file():
            self.state = "done"
        else:
            self.state = "failed"
            self.error = error_sentence("\n".join(self.process.stderr_lines), code)
            if code == 0:
                self.error = "The backend ended without writing a motion file."
        return self.state

    def stderr_text(self) -> str:
        return "\n".join(self.process.stderr_lines)

    def cancel(self) -> None:
        self.process.kill()
        self.state = "cancelled"
        self.cleanup()

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def wait(self, interval: float = 0.1, on_progress=None, should_stop=None) -> str:
        """Block until the run ends (background mode), calling ``on_progress(job)`` as it goes;
        ``should_stop()`` returning True cancels it."""
        last = None
        while True:
            state = self.poll()
            if state != "running":
                return state
            if should_stop is not None and should_stop():
                self.cancel()
                return self.state
            if on_progress is not None and self.tracker.fraction != last:
                last = self.tracker.fraction
                on_progress(self)
            time.sleep(interval)


# --------------------------------------------------------------------------------------------
# backend environment (Preferences > Create Backend Environment)

TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Windows wheels on PyPI are CPU-only; the CUDA build comes from PyTorch's own index.
TORCH_CUDA_WINDOWS_INDEX = "https://download.pytorch.org/whl/cu128"

_OFFLINE_MARKERS = ("Failed to establish a new connection", "Temporary failure in name resolution",
                    "Name or service not known", "Network is unreachable", "NewConnectionError",
                    "Max retries exceeded", "ConnectTimeoutError", "Connection refused",
                    "getaddrinfo failed", "No route to host", "nodename nor servname")


def has_nvidia_gpu() -> bool:
    """True when an NVIDIA driver answers (``nvidia-smi`` lists a GPU)."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return False
    try:
        proc = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and "GPU" in proc.stdout


def torch_variant(choice: str = "AUTO") -> str:
    """'cuda' or 'cpu': the PyTorch build to install (AUTO: CUDA when an NVIDIA GPU answers)."""
    if choice in ("cpu", "CPU"):
        return "cpu"
    if choice in ("cuda", "CUDA"):
        return "cuda"
    return "cuda" if has_nvidia_gpu() else "cpu"


def torch_requirement(backend_src: str | os.PathLike) -> str:
    """The torch pin of the backend's pyproject (``torch==X``)."""
    import re

    text = (Path(backend_src) / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r"""["'](torch\b[^"']*)["']""", text)
    return found.group(1).replace(" ", "") if found else "torch"


# The last step of the set-up: the packages import and the command line the operator runs parses
# a capture (its parser is built only when it runs), then the versions for the preferences.
BACKEND_CHECK = (
    "import videomocap, videomocap.cli, torch, mediapipe; "
    "videomocap.cli._parser().parse_args(['capture', 'video.mp4', '-o', 'out.mocap.npz']); "
    "print('videomocap', videomocap.__version__, 'torch', torch.__version__, "
    "'cuda', torch.cuda.is_available())")


def env_setup_steps(base_python: str, env_dir: str | os.PathLike, backend_src: str | os.PathLike,
                    variant: str = "cpu", platform: str = sys.platform) -> list[tuple[str, list]]:
    """The commands that create the environment, as (label, command) pairs."""
    py = str(env_python(env_dir)) if platform == sys.platform else "python"
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off",
           "--retries", "1", "--timeout", "20"]
    steps = [("Creating the virtual environment", [base_python, "-m", "venv", str(env_dir)])]
    torch_req = torch_requirement(backend_src)
    if variant == "cpu" and platform.startswith("linux"):
        # PyPI's Linux torch is the CUDA build (GBs of NVIDIA libraries): take the CPU one.
        steps.append((f"Installing PyTorch (CPU) {torch_req}",
                      pip + ["--index-url", TORCH_CPU_INDEX, "--extra-index-url",
                             "https://pypi.org/simple", torch_req]))
    elif variant == "cuda" and platform == "win32":
        steps.append((f"Installing PyTorch (CUDA) {torch_req}",
                      pip + ["--index-url", TORCH_CUDA_WINDOWS_INDEX, "--extra-index-url",
                             "https://pypi.org/simple", torch_req]))
    else:
        steps.append((f"Installing PyTorch ({variant.upper()}) {torch_req}", pip + [torch_req]))
    steps.append(("Installing the videomocap backend and MediaPipe", pip + [str(backend_src)]))
    steps.append(("Checking the backend", [py, "-c", BACKEND_CHECK]))
    return steps


def explain_pip_failure(lines: list[str], returncode: int | None) -> str:
    text = "\n".join(lines)
    if any(marker in text for marker in _OFFLINE_MARKERS):
        return ("Could not reach the Python package index: this computer seems to be offline. "
                "Connect to the internet and press Create Backend Environment again, or set the "
                "Python of an existing backend.")
    if "No matching distribution found" in text or "Could not find a version" in text:
        wanted = [line for line in lines if "No matching distribution found" in line]
        what = wanted[-1].split("for", 1)[-1].strip() if wanted else "a package"
        return (f"pip found no build of {what} for this Python "
                f"({sys.version_info.major}.{sys.version_info.minor}) and system.")
    if "No space left on device" in text:
        return "The disk is full: free some space and try again."
    for line in reversed(lines):
        if line.strip().startswith("ERROR:"):
            return f"pip failed: {line.strip()[6:].strip()}"
    return error_sentence(text, returncode)


class EnvSetup:
    """Runs ``env_setup_steps`` one after the other, polled like a CaptureJob.

    ``state``: "running" | "done" | "failed" | "cancelled"; ``step`` / ``steps``, ``label``,
    ``last_line`` and ``log`` describe where it is; ``error`` says why it failed.
    """

    def __init__(self, steps: list[tuple[str, list]], env: dict | None = None,
                 env_dir: str | os.PathLike | None = None):
        self.steps = steps
        self.env = env
        self.env_dir = Path(env_dir) if env_dir else None
        self.step = 0
        self.state = "running"
        self.error: str | None = None
        self.log: list[str] = []
        self.last_line = ""
        self.started = time.monotonic()
        self._lines: list[str] = []
        self.process: LineProcess | None = None
        self._start_step()

    @property
    def label(self) -> str:
        return self.steps[min(self.step, len(self.steps) - 1)][0]

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / max(1, len(self.steps)))

    def text(self) -> str:
        return f"{self.label} ({self.step + 1}/{len(self.steps)})"

    def _start_step(self) -> None:
        label, cmd = self.steps[self.step]
        self.log.append(f"== {label}: {' '.join(map(str, cmd))}")
        self._lines = []
        try:
            self.process = LineProcess(cmd, env=self.env)
        except BackendError as exc:
            self.state, self.error = "failed", str(exc)

    def poll(self) -> str:
        if self.state != "running" or self.process is None:
            return self.state
        for _, line in self.process.drain():
            self._lines.append(line)
            self.log.append(line)
            if line.strip():
                self.last_line = line.strip()
        del self.log[:-2000]
        code = self.process.poll()
        if code is None:
            return "running"
        for _, line in self.process.drain():
            self._lines.append(line)
            self.log.append(line)
        if code != 0:
            self.state = "failed"
            self.error = explain_pip_failure(self._lines, code)
            return self.state
        self.step += 1
        if self.step >= len(self.steps):
            self.state = "done"
        else:
            self._start_step()
        return self.state

    def cancel(self) -> None:
        if self.process is not None:
            self.process.kill()
        self.state = "cancelled"

    def wait(self, interval: float = 0.2) -> str:
        while self.poll() == "running":
            time.sleep(interval)
        return self.state
