"""The motion file (``*.mocap.npz``, format ``videomocap/1``): schema, writer and reader.

numpy only, so the Blender extension reads it with Blender's own Python. The file is a plain ``.npz``
that loads with ``allow_pickle=False``; writes go to a temporary file in the same folder and are
renamed into place, so a crash never leaves half a file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .skeleton import NUM_JOINTS

FORMAT = "videomocap/1"


class MotionFileError(ValueError):
    """A motion file that cannot be read, explained in one sentence."""


@dataclass
class PersonMotion:
    """One tracked person; every per-frame array has the same length N."""

    person_id: int
    frame_ids: np.ndarray  # (N,) int, sorted source frame numbers
    global_orient: np.ndarray  # (N, 3) axis-angle, body frame -> world
    body_pose: np.ndarray  # (N, 23, 3) local axis-angle
    transl: np.ndarray  # (N, 3) pelvis position, world
    betas: np.ndarray  # (10,)
    bone_lengths: np.ndarray  # (23,)
    joints: np.ndarray  # (N, 24, 3) world joint positions
    contact: np.ndarray  # (N, 4) probabilities, CONTACT_NAMES order
    keypoints2d: np.ndarray  # (N, K, 3) x, y, confidence as detected
    confidence: np.ndarray  # (N,)
    #: (N,) uint8 how each frame was obtained: 0 detected, 1 recovered (found only by searching
    #: where the lost person should be), 2 filled (interpolated across a short gap, or carried a
    #: little way into a longer one). Optional in files (older ones lack it: all detected).
    frame_source: np.ndarray | None = None

    def __post_init__(self):
        if self.frame_source is None:
            self.frame_source = np.zeros(len(self.frame_ids), np.uint8)


@dataclass
class Motion:
    """Everything a capture produces."""

    fps: float
    image_size: np.ndarray  # (2,) W, H
    K: np.ndarray  # (F, 3, 3)
    cam_R: np.ndarray  # (F, 3, 3) world-from-camera
    cam_t: np.ndarray  # (F, 3) camera centre in world
    people: list[PersonMotion] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.K.shape[0])

    def person(self, person_id: int) -> PersonMotion:
        for p in self.people:
            if p.person_id == person_id:
                return p
        raise KeyError(person_id)


# name -> (dtype, shape with N for frames of the person, F for frames of the video, None for free)
_PERSON_SCHEMA = {
    "frame_ids": (np.int64, ("N",)),
    "global_orient": (np.float32, ("N", 3)),
    "body_pose": (np.float32, ("N", 23, 3)),
    "transl": (np.float32, ("N", 3)),
    "betas": (np.float32, (10,)),
    "bone_lengths": (np.float32, (23,)),
    "joints": (np.float32, ("N", NUM_JOINTS, 3)),
    "contact": (np.float32, ("N", 4)),
    "keypoints2d": (np.float32, ("N", None, 3)),
    "confidence": (np.float32, ("N",)),
}
# optional per-person entries (name -> dtype, shape); absent in files that predate them
_PERSON_OPTIONAL = {
    "frame_source": (np.uint8, ("N",)),
}


def _check_shape(name: str, arr: np.ndarray, shape: tuple, sizes: dict) -> None:
    if arr.ndim != len(shape):
        raise MotionFileError(f"'{name}' should have {len(shape)} dimensions but has {arr.ndim}.")
    for dim, want in zip(arr.shape, shape):
        if want is None:
            continue
        if isinstance(want, str):
            want = sizes.setdefault(want, dim)
        if dim != want:
            raise MotionFileError(f"'{name}' has shape {arr.shape}, which does not fit the file.")


def validate(motion: Motion) -> None:
    """Raise MotionFileError if the arrays do not fit the schema of DESIGN section 4."""
    sizes: dict = {}
    if not (np.isfinite(motion.fps) and motion.fps > 0):
        raise MotionFileError("The frame rate must be a positive number.")
    _check_shape("image_size", np.asarray(motion.image_size), (2,), sizes)
    _check_shape("K", motion.K, ("F", 3, 3), sizes)
    _check_shape("cam_R", motion.cam_R, ("F", 3, 3), sizes)
    _check_shape("cam_t", motion.cam_t, ("F", 3), sizes)
    seen = set()
    for p in motion.people:
        if p.person_id in seen:
            raise MotionFileError(f"Person {p.person_id} appears twice.")
        seen.add(p.person_id)
        psizes: dict = {}
        for name, (_, shape) in {**_PERSON_SCHEMA, **_PERSON_OPTIONAL}.items():
            _check_shape(f"p{p.person_id}/{name}", np.asarray(getattr(p, name)), shape, psizes)
            if not np.all(np.isfinite(getattr(p, name))):
                raise MotionFileError(f"'p{p.person_id}/{name}' contains NaN or infinite values.")
        fids = np.asarray(p.frame_ids)
        if fids.size and (np.any(np.diff(fids) <= 0) or fids[0] < 0 or fids[-1] >= sizes["F"]):
            raise MotionFileError(
                f"'p{p.person_id}/frame_ids' must be increasing frame numbers within the video."
            )


def save(motion: Motion, path: str | os.PathLike) -> Path:
    """Validate and write ``motion`` atomically; returns the path written."""
    validate(motion)
    path = Path(path)
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT),
        "fps": np.array(float(motion.fps)),
        "image_size": np.asarray(motion.image_size, dtype=np.int64),
        "K": np.asarray(motion.K, dtype=np.float32),
        "cam_R": np.asarray(motion.cam_R, dtype=np.float32),
        "cam_t": np.asarray(motion.cam_t, dtype=np.float32),
        "person_ids": np.array([p.person_id for p in motion.people], dtype=np.int64),
        "meta": np.array(json.dumps(motion.meta, sort_keys=True)),
    }
    for p in motion.people:
        for name, (dtype, _) in {**_PERSON_SCHEMA, **_PERSON_OPTIONAL}.items():
            arrays[f"p{p.person_id}/{name}"] = np.asarray(getattr(p, name), dtype=dtype)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise MotionFileError(f"The output folder {folder} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path: str | os.PathLike) -> Motion:
    """Read and validate a motion file; MotionFileError with one sentence if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise MotionFileError(f"The motion file {path} does not exist.")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise MotionFileError(f"{path.name} is not a readable motion file ({exc}).") from None
    fmt = str(arrays.get("format", ""))
    if fmt != FORMAT:
        raise MotionFileError(
            f"{path.name} has format '{fmt or 'none'}', but this version reads '{FORMAT}'."
        )
    required = ("fps", "image_size", "K", "cam_R", "cam_t", "person_ids")
    missing = [k for k in required if k not in arrays]
    if missing:
        raise MotionFileError(f"{path.name} lacks the entries {', '.join(missing)}.")
    people = []
    for pid in arrays["person_ids"].tolist():
        fields = {}
        for name in _PERSON_SCHEMA:
            key = f"p{pid}/{name}"
            if key not in arrays:
                raise MotionFileError(f"{path.name} lacks '{key}'.")
            fields[name] = arrays[key]
        for name in _PERSON_OPTIONAL:
            if f"p{pid}/{name}" in arrays:
                fields[name] = arrays[f"p{pid}/{name}"]
        people.append(PersonMotion(person_id=int(pid), **fields))
    try:
        meta = json.loads(str(arrays.get("meta", "{}")))
    except json.JSONDecodeError:
        raise MotionFileError(f"{path.name} has an unreadable 'meta' entry.") from None
    motion = Motion(
        fps=float(arrays["fps"]),
        image_size=arrays["image_size"],
        K=arrays["K"],
        cam_R=arrays["cam_R"],
        cam_t=arrays["cam_t"],
        people=people,
        meta=meta,
    )
    validate(motion)
    return motion
