"""CTC decoding of `Logits`: greedy, and beam search with a KenLM language model.

Both decoders read the same logits and return a `Transcript` whose words carry start and
end times in seconds. Special tokens (`<s>`, `</s>`, `[UNK]`) are masked out of the
scores before either decoder looks at them, so they can never appear in the text.

The LM decoder calls pyctcdecode directly (not transformers' deprecated
`Wav2Vec2ProcessorWithLM`) with files from the checkpoint's `language_model/` folder.
pyctcdecode keeps alpha and beta on its `LanguageModel` and changes them in place with
`reset_params`, so a shared decoder would leak one user's settings into another's
request. Instead each request gets its own light decoder: a shallow copy of the loaded
`LanguageModel` (sharing the `kenlm.Model` and the unigram trie, which are only read)
with that request's alpha and beta. Beam width and hotwords are arguments of
`decode_beams` and so per request already.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from pyctcdecode.constants import MIN_TOKEN_CLIP_P
from pyctcdecode.decoder import BeamSearchDecoderCTC, _log_softmax

from .errors import InvalidRequestError
from .model import Logits
from .settings import Settings
from .text import PAD_TOKEN, VOCAB, WORD_DELIMITER, normalize_text

log = logging.getLogger(__name__)

GREEDY = "greedy"
LM = "lm"
LM_DIR = "language_model"
KENLM_SUFFIXES = (".bin", ".binary", ".klm", ".arpa")
_SPECIAL = re.compile(r"^(<.+>|\[.+\])$")
_PRIVATE_USE = 0xE000
# Beam search over long logits goes in segments cut at silences: pyctcdecode keys its
# caches by the whole text so far, so one search over an hour grows ~quadratically in
# time and memory (benchmarks/README.md). A cut needs blank to win for SILENCE_S, and
# comes once the segment is SEGMENT_MIN_S long.
SEGMENT_MIN_S = 20.0
SILENCE_S = 0.5
_MASKED = -1.0e4  # log-probability of a masked token: far below pyctcdecode's floor (-34.5)


@dataclass(frozen=True)
class Word:
    """A recognised word and where it is, in seconds from the start of the clip."""

    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Transcript:
    """What one decoder made of one clip."""

    text: str
    words: tuple[Word, ...]
    decoder: str  # GREEDY or LM
    description: str  # for people: which decoder, with which settings

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "decoder": self.decoder,
            "description": self.description,
            "words": [
                {"word": w.text, "start": round(w.start, 3), "end": round(w.end, 3)}
                for w in self.words
            ],
        }


@dataclass(frozen=True)
class Vocabulary:
    """The tokens of the logits' columns, in column order."""

    tokens: tuple[str, ...]
    blank_id: int
    delimiter_id: int | None

    @cached_property
    def special_ids(self) -> tuple[int, ...]:
        """Columns that never become text: `<s>`, `</s>`, `[UNK]` and other bracketed tokens."""
        return tuple(
            index
            for index, token in enumerate(self.tokens)
            if index != self.blank_id and _SPECIAL.match(token)
        )

    @classmethod
    def default(cls) -> Vocabulary:
        """The seed model's 44 tokens (text.VOCAB)."""
        tokens = tuple(sorted(VOCAB, key=VOCAB.__getitem__))
        return cls(tokens, VOCAB[PAD_TOKEN], VOCAB[WORD_DELIMITER])

    @classmethod
    def from_dir(cls, path: Path, size: int | None = None) -> Vocabulary:
        """Read `vocab.json` (+ `added_tokens.json`, `tokenizer_config.json`) of a checkpoint.

        `size` is the number of logit columns; ids the files do not name become
        placeholder special tokens.
        """
        ids: dict[str, int] = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        added = path / "added_tokens.json"
        if added.is_file():
            ids.update(json.loads(added.read_text(encoding="utf-8")))
        config_file = path / "tokenizer_config.json"
        config = (
            json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        )
        pad = _token_name(config.get("pad_token")) or PAD_TOKEN
        delimiter = _token_name(config.get("word_delimiter_token")) or WORD_DELIMITER
        size = max(size or 0, max(ids.values()) + 1)
        tokens = [f"<unused-{index}>" for index in range(size)]
        for token, index in ids.items():
            tokens[index] = token
        if pad not in ids:
            raise ValueError(f"{path}: the blank token {pad} is not in vocab.json")
        return cls(tuple(tokens), ids[pad], ids.get(delimiter))

    def labels(self) -> list[str]:
        """pyctcdecode's labels: blank "", delimiter " ", letters as they are.

        Special tokens (masked, so never emitted) get one private-use character each:
        pyctcdecode wants unique labels and warns about multi-character ones.
        """
        labels = list(self.tokens)
        labels[self.blank_id] = ""
        if self.delimiter_id is not None:
            labels[self.delimiter_id] = " "
        for index in self.special_ids:
            labels[index] = chr(_PRIVATE_USE + index)
        return labels

    def log_probs(self, logits: Logits) -> np.ndarray:
        """Log-softmax over the columns that can become text; specials get ~ -inf."""
        scores = np.array(logits.values, dtype=np.float32)
        if scores.shape[1] != len(self.tokens):
            raise ValueError(
                f"logits have {scores.shape[1]} columns, the vocabulary {len(self.tokens)} tokens"
            )
        special = list(self.special_ids)
        scores[:, special] = -np.inf
        scores -= scores.max(axis=1, keepdims=True)
        scores -= np.log(np.exp(scores).sum(axis=1, keepdims=True))
        scores[:, special] = _MASKED
        return scores


def _token_name(value: Any) -> str | None:
    if isinstance(value, dict):  # {"content": "[PAD]", ...} in newer tokenizer configs
        return value.get("content")
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class LMSettings:
    """Beam search settings of one request (defaults: the checkpoint's `attrs.json`)."""

    alpha: float = 0.5
    beta: float = 1.5
    beam_width: int = 100
    hotwords: tuple[str, ...] = ()
    hotword_weight: float = 10.0
    unk_score_offset: float = -10.0
    score_boundary: bool = True
    beam_prune_logp: float = -10.0
    token_min_logp: float = -5.0
    max_beam_width: int = field(default=500, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.alpha <= 100:
            raise InvalidRequestError(f"alpha must be between 0 and 100, not {self.alpha}")
        if not -100 <= self.beta <= 100:
            raise InvalidRequestError(f"beta must be between -100 and 100, not {self.beta}")
        if not 1 <= self.beam_width <= self.max_beam_width:
            raise InvalidRequestError(
                f"beam width must be between 1 and {self.max_beam_width}, not {self.beam_width}"
            )
        if not 0 <= self.hotword_weight <= 100:
            raise InvalidRequestError(
                f"hotword weight must be between 0 and 100, not {self.hotword_weight}"
            )

    @classmethod
    def from_settings(cls, settings: Settings, **attrs: Any) -> LMSettings:
        """Defaults from `Settings`, overridden by a checkpoint's attrs.json values."""
        known = {"alpha", "beta", "unk_score_offset", "score_boundary"}
        return cls(
            beam_width=settings.beam_width,
            hotword_weight=settings.hotword_weight,
            beam_prune_logp=settings.beam_prune_logp,
            token_min_logp=settings.token_min_logp,
            max_beam_width=settings.max_beam_width,
            **{key: value for key, value in attrs.items() if key in known},
        )


def parse_hotwords(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """Hotwords from a comma/newline separated string or a list, normalised like the model's
    output (lowercase Armenian, no punctuation), duplicates and blanks dropped."""
    if text is None:
        return ()
    items = re.split(r"[,\n;]", text) if isinstance(text, str) else list(text)
    words = (normalize_text(item) for item in items)
    return tuple(dict.fromkeys(word for word in words if word))


class GreedyDecoder:
    """Best token per frame, repeats merged, blanks dropped."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    def decode(self, logits: Logits) -> Transcript:
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
        return Transcript(text, tuple(words), GREEDY, "greedy CTC (no language model)")


def _flush(words: list[Word], letters: list[str], start: int, end: int, step: float) -> None:
    if letters:
        words.append(Word("".join(letters), start * step, end * step))
        letters.clear()


class LMDecoder:
    """CTC beam search with a KenLM n-gram model (pyctcdecode), safe to share across threads."""

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
            vocabulary, kenlm_path, unigrams, defaults, _alphabet_labels(model_dir, vocabulary)
        )

    def describe(self, settings: LMSettings) -> str:
        text = (
            f"beam search + {self.order}-gram KenLM "
            f"(alpha {settings.alpha:g}, beta {settings.beta:g}, beam {settings.beam_width}"
        )
        if settings.hotwords:
            text += f", hotwords: {', '.join(settings.hotwords)} x{settings.hotword_weight:g}"
        return text + ")"

    def decode(self, logits: Logits, settings: LMSettings | None = None) -> Transcript:
        settings = settings or self.defaults
        language_model = copy.copy(self._language_model)
        language_model.alpha = float(settings.alpha)
        language_model.beta = float(settings.beta)
        language_model.unk_score_offset = float(settings.unk_score_offset)
        language_model.score_boundary = bool(settings.score_boundary)
        decoder = _RequestDecoder(self._alphabet, language_model)
        scores = self.vocabulary.log_probs(logits)
        step = logits.seconds_per_frame
        hotwords = list(parse_hotwords(settings.hotwords)) or None
        words: list[Word] = []
        cuts = silence_cuts(scores, self.vocabulary.blank_id, step)
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
            words += [
                Word(word, (first + kept[start]) * step, (first + ends[end - 1]) * step)
                for word, (start, end) in word_frames
            ]
        text = " ".join(word.text for word in words)
        return Transcript(text, tuple(words), LM, self.describe(settings))


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
    the word being spelled, which `word_end_frames` puts back. On the demo model's 150
    held-out test clips the search sees 28 % fewer frames and takes 13-16 % less time,
    with every transcript and word time identical to the full search's (README,
    Performance).

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
    min_segment_s: float = SEGMENT_MIN_S,
    silence_s: float = SILENCE_S,
) -> list[int]:
    """Frames that cut (frames, vocabulary) scores into segments for beam search:
    [0, ..., frames]. A cut comes at the start of a run of at least `silence_s` where
    blank wins, once the segment is `min_segment_s` long. At the run's start, not its
    middle: a stray letter in the silence then meets the next word, as it would in one
    long search, instead of ending a segment as a word of its own."""
    blank = np.append(scores.argmax(axis=1) == blank_id, False)
    min_run = max(1, round(silence_s / seconds_per_frame))
    min_length = round(min_segment_s / seconds_per_frame)
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


def _alphabet_labels(model_dir: Path, vocabulary: Vocabulary) -> list[str]:
    """Labels from alphabet.json when it is there and agrees with vocab.json, else vocab.json."""
    labels = vocabulary.labels()
    path = model_dir / "alphabet.json"
    if not path.is_file():
        return labels
    stored = json.loads(path.read_text(encoding="utf-8")).get("labels", [])
    agrees = len(stored) == len(labels) and stored[vocabulary.blank_id] == ""
    if vocabulary.delimiter_id is not None:
        agrees = agrees and stored[vocabulary.delimiter_id] == " "
    if not agrees:
        log.warning("%s does not match vocab.json; using vocab.json", path)
        return labels
    for index in vocabulary.special_ids:  # masked anyway; see Vocabulary.labels
        stored[index] = labels[index]
    return stored


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
