"""Build the MediaPipe pose-landmarker ``.task`` bundle from the models inside the mediapipe wheel.

``mediapipe==0.10.21`` ships the raw pose models used by the legacy Solutions API
(``modules/pose_detection/pose_detection.tflite`` and
``modules/pose_landmark/pose_landmark_full.tflite``), but the Tasks API
(``mediapipe.tasks.python.vision.PoseLandmarker``) only loads a ``.task`` bundle: an (uncompressed,
4-byte aligned) zip holding ``pose_detector.tflite`` and ``pose_landmarks_detector.tflite``, each
carrying TFLite metadata that describes the image input normalisation. We write that metadata with
the wheel's own ``metadata_writers``:

* detector: input normalised with mean 127.5 / std 127.5 (pixels to [-1, 1]), 2 feature outputs
  (box/keypoint regressors and scores);
* landmark model: mean 0 / std 255 (pixels to [0, 1]), 5 feature outputs (landmarks, pose flag,
  segmentation, heatmap, world landmarks).

The bundle is built once and cached; nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import zipfile
from pathlib import Path

from ..errors import CaptureError

log = logging.getLogger(__name__)

DETECTOR_NAME = "pose_detector.tflite"
LANDMARKER_NAME = "pose_landmarks_detector.tflite"
_SOURCES = {
    DETECTOR_NAME: ("modules", "pose_detection", "pose_detection.tflite"),
    LANDMARKER_NAME: ("modules", "pose_landmark", "pose_landmark_full.tflite"),
}

_lock = threading.Lock()
_verified: set[str] = set()

__all__ = ["ensure_task_bundle", "default_cache_dir", "wheel_model_path", "ThreadInterpreters",
           "DETECTOR_NAME",
           "LANDMARKER_NAME"]


def default_cache_dir() -> Path:
    """``$VIDEOMOCAP_CACHE`` if set, else ``~/.cache/videomocap``."""
    env = os.environ.get("VIDEOMOCAP_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "videomocap"


def wheel_model_path(name: str) -> Path:
    """Where the installed mediapipe wheel keeps the pose model ``name`` (DETECTOR_NAME or
    LANDMARKER_NAME)."""
    import mediapipe as mp

    parts = _SOURCES[name]
    src = Path(mp.__file__).resolve().parent.joinpath(*parts)
    if not src.is_file():
        raise CaptureError(
            f"The installed mediapipe {mp.__version__} lacks the pose model {'/'.join(parts)}; "
            "install mediapipe==0.10.21."
        )
    return src


class ThreadInterpreters:
    """LiteRT interpreters of one model of the wheel, one per thread and thread count (an
    interpreter is not safe to share between threads), each made on first use together with what
    ``indices(interpreter)`` reads off it (its tensor indices)."""

    def __init__(self, name: str, indices, model_path=None):
        from ai_edge_litert.interpreter import Interpreter

        self._Interpreter = Interpreter
        self._model = str(model_path or wheel_model_path(name))
        self._indices = indices
        self._local = threading.local()

    def get(self, threads: int = 1):
        """(interpreter, indices) of this thread, running on ``threads`` threads."""
        key = f"it{threads}"
        found = getattr(self._local, key, None)
        if found is None:
            it = self._Interpreter(model_path=self._model, num_threads=int(threads))
            it.allocate_tensors()
            found = it, self._indices(it)
            setattr(self._local, key, found)
        return found


def _source_models() -> dict[str, bytes]:
    return {name: wheel_model_path(name).read_bytes() for name in _SOURCES}


def _with_metadata(model: bytes, name: str, mean: float, std: float, n_outputs: int) -> bytes:
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(name, "MediaPipe pose model from the mediapipe wheel (BlazePose).")
    writer.add_image_input(norm_mean=[mean], norm_std=[std])
    for _ in range(n_outputs):
        writer.add_feature_output()
    content, _json = writer.populate()
    return bytes(content)


def _build_bundle(models: dict[str, bytes], out_path: Path) -> None:
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    det = _with_metadata(models[DETECTOR_NAME], "pose_detector", 127.5, 127.5, 2)
    lmk = _with_metadata(models[LANDMARKER_NAME], "pose_landmarks_detector", 0.0, 255.0, 5)
    model_asset_bundle_utils.create_model_asset_bundle(
        {DETECTOR_NAME: det, LANDMARKER_NAME: lmk}, str(out_path)
    )


def _bundle_looks_whole(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if not {DETECTOR_NAME, LANDMARKER_NAME} <= names:
                return False
            return all(zf.getinfo(n).file_size > 0 for n in (DETECTOR_NAME, LANDMARKER_NAME))
    except (OSError, zipfile.BadZipFile):
        return False


def _verify_loads(path: Path) -> None:
    """Create (and close) a PoseLandmarker from the bundle; raise if the Tasks API rejects it."""
    from mediapipe.tasks.python import BaseOptions, vision

    opts = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(path)),
        running_mode=vision.RunningMode.IMAGE,
        num_poses=1,
    )
    landmarker = vision.PoseLandmarker.create_from_options(opts)
    landmarker.close()


def ensure_task_bundle(cache_dir: Path | None = None) -> Path:
    """Return the path of the pose-landmarker ``.task`` bundle, building and caching it if needed.

    The file lives in ``cache_dir`` (default :func:`default_cache_dir`) and is named after the
    mediapipe version and a digest of the source models, so a different wheel gets its own bundle.
    It is written to a temporary file in the same folder and renamed into place (atomic), and it is
    loaded once with the Tasks API before being published. Never downloads anything.
    """
    import mediapipe as mp

    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    models = _source_models()
    digest = hashlib.sha256()
    for name in sorted(models):
        digest.update(name.encode())
        digest.update(models[name])
    target = cache / f"pose_landmarker_full-mp{mp.__version__}-{digest.hexdigest()[:12]}.task"

    with _lock:
        if str(target) in _verified and target.is_file():
            return target
        if target.is_file() and _bundle_looks_whole(target):
            _verified.add(str(target))
            return target
        try:
            cache.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=cache)
            os.close(fd)
        except OSError as exc:
            raise CaptureError(
                f"The model cache folder {str(cache)!r} cannot be written ({exc.strerror or exc}); "
                "set VIDEOMOCAP_CACHE to a writable folder."
            ) from exc
        tmp = Path(tmp_name)
        try:
            log.info("building MediaPipe pose landmarker bundle %s", target)
            _build_bundle(models, tmp)
            try:
                _verify_loads(tmp)
            except Exception as exc:  # the wheel's writers/graph disagree: a bug, keep the cause
                raise RuntimeError(f"the built pose landmarker bundle does not load: {exc}") from exc
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                tmp.unlink()
        _verified.add(str(target))
        return target
