"""Latency, forward and decode time, memory and throughput: our paths against transformers' own.

    python -m benchmarks.speed                        # XLS-R 1B, random weights (~6 min on 2 cores)
    python -m benchmarks.speed --layers 4             # the same architecture cut to 4 layers
    python -m benchmarks.speed --model demo --paths stock fp32 int8 --seconds 10 60

Paths, all on the same checkpoint, audio and machine, in one process:

- stock:      transformers `pipeline("automatic-speech-recognition", model=...,
              feature_extractor=..., tokenizer=...)`, greedy; with a pyctcdecode `decoder=`
              (same KenLM, same alpha/beta, beam 100) for LM. It shares the fp32 network
              object with `fp32`.
- fp32:       our `Transcriber` (AcousticModel: SDPA, inference_mode, chunked) in float32.
- int8:       our `Transcriber` with HYASR_DTYPE=int8 (ONNX Runtime, int8 matmuls; quantized.py).
- torch-int8: our `Transcriber` on `torch.ao.quantization.quantize_dynamic(nn.Linear)`, for
              comparison (it quantises the shared network in place, so it runs last).
- bf16:       our `Transcriber` in bfloat16 (the GPU default; on a CPU with native bf16,
              what serves while int8 is exported).
- compiled:   `HYASR_COMPILE=1`: the device's default dtype under torch.compile (CUDA
              graphs on a GPU), inputs padded to 5 s length buckets; compiling every
              bucket is part of its load time.
- batched:    the device's default dtype with cross-request batching (`HYASR_REQUEST_BATCH=8`,
              batching.py); the same as that dtype's path at batch 1, so it is measured in
              the concurrency run only, where requests can share a forward pass.

`--device cuda` runs everything on the GPU: the stock pipeline in float32 (its default),
ours in bf16; peak GPU memory is reported per row (`gpu_peak_growth_mb`). int8 and
torch-int8 are CPU paths: leave them out there.

For each path and clip length: end-to-end latency greedy and with the LM (audio array in,
text out; one warm-up first), the forward pass alone (and the CPU seconds it took, all
threads: on a machine shared with other jobs they say more than wall time), greedy and
LM decode times, and the peak resident memory above what the process held before
(sampled every 5 ms). The int8 row carries what its export recorded (`export`: stage
times and the exporting child's peak RSS), whether it ran now or in an earlier run. Then 8
concurrent requests (threads, each its own clip, so the logits cache cannot help) and
the throughput in audio seconds per wall second.

Realistic LM timings: the beam search is fast on confident logits and slow on flat ones,
and random weights make flat ones. With random weights (the default) every LM time is
measured on logits that spell held-out sentences (the demo model's when it exists, else
`bench_common.peaky_logits`), and "e2e with LM" is e2e greedy plus that decode, for the
stock pipeline (its decoder's `decode_beams`) and ours alike; the JSON says
`"lm_e2e": "composed"`. With a trained `--model` the LM runs end to end (`"measured"`).

On a small CPU the full 1B model is slow in float32, so by default the slow paths (stock,
fp32, torch-int8) run the 10 s clip only, and the 60 s clip and the concurrency run are
for int8 (`--slow-seconds`, `--concurrent-paths` change that). The figures, with their
machines and dates, are in docs/performance.md.
Prints one JSON document on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_common import (
    RATE,
    PeakMemory,
    heldout_sentences,
    log,
    machine,
    peaky_logits_for_seconds,
    random_checkpoint,
    speech,
)
from hyasr_space.lm import LMSettings
from hyasr_space.results import Clip, Logits
from hyasr_space.runtime import AcousticModel, load_model
from hyasr_space.runtime.checkpoints import resolve_model
from hyasr_space.runtime.policy import pick_device
from hyasr_space.settings import Settings
from hyasr_space.text import error_rates
from hyasr_space.transcriber import Transcriber

PATHS = ("stock", "fp32", "int8", "torch-int8", "bf16", "compiled", "batched")
SLOW = ("stock", "fp32", "torch-int8", "bf16", "compiled")
DEFAULT_PATHS = ("stock", "fp32", "int8", "torch-int8")
# (dtype, extra settings) of our paths; "auto" is bf16 on a GPU, float32 here on a CPU
OURS = {
    "fp32": ("float32", {}),
    "int8": ("int8", {}),
    "bf16": ("bfloat16", {}),
    "compiled": ("auto", {"compile": True}),
    "batched": ("auto", {"request_batch_size": 8}),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="xls-r-1b", help="xls-r-1b (random), demo or a path")
    parser.add_argument("--layers", type=int, default=48, help="layers of the random XLS-R 1B")
    parser.add_argument("--paths", nargs="+", default=list(DEFAULT_PATHS), choices=PATHS)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--batched-dtype", default="auto", help="dtype of the batched path")
    parser.add_argument("--seconds", nargs="+", type=float, default=[10.0, 60.0])
    parser.add_argument("--slow-seconds", nargs="+", type=float, default=[10.0])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--concurrent-seconds", type=float, default=10.0)
    parser.add_argument("--concurrent-paths", nargs="*", default=["int8", "batched"])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch/ORT threads")
    parser.add_argument("--chunk-s", type=float, default=None, help="window (default 30 s)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="int8 model cache")
    parser.add_argument(
        "--compile-bucket-s", type=float, default=None, help="compiled: length bucket (5 s)"
    )
    return parser.parse_args(argv)


def model_dir(args: argparse.Namespace) -> tuple[Path, bool]:
    """The checkpoint directory, and whether its weights are random."""
    if args.model == "xls-r-1b":
        return random_checkpoint(args.layers), True
    return resolve_model(args.model).path, False


def realistic_logits(seconds: float, offset: int, demo: Transcriber | None) -> Logits:
    """Logits of held-out speech: the demo model's when it exists, else peaky ones."""
    if demo is not None:
        return demo.model.logits(Clip(speech(seconds, offset), RATE, name="heldout"))
    return Logits(peaky_logits_for_seconds(seconds, offset), 0.02)


def best(times: list[float]) -> float:
    return round(min(times), 4)


def cpu_seconds() -> float:
    """CPU time of this process so far (all threads): on a machine shared with other jobs
    it grows less with their load than wall time does."""
    times = os.times()
    return times.user + times.system


def measure_ours(
    transcriber: Transcriber,
    audio: np.ndarray,
    lm_logits: Logits | None,
    repeats: int,
    random_weights: bool,
) -> dict[str, Any]:
    model, row = transcriber.model, {}
    clip = Clip(audio, RATE, name="bench")
    e2e, forward, greedy, lm, cpu = [], [], [], [], []
    with PeakMemory() as memory:
        for _ in range(repeats):
            started, cpu_started = time.perf_counter(), cpu_seconds()
            logits = model.logits(clip)  # what transcribe() runs, minus the cache
            forward.append(time.perf_counter() - started)
            cpu.append(cpu_seconds() - cpu_started)
            started = time.perf_counter()
            text = transcriber.greedy.decode(logits).text
            greedy.append(time.perf_counter() - started)
            e2e.append(forward[-1] + greedy[-1])
            if transcriber.lm is not None:
                source = lm_logits if random_weights else logits
                started = time.perf_counter()
                transcriber.lm.decode(source, transcriber.lm.defaults)
                lm.append(time.perf_counter() - started)
    row.update(
        e2e_greedy_s=best(e2e),
        forward_s=best(forward),
        forward_cpu_s=best(cpu),
        greedy_decode_s=best(greedy),
        rtf=round(min(forward) / (len(audio) / RATE), 4),
        text_prefix=text[:40],
    )
    memory.add_to(row)
    if lm:
        row["lm_decode_s"] = best(lm)
        row["e2e_lm_s"] = round(row["e2e_greedy_s"] + row["lm_decode_s"], 4)
    return row


def measure_stock(
    pipe: Any,
    pipe_lm: Any,
    audio: np.ndarray,
    lm_logits: Logits | None,
    repeats: int,
    random_weights: bool,
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    e2e, lm, cpu = [], [], []
    with PeakMemory() as memory:
        for _ in range(repeats):
            started, cpu_started = time.perf_counter(), cpu_seconds()
            text = pipe({"raw": audio, "sampling_rate": RATE})["text"]
            e2e.append(time.perf_counter() - started)
            cpu.append(cpu_seconds() - cpu_started)
            if pipe_lm is not None:
                started = time.perf_counter()
                if random_weights:  # what its postprocess does, on realistic logits
                    pipe_lm.decoder.decode_beams(lm_logits.values)
                else:
                    pipe_lm({"raw": audio, "sampling_rate": RATE})
                lm.append(time.perf_counter() - started)
    row.update(e2e_greedy_s=best(e2e), e2e_greedy_cpu_s=best(cpu), text_prefix=text[:40])
    memory.add_to(row)
    row["rtf"] = round(row["e2e_greedy_s"] / (len(audio) / RATE), 4)
    if lm:
        if random_weights:
            row["lm_decode_s"] = best(lm)
            row["e2e_lm_s"] = round(row["e2e_greedy_s"] + row["lm_decode_s"], 4)
        else:
            row["e2e_lm_s"] = best(lm)
    return row


def concurrent(run: Any, clips: list[np.ndarray]) -> dict[str, Any]:
    """`run(audio)` from one thread per clip, all started together."""
    latencies = [0.0] * len(clips)
    barrier = threading.Barrier(len(clips))

    def worker(index: int) -> None:
        barrier.wait()
        started = time.perf_counter()
        run(clips[index])
        latencies[index] = time.perf_counter() - started

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(clips))]
    started = time.perf_counter()
    with PeakMemory() as memory:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    wall = time.perf_counter() - started
    audio_s = sum(len(c) for c in clips) / RATE
    row = {
        "requests": len(clips),
        "audio_s": round(audio_s, 1),
        "wall_s": round(wall, 3),
        "throughput_audio_s_per_s": round(audio_s / wall, 3),
        "latency_median_s": round(statistics.median(latencies), 3),
        "latency_max_s": round(max(latencies), 3),
    }
    memory.add_to(row)
    return row


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    started_all = time.perf_counter()
    path, random_weights = model_dir(args)
    # No int8 export behind a measurement's back: `auto` serves what is ready (precision.py)
    base = Settings(
        device=pick_device(args.device), fallback_model=None, warm_up=False, background_export=False
    )
    if args.cache_dir:
        base = replace(base, cache_dir=args.cache_dir)
    if args.chunk_s:
        base = replace(base, chunk_s=args.chunk_s)
    if args.compile_bucket_s:
        base = replace(base, compile_bucket_s=args.compile_bucket_s)
    report: dict[str, Any] = {
        "machine": machine(),
        "model": {"ref": args.model, "path": str(path), "random_weights": random_weights},
        "lm_e2e": "composed" if random_weights else "measured",
        "repeats": args.repeats,
        "chunk_s": base.chunk_s,
        "paths": {},
    }
    demo = None
    if random_weights:
        try:
            demo = Transcriber(load_model("demo", settings=base), base)
        except Exception as error:  # no demo model yet: peaky logits instead
            log(f"no demo model ({error}); LM timings on peaky logits")
        report["lm_logits"] = "demo model on held-out speech" if demo else "peaky (held-out text)"
    lengths = sorted({*args.seconds, *args.slow_seconds})  # slow paths run fewer lengths
    lm_logits = {s: realistic_logits(s, 0, demo) for s in lengths}
    audio = {s: speech(s) for s in lengths}
    warm = speech(1.0, offset=7)
    lm_warm = realistic_logits(3.0, 7, demo)
    memory_before = PeakMemory().start_mb

    # int8 first: its export runs in a child process before this one holds the fp32 weights;
    # torch-int8 last: it quantises the shared float32 network in place.
    ordered = [p for p in ("int8", "fp32", "stock", *PATHS[4:], "torch-int8") if p in args.paths]
    fp32: Transcriber | None = None
    for name in ordered:
        log(f"[{time.perf_counter() - started_all:6.0f} s] {name}")
        rows: dict[str, Any] = {}
        seconds = args.seconds if name not in SLOW else args.slow_seconds
        if name == "batched":  # batch 1 is its dtype's own path; batching shows under load
            seconds = []
        with PeakMemory() as loading:
            started = time.perf_counter()
            if name in ("fp32", "stock", "torch-int8") and fp32 is None:
                fp32 = ours(path, base, "fp32", args)
            if name in ("fp32", "stock"):
                transcriber = fp32
            elif name == "torch-int8":
                network = torch.ao.quantization.quantize_dynamic(
                    fp32.model.network, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
                )
                model = AcousticModel(
                    fp32.model.source,
                    network,
                    fp32.model.feature_extractor,
                    device="cpu",
                    dtype="torch-int8",
                    settings=base,
                )
                transcriber = Transcriber(model, base)
            else:
                transcriber = ours(path, base, name, args)
            if name == "compiled":
                transcriber.warm_up()  # compiles every length bucket at batch 1
            load_s = time.perf_counter() - started
        rows["load_s"] = round(load_s, 2)
        rows["load_growth_mb"] = loading.growth_mb
        if name == "int8":  # the child process that exported it (now or in an earlier run)
            rows["export"] = export_info(path, base.cache_dir)
        rows["device"], rows["dtype"] = transcriber.model.device, transcriber.model.dtype
        if name == "stock":
            rows["dtype"] = "float32"
            pipe, pipe_lm = stock_pipelines(fp32, base.device)
            pipe({"raw": warm, "sampling_rate": RATE})
            if pipe_lm is not None:  # kenlm pages and caches, as for ours
                pipe_lm.decoder.decode_beams(lm_warm.values)
            for s in seconds:
                rows[f"{s:g}s"] = measure_stock(
                    pipe, pipe_lm, audio[s], lm_logits[s], args.repeats, random_weights
                )
            run = lambda clip, p=pipe: p({"raw": clip, "sampling_rate": RATE})  # noqa: E731
        else:
            transcriber.model.logits(Clip(warm, RATE, name="warm"))
            if transcriber.lm is not None:
                transcriber.lm.decode(lm_warm)
            for s in seconds:
                rows[f"{s:g}s"] = measure_ours(
                    transcriber, audio[s], lm_logits[s], args.repeats, random_weights
                )
            decoder = "greedy" if random_weights else "lm"
            run = lambda clip, t=transcriber, d=decoder: t.transcribe(  # noqa: E731
                Clip(clip, RATE, name="request"), d
            )
        if name in args.concurrent_paths and args.concurrency > 0:
            clips = [
                speech(args.concurrent_seconds, offset=11 * i) for i in range(args.concurrency)
            ]
            stats = transcriber.model.batch_stats if name != "stock" else None
            batches_before = stats.batches if stats else 0
            rows["concurrent"] = concurrent(run, clips)
            rows["concurrent"]["decoder"] = "greedy" if random_weights else "lm"
            if stats is not None:  # `sizes` keeps the latest 1000 only: count from the end
                batches = stats.batches - batches_before
                rows["concurrent"]["requests_per_batch"] = stats.sizes[-batches:] if batches else []
        report["paths"][name] = rows
        if name not in ("fp32", "stock"):
            del transcriber
            gc.collect()
    report["ratios_vs_stock"] = ratios(report["paths"])
    report["agreement"] = agreement(report["paths"])
    report["process_peak_mb"] = round(PeakMemory().peak_mb, 1)
    report["process_start_mb"] = round(memory_before, 1)
    report["wall_s"] = round(time.perf_counter() - started_all, 1)
    json.dump(report, sys.stdout, indent=1, ensure_ascii=False)
    print()
    return 0


def ours(path: Path, base: Settings, name: str, args: argparse.Namespace) -> Transcriber:
    """Our transcriber for one of the `OURS` paths."""
    dtype, extra = OURS[name]
    if name == "batched":
        dtype = args.batched_dtype
    if dtype == "auto" and base.device == "cpu":  # the CPU's own choice is the int8 row
        dtype = "float32"
    settings = replace(base, dtype=dtype, **extra)
    return Transcriber(load_model(str(path), settings=settings), settings)


def export_info(path: Path, cache_dir: Path) -> dict[str, Any]:
    """What the int8 export of `path` recorded: its recipe, stage times and peak RSS."""
    from hyasr_space.runtime.int8 import INFO_FILE, cached_model_path

    info_file = cached_model_path(path, cache_dir).parent / INFO_FILE
    return json.loads(info_file.read_text()) if info_file.is_file() else {}


def stock_pipelines(fp32: Transcriber, device: str) -> tuple[Any, Any]:
    """transformers' ASR pipeline on the same network, greedy and with a pyctcdecode decoder."""
    from transformers import Wav2Vec2CTCTokenizer, pipeline

    model = fp32.model
    tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(model.path)
    common = {
        "model": model.network,
        "feature_extractor": model.feature_extractor,
        "tokenizer": tokenizer,
        "device": 0 if device == "cuda" else -1,
    }
    pipe = pipeline("automatic-speech-recognition", **common)
    pipe_lm = None
    if fp32.lm is not None:
        from pyctcdecode import build_ctcdecoder

        vocabulary = fp32.vocabulary
        labels = list(vocabulary.tokens)
        labels[vocabulary.blank_id] = ""
        if vocabulary.delimiter_id is not None:
            labels[vocabulary.delimiter_id] = " "
        defaults: LMSettings = fp32.lm.defaults
        decoder = build_ctcdecoder(
            labels,
            kenlm_model_path=str(fp32.lm.kenlm_path),
            unigrams=_unigrams(fp32.lm.kenlm_path),
            alpha=defaults.alpha,
            beta=defaults.beta,
        )
        pipe_lm = pipeline("automatic-speech-recognition", decoder=decoder, **common)
    return pipe, pipe_lm


def _unigrams(kenlm_path: Path) -> list[str] | None:
    path = kenlm_path.parent / "unigrams.txt"
    if not path.is_file():
        return None
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def ratios(paths: dict[str, Any]) -> dict[str, Any]:
    stock = paths.get("stock", {})
    out: dict[str, Any] = {}
    for name, rows in paths.items():
        if name == "stock":
            continue
        for length, row in rows.items():
            if not isinstance(row, dict) or length not in stock:
                continue
            for key in ("e2e_greedy_s", "e2e_lm_s"):
                if key in row and key in stock[length]:
                    out[f"{name}.{length}.{key}"] = round(stock[length][key] / row[key], 2)
    return out


def agreement(paths: dict[str, Any]) -> dict[str, Any]:
    """How far each path's greedy text (its first 40 characters) is from fp32's."""
    reference = paths.get("fp32", {})
    out = {}
    for name, rows in paths.items():
        for length, row in rows.items():
            if name == "fp32" or not isinstance(row, dict) or length not in reference:
                continue
            if "text_prefix" in row and "text_prefix" in reference[length]:
                rates = error_rates([reference[length]["text_prefix"]], [row["text_prefix"]])
                out[f"{name}.{length}.cer_vs_fp32"] = round(rates.cer, 4)
    return out


if __name__ == "__main__":
    heldout_sentences(1)  # fail early without the held-out set
    sys.exit(main())
