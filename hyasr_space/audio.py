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
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, TypeAlias

import numpy as np

from .errors import (
    AudioDecodeError,
    AudioTooLongError,
    AudioTooShortError,
    EmptyAudioError,
    FileTooLargeError,
    InvalidRequestError,
)
from .results import Clip
from .settings import SAMPLE_RATE, Settings

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
    mono = to_mono(to_float(samples))
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


def channels_last(samples: np.ndarray) -> np.ndarray:
    """A 2-D array as (samples, channels): one whose second axis is wider than
    `MAX_CHANNELS` while its first is not is taken for (channels, samples)."""
    if samples.ndim == 2 and samples.shape[1] > MAX_CHANNELS and samples.shape[0] <= MAX_CHANNELS:
        return samples.T
    return samples


def _frames(samples: np.ndarray) -> int:
    return samples.shape[0] if samples.ndim == 1 else channels_last(samples).shape[0]


def to_float(samples: np.ndarray) -> np.ndarray:
    """Samples as float32 in [-1, 1]: integers scaled by their type's range (unsigned ones
    centred on their midpoint, as WAV's 8-bit PCM is), never by their peak, so silence
    stays silence. Raises `AudioDecodeError` for a type that is not audio."""
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


def to_mono(samples: np.ndarray) -> np.ndarray:
    """One channel: the mean of the channels of a 2-D array (see `channels_last`)."""
    if samples.ndim == 1:
        return samples
    return channels_last(samples).mean(axis=1)


def _resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    import soxr

    return soxr.resample(samples, source_rate, target_rate, quality="HQ")


# --- audio that arrives in chunks (live streams, pipes, browser microphones) -------------


def mono_chunk(samples: Any, sample_rate: Any, at_s: float = 0.0) -> tuple[np.ndarray, list[str]]:
    """A live chunk, ``(samples,)`` or ``(samples, channels)`` of any numeric type, as mono
    float32 (not resampled), and notices about what was repaired: NaN or infinite samples
    become silence, so the time line stays whole. `at_s` (where the chunk starts in the
    stream) only goes into the notices. Raises `InvalidRequestError` for something that
    is not audio (a rate that is not a positive whole number, text, three dimensions)."""
    try:
        rate = int(sample_rate)
    except (TypeError, ValueError):
        rate = 0
    if rate <= 0 or rate != sample_rate:
        raise InvalidRequestError(
            f"the sample rate must be a positive whole number of Hz, not {sample_rate!r}."
        )
    if samples is None:
        return np.zeros(0, np.float32), []
    array = np.asarray(samples)
    if array.dtype.kind not in "biuf":
        raise InvalidRequestError(f"audio samples of type {array.dtype} are not supported.")
    if array.ndim not in (1, 2):
        raise InvalidRequestError(
            f"a chunk must be (samples,) or (samples, channels), not {array.ndim}-dimensional."
        )
    if array.size == 0:
        return np.zeros(0, np.float32), []
    mono = to_mono(to_float(array))
    notices = []
    finite = np.isfinite(mono)
    if not finite.all():
        bad = int(mono.size - finite.sum())
        mono = np.where(finite, mono, 0.0).astype(np.float32)
        notices.append(
            f"{bad} of {mono.size} samples of the chunk at {at_s:.2f} s were NaN or infinite "
            "and became silence."
        )
    return np.ascontiguousarray(mono, dtype=np.float32), notices


class StreamResampler:
    """Mono chunks at any rate to `rate`, through one soxr stream per input rate: its
    filter state carries over, so chunk borders make no clicks and the output equals
    `soxr.resample` of the whole recording. A change of input rate flushes the old
    stream and starts a new one."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.source_rate: int | None = None
        self._stream: Any = None

    def rate_notices(self, source_rate: int, at_s: float) -> list[str]:
        """What to tell the user when `source_rate` is not the rate so far."""
        if self.source_rate is None or source_rate == self.source_rate:
            return []
        return [
            f"The sample rate changed from {self.source_rate} Hz to {source_rate} Hz at "
            f"{at_s:.2f} s; the stream goes on at the new rate."
        ]

    def push(self, samples: np.ndarray, source_rate: int) -> np.ndarray:
        """The chunk at `rate` (what the filter can give out so far)."""
        if source_rate != self.source_rate:
            tail = self.flush()
            self.source_rate = source_rate
            if source_rate != self.rate:
                import soxr

                self._stream = soxr.ResampleStream(source_rate, self.rate, 1, "float32", "HQ")
            out = self._resample(samples)
            return np.concatenate([tail, out]) if len(tail) else out
        return self._resample(samples)

    def _resample(self, samples: np.ndarray) -> np.ndarray:
        if self._stream is None:
            return samples
        return self._stream.resample_chunk(samples)

    def flush(self) -> np.ndarray:
        """What the resampler still holds (its filter's delay), and a fresh start."""
        stream, self._stream = self._stream, None
        if stream is None:
            return np.zeros(0, np.float32)
        return stream.resample_chunk(np.zeros(0, np.float32), last=True)


def read_pcm_chunks(
    pipe: BinaryIO, chunk_ms: int, sample_rate: int = SAMPLE_RATE
) -> Iterator[tuple[np.ndarray, int]]:
    """Raw s16le mono PCM from a pipe as (int16 samples, rate), in chunks of what has
    arrived (at most `chunk_ms`), so that a live capture is fed as it is spoken."""
    limit = max(2, sample_rate * chunk_ms // 1000 * 2)
    fd = pipe.fileno()
    left = b""
    while True:
        data = os.read(fd, limit)
        if not data:
            return
        data = left + data
        whole = len(data) // 2 * 2
        left = data[whole:]
        if whole:
            yield np.frombuffer(data[:whole], dtype="<i2"), sample_rate


def read_file_chunks(
    path: Path, chunk_ms: int, settings: Settings | None = None
) -> Iterator[tuple[np.ndarray, int]]:
    """A file's samples, (samples, channels) float32 at its own rate, `chunk_ms` at a
    time (libsndfile blocks); a format libsndfile cannot read is decoded whole with
    ffmpeg (`load_audio`) and cut into chunks."""
    import soundfile

    if not path.is_file():
        raise AudioDecodeError(f"{path.name} was not found.")
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, TypeError):
        clip = load_audio(path, settings)
        step = max(1, clip.sample_rate * chunk_ms // 1000)
        for start in range(0, len(clip.samples), step):
            yield clip.samples[start : start + step], clip.sample_rate
        return
    blocksize = max(1, info.samplerate * chunk_ms // 1000)
    for block in soundfile.blocks(str(path), blocksize=blocksize, dtype="float32", always_2d=True):
        yield block, info.samplerate


# (format tag, bits) -> sample type; 0xFFFE (extensible) is read as PCM
_WAV_TYPES = {(1, 8): np.uint8, (1, 16): np.dtype("<i2"), (1, 32): np.dtype("<i4"),
              (3, 32): np.dtype("<f4"), (3, 64): np.dtype("<f8")}  # fmt: skip


def parse_wav_chunk(data: bytes) -> tuple[int, np.ndarray]:
    """A streamed browser microphone chunk (the bytes of a small WAV file) as (rate,
    samples (frames, channels)): every whole frame after the header, whatever length the
    header declares (browsers stream WAV with a placeholder length). Written here rather
    than with the `wave` module or libsndfile, which trust that length. Raises
    `AudioDecodeError` for a chunk that is not PCM or float WAV."""
    fmt, payload, position = None, None, 12
    while data[:4] == b"RIFF" and data[8:12] == b"WAVE" and position + 8 <= len(data):
        kind = data[position : position + 4]
        size = int.from_bytes(data[position + 4 : position + 8], "little")
        body = position + 8
        if kind == b"fmt " and size >= 16:
            fmt = struct.unpack("<HHIIHH", data[body : body + 16])
        elif kind == b"data":
            payload = data[body:]
            break
        position = body + size + (size & 1)
    if fmt is None or payload is None:
        raise AudioDecodeError("a microphone chunk was not a WAV file; it was skipped.")
    tag, channels, rate, _, block, bits = fmt
    dtype = _WAV_TYPES.get((1 if tag == 0xFFFE else tag, bits))
    if dtype is None or channels < 1 or block != channels * bits // 8:
        raise AudioDecodeError(
            f"a microphone chunk had an unsupported WAV format ({bits}-bit, tag {tag}); "
            "it was skipped."
        )
    frames = len(payload) // block
    return rate, np.frombuffer(payload[: frames * block], dtype).reshape(frames, channels)


def read_wav_chunk(path: str | os.PathLike[str] | None) -> tuple[int, np.ndarray]:
    """`parse_wav_chunk` of a chunk file Gradio saved; no file is an empty chunk."""
    if not path:
        return SAMPLE_RATE, np.zeros(0, np.int16)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise AudioDecodeError(f"a microphone chunk could not be read: {error}") from error
    return parse_wav_chunk(data)
