"""Aligning a text to its recording on the page: the "Align" tab, and the Transcribe tab's
"Re-align" (a corrected transcript aligned to the same audio, from its cached logits).

Both run `Transcriber.align` through `align_recording`. The Re-align event is the Space's
public `/align` (`API_NAME`): its inputs are the audio and the text, its outputs the same
as `/transcribe`'s, so an API user reads either the same way. The Align tab's own event
is private. Doubtful words (confidence below `Settings.doubtful_confidence`) are shown in
red on both tabs, deeper the less sure (`confidence_view`).
"""

from __future__ import annotations

import html
import time
from typing import Any

import gradio as gr

from ..errors import HyasrError
from ..results import Transcript, Transcription
from ..settings import Settings
from ..subtitles import CaptionLimits, segments_table
from ..transcriber import Transcriber
from . import speech_view
from .language import request_language
from .messages import description, hyasr_error, notes, page_error
from .model_panel import model_dropdown, serving
from .result_panel import confidence_view, result_panel, word_table_rows
from .session_files import SessionFiles, close_session_files
from .strings import EN, ENGLISH, ui
from .strings import text as say
from .transcribe_tab import TranscribePage

__all__ = ["API_NAME", "align_recording", "align_tab", "confidence_view", "wire_realign"]

API_NAME = "align"
TAB_NAME = EN["tab_align"]
WORD_COLUMNS = ["word", "start (s)", "end (s)", "confidence"]


def align_recording(
    transcriber: Transcriber | None,
    problem: str | None,
    audio: str | None,
    text: str,
    files: SessionFiles | None,
    progress: gr.Progress,
    limits: CaptionLimits,
    language: str = ENGLISH,
) -> tuple[Transcription, float, SessionFiles, list[str]]:
    """Align `text` to the recording; the result, the seconds it took, the session's
    files and the paths of its SRT, WebVTT and JSON downloads. User errors -> gr.Error,
    in the page's `language`."""
    if transcriber is None:
        raise page_error(language, "unavailable", "unavailable_title", problem=problem)
    if not audio:
        raise page_error(language, "no_audio", "no_audio_title")
    started = time.perf_counter()
    try:
        result = transcriber.align(
            audio,
            text or "",
            progress=lambda done, total: progress(
                (done, total), desc=say(language, "progress"), unit=say(language, "progress_unit")
            ),
        )
    except HyasrError as error:
        raise hyasr_error(language, error, "cannot_align") from error
    if files is None or files.closed:
        files = SessionFiles()
    paths = files.write_transcription(result, limits=limits)
    return result, time.perf_counter() - started, files, [str(p) for p in paths.values()]


def info(result: Transcription, seconds: float, language: str = ENGLISH) -> str:
    """Which model, which text, how long; the notices (a poor match, foreign words); in
    the page's `language`."""
    lines = [
        f"**{say(language, 'info_model')}** `{result.model}`",
        f"**{say(language, 'info_words_from')}** "
        + html.escape(description(language, result.best.description)),
        say(language, "info_aligned", duration=result.duration, seconds=seconds),
    ]
    lines += notes(language, result.notices)
    return "  \n".join(lines)


def word_rows(transcript: Transcript) -> list[list[Any]]:
    """Rows of `WORD_COLUMNS`."""
    return [
        [w.text, round(w.start, 2), round(w.end, 2), _score(w.confidence)] for w in transcript.words
    ]


def wire_realign(
    page: TranscribePage,
    settings: Settings,
    transcriber: Transcriber | None,
    problem: str | None,
) -> None:
    """On the Transcribe tab: the confidence colours after each transcription, and
    "Re-align", the public `/align`, with `/transcribe`'s outputs (text, greedy and LM
    comparisons, which stay empty, info, words, segments, downloads)."""
    limits = CaptionLimits.from_settings(settings)

    def colours(result: Transcription | None) -> list[tuple[str, float | None]]:
        return confidence_view(result.best if result else None, settings.doubtful_confidence)

    # The parameter names are the API's (gradio_client keyword arguments).
    def align(
        audio: str | None,
        text: str,
        files: SessionFiles | None,
        model: str | None = None,
        request: gr.Request | None = None,  # Gradio's: the page's language (language.py)
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> tuple[Any, ...]:
        language = request_language(request)
        with serving(model, transcriber, settings, progress, language=language) as chosen:
            result, seconds, files, paths = align_recording(
                chosen, problem, audio, text, files, progress, limits, language
            )
        table = segments_table(result.best, result.duration, limits)
        rows = word_table_rows(result)
        details = info(result, seconds, language)
        return result.best.text, [], [], details, rows, table, paths, files, result

    private: dict[str, Any] = {"api_visibility": "private", "queue": False}
    # After a transcription and after a re-alignment alike.
    page.last_result.change(
        colours, inputs=[page.last_result], outputs=[page.confidence], **private
    )
    realigned = page.realign.click(
        align,
        inputs=[page.audio, page.text, page.session_files, page.model],
        outputs=[*page.outputs, page.session_files, page.last_result],
        api_name=API_NAME,
    ).success(lambda: gr.Row(visible=False), outputs=[page.comparison], **private)
    speech_view.show_after(
        realigned, page.views, page.audio, page.last_result, transcriber, settings, page.times
    )


def align_tab(settings: Settings, transcriber: Transcriber | None) -> None:
    """The Align tab (a `TabBuilder`): audio and its text in; the words with times and
    confidences, a captioned player, the segments and the downloads out."""
    limits = CaptionLimits.from_settings(settings)
    problem = None if transcriber is not None else "no speech recognition model is loaded."
    with gr.Tab(ui("tab_align")):
        gr.Markdown(ui("align_help"))
        with gr.Row():
            with gr.Column():
                audio = gr.Audio(
                    sources=["upload", "microphone"],
                    type="filepath",
                    label=ui("audio_label"),
                )
                text = gr.Textbox(
                    label=ui("align_text_label"), lines=6, placeholder=ui("align_placeholder")
                )
                button = gr.Button(
                    ui("align_button"), variant="primary", interactive=transcriber is not None
                )
                model, _ = model_dropdown(settings, transcriber)
            with gr.Column():
                panel = result_panel(WORD_COLUMNS)
        panel.add_picture()
    files = gr.State(None, delete_callback=close_session_files)
    last_result = gr.State(None)

    def align(
        audio: str | None,
        text: str,
        files: SessionFiles | None,
        model: str | None = None,
        request: gr.Request | None = None,  # Gradio's: the page's language (language.py)
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> tuple[Any, ...]:
        language = request_language(request)
        with serving(model, transcriber, settings, progress, language=language) as chosen:
            result, seconds, files, paths = align_recording(
                chosen, problem, audio, text, files, progress, limits, language
            )
        return (
            confidence_view(result.best, settings.doubtful_confidence),
            info(result, seconds, language),
            word_rows(result.best),
            segments_table(result.best, result.duration, limits),
            paths,
            files,
            result,
        )

    aligned = button.click(
        align,
        inputs=[audio, text, files, model],
        outputs=[
            panel.confidence,
            panel.info,
            panel.words,
            panel.segments,
            panel.downloads,
            files,
            last_result,
        ],  # fmt: skip
        api_visibility="private",
    )
    speech_view.show_after(
        aligned, panel.views, audio, last_result, transcriber, settings, panel.times
    )


def _score(confidence: float | None) -> float | None:
    return None if confidence is None else round(confidence, 3)
