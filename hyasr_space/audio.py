"""Audio in: a file or a recording, to 16 kHz mono float32 (`Clip`).

Files are read with libsndfile (wav, flac, ogg, mp3, ...) and, failing that, with an
ffmpeg subprocess (m4a, webm, aac, ...); resampling is soxr's "HQ". Arrays follow
Gradio's microphone convention, ``(samples,)`` or ``(samples, channels)``; a
``(channels, samples)`` array is recognised by its shape. Integer samples are scaled by
their type's range, never by their peak, so silence stays silence. Non-finite samples
(NaN, inf) become 0: a few bad samples from a broken recorder should not cost the whole
transcription, and an all-NaN array becomes silence, which transcribes to nothing; a
*file* with no finite sample at all is refused as damaged. Audio shorter than
`Settings.min_duration_s` is refused: it cannot hold a word, and the model would only
guess at the padding.

Not librosa, though the project uses it (picture.py): `librosa.resample`'s default
("soxr_hq") is this same soxr call, giving identical samples, so calling soxr directly
costs nothing and keeps librosa, whose first import compiles numba functions, off the
transcription path. `librosa.load` reads with libsndfile too but falls back to
audioread (deprecated since librosa 0.10, gone in 1.0), not to ffmpeg itself; the
fallback here decodes just past the duration limit (telling "too long" from "at the
limit") and quotes ffmpeg's own reason when a file cannot be read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TypeAlias

import numpy as np

from .errors import (
    AudioDecodeError,
    AudioTooLongError,
    AudioTooShortError,
    EmptyAudioError,
    FileTooLargeError,
)
from .results import Clip
from .settings import Settings

MAX_CHANNELS = 64  # a wider axis than this is taken for time, not channels
FFMPEG_TIMEOUT_S = 120
_FFMPEG_MARGIN_S = 1.0  # decode a little past the limit to tell "too long" from "at the limit"


AudioInput: TypeAlias = "str | os.PathLike[str] | tuple[int, np.ndarray] | Clip"


def load_audio(source: AudioInput, settings: Settings | None = None) -> Clip:
    """Turn a file path, a ``(rate, samples)`` recording or a `Clip` into a 16 kHz `Clip`.

    Raises `EmptyAudioError`, `AudioDecodeError`, `AudioTooLongError` or
    `FileTooLargeError` (all `ValueError`s) with a message for the user.
    """
    settings = settings or Settings()
    if isinstance(source, Clip):
        if source.sample_rate == settings.sample_rate:
            _check_duration(source.name, source.duration, settings.max_duration_s)
            _check_not_too_short(source.name, source.duration, settings.min_duration_s)
            return source
        return clip_from_array(source.samples, source.sample_rate, source.name, settings)
    if isinstance(source, tuple):
        rate, samples = source
        return clip_from_array(samples, rate, "recording", settings)
    if isinstance(source, (str, os.PathLike)):
        return decode_file(Path(source), settings)
    raise TypeError(f"cannot read audio from {type(source).__name__}")


def clip_from_array(
    samples: np.ndarray, sample_rate: int, name: str, settings: Settings | None = None
) -> Clip:
    """Convert samples of any numeric type, layout and rate to a 16 kHz mono `Clip`."""
    settings = settings or Settings()
    samples = np.asarray(samples)
    if sample_rate <= 0:
        raise AudioDecodeError(f"{name} has an invalid sample rate ({sample_rate} Hz).")
    if samples.size == 0:
        raise EmptyAudioError(f"{name} is empty: there is no audio to transcribe.")
    if samples.ndim > 2:
        raise AudioDecodeError(f"{name} has {samples.ndim} dimensions; expected 1 or 2.")
    _check_duration(name, _frames(samples) / sample_rate, settings.max_duration_s)
    _check_not_too_short(name, _frames(samples) / sample_rate, settings.min_duration_s)
    mono = _to_mono(_to_float(samples))
    if not np.isfinite(mono).all():  # scrub only when needed: it copies the whole clip
        mono = np.nan_to_num(mono, nan=0.0, posinf=0.0, neginf=0.0)
    if sample_rate != settings.sample_rate:
        mono = _resample(mono, sample_rate, settings.sample_rate)
    return Clip(
        np.ascontiguousarray(mono, dtype=np.float32),
        settings.sample_rate,
        name,
        source_rate=sample_rate,
    )


def decode_file(path: Path, settings: Settings | None = None) -> Clip:
    """Read an audio file with libsndfile, or with ffmpeg where libsndfile cannot."""
    settings = settings or Settings()
    name = path.name
    if not path.is_file():
        raise AudioDecodeError(f"{name} was not found.")
    size = path.stat().st_size
    if size == 0:
        raise EmptyAudioError(f"{name} is an empty file: there is no audio to transcribe.")
    if size > settings.max_file_size_bytes:
        raise FileTooLargeError(name, size / 2**20, settings.max_file_size_mb)
    import soundfile

    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        return _decode_with_ffmpeg(path, settings)
    _check_duration(name, info.frames / info.samplerate, settings.max_duration_s)
    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError) as error:
        raise AudioDecodeError(f"{name} is damaged: {error}") from error
    _check_finite(name, samples)
    return clip_from_array(samples, rate, name, settings)


def _decode_with_ffmpeg(path: Path, settings: Settings) -> Clip:
    name = path.name
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise AudioDecodeError(
            f"{name} is not a WAV, FLAC, OGG or MP3 file that can be read, and ffmpeg, "
            "which reads other formats, is not installed."
        )
    limit_s = settings.max_duration_s + _FFMPEG_MARGIN_S
    command = [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-i", str(path), "-t", f"{limit_s:.3f}", "-vn",
        "-f", "f32le", "-ac", "1", "-ar", str(settings.sample_rate), "pipe:1",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as error:
        raise AudioDecodeError(f"{name} took too long to decode.") from error
    if done.returncode != 0:
        reason = _last_line(done.stderr) or f"ffmpeg exited with status {done.returncode}"
        reason = reason.replace(f"{path}: ", "").replace(str(path), name)  # no server paths
        raise AudioDecodeError(f"{name} is not an audio file that can be read ({reason}).")
    samples = np.frombuffer(done.stdout, dtype=np.float32)
    if samples.size == 0:
        raise EmptyAudioError(f"{name} holds no audio to transcribe.")
    duration = samples.size / settings.sample_rate
    if duration > settings.max_duration_s:
        probed = _probe_duration(path)
        raise AudioTooLongError(
            name, probed or duration, settings.max_duration_s, at_least=probed is None
        )
    _check_not_too_short(name, duration, settings.min_duration_s)
    _check_finite(name, samples)
    samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    return Clip(samples.copy(), settings.sample_rate, name, source_rate=settings.sample_rate)


def _probe_duration(path: Path) -> float | None:
    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        return None
    command = [
        ffprobe, "-v", "error", "-show_entries", "format=duration",
        "-of", "default=noprint_wrappers=1:nokey=1", str(path),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        return float(done.stdout.strip())
    except (subprocess.TimeoutExpired, ValueError):
        return None


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


def _check_duration(name: str, duration_s: float, limit_s: float) -> None:
    if duration_s > limit_s:
        raise AudioTooLongError(name, duration_s, limit_s)


def _check_not_too_short(name: str, duration_s: float, limit_s: float) -> None:
    if duration_s < limit_s:
        raise AudioTooShortError(name, duration_s, limit_s)


def _check_finite(name: str, samples: np.ndarray) -> None:
    if samples.size and not np.isfinite(samples).any():
        raise AudioDecodeError(f"{name} is damaged: every sample in it is NaN or infinite.")


def _channels_last(samples: np.ndarray) -> np.ndarray:
    if (
        samples.ndim == 2
        and samples.shape[0] < samples.shape[1]
        and samples.shape[0] <= MAX_CHANNELS
    ):
        return samples.T
    return samples


def _frames(samples: np.ndarray) -> int:
    return samples.shape[0] if samples.ndim == 1 else _channels_last(samples).shape[0]


def _to_float(samples: np.ndarray) -> np.ndarray:
    # float32 throughout: an hour of audio is 230 MB as float32, and every float64 copy
    # on the way (conversion, mono mix, NaN scrub) would double it.
    kind = samples.dtype.kind
    if kind == "f":
        return samples.astype(np.float32, copy=False)
    if kind == "i":
        converted = samples.astype(np.float32)
        converted /= float(2 ** (8 * samples.dtype.itemsize - 1))
        return converted
    if kind == "u":
        half = float(2 ** (8 * samples.dtype.itemsize - 1))
        converted = samples.astype(np.float32)
        converted -= half
        converted /= half
        return converted
    if kind == "b":
        return samples.astype(np.float32)
    raise AudioDecodeError(f"audio samples of type {samples.dtype} are not supported.")


def _to_mono(samples: np.ndarray) -> np.ndarray:
    if samples.ndim == 1:
        return samples
    return _channels_last(samples).mean(axis=1)


def _resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    import soxr

    return soxr.resample(samples, source_rate, target_rate, quality="HQ")
