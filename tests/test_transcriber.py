"""The Transcriber: one model pass per clip, decoder choice, fallback to the demo model."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tone_model import WORDS, tone_speech

from hyasr_space.decoding import NO_LM_NOTICE
from hyasr_space.errors import EmptyAudioError, InvalidRequestError, ModelUnavailableError
from hyasr_space.results import Clip
from hyasr_space.runtime import load_model
from hyasr_space.settings import Settings
from hyasr_space.transcriber import Transcriber


@pytest.fixture
def transcriber(model_dir: Path, settings: Settings) -> Transcriber:
    return Transcriber(load_model(str(model_dir), settings=settings), settings)


def test_both_decoders_from_one_forward_pass(
    transcriber: Transcriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    forward = transcriber.model.logits
    monkeypatch.setattr(
        transcriber.model, "logits", lambda clip, progress=None: calls.append(1) or forward(clip)
    )
    clip = Clip(tone_speech(WORDS)[0], name="words.wav")
    both = transcriber.transcribe(clip, "both")
    assert [t.decoder for t in both.transcripts] == ["greedy", "lm"]
    assert [t.text for t in both.transcripts] == [WORDS, WORDS]
    assert both.best.decoder == "lm"
    # Switching decoder or LM settings, or the same audio under another name: no new pass.
    transcriber.transcribe(clip, "greedy")
    lm_defaults = transcriber.lm_defaults
    transcriber.transcribe(
        Clip(clip.samples.copy(), name="again.wav"), "lm", replace(lm_defaults, alpha=1.0)
    )
    assert len(calls) == 1
    transcriber.transcribe(Clip(clip.samples * 0.5), "greedy")
    assert len(calls) == 2


def test_logits_cache_is_bounded(model_dir: Path, settings: Settings) -> None:
    settings = replace(settings, logits_cache_size=2)
    transcriber = Transcriber(load_model(str(model_dir), settings=settings), settings)
    for seed in range(4):
        transcriber.logits(Clip(np.random.default_rng(seed).normal(size=4000).astype(np.float32)))
    assert len(transcriber._cache) == 2


def test_result_reports_model_duration_and_words(transcriber: Transcriber, words_wav: Path) -> None:
    result = transcriber.transcribe(str(words_wav), "lm")
    assert result.source == "barev.wav"
    assert result.model == str(transcriber.model.path)
    assert result.duration == pytest.approx(len(tone_speech(WORDS)[0]) / 16_000)
    data = result.to_dict()
    assert data["decoders"]["lm"]["text"] == WORDS
    assert [w["word"] for w in data["decoders"]["lm"]["words"]] == WORDS.split()
    assert transcriber.describe().endswith("(cpu, float32; 2-gram KenLM)")


def test_model_without_lm_decodes_greedily_and_says_so(
    model_dir_no_lm: Path, settings: Settings
) -> None:
    transcriber = Transcriber(load_model(str(model_dir_no_lm), settings=settings), settings)
    assert not transcriber.has_lm
    result = transcriber.transcribe(Clip(tone_speech(WORDS)[0]), "lm")
    assert [t.decoder for t in result.transcripts] == ["greedy"]
    assert result.best.text == WORDS
    assert NO_LM_NOTICE in result.notices
    both = transcriber.transcribe(Clip(tone_speech(WORDS)[0]), "both")
    assert len(both.transcripts) == 1


def test_broken_language_model_leaves_greedy_working(
    model_dir: Path, tmp_path: Path, settings: Settings
) -> None:
    folder = tmp_path / "broken-lm"
    shutil.copytree(model_dir, folder)
    (folder / "language_model" / "lm.arpa").write_text("not an arpa file")
    transcriber = Transcriber(load_model(str(folder), settings=settings), settings)
    assert not transcriber.has_lm
    assert any("language model could not be loaded" in n for n in transcriber.notices)
    assert transcriber.transcribe(Clip(tone_speech(WORDS)[0]), "lm").best.text == WORDS


def test_silence_gives_empty_text(transcriber: Transcriber) -> None:
    result = transcriber.transcribe((48_000, np.zeros((48_000, 2), np.int16)), "both")
    assert result.duration == pytest.approx(1.0)
    assert all(t.text == "" for t in result.transcripts)


def test_unknown_decoder_and_empty_audio_are_user_errors(transcriber: Transcriber) -> None:
    with pytest.raises(InvalidRequestError, match="unknown decoder"):
        transcriber.transcribe(Clip(np.zeros(1600, np.float32)), "viterbi")
    with pytest.raises(EmptyAudioError):
        transcriber.transcribe((16_000, np.zeros(0, np.int16)))


def test_unavailable_default_model_falls_back_to_demo(
    model_dir: Path, tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = replace(
        settings,
        model="nobody/not-cached-anywhere",
        fallback_model="demo",
        demo_model_dir=model_dir,
    )
    transcriber = Transcriber.load(settings=settings)
    assert transcriber.model.source.kind == "demo"
    assert transcriber.model_name == "bundled demo model"
    assert len(transcriber.notices) == 1
    assert "nobody/not-cached-anywhere could not be loaded" in transcriber.notices[0]
    assert "bundled demo model instead" in transcriber.notices[0]
    assert "Falling back to demo." in caplog.text
    result = transcriber.transcribe(Clip(tone_speech(WORDS)[0]), "lm")
    assert result.best.text == WORDS and result.notices == transcriber.notices
    assert Transcriber.load(settings=settings) is transcriber  # shared per process


def test_explicitly_named_model_does_not_fall_back(model_dir: Path, settings: Settings) -> None:
    settings = replace(settings, fallback_model="demo", demo_model_dir=model_dir)
    with pytest.raises(ModelUnavailableError, match="nobody/absent"):
        Transcriber.load("nobody/absent", settings=settings)


def test_no_model_and_no_demo_explains_both(settings: Settings) -> None:
    settings = replace(settings, model="nobody/not-cached", fallback_model="demo")
    with pytest.raises(ModelUnavailableError, match="not-cached.*demo.*unavailable too"):
        Transcriber.load(settings=settings)


def test_warm_up_runs(transcriber: Transcriber) -> None:
    transcriber.warm_up()
