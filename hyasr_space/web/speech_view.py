"""What the Transcribe tab shows under a result besides the API's outputs: the recording
with synced captions, the picture of the speech (picture.py) and the Share link.

Each appears once it is ready, without a loading indicator in the meantime: they are made
in private steps after the transcript (`show_after`), with their progress hidden, and a
box is shown only after its content is in it.

The Share link is Gradio's `gr.DeepLinkButton`: a click saves the page's components as
they are (audio, settings, transcript, tables, player, picture) on the server under a
hash and copies the page's address with `?deep_link=<hash>`; opening that address shows
the same page. The saved page (a small JSON in Gradio's temporary folder) is not deleted
by the app; the files it points to (the audio, the downloads, the picture) are deleted
`Settings.temp_file_ttl_s` after they were made, and until then anyone with the link can
fetch them.

Two workarounds make a shared page whole. Gradio 6.31 saves a file that an event returns
inside a component update (`gr.Audio(value=..., visible=True)`) without its URL, so the
page a link opens shows no file; and once a component was updated so, a plain value
returned later is saved under another component's id. The picture is therefore returned
as a plain value and shown by its box (a `gr.Column`); the player, whose captions can only
come in an update, gets its file already in Gradio's cache with its URL
(`processing_utils.async_move_files_to_cache`, the call Gradio itself makes on outputs)
in an update that Gradio passes on as it is (`postprocess=False`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from gradio import processing_utils
from gradio.data_classes import FileData

from ..audio import load_audio
from ..errors import HyasrError
from ..picture import prepare, transcription_picture
from ..results import Transcription
from ..settings import Settings
from ..subtitles import CaptionLimits, gradio_subtitles
from ..transcriber import Transcriber
from .strings import EN, ui

PLAYER_LABEL = EN["player_label"]  # English, as the page shows it to an English browser
PICTURE_LABEL = EN["picture_label"]
PICTURE_CLASS = "hyasr-picture"
PLAYER_CLASS = "hyasr-player"
WORDS_CLASS = "hyasr-words"  # the transcript's words, each a click-to-seek target
WORD_TABLE_CLASS = "hyasr-word-table"
WORD_TIMES_CLASS = "hyasr-word-times"
SHARE_LABEL = EN["share"]
SHARE_DONE = EN["share_done"]
# Gradio lays an image's label and buttons over its top, where the picture's legend is.
CSS = f".{PICTURE_CLASS} .image-frame {{ padding-top: 2.6rem; }}"
# Click-to-seek (assets/seek.js): the word times travel hidden; words and rows look
# clickable; the word that plays is outlined.
CSS += f"""
.{WORD_TIMES_CLASS} {{ display: none !important; }}
.{WORDS_CLASS} .token-container {{ cursor: pointer; }}
.{WORD_TABLE_CLASS} .virtual-row {{ cursor: pointer; }}
.{WORDS_CLASS} .hyasr-playing .token {{
  outline: 2px solid var(--color-accent); outline-offset: 1px; border-radius: 3px;
}}
"""


@dataclass(frozen=True)
class ResultViews:
    """The components; `player_view` and `picture_view` create them where they go."""

    player: gr.Audio
    picture_box: gr.Column
    picture: gr.Image
    share: gr.DeepLinkButton

    @property
    def components(self) -> list[Any]:
        return [self.player, self.picture_box, self.picture, self.share]


def player_view() -> gr.Audio:
    return gr.Audio(
        label=ui("player_label"),
        type="filepath",
        interactive=False,
        visible=False,
        elem_classes=[PLAYER_CLASS],
    )


def word_times_view() -> gr.Textbox:
    """The best transcript's word times, `[[start, end], ...]` as JSON, for seek.js;
    kept in the page (a Share link keeps them too) but never shown."""
    return gr.Textbox(
        show_label=False, container=False, interactive=False, elem_classes=[WORD_TIMES_CLASS]
    )


def word_times(result: Transcription | None) -> str:
    """The value of `word_times_view` for a result."""
    words = result.best.words if result else ()
    return json.dumps([[round(w.start, 3), round(w.end, 3)] for w in words])


def picture_view() -> tuple[gr.Column, gr.Image]:
    """The picture, full width (it is drawn 1200 px wide: `picture.WIDTH`). Starts loading
    librosa in the background (`picture.prepare`), so the first picture is not slow."""
    threading.Thread(target=prepare, name="hyasr-picture-prepare", daemon=True).start()
    with gr.Column(visible=False) as box:
        picture = gr.Image(
            label=ui("picture_label"),
            type="pil",
            format="png",  # text and thin lines: lossless
            interactive=False,
            buttons=["download", "fullscreen"],
            elem_classes=[PICTURE_CLASS],
        )
    return box, picture


def share_button() -> gr.DeepLinkButton:
    return gr.DeepLinkButton(value=SHARE_LABEL, copied_value=SHARE_DONE, visible=False, size="md")


def show_after(
    event: Any,
    views: ResultViews,
    audio: gr.Audio,
    result: gr.State,
    transcriber: Transcriber | None,
    settings: Settings,
    times: gr.Textbox | None = None,
) -> None:
    """Chain the views' steps to a transcription `event` (they run when it succeeds);
    with `times` (a `word_times_view`), the word times for click-to-seek too."""
    limits = CaptionLimits.from_settings(settings)
    quiet = {"api_visibility": "private", "show_progress": "hidden"}
    if times is not None:  # before the player: a word can be clicked once it plays
        event = event.success(word_times, inputs=[result], outputs=[times], queue=False, **quiet)

    async def player(path: str | None, transcription: Transcription | None) -> Any:
        if transcription is None:  # a result cleared (the Live tab's new recording)
            return gr.skip()
        cues = player_cues(transcription, limits)
        if not path or not cues:  # nothing to caption (silence): no empty box either
            return gr.update(value=None, visible=False)
        value = await processing_utils.async_move_files_to_cache(
            FileData(path=path, orig_name=Path(path).name), views.player, postprocess=True
        )
        return gr.update(value=value, subtitles=cues, visible=True)

    event.success(
        player,
        inputs=[audio, result],
        outputs=[views.player],
        queue=False,
        postprocess=False,  # the value is ready, URL and all (see the module docstring)
        **quiet,
    ).success(
        lambda path, r: _picture(transcriber, settings, path, r, limits),
        inputs=[audio, result],
        outputs=[views.picture, views.picture_box],
        **quiet,  # queued: drawing a long file takes a second of CPU
    ).success(
        # The label again: an update without it would save the default in a shared page.
        lambda transcription: (
            gr.skip() if transcription is None else gr.update(visible=True, value=SHARE_LABEL)
        ),
        inputs=[result],
        outputs=[views.share],
        queue=False,
        **quiet,
    )


def cleared() -> tuple[Any, ...]:
    """The views' values for Clear, in the order of `ResultViews.components`."""
    player = gr.Audio(value=None, visible=False)
    return player, gr.Column(visible=False), None, gr.update(visible=False, value=SHARE_LABEL)


def player_cues(result: Transcription | None, limits: CaptionLimits) -> list[dict[str, Any]]:
    """The best transcript's captions for the player; none (no player) for silence."""
    return gradio_subtitles(result.best, result.duration, limits) if result else []


def _picture(
    transcriber: Transcriber | None,
    settings: Settings,
    audio: str | None,
    result: Transcription | None,
    limits: CaptionLimits,
) -> tuple[Any, gr.Column]:
    """The picture of `result` and its box's visibility. The audio is decoded again: a
    state holding every session's samples would cost far more memory than this."""
    if result is None:  # a result cleared: whoever cleared it set the views
        return gr.skip(), gr.skip()
    if transcriber is None or not audio:
        return None, gr.Column(visible=False)
    try:
        clip = load_audio(audio, settings)
    except HyasrError:  # the file went away (expired) since it was transcribed
        return None, gr.Column(visible=False)
    return transcription_picture(transcriber, clip, result, limits), gr.Column(visible=True)
