"""Audio that arrives in chunks (audio.py): live chunks to mono, the streaming resampler,
and the readers for a raw PCM pipe and for files, with real soxr and libsndfile."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr

from hyasr_space.audio import (
    StreamResampler,
    mono_chunk,
    read_file_chunks,
    read_pcm_chunks,
    to_float,
)
from hyasr_space.errors import InvalidRequestError


def test_uint8_is_centred_and_int16_scaled_by_its_range() -> None:
    np.testing.assert_allclose(to_float(np.array([0, 128, 255], np.uint8)), [-1, 0, 127 / 128])
    np.testing.assert_allclose(to_float(np.array([-32768, 0, 16384], np.int16)), [-1, 0, 0.5])


def test_a_chunk_becomes_mono_in_either_layout_and_nan_becomes_silence() -> None:
    stereo = np.array([[0.2, 0.4]] * 100, np.float32)
    mono, notices = mono_chunk(stereo, 16_000)
    np.testing.assert_allclose(mono, 0.3)
    assert notices == []
    np.testing.assert_allclose(mono_chunk(stereo.T, 16_000)[0], 0.3)  # (channels, samples)
    mono, notices = mono_chunk(np.array([0.1, np.nan, np.inf], np.float32), 16_000, at_s=2.5)
    np.testing.assert_array_equal(mono, np.array([0.1, 0, 0], np.float32))
    assert notices == [
        "2 of 3 samples of the chunk at 2.50 s were NaN or infinite and became silence."
    ]


@pytest.mark.parametrize(
    ("samples", "rate", "message"),
    [
        (np.zeros(10), 0, "positive whole number"),
        (np.zeros(10), 44_100.5, "positive whole number"),
        (np.array(["a", "b"]), 16_000, "type <U1"),
        (np.zeros((2, 2, 2)), 16_000, "3-dimensional"),
    ],
)
def test_what_is_not_audio_is_refused_clearly(samples, rate, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        mono_chunk(samples, rate)


def test_the_stream_resampler_equals_resampling_the_whole_recording() -> None:
    rng = np.random.default_rng(1)
    audio = rng.standard_normal(44_100).astype(np.float32) * 0.1
    resampler = StreamResampler(16_000)
    cuts = [0, 1, 777, 5000, 5001, 30_000, 44_100]
    pieces = [resampler.push(audio[a:b], 44_100) for a, b in zip(cuts, cuts[1:], strict=False)]
    pieces.append(resampler.flush())
    whole = soxr.resample(audio, 44_100, 16_000, quality="HQ")
    np.testing.assert_allclose(np.concatenate(pieces), whole, atol=1e-6)
    assert resampler.rate_notices(44_100, 1.0) == []
    assert "from 44100 Hz to 48000 Hz at 1.00 s" in resampler.rate_notices(48_000, 1.0)[0]


def test_pcm_chunks_from_a_pipe_keep_every_sample_across_odd_byte_splits() -> None:
    samples = np.arange(-3000, 3000, dtype="<i2")
    raw = samples.tobytes()
    read_end, write_end = os.pipe()

    def write() -> None:
        with os.fdopen(write_end, "wb", buffering=0) as out:
            for start in range(0, len(raw), 333):  # odd sizes split samples in two
                out.write(raw[start : start + 333])

    writer = threading.Thread(target=write)
    writer.start()
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        chunks = list(read_pcm_chunks(pipe, chunk_ms=10))
    writer.join()
    assert all(rate == 16_000 and len(chunk) <= 160 for chunk, rate in chunks)
    np.testing.assert_array_equal(np.concatenate([chunk for chunk, _ in chunks]), samples)


def test_file_chunks_come_at_the_files_own_rate_and_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    audio = (rng.standard_normal((22_050, 2)) * 0.1).astype(np.float32)
    path = tmp_path / "stereo.flac"
    soundfile.write(path, audio, 22_050, subtype="PCM_24")
    chunks = list(read_file_chunks(path, chunk_ms=100))
    assert {rate for _, rate in chunks} == {22_050}
    assert all(chunk.shape == (2205, 2) for chunk, _ in chunks)
    np.testing.assert_allclose(np.concatenate([c for c, _ in chunks]), audio, atol=1e-6)
