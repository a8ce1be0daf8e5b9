"""Forced alignment: the words of any Armenian text placed on the audio by the CTC model.

`Aligner.align(logits, text)` spells the text's words with the model's letters (through
`text.normalize_text`), finds the most likely CTC path that spells exactly them (a
Viterbi search, `ctc_path`), and gives each word the frames of its letters on that path,
a confidence (`confidence.py`: on this path it is also the word's alignment score), and,
when the audio is at hand, edges moved onto the speech's (`snap_to_speech`). The words
keep the text's spelling and punctuation for display.

The search is written here, in numpy, because torchaudio's `forced_align` cannot load
beside torch 2.13 (torchaudio 2.11, the newest release, fails to load its compiled
library there) and ctc-segmentation needs Cython; it is short. Its cost is
linear in frames x letters, with a bound: each frame keeps only `band` states (two per
letter: the letter and the blank after it) around the best state of the frame before, so
memory is frames x min(2 x letters + 1, band) bytes of back-pointers (10 minutes of audio,
30,000 frames, band 1000: 30 MB) and time grows with frames x band, not frames x letters.
A text shorter than the band is searched exactly; a longer one is exact as long as the
best path stays within a quarter band behind and three quarters ahead of the frame's
best state, which only a text with hundreds of letters missing from the audio leaves.

What cannot be aligned is said, never guessed silently:
- words with letters the model cannot spell (Latin letters, digits) are left out of the
  search and get the time between their neighbours, marked `interpolated`, with a notice
  that names the characters and where they are;
- no text, nothing spellable, or more letters than the audio has frames: an error;
- a poor match (most words below `Settings.doubtful_confidence`) or speech the text does
  not cover (a missing passage): a notice saying so, and where.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .confidence import WordFrames, word_confidences
from .errors import InvalidRequestError
from .results import Logits, Transcript, Word
from .settings import (
    ALIGN,
    ALIGN_SNAP_S,
    POOR_MATCH_SCORE,
    POOR_MATCH_SHARE,
    SAMPLE_RATE,
    UNMATCHED_SPEECH_S,
    Settings,
)
from .subtitles import format_clock
from .text import normalize_text
from .vocabulary import Vocabulary

DESCRIPTION = "forced alignment of the given text (CTC Viterbi)"
_NEG_INF = -np.inf
_SNAP_BLOCKS = 4  # energy blocks per frame when edges are snapped (5 ms for 20 ms frames)
_FOREIGN_SHOWN = 5  # foreign words named in the notice before "and N more"
_SURE_LETTER = 0.5  # a frame where a letter is this likely is speech (unmatched speech)
_UNMATCHED_GAP_S = 0.5  # unmatched letters closer than this belong to one passage
_UNMATCHED_LETTERS = 5  # ... and a passage needs this many of them (about a word)


@dataclass(frozen=True)
class TextWord:
    """One word of the text to align: as written, as the model spells it, where it is."""

    display: str  # as written, with its punctuation
    spelling: str  # normalised: the model's letters only when `foreign` is empty
    position: int  # character offset of the word in the text
    foreign: str = ""  # the characters of `display` the model cannot spell, in order


def split_text(text: str, vocabulary: Vocabulary) -> list[TextWord]:
    """The words of `text`, split on white space. A piece that normalises to nothing
    (a dash, a full stop standing alone) joins the word before it; one that normalises to
    several words (letters joined by a mark, "ա.բ") becomes those words, spelled as the
    model spells them, since the original cannot be cut at the same places reliably."""
    letters = {token for token in vocabulary.tokens if len(token) == 1}
    letters.discard(" ")
    words: list[TextWord] = []
    position = 0
    for piece in text.split():
        position = text.index(piece, position)
        spelled = normalize_text(piece).split()
        if not spelled:
            if words:
                last = words[-1]
                words[-1] = TextWord(
                    f"{last.display} {piece}", last.spelling, last.position, last.foreign
                )
            position += len(piece)
            continue
        displays = [piece] if len(spelled) == 1 else spelled
        for display, spelling in zip(displays, spelled, strict=True):
            foreign = "".join(dict.fromkeys(ch for ch in spelling if ch not in letters))
            if foreign:  # name them as written (upper case included)
                foreign = "".join(dict.fromkeys(ch for ch in piece if ch.lower() in foreign))
            words.append(TextWord(display, spelling, position, foreign))
        position += len(piece)
    return words


def ctc_path(log_probs: np.ndarray, tokens: Sequence[int], blank_id: int, band: int) -> np.ndarray:
    """The most likely CTC path through (frames, vocabulary) log-probabilities that spells
    `tokens`: the state of each frame, where state 2k+1 is token k and the even states
    are the blanks before, between and after the tokens (2 x len(tokens) + 1 states).

    Each frame keeps `band` states at most (see the module docstring). Raises
    `InvalidRequestError` when the tokens need more frames than there are.
    """
    frames, count = len(log_probs), len(tokens)
    states = 2 * count + 1
    token_ids = np.asarray(tokens, dtype=np.int64)
    state_token = np.full(states, blank_id, dtype=np.int64)
    state_token[1::2] = token_ids
    # A token may follow the one before it directly (skipping the blank) unless it
    # repeats it: CTC would merge the two.
    repeat = np.zeros(count, dtype=np.int64)
    repeat[1:] = token_ids[1:] == token_ids[:-1]
    skip = np.zeros(states, dtype=bool)
    skip[3::2] = repeat[1:] == 0
    # reach[s]: the fewest frames that end in state s; need[s]: the fewest frames after
    # one in state s to finish. States outside both are dead and never computed.
    repeats = np.cumsum(repeat)
    reach = np.empty(states, dtype=np.int64)
    reach[0] = 1
    reach[1::2] = np.arange(1, count + 1) + repeats
    reach[2::2] = reach[1::2] + 1
    need = np.empty(states, dtype=np.int64)
    need[0] = count + repeats[-1] if count else 0
    need[1::2] = count - 1 - np.arange(count) + repeats[-1] - repeats
    need[2::2] = need[1::2]
    need[2:-1:2] -= repeat[1:]
    shortest = int(reach[-2]) if count else 1
    if frames < shortest:
        raise InvalidRequestError(
            f"the text needs at least {shortest} frames of audio and there are {frames}"
        )
    steps = np.arange(frames)
    highs = np.searchsorted(reach, steps + 1, side="right")
    lows = states - np.searchsorted(need[::-1], frames - 1 - steps, side="right")
    width = min(states, band)
    back = np.zeros((frames, width), dtype=np.int8)  # 0 stay, 1 from s-1, 2 from s-2
    starts = np.zeros(frames, dtype=np.int64)
    score = np.full(states + 2, _NEG_INF)  # two dead states in front: index s + 2
    low_before = high_before = best = 0
    for frame in range(frames):
        low, high = int(lows[frame]), int(highs[frame])
        if states > width:
            low = max(low, best - width // 4)
            high = min(high, low + width)
        if frame == 0:
            new = np.full(high - low, _NEG_INF)
            new[: 2 - low] = 0.0
            choice = np.zeros(high - low, dtype=np.int8)
        else:
            new = score[low + 2 : high + 2].copy()
            choice = np.zeros(high - low, dtype=np.int8)
            one = score[low + 1 : high + 1]
            better = one > new
            new[better] = one[better]
            choice[better] = 1
            two = np.where(skip[low:high], score[low:high], _NEG_INF)
            better = two > new
            new[better] = two[better]
            choice[better] = 2
        new += log_probs[frame, state_token[low:high]]
        score[low_before + 2 : high_before + 2] = _NEG_INF
        score[low + 2 : high + 2] = new
        back[frame, : high - low] = choice
        starts[frame] = low
        best = low + int(np.argmax(new))
        low_before, high_before = low, high
    state = states - 1 if score[states + 1] >= score[states] or count == 0 else states - 2
    path = np.empty(frames, dtype=np.int64)
    for frame in range(frames - 1, -1, -1):
        path[frame] = state
        state -= back[frame, state - starts[frame]]
    return path


@dataclass(frozen=True)
class Alignment:
    """An aligned text: its transcript (decoder "align") and what to tell the user."""

    transcript: Transcript
    notices: tuple[str, ...]


class Aligner:
    """Aligns a given text to a clip's logits (thread-safe: it keeps no request state)."""

    name = ALIGN

    def __init__(self, vocabulary: Vocabulary, settings: Settings | None = None) -> None:
        self.vocabulary = vocabulary
        self.settings = settings or Settings()
        self._ids = {token: index for index, token in enumerate(vocabulary.tokens)}

    def describe(self) -> str:
        return DESCRIPTION

    def align(
        self,
        logits: Logits,
        text: str,
        samples: np.ndarray | None = None,
        sample_rate: int = SAMPLE_RATE,
    ) -> Alignment:
        """The words of `text` with times and confidences, and the notices for the user.

        With the clip's `samples`, word edges move onto the speech's (`snap_to_speech`).
        Raises `InvalidRequestError` for text with nothing to align or too long for the
        audio.
        """
        vocab = self.vocabulary
        words = self.prepare(text)
        placed = [index for index, word in enumerate(words) if not word.foreign]
        notices = [_foreign_notice(words)] if len(placed) < len(words) else []
        tokens, owner, first_letter = self._tokens([words[i].spelling for i in placed])
        log_probs = vocab.log_probs(logits)
        step = logits.seconds_per_frame
        try:
            path = ctc_path(log_probs, tokens, vocab.blank_id, self.settings.align_band)
        except InvalidRequestError:
            letters = sum(len(words[i].spelling) for i in placed)
            raise InvalidRequestError(
                f"The text is too long for the audio: its {letters} letters need more than "
                f"the {logits.duration:.1f} s of audio hold (one letter at most every "
                f"{step * 1000:.0f} ms). Is it the text of this recording?"
            ) from None
        probs = np.exp(log_probs)
        frames = self._word_frames(path, probs, tokens, owner, first_letter, len(placed))
        # The text, not the model, says where words begin and end: letters alone count
        # (confidence.py).
        scores = word_confidences(frames, None)
        spans = [(f.start * step, f.end * step) for f in frames]
        if samples is not None and len(samples):
            spans = snap_to_speech(
                [(f.start, f.end) for f in frames], samples, sample_rate, step, ALIGN_SNAP_S
            )
        aligned: list[Word | None] = [None] * len(words)
        for index, (start, end), score in zip(placed, spans, scores, strict=True):
            aligned[index] = Word(words[index].display, start, end, score)
        result = _interpolate(words, aligned, logits.duration)
        notices += self._warnings(result, placed, path, log_probs, tokens, step)
        transcript = Transcript(" ".join(w.text for w in result), tuple(result), ALIGN, DESCRIPTION)
        return Alignment(transcript, tuple(notices))

    def prepare(self, text: str) -> list[TextWord]:
        """The words of `text` to align (`split_text`). Raises `InvalidRequestError` when
        there are none, or none the model can spell."""
        words = split_text(text, self.vocabulary)
        if not words:
            raise InvalidRequestError("There is no text to align: write the words spoken.")
        if all(word.foreign for word in words):
            raise InvalidRequestError(
                "Nothing in the text can be aligned: the model spells only Armenian letters. "
                + _foreign_notice(words)
            )
        return words

    def _tokens(self, spellings: Sequence[str]) -> tuple[list[int], np.ndarray, list[int]]:
        """Token ids of the words with delimiters between them, the word each token spells
        (-1 for a delimiter), and each word's first token."""
        tokens: list[int] = []
        owner: list[int] = []
        first: list[int] = []
        delimiter = self.vocabulary.delimiter_id
        for number, spelling in enumerate(spellings):
            if number and delimiter is not None:
                tokens.append(delimiter)
                owner.append(-1)
            first.append(len(tokens))
            tokens += [self._ids[letter] for letter in spelling]
            owner += [number] * len(spelling)
        return tokens, np.asarray(owner), first

    @staticmethod
    def _word_frames(
        path: np.ndarray,
        probs: np.ndarray,
        tokens: Sequence[int],
        owner: np.ndarray,
        first_letter: Sequence[int],
        count: int,
    ) -> list[WordFrames]:
        on_token = path % 2 == 1
        token_of_frame = np.where(on_token, (path - 1) // 2, -1)
        letter_frames = np.flatnonzero(on_token & (owner[np.maximum(token_of_frame, 0)] >= 0))
        letter_tokens = token_of_frame[letter_frames]
        chosen = probs[letter_frames, np.asarray(tokens)[letter_tokens]]
        best = np.zeros(len(tokens))
        np.maximum.at(best, letter_tokens, chosen)
        word_of_frame = owner[letter_tokens]
        edges = np.searchsorted(word_of_frame, np.arange(count + 1))
        ends = [*first_letter[1:], len(tokens)]
        result = []
        for word in range(count):
            frames = letter_frames[edges[word] : edges[word + 1]]
            letters = best[first_letter[word] : ends[word]]
            letters = letters[owner[first_letter[word] : ends[word]] >= 0]
            result.append(WordFrames(int(frames[0]), int(frames[-1]) + 1, letters))
        return result

    def _warnings(
        self,
        words: Sequence[Word],
        placed: Sequence[int],
        path: np.ndarray,
        log_probs: np.ndarray,
        tokens: Sequence[int],
        step: float,
    ) -> list[str]:
        notices = []
        poor = sum(1 for i in placed if (words[i].confidence or 0.0) < POOR_MATCH_SCORE)
        if poor > POOR_MATCH_SHARE * len(placed):
            notices.append(
                f"The text matches the audio poorly: {poor} of its {len(placed)} words "
                f"score below {POOR_MATCH_SCORE:g}. Is it the text of this recording?"
            )
        for start, end in unmatched_speech(path, log_probs, tokens, self.vocabulary, step):
            notices.append(
                f"Speech from {format_clock(start, 1)} to {format_clock(end, 1)} has no words "
                "in the text "
                "(the words around it may be stretched over it): is part of the text missing?"
            )
        return notices


def unmatched_speech(
    path: np.ndarray,
    log_probs: np.ndarray,
    tokens: Sequence[int],
    vocabulary: Vocabulary,
    step: float,
) -> list[tuple[float, float]]:
    """Stretches (start, end seconds) where the model hears letters that the path does not
    spell: at least `_UNMATCHED_LETTERS` of them, none more than `_UNMATCHED_GAP_S` from the
    next, over at least `UNMATCHED_SPEECH_S`. A misspelt word leaves one or two such
    letters; a passage missing from the text leaves many."""
    heard = log_probs.argmax(axis=1)
    sure = log_probs.max(axis=1) >= math.log(_SURE_LETTER)
    speech_tokens = np.ones(log_probs.shape[1], dtype=bool)
    speech_tokens[[vocabulary.blank_id, *vocabulary.special_ids]] = False
    if vocabulary.delimiter_id is not None:
        speech_tokens[vocabulary.delimiter_id] = False
    spelled = np.where(path % 2 == 1, np.asarray(tokens)[np.maximum(path - 1, 0) // 2], -1)
    unmatched = sure & speech_tokens[heard] & (heard != spelled)
    onsets = np.flatnonzero(unmatched & np.append(True, heard[1:] != heard[:-1]))
    stretches: list[tuple[float, float]] = []
    gap = _UNMATCHED_GAP_S / step
    group: list[int] = []
    for frame in [*onsets.tolist(), None]:
        if frame is not None and (not group or frame - group[-1] <= gap):
            group.append(frame)
            continue
        if (
            len(group) >= _UNMATCHED_LETTERS
            and (group[-1] + 1 - group[0]) * step >= UNMATCHED_SPEECH_S
        ):
            stretches.append((group[0] * step, (group[-1] + 1) * step))
        group = [frame] if frame is not None else []
    return stretches


def snap_to_speech(
    spans: Sequence[tuple[int, int]],
    samples: np.ndarray,
    sample_rate: int,
    step: float,
    max_snap_s: float,
) -> list[tuple[float, float]]:
    """Word spans (frames of their first and last letters) as seconds, each edge moved
    outwards by at most `max_snap_s` while the audio stays loud (5 ms blocks), never onto a
    neighbour's letters; where two neighbours meet in loud audio, at its quietest block.

    CTC puts a letter's peak anywhere in its sound, so letters alone give words that start
    late and end early (docs/alignment-and-confidence.md has the measured difference).
    "Loud" is 15 dB above the clip's quietest tenth and within 45 dB of its loudest blocks,
    so background noise and breath stay out.
    """
    block = max(1, round(step * sample_rate / _SNAP_BLOCKS))
    count = len(samples) // block
    if count == 0 or not spans:
        return [(start * step, end * step) for start, end in spans]
    level = _block_levels(samples, block, count)
    floor, peak = np.percentile(level, [10, 99])
    loud = level > max(floor + 15, peak - 45)
    reach = max(0, round(max_snap_s * sample_rate / block))
    letters = [(start * _SNAP_BLOCKS, end * _SNAP_BLOCKS) for start, end in spans]
    edges = []
    for index, (start, end) in enumerate(letters):
        start, end = min(start, count), min(end, count)
        lowest = max(letters[index - 1][1] if index else 0, start - reach)
        highest = min(letters[index + 1][0] if index + 1 < len(letters) else count, end + reach)
        while start > lowest and loud[start - 1]:
            start -= 1
        while end < min(highest, count) and loud[end]:
            end += 1
        edges.append([start, end])
    for index in range(1, len(edges)):
        if edges[index - 1][1] > edges[index][0]:  # both grew into the same loud gap
            first, last = letters[index - 1][1], max(letters[index][0], letters[index - 1][1] + 1)
            quietest = first + int(np.argmin(level[first:last])) if last <= count else first
            edges[index - 1][1] = edges[index][0] = quietest
    seconds = block / sample_rate
    return [(start * seconds, end * seconds) for start, end in edges]


def _block_levels(samples: np.ndarray, block: int, count: int) -> np.ndarray:
    """Each block's mean power in dB, a minute of audio at a time (no float64 copy of an
    hour's samples)."""
    levels = np.empty(count)
    rows = max(1, 60 * SAMPLE_RATE // block)
    for first in range(0, count, rows):
        last = min(first + rows, count)
        piece = samples[first * block : last * block].astype(np.float64).reshape(-1, block)
        levels[first:last] = np.square(piece).mean(axis=1)
    return 10 * np.log10(levels + 1e-10)


def _interpolate(
    words: Sequence[TextWord], aligned: list[Word | None], duration: float
) -> list[Word]:
    """Words that could not be aligned get the time between their aligned neighbours,
    shared by letters; at either end of the text, as long as their letters take at the
    pace of the aligned words."""
    times = [w for w in aligned if w is not None]
    letters = sum(len(words[i].spelling) for i, w in enumerate(aligned) if w is not None)
    pace = sum(w.end - w.start for w in times) / max(letters, 1)
    result = list(aligned)
    index = 0
    while index < len(words):
        if aligned[index] is not None:
            index += 1
            continue
        stop = index
        while stop < len(words) and aligned[stop] is None:
            stop += 1
        run = words[index:stop]
        sizes = [max(len(w.spelling), 1) for w in run]
        before = aligned[index - 1].end if index else None
        after = aligned[stop].start if stop < len(words) else None
        if before is None and after is None:
            before, after = 0.0, duration
        elif before is None:
            before = max(0.0, after - pace * sum(sizes))
        elif after is None:
            after = min(duration, before + pace * sum(sizes))
        position = before
        share = (after - before) / sum(sizes)
        for offset, (word, size) in enumerate(zip(run, sizes, strict=True)):
            end = position + share * size
            result[index + offset] = Word(word.display, position, end, 0.0, interpolated=True)
            position = end
        index = stop
    return [w for w in result if w is not None]


def _foreign_notice(words: Sequence[TextWord]) -> str:
    foreign = [w for w in words if w.foreign]
    described = [
        f"“{w.display}” (character {w.position + 1}: {', '.join(w.foreign)})"
        for w in foreign[:_FOREIGN_SHOWN]
    ]
    more = f" and {len(foreign) - _FOREIGN_SHOWN} more" if len(foreign) > _FOREIGN_SHOWN else ""
    return (
        "The model cannot spell "
        + "; ".join(described)
        + more
        + ": only Armenian letters. "
        + ("Its time is" if len(foreign) == 1 else "Their times are")
        + " interpolated between the neighbouring words and marked as such; "
        "write numbers and foreign words as they are spoken, in Armenian letters, to align them."
    )
