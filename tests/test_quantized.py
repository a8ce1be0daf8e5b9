"""The int8 CPU path (HYASR_DTYPE=int8): ONNX export, quantisation, caching, agreement."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tone_model import LONG_WORDS, WORDS, assert_reads_like_float32, tone_speech

from hyasr_space.model import load_model, pick_dtype
from hyasr_space.results import Clip
from hyasr_space.settings import Settings
from hyasr_space.transcriber import Transcriber

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from hyasr_space import quantized  # noqa: E402


@pytest.fixture(scope="module")
def int8_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export for the module: each takes a few seconds."""
    return tmp_path_factory.mktemp("int8-cache")


@pytest.fixture
def int8_settings(settings: Settings, int8_cache: Path) -> Settings:
    return replace(settings, device="cpu", dtype="int8", cache_dir=int8_cache)


pytestmark = pytest.mark.usefixtures("fresh_models")


def test_int8_is_a_cpu_dtype_only() -> None:
    assert pick_dtype("int8", "cpu") == "int8"
    assert pick_dtype("int8", "cuda") in ("bfloat16", "float16")
    assert Settings.from_env({"HYASR_DTYPE": "int8"}).dtype == "int8"


def test_int8_transcripts_match_float32(
    model_dir: Path, settings: Settings, int8_settings: Settings
) -> None:
    reference = Transcriber(load_model(str(model_dir), settings=replace(settings, device="cpu")))
    int8 = Transcriber(load_model(str(model_dir), settings=int8_settings))
    assert int8.model.dtype == "int8"
    assert isinstance(int8.model.network, quantized.OnnxCTC)
    for text in (WORDS, LONG_WORDS):
        clip = Clip(tone_speech(text)[0], 16_000, name=text)
        assert_reads_like_float32(int8.logits(clip).values, reference.logits(clip).values)
        for decoder in ("greedy", "lm"):
            assert (
                int8.transcribe(clip, decoder).best.text
                == reference.transcribe(clip, decoder).best.text
                == text
            )


def test_the_int8_model_is_cached_by_weights(model_dir: Path, int8_settings: Settings) -> None:
    first = quantized.int8_model_path(model_dir, int8_settings.cache_dir)
    assert first.is_file() and first.parent.parent == int8_settings.cache_dir / "int8"
    stamp = first.stat().st_mtime_ns
    assert quantized.int8_model_path(model_dir, int8_settings.cache_dir) == first
    assert first.stat().st_mtime_ns == stamp  # not exported again
    assert len(list((int8_settings.cache_dir / "int8").iterdir())) == 1  # no staging left


def test_padded_batches_run_item_by_item(model_dir: Path, int8_settings: Settings) -> None:
    network = quantized.load_int8(model_dir, int8_settings.cache_dir)
    rng = np.random.default_rng(0)
    long, short = rng.standard_normal(16_000), rng.standard_normal(9_600)
    batch = np.zeros((2, 16_000), np.float32)
    batch[0], batch[1, :9_600] = long, short
    mask = np.zeros((2, 16_000), np.int64)
    mask[0], mask[1, :9_600] = 1, 1
    together = network.run_numpy(batch, mask)
    alone = network.run_numpy(short[None].astype(np.float32), None)[0]
    np.testing.assert_allclose(together[1, : len(alone)], alone, rtol=1e-5, atol=1e-5)


def test_a_failed_export_says_why(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{}", encoding="utf-8")
    (broken / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(RuntimeError, match="int8 export"):
        quantized.int8_model_path(broken, tmp_path / "cache")
    assert not any((tmp_path / "cache" / "int8").iterdir())
