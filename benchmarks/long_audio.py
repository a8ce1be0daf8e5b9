"""Peak memory and time against audio length, for the chunked pipeline and the stock one.

    python -m benchmarks.long_audio                       # 1, 5, 30 and 60 minutes
    python -m benchmarks.long_audio --minutes 1 5 --stock-minutes 1 5 --lm

Each length runs in a fresh Python process, so one length's memory cannot hide in
another's peak. A worker loads the model (the bundled demo model; without it a randomly
initialised network of the same architecture), writes the audio as a 16-bit WAV and then
measures, phase by phase, wall time and resident memory (RSS): `growth_mb` is the
phase's peak above the RSS it started with (a thread samples /proc/self/statm every few
milliseconds), `retained_mb` what it still holds afterwards. Freed heap is handed back
to the OS between phases (malloc_trim), so each phase starts from what is really held.

- decode:  the WAV file -> `Clip` (audio.py); retains the samples (`audio_mb`)
- forward: `Transcriber.logits`, the chunked forward pass (model.py); retains the logits
- greedy:  `GreedyDecoder.decode`
- lm_whole / lm_segmented: `LMDecoder.decode` over the stitched logits, and over the
  same logits cut at silences and decoded piece by piece (`--lm`, and only for a model
  with a language_model/ folder)

"Memory does not grow with length beyond the logits" shows as `forward_working_mb`
(forward growth minus the logits) staying flat while the audio grows. The samples of
the clip (3.7 MB a minute) are held too, before and after the forward pass.

The stock way to do the same is transformers' pipeline("automatic-speech-recognition",
chunk_length_s=..., stride_length_s=...) on the same checkpoint, greedy; it runs for
`--stock-minutes` only (it is slower), and the report gives time and memory ratios and
how far its text is from ours (WER). The audio is espeak-ng Armenian (a few sentences,
repeated), or noise without espeak-ng: content does not change time or memory much,
except for the beam search, which is faster on confident logits.

Prints one JSON document on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

from hyasr_space.lm import silence_cuts
from hyasr_space.settings import SAMPLE_RATE, Settings
from tools.espeak import SENTENCES, speak
from tools.espeak import available as espeak_available

ROOT = Path(__file__).resolve().parents[1]

DEFAULT_MINUTES = (1.0, 5.0, 30.0, 60.0)
DEFAULT_STOCK_MINUTES = (1.0, 5.0)
SAMPLE_EVERY_S = 0.003
MB = 2**20


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- memory --------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def release_freed_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc's malloc_trim), so
    that RSS before a phase is what the process holds, not what malloc kept."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class Phase:
    """Wall time and RSS of a block: `growth` is its peak above the RSS it started
    with (a thread samples /proc/self/statm), `retained` what it left behind."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.start = self.peak = self.end = 0
        self._stop = threading.Event()

    @property
    def growth_mb(self) -> float:
        return round((self.peak - self.start) / MB, 1)

    @property
    def retained_mb(self) -> float:
        return round((self.end - self.start) / MB, 1)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(SAMPLE_EVERY_S)

    @contextmanager
    def measure(self):
        release_freed_memory()
        self.start = self.peak = rss_bytes()
        thread = threading.Thread(target=self._sample, daemon=True)
        thread.start()
        started = time.perf_counter()
        try:
            yield self
        finally:
            self.seconds = time.perf_counter() - started
            self._stop.set()
            thread.join()
            self.peak = max(self.peak, rss_bytes())
            release_freed_memory()
            self.end = rss_bytes()


# --- model and audio -----------------------------------------------------------------


def resolve_model(requested: str | None, workdir: Path) -> tuple[Path, str]:
    """The model to measure: as asked, the bundled demo model, or a random network with
    the demo model's architecture (its config.json, or the training tool's config)."""
    if requested:
        return Path(requested), str(requested)
    demo = Settings().demo_model_dir
    if (demo / "config.json").is_file() and any(demo.glob("*.safetensors")):
        return demo, "bundled demo model"
    folder = workdir / "random-demo-architecture"
    if not folder.is_dir():
        build_random_model(folder, demo / "config.json")
    return folder, "random weights, demo-model architecture"


def build_random_model(folder: Path, config_file: Path) -> None:
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    from hyasr_space.text import PAD_TOKEN, VOCAB, WORD_DELIMITER

    if config_file.is_file():
        config = Wav2Vec2Config.from_pretrained(config_file.parent)
    else:
        from tools.train_demo_model import model_config

        config = model_config()
    torch.manual_seed(0)
    folder.mkdir(parents=True)
    Wav2Vec2ForCTC(config).eval().save_pretrained(folder)
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=SAMPLE_RATE, padding_value=0.0,
        do_normalize=True, return_attention_mask=True,
    ).save_pretrained(folder)  # fmt: skip
    base = {token: index for token, index in VOCAB.items() if index < 42}
    added = {token: index for token, index in VOCAB.items() if index >= 42}
    tokenizer = {
        "tokenizer_class": "Wav2Vec2CTCTokenizer", "unk_token": "[UNK]",
        "pad_token": PAD_TOKEN, "bos_token": "<s>", "eos_token": "</s>",
        "word_delimiter_token": WORD_DELIMITER, "do_lower_case": False,
    }  # fmt: skip
    for name, content in (
        ("vocab.json", base),
        ("added_tokens.json", added),
        ("tokenizer_config.json", tokenizer),
    ):
        (folder / name).write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")


def without_lm(model_dir: Path, workdir: Path) -> Path:
    """The checkpoint without language_model/, for the (greedy) stock pipeline."""
    folder = workdir / "stock-model"
    if not folder.is_dir():
        folder.mkdir()
        for path in model_dir.iterdir():
            if path.is_file():
                (folder / path.name).symlink_to(path.resolve())
    return folder


def speech_unit(workdir: Path) -> tuple[Path, str]:
    """About a minute of espeak-ng sentences with pauses (noise without espeak-ng)."""
    path = workdir / "unit.npy"
    if not espeak_available():
        rng = np.random.default_rng(0)
        np.save(path, (0.05 * rng.standard_normal(60 * SAMPLE_RATE)).astype(np.float32))
        return path, "white noise"
    pieces = []
    rng = np.random.default_rng(0)
    for sentence in SENTENCES * 2:
        pause = np.zeros(int(rng.uniform(0.3, 1.2) * 16_000), np.float32)
        pieces += [speak(sentence), pause]
    np.save(path, np.concatenate(pieces).astype(np.float32))
    return path, "espeak-ng -v hy sentences, repeated"


def tile(unit: np.ndarray, minutes: float) -> np.ndarray:
    total = int(minutes * 60 * SAMPLE_RATE)
    return np.resize(unit, total).astype(np.float32, copy=False)


# --- workers (one per length, in a fresh process) ------------------------------------


def work(args: argparse.Namespace) -> dict:
    import torch

    from hyasr_space.audio import load_audio
    from hyasr_space.runtime import load_model
    from hyasr_space.text import error_rates
    from hyasr_space.transcriber import Transcriber

    settings = replace(
        Settings(),
        device="cpu",
        fallback_model=None,
        warm_up=False,
        max_duration_s=1e6,
        max_file_size_mb=1e6,
        logits_cache_size=1,
        chunk_s=args.chunk_s,
        chunk_context_s=args.context_s,
        chunk_batch_size=args.batch,
    )
    transcriber = Transcriber(load_model(args.model_dir, settings=settings), settings)
    transcriber.warm_up()
    audio = tile(np.load(args.unit), args.minutes)
    wav = Path(args.workdir) / f"audio-{args.minutes:g}.wav"
    import soundfile

    soundfile.write(wav, audio, SAMPLE_RATE, subtype="PCM_16")
    del audio
    release_freed_memory()
    result: dict = {
        "minutes": args.minutes,
        "torch_threads": torch.get_num_threads(),
        "rss_before_mb": round(rss_bytes() / MB, 1),
    }
    phases: dict[str, Phase] = {}

    def record(name: str, phase: Phase) -> None:
        phases[name] = phase
        result[name] = {
            "seconds": round(phase.seconds, 3),
            "growth_mb": phase.growth_mb,
            "retained_mb": phase.retained_mb,
        }

    with Phase().measure() as phase:
        clip = load_audio(wav, settings)
    record("decode", phase)
    model = transcriber.model
    windows = model.plan(len(clip.samples))
    with Phase().measure() as phase:
        logits = transcriber.logits(clip)
    record("forward", phase)
    greedy_phase = Phase()
    with greedy_phase.measure():
        greedy = transcriber.greedy.decode(logits)
    record("greedy", greedy_phase)
    audio_mb = clip.samples.nbytes / MB
    logits_mb = logits.values.nbytes / MB
    result.update(
        audio_mb=round(audio_mb, 1),
        logits_mb=round(logits_mb, 1),
        windows=len(windows),
        real_time_factor=round(phases["forward"].seconds / clip.duration, 4),
        forward_working_mb=round(result["forward"]["growth_mb"] - logits_mb, 1),
        words=len(greedy.words),
        text_head=greedy.text[:80],
    )
    if args.lm and transcriber.lm is not None:
        lm = transcriber.lm
        with Phase().measure() as phase:  # one search over the whole clip
            whole = lm.decode(logits, replace(lm.defaults, segment_s=math.inf))
        record("lm_whole", phase)
        with Phase().measure() as phase:  # as the app does it: cut at silences
            pieces = lm.decode(logits)
        record("lm_segmented", phase)
        count = len(silence_cuts(lm.vocabulary.log_probs(logits), lm.vocabulary.blank_id,
                                 logits.seconds_per_frame)) - 1  # fmt: skip
        rates = error_rates([whole.text], [pieces.text]) if whole.text else None
        result.update(
            lm_segments=count,
            lm_words=len(whole.words),
            lm_segmented_vs_whole_wer=round(rates.wer, 4) if rates else None,
        )
    result["ru_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    Path(args.out).write_text(json.dumps({**result, "greedy_text": greedy.text}))
    return result


def work_stock(args: argparse.Namespace) -> dict:
    import torch
    from transformers import pipeline

    asr = pipeline(
        "automatic-speech-recognition",
        model=args.model_dir,
        device="cpu",
        chunk_length_s=args.chunk_s,
        stride_length_s=args.context_s,
    )
    asr({"raw": np.zeros(SAMPLE_RATE, np.float32), "sampling_rate": SAMPLE_RATE})
    audio = tile(np.load(args.unit), args.minutes)
    with Phase().measure() as phase:
        text = asr({"raw": audio, "sampling_rate": SAMPLE_RATE})["text"]
    result = {
        "minutes": args.minutes,
        "torch_threads": torch.get_num_threads(),
        "seconds": round(phase.seconds, 3),
        "growth_mb": phase.growth_mb,
        "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    Path(args.out).write_text(json.dumps({**result, "text": text}))
    return result


def spawn(kind: str, minutes: float, model_dir: Path, unit: Path, workdir: Path, args) -> dict:
    out = workdir / f"{kind}-{minutes:g}.json"
    command = [
        sys.executable, "-m", "benchmarks.long_audio", "--worker", kind, "--minutes", str(minutes),
        "--model-dir", str(model_dir), "--unit", str(unit), "--workdir", str(workdir),
        "--out", str(out), "--chunk-s", str(args.chunk_s), "--context-s", str(args.context_s),
        "--batch", str(args.batch),
    ] + (["--lm"] if args.lm else [])  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace")[-2000:]
        return {"minutes": minutes, "error": f"exit {done.returncode}: {tail}"}
    result = json.loads(out.read_text())
    result["process_seconds"] = round(time.perf_counter() - started, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=list(DEFAULT_MINUTES))
    parser.add_argument(
        "--stock-minutes",
        type=float,
        nargs="*",
        default=None,
        help="lengths for transformers' pipeline (default: those of 1 and 5 in --minutes)",
    )
    parser.add_argument("--model", help="a model directory (default: the bundled demo model)")
    parser.add_argument("--lm", action="store_true", help="also time the LM beam search")
    parser.add_argument("--chunk-s", type=float, default=Settings().chunk_s)
    parser.add_argument("--context-s", type=float, default=Settings().chunk_context_s)
    parser.add_argument("--batch", type=int, default=Settings().chunk_batch_size,
                        help="windows per forward pass (chunk_batch_size)")  # fmt: skip
    parser.add_argument("--worker", choices=["ours", "stock"], help=argparse.SUPPRESS)
    for hidden in ("--model-dir", "--unit", "--workdir", "--out"):  # worker arguments
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        (args.minutes,) = args.minutes  # a worker measures one length
    if args.worker == "ours":
        work(args)
        return
    if args.worker == "stock":
        work_stock(args)
        return

    with tempfile.TemporaryDirectory(prefix="hyasr-bench-") as tmp:
        workdir = Path(tmp)
        model_dir, model_label = resolve_model(args.model, workdir)
        unit, audio_label = speech_unit(workdir)
        stock_minutes = args.stock_minutes
        if stock_minutes is None:
            stock_minutes = [m for m in args.minutes if m in DEFAULT_STOCK_MINUTES]
        report: dict = {
            "model": model_label,
            "audio": audio_label,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
            "chunk_s": args.chunk_s,
            "context_s": args.context_s,
            "batch": args.batch,
            "ours": [],
            "stock": [],
        }
        texts = {}
        for minutes in args.minutes:
            log(f"ours: {minutes:g} min ...")
            result = spawn("ours", minutes, model_dir, unit, workdir, args)
            texts[minutes] = result.pop("greedy_text", None)
            report["ours"].append(result)
            log(json.dumps(result))
        stock_dir = without_lm(model_dir, workdir)
        for minutes in stock_minutes:
            log(f"stock pipeline: {minutes:g} min ...")
            result = spawn("stock", minutes, stock_dir, unit, workdir, args)
            text = result.pop("text", None)
            ours = next((r for r in report["ours"] if r["minutes"] == minutes), None)
            if ours and "error" not in result and "error" not in ours:
                from hyasr_space.text import error_rates

                if texts.get(minutes) and text:
                    result["wer_vs_ours"] = round(error_rates([text], [texts[minutes]]).wer, 4)
                ours_seconds = ours["forward"]["seconds"] + ours["greedy"]["seconds"]
                result["time_ratio_ours_over_stock"] = round(ours_seconds / result["seconds"], 3)
                result["memory_ratio_ours_over_stock"] = round(
                    ours["forward"]["growth_mb"] / max(result["growth_mb"], 0.1), 3
                )
            report["stock"].append(result)
            log(json.dumps(result))
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
