"""The Transcribe tab: audio in, decoder and LM settings, text, words, captions, downloads.

Its Transcribe event is the Space's public API, `/transcribe` (`API_NAME`); the parameter
names of its handler are the API's, and every input but the audio has the page's default.
The transcript is editable: align_tab.py wires its "Re-align" button (`/align`) and the
confidence colours, from the components `transcribe_tab` returns (`TranscribePage`).
The result is shown in result_panel.py's panel, which every tab lays out the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from ..errors import HyasrError
from ..lm import LMSettings
from ..settings import Settings
from ..subtitles import CaptionLimits, segments_table
from ..transcriber import Transcriber
from . import speech_view
from .decoder_panel import DECODER_LABELS, decoder_controls, lm_settings
from .language import request_language
from .messages import hyasr_error, page_error
from .model_panel import model_dropdown, serving
from .result_panel import (
    DIFFERS,
    WORD_COLUMNS,
    confidence_box,
    decoder_comparison,
    result_panel,
    result_tables,
    transcription_values,
    word_diff,
    word_table_rows,
)
from .session_files import SessionFiles, close_session_files
from .strings import text as say
from .strings import ui

# The names the Live tab and older code import from here; result_panel.py and
# decoder_panel.py are their home now. Kept until the Live tab imports those.
_lm_settings = lm_settings
_render = transcription_values
__all__ = [
    "API_NAME",
    "DECODER_LABELS",
    "DIFFERS",
    "WORD_COLUMNS",
    "TranscribePage",
    "confidence_box",
    "decoder_comparison",
    "decoder_controls",
    "result_tables",
    "transcribe_tab",
    "word_diff",
    "word_table_rows",
]

API_NAME = "transcribe"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".webm")


@dataclass(frozen=True)
class TranscribePage:
    """What align_tab.py needs of the Transcribe tab to wire Re-align and the colours."""

    audio: Any
    text: Any
    outputs: list[Any]  # /transcribe's: text, greedy, lm, info, words, segments, downloads
    comparison: Any
    views: speech_view.ResultViews  # the player, the picture and the Share link
    confidence: Any
    realign: Any
    session_files: Any
    last_result: Any  # the latest Transcription (gr.State)
    model: Any = None  # the model dropdown (its value: a model name)
    times: Any = None  # the word times for click-to-seek (speech_view.word_times_view)


def transcribe_tab(
    settings: Settings, transcriber: Transcriber | None, problem: str | None
) -> TranscribePage:
    """The Transcribe tab's components and events (inside the current `gr.Tab`)."""
    has_lm = transcriber is not None and transcriber.has_lm
    defaults = transcriber.lm_defaults if transcriber else LMSettings.from_settings(settings)
    limits = CaptionLimits.from_settings(settings)
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(
                sources=["upload", "microphone"],
                type="filepath",  # we decode ourselves: a corrupt file gets a clear error
                label=ui("audio_label"),
            )
            model, _ = model_dropdown(settings, transcriber)
            decoder, alpha, beta, beam_width, hotwords, hotword_weight = decoder_controls(
                settings, has_lm, defaults
            )
            with gr.Row():
                clear = gr.Button(ui("clear"))
                submit = gr.Button(ui("transcribe"), variant="primary", interactive=problem is None)
            examples = _example_files(settings.examples_dir)
            if examples:
                gr.Examples(
                    [[str(path)] for path in examples],
                    inputs=[audio],
                    cache_examples=False,
                    label=ui("examples"),
                )
        with gr.Column():
            text = gr.Textbox(label=ui("transcript_label"), lines=4, buttons=["copy"])
            realign = gr.Button(ui("realign"), interactive=problem is None)
            panel = result_panel(WORD_COLUMNS, compare=True)
    panel.add_picture()
    views = panel.views
    confidence, comparison = panel.confidence, panel.comparison
    # Per-session download folder; Gradio calls the callback when the session's state
    # is dropped (an hour after the tab closes), and the object's finalizer at exit.
    session_files = gr.State(None, delete_callback=close_session_files)
    last_result = gr.State(None)

    # The parameter names are the API's (gradio_client keyword arguments); every one but
    # the audio has the page's default, so `predict(handle_file(path))` works.
    def transcribe(
        audio: str | None,
        decoder: str,
        alpha: float,
        beta: float,
        beam_width: float,
        hotwords: str,
        hotword_weight: float,
        files: SessionFiles | None,
        model: str | None = None,
        request: gr.Request | None = None,  # Gradio's: the page's language (language.py)
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> tuple[Any, ...]:
        language = request_language(request)
        with serving(model, transcriber, settings, progress, language=language) as chosen:
            return run(audio, decoder, alpha, beta, beam_width, hotwords, hotword_weight,
                       files, chosen, progress, language)  # fmt: skip

    def run(audio, decoder, alpha, beta, beam_width, hotwords, hotword_weight, files,
            chosen: Transcriber | None, progress: gr.Progress,
            language: str) -> tuple[Any, ...]:  # fmt: skip
        if chosen is None:
            raise page_error(language, "unavailable", "unavailable_title", problem=problem)
        if not audio:
            raise page_error(language, "no_audio", "no_audio_title")
        started = time.perf_counter()
        base = defaults
        if chosen is not transcriber and (alpha, beta) == (defaults.alpha, defaults.beta):
            base = chosen.lm_defaults  # untouched sliders: the chosen model's own LM settings
            alpha, beta = base.alpha, base.beta
        try:
            options = lm_settings(base, alpha, beta, beam_width, hotwords, hotword_weight)
            result = chosen.transcribe(
                audio,
                decoder,
                options,
                progress=lambda done, total: progress(
                    (done, total),
                    desc=say(language, "progress"),
                    unit=say(language, "progress_unit"),
                ),
            )
        except HyasrError as error:
            raise hyasr_error(language, error, "cannot_transcribe") from error
        seconds = time.perf_counter() - started
        if files is None or files.closed:
            files = SessionFiles()
        paths = files.write_transcription(result, limits=limits)
        table = segments_table(result.best, result.duration, limits)
        downloads = [str(p) for p in paths.values()]
        values = transcription_values(result, seconds, language)
        return (*values, table, downloads, files, result)

    # The API returns plain values; showing or hiding the comparison is a separate,
    # private step, so API users never see Gradio's update dictionaries.
    outputs = [text, panel.greedy_view, panel.lm_view, panel.info, panel.words]
    outputs += [panel.segments, panel.downloads]
    transcribed = submit.click(
        transcribe,
        inputs=[
            audio,
            decoder,
            alpha,
            beta,
            beam_width,
            hotwords,
            hotword_weight,
            session_files,
            model,
        ],  # fmt: skip
        outputs=[*outputs, session_files, last_result],
        api_name=API_NAME,
    ).success(
        lambda choice: gr.Row(visible=choice == "both"),
        inputs=[decoder],
        outputs=[comparison],
        api_visibility="private",
        queue=False,
    )
    # The player, the picture and the Share link, each once it is ready.
    speech_view.show_after(
        transcribed, views, audio, last_result, transcriber, settings, panel.times
    )
    clear.click(
        lambda: (
            None,
            "",
            [],
            [],
            "",
            None,
            None,
            None,
            gr.Row(visible=False),
            *speech_view.cleared(),
            [],
        ),
        outputs=[audio, *outputs, comparison, *views.components, confidence],
        api_visibility="private",
        queue=False,
    )
    return TranscribePage(
        audio, text, outputs, comparison, views, confidence, realign,
        session_files, last_result, model, panel.times,
    )  # fmt: skip


def _example_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
