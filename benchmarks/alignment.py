"""Forced alignment: word boundary accuracy where the truth is known, and 10 minutes' cost.

    python -m benchmarks.alignment                  # accuracy (60 sentences) and 10 minutes
    python -m benchmarks.alignment --sentences 150 --minutes 0

Accuracy: each held-out test sentence (tools/heldout.json; in no training set and no LM)
is spoken word by word with espeak-ng, in the held-out voices the demo model never heard;
each word's rendering is trimmed to its sound (samples above 2 % of its peak) and the
words are joined with pauses of 0.15-0.5 s (seeded), so every word's true start and end
is known. The sentence's text is aligned to that audio with the bundled demo model, and
each word's start and end are compared with the truth: median and 95th percentile of the
absolute error, over every boundary. Three conditions: clean pauses; the same with white
noise under the whole clip (30 dB below the speech); and, for comparison, the letters'
frames alone (no snapping to the speech's edges, as an aligner without the audio gives).

Warnings: `--mismatch` held-out clips aligned with their own text, another clip's text and
half their text (how many got a warning), and with one word replaced by a word of another
sentence (how well the scores find it: ROC AUC).

Cost: `--minutes` of held-out speech (clips joined with 0.3 s pauses) with its text; the
forward pass runs first (cached, as on the page), then the alignment alone is timed, with
the peak resident memory it adds and, in a second, untimed run, the peak of numpy's
allocations (tracemalloc), against the stated bound of frames x band bytes of
back-pointers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from dataclasses import replace

import numpy as np

from benchmarks.bench_common import RATE, PeakMemory, heldout_sentences, log, machine
from hyasr_space.results import Clip
from hyasr_space.settings import Settings
from hyasr_space.text import normalize_text
from hyasr_space.transcriber import Transcriber
from tools.espeak import speak_words
from tools.synth_speech import HELDOUT_SETTINGS, Voice
from tools.synth_speech import heldout_sentences as heldout_texts

PAUSES_S = (0.15, 0.5)
NOISE_DB = 30.0


def accuracy(transcriber: Transcriber, count: int) -> dict:
    rng = np.random.default_rng(20261201)
    errors: dict[str, dict[str, list[float]]] = {}
    words = 0
    for number, sentence in enumerate(heldout_texts("test")[:count]):
        variant, rate, pitch = HELDOUT_SETTINGS[number % len(HELDOUT_SETTINGS)]
        voice = Voice(variant, rate, pitch).espeak_args()
        samples, truth = speak_words(normalize_text(sentence).split(), voice, PAUSES_S, number)
        speech_power = float(np.mean(np.concatenate([samples[int(s * RATE) : int(e * RATE)]
                                                     for s, e in truth]) ** 2))  # fmt: skip
        noise = rng.normal(0, np.sqrt(speech_power / 10 ** (NOISE_DB / 10)), len(samples))
        noisy = (samples + noise).astype(np.float32)
        runs = {
            "clean": transcriber.align(Clip(samples), sentence).best.words,
            f"noise_{NOISE_DB:g}dB": transcriber.align(Clip(noisy), sentence).best.words,
            "letters_only": transcriber.aligner.align(
                transcriber.logits(Clip(samples)), sentence
            ).transcript.words,
        }
        for name, aligned in runs.items():
            assert len(aligned) == len(truth)
            bucket = errors.setdefault(name, {"start": [], "end": []})
            for word, (start, end) in zip(aligned, truth, strict=True):
                bucket["start"].append(word.start - start)
                bucket["end"].append(word.end - end)
        words += len(truth)
    report: dict = {"sentences": count, "words": words, "pauses_s": list(PAUSES_S)}
    for name, bucket in errors.items():
        both = np.abs(np.array(bucket["start"] + bucket["end"]))
        report[name] = {
            "median_ms": round(float(np.median(both)) * 1000, 1),
            "p95_ms": round(float(np.percentile(both, 95)) * 1000, 1),
            "start_median_ms": round(float(np.median(np.abs(bucket["start"]))) * 1000, 1),
            "start_p95_ms": round(float(np.percentile(np.abs(bucket["start"]), 95)) * 1000, 1),
            "end_median_ms": round(float(np.median(np.abs(bucket["end"]))) * 1000, 1),
            "end_p95_ms": round(float(np.percentile(np.abs(bucket["end"]), 95)) * 1000, 1),
            "mean_signed_start_ms": round(float(np.mean(bucket["start"])) * 1000, 1),
            "mean_signed_end_ms": round(float(np.mean(bucket["end"])) * 1000, 1),
        }
    return report


def mismatch(transcriber: Transcriber, count: int) -> dict:
    """The warnings on wrong texts, over `count` held-out clips: each clip aligned with its
    own text, another clip's text, and the first half of its text; and the score of one
    word replaced by a word of another sentence (ROC AUC of "the word is the spoken one")."""
    from benchmarks.confidence import roc_auc

    items = heldout_sentences(count)
    rng = np.random.default_rng(0)
    warned = {"right_text": 0, "another_clips_text": 0, "half_text_missing": 0}
    scores, spoken = [], []
    for index, (audio, text) in enumerate(items):
        other = items[(index + 7) % len(items)][1]
        words = normalize_text(text).split()
        half = " ".join(words[: max(1, len(words) // 2)])
        runs = {"right_text": text, "another_clips_text": other, "half_text_missing": half}
        for name, given in runs.items():
            warned[name] += bool(transcriber.align(audio, given).notices)
        replaced = list(words)
        position = int(rng.integers(len(words)))
        stranger = normalize_text(items[(index + 11) % len(items)][1]).split()
        replaced[position] = stranger[int(rng.integers(len(stranger)))]
        aligned = transcriber.align(audio, " ".join(replaced)).best.words
        scores += [word.confidence for word in aligned]
        spoken += [new == old for new, old in zip(replaced, words, strict=True)]
    return {
        "clips": len(items),
        "warned": warned,
        "replaced_word_roc_auc": round(roc_auc(np.array(scores), np.array(spoken)), 4),
    }


def long_audio(transcriber: Transcriber, minutes: float) -> dict:
    """Align `minutes` of held-out speech with its text; time and memory of the alignment."""
    import soundfile

    items = heldout_sentences()
    pieces, texts, total, index = [], [], 0, 0
    pause = np.zeros(int(0.3 * RATE), np.float32)
    while True:  # whole clips, up to `minutes` (the app's limit is 10)
        audio, text = items[index % len(items)]
        samples, _ = soundfile.read(audio, dtype="float32")
        if total + len(samples) + len(pause) > minutes * 60 * RATE:
            break
        pieces += [samples, pause]
        texts.append(text)
        total += len(samples) + len(pause)
        index += 1
    clip = Clip(np.concatenate(pieces))
    text = " ".join(texts)
    started = time.perf_counter()
    logits = transcriber.logits(clip)
    forward_s = time.perf_counter() - started
    _trim_heap()
    with PeakMemory() as memory:
        started = time.perf_counter()
        result = transcriber.align(clip, text)
        align_s = time.perf_counter() - started
    # RSS reuses what the forward pass freed; tracemalloc sees numpy's own allocations
    # (and slows them down: its run is not timed).
    tracemalloc.start()
    transcriber.align(clip, text)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    scores = np.array([w.confidence for w in result.best.words])
    return {
        "audio_s": round(clip.duration, 1),
        "frames": logits.frames,
        "letters": len(normalize_text(text).replace(" ", "")),
        "words": len(result.best.words),
        "forward_s": round(forward_s, 2),
        "align_s": round(align_s, 2),
        "align_rss_growth_mb": memory.growth_mb,
        "align_traced_peak_mb": round(traced_peak / 2**20, 1),
        "stated_bound_mb": round(logits.frames * transcriber.settings.align_band / 2**20, 1),
        "band": transcriber.settings.align_band,
        "notices": list(result.notices),
        "median_confidence": round(float(np.median(scores)), 3),
    }


def _trim_heap() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="demo")
    parser.add_argument("--sentences", type=int, default=60)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--mismatch", type=int, default=150, help="clips for the warnings")
    args = parser.parse_args(argv)
    settings = replace(Settings(), device="cpu", fallback_model=None, warm_up=False)
    transcriber = Transcriber.load(args.model, settings=settings)
    out: dict = {"machine": machine(), "model": args.model}
    if args.sentences:
        log(f"accuracy on {args.sentences} sentences spoken word by word")
        out["accuracy"] = accuracy(transcriber, args.sentences)
    if args.mismatch:
        log(f"wrong texts on {args.mismatch} clips")
        out["mismatch"] = mismatch(transcriber, args.mismatch)
    if args.minutes:
        log(f"aligning {args.minutes:g} minutes")
        out["long"] = long_audio(transcriber, args.minutes)
    json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
