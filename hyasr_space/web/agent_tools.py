"""The app's tools for AI agents: `transcribe_audio` and `align_text_to_audio`, served over
the Model Context Protocol by Gradio (`launch(mcp_server=True)`, at /gradio_api/mcp/).

Gradio makes an MCP tool of every public named endpoint: the tool's name is the
function's name, its description and argument descriptions come from the docstring
(`Args:` and `Returns:` sections), its JSON schema from the type hints. So the two tools
are `gr.api` endpoints whose docstrings are written for an agent, with the audio as a URL
string (http, https or data:) that remote_audio.py fetches within the app's limits; as a
plain string, Gradio itself never downloads it or treats it as a server path.

The page's own API (`/transcribe`, `/align`; gradio_client callers, the README) stays as
it is, but not as MCP tools: its inputs and outputs are the page's components (tables,
a session state), not shapes an agent can use. `keep_page_api_out_of_mcp` marks them so.

Both tools run in Gradio's queue, in the concurrency group of the page event they mirror
(`concurrency_id`), so an agent waits in the same line as the page's users and cannot run
more transcriptions at once than the page allows.

Both take an optional `model`: the app's own for none, its id or OpenAI's generic names
("whisper-1", `models.GENERIC_MODEL_NAMES`), an offered model's id for that model (loaded
into the app's pool on first use and held for the call), anything else an error naming
the offered models; the tools' docstrings list them.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Literal

import gradio as gr

from ..errors import HyasrError, ModelUnavailableError
from ..lm import parse_hotwords
from ..models import (
    GENERIC_MODEL_NAMES,
    UnknownModelError,
    offered_models,
    requested_model,
    shared_pool,
    unavailable_message,
)
from ..remote_audio import fetched_audio
from ..results import Transcript, Transcription
from ..settings import Settings
from ..subtitles import CaptionLimits, captions
from ..transcriber import Transcriber

TRANSCRIBE_TOOL = "transcribe_audio"
ALIGN_TOOL = "align_text_to_audio"
# What list_tools skips: Gradio lists a function as a tool unless its `_mcp_type` (set by
# gr.mcp.resource / gr.mcp.prompt) says it is something else (gradio/mcp.py, list_tools).
_NOT_A_TOOL = "api-only"

# What an agent reads (Gradio's parser wants each argument on one line: `tool_docstring`).
AUDIO_URL_DOC = (
    "The recording, as an http(s) URL the server can download or a data: URL "
    "(data:audio/wav;base64,...). wav, flac, ogg, mp3, m4a and webm are read. Local file "
    "paths and file:// URLs are refused."
)
TRANSCRIBE_DOC = {
    "": "Transcribe Armenian speech (Eastern Armenian) to lowercase Armenian text, without "
    "punctuation, with the time and confidence of every word.",
    "audio_url": AUDIO_URL_DOC,
    "decoder": '"lm" (default) decodes with the language model, the most accurate; '
    '"greedy" is faster and plainer; "both" returns both transcripts.',
    "hotwords": "Words or short phrases likely in the recording (names, terms), in Armenian "
    "script; the language model favours them. Ignored by the greedy decoder.",
    "hotword_weight": "How strongly the hotwords are favoured, 0 to 100.",
    "Returns": 'A JSON object: "text" (the transcript); "words" (each with "word", "start" '
    'and "end" in seconds, and "confidence" from 0 to 1, below 0.5 doubtful); "segments" '
    '(caption-sized groups of words with "start", "end", "text", "confidence"); "duration" '
    '(seconds of audio); "decoder"; "model" and "commit" (the checkpoint that ran); '
    '"notices" (what the caller should know); with decoder "both" also "compared_with" '
    "(the greedy transcript).",
}
ALIGN_DOC = {
    "": "Find where each word of a known Armenian text is spoken in its recording (forced "
    "alignment): to time a script or subtitles, or to check a transcript against the audio.",
    "audio_url": AUDIO_URL_DOC,
    "text": "The words spoken in the recording, in Armenian script and in order; "
    "punctuation is allowed and kept on the words.",
    "Returns": 'A JSON object: "text"; "words" (every word of the text as written, with '
    '"start" and "end" in seconds and "confidence" from 0 to 1; "interpolated": true where '
    'the model could not place it); "segments" (caption-sized groups with "start", "end", '
    '"text"); "warnings" (e.g. the text does not match the audio, or speech is left without '
    'text); "duration"; "model" and "commit".',
}


def model_doc(settings: Settings) -> str:
    """The `model` argument's description: the offered models by name (one line)."""
    default, *others = offered_models(settings) or (settings.model,)
    generic = ", ".join(f'"{name}"' for name in GENERIC_MODEL_NAMES)
    listed = ", ".join(f'"{name}"' for name in others) or "none"
    return (
        f'Which speech recognition model runs. Empty (default), "{default}" (the app\'s own) '
        f"or {generic} mean the app's own model; the others offered are {listed} (a model "
        "not in use yet is loaded first, which can take a while). Any other name is an error."
    )


def add_agent_tools(
    demo: gr.Blocks,
    settings: Settings,
    transcriber: Transcriber | None,
    problem: str | None,
    *,
    transcribe_api: str,
    align_api: str,
) -> None:
    """Register the two tools (inside `demo`'s `with` block, after the page's events), in
    the concurrency groups of the page's `transcribe_api` and `align_api` events."""
    limits = CaptionLimits.from_settings(settings)
    defaults = transcriber.lm_defaults if transcriber else None
    default_weight = defaults.hotword_weight if defaults else settings.hotword_weight
    limit_text = (
        f"Limits: {settings.max_duration_s:g} s of audio, {settings.max_file_size_mb:g} MB, "
        f"fetched within {settings.url_timeout_s:g} s."
    )

    def model_ready() -> Transcriber:
        if transcriber is None:
            raise gr.Error(html.escape(f"No model is loaded: {problem}"), title="Unavailable")
        return transcriber

    @contextmanager
    def chosen_model(requested: str | None) -> Iterator[Transcriber]:
        """The transcriber of the requested model, held for the call."""
        served = transcriber.model_name if transcriber else None
        try:
            name = requested_model(requested, settings, served)
        except UnknownModelError as error:
            raise gr.Error(_escaped(error), title="Unknown model") from error
        if not name:
            yield model_ready()
            return
        try:
            with shared_pool(settings).use(name) as chosen:
                yield chosen
        except ModelUnavailableError as error:
            message = unavailable_message(name, error)
            raise gr.Error(_escaped(message), title="Model unavailable") from error

    def transcribe_audio(
        audio_url: str,
        decoder: Literal["lm", "greedy", "both"] = "lm",
        hotwords: list[str] | None = None,
        hotword_weight: float = default_weight,
        model: str = "",
    ) -> str:
        with chosen_model(model) as chosen:
            try:
                lm = replace(
                    chosen.lm_defaults,
                    hotwords=parse_hotwords(hotwords),
                    hotword_weight=float(hotword_weight),
                )
                chosen.decoders(decoder)  # an unknown decoder fails before the download
                with fetched_audio(audio_url, settings) as path:
                    result = chosen.transcribe(path, decoder, lm)
            except HyasrError as error:
                raise gr.Error(_escaped(error), title="Cannot transcribe") from error
            payload = transcription_payload(result, chosen, limits)
        return json.dumps(payload, ensure_ascii=False)

    def align_text_to_audio(audio_url: str, text: str, model: str = "") -> str:
        with chosen_model(model) as chosen:
            try:
                chosen.aligner.prepare(text)  # nothing to align fails before the download
                with fetched_audio(audio_url, settings) as path:
                    result = chosen.align(path, text)
            except HyasrError as error:
                raise gr.Error(_escaped(error), title="Cannot align") from error
            payload = transcription_payload(result, chosen, limits)
        payload["warnings"] = payload.pop("notices")
        return json.dumps(payload, ensure_ascii=False)

    choice = {"model": model_doc(settings)}
    transcribe_audio.__doc__ = tool_docstring({**TRANSCRIBE_DOC, **choice}, limit_text)
    align_text_to_audio.__doc__ = tool_docstring({**ALIGN_DOC, **choice}, limit_text)
    page_group = {
        TRANSCRIBE_TOOL: concurrency_group(demo, transcribe_api),
        ALIGN_TOOL: concurrency_group(demo, align_api),
    }
    keep_page_api_out_of_mcp(demo, (transcribe_api, align_api))
    for tool in (transcribe_audio, align_text_to_audio):
        gr.api(tool, api_name=tool.__name__, concurrency_id=page_group[tool.__name__])


def concurrency_group(demo: gr.Blocks, api_name: str) -> str | None:
    """The concurrency id of the event served at `/api_name` (None: none such)."""
    for block_fn in demo.fns.values():
        if block_fn.api_name == api_name:
            return block_fn.concurrency_id
    return None


def keep_page_api_out_of_mcp(demo: gr.Blocks, api_names: tuple[str, ...]) -> None:
    """The page's API events stay public for gradio_client but are not listed as tools."""
    for block_fn in demo.fns.values():
        if block_fn.api_name in api_names and block_fn.fn is not None:
            block_fn.fn._mcp_type = _NOT_A_TOOL  # type: ignore[attr-defined]


def transcription_payload(
    result: Transcription, transcriber: Transcriber, limits: CaptionLimits
) -> dict[str, Any]:
    """The best transcript of `result` as the tools return it (see their docstrings)."""
    best = result.best
    payload: dict[str, Any] = {
        "text": best.text,
        "decoder": best.decoder,
        "words": [word.to_dict() for word in best.words],
        "segments": segment_dicts(best, result.duration, limits),
        "duration": round(result.duration, 3),
        "model": result.model,
        "commit": transcriber.model.source.revision,
        "notices": list(result.notices),
    }
    others = result.transcripts[:-1]
    if others:
        payload["compared_with"] = [
            {"decoder": t.decoder, "text": t.text, "words": [w.to_dict() for w in t.words]}
            for t in others
        ]
    return payload


def segment_dicts(
    transcript: Transcript, duration: float, limits: CaptionLimits
) -> list[dict[str, Any]]:
    """Caption segments (subtitles.captions, as in the SRT file) with their words' mean
    confidence."""
    segments = []
    for caption in captions(transcript, duration, limits):
        scores = [w.confidence for w in caption.words if w.confidence is not None]
        segment = caption.to_dict()
        if scores:
            segment["confidence"] = round(sum(scores) / len(scores), 4)
        segments.append(segment)
    return segments


def tool_docstring(parts: dict[str, str], limits: str) -> str:
    """A docstring in the layout Gradio reads tool descriptions from
    (gradio.utils.get_function_description): the description, then `Args:` with one line
    per argument, then `Returns:`."""
    arguments = [
        f"    {name}: {text}" for name, text in parts.items() if name not in ("", "Returns")
    ]
    return "\n".join(
        [f"{parts['']} {limits}", "", "Args:", *arguments, "Returns:", f"    {parts['Returns']}"]
    )


def _escaped(error: Exception) -> str:
    # Gradio renders error text as HTML where a page shows it; quotes stay as they are, so
    # an agent reads the URL it sent.
    return html.escape(str(error), quote=False)
