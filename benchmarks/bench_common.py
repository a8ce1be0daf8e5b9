"""What the speed benchmarks share: the XLS-R 1B architecture, audio, realistic logits, memory.

Not part of the package: the benchmarks run from the repository root as modules
(`python -m benchmarks.speed`) and import it as `benchmarks.bench_common`. Held-out
speech is built on first use (`heldout_dir`), so no benchmark needs a step before it.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from hyasr_space.settings import LM_DIR as LM_DIR_NAME
from hyasr_space.settings import SAMPLE_RATE

ROOT = Path(__file__).resolve().parents[1]
SPEECH_DIR = ROOT / "build" / "speech"
# The project's 5-gram as tools/build_lm.py leaves it, else the same LM as shipped in the
# bundled demo model (with the demo model's tuned alpha/beta)
LM_DIR = next(
    (
        folder
        for folder in (
            ROOT / "build" / "lm" / LM_DIR_NAME,
            ROOT / "hyasr_space" / "demo_model" / LM_DIR_NAME,
        )
        if folder.is_dir()
    ),
    ROOT / "build" / "lm" / LM_DIR_NAME,
)
WORK_DIR = ROOT / "build" / "bench"
RATE = SAMPLE_RATE
FRAME_S = 0.02
MB = 2**20

# arampacha/wav2vec2-xls-r-1b-hy-cv's config.json, as far as the architecture goes
# (https://huggingface.co/arampacha/wav2vec2-xls-r-1b-hy-cv/blob/main/config.json, a
# fine-tune of facebook/wav2vec2-xls-r-1b): 963 M parameters with the 44-token vocabulary.
XLS_R_1B_CONFIG: dict[str, Any] = {
    "architectures": ["Wav2Vec2ForCTC"],
    "model_type": "wav2vec2",
    "vocab_size": 44,
    "hidden_size": 1280,
    "num_hidden_layers": 48,
    "num_attention_heads": 16,
    "intermediate_size": 5120,
    "hidden_act": "gelu",
    "do_stable_layer_norm": True,
    "feat_extract_norm": "layer",
    "feat_extract_activation": "gelu",
    "conv_dim": [512] * 7,
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_bias": True,
    "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16,
    "layer_norm_eps": 1e-5,
    "pad_token_id": 41,
    "bos_token_id": 42,
    "eos_token_id": 43,
    "ctc_loss_reduction": "mean",
    "ctc_zero_infinity": True,
    "add_adapter": False,
    "apply_spec_augment": False,
    "mask_time_prob": 0.0,
}
PREPROCESSOR_CONFIG = {
    "do_normalize": True,
    "feature_extractor_type": "Wav2Vec2FeatureExtractor",
    "feature_size": 1,
    "padding_side": "right",
    "padding_value": 0.0,
    "return_attention_mask": True,
    "sampling_rate": RATE,
}


def log(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    import torch

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu or platform.processor(),
        "cpus": len(os.sched_getaffinity(0)),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
    }
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    return info


def random_checkpoint(layers: int = 48, seed: int = 0) -> Path:
    """XLS-R 1B (or fewer layers) with random weights, saved once in the Hub layout under
    build/bench/, with the Armenian vocabulary and the project's KenLM (build/lm)."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    from hyasr_space.text import VOCAB

    folder = WORK_DIR / f"xls-r-1b-random-L{layers}"
    if (folder / "model.safetensors").is_file():
        return folder
    log(f"building the XLS-R 1B architecture ({layers} layers) with random weights in {folder}")
    torch.manual_seed(seed)
    config = Wav2Vec2Config(**{**XLS_R_1B_CONFIG, "num_hidden_layers": layers})
    network = Wav2Vec2ForCTC(config).eval()
    staging = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    network.save_pretrained(staging, safe_serialization=True)
    del network
    (staging / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR_CONFIG))
    base = {token: index for token, index in VOCAB.items() if index < 42}
    (staging / "vocab.json").write_text(json.dumps(base, ensure_ascii=False), encoding="utf-8")
    (staging / "added_tokens.json").write_text(json.dumps({"<s>": 42, "</s>": 43}))
    tokenizer_config = {
        "unk_token": "[UNK]",
        "pad_token": "[PAD]",
        "word_delimiter_token": "|",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "do_lower_case": False,
        "tokenizer_class": "Wav2Vec2CTCTokenizer",
    }
    (staging / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    if LM_DIR.is_dir():
        shutil.copytree(LM_DIR, staging / "language_model")
    staging.rename(folder)
    return folder


def heldout_dir(split: str = "test") -> Path:
    """The held-out speech of `split` (150 Common Voice dev sentences, kept out of every LM
    and training set, spoken by espeak-ng voices the demo model never heard): built here
    on first use, as `python -m tools.synth_speech` builds it (a minute; needs espeak-ng)."""
    folder = SPEECH_DIR / f"heldout-{split}"
    if not (folder / "metadata.tsv").is_file():
        from tools.synth_speech import write_heldout

        log(f"building {folder} (espeak-ng, once)")
        write_heldout(split, SPEECH_DIR)
    return folder


def heldout_sentences(limit: int | None = None) -> list[tuple[Path, str]]:
    """(audio, reference) pairs of the held-out test set (its sentences are not in the LM)."""
    from hyasr_space.evaluation import load_dataset

    return [(u.audio, u.sentence) for u in load_dataset(heldout_dir(), limit=limit)]


def speech(seconds: float, offset: int = 0) -> np.ndarray:
    """`seconds` of real held-out speech: clips joined with 0.3 s pauses, from clip `offset`."""
    import soundfile

    items = heldout_sentences()
    pieces, total, index = [], 0, offset
    while total < seconds * RATE:
        samples, rate = soundfile.read(items[index % len(items)][0], dtype="float32")
        assert rate == RATE
        pieces += [samples, np.zeros(int(0.3 * RATE), np.float32)]
        total += len(samples) + int(0.3 * RATE)
        index += 1
    return np.concatenate(pieces)[: int(seconds * RATE)]


def peaky_logits(text: str, frames: int, seed: int = 0) -> np.ndarray:
    """CTC-like logits (frames x 44) that spell `text` (normalised Armenian): each letter
    peaks for 1-2 frames between blanks, with confusable runner-ups and a few ambiguous
    frames, roughly like a fine-tuned model's output on clean speech (never flat)."""
    from hyasr_space.text import PAD_TOKEN, VOCAB, WORD_DELIMITER

    rng = np.random.default_rng(seed)
    blank, delimiter = VOCAB[PAD_TOKEN], VOCAB[WORD_DELIMITER]
    letters = [index for index in range(1, 41) if index != VOCAB.get("[UNK]")]
    tokens = [delimiter if ch == " " else VOCAB[ch] for ch in text if ch == " " or ch in VOCAB]
    labels = []
    for token in tokens:
        labels += [blank] * int(rng.integers(1, 4)) + [token] * int(rng.integers(1, 3))
    labels += [blank] * max(0, frames - len(labels))
    labels = labels[:frames]
    scores = rng.normal(0.0, 1.0, (frames, 44)).astype(np.float32)
    scores[:, 42:] -= 6.0  # <s>, </s>: never likely
    for frame, label in enumerate(labels):
        top = rng.normal(9.0, 1.5)
        scores[frame, label] = top
        runner = blank if label != blank else int(rng.choice(letters))
        if label != blank and rng.random() < 0.5:
            runner = int(rng.choice(letters))
        ambiguous = rng.random() < 0.08
        scores[frame, runner] = top - (rng.uniform(0.2, 1.5) if ambiguous else rng.uniform(3, 7))
    return scores


def peaky_logits_for_seconds(seconds: float, offset: int = 0, seed: int = 0) -> np.ndarray:
    """Peaky logits for `seconds` of held-out sentences spoken one after another."""
    from hyasr_space.text import normalize_text

    items = heldout_sentences()
    frames = int(seconds / FRAME_S)
    # ~14 characters a second, as in the held-out recordings
    chars, texts, index = int(seconds * 14), [], offset
    while sum(len(t) + 1 for t in texts) < chars:
        texts.append(normalize_text(items[index % len(items)][1]))
        index += 1
    return peaky_logits(" ".join(texts), frames, seed)


class PeakMemory:
    """Peak resident memory of this process during a block, sampled every few ms."""

    def __init__(self, every_s: float = 0.005) -> None:
        import psutil

        self._process = psutil.Process()
        self._every = every_s
        self.start_mb = self.peak_mb = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _rss(self) -> float:
        return self._process.memory_info().rss / MB

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._rss())
            self._stop.wait(self._every)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        if _cuda():
            import torch

            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self._gpu_start = torch.cuda.memory_allocated()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._rss())
        if _cuda():
            import torch

            torch.cuda.synchronize()
            growth = torch.cuda.max_memory_allocated() - self._gpu_start
            self.gpu_growth_mb = round(growth / MB, 1)

    gpu_growth_mb: float | None = None  # GPU memory allocated above the start (CUDA only)

    def add_to(self, row: dict[str, Any]) -> None:
        row["peak_growth_mb"] = self.growth_mb
        if self.gpu_growth_mb is not None:
            row["gpu_peak_growth_mb"] = self.gpu_growth_mb

    @property
    def growth_mb(self) -> float:
        return round(self.peak_mb - self.start_mb, 1)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


@contextmanager
def timed(results: dict[str, Any], key: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    results[key] = round(time.perf_counter() - started, 4)
