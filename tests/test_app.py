"""The app as a user's program sees it: a real Gradio server answering gradio_client calls."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile
import srt
from tone_model import WORDS

from hyasr_space.settings import Settings
from hyasr_space.web import API_NAME, build_demo, launch
from hyasr_space.web.agent_tools import ALIGN_TOOL, TRANSCRIBE_TOOL
from hyasr_space.web.align_tab import API_NAME as ALIGN_API_NAME
from hyasr_space.web.result_panel import DIFFERS, word_diff

gradio_client = pytest.importorskip("gradio_client")
AppError = gradio_client.exceptions.AppError

LIMIT_S = 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(settings: Settings) -> Iterator[str]:
    demo = build_demo(settings)
    port = _free_port()
    launch(demo, settings, host="127.0.0.1", port=port, prevent_thread_lock=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def app_url(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    examples = tmp_path_factory.mktemp("examples")
    settings = replace(
        Settings(),
        model=str(model_dir),
        fallback_model=None,
        max_duration_s=LIMIT_S,
        examples_dir=examples,
        warm_up=True,
    )
    yield from _serve(settings)


@pytest.fixture(scope="module")
def client(app_url: str):
    return gradio_client.Client(app_url, verbose=False)


def call(client, path: Path, decoder: str = "lm", alpha: float = 0.5, hotwords: str = ""):
    return client.predict(
        gradio_client.handle_file(str(path)),
        decoder,
        alpha,
        1.5,
        100,
        hotwords,
        10.0,
        api_name=f"/{API_NAME}",
    )


def test_transcribes_through_the_api(client, words_wav: Path, model_dir: Path) -> None:
    text, greedy_view, lm_view, info, words, segments, downloads = call(client, words_wav)
    assert text == WORDS
    files = {Path(path).suffix: Path(path) for path in downloads}
    assert sorted(files) == [".json", ".srt", ".vtt"]
    [caption] = srt.parse(files[".srt"].read_text(encoding="utf-8"))
    assert caption.content == WORDS
    assert files[".vtt"].read_text(encoding="utf-8").startswith("WEBVTT")
    assert json.loads(files[".json"].read_text(encoding="utf-8"))["duration"] > 0
    segment_rows = segments["data"] if isinstance(segments, dict) else segments
    assert [row[-1] for row in segment_rows] == [WORDS]
    assert str(model_dir) in info
    assert "beam search + 2-gram KenLM (alpha 0.5, beta 1.5, beam 100)" in info
    rows = words["data"] if isinstance(words, dict) else words
    assert [row[:2] for row in rows] == [["lm", "բարև"], ["lm", "ձեզ"]]
    assert rows[0][2] < rows[0][3] <= rows[1][2] < rows[1][3]


def test_both_decoders_side_by_side(client, words_wav: Path) -> None:
    text, greedy_view, lm_view, info, *_ = call(client, words_wav, "both")
    assert text == WORDS
    assert "greedy CTC" in info and "KenLM" in info
    spelled = [item["token"] for item in greedy_view if item["token"].strip()]
    assert spelled == WORDS.split()
    assert all(item["class_or_confidence"] is None for item in lm_view)


def test_greedy_only(client, words_wav: Path) -> None:
    text, _, _, info, *_ = call(client, words_wav, "greedy")
    assert text == WORDS and "greedy CTC" in info and "KenLM" not in info


def test_the_audio_alone_is_a_whole_api_call(client, words_wav: Path) -> None:
    text, _, _, info, *_ = client.predict(
        gradio_client.handle_file(str(words_wav)), api_name=f"/{API_NAME}"
    )
    assert text == WORDS and "KenLM (alpha 0.5, beta 1.5, beam 100)" in info  # the page's


def test_api_parameters_have_readable_names_and_defaults(client, words_wav: Path) -> None:
    api = client.view_api(print_info=False, return_format="dict")
    parameters = api["named_endpoints"][f"/{API_NAME}"]["parameters"]
    names = [p["parameter_name"] for p in parameters]
    assert names == [
        "audio", "decoder", "alpha", "beta", "beam_width", "hotwords", "hotword_weight"
    ]  # fmt: skip
    assert [p["parameter_has_default"] for p in parameters] == [False] + [True] * 6
    text, _, _, info, *_ = client.predict(
        audio=gradio_client.handle_file(str(words_wav)),
        decoder="greedy",
        hotwords="մայր",
        api_name=f"/{API_NAME}",
    )
    assert text == WORDS and "greedy CTC" in info


def test_api_lists_the_transcribe_and_align_endpoints(client) -> None:
    # ... and the MCP tools (agent_tools.py), which Gradio serves only from public endpoints.
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == [
        f"/{API_NAME}",
        f"/{ALIGN_API_NAME}",
        f"/{TRANSCRIBE_TOOL}",
        f"/{ALIGN_TOOL}",
    ]


def test_align_endpoint_aligns_a_corrected_text(client, words_wav: Path) -> None:
    api = client.view_api(print_info=False, return_format="dict")
    parameters = api["named_endpoints"][f"/{ALIGN_API_NAME}"]["parameters"]
    assert [p["parameter_name"] for p in parameters] == ["audio", "text"]
    text, greedy_view, lm_view, info, words, segments, downloads = client.predict(
        audio=gradio_client.handle_file(str(words_wav)),
        text="Բարև ձեր",  # the second word corrected (wrongly: the audio says ձեզ)
        api_name=f"/{ALIGN_API_NAME}",
    )
    assert text == "Բարև ձեր" and greedy_view == [] and lm_view == []
    assert "forced alignment of the given text" in info
    rows = words["data"] if isinstance(words, dict) else words
    assert [row[:2] for row in rows] == [["align", "Բարև"], ["align", "ձեր"]]
    assert rows[0][4] > 0.5 > rows[1][4] >= 0  # the wrong letter shows in the score
    files = {Path(path).suffix: Path(path) for path in downloads}
    [caption] = srt.parse(files[".srt"].read_text(encoding="utf-8"))
    assert caption.content == "Բարև ձեր"
    with pytest.raises(AppError, match="There is no text to align"):
        client.predict(gradio_client.handle_file(str(words_wav)), "", api_name="/align")


def test_transcribed_words_carry_confidences(client, words_wav: Path) -> None:
    *_, words, _, downloads = call(client, words_wav, "both")
    rows = words["data"] if isinstance(words, dict) else words
    assert len(rows) == 4 and all(0 <= row[4] <= 1 for row in rows)
    [data] = [json.loads(Path(p).read_text()) for p in downloads if p.endswith(".json")]
    for transcript in data["decoders"].values():
        assert all(0 <= word["confidence"] <= 1 for word in transcript["words"])


def test_doubtful_words_are_shaded_by_doubt() -> None:
    from hyasr_space.results import Transcript, Word
    from hyasr_space.web.result_panel import confidence_view

    words = (Word("ա", 0, 1, 0.9), Word("բ", 1, 2, 0.2), Word("X", 2, 3, 0.0, interpolated=True))
    view = confidence_view(Transcript("ա բ X", words, "align", ""), doubtful=0.5)
    assert view == [("ա", 0.0), (" ", None), ("բ", 0.8), (" ", None), ("X", 1.0)]
    assert confidence_view(None, 0.5) == []


def test_corrupt_file_gets_its_own_error(client, tmp_path: Path) -> None:
    path = tmp_path / "corrupt.wav"
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + bytes(range(256)) * 4)
    with pytest.raises(AppError, match="corrupt.wav is not an audio file that can be read"):
        call(client, path)


def test_empty_file_gets_its_own_error(client, tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AppError, match="empty.wav is an empty file"):
        call(client, path)


def test_too_long_recording_names_the_limit(client, tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    soundfile.write(path, np.zeros(16_000 * (LIMIT_S + 1)), 16_000)
    with pytest.raises(AppError, match=rf"long.wav is 6.0 seconds long; the limit is {LIMIT_S} s"):
        call(client, path)


def test_out_of_range_setting_is_refused(client, words_wav: Path) -> None:
    with pytest.raises(AppError, match="less than minimum"):  # Gradio checks slider ranges
        call(client, words_wav, alpha=-1.0)


def test_app_starts_without_any_model_and_says_why(tmp_path: Path) -> None:
    settings = replace(
        Settings(),
        model="nobody/not-cached",
        fallback_model="demo",
        demo_model_dir=tmp_path / "no-demo",
        warm_up=False,
    )
    for url in _serve(settings):
        page = httpx.get(url + "config", timeout=30).text
        assert "No speech recognition model could be loaded" in page
        assert "nobody/not-cached" in page
        client = gradio_client.Client(url, verbose=False)
        soundfile.write(tmp_path / "speech.wav", np.zeros(1600), 16_000)
        with pytest.raises(AppError, match="No model is loaded"):
            call(client, tmp_path / "speech.wav")


def test_word_diff_marks_differing_words() -> None:
    greedy, lm = word_diff("իմ մաիր և հայր", "իմ մայր և հայր")
    assert greedy == [
        ("իմ", None), (" ", None), ("մաիր", DIFFERS), (" ", None),
        ("և", None), (" ", None), ("հայր", None),
    ]  # fmt: skip
    assert ("մայր", DIFFERS) in lm and ("իմ", None) in lm
    assert word_diff("", "ա") == ([], [("ա", DIFFERS)])


def test_fallback_notice_is_a_banner_on_the_page(model_dir: Path) -> None:
    from hyasr_space.runtime import load_model
    from hyasr_space.transcriber import Transcriber

    settings = replace(Settings(), fallback_model=None, warm_up=False)
    notice = "x/y could not be loaded (<offline>). Using the bundled demo model instead."
    transcriber = Transcriber(load_model(str(model_dir), settings=settings), settings, notice)
    demo = build_demo(settings, transcriber)
    page = json.dumps(demo.get_config_file(), ensure_ascii=False, default=str)
    assert "x/y could not be loaded (&lt;offline&gt;). Using the bundled demo model" in page


def test_the_captioned_player_shows_only_when_there_is_something_to_caption(
    model_dir: Path, words_wav: Path, tmp_path: Path, settings: Settings
) -> None:
    from hyasr_space.subtitles import CaptionLimits
    from hyasr_space.transcriber import Transcriber
    from hyasr_space.web.speech_view import player_cues

    transcriber = Transcriber.load(str(model_dir), settings=settings)
    spoken = transcriber.transcribe(words_wav, "greedy")
    assert [cue["text"] for cue in player_cues(spoken, CaptionLimits())] == [WORDS]
    # The caption limits of the settings (HYASR_CAPTION_*) apply to the player too.
    one_word_lines = CaptionLimits.from_settings(
        replace(settings, caption_max_line_chars=5, caption_max_lines=1)
    )
    assert [cue["text"] for cue in player_cues(spoken, one_word_lines)] == WORDS.split()

    silence = tmp_path / "silence.wav"
    soundfile.write(silence, np.zeros(16_000, dtype=np.float32), 16_000)
    quiet = transcriber.transcribe(silence, "greedy")
    assert quiet.best.text == ""
    assert player_cues(quiet, CaptionLimits()) == []
    assert player_cues(None, CaptionLimits()) == []


def test_the_served_app_gives_freed_heap_back(app_url: str) -> None:
    """benchmarks/soak.py: without it the server's RSS climbed ~76 MB per 1000 requests."""
    import threading

    from hyasr_space.runtime.heap import trim_heap

    assert "heap-trimmer" in {thread.name for thread in threading.enumerate()}
    assert trim_heap(collect=True)  # glibc (Debian, the Space image) has malloc_trim


def test_caption_limits_from_the_settings_shape_every_download(
    model_dir: Path, words_wav: Path, tmp_path: Path
) -> None:
    # HYASR_CAPTION_MAX_LINE_CHARS=5 and HYASR_CAPTION_MAX_LINES=1: a caption a word.
    settings = replace(
        Settings(),
        model=str(model_dir),
        fallback_model=None,
        examples_dir=tmp_path,
        warm_up=False,
        caption_max_line_chars=5,
        caption_max_lines=1,
    )
    for url in _serve(settings):
        client = gradio_client.Client(url, verbose=False)
        *_, segments, downloads = call(client, words_wav)
        rows = segments["data"] if isinstance(segments, dict) else segments
        assert [row[-1] for row in rows] == WORDS.split()
        files = {Path(path).suffix: Path(path) for path in downloads}
        cues = list(srt.parse(files[".srt"].read_text(encoding="utf-8")))
        assert [cue.content for cue in cues] == WORDS.split()
        assert files[".vtt"].read_text(encoding="utf-8").count(" --> ") == 2
        data = json.loads(files[".json"].read_text(encoding="utf-8"))
        assert [s["text"] for s in data["decoders"]["lm"]["segments"]] == WORDS.split()
