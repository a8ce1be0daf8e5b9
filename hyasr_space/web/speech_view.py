"""What the Transcribe tab shows under a result besides text: the picture of the speech
(picture.py) and the Share link (Gradio's deep links).

Both stay hidden until there is something to show; `hidden()` is their value for Clear.

The Share link is `gr.DeepLinkButton`: a click saves the page's components as they are
(audio, settings, transcript, tables, picture) on the server, under a hash, and copies
the page's address with `?deep_link=<hash>` added; opening it shows that page again. The
saved state lives until the server restarts, and the files it points to (the audio,
downloads, picture) for `Settings.temp_file_ttl_s` after they were made: anyone with the
link can play the audio until then (README, "Sharing").
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..audio import load_audio
from ..errors import HyasrError
from ..picture import transcription_picture
from ..results import Transcription
from ..settings import Settings
from ..subtitles import CaptionLimits
from ..transcriber import Transcriber

PICTURE_LABEL = "Spectrogram with the words and where captions were cut"
SHARE_LABEL = "Share"
SHARE_DONE = "Link copied"


def picture_component() -> gr.Image:
    """The picture, full width (it is drawn 1200 px wide: `picture.WIDTH`)."""
    return gr.Image(
        label=PICTURE_LABEL,
        type="pil",
        format="png",  # text and thin lines: lossless
        interactive=False,
        visible=False,
        buttons=["download", "fullscreen"],
    )


def share_button() -> gr.DeepLinkButton:
    return gr.DeepLinkButton(SHARE_LABEL, copied_value=SHARE_DONE, visible=False, size="md")


def show_picture(
    transcriber: Transcriber | None,
    settings: Settings,
    audio: str | None,
    result: Transcription | None,
) -> Any:
    """The picture of `result`; hidden when there is none. The audio is decoded again
    (a state holding every session's samples would cost far more memory than this)."""
    if transcriber is None or not audio or result is None:
        return gr.Image(value=None, visible=False)
    try:
        clip = load_audio(audio, settings)
    except HyasrError:  # the file went away (expired) since it was transcribed
        return gr.Image(value=None, visible=False)
    picture = transcription_picture(
        transcriber, clip, result, CaptionLimits.from_settings(settings)
    )
    return gr.Image(value=picture, visible=True)


def hidden() -> tuple[Any, Any]:
    """The picture and the Share button, hidden (Clear)."""
    return gr.Image(value=None, visible=False), gr.update(visible=False)
