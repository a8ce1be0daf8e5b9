"""`hyasr` on the command line: the console script, run as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from tone_model import WORDS, tone_speech

from hyasr_space.cli import COMMANDS, OUTPUT_FORMATS, build_parser, main


def hyasr(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("hyasr")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "hyasr_space.cli"]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env=environment, timeout=300
    )


def test_transcribe_json_from_the_command_line(model_dir: Path, words_wav: Path) -> None:
    done = hyasr(
        "transcribe", "--model", str(model_dir), "--decoder", "both", "--format", "json",
        str(words_wav),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [result] = json.loads(done.stdout)
    assert result["file"] == "barev.wav"
    assert result["model"] == str(model_dir)
    assert result["duration"] == pytest.approx(len(tone_speech(WORDS)[0]) / 16_000, abs=0.001)
    for decoder in ("greedy", "lm"):
        transcript = result["decoders"][decoder]
        assert transcript["text"] == WORDS
        words = transcript["words"]
        assert [w["word"] for w in words] == WORDS.split()
        assert 0 <= words[0]["start"] < words[0]["end"] <= words[1]["start"] < words[1]["end"]
        assert words[1]["end"] <= result["duration"]


def test_text_output_and_per_file_errors(
    model_dir: Path, words_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio at all" * 10)
    status = main(["transcribe", "--model", str(model_dir), str(words_wav), str(broken)])
    out, err = capsys.readouterr()
    assert status == 1
    assert out.strip() == WORDS
    assert "broken.wav is not an audio file that can be read" in err


def test_both_decoders_and_several_files_as_text(
    model_dir: Path, words_wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", "--model", str(model_dir), "--decoder", "both", str(words_wav)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"[greedy] {WORDS}", f"[lm] {WORDS}"]
    assert main(["transcribe", "--model", str(model_dir), str(words_wav), str(words_wav)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"barev.wav: {WORDS}"] * 2


def test_model_without_lm_notes_greedy_decoding(
    model_dir_no_lm: Path, words_wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", "--model", str(model_dir_no_lm), str(words_wav)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == WORDS
    assert "no language model" in err


def test_unavailable_model_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    audio = tmp_path / "a.wav"
    soundfile.write(audio, np.zeros(1600), 16_000)
    assert main(["transcribe", "--model", str(tmp_path / "missing"), str(audio)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_default_model_falls_back_to_demo_with_a_warning(
    model_dir: Path,
    words_wav: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub-cache"))
    monkeypatch.setenv("HYASR_MODEL", "nobody/not-cached")
    monkeypatch.setenv("HYASR_DEMO_MODEL_DIR", str(model_dir))
    assert main(["transcribe", str(words_wav)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == WORDS
    assert "warning: nobody/not-cached could not be loaded" in err
    assert "bundled demo model instead" in err


def test_bad_lm_setting_exits_2(
    model_dir: Path, words_wav: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["transcribe", "--model", str(model_dir), "--alpha", "-3", str(words_wav)]) == 2
    assert "alpha must be between" in capsys.readouterr().err


def test_registries_drive_the_parser() -> None:
    assert {"transcribe", "serve"} <= set(COMMANDS)
    assert {"text", "json"} <= set(OUTPUT_FORMATS)
    serve = build_parser().parse_args(["serve", "--share", "--port", "7861", "--model", "demo"])
    assert (serve.share, serve.port, serve.model, serve.host) == (True, 7861, "demo", None)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["transcribe", "--format", "xml", "a.wav"])
