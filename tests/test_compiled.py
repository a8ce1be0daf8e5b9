"""HYASR_COMPILE: the compiled network reads what the eager one reads, and clips of
different lengths share one compiled graph through the length buckets."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tone_model import WORDS, tone_speech

from hyasr_space.decoding import GreedyDecoder
from hyasr_space.results import Clip
from hyasr_space.runtime import load_model
from hyasr_space.runtime.compiled import bucket_batch, bucket_length, bucket_lengths, pad_to_bucket
from hyasr_space.settings import Settings
from hyasr_space.vocabulary import Vocabulary

pytestmark = pytest.mark.usefixtures("fresh_models", "own_inductor_cache")


@pytest.fixture(scope="module")
def own_inductor_cache(tmp_path_factory: pytest.TempPathFactory):
    """Compile into a cache of this run's own: inductor's shared one (/tmp/torchinductor_*)
    served kernels built for AVX2 (ATEN_CPU_CAPABILITY=avx2) to a later AVX-512 run on the
    same machine, which aborted the process."""
    patch = pytest.MonkeyPatch()
    patch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path_factory.mktemp("inductor")))
    yield
    patch.undo()


def test_bucket_lengths_go_up_to_one_window() -> None:
    lengths = bucket_lengths(80_000, 480_000)
    assert lengths == [80_000, 160_000, 240_000, 320_000, 400_000, 480_000]
    assert bucket_length(1, lengths) == 80_000
    assert bucket_length(80_001, lengths) == 160_000
    assert bucket_length(480_000, lengths) == 480_000
    assert bucket_length(500_000, lengths) == 500_000  # beyond the buckets: as it is
    assert [bucket_batch(n) for n in (1, 2, 3, 5, 8)] == [1, 2, 4, 8, 8]


def test_padding_to_a_bucket_masks_the_padding_and_repeats_a_real_row() -> None:
    values = np.arange(6, dtype=np.float32).reshape(2, 3) + 1
    mask = np.array([[1, 1, 1], [1, 1, 0]], dtype=np.int32)
    padded, padded_mask = pad_to_bucket(values, mask, 5, 4)
    assert padded.shape == padded_mask.shape == (4, 5)
    np.testing.assert_array_equal(padded[:2, :3], values)
    assert not padded[:, 3:].any() and not padded_mask[:, 3:].any()
    np.testing.assert_array_equal(padded_mask[1], [1, 1, 0, 0, 0])
    np.testing.assert_array_equal(padded[2:], np.stack([padded[0], padded[0]]))  # never all-masked


def test_a_compiled_network_reads_the_same_and_compiles_once_per_bucket(
    model_dir: Path, settings: Settings
) -> None:
    from torch._dynamo.utils import counters

    cpu = replace(settings, device="cpu", chunk_s=3.0, chunk_context_s=0.5)
    eager = load_model(str(model_dir), settings=cpu)
    compiled = load_model(str(model_dir), settings=replace(cpu, compile=True, compile_bucket_s=3))
    assert compiled.compiled and not eager.compiled
    assert compiled._buckets == [48_000]
    greedy = GreedyDecoder(Vocabulary.from_dir(model_dir, size=eager.vocab_size))

    counters.clear()
    for text in (WORDS, "բարև", "ձեզ բարև ձ"):  # 2.5, 1.3 and 3.1 s: all in the 3 s bucket
        clip = Clip(tone_speech(text)[0], 16_000, name=text)
        reference, fast = eager.logits(clip), compiled.logits(clip)
        assert fast.values.shape == reference.values.shape
        np.testing.assert_allclose(fast.values, reference.values, rtol=1e-3, atol=1e-3)
        assert greedy.decode(fast).text == greedy.decode(reference).text == text
    # one graph for all of them: the 3.1 s clip runs as a 3 s window and a 1.1 s one, and
    # every window, one at a time, is padded to the 3 s bucket
    assert counters["stats"]["unique_graphs"] == 1
