"""Audio in: every file type, sample type, layout and rate becomes 16 kHz mono float32."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile

from hyasr_space.audio import clip_from_array, load_audio
from hyasr_space.errors import (
    AudioDecodeError,
    AudioTooLongError,
    EmptyAudioError,
    FileTooLargeError,
)
from hyasr_space.results import Clip
from hyasr_space.settings import Settings

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")


def sine(rate: int, seconds: float = 0.5, frequency: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return 0.5 * np.sin(2 * np.pi * frequency * t)


def assert_16k_mono(clip: Clip, seconds: float, tolerance: float = 0.002) -> None:
    assert clip.sample_rate == 16_000
    assert clip.samples.dtype == np.float32
    assert clip.samples.ndim == 1
    assert clip.samples.flags.c_contiguous
    assert clip.duration == pytest.approx(seconds, abs=tolerance)
    assert np.all(np.isfinite(clip.samples))


@pytest.mark.parametrize(
    ("dtype", "scale", "offset"),
    [
        (np.int16, 2**15 - 1, 0),
        (np.int32, 2**31 - 1, 0),
        (np.uint8, 127, 128),
        (np.float64, 1.0, 0),
        (np.float32, 1.0, 0),
    ],
)
def test_sample_types_are_scaled_by_their_range(dtype, scale, offset) -> None:
    wave = sine(16_000)
    samples = (wave * scale + offset).astype(dtype)
    clip = clip_from_array(samples, 16_000, "mic")
    assert_16k_mono(clip, 0.5)
    assert np.max(np.abs(clip.samples)) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000, 96_000])
def test_any_rate_is_resampled_to_16k(rate: int) -> None:
    clip = clip_from_array(sine(rate, 1.0, 440.0), rate, "mic")
    assert_16k_mono(clip, 1.0)
    assert clip.source_rate == rate
    spectrum = np.abs(np.fft.rfft(clip.samples))
    assert np.argmax(spectrum) == pytest.approx(440, abs=2)  # 1 s: bins are 1 Hz apart


@pytest.mark.parametrize("channels", [2, 6])
def test_channels_are_mixed_down_in_either_layout(channels: int) -> None:
    wave = sine(48_000)
    frames_first = np.stack([wave] * channels, axis=1)  # Gradio's (samples, channels)
    for layout in (frames_first, frames_first.T):  # and (channels, samples)
        clip = clip_from_array((layout * 32767).astype(np.int16), 48_000, "mic")
        assert_16k_mono(clip, 0.5)
        assert np.max(np.abs(clip.samples)) == pytest.approx(0.5, abs=0.01)


def test_opposite_channels_cancel_without_error() -> None:
    wave = sine(16_000)
    clip = clip_from_array(np.stack([wave, -wave], axis=1), 16_000, "mic")
    assert np.allclose(clip.samples, 0.0)


def test_silence_stays_silent_and_is_not_divided_by_its_peak() -> None:
    with np.errstate(all="raise"):
        clip = clip_from_array(np.zeros((48_000, 2), dtype=np.int16), 48_000, "mic")
    assert_16k_mono(clip, 1.0)
    assert not clip.samples.any()


def test_nan_and_inf_samples_become_zero() -> None:
    samples = sine(16_000).astype(np.float32)
    samples[::7] = np.nan
    samples[1::11] = np.inf
    samples[2::13] = -np.inf
    clip = clip_from_array(samples, 16_000, "mic")
    assert_16k_mono(clip, 0.5)
    assert np.max(np.abs(clip.samples)) <= 0.5 + 1e-6
    all_nan = clip_from_array(np.full(8_000, np.nan), 44_100, "mic")
    assert not all_nan.samples.any()


@pytest.mark.parametrize("samples", [np.array([]), np.zeros((0, 2)), np.zeros((2, 0))])
def test_empty_recording_is_a_clear_error(samples: np.ndarray) -> None:
    with pytest.raises(EmptyAudioError, match="empty"):
        clip_from_array(samples, 48_000, "mic")


def test_recording_tuple_and_clip_inputs() -> None:
    clip = load_audio((44_100, (sine(44_100) * 32767).astype(np.int16)))
    assert_16k_mono(clip, 0.5)
    assert load_audio(clip) is clip
    resampled = load_audio(Clip(sine(8_000).astype(np.float32), 8_000, "x"))
    assert_16k_mono(resampled, 0.5)


def test_too_long_recording_names_limit_and_duration() -> None:
    settings = replace(Settings(), max_duration_s=2)
    with pytest.raises(AudioTooLongError, match=r"3\.0 seconds.*limit is 2 seconds") as caught:
        clip_from_array(np.zeros(3 * 48_000), 48_000, "mic", settings)
    assert caught.value.duration_s == pytest.approx(3.0)
    assert isinstance(caught.value, ValueError)


def test_fingerprint_follows_content_not_name() -> None:
    a = Clip(sine(16_000).astype(np.float32), name="a.wav")
    b = Clip(sine(16_000).astype(np.float32), name="b.wav")
    c = Clip(sine(16_000, frequency=441).astype(np.float32), name="a.wav")
    assert a.fingerprint == b.fingerprint != c.fingerprint


@pytest.mark.parametrize(
    ("suffix", "subtype"),
    [("wav", "PCM_16"), ("wav", "FLOAT"), ("flac", "PCM_24"), ("ogg", "VORBIS"), ("mp3", None)],
)
def test_files_libsndfile_reads(tmp_path: Path, suffix: str, subtype: str | None) -> None:
    path = tmp_path / f"speech.{suffix}"
    soundfile.write(path, np.stack([sine(44_100, 1.0)] * 2, axis=1), 44_100, subtype=subtype)
    clip = load_audio(path)
    assert clip.name == f"speech.{suffix}"
    assert_16k_mono(clip, 1.0)
    assert np.max(np.abs(clip.samples)) > 0.3


@needs_ffmpeg
@pytest.mark.parametrize("suffix", ["m4a", "webm"])
def test_other_formats_go_through_ffmpeg(tmp_path: Path, suffix: str) -> None:
    source = tmp_path / "source.wav"
    soundfile.write(source, sine(48_000, 1.0), 48_000)
    path = tmp_path / f"speech.{suffix}"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(source), str(path)], check=True
    )
    clip = load_audio(path)
    assert_16k_mono(clip, 1.0, tolerance=0.03)  # lossy encoders pad a few ms
    assert np.max(np.abs(clip.samples)) > 0.3


@needs_ffmpeg
def test_too_long_file_through_ffmpeg_names_its_duration(tmp_path: Path) -> None:
    source = tmp_path / "source.wav"
    soundfile.write(source, sine(16_000, 4.0), 16_000)
    path = tmp_path / "long.m4a"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(source), str(path)], check=True
    )
    with pytest.raises(AudioTooLongError, match=r"long\.m4a is 4\.0 seconds.*limit is 2"):
        load_audio(path, replace(Settings(), max_duration_s=2))


def test_too_long_file_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "long.flac"
    soundfile.write(path, np.zeros(16_000 * 5), 16_000)
    with pytest.raises(
        AudioTooLongError, match=r"long\.flac is 5\.0 seconds long; the limit is 3 seconds"
    ):
        load_audio(path, replace(Settings(), max_duration_s=3))


def test_corrupt_file_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "broken <b>.wav"
    path.write_bytes(b"RIFF\x00\x01garbage" * 100)
    with pytest.raises(AudioDecodeError, match="broken <b>.wav"):
        load_audio(path)


def test_corrupt_file_without_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _: None)
    path = tmp_path / "clip.m4a"
    path.write_bytes(b"\x00\x00\x00\x18ftypM4A " + b"\x01" * 200)
    with pytest.raises(AudioDecodeError, match="ffmpeg.*not installed"):
        load_audio(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "nothing.wav"
    path.write_bytes(b"")
    with pytest.raises(EmptyAudioError, match="nothing.wav is an empty file"):
        load_audio(path)


def test_wav_with_no_samples(tmp_path: Path) -> None:
    path = tmp_path / "header-only.wav"
    soundfile.write(path, np.zeros(0), 16_000)
    with pytest.raises(EmptyAudioError, match="header-only.wav"):
        load_audio(path)


def test_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big.wav"
    soundfile.write(path, np.zeros(16_000 * 4), 16_000)  # 128 kB of PCM_16
    with pytest.raises(FileTooLargeError, match=r"big\.wav is 0\.1 MB; the limit is 0\.05 MB"):
        load_audio(path, replace(Settings(), max_file_size_mb=0.05))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="was not found"):
        load_audio(tmp_path / "absent.wav")
