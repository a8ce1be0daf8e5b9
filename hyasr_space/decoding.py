"""Decoders turn `Logits` into a `Transcript`; greedy CTC lives here, beam search in lm.py.

Every decoder has the same face (`Decoder`): `decode(logits, options) -> Transcript`,
`describe(options)` for people, and a `name` ("greedy", "lm"). Which decoders a request's
choice ("greedy", "lm" or "both") runs is decided once, by `pick_decoders`, for the app,
the CLI and the evaluation alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from .errors import InvalidRequestError
from .results import Logits, Transcript, Word
from .settings import BOTH, DECODER_CHOICES, GREEDY, LM
from .vocabulary import Vocabulary

if TYPE_CHECKING:
    from .lm import LMSettings

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
        """The best path; `options` (beam search settings) do not apply."""
        vocab = self.vocabulary
        best = vocab.log_probs(logits).argmax(axis=1)
        words: list[Word] = []
        letters: list[str] = []
        start = end = 0
        previous = -1
        for frame, token in enumerate(best.tolist()):
            if token == previous:
                if letters and token not in (vocab.blank_id, vocab.delimiter_id):
                    end = frame + 1
                continue
            previous = token
            if token == vocab.blank_id:
                continue
            if token == vocab.delimiter_id:
                _flush(words, letters, start, end, logits.seconds_per_frame)
                continue
            if not letters:
                start = frame
            letters.append(vocab.tokens[token])
            end = frame + 1
        _flush(words, letters, start, end, logits.seconds_per_frame)
        text = " ".join(word.text for word in words)
        return Transcript(text, tuple(words), GREEDY, GREEDY_DESCRIPTION)


def _flush(words: list[Word], letters: list[str], start: int, end: int, step: float) -> None:
    if letters:
        words.append(Word("".join(letters), start * step, end * step))
        letters.clear()
