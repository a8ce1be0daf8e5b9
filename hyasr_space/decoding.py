"""Decoders turn `Logits` into a `Transcript`; greedy CTC lives here, beam search in lm.py.

Every decoder has the same face (`Decoder`): `decode(logits, options) -> Transcript`,
`describe(options)` for people, and a `name` ("greedy", "lm"). Which decoders a request's
choice ("greedy", "lm" or "both") runs is decided once, by `pick_decoders`, for the app,
the CLI and the evaluation alike. Every word carries a confidence from its frames'
posteriors, computed by `confidence.word_confidences`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from .confidence import WordFrames, word_confidences
from .errors import InvalidRequestError
from .lm_settings import LMSettings
from .results import Logits, Transcript, Word
from .settings import BOTH, DECODER_CHOICES, GREEDY, LM
from .vocabulary import Vocabulary

GREEDY_DESCRIPTION = "greedy CTC (no language model)"
NO_LM_NOTICE = "This model has no language model, so the text was decoded greedily."


class Decoder(Protocol):
    """What greedy decoding, beam search with an LM (and alignment, streaming) share."""

    name: str

    def describe(self, options: LMSettings | None = None) -> str:
        """Which decoder, with which settings, in words for the page and the CLI."""
        ...

    def decode(self, logits: Logits, options: LMSettings | None = None) -> Transcript: ...


def pick_decoders(
    choice: str, greedy: Decoder, lm: Decoder | None, *, strict: bool = False
) -> tuple[tuple[Decoder, ...], tuple[str, ...]]:
    """The decoders that `choice` runs, greedy first, and the notices to show with them.

    Without a language model "lm" decodes greedily and says so, unless `strict` (a score
    must name the decoder that made it), where it raises. Raises `InvalidRequestError`
    for an unknown choice.
    """
    if choice not in DECODER_CHOICES:
        raise InvalidRequestError(
            f"unknown decoder {choice!r}; choose one of {', '.join(DECODER_CHOICES)}"
        )
    if lm is None:
        if choice == LM and strict:
            raise InvalidRequestError("this model has no language model to decode with.")
        return (greedy,), ((NO_LM_NOTICE,) if choice in (LM, BOTH) else ())
    chosen: Sequence[Decoder] = {GREEDY: (greedy,), LM: (lm,), BOTH: (greedy, lm)}[choice]
    return tuple(chosen), ()


class GreedyDecoder:
    """Best token per frame, repeats merged, blanks dropped."""

    name = GREEDY

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    def describe(self, options: LMSettings | None = None) -> str:
        return GREEDY_DESCRIPTION

    def decode(self, logits: Logits, options: LMSettings | None = None) -> Transcript:
        """The best path; `options` (beam search settings) do not apply. Each word's
        confidence comes from its letters' posteriors on that path (confidence.py)."""
        vocab = self.vocabulary
        scores = vocab.log_probs(logits)
        best = scores.argmax(axis=1)
        probs = np.exp(scores.max(axis=1))
        spelled: list[tuple[str, WordFrames]] = []
        letters: list[str] = []
        posteriors: list[float] = []
        start = end = 0
        previous = -1
        for frame, token in enumerate(best.tolist()):
            if token == previous:
                if letters and token not in (vocab.blank_id, vocab.delimiter_id):
                    end = frame + 1
                    posteriors[-1] = max(posteriors[-1], float(probs[frame]))
                continue
            previous = token
            if token == vocab.blank_id:
                continue
            if token == vocab.delimiter_id:
                _flush(spelled, letters, posteriors, start, end)
                continue
            if not letters:
                start = frame
            letters.append(vocab.tokens[token])
            posteriors.append(float(probs[frame]))
            end = frame + 1
        _flush(spelled, letters, posteriors, start, end)
        step = logits.seconds_per_frame
        confidences = word_confidences([frames for _, frames in spelled], boundary(vocab, scores))
        words = [
            Word(text, frames.start * step, frames.end * step, confidence)
            for (text, frames), confidence in zip(spelled, confidences, strict=True)
        ]
        text = " ".join(word.text for word in words)
        return Transcript(text, tuple(words), GREEDY, GREEDY_DESCRIPTION)


def boundary(vocabulary: Vocabulary, scores: np.ndarray) -> np.ndarray | None:
    """Each frame's posterior of the word delimiter, from log-probabilities; None for a
    vocabulary without one."""
    if vocabulary.delimiter_id is None:
        return None
    return np.exp(scores[:, vocabulary.delimiter_id])


def _flush(
    words: list[tuple[str, WordFrames]],
    letters: list[str],
    posteriors: list[float],
    start: int,
    end: int,
) -> None:
    if letters:
        words.append(("".join(letters), WordFrames(start, end, np.array(posteriors))))
        letters.clear()
        posteriors.clear()
