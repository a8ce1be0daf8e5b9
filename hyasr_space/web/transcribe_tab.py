"""The Transcribe tab: audio in, decoder and LM settings, text, words, captions, downloads.

Its Transcribe event is the Space's public API, `/transcribe` (`API_NAME`); the parameter
names of its handler are the API's, and every input but the audio has the page's default.
The transcript is editable: align_tab.py wires its "Re-align" button (`/align`) and the
confidence colours, from the components `transcribe_tab` returns (`TranscribePage`);
speech_view.py adds what comes under a result (captioned player, picture, Share link).
"""

from __future__ import annotations

import difflib
import html
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gradio as gr

from ..errors import HyasrError
from ..lm import LMSettings, parse_hotwords
from ..results import Transcription
from ..settings import BOTH, GREEDY, LM, Settings
from ..subtitles import SEGMENT_COLUMNS, CaptionLimits, segments_table
from ..transcriber import Transcriber
from . import speech_view
from .session_files import SessionFiles, close_session_files

API_NAME = "transcribe"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".webm")
DIFFERS = "differs"
WORD_COLUMNS = ["decoder", "word", "start (s)", "end (s)", "confidence"]
DECODER_LABELS = {
    GREEDY: "Greedy CTC",
    LM: "Beam search + language model",
    BOTH: "Both, side by side",
}
CONFIDENCE_LABEL = "Confidence (doubtful words in red)"


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
                label=f"Audio (up to {settings.max_duration_s:g} s)",
            )
            decoder, alpha, beta, beam_width, hotwords, hotword_weight = decoder_controls(
                settings, has_lm, defaults
            )
            with gr.Row():
                clear = gr.Button("Clear")
                submit = gr.Button("Transcribe", variant="primary", interactive=problem is None)
            examples = _example_files(settings.examples_dir)
            if examples:
                gr.Examples(
                    [[str(path)] for path in examples], inputs=[audio], cache_examples=False
                )
        with gr.Column():
            text = gr.Textbox(
                label="Transcript (correct it, then Re-align)", lines=4, buttons=["copy"]
            )
            realign = gr.Button("Re-align", interactive=problem is None)
            confidence = confidence_box()
            comparison, greedy_view, lm_view = decoder_comparison()
            info = gr.Markdown()
            player = speech_view.player_view()
            segments, words = result_tables(WORD_COLUMNS)
            downloads = gr.File(label="SRT, WebVTT, JSON", file_count="multiple")
            share = speech_view.share_button()
    picture_box, picture = speech_view.picture_view()
    views = speech_view.ResultViews(player, picture_box, picture, share)
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
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's idiom)
    ) -> tuple[Any, ...]:
        if transcriber is None:
            raise gr.Error(html.escape(f"No model is loaded: {problem}"), title="Unavailable")
        if not audio:
            raise gr.Error("Record or upload some audio first.", title="No audio")
        started = time.perf_counter()
        try:
            lm_settings = _lm_settings(defaults, alpha, beta, beam_width, hotwords, hotword_weight)
            result = transcriber.transcribe(
                audio,
                decoder,
                lm_settings,
                progress=lambda done, total: progress(
                    (done, total), desc="Recognising speech", unit="windows"
                ),
            )
        except HyasrError as error:
            raise gr.Error(html.escape(str(error)), title="Cannot transcribe") from error
        seconds = time.perf_counter() - started
        if files is None or files.closed:
            files = SessionFiles()
        paths = files.write_transcription(result, limits=limits)
        table = segments_table(result.best, result.duration, limits)
        return (*_render(result, seconds), table, [str(p) for p in paths.values()], files, result)

    # The API returns plain values; showing or hiding the comparison is a separate,
    # private step, so API users never see Gradio's update dictionaries.
    outputs = [text, greedy_view, lm_view, info, words, segments, downloads]
    transcribed = submit.click(
        transcribe,
        inputs=[audio, decoder, alpha, beta, beam_width, hotwords, hotword_weight, session_files],
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
    speech_view.show_after(transcribed, views, audio, last_result, transcriber, settings)
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
        session_files, last_result,
    )  # fmt: skip


def decoder_controls(
    settings: Settings, has_lm: bool, defaults: LMSettings
) -> tuple[gr.Radio, gr.Slider, gr.Slider, gr.Slider, gr.Textbox, gr.Slider]:
    """The decoder choice and the LM's knobs (alpha, beta, beam width, hotwords, hotword
    weight), as the Transcribe and Live tabs show them; created where they go."""
    decoder = gr.Radio(
        [(label, value) for value, label in DECODER_LABELS.items()],
        value=LM if has_lm else GREEDY,
        label="Decoder",
    )
    with gr.Accordion("Language model settings", open=False):
        if not has_lm:
            gr.Markdown("This model has no language model: text is decoded greedily.")
        alpha = gr.Slider(
            0, max(5.0, defaults.alpha), value=defaults.alpha, step=0.05,
            label="alpha: weight of the language model",
        )  # fmt: skip
        beta = gr.Slider(
            min(-5.0, defaults.beta), max(10.0, defaults.beta), value=defaults.beta,
            step=0.1, label="beta: bonus per word",
        )  # fmt: skip
        beam_width = gr.Slider(
            1, settings.max_beam_width, value=defaults.beam_width, step=1, label="beam width"
        )
        hotwords = gr.Textbox(
            "",  # a value, so that API callers may leave it out
            label="hotwords",
            placeholder="words to favour, separated by commas",
        )
        hotword_weight = gr.Slider(
            0, 50, value=defaults.hotword_weight, step=0.5, label="hotword weight"
        )
    return decoder, alpha, beta, beam_width, hotwords, hotword_weight


def confidence_box() -> gr.HighlightedText:
    """The best transcript's words, doubtful ones shaded red (`align_tab.confidence_view`)."""
    return gr.HighlightedText(label=CONFIDENCE_LABEL, show_inline_category=False)


def decoder_comparison() -> tuple[gr.Row, gr.HighlightedText, gr.HighlightedText]:
    """Greedy and LM text side by side, the words they differ in marked; hidden until a
    result has both."""
    with gr.Row(visible=False) as comparison:
        greedy_view = gr.HighlightedText(
            label=DECODER_LABELS[GREEDY], color_map={DIFFERS: "#fbbf24"}
        )
        lm_view = gr.HighlightedText(label=DECODER_LABELS[LM], color_map={DIFFERS: "#fbbf24"})
    return comparison, greedy_view, lm_view


def result_tables(word_columns: list[str]) -> tuple[gr.Dataframe, gr.Dataframe]:
    """The segments (captions) and words tables; the word columns after the first text
    ones are numbers (times, confidence)."""
    segments = gr.Dataframe(
        headers=SEGMENT_COLUMNS, datatype=["str", "str", "str"], label="Segments",
        interactive=False,
    )  # fmt: skip
    text_columns = 1 + word_columns.index("word")
    words = gr.Dataframe(
        headers=word_columns,
        datatype=["str"] * text_columns + ["number"] * (len(word_columns) - text_columns),
        label="Words",
        interactive=False,
    )
    return segments, words


def _lm_settings(
    defaults: LMSettings,
    alpha: float,
    beta: float,
    width: float,
    hotwords: str,
    weight: float,
) -> LMSettings:
    return replace(
        defaults,
        alpha=float(alpha),
        beta=float(beta),
        beam_width=int(width),
        hotwords=parse_hotwords(hotwords),
        hotword_weight=float(weight),
    )


def _render(result: Transcription, seconds: float) -> tuple[Any, ...]:
    greedy, lm = result.get(GREEDY), result.get(LM)
    greedy_view: list[tuple[str, str | None]] = []
    lm_view: list[tuple[str, str | None]] = []
    if greedy is not None and lm is not None:
        greedy_view, lm_view = word_diff(greedy.text, lm.text)
    return result.best.text, greedy_view, lm_view, _info(result, seconds), word_table_rows(result)


def word_table_rows(result: Transcription) -> list[list[Any]]:
    """Rows of `WORD_COLUMNS`: every transcript's words, with times and confidences."""
    return [
        [
            transcript.decoder,
            word.text,
            round(word.start, 2),
            round(word.end, 2),
            None if word.confidence is None else round(word.confidence, 3),
        ]
        for transcript in result.transcripts
        for word in transcript.words
    ]


def _info(result: Transcription, seconds: float) -> str:
    lines = [
        f"**Model:** `{result.model}`",
        f"**Transcript from:** {html.escape(result.best.description)}",
    ]
    lines += [f"**Compared with:** {html.escape(t.description)}" for t in result.transcripts[:-1]]
    lines.append(f"{result.duration:.1f} s of audio, transcribed in {seconds:.1f} s.")
    if not result.best.text:
        lines.append("No speech was recognised.")
    lines += [f"**Note:** {html.escape(notice)}" for notice in result.notices]
    return "  \n".join(lines)


def word_diff(
    first: str, second: str
) -> tuple[list[tuple[str, str | None]], list[tuple[str, str | None]]]:
    """Both texts as HighlightedText values, with the words where they differ marked."""
    a, b = first.split(), second.split()
    left: list[tuple[str, str | None]] = []
    right: list[tuple[str, str | None]] = []
    opcodes = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    for tag, a_start, a_end, b_start, b_end in opcodes:
        label = None if tag == "equal" else DIFFERS
        left += [(word, label) for word in a[a_start:a_end]]
        right += [(word, label) for word in b[b_start:b_end]]
    return _spaced(left), _spaced(right)


def _spaced(tokens: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    spaced: list[tuple[str, str | None]] = []
    for index, token in enumerate(tokens):
        if index:
            spaced.append((" ", None))
        spaced.append(token)
    return spaced


def _example_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
