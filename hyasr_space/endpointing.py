"""Where a live phrase ends, read from the best token of each frame (streaming.py).

A phrase closes at the first run of `live_endpoint_s` of blank frames after a word: the
trailing-silence rule of Kaldi's online endpointing (src/online2/online-endpoint.h,
rule 2: silence after something was decoded), with CTC's blank as the silence. One that
reaches `live_max_phrase_s` closes at its longest pause instead (Kaldi's rule 5 ends an
utterance at a length; cutting at a pause keeps words whole).
"""

from __future__ import annotations

import numpy as np


def first_blank_run(blank: np.ndarray, length: int, after: int) -> int | None:
    """The first frame after `after` that starts `length` blank frames in a row."""
    if len(blank) - after - 1 < length:
        return None
    sums = np.convolve(blank[after + 1 :].astype(np.int32), np.ones(length, np.int32), "valid")
    hits = np.flatnonzero(sums == length)
    return int(after + 1 + hits[0]) if len(hits) else None


def forced_cut(blank: np.ndarray) -> int:
    """Where a phrase that reached the longest allowed closes: after the first frame of
    the longest blank run in its second half (at its end when there is none)."""
    half = len(blank) // 2
    edges = np.flatnonzero(np.diff(np.concatenate([[0], blank[half:].astype(np.int8), [0]])))
    starts, ends = edges[::2], edges[1::2]
    if not len(starts):
        return len(blank)
    longest = int(np.argmax(ends - starts))
    return half + int(starts[longest]) + 1
