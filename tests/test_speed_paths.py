"""The fast paths give the same answers: bf16 (the GPU dtype) checked on the CPU, the padded
and unpadded forward, and the benchmarks' realistic logits."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tone_model import LONG_WORDS, WORDS, assert_reads_like_float32, tone_speech

from hyasr_space.decoding import GreedyDecoder
from hyasr_space.results import Clip, Logits
from hyasr_space.runtime import load_model
from hyasr_space.runtime.networks import run_network
from hyasr_space.settings import Settings
from hyasr_space.text import normalize_text
from hyasr_space.vocabulary import Vocabulary

pytestmark = pytest.mark.usefixtures("fresh_models")


def test_bfloat16_reads_the_same_words_as_float32(model_dir: Path, settings: Settings) -> None:
    cpu = replace(settings, device="cpu")
    fp32 = load_model(str(model_dir), settings=replace(cpu, dtype="float32"))
    bf16 = load_model(str(model_dir), settings=replace(cpu, dtype="bfloat16"))
    assert bf16.dtype == "bfloat16" and next(bf16.network.parameters()).dtype.is_floating_point
    greedy = GreedyDecoder(Vocabulary.from_dir(model_dir, size=fp32.vocab_size))
    for text in (WORDS, LONG_WORDS):
        clip = Clip(tone_speech(text)[0], 16_000, name=text)
        reference, fast = fp32.logits(clip), bf16.logits(clip)
        assert fast.values.dtype == np.float32
        # bf16 kernels differ by CPU (AVX-512 BF16, AMX, emulated on AVX2): the reading
        # must not; oneDNN's AMX grouped convolution once broke it (model.py).
        assert_reads_like_float32(fast.values, reference.values)
        assert greedy.decode(fast).text == greedy.decode(reference).text == text


def test_a_padded_batch_matches_one_clip_at_a_time(model_dir: Path, settings: Settings) -> None:
    model = load_model(str(model_dir), settings=replace(settings, device="cpu"))
    long, _ = tone_speech(LONG_WORDS)
    short, _ = tone_speech(WORDS)
    together = model.forward([long, short])
    alone = model.forward([short])[0]
    np.testing.assert_allclose(together[1], alone, rtol=1e-4, atol=1e-4)
    # an unpadded batch runs without a mask, and gives what a mask of ones gives
    features = model.feature_extractor([short], sampling_rate=16_000, return_tensors="np")
    ones = np.ones_like(features["input_values"], dtype=np.int32)
    # close, not bit-equal: with and without a mask, attention may take different kernels
    np.testing.assert_allclose(
        run_network(model._key, features["input_values"], ones),
        run_network(model._key, features["input_values"], None),
        rtol=1e-5,
        atol=1e-5,
    )


def test_benchmark_logits_spell_their_sentence() -> None:
    from benchmarks.bench_common import peaky_logits

    text = normalize_text("Երևանը Հայաստանի մայրաքաղաքն է։")
    logits = Logits(peaky_logits(text, 200, seed=3), 0.02)
    log_probs = Vocabulary.default().log_probs(logits)
    assert GreedyDecoder(Vocabulary.default()).decode(logits).text == text
    # confident but not one-hot: a runner-up within reach on some frames
    top2 = np.sort(log_probs, axis=1)[:, -2]
    assert (top2 > -5).mean() > 0.2
