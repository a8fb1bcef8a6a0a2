"""The backend's progress lines, turned into a fraction, a stage label and an ETA (no bpy).

``videomocap capture --progress jsonl`` prints one JSON object per line on stdout:
``{"stage": "detect"|"track"|"fit"|"world"|"write", "done": int, "total": int}``. Errors end the
process with a non-zero status and one line ``videomocap: <sentence>`` on stderr.
"""

from __future__ import annotations

import json
import time

#: Stages in the order the backend runs them, with the share of the run time each takes
#: (measured on the sample: detection dominates, the batched fit is most of the rest).
STAGES = ("detect", "track", "fit", "world", "write")
WEIGHTS = {"detect": 0.78, "track": 0.02, "fit": 0.14, "world": 0.04, "write": 0.02}
LABELS = {"detect": "Finding people", "track": "Tracking", "fit": "Fitting skeletons",
          "world": "Placing in the world", "write": "Writing the motion file"}

ERROR_PREFIX = "videomocap: "


def parse_line(line: str | bytes) -> dict | None:
    """One progress event from one stdout line, or None for anything that is not one."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("stage") not in STAGES:
        return None
    try:
        done, total = int(event.get("done", 0)), int(event.get("total", 0))
    except (TypeError, ValueError):
        return None
    return {"stage": event["stage"], "done": max(0, done), "total": max(0, total)}


def overall_fraction(event: dict) -> float:
    """Fraction of the whole capture reached by ``event`` (stages before it count as done)."""
    stage = event["stage"]
    before = sum(WEIGHTS[s] for s in STAGES[:STAGES.index(stage)])
    total = event["total"]
    within = min(1.0, event["done"] / total) if total > 0 else 0.0
    return min(1.0, before + WEIGHTS[stage] * within)


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class ProgressTracker:
    """Fraction, stage and ETA of one run, from the events as they arrive.

    The ETA extrapolates the rate of the overall fraction since the first event that moved it
    (start-up time, which is mostly importing PyTorch and MediaPipe, is not counted as progress);
    it is only given once some progress has been seen for a little while.
    """

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self.started = clock()
        self.fraction = 0.0
        self.stage: str | None = None
        self.done = 0
        self.total = 0
        self._first: tuple[float, float] | None = None  # (time, fraction) of the first progress
        self._last_time = self.started

    def update(self, event: dict) -> float:
        now = self._clock()
        self.stage, self.done, self.total = event["stage"], event["done"], event["total"]
        fraction = max(self.fraction, overall_fraction(event))  # never goes backwards
        if self._first is None:
            self._first = (now, fraction)
        self.fraction = fraction
        self._last_time = now
        return fraction

    def eta(self) -> float | None:
        """Seconds left, or None while it cannot be estimated honestly."""
        if self._first is None or self.fraction >= 1.0:
            return None if self._first is None else 0.0
        t0, f0 = self._first
        now = self._clock()
        moved = self.fraction - f0
        if moved < 0.02 or now - t0 < 1.0:
            return None
        rate = moved / (now - t0)
        return (1.0 - self.fraction) / rate

    def elapsed(self) -> float:
        return self._clock() - self.started

    def text(self) -> str:
        """One line for the panel and the status bar: stage, count, ETA."""
        if self.stage is None:
            return f"Starting the backend... {format_seconds(self.elapsed())}"
        label = LABELS.get(self.stage, self.stage)
        count = f" {self.done}/{self.total}" if self.total > 1 else ""
        eta = self.eta()
        tail = f", about {format_seconds(eta)} left" if eta is not None and eta > 0 else ""
        return f"{label}{count} ({int(100 * self.fraction)}%){tail}"


def error_sentence(stderr: str, returncode: int | None) -> str:
    """The sentence to show a user when the backend failed: its own ``videomocap:`` line if it
    wrote one, else the last line it wrote, else the exit status."""
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    ours = [line[len(ERROR_PREFIX):] for line in lines if line.startswith(ERROR_PREFIX)]
    if ours:
        return ours[-1]
    if lines:
        return f"The backend failed: {lines[-1]}"
    if returncode is not None and returncode < 0:
        return f"The backend was stopped by signal {-returncode}."
    return f"The backend stopped with exit status {returncode}."
