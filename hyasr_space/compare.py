"""The same audio through several models, side by side, and where their words differ.

`compare(audio, transcribers)` decodes the clip once per model, each with its own
decoder setup (its own LM and LM settings where it has one, greedy where it has none,
with the notice saying so). `word_differences` lines two texts up word by word on their
scoring forms (`text.normalize_for_scoring`: "և" and "եւ", case, punctuation and hyphens
do not count as differences), so only words that would count as errors are marked.
`evaluation.format_comparison_text` puts several models' scores on a data set in one
table.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from .audio import AudioInput, load_audio
from .errors import InvalidRequestError
from .results import DecoderChoice, Transcription
from .settings import LM
from .text import normalize_for_scoring
from .transcriber import Transcriber

# Opcode tags of difflib, named for people.
SAME = "equal"


@dataclass(frozen=True)
class Comparison:
    """One clip's transcriptions by several models, in the order asked."""

    source: str
    duration: float
    results: tuple[Transcription, ...]

    @property
    def texts(self) -> tuple[str, ...]:
        """Each model's best text (its LM's where it has one)."""
        return tuple(result.best.text for result in self.results)

    def differences(self, first: int = 0, second: int = 1) -> list[Difference]:
        """Where the best texts of two of the models differ (`word_differences`)."""
        return word_differences(self.texts[first], self.texts[second])


@dataclass(frozen=True)
class Difference:
    """A run of words: the same in both texts (`same`), or what each one has there."""

    first: tuple[str, ...]
    second: tuple[str, ...]
    same: bool


def word_differences(first: str, second: str) -> list[Difference]:
    """Two texts as runs of words, equal or differing, compared on their scoring forms."""
    a, b = first.split(), second.split()
    keys_a = [normalize_for_scoring(word) for word in a]
    keys_b = [normalize_for_scoring(word) for word in b]
    matcher = difflib.SequenceMatcher(a=keys_a, b=keys_b, autojunk=False)
    return [
        Difference(tuple(a[a0:a1]), tuple(b[b0:b1]), tag == SAME)
        for tag, a0, a1, b0, b1 in matcher.get_opcodes()
    ]


def marked_texts(first: str, second: str, left: str = "[", right: str = "]") -> tuple[str, str]:
    """Both texts with each differing run of words wrapped in `left`/`right` (terminal)."""

    def join(words: tuple[str, ...], same: bool) -> str:
        text = " ".join(words)
        return text if same or not text else f"{left}{text}{right}"

    runs = word_differences(first, second)
    one = " ".join(part for run in runs if (part := join(run.first, run.same)))
    two = " ".join(part for run in runs if (part := join(run.second, run.same)))
    return one, two


def compare(
    audio: AudioInput,
    transcribers: Sequence[Transcriber],
    decoder: DecoderChoice | str = LM,
) -> Comparison:
    """Transcribe one clip with each transcriber (read and resampled once), each with its
    own LM and LM defaults. Raises `InvalidRequestError` for fewer than two models and
    the `AudioError`s of `load_audio`."""
    if len(transcribers) < 2:
        raise InvalidRequestError(f"comparing needs two models or more, not {len(transcribers)}")
    for transcriber in transcribers:
        transcriber.decoders(decoder)  # an unknown decoder fails before the audio is read
    clip = load_audio(audio, transcribers[0].settings)
    results = tuple(transcriber.transcribe(clip, decoder) for transcriber in transcribers)
    return Comparison(clip.name, clip.duration, results)
