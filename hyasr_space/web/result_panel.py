"""A result as every tab shows it, laid out once: the confidence-coloured words, the
greedy/LM comparison, the details, the captioned player, the segment and word tables,
the downloads, the Share link and the picture (`result_panel`), and the values that
fill them."""

from __future__ import annotations

import difflib
import html
from dataclasses import dataclass
from typing import Any

import gradio as gr

from ..results import Transcript, Transcription
from ..settings import GREEDY, LM
from ..subtitles import SEGMENT_COLUMNS
from . import speech_view
from .decoder_panel import DECODER_KEYS
from .messages import description, notes
from .strings import EN, ENGLISH, text, ui

DIFFERS = "differs"
WORD_COLUMNS = ["decoder", "word", "start (s)", "end (s)", "confidence"]
CONFIDENCE_LABEL = EN["confidence_label"]
DOWNLOADS_LABEL = EN["downloads_label"]


@dataclass
class ResultPanel:
    """The components of one tab's result panel."""

    confidence: gr.HighlightedText
    comparison: gr.Row | None  # greedy and LM side by side; None where there is one text
    greedy_view: gr.HighlightedText | None
    lm_view: gr.HighlightedText | None
    info: gr.Markdown
    player: gr.Audio
    segments: gr.Dataframe
    words: gr.Dataframe
    downloads: gr.File
    share: gr.DeepLinkButton
    times: gr.Textbox | None = None  # the word times for click-to-seek (speech_view)
    picture_box: gr.Column | None = None
    picture: gr.Image | None = None

    def add_picture(self) -> None:
        """The picture, full width: call it after the row that holds the rest."""
        self.picture_box, self.picture = speech_view.picture_view()

    @property
    def views(self) -> speech_view.ResultViews:
        """What `speech_view.show_after` fills once a result is ready."""
        return speech_view.ResultViews(self.player, self.picture_box, self.picture, self.share)


def result_panel(word_columns: list[str], *, compare: bool = False) -> ResultPanel:
    """The result panel's components, top to bottom, where they go; with `compare`, the
    greedy/LM comparison under the coloured words. Add the picture with `add_picture`."""
    confidence = confidence_box()
    comparison = greedy_view = lm_view = None
    if compare:
        comparison, greedy_view, lm_view = decoder_comparison()
    info = gr.Markdown()
    player = speech_view.player_view()
    segments, words = result_tables(word_columns)
    downloads = gr.File(label=ui("downloads_label"), file_count="multiple")
    share = speech_view.share_button()
    times = speech_view.word_times_view()
    return ResultPanel(
        confidence, comparison, greedy_view, lm_view, info, player, segments, words,
        downloads, share, times,
    )  # fmt: skip


def confidence_box() -> gr.HighlightedText:
    """The best transcript's words, doubtful ones shaded red (`confidence_view`)."""
    return gr.HighlightedText(
        label=ui("confidence_label"),
        show_inline_category=False,
        elem_classes=[speech_view.WORDS_CLASS],  # click a word to hear it (seek.js)
    )


def decoder_comparison() -> tuple[gr.Row, gr.HighlightedText, gr.HighlightedText]:
    """Greedy and LM text side by side, the words they differ in marked; hidden until a
    result has both."""
    with gr.Row(visible=False) as comparison:
        greedy_view = gr.HighlightedText(
            label=ui(DECODER_KEYS[GREEDY]), color_map={DIFFERS: "#fbbf24"}
        )
        lm_view = gr.HighlightedText(label=ui(DECODER_KEYS[LM]), color_map={DIFFERS: "#fbbf24"})
    return comparison, greedy_view, lm_view


def result_tables(word_columns: list[str]) -> tuple[gr.Dataframe, gr.Dataframe]:
    """The segments (captions) and words tables; the word columns after the first text
    ones are numbers (times, confidence)."""
    segments = gr.Dataframe(
        headers=SEGMENT_COLUMNS, datatype=["str", "str", "str"], label=ui("segments"),
        interactive=False,
    )  # fmt: skip
    text_columns = 1 + word_columns.index("word")
    words = gr.Dataframe(
        headers=word_columns,
        datatype=["str"] * text_columns + ["number"] * (len(word_columns) - text_columns),
        label=ui("words"),
        interactive=False,
        elem_classes=[speech_view.WORD_TABLE_CLASS],  # click a row to hear it (seek.js)
    )
    return segments, words


def confidence_view(
    transcript: Transcript | None, doubtful: float
) -> list[tuple[str, float | None]]:
    """The words as HighlightedText scores: a word below `doubtful` scores 1 - confidence
    (Gradio shades positive scores red), the others 0; spaces between them unscored."""
    view: list[tuple[str, float | None]] = []
    for index, word in enumerate(transcript.words if transcript else ()):
        if index:
            view.append((" ", None))
        confidence = 0.0 if word.confidence is None else word.confidence
        doubt = 1.0 - confidence if word.interpolated or confidence < doubtful else 0.0
        view.append((word.text, round(doubt, 3)))
    return view


def transcription_values(
    result: Transcription, seconds: float, language: str = ENGLISH, timing: str = "info_transcribed"
) -> tuple[Any, ...]:
    """The best text, the greedy and LM comparison views, the details (in `language`,
    `timing` their catalogue key for how long it took) and the word rows."""
    greedy, lm = result.get(GREEDY), result.get(LM)
    greedy_view: list[tuple[str, str | None]] = []
    lm_view: list[tuple[str, str | None]] = []
    if greedy is not None and lm is not None:
        greedy_view, lm_view = word_diff(greedy.text, lm.text)
    return (
        result.best.text,
        greedy_view,
        lm_view,
        transcription_info(result, seconds, language, timing),
        word_table_rows(result),
    )


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


def transcription_info(
    result: Transcription,
    seconds: float,
    language: str = ENGLISH,
    timing: str = "info_transcribed",
) -> str:
    """Which model, which decoders, how long (`timing`: its catalogue key); the notices.
    In the page's `language`; the decoders' descriptions (their settings) stay as the
    package writes them."""
    lines = [
        f"**{text(language, 'info_model')}** `{result.model}`",
        f"**{text(language, 'info_from')}** {_described(language, result.best)}",
    ]
    compared = text(language, "info_compared")
    lines += [f"**{compared}** {_described(language, t)}" for t in result.transcripts[:-1]]
    lines.append(text(language, timing, duration=result.duration, seconds=seconds))
    if not result.best.text:
        lines.append(text(language, "info_no_speech"))
    lines += notes(language, result.notices)
    return "  \n".join(lines)


def _described(language: str, transcript: Transcript) -> str:
    return html.escape(description(language, transcript.description))


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
