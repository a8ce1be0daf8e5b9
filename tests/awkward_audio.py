"""A corpus of awkward audio files, made on the spot, and the test app it is played against.

Each `Case` writes one file and says what the app must answer: for a broken file, a
pattern its error message must match (the text a user reads, in the page and, HTML-escaped,
through gradio_client); for a valid one, the text it must transcribe to. Speech is the
tone speech of `tone_model.tone_speech`, which the tiny test model reads as `tone_model.WORDS`.
servers.py runs the real app on 127.0.0.1 with the small limits below.

    python tests/awkward_audio.py OUT_DIR   # write the corpus, to listen to or replay
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also run as a script
from tone_model import RATE, WORDS, tone_speech  # noqa: E402

# The test apps run with these limits, so that the files over them stay small.
MAX_DURATION_S = 5
MAX_FILE_SIZE_MB = 1
# What an HTML-minded file name must never become in the page: a live element.
HOSTILE_HTML_NAME = "<img src=x onerror=alert(1)>.wav"
# Gradio strips the characters that are unsafe in file names when it stores an upload,
# so the name the app sees, and quotes, is this one.
HOSTILE_HTML_STORED = "img src=x onerror=alert(1).wav"
UNICODE_NAME = "Ձայն «բարև» 🎙 録音.wav"
# What Gradio's client says about a file over its upload limit (gradio_client raises it
# before sending; the page shows "File(s) exceed the maximum allowed size of ...").
UPLOAD_LIMIT_MESSAGE = r"exceeds? the maximum (allowed|file) size"
NO_SPEECH_NOTE = "No speech was recognised."


@dataclass(frozen=True)
class Case:
    """One awkward file: how to write it and what the app must answer."""

    id: str
    filename: str
    write: Callable[[Path], None]
    # Broken files: a regex for the user-facing message after the file's name.
    error: str | None = None
    # The name the app sees when the file comes through Gradio, which strips the
    # characters that are unsafe in file names (<>:"/\\|?* and more).
    stored_name: str | None = None
    # Over the upload limit: Gradio refuses the file before the app sees it, with its own
    # message; `error` is then the app's message for the same file given another way.
    refused_on_upload: bool = False
    text: str | None = None  # the transcript (valid files)
    note: str | None = None  # a line the info under the transcript must hold

    @property
    def broken(self) -> bool:
        return self.error is not None

    def message(self, through_gradio: bool = True) -> str:
        """The regex the whole message must match, name included."""
        name = self.stored_name if through_gradio and self.stored_name else self.filename
        return re.escape(name) + (self.error or "")

    def make(self, folder: Path) -> Path:
        path = folder / self.id / self.filename
        path.parent.mkdir(parents=True, exist_ok=True)
        self.write(path)
        return path


def speech(rate: int = RATE) -> np.ndarray:
    """The words as tone speech, float32 in [-0.5, 0.5]."""
    return tone_speech(WORDS, rate)[0]


def _sound(
    make: Callable[[], np.ndarray], rate: int = RATE, **options: str
) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        soundfile.write(path, make(), rate, **options)

    return write


def _bytes(make: Callable[[], bytes]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_bytes(make())

    return write


def _wav_bytes(samples: np.ndarray, rate: int = RATE, subtype: str = "PCM_16") -> bytes:
    import io

    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype=subtype)
    return buffer.getvalue()


def _flac_bytes(samples: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    soundfile.write(buffer, samples, RATE, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def _garbage(size: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def _corrupt_wav() -> bytes:
    """A RIFF/WAVE header whose chunks are noise."""
    return b"RIFF\x10\x00\x00\x00WAVEfmt " + _garbage(4096)


def _with_bad_samples(value: float) -> np.ndarray:
    samples = np.full(RATE, value, dtype=np.float32)
    samples[1::2] = -value if np.isinf(value) else value
    return samples


def _speckled_speech() -> np.ndarray:
    """Speech with a handful of NaN and infinite samples, as a glitching recorder makes."""
    samples = speech().copy()
    samples[1000::7919] = np.nan
    samples[2000::9973] = np.inf
    samples[3000::8887] = -np.inf
    return samples


def _noise_over_size_limit() -> np.ndarray:
    """One-byte samples, a little more of them than the size limit allows."""
    size = int(MAX_FILE_SIZE_MB * 2**20) + 4096
    return np.random.default_rng(2).uniform(-0.5, 0.5, size).astype(np.float32)


def _clipped_speech() -> np.ndarray:
    return np.clip(speech() * 3.0, -1.0, 1.0)


def _quiet_text() -> bytes:
    return b"This is a text file, not audio.\nIt was renamed to .wav by mistake.\n" * 20


BROKEN: tuple[Case, ...] = (
    Case("empty", "empty.wav", _bytes(lambda: b""), error=r" is an empty file"),
    Case(
        "no_frames",
        "no-frames.wav",
        _bytes(lambda: _wav_bytes(np.zeros(0, dtype=np.float32))),
        error=r" is empty: there is no audio",
    ),
    Case(
        "one_sample",
        "one-sample.wav",
        _bytes(lambda: _wav_bytes(np.array([0.25], dtype=np.float32))),
        error=r" is only 0\.0625 ms long; speech needs at least 100 ms",
    ),
    Case(
        "truncated_header",
        "truncated.wav",
        _bytes(lambda: _wav_bytes(speech())[:30]),
        error=r" is not an audio file that can be read",
    ),
    Case(
        "truncated_flac",
        "truncated.flac",
        _bytes(lambda: _flac_bytes(speech())[:60]),
        error=r" is not an audio file that can be read",
    ),
    Case(
        "corrupt_wav",
        "corrupt.wav",
        _bytes(_corrupt_wav),
        error=r" is not an audio file that can be read",
    ),
    Case(
        "random_bytes",
        "noise.mp3",
        _bytes(lambda: _garbage(20_000, seed=1)),
        error=r" is not an audio file that can be read",
    ),
    Case(
        "text_as_wav",
        "notes.wav",
        _bytes(_quiet_text),
        error=r" is not an audio file that can be read",
    ),
    Case(
        "all_nan",
        "nan.wav",
        _sound(lambda: _with_bad_samples(np.nan), subtype="FLOAT"),
        error=r" is damaged: every sample in it is NaN or infinite",
    ),
    Case(
        "all_inf",
        "inf.wav",
        _sound(lambda: _with_bad_samples(np.inf), subtype="FLOAT"),
        error=r" is damaged: every sample in it is NaN or infinite",
    ),
    Case(
        "too_long",
        "long.wav",
        _sound(lambda: np.zeros(8_000 * (MAX_DURATION_S + 2), dtype=np.float32), 8_000),
        error=rf" is 7\.0 seconds long; the limit is {MAX_DURATION_S} seconds",
    ),
    Case(
        "too_long_mp3",
        "long.mp3",
        _sound(
            lambda: np.zeros(8_000 * (MAX_DURATION_S + 2), dtype=np.float32),
            8_000,
            format="MP3",
            subtype="MPEG_LAYER_III",
        ),
        error=rf" is 7\.0 seconds long; the limit is {MAX_DURATION_S} seconds",
    ),
    Case(
        "too_large",
        "large.wav",
        _sound(_noise_over_size_limit, subtype="PCM_U8"),
        error=r" is 1\.0 MB; the limit is 1 MB\.",
        refused_on_upload=True,
    ),
    Case(
        "hostile_html_name",
        HOSTILE_HTML_NAME,
        _bytes(_corrupt_wav),
        stored_name=HOSTILE_HTML_STORED,
        error=" is not an audio file that can be read",
    ),
    Case(
        "hostile_path_name",
        "..\\..\\Windows\\evil.wav",
        _bytes(_corrupt_wav),
        stored_name="....Windowsevil.wav",
        error=" is not an audio file that can be read",
    ),
    Case(
        "hostile_ampersand_name",
        "Tom & Jerry's <b>.wav",
        _bytes(_corrupt_wav),
        stored_name="Tom & Jerry's b.wav",
        error=" is not an audio file that can be read",
    ),
    Case(
        "hostile_unicode_name",
        "Ձայն «վնասված».wav",
        _bytes(_corrupt_wav),
        error=" is not an audio file that can be read",
    ),
)

VALID: tuple[Case, ...] = (
    Case(
        "silence",
        "silence.wav",
        _sound(lambda: np.zeros(2 * RATE, dtype=np.int16)),
        text="",
        note=NO_SPEECH_NOTE,
    ),
    Case("clipping", "clipped.wav", _sound(_clipped_speech, subtype="PCM_16"), text=WORDS),
    Case("pcm_u8", "8-bit.wav", _sound(speech, subtype="PCM_U8"), text=WORDS),
    Case("pcm_24", "24-bit.wav", _sound(speech, subtype="PCM_24"), text=WORDS),
    Case("float32", "float.wav", _sound(speech, subtype="FLOAT"), text=WORDS),
    Case("rate_8k", "8khz.wav", _sound(lambda: speech(8_000), 8_000, subtype="PCM_16"), text=WORDS),
    Case(
        "rate_96k",
        "96khz.wav",
        _sound(lambda: speech(96_000), 96_000, subtype="PCM_16"),
        text=WORDS,
    ),
    Case(
        "six_channels",
        "5.1.wav",
        _sound(lambda: np.outer(speech(), [1.0, 0.8, 0.6, 0.6, 0.4, 0.0]), subtype="PCM_16"),
        text=WORDS,
    ),
    Case("mp3", "speech.mp3", _sound(speech, format="MP3", subtype="MPEG_LAYER_III"), text=WORDS),
    Case("ogg", "speech.ogg", _sound(speech, format="OGG", subtype="VORBIS"), text=WORDS),
    Case("flac", "speech.flac", _sound(speech, format="FLAC", subtype="PCM_24"), text=WORDS),
    Case("speckled", "glitches.wav", _sound(_speckled_speech, subtype="FLOAT"), text=WORDS),
    Case("unicode_name", UNICODE_NAME, _sound(speech, subtype="PCM_16"), text=WORDS),
)

CASES: tuple[Case, ...] = BROKEN + VALID


def write_corpus(folder: Path) -> dict[str, Path]:
    """Every case's file under `folder/<case id>/`; returns {case id: path}."""
    return {case.id: case.make(folder) for case in CASES}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "awkward-audio")
    for case_id, path in write_corpus(out).items():
        print(f"{case_id:22} {path.stat().st_size:>9} B  {path}")
