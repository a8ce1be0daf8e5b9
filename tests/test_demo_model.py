"""The shipped demo model: its layout, its card, and real transcripts of committed clips."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from hyasr_space.runtime import caches
from hyasr_space.settings import DEFAULT_MODEL, Settings
from hyasr_space.text import error_rates, normalize_text
from hyasr_space.transcriber import Transcriber

REPO = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO / "hyasr_space" / "demo_model"
EXAMPLES = REPO / "examples"


def example_rows() -> list[dict[str, str]]:
    with open(EXAMPLES / "metadata.tsv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture(scope="module")
def demo() -> Transcriber:
    return Transcriber.load("demo", settings=replace(Settings(), warm_up=False))


def test_the_demo_model_is_in_the_hub_layout_and_small() -> None:
    names = ["config.json", "model.safetensors", "preprocessor_config.json", "vocab.json",
             "tokenizer_config.json", "alphabet.json", "README.md"]  # fmt: skip
    names += [f"language_model/{name}" for name in ("lm.binary", "unigrams.txt", "attrs.json")]
    for name in names:
        assert (DEMO_DIR / name).is_file(), name
    config = json.loads((DEMO_DIR / "config.json").read_text())
    assert config["vocab_size"] == 44 and config["pad_token_id"] == 41
    size = sum(path.stat().st_size for path in DEMO_DIR.rglob("*") if path.is_file())
    assert size < 50 * 2**20


def test_the_card_reports_greedy_and_lm_metrics_matching_the_shipped_lm_weights() -> None:
    card = ModelCard.load(DEMO_DIR / "README.md")
    metrics = {result.metric_name: result.metric_value for result in card.data.eval_results}
    assert set(metrics) == {"WER greedy", "CER greedy", "WER LM", "CER LM"}
    assert metrics["CER greedy"] <= 0.10  # the bar
    assert metrics["WER LM"] <= 0.75 * metrics["WER greedy"]
    attrs = json.loads((DEMO_DIR / "language_model" / "attrs.json").read_text())
    assert f"alpha {attrs['alpha']:g}, beta {attrs['beta']:g}" in card.text


@pytest.mark.parametrize("row", example_rows(), ids=lambda row: row["path"])
def test_the_demo_model_transcribes_a_held_out_clip(demo: Transcriber, row: dict) -> None:
    result = demo.transcribe(EXAMPLES / row["path"], "both")
    reference = normalize_text(row["sentence"])
    assert result.get("lm").text == reference
    greedy = result.get("greedy")
    assert error_rates([reference], [greedy.text]).cer < 0.10
    starts = [word.start for word in greedy.words]
    assert starts == sorted(starts) and greedy.words[-1].end <= result.duration


def test_offline_the_default_model_falls_back_to_the_demo_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    caches.clear()
    settings = replace(Settings(), model=DEFAULT_MODEL, warm_up=False)
    transcriber = Transcriber.load(settings=settings)
    assert transcriber.model.source.kind == "demo"
    assert any("demo model" in notice for notice in transcriber.notices)
    row = example_rows()[0]
    assert transcriber.transcribe(EXAMPLES / row["path"], "lm").best.text == normalize_text(
        row["sentence"]
    )


def test_the_command_line_transcribes_with_the_demo_model() -> None:
    row = example_rows()[1]
    completed = subprocess.run(
        [sys.executable, "-m", "hyasr_space.cli", "transcribe", "--model", "demo",
         "--decoder", "both", "--format", "json", str(EXAMPLES / row["path"])],
        capture_output=True, text=True, check=True, env={"HF_HUB_OFFLINE": "1", "PATH": ""},
    )  # fmt: skip
    [result] = json.loads(completed.stdout)
    assert result["decoders"]["lm"]["text"] == normalize_text(row["sentence"])
    assert 3.0 < result["duration"] < 4.0
