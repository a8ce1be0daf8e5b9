"""The GPU path on a GPU: bf16 + SDPA, batching across requests and CUDA graphs read what
float32 on the CPU reads. Skipped where no CUDA device is visible (CI, the 2-core
development machines); `pytest -m gpu` runs them alone on a machine with one.

On the CPU the same code paths are covered by test_speed_paths (bf16), test_batching and
test_compiled; what only a GPU can show is that the device copies, the half-precision
kernels and the recorded CUDA graphs agree with them.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tone_model import LONG_WORDS, WORDS, tone_speech

from hyasr_space.decoding import GreedyDecoder
from hyasr_space.results import Clip
from hyasr_space.runtime import load_model
from hyasr_space.settings import Settings
from hyasr_space.vocabulary import Vocabulary

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.usefixtures("fresh_models"),
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]

TEXTS = (WORDS, LONG_WORDS, "ձեզ բարև", "բարև բա", "զեր ձեզ", "երբ ար", "բաձ զեր", "ձեզ ձեզ")


def _clip(text: str) -> Clip:
    return Clip(tone_speech(text)[0], 16_000, name=text)


def test_the_gpu_defaults_are_bf16_sdpa_and_batching(model_dir: Path, settings: Settings) -> None:
    model = load_model(str(model_dir), settings=replace(settings, device="auto"))
    assert model.device == "cuda" and model.dtype in ("bfloat16", "float16")
    assert model.preparing is None  # int8 is a CPU path: no export on a GPU
    assert model.network.config._attn_implementation == "sdpa"
    assert model.request_batch_size == 8


def test_gpu_logits_read_like_cpu_float32(model_dir: Path, settings: Settings) -> None:
    cpu = load_model(str(model_dir), settings=replace(settings, device="cpu"))
    gpu = load_model(str(model_dir), settings=replace(settings, device="cuda"))
    greedy = GreedyDecoder(Vocabulary.from_dir(model_dir, size=cpu.vocab_size))
    for text in (WORDS, LONG_WORDS):
        reference, fast = cpu.logits(_clip(text)), gpu.logits(_clip(text))
        assert fast.values.dtype == np.float32 and fast.values.shape == reference.values.shape
        assert greedy.decode(fast).text == greedy.decode(reference).text == text


def test_concurrent_requests_share_gpu_batches_and_read_right(
    model_dir: Path, settings: Settings
) -> None:
    gpu = load_model(str(model_dir), settings=replace(settings, device="cuda"))
    greedy = GreedyDecoder(Vocabulary.from_dir(model_dir, size=gpu.vocab_size))
    results: dict[str, str] = {}
    start = threading.Barrier(len(TEXTS))

    def request(text: str) -> None:
        start.wait()
        results[text] = greedy.decode(gpu.logits(_clip(text))).text

    threads = [threading.Thread(target=request, args=(text,)) for text in TEXTS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == {text: text for text in TEXTS}
    assert gpu.batch_stats.windows == len(TEXTS)


def test_cuda_graphs_read_like_eager(model_dir: Path, settings: Settings) -> None:
    cuda = replace(settings, device="cuda", chunk_s=3.0, chunk_context_s=0.5)
    eager = load_model(str(model_dir), settings=cuda)
    graphs = load_model(str(model_dir), settings=replace(cuda, compile=True, compile_bucket_s=3))
    assert graphs.compiled
    greedy = GreedyDecoder(Vocabulary.from_dir(model_dir, size=eager.vocab_size))
    for text in (WORDS, "բարև", "ձեզ բարև ձ", WORDS):  # the last one replays a graph
        reference, fast = eager.logits(_clip(text)), graphs.logits(_clip(text))
        np.testing.assert_allclose(fast.values, reference.values, rtol=0.05, atol=0.05)
        assert greedy.decode(fast).text == text
