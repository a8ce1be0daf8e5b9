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


def test_caption_limits_from_options_and_the_environment(
    model_dir: Path,
    words_wav: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import srt

    base = ["transcribe", "--model", str(model_dir), "--format", "srt", str(words_wav)]
    assert main(base) == 0
    assert [c.content for c in srt.parse(capsys.readouterr().out)] == [WORDS]
    # One line of at most 5 characters: a caption a word.
    assert main([*base, "--max-line-chars", "5", "--max-lines", "1"]) == 0
    assert [c.content for c in srt.parse(capsys.readouterr().out)] == WORDS.split()
    # The same from HYASR_CAPTION_*; an option still wins over its variable.
    monkeypatch.setenv("HYASR_CAPTION_MAX_LINE_CHARS", "5")
    monkeypatch.setenv("HYASR_CAPTION_MAX_LINES", "1")
    json_run = ["transcribe", "--model", str(model_dir), "--format", "json", str(words_wav)]
    assert main(json_run) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert [s["text"] for s in result["decoders"]["lm"]["segments"]] == WORDS.split()
    assert main([*base, "--max-line-chars", "42"]) == 0
    assert [c.content for c in srt.parse(capsys.readouterr().out)] == [WORDS]  # fits a line
    assert main([*base, "--max-lines", "2", "--max-caption-s", "60"]) == 0
    assert [c.content for c in srt.parse(capsys.readouterr().out)] == ["բարև\nձեզ"]
    with pytest.raises(SystemExit) as exit_info:
        main([*base, "--max-caption-s", "0"])
    assert exit_info.value.code == 2
    assert "--max-caption-s: must be a positive number of seconds" in capsys.readouterr().err


def test_plot_writes_the_picture(
    model_dir: Path, words_wav: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    from hyasr_space.picture import CAPTION_CUT, LEGEND_H, ROW_H, WIDTH

    plot = tmp_path / "barev.png"
    command = ["transcribe", "--model", str(model_dir), "--plot", str(plot)]
    assert main([*command, "--max-line-chars", "5", "--max-lines", "1", str(words_wav)]) == 0
    assert capsys.readouterr().out.strip() == WORDS
    with Image.open(plot) as image:
        assert image.format == "PNG" and image.size == (WIDTH, LEGEND_H + ROW_H)
        pixels = np.asarray(image.convert("RGB"))
    assert (pixels == CAPTION_CUT).all(axis=2).any()  # one caption a word: a cut between

    assert main([*command, str(words_wav), str(words_wav)]) == 2
    assert "--plot takes one file at a time" in capsys.readouterr().err
    assert main([*command[:-1], str(tmp_path / "picture.txt"), str(words_wav)]) == 2
    assert "not a picture file name" in capsys.readouterr().err
    assert main([*command[:-1], str(tmp_path / "no" / "such" / "x.png"), str(words_wav)]) == 1
    out, err = capsys.readouterr()
    assert out.strip() == WORDS and "--plot" in err and "x.png" in err
