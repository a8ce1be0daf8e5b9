"""The Compare tab: one recording through two models side by side, the words where they
differ highlighted (compare.py lines them up on the scoring normalisation, so case,
punctuation, hyphens and "և"/"եւ" are never marked). Each model decodes with its own
language model where it has one. Its event is also the API's `/compare`.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from ..compare import compare, word_differences
from ..errors import HyasrError
from ..models import offered_models
from ..settings import DECODER_CHOICES, LM, Settings
from ..transcriber import Transcriber
from .decoder_panel import DECODER_KEYS
from .language import request_language
from .messages import hyasr_error, notice, page_error
from .model_panel import model_dropdown, serving
from .result_panel import DIFFERS
from .strings import ui

API_NAME = "compare"
_COLOURS = {DIFFERS: "#fbbf24"}


def compare_tab(settings: Settings, transcriber: Transcriber | None) -> None:
    """The Compare tab (a `TabBuilder`)."""
    offered = offered_models(settings)
    with gr.Tab(ui("tab_compare")):
        gr.Markdown(ui("compare_intro"))
        with gr.Row():
            with gr.Column():
                audio = gr.Audio(
                    sources=["upload", "microphone"], type="filepath", label=ui("compare_audio")
                )
                decoder = gr.Radio(
                    [(ui(DECODER_KEYS[value]), value) for value in DECODER_CHOICES],
                    value=LM,
                    label=ui("decoder"),
                )
                button = gr.Button(ui("compare_button"), variant="primary")
            with gr.Column():
                first, _ = model_dropdown(settings, transcriber, label=ui("compare_first"))
                first_text = gr.HighlightedText(label=ui("compare_first"), color_map=_COLOURS)
            with gr.Column():
                second, _ = model_dropdown(
                    settings,
                    transcriber,
                    label=ui("compare_second"),
                    value=offered[1] if len(offered) > 1 else None,
                )
                second_text = gr.HighlightedText(label=ui("compare_second"), color_map=_COLOURS)
        notes = gr.Markdown()

    def run(
        audio: str | None,
        first_model: str | None = None,
        second_model: str | None = None,
        decoder: str = LM,
        request: gr.Request | None = None,  # Gradio's: the page's language (language.py)
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> tuple[Any, ...]:
        language = request_language(request)
        if not audio:
            raise page_error(language, "no_audio", "cannot_compare")
        with (
            serving(first_model, transcriber, settings, progress, language=language) as one,
            serving(second_model, transcriber, settings, progress, language=language) as two,
        ):
            if one is None or two is None:
                raise page_error(language, "no_model_loaded", "cannot_compare")
            try:
                comparison = compare(audio, [one, two], decoder)
            except HyasrError as error:
                raise hyasr_error(language, error, "cannot_compare") from error
        left, right = highlighted(*comparison.texts)
        lines = [
            f"**{html.escape(result.model)}** ({result.best.decoder}): "
            + "; ".join(html.escape(notice(language, n)) for n in result.notices)
            for result in comparison.results
            if result.notices
        ]
        return left, right, "\n\n".join(lines)

    button.click(
        run,
        inputs=[audio, first, second, decoder],
        outputs=[first_text, second_text, notes],
        api_name=API_NAME,
    )


def highlighted(first: str, second: str) -> tuple[list[tuple[str, str | None]], ...]:
    """Both texts as HighlightedText values, the differing runs of words marked."""
    left: list[tuple[str, str | None]] = []
    right: list[tuple[str, str | None]] = []
    for run in word_differences(first, second):
        label = None if run.same else DIFFERS
        for side, words in ((left, run.first), (right, run.second)):
            if words:
                if side:
                    side.append((" ", None))
                side.append((" ".join(words), label))
    return left, right
