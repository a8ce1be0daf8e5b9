"""CTC beam search with a KenLM language model (pyctcdecode): `LMDecoder`, `LMSettings`.

The decoder calls pyctcdecode directly (not transformers' deprecated
`Wav2Vec2ProcessorWithLM`) with the files of the checkpoint's `language_model/` folder.
pyctcdecode keeps alpha and beta on its `LanguageModel` and changes them in place with
`reset_params`, so a shared decoder would leak one user's settings into another's
request. Instead each request gets its own light decoder: a shallow copy of the loaded
`LanguageModel` (sharing the `kenlm.Model` and the unigram trie, which are only read)
with that request's alpha and beta. Beam width and hotwords are arguments of
`decode_beams` and so per request already.

Long logits are searched in segments cut at silences (`silence_cuts`): pyctcdecode keys
its caches by the whole text so far, so one search over an hour grows about
quadratically in time and memory (benchmarks/README.md, `long_audio.py --lm`). Runs of
frames that cannot change the search are skipped (`frames_to_search`). Each word's
confidence comes from `confidence.word_confidences`.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pyctcdecode.constants import MIN_TOKEN_CLIP_P
from pyctcdecode.decoder import BeamSearchDecoderCTC, _log_softmax

from .confidence import WordFrames, letters_in_span, word_confidences
from .decoding import boundary
from .lm_settings import LMSettings, parse_hotwords
from .results import Logits, Transcript, Word
from .settings import (
    LM,
    LM_DIR,
    LM_SEGMENT_S,
    LM_SILENCE_S,
    Settings,
)
from .vocabulary import Vocabulary, alphabet_labels

log = logging.getLogger(__name__)

KENLM_SUFFIXES = (".bin", ".binary", ".klm", ".arpa")


class LMDecoder:
    """CTC beam search with a KenLM n-gram model (pyctcdecode), safe to share across threads."""

    name = LM

    def __init__(
        self,
        vocabulary: Vocabulary,
        kenlm_path: Path,
        unigrams: Sequence[str] | None,
        defaults: LMSettings,
        labels: Sequence[str] | None = None,
    ) -> None:
        import kenlm
        from pyctcdecode import Alphabet, LanguageModel

        self.vocabulary = vocabulary
        self._letter_ids = {token: index for index, token in enumerate(vocabulary.tokens)}
        self.defaults = defaults
        self.kenlm_path = kenlm_path
        self._kenlm = kenlm.Model(str(kenlm_path))
        self.order = int(self._kenlm.order)
        self._alphabet = Alphabet.build_alphabet(list(labels or vocabulary.labels()))
        self._language_model = LanguageModel(
            self._kenlm,
            unigrams,
            alpha=float(defaults.alpha),
            beta=float(defaults.beta),
            unk_score_offset=float(defaults.unk_score_offset),
            score_boundary=bool(defaults.score_boundary),
        )

    @classmethod
    def from_dir(
        cls, model_dir: Path, vocabulary: Vocabulary, settings: Settings | None = None
    ) -> LMDecoder | None:
        """The decoder for a checkpoint's `language_model/` folder; None when it has none."""
        settings = settings or Settings()
        folder = model_dir / LM_DIR
        candidates = sorted(
            p for p in folder.glob("*") if p.suffix in KENLM_SUFFIXES and p.is_file()
        )
        if not candidates:
            return None
        kenlm_path = candidates[0]
        attrs_file = folder / "attrs.json"
        attrs = json.loads(attrs_file.read_text(encoding="utf-8")) if attrs_file.is_file() else {}
        unigrams = _read_unigrams(folder / "unigrams.txt", kenlm_path)
        defaults = LMSettings.from_settings(settings, **attrs)
        return cls(
            vocabulary, kenlm_path, unigrams, defaults, alphabet_labels(model_dir, vocabulary)
        )

    def describe(self, options: LMSettings | None = None) -> str:
        settings = options or self.defaults
        text = (
            f"beam search + {self.order}-gram KenLM "
            f"(alpha {settings.alpha:g}, beta {settings.beta:g}, beam {settings.beam_width}"
        )
        if settings.hotwords:
            text += f", hotwords: {', '.join(settings.hotwords)} x{settings.hotword_weight:g}"
        return text + ")"

    def decode(self, logits: Logits, options: LMSettings | None = None) -> Transcript:
        """The best beam, searched segment by segment (`silence_cuts`)."""
        settings = options or self.defaults
        language_model = copy.copy(self._language_model)
        language_model.alpha = float(settings.alpha)
        language_model.beta = float(settings.beta)
        language_model.unk_score_offset = float(settings.unk_score_offset)
        language_model.score_boundary = bool(settings.score_boundary)
        decoder = _RequestDecoder(self._alphabet, language_model)
        scores = self.vocabulary.log_probs(logits)
        step = logits.seconds_per_frame
        hotwords = list(parse_hotwords(settings.hotwords)) or None
        spans: list[tuple[str, int, int]] = []  # word, first frame, one past its last
        cuts = silence_cuts(
            scores, self.vocabulary.blank_id, step, settings.segment_s, settings.silence_s
        )
        for first, last in zip(cuts, cuts[1:], strict=False):
            segment = scores[first:last]
            kept = frames_to_search(segment, settings.token_min_logp)
            ends = word_end_frames(kept, len(segment))
            beams = decoder.decode_beams(
                segment[kept],
                beam_width=settings.beam_width,
                beam_prune_logp=settings.beam_prune_logp,
                token_min_logp=settings.token_min_logp,
                hotwords=hotwords,
                hotword_weight=settings.hotword_weight,
            )
            _, _, word_frames, _, _ = beams[0]
            # back from the searched frames to the clip's (end is one past the last frame)
            spans += [
                (word, first + int(kept[start]), first + int(ends[end - 1]))
                for word, (start, end) in word_frames
            ]
        words = self._words(spans, scores, step)
        text = " ".join(word.text for word in words)
        return Transcript(text, tuple(words), LM, self.describe(settings))

    def _words(
        self, spans: Sequence[tuple[str, int, int]], scores: np.ndarray, step: float
    ) -> list[Word]:
        """Words with times and confidences. pyctcdecode gives no path, so a letter's
        posterior is its best frame within the word's frames (confidence.py)."""
        ids = self._letter_ids
        probs = np.exp(scores)
        frames = [
            WordFrames(
                start, end, letters_in_span(probs, [ids[c] for c in word if c in ids], start, end)
            )
            for word, start, end in spans
        ]
        confidences = word_confidences(frames, boundary(self.vocabulary, scores))
        return [
            Word(word, start * step, end * step, confidence)
            for (word, start, end), confidence in zip(spans, confidences, strict=True)
        ]


def frames_to_search(scores: np.ndarray, token_min_logp: float) -> np.ndarray:
    """The frames of (frames, vocabulary) scores that pyctcdecode's beam search must see
    to give the same transcript, in order: all but the repeats in runs of frames where
    one and the same token is the only one in reach.

    pyctcdecode tries, in each frame, the tokens whose log probability reaches
    `token_min_logp` and the frame's best. Where that is one token alone, every beam
    takes it. After one such frame every beam ends in that token, so in a second such
    frame of the same token every beam repeats it (CTC merges repeats; a blank stays a
    blank): each keeps its text and gains the same score as every other beam, which
    merges no beams, reorders none and prunes none. Such a frame only moves the end of
    the word being spelled, which `word_end_frames` puts back. What it saves, with
    identical transcripts and word times, is measured in the README (Performance).

    The test is made on the scores as pyctcdecode itself will see them (log-softmax,
    clipped), so a token at the threshold is judged exactly as it will be there.
    """
    if len(scores) == 0:
        return np.arange(0)
    log_probs = np.clip(_log_softmax(scores, axis=1), np.log(MIN_TOKEN_CLIP_P), 0)
    best = log_probs.argmax(axis=1)
    tried = log_probs >= token_min_logp
    tried[np.arange(len(tried)), best] = True
    alone = tried.sum(axis=1) == 1
    repeat = np.zeros(len(scores), dtype=bool)
    repeat[1:] = alone[1:] & alone[:-1] & (best[1:] == best[:-1])
    return np.flatnonzero(~repeat)


def word_end_frames(kept: np.ndarray, frames: int) -> np.ndarray:
    """For each searched frame, one past the last frame it stands for (the frames skipped
    after it repeat its token): the end of a word whose last letter is that frame."""
    return np.append(kept[1:], frames)


def silence_cuts(
    scores: np.ndarray,
    blank_id: int,
    seconds_per_frame: float,
    min_segment_s: float = LM_SEGMENT_S,
    silence_s: float = LM_SILENCE_S,
) -> list[int]:
    """Frames that cut (frames, vocabulary) scores into segments for beam search:
    [0, ..., frames]. A cut comes at the start of a run of at least `silence_s` where
    blank wins, once the segment is `min_segment_s` long. At the run's start, not its
    middle: a stray letter in the silence then meets the next word, as it would in one
    long search, instead of ending a segment as a word of its own."""
    blank = np.append(scores.argmax(axis=1) == blank_id, False)
    min_run = max(1, round(silence_s / seconds_per_frame))
    min_length = min_segment_s / seconds_per_frame  # may be inf: no cut at all
    cuts, run_start = [0], 0 if blank[0] else -1
    for frame in np.flatnonzero(np.diff(blank.astype(np.int8))) + 1:
        if blank[frame]:
            run_start = frame
        elif run_start >= 0:
            if frame - run_start >= min_run and frame < len(blank) - 1:
                if run_start + 1 - cuts[-1] >= min_length:
                    cuts.append(run_start + 1)
            run_start = -1
    return [*cuts, len(blank) - 1]


def _read_unigrams(path: Path, kenlm_path: Path) -> list[str] | None:
    if path.is_file():
        return [
            line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    if kenlm_path.suffix == ".arpa":
        from pyctcdecode.language_model import load_unigram_set_from_arpa

        return sorted(load_unigram_set_from_arpa(str(kenlm_path)))
    log.warning("%s has no unigrams.txt: beam search will score words less well", path.parent)
    return None


class _RequestDecoder(BeamSearchDecoderCTC):
    """A pyctcdecode decoder whose language model is its own attribute.

    pyctcdecode stores language models in a class-level dict, keyed per instance and
    freed only by an explicit `cleanup()`; a decoder made per request would leak one
    entry each. This one keeps its (shallow-copied) model on itself instead.
    """

    def __init__(self, alphabet: Any, language_model: Any) -> None:
        super().__init__(alphabet, None)
        self.cleanup()
        self._own_language_model = language_model

    @property
    def _language_model(self) -> Any:
        return self._own_language_model
