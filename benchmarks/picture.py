"""The picture of the speech (hyasr_space/picture.py): time and memory for 1 and 10 minutes.

    flock /tmp/hyasr-cpu.lock python -m benchmarks.picture            # 1 and 10 minutes
    python -m benchmarks.picture --minutes 1 10 30 --repeats 3

Each measurement runs in a fresh process. Per length: the picture (`speech_picture`,
with a word every 0.55 s, their caption cuts and a beam search cut every 20 s), its PNG
encoding (what the page and `--plot` do next), the RSS peak above the start of each
(sampled every 5 ms), and the picture's size. The audio is the bundled examples (espeak-ng
Armenian) tiled to length, so the spectrogram has real speech and pauses in it.

The stock way to the same spectrogram is one `librosa.feature.melspectrogram` call over
the whole file; it is timed beside ours (block by block) with the same window, hop and
bands. No stock *picture* is measured: librosa's own (`librosa.display.specshow`) needs
matplotlib, which the project does not install.

librosa's first import on a machine compiles its numba functions and caches them beside
the package; `import_cold` times that with an empty numba cache (NUMBA_CACHE_DIR),
`import_warm` with the cache in place.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

from benchmarks.bench_common import ROOT, PeakMemory, log, machine

RATE = 16_000
WORD_EVERY_S = 0.55
LM_CUT_EVERY_S = 20.0


def tiled_speech(seconds: float) -> np.ndarray:
    import soundfile

    clips = [
        soundfile.read(path, dtype="float32")[0] for path in sorted(ROOT.glob("examples/*.wav"))
    ]
    pause = np.zeros(int(0.4 * RATE), np.float32)
    pieces, total, index = [], 0, 0
    while total < seconds * RATE:
        pieces += [clips[index % len(clips)], pause]
        total += len(pieces[-2]) + len(pause)
        index += 1
    return np.concatenate(pieces)[: int(seconds * RATE)]


def synthetic_words(seconds: float) -> list[Any]:
    from hyasr_space.results import Word

    rng = np.random.default_rng(0)
    times = np.arange(0.2, seconds - 0.5, WORD_EVERY_S)
    return [Word("բարևձեզ"[: rng.integers(2, 8)], t, t + 0.4, float(rng.random())) for t in times]


def child_picture(seconds: float, repeats: int) -> dict[str, Any]:
    import io

    from hyasr_space.picture import caption_cut_times, speech_picture
    from hyasr_space.subtitles import captions

    samples = tiled_speech(seconds)
    words = synthetic_words(seconds)
    caption_cuts = caption_cut_times(captions(words, seconds))
    lm_cuts = list(np.arange(LM_CUT_EVERY_S, seconds, LM_CUT_EVERY_S))
    speech_picture(samples[:RATE], RATE, words[:1])  # imports, font: not what is timed
    row: dict[str, Any] = {
        "seconds": seconds,
        "words": len(words),
        "caption_cuts": len(caption_cuts),
    }
    times, png_times = [], []
    for attempt in range(repeats):
        with PeakMemory() as memory:
            started = time.perf_counter()
            picture = speech_picture(
                samples, RATE, words, caption_cuts=caption_cuts, lm_cuts=lm_cuts
            )
            times.append(time.perf_counter() - started)
        with PeakMemory() as png_memory:
            started = time.perf_counter()
            buffer = io.BytesIO()
            picture.save(buffer, format="PNG")
            png_times.append(time.perf_counter() - started)
        if attempt == 0:  # the first run's peak: nothing is reused from an earlier one
            row["picture_peak_growth_mb"] = memory.growth_mb
            row["png_peak_growth_mb"] = png_memory.growth_mb
            row["size_px"] = list(picture.size)
            row["png_kb"] = round(buffer.tell() / 1024)
        del picture
    row["picture_s"] = {"best": round(min(times), 3), "median": round(float(np.median(times)), 3)}
    row["png_s"] = {
        "best": round(min(png_times), 3),
        "median": round(float(np.median(png_times)), 3),
    }
    row["audio_mb"] = round(samples.nbytes / 2**20, 1)
    return row


def child_mel(seconds: float, repeats: int, stock: bool) -> dict[str, Any]:
    import librosa

    from hyasr_space import picture

    samples = tiled_speech(seconds)
    n_fft, hop = round(picture.WINDOW_S * RATE), round(picture.HOP_S * RATE)

    def stock_mel(audio: np.ndarray) -> np.ndarray:
        mel = librosa.feature.melspectrogram(
            y=audio, sr=RATE, n_fft=n_fft, hop_length=hop, n_mels=picture.N_MELS,
            fmax=picture.FMAX_HZ,
        )  # fmt: skip
        return librosa.power_to_db(mel, ref=np.max, top_db=picture.TOP_DB)

    def our_mel(audio: np.ndarray) -> np.ndarray:
        return picture._mel_db(audio, RATE)[0]

    way = stock_mel if stock else our_mel
    way(samples[:RATE])  # imports and first calls: not what is timed
    times = []
    for attempt in range(repeats):
        with PeakMemory() as memory:
            started = time.perf_counter()
            result = way(samples)
            times.append(time.perf_counter() - started)
        if attempt == 0:
            growth = memory.growth_mb
            shape = list(result.shape)
        del result
    return {
        "seconds": seconds,
        "way": "stock: librosa.feature.melspectrogram, whole file" if stock else "ours: blocks",
        "shape": shape,
        "s": {"best": round(min(times), 3), "median": round(float(np.median(times)), 3)},
        "peak_growth_mb": growth,
    }


def child_import() -> dict[str, Any]:
    started = time.perf_counter()
    from hyasr_space.picture import speech_picture

    speech_picture(np.zeros(RATE, np.float32), RATE)  # librosa's modules load lazily
    return {"first_picture_s": round(time.perf_counter() - started, 2)}


def run_child(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.picture", "--child", *args]
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with PeakMemory():  # it imports torch to ask for CUDA: not in the figures
            pass
        kind, *rest = args.child
        if kind == "picture":
            result = child_picture(float(rest[0]), args.repeats)
        elif kind in ("stock_mel", "our_mel"):
            result = child_mel(float(rest[0]), args.repeats, stock=kind == "stock_mel")
        else:
            result = child_import()
        print(json.dumps(result))
        return

    report: dict[str, Any] = {
        "machine": machine(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "picture": [],
        "mel_spectrogram": [],
    }
    with tempfile.TemporaryDirectory() as empty_cache:
        log("librosa, cold (empty numba cache)")
        report["import_cold"] = run_child(["import"], {"NUMBA_CACHE_DIR": empty_cache})
    log("librosa, warm")
    report["import_warm"] = run_child(["import"])
    for minutes in args.minutes:
        seconds = minutes * 60
        log(f"{minutes:g} min: picture")
        report["picture"].append(run_child(["picture", str(seconds)]))
        for kind in ("our_mel", "stock_mel"):
            log(f"{minutes:g} min: {kind}")
            report["mel_spectrogram"].append(run_child([kind, str(seconds)]))
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
