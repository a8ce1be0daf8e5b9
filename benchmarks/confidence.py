"""Does word confidence mean something? Wrong words among the least confident, and ROC AUC.

    python -m benchmarks.confidence                 # the demo model, 150 held-out clips
    python -m benchmarks.confidence --model PATH --limit 50

Every held-out test clip (tools/heldout.json: sentences in no training set and no LM,
spoken by espeak-ng voices the demo model never heard) is transcribed by greedy decoding
and by beam search with the LM. Each hypothesis word is "right" when it lies in a run of
words equal to the reference (difflib on the normalised words), else wrong (a
substitution or an insertion; deleted words have no confidence to judge). Per decoder:
the share of wrong words among the 10 % least confident words and among the rest, and the
area under the ROC curve of confidence for "the word is right" (0.5: chance, 1: perfect).

The other measures compared in docs/alignment-and-confidence.md (frame mean and minimum,
letters alone) were measured once, during development, with this labelling.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import replace

import numpy as np

from benchmarks.bench_common import heldout_sentences, log, machine
from hyasr_space.settings import Settings
from hyasr_space.text import normalize_text
from hyasr_space.transcriber import Transcriber

LOWEST = 0.10


def roc_auc(scores: np.ndarray, right: np.ndarray) -> float:
    """Probability that a right word scores above a wrong one (ties count half)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    for start, count in zip(first, counts, strict=True):
        ranks[order[start : start + count]] = start + (count + 1) / 2
    positives, negatives = int(right.sum()), int((~right).sum())
    if not positives or not negatives:
        return float("nan")
    return float((ranks[right].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def judge(reference: str, hypothesis: list[str]) -> np.ndarray:
    right = np.zeros(len(hypothesis), dtype=bool)
    matcher = difflib.SequenceMatcher(a=normalize_text(reference).split(), b=hypothesis)
    for tag, _, _, first, last in matcher.get_opcodes():
        if tag == "equal":
            right[first:last] = True
    return right


def summary(scores: np.ndarray, right: np.ndarray) -> dict:
    cut = np.quantile(scores, LOWEST)
    low = scores <= cut
    return {
        "words": len(scores),
        "wrong_share": round(float(1 - right.mean()), 4),
        "lowest_10pct_words": int(low.sum()),
        "wrong_share_lowest_10pct": round(float(1 - right[low].mean()), 4),
        "wrong_share_rest": round(float(1 - right[~low].mean()), 4),
        "roc_auc": round(roc_auc(scores, right), 4),
        "median_confidence_right": round(float(np.median(scores[right])), 4),
        "median_confidence_wrong": round(float(np.median(scores[~right])), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="demo")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    settings = replace(Settings(), device="cpu", fallback_model=None, warm_up=False)
    transcriber = Transcriber.load(args.model, settings=settings)
    items = heldout_sentences(args.limit)
    log(f"transcribing {len(items)} held-out clips")
    scores: dict[str, list[float]] = {}
    right: dict[str, list[bool]] = {}
    for audio, reference in items:
        for transcript in transcriber.transcribe(audio, "both").transcripts:
            words = [word.text for word in transcript.words]
            scores.setdefault(transcript.decoder, []).extend(
                word.confidence for word in transcript.words
            )
            right.setdefault(transcript.decoder, []).extend(judge(reference, words).tolist())
    out = {"machine": machine(), "model": args.model, "clips": len(items), "decoders": {}}
    for decoder, values in scores.items():
        out["decoders"][decoder] = summary(np.array(values), np.array(right[decoder]))
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
