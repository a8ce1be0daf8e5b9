"""Word confidence: how sure the model is of a word, in [0, 1], from its frames' CTC
posteriors. One measure for every word greedy decoding, beam search and alignment make.

A word is right when all its letters are right and it is one word: a word boundary (the
delimiter token "|") before and after it, and none inside. The confidence estimates the
probability of exactly that, as a product of posteriors:

    confidence = (product over its letters of the letter's posterior)
                 x (1 - the highest delimiter posterior inside the word)
                 x (the weaker of the highest delimiter posteriors in the gaps before
                    and after it; the clip's edges count as sure boundaries)

A letter's posterior is the best of its frames on the word's CTC path (greedy: the
argmax path; alignment: the Viterbi path; beam search, whose path pyctcdecode does not
return: the best frame for that letter within the word's frames, which ranks words as
well as the path would).

Why not the mean or the minimum of the frames' probabilities (pyctcdecode's maintainers'
suggestion in kensho-technologies/pyctcdecode issue 57, and NeMo's)? They hardly separate
right from wrong words, because most wrong words are spelled with sure letters and wrong
boundaries (two words glued, one split); the boundary terms catch those. The product is
also what a probability of "all letters right" should be: a long word is trusted no more
than its weakest letters allow. docs/alignment-and-confidence.md has the comparison as
measured (ROC AUC of each measure on the held-out clips, benchmarks/confidence.py).

Aligned words (alignment.py) take the letters alone (`boundary=None`): their boundaries
are the text's, not the model's guess, and the demo model often hears no boundary in
running speech, so the boundary terms would mark right words doubtful without finding
wrong ones any better.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WordFrames:
    """Where a word sits in the logits, and its letters' posteriors.

    `start` is its first letter's first frame, `end` one past its last letter's last
    frame; `letters` holds one posterior in [0, 1] per letter.
    """

    start: int
    end: int
    letters: np.ndarray


def word_confidences(words: Sequence[WordFrames], boundary: np.ndarray | None) -> list[float]:
    """The confidence of each word of one transcript, in order (see the module docstring).

    `boundary` is each frame's posterior of the word delimiter; None for a model without
    one, where only the letters count.
    """
    scores = []
    for index, word in enumerate(words):
        score = float(np.prod(word.letters)) if len(word.letters) else 0.0
        if boundary is not None and len(boundary):
            inside = boundary[word.start + 1 : word.end - 1]
            score *= 1.0 - float(inside.max(initial=0.0))
            edges = []
            if index > 0:
                edges.append(_gap_max(boundary, words[index - 1].end - 1, word.start))
            if index + 1 < len(words):
                edges.append(_gap_max(boundary, word.end - 1, words[index + 1].start))
            score *= min(edges, default=1.0)
        scores.append(min(max(score, 0.0), 1.0))
    return scores


def letters_in_span(probs: np.ndarray, tokens: Sequence[int], start: int, end: int) -> np.ndarray:
    """Each token's best posterior within frames [start, end) of (frames, vocabulary)
    probabilities: the letters of a word whose path is unknown (beam search)."""
    span = probs[max(start, 0) : max(end, start + 1)]
    if not len(span):
        return np.zeros(len(tokens))
    return span[:, list(tokens)].max(axis=0)


def _gap_max(boundary: np.ndarray, first: int, last: int) -> float:
    """The highest delimiter posterior in frames [first, last] (clipped to the clip)."""
    first, last = max(first, 0), min(last + 1, len(boundary))
    return float(boundary[first:last].max(initial=0.0))
