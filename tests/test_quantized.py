"""The int8 CPU path: ONNX export, quantisation, caching, agreement with float32, and the
first start that serves at once while int8 is exported in the background, then switches."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tone_model import LONG_WORDS, WORDS, assert_reads_like_float32, tone_speech

from hyasr_space.results import Clip
from hyasr_space.runtime import load_model, networks
from hyasr_space.runtime.policy import pick_dtype
from hyasr_space.runtime.precision import CpuFeatures
from hyasr_space.settings import Settings
from hyasr_space.transcriber import Transcriber

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from hyasr_space.runtime import int8 as quantized  # noqa: E402


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


def test_the_export_holds_int8_weights_and_says_what_it_cost(
    model_dir: Path, int8_settings: Settings
) -> None:
    import onnx

    path = quantized.int8_model_path(model_dir, int8_settings.cache_dir)
    graph = onnx.load(str(path)).graph
    kinds = [node.op_type for node in graph.node]
    # 2 layers x (q, k, v, out, 2 feed-forward) + feature projection + output layer
    assert kinds.count("DynamicQuantizeMatMul") == 14
    # attention's own products stay float32, each layer's in one fused node
    assert kinds.count("MultiHeadAttention") == 2 and "MatMul" not in kinds
    assert "Softmax" not in kinds
    # each weight its own tensor: none merged with an equal one (the trace's weights are
    # uninitialised memory, where "equal" once made layers share the wrong weights)
    assert "Identity" not in kinds
    weights = [t for t in graph.initializer if t.name.endswith(".weight") and t.data_type == 3]
    assert len(weights) == 14  # int8
    info = json.loads((path.parent / quantized.INFO_FILE).read_text())
    assert info["bits"] == quantized.weight_bits() and info["peak_rss_mb"] > 0
    assert (info["matmuls"], info["attention_fused"]) == (14, 2)


# A CPU on which int8 is the choice and float32 serves meanwhile, whatever this one has.
VNNI = CpuFeatures(frozenset({"avx2", "fma", "avx512f", "avx512_vnni"}), "AVX512")


@pytest.fixture
def auto_settings(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """`auto` on a CPU with VNNI, for the tiny model (no size floor), and an empty cache."""
    monkeypatch.setattr(CpuFeatures, "detect", classmethod(lambda cls: VNNI))
    return replace(
        settings, device="cpu", dtype="auto", low_precision_min_mb=0.0, cache_dir=tmp_path / "c"
    )


def _read(model, text: str) -> str:
    """One forward pass, bypassing the transcriber's logits cache."""
    from hyasr_space.decoding import GreedyDecoder
    from hyasr_space.vocabulary import Vocabulary

    greedy = GreedyDecoder(Vocabulary.from_dir(model.path, size=model.vocab_size))
    return greedy.decode(model.logits(Clip(tone_speech(text)[0], 16_000, name=text))).text


def test_the_first_start_serves_at_once_then_switches_to_int8(
    model_dir: Path, auto_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()
    export = quantized.int8_model_path

    def held_export(*args, **kwargs):
        assert kwargs.get("background")  # the child runs at a lower priority
        gate.wait(60)
        return export(*args, **kwargs)

    monkeypatch.setattr(quantized, "int8_model_path", held_export)
    transcriber = Transcriber(load_model(str(model_dir), settings=auto_settings))
    model = transcriber.model
    assert (model.dtype, model.preparing) == ("float32", "int8")
    assert "float32 until int8 is ready" in transcriber.describe()
    assert transcriber.transcribe(Clip(tone_speech(WORDS)[0], 16_000, name="a")).best.text == WORDS
    interim_keys = [key for key in networks.WEIGHTS._items if "until" in key[2]]
    assert len(interim_keys) == 1

    # requests from three threads all through the switch: every one answered, and right
    answers: list[tuple[str, str, str]] = []
    stop = threading.Event()

    def requests(text: str) -> None:
        while not stop.is_set():
            dtype = model.dtype
            answers.append((dtype, text, _read(model, text)))
            stop.wait(0.1)  # leave the (lower-priority) export some of the 2 cores

    threads = [threading.Thread(target=requests, args=(t,)) for t in (WORDS, LONG_WORDS, "բարև")]
    for thread in threads:
        thread.start()
    gate.set()
    assert model.wait_until_prepared(120)
    # Each thread may still append one answer whose dtype it read before the switch;
    # two more per thread means every thread has also answered after it.
    after, deadline = len(answers), time.monotonic() + 120
    while len(answers) < after + 2 * len(threads) and time.monotonic() < deadline:
        stop.wait(0.05)
    stop.set()
    for thread in threads:
        thread.join(60)
    assert all(text == read for _, text, read in answers)
    assert {dtype for dtype, _, _ in answers} == {"float32", "int8"}
    assert (model.dtype, model.preparing, model.notices) == ("int8", None, ())
    assert isinstance(model.network, quantized.OnnxCTC)
    assert "int8 (ONNX Runtime)" in transcriber.describe()
    result = transcriber.transcribe(Clip(tone_speech(LONG_WORDS)[0], 16_000, name="b"))
    assert result.runtime == "cpu, int8 (ONNX Runtime)"
    assert networks.WEIGHTS.get(interim_keys[0]) is None  # float32 weights released


def test_a_cached_export_serves_int8_from_the_start(
    model_dir: Path, auto_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    quantized.int8_model_path(model_dir, auto_settings.cache_dir)
    assert quantized.is_cached(model_dir, auto_settings.cache_dir)

    def no_export(*args, **kwargs):
        raise AssertionError("a cached export was made again")

    monkeypatch.setattr(quantized.subprocess, "Popen", no_export)
    model = load_model(str(model_dir), settings=auto_settings)
    assert (model.dtype, model.preparing) == ("int8", None)
    assert _read(model, WORDS) == WORDS


def test_a_failed_export_leaves_float32_serving_with_a_notice(
    model_dir: Path, auto_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quantized.sys, "executable", "/bin/false")  # the child fails
    transcriber = Transcriber(load_model(str(model_dir), settings=auto_settings))
    assert transcriber.model.wait_until_prepared(60)
    assert (transcriber.model.dtype, transcriber.model.preparing) == ("float32", None)
    assert any("int8 model could not be prepared" in n for n in transcriber.notices)
    result = transcriber.transcribe(Clip(tone_speech(WORDS)[0], 16_000, name="c"))
    assert result.best.text == WORDS
    assert any("int8" in notice for notice in result.notices)
    assert not any((auto_settings.cache_dir / "int8").iterdir())  # no half export left


def test_one_shot_commands_serve_without_exporting(
    model_dir: Path, auto_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from hyasr_space import cli

    def no_export(*args, **kwargs):
        raise AssertionError("a one-shot command started an export")

    monkeypatch.setattr(quantized.subprocess, "Popen", no_export)
    monkeypatch.setenv("HYASR_LOW_PRECISION_MIN_MB", "0")
    monkeypatch.setenv("HYASR_CACHE_DIR", str(auto_settings.cache_dir))
    wav = auto_settings.cache_dir.parent / "words.wav"
    import soundfile

    soundfile.write(wav, tone_speech(WORDS)[0], 16_000)
    args = ["transcribe", "--model", str(model_dir), "--device", "cpu", "--format", "json"]
    assert cli.main([*args, "--decoder", "greedy", str(wav)]) == 0
    result = json.loads(capsys.readouterr().out)[0]
    assert result["runtime"] == "cpu, float32"
    assert result["decoders"]["greedy"]["text"] == WORDS


def test_a_page_opened_after_the_switch_says_what_serves(
    model_dir: Path, settings: Settings
) -> None:
    from hyasr_space import web

    cpu = replace(settings, device="cpu")
    transcriber = Transcriber(load_model(str(model_dir), settings=cpu))
    transcriber.model.preparing = "int8"  # as while the export runs
    demo = web.build_demo(cpu, transcriber)
    loads = [d for d in demo.config["dependencies"] if ["load"] == [t[1] for t in d["targets"]]]
    # the header (intro and banner) is refreshed for each page load; the other load event
    # only sets the language switch from the browser (a js function, no Python)
    header_loads = [d for d in loads if len(d["outputs"]) == 2]
    assert len(header_loads) == 1
    transcriber.model.preparing = None
    transcriber.model.notices = ("The faster int8 model could not be prepared (boom).",)
    intro, banner = web._header(transcriber, None)
    assert "cpu, float32;" in intro and "until" not in intro
    assert banner["visible"] and "boom" in banner["value"]
