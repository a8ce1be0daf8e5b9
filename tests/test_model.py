"""Finding, loading and running the acoustic model (real transformers code, tiny weights)."""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tone_model import LONG_WORDS, WORDS, save_like_transformers_4, tone_speech

from hyasr_space.decoding import GreedyDecoder
from hyasr_space.errors import ModelUnavailableError
from hyasr_space.results import Clip
from hyasr_space.runtime import AcousticModel, load_model
from hyasr_space.runtime.checkpoints import resolve_model
from hyasr_space.runtime.windows import conv_frames, conv_frames_receptive_field, plan_windows
from hyasr_space.settings import Settings
from hyasr_space.vocabulary import Vocabulary

KERNELS = (10, 3, 3, 3, 3, 2, 2)
STRIDES = (5, 2, 2, 2, 2, 2, 2)


def test_conv_geometry_of_wav2vec2() -> None:
    assert conv_frames_receptive_field(KERNELS, STRIDES) == 400
    assert conv_frames(16_000, KERNELS, STRIDES) == 49
    assert conv_frames(399, KERNELS, STRIDES) == 0


@pytest.mark.parametrize("seconds", [0.03, 1.0, 29.99, 30.0, 30.01, 54.7, 60.0, 61.3, 301.0])
def test_windows_tile_the_clip_exactly(seconds: float) -> None:
    total = int(seconds * 16_000)
    windows = plan_windows(total, 30 * 16_000, int(2.5 * 16_000), KERNELS, STRIDES)
    assert windows[0].start == 0 and windows[0].keep_start == 0
    assert windows[-1].end == total
    assert windows[-1].keep_end == conv_frames(total, KERNELS, STRIDES)
    for window in windows:
        assert window.start % 320 == 0
        assert window.end - window.start <= 30 * 16_000 + 320
        first = window.start // 320
        last = first + conv_frames(window.end - window.start, KERNELS, STRIDES)
        assert first <= window.keep_start < window.keep_end <= last
    for left, right in zip(windows, windows[1:], strict=False):
        assert left.keep_end == right.keep_start  # no frame lost, none twice
        # every kept frame has at least ~2 s of audio on each side inside its window
        assert left.keep_end * 320 - right.start >= 2 * 16_000
        assert left.end - right.keep_start * 320 >= 2 * 16_000


def test_short_clip_is_one_window() -> None:
    assert len(plan_windows(16_000 * 20, 16_000 * 30, 16_000 * 2, KERNELS, STRIDES)) == 1


def test_resolve_local_directory(model_dir: Path) -> None:
    source = resolve_model(str(model_dir))
    assert source.path == model_dir and source.kind == "directory"


def test_resolve_demo_model(model_dir: Path, settings: Settings) -> None:
    source = resolve_model("demo", settings=replace(settings, demo_model_dir=model_dir))
    assert source.kind == "demo" and source.path == model_dir
    assert source.label == "bundled demo model"


def test_the_demo_model_named_by_its_folder_is_still_named_as_the_demo_model(
    model_dir: Path, settings: Settings
) -> None:
    # The page's info line and the CLI's JSON say "bundled demo model", not a path.
    demo = replace(settings, demo_model_dir=model_dir)
    for ref in (str(model_dir), str(model_dir / ".." / model_dir.name)):
        source = resolve_model(ref, settings=demo)
        assert (source.kind, source.label, source.path) == ("demo", "bundled demo model", Path(ref))
    assert resolve_model(str(model_dir), settings=settings).label == str(model_dir)


def test_missing_demo_model_says_so(settings: Settings) -> None:
    with pytest.raises(ModelUnavailableError, match="demo model is not there"):
        resolve_model("demo", settings=settings)


def test_incomplete_directory_lists_missing_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelUnavailableError, match="vocab.json.*pytorch_model.bin missing"):
        resolve_model(str(tmp_path))


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        resolve_model(str(tmp_path / "nowhere"))


def test_hub_model_offline_and_not_cached_fails_fast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ModelUnavailableError, match="offline.*not in the local cache"):
        resolve_model("arampacha/wav2vec2-xls-r-1b-hy-cv")


def test_hub_model_from_the_cache_when_offline(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot laid out as huggingface_hub caches it is found without the network."""
    from huggingface_hub import constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--someone--tiny-hy"
    shutil.copytree(model_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    source = resolve_model("someone/tiny-hy")
    assert source.kind == "hub" and source.revision == commit
    assert source.label == "someone/tiny-hy@0123456"


def test_unreachable_hub_uses_the_cache_without_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    from hyasr_space.runtime import hub

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    probes = []
    monkeypatch.setattr(hub, "reachable", lambda endpoint, timeout: probes.append(timeout) or False)
    with pytest.raises(ModelUnavailableError, match="cannot be reached"):
        resolve_model("arampacha/wav2vec2-xls-r-1b-hy-cv", settings=Settings(hub_timeout_s=0.5))
    assert probes == [0.5]


def test_hub_probe_of_a_closed_port_is_quick() -> None:
    from hyasr_space.runtime import hub

    assert hub.reachable("http://127.0.0.1:9", 1.0) is False


def test_load_from_directory(model_dir: Path, settings: Settings) -> None:
    model = load_model(str(model_dir), settings=settings)
    assert isinstance(model, AcousticModel)
    assert (model.device, model.dtype) == ("cpu", "float32")
    assert model.seconds_per_frame == pytest.approx(320 / 16_000)
    assert model.vocab_size == 44
    assert model.network.config.hidden_size == 32
    assert load_model(str(model_dir), settings=settings) is model  # once per process


def test_concurrent_first_loads_share_one_model(model_dir: Path, tmp_path: Path) -> None:
    settings = Settings(fallback_model=None, logits_cache_size=3)  # a fresh cache key
    models: list[AcousticModel] = []
    threads = [
        threading.Thread(target=lambda: models.append(load_model(str(model_dir), None, settings)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(models) == 4 and len({id(model) for model in models}) == 1


def test_pytorch_model_bin_checkpoint_loads(
    model_dir_no_lm: Path, tmp_path: Path, settings: Settings
) -> None:
    """The seed model ships only `pytorch_model.bin`, written by transformers 4.17."""
    folder = tmp_path / "bin-model"
    shutil.copytree(model_dir_no_lm, folder)
    save_like_transformers_4(folder)
    assert (folder / "pytorch_model.bin").is_file()
    assert not (folder / "model.safetensors").exists()
    model = load_model(str(folder), settings=settings)
    greedy = GreedyDecoder(Vocabulary.from_dir(folder, model.vocab_size))
    assert greedy.decode(model.logits(Clip(tone_speech(WORDS)[0]))).text == WORDS


def test_broken_weights_are_a_model_error(model_dir_no_lm: Path, tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(model_dir_no_lm, folder)
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelUnavailableError, match="could not be loaded"):
        load_model(str(folder), settings=Settings(fallback_model=None))


def test_logits_shape_and_timing(model_dir: Path, settings: Settings) -> None:
    model = load_model(str(model_dir), settings=settings)
    samples, _ = tone_speech(WORDS)
    logits = model.logits(Clip(samples))
    assert logits.values.shape == (conv_frames(len(samples), KERNELS, STRIDES), 44)
    assert logits.values.dtype == np.float32
    assert logits.duration == pytest.approx(len(samples) / 16_000, abs=0.05)


@pytest.mark.parametrize("samples", [1, 100, 399, 400])
def test_very_short_clips_give_at_least_one_frame(
    model_dir: Path, settings: Settings, samples: int
) -> None:
    model = load_model(str(model_dir), settings=settings)
    assert model.logits(Clip(np.zeros(samples, dtype=np.float32))).frames >= 1


def test_chunked_forward_keeps_every_word_once(model_dir: Path, settings: Settings) -> None:
    """Windows of 1.5 s over a 7 s clip: the borders cut through words, and the stitched
    logits still spell every word exactly once, like the single pass does."""
    whole = load_model(str(model_dir), settings=settings)
    chunked_settings = replace(settings, chunk_s=1.5, chunk_context_s=0.3, chunk_batch_size=2)
    chunked = load_model(str(model_dir), settings=chunked_settings)
    assert chunked is not whole
    samples, _ = tone_speech(LONG_WORDS)
    clip = Clip(samples)
    windows = plan_windows(len(samples), 24_000, 4_800, KERNELS, STRIDES)
    assert len(windows) >= 5
    greedy = GreedyDecoder(Vocabulary.from_dir(model_dir, 44))
    single, stitched = whole.logits(clip), chunked.logits(clip)
    assert stitched.values.shape == single.values.shape
    assert greedy.decode(single).text == LONG_WORDS
    assert greedy.decode(stitched).text == LONG_WORDS


def test_the_public_frame_grid_and_normalisation_are_what_logits_uses(
    model_dir: Path, settings: Settings
) -> None:
    """Streaming runs the network through `frames`, `statistics` and `scores`; one window
    of them must give exactly the offline logits, on the same frames."""
    model = load_model(str(model_dir), settings=settings)
    samples = tone_speech(WORDS)[0].astype(np.float32)
    logits = model.logits(Clip(samples))
    scores = model.scores(samples, model.statistics(samples))
    assert model.normalizes
    assert scores.shape[0] == model.frames(len(samples)) == logits.frames
    np.testing.assert_allclose(scores, logits.values, atol=1e-5)
    # Other statistics give other scores: `scores` really normalises with what it is given.
    assert not np.allclose(model.scores(samples, (0.0, 1.0)), scores, atol=1e-3)
    # Shorter than one frame's receptive field: padded to one frame, as `logits` pads.
    short = samples[: model.receptive_field // 2]
    assert model.frames(len(model.padded(short))) == 1
    assert model.scores(short, model.statistics(short)).shape[0] == 1
