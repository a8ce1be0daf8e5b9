"""Fixtures: the tiny tone model (tone_model.py) in the Hub layout, with and without its
KenLM, a clip it reads, settings that opt out of every fallback, and no network.

No test downloads anything, and every test starts without a Hub: huggingface_hub reads
HF_HUB_OFFLINE once, at import, so its constant is patched for each test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import soundfile
from tone_model import RATE, WORDS, build_tiny_model, tone_speech, write_language_model

from hyasr_space.runtime import caches
from hyasr_space.settings import Settings

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no network calls from tests


@pytest.fixture(scope="session")
def model_dir_no_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-no-lm")


@pytest.fixture(scope="session")
def model_dir(model_dir_no_lm: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models") / "tiny"
    shutil.copytree(model_dir_no_lm, folder)
    write_language_model(folder)
    return folder


@pytest.fixture(scope="session")
def second_model(model_dir_no_lm: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A second model to offer beside the tone model: the tone model spelling two letters
    the other way round (random_models.py), so its text shows which model ran."""
    from random_models import build_respelled_tone_model

    folder = tmp_path_factory.mktemp("models") / "respelled"
    return str(build_respelled_tone_model(model_dir_no_lm, folder))


@pytest.fixture(scope="session")
def words_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "barev.wav"
    soundfile.write(path, tone_speech(WORDS)[0], RATE, subtype="PCM_16")
    return path


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may reach the Hub: huggingface_hub reads HF_HUB_OFFLINE once, at import."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    yield


@pytest.fixture
def fresh_models() -> Iterator[None]:
    """No cached model, transcriber or card before or after the test (a later module's
    server would otherwise get a transcriber whose network is gone)."""
    caches.clear()
    yield
    caches.clear()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with no fallback and no demo model (each test opts in)."""
    return replace(
        Settings(),
        fallback_model=None,
        demo_model_dir=tmp_path / "no-demo-model",
        examples_dir=tmp_path / "no-examples",
        warm_up=False,
    )


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the browser tests keep their screenshots: `HYASR_SCREENSHOTS`, else a temp
    folder."""
    folder = os.environ.get("HYASR_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {path}")
    return path
