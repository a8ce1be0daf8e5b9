"""Live streams (streaming.py): agreement with offline, latency, cost per step, 1B speed.

    python -m benchmarks.streaming                          # every part below
    python -m benchmarks.streaming --parts accuracy latency cost
    python -m benchmarks.streaming --parts xlsr --xlsr-seconds 60

- accuracy: the demo model's 150 held-out clips, each resampled to a random rate
  (16 / 44.1 / 48 kHz) and fed in random chunks of 10 ms to 2 s, against `transcribe()`
  of the same samples: clips whose text differs, CER/WER between the two, and WER/CER of
  both against the references, greedy and with the LM; then minute-long streams of
  held-out sentences joined with 0.3 s pauses (many phrases), against offline with 30 s
  windows, offline with 15 and 10 s windows (how much the model's own output moves with
  its context), and the references; with the running normalisation and, for comparison,
  the whole clip's statistics known in advance ("oracle").
- latency: held-out speech fed in 0.1 s chunks in real time (each chunk handed over
  when the audio would have been spoken). For each word of the final transcript: the time
  from its end in the audio to the first partial whose words reach its end (its "first
  appearance"; greedy, may still change), and to the partial in which it is stable (its
  phrase closed, decoded with the LM): p50 / p95 / max.
- cost: 30 minutes of held-out speech fed as fast as possible in 0.5 s chunks: the time
  of the steps in the first and the last minute, and resident memory (RSS) after 1 and
  after 30 minutes.
- xlsr: the XLS-R 1B architecture (random weights, benchmarks.bench_common), int8 (ONNX
  Runtime; exported once and cached in HYASR_CACHE_DIR), fed
  in real time for `--xlsr-seconds`: the step the stream settles on (streaming.py
  lengthens it while steps run slow), the real-time factor of the steps, how far behind
  real time it ends, and the partial latency. Random weights spell nothing, so the
  latency here is that of any text: when the network's output for a word's end was
  shown.

Run under the shared lock (`flock /tmp/hyasr-cpu.lock`) on a quiet machine; prints one
JSON document on stdout, progress on stderr. The figures are in docs/live-captions.md.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from typing import Any

import numpy as np

from benchmarks.bench_common import (
    heldout_sentences,
    log,
    machine,
    random_checkpoint,
    speech,
)
from hyasr_space import Transcriber
from hyasr_space.runtime.windows import clip_statistics
from hyasr_space.settings import SAMPLE_RATE, Settings
from hyasr_space.text import error_rates, normalize_text

RATE = SAMPLE_RATE
PARTS = ("accuracy", "latency", "cost", "xlsr")


def demo_transcriber(**changes: Any) -> Transcriber:
    return Transcriber.load("demo", settings=replace(Settings(), warm_up=False, **changes))


def rates(references: list[str], hypotheses: list[str]) -> dict[str, float]:
    found = error_rates(references, hypotheses)
    return {"wer": round(found.wer, 4), "cer": round(found.cer, 4)}


def feed_randomly(stream, samples: np.ndarray, rate: int, rng) -> None:
    start = 0
    while start < len(samples):
        size = int(rng.integers(int(0.01 * rate), int(2 * rate) + 1))
        stream.feed(samples[start : start + size], rate)
        start += size


def accuracy(seed: int = 0) -> dict[str, Any]:
    import soundfile
    import soxr

    transcriber = demo_transcriber()
    rng = np.random.default_rng(seed)
    texts: dict[str, dict[str, list[str]]] = {
        d: {"ref": [], "offline": [], "stream": []} for d in ("greedy", "lm")
    }
    for path, reference in heldout_sentences():
        samples, source_rate = soundfile.read(path, dtype="float32")
        rate = int(rng.choice([16_000, 44_100, 48_000]))
        if rate != source_rate:
            samples = soxr.resample(samples, source_rate, rate, quality="HQ")
        offline = transcriber.transcribe((rate, samples), "both")
        stream = transcriber.stream("both")
        feed_randomly(stream, samples, rate, rng)
        live = stream.finish()
        for decoder, bucket in texts.items():
            bucket["ref"].append(normalize_text(reference))
            bucket["offline"].append(offline.get(decoder).text)
            bucket["stream"].append(live.get(decoder).text)
    heldout = {}
    for decoder, bucket in texts.items():
        heldout[decoder] = {
            "clips": len(bucket["ref"]),
            "clips_differing": sum(
                a != b for a, b in zip(bucket["offline"], bucket["stream"], strict=True)
            ),
            "stream_vs_offline": rates(bucket["offline"], bucket["stream"]),
            "offline_vs_reference": rates(bucket["ref"], bucket["offline"]),
            "stream_vs_reference": rates(bucket["ref"], bucket["stream"]),
        }
    log(f"held-out: {heldout}")
    return {"heldout_random_chunks_and_rates": heldout, "continuous": continuous(seed)}


def continuous(seed: int) -> list[dict[str, Any]]:
    """Minute-long streams of sentences with short pauses: many phrase borders."""
    import soundfile

    items = heldout_sentences()
    rows = []
    base = demo_transcriber()
    by_window = {s: demo_transcriber(chunk_s=s) for s in (15.0, 10.0)}
    for seconds, offset in ((60, 0), (60, 40), (120, 80)):
        audio = speech(seconds, offset)
        total, index, words = 0, offset, []
        while total < seconds * RATE:  # the sentences speech() joined
            path, sentence = items[index % len(items)]
            total += soundfile.info(path).frames + int(0.3 * RATE)
            words.append(normalize_text(sentence))
            index += 1
        reference = " ".join(words)
        offline = base.transcribe((RATE, audio), "both")
        row: dict[str, Any] = {"seconds": seconds, "first_clip": offset}
        for window, other in by_window.items():
            moved = other.transcribe((RATE, audio), "both")
            row[f"offline_{window:g}s_windows_vs_30s"] = {
                d: rates([offline.get(d).text], [moved.get(d).text]) for d in ("greedy", "lm")
            }
        row["offline_vs_reference"] = {
            d: rates([reference], [offline.get(d).text]) for d in ("greedy", "lm")
        }
        for normalisation in ("running", "oracle"):
            stream = base.stream("both")
            if normalisation == "oracle":
                known = clip_statistics(audio)
                stream._stats.estimate = lambda known=known: known
            feed_randomly(stream, audio, RATE, np.random.default_rng(seed))
            live = stream.finish()
            row[f"stream_{normalisation}"] = {
                "phrases": sum(1 for *_, t in stream._segments if t is not None),
                "vs_offline": {
                    d: rates([offline.get(d).text], [live.get(d).text]) for d in ("greedy", "lm")
                },
                "vs_reference": {
                    d: rates([reference], [live.get(d).text]) for d in ("greedy", "lm")
                },
            }
        log(f"continuous: {row}")
        rows.append(row)
    return rows


def realtime(
    transcriber: Transcriber, audio: np.ndarray, chunk_s: float = 0.1, decoder: str = "lm"
) -> dict:
    """Feed `audio` as it would be spoken; per final word, when it first showed and when
    it became stable, after its end in the audio."""
    stream = transcriber.stream(decoder)
    chunk = int(chunk_s * RATE)
    seen: list[tuple[float, float, float]] = []  # (wall s, pending reach s, stable reach s)
    started = time.perf_counter()
    for start in range(0, len(audio), chunk):
        due = started + (start + chunk) / RATE  # the chunk has been spoken by then
        time.sleep(max(0.0, due - time.perf_counter()))
        partial = stream.feed(audio[start : start + chunk], RATE)
        now = time.perf_counter() - started
        reach = max((w.end for w in partial.words), default=0.0)
        stable_words = partial.words[: len(partial.words) - _pending(partial)]
        stable = max((w.end for w in stable_words), default=0.0)
        seen.append((now, reach, stable))
    behind = time.perf_counter() - started - len(audio) / RATE
    result = stream.finish()
    first, final = [], []
    for word in result.best.words:
        shown = next((t for t, reach, _ in seen if reach >= word.end - 0.04), None)
        fixed = next((t for t, _, stable in seen if stable >= word.end - 0.04), None)
        if shown is not None:
            first.append(shown - word.end)
        if fixed is not None:
            final.append(fixed - word.end)
    return {
        "audio_s": round(len(audio) / RATE, 1),
        "words": len(result.best.words),
        "first_appearance_s": _percentiles(first),
        "final_s": _percentiles(final),
        "words_final_only_at_finish": len(result.best.words) - len(final),
        "behind_real_time_at_end_s": round(behind, 3),
        "steps": stream.steps,
        "step_s_at_end": round(stream.step_s, 2),
        "compute_s": round(stream.compute_s, 2),
        "compute_per_audio_s": round(stream.compute_s / (len(audio) / RATE), 3),
        "lagging": stream.lagging,
    }


def _pending(partial) -> int:
    return len(partial.open.words) if partial.open is not None else 0


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    array = np.array(values)
    return {
        "p50": round(float(np.percentile(array, 50)), 3),
        "p95": round(float(np.percentile(array, 95)), 3),
        "max": round(float(array.max()), 3),
    }


def latency(seconds: float) -> dict[str, Any]:
    transcriber = demo_transcriber()
    transcriber.warm_up()
    found = realtime(transcriber, speech(seconds, 10))
    log(f"latency: {found}")
    return found


def cost(minutes: float) -> dict[str, Any]:
    import psutil

    transcriber = demo_transcriber()
    audio = speech(minutes * 60)
    stream = transcriber.stream("lm")
    chunk = RATE // 2
    steps: list[tuple[float, float]] = []  # (audio s, seconds the feed took)
    memory = {}
    started = time.perf_counter()
    for start in range(0, len(audio), chunk):
        before = stream.steps
        tick = time.perf_counter()
        stream.feed(audio[start : start + chunk], RATE)
        if stream.steps > before:
            steps.append((start / RATE, time.perf_counter() - tick))
        minute = int((start + chunk) / RATE // 60)
        if (start + chunk) % (60 * RATE) == 0 and minute in (1, 5, 10, 20, int(minutes)):
            rss = psutil.Process().memory_info().rss / 2**20
            memory[f"rss_mb_after_{minute}_min"] = round(rss, 1)
            _malloc_trim()  # what is really held, without the heap malloc keeps
            rss = psutil.Process().memory_info().rss / 2**20
            memory[f"rss_mb_after_{minute}_min_trimmed"] = round(rss, 1)
            log(f"{minute} min: {memory}")
    result = stream.finish()
    first = [s for t, s in steps if t < 60]
    last = [s for t, s in steps if t >= (minutes - 1) * 60]
    found = {
        "minutes": minutes,
        "wall_s": round(time.perf_counter() - started, 1),
        "step_ms_first_minute": _ms(first),
        "step_ms_last_minute": _ms(last),
        "logits_mb": round(stream.logits.values.nbytes / 2**20, 1),
        "phrases": sum(1 for *_, t in stream._segments if t is not None),
        "words": len(result.best.words),
        **memory,
    }
    log(f"cost: {found}")
    return found


def _malloc_trim() -> None:
    """Hand freed heap back to the OS (glibc), as benchmarks/long_audio.py does between
    phases: every step has a new input length, and the freed per-length buffers stay in
    malloc's heap and in oneDNN's primitive cache, which RSS counts as held."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _ms(values: list[float]) -> dict[str, float]:
    array = np.array(values) * 1000
    return {
        "steps": len(values),
        "median": round(float(np.median(array)), 2),
        "p95": round(float(np.percentile(array, 95)), 2),
    }


def xlsr(seconds: float, steps: list[float], decoder: str) -> dict[str, Any]:
    folder = random_checkpoint(48)
    rows = {}
    for step in steps:
        settings = replace(
            Settings(), dtype="int8", device="cpu", fallback_model=None, live_step_s=step
        )
        transcriber = Transcriber.load(str(folder), settings=settings)
        transcriber.warm_up()
        found = realtime(transcriber, speech(seconds, 20), decoder=decoder)
        rows[f"step_{step:g}s_{decoder}"] = found
        log(f"xlsr step {step}: {found}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--latency-seconds", type=float, default=60.0)
    parser.add_argument("--cost-minutes", type=float, default=30.0)
    parser.add_argument("--xlsr-seconds", type=float, default=60.0)
    parser.add_argument("--xlsr-steps", type=float, nargs="+", default=[0.5])
    # Random weights give flat logits, the slow case for beam search (not what a trained
    # model gives): "greedy" times the network alone.
    parser.add_argument("--xlsr-decoder", choices=("greedy", "lm"), default="lm")
    args = parser.parse_args()
    report: dict[str, Any] = {
        "machine": machine(),
        "load_average_at_start": os.getloadavg(),
        "settings": {
            name: getattr(Settings(), name)
            for name in (
                "live_step_s",
                "live_max_step_s",
                "live_left_context_s",
                "live_right_context_s",
                "live_endpoint_s",
                "live_max_phrase_s",
            )
        },
    }
    if "accuracy" in args.parts:
        report["accuracy"] = accuracy()
    if "latency" in args.parts:
        report["latency_demo_model"] = latency(args.latency_seconds)
    if "cost" in args.parts:
        report["cost_demo_model"] = cost(args.cost_minutes)
    if "xlsr" in args.parts:
        report["xlsr_1b_int8"] = xlsr(args.xlsr_seconds, args.xlsr_steps, args.xlsr_decoder)
    report["load_average_at_end"] = os.getloadavg()
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
