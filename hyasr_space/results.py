"""The values that cross module borders: audio in, scores, words and text out.

    Clip -> (model.py) -> Logits -> (decoders) -> Transcript -> (transcriber.py) -> Transcription

Everything else in the package imports these downward; this module imports nothing
heavier than numpy, so the decoders, the subtitles and the CLI's formatting never pull
in torch or Gradio.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal, TypeAlias

import numpy as np

from .settings import SAMPLE_RATE

DecoderChoice: TypeAlias = Literal["greedy", "lm", "both"]


@dataclass(frozen=True, eq=False)
class Clip:
    """Mono float32 samples at `sample_rate` (16 kHz for every clip audio.py makes)."""

    samples: np.ndarray
    sample_rate: int = SAMPLE_RATE
    name: str = "recording"
    source_rate: int = field(default=SAMPLE_RATE)  # the rate before resampling

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    @cached_property
    def fingerprint(self) -> str:
        """Content hash: equal audio gives equal fingerprints whatever its name."""
        digest = hashlib.blake2b(digest_size=16)
        digest.update(str(self.sample_rate).encode())
        digest.update(np.ascontiguousarray(self.samples, dtype=np.float32).tobytes())
        return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class Logits:
    """CTC scores of one clip: `values` is (frames, vocabulary), unnormalised float32."""

    values: np.ndarray
    seconds_per_frame: float

    @property
    def frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def duration(self) -> float:
        return self.frames * self.seconds_per_frame


@dataclass(frozen=True)
class Word:
    """A recognised word, where it is (seconds from the start of the clip), and how sure
    the model is of it: `confidence` in [0, 1] from its frames' CTC posteriors, or None
    where a decoder does not say. `interpolated`: the aligner could not place it (letters
    the model cannot spell) and gave it the time between its neighbours."""

    text: str
    start: float
    end: float
    confidence: float | None = None
    interpolated: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "word": self.text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
        }
        if self.confidence is not None:
            data["confidence"] = round(self.confidence, 4)
        if self.interpolated:
            data["interpolated"] = True
        return data


@dataclass(frozen=True)
class Transcript:
    """What one decoder made of one clip."""

    text: str
    words: tuple[Word, ...]
    decoder: str  # settings.GREEDY or settings.LM
    description: str  # for people: which decoder, with which settings

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "decoder": self.decoder,
            "description": self.description,
            "words": [word.to_dict() for word in self.words],
        }

    def shifted(self, seconds: float) -> Transcript:
        """The transcript with its words moved `seconds` later (a phrase of a stream)."""
        if not seconds:
            return self
        words = tuple(
            replace(word, start=word.start + seconds, end=word.end + seconds) for word in self.words
        )
        return replace(self, words=words)


@dataclass(frozen=True)
class Transcription:
    """The text of one clip, from one or two decoders, and what produced it."""

    source: str
    duration: float
    model: str
    transcripts: tuple[Transcript, ...]
    notices: tuple[str, ...] = ()
    runtime: str = ""  # where and in which precision the model ran: "cpu, int8 (ONNX Runtime)"

    @property
    def best(self) -> Transcript:
        """The LM transcript when there is one, else the greedy one."""
        return self.transcripts[-1]

    def get(self, decoder: str) -> Transcript | None:
        return next((t for t in self.transcripts if t.decoder == decoder), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "duration": round(self.duration, 3),
            "model": self.model,
            "runtime": self.runtime,
            "decoders": {t.decoder: t.to_dict() for t in self.transcripts},
            "notices": list(self.notices),
        }


@dataclass(frozen=True)
class Phrase:
    """A stretch of a live stream between pauses: its words (seconds from the stream's
    start) and text. A closed phrase never changes; the open one may."""

    text: str
    start: float
    end: float
    words: tuple[Word, ...]

    @classmethod
    def of(cls, transcript: Transcript) -> Phrase:
        """The phrase of a (non-empty) transcript's words."""
        words = transcript.words
        return cls(transcript.text, words[0].start, words[-1].end, words)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "words": [word.to_dict() for word in self.words],
        }


@dataclass(frozen=True)
class Partial:
    """What a live stream has heard so far (streaming.LiveStream.feed).

    `stable` is the text of the closed phrases (decoded once, with the LM when chosen),
    `pending` the open phrase's greedy text, which may still change; `closed` lists the
    phrases that closed during the call that returned this, `notices` what went wrong
    with that call's audio (and what was done about it)."""

    stable: str
    pending: str
    words: tuple[Word, ...]
    open: Phrase | None
    closed: tuple[Phrase, ...]
    duration: float  # seconds of audio heard
    notices: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """Everything heard so far: the stable text, then the pending one."""
        return " ".join(part for part in (self.stable, self.pending) if part)
