"""OpenAI-compatible speech-to-text on the app's own server: ``POST /v1/audio/transcriptions``
and ``GET /v1/models`` (the shapes of https://platform.openai.com/docs/api-reference/audio),
so programs written against OpenAI's API (the `openai` client with `base_url`, curl) work.

One queue for everyone. A request here does not transcribe in the web server's handler:
it is submitted into Gradio's own queue, to an undocumented endpoint in the concurrency
group of the page's `/transcribe` (`concurrency_id`), through a gradio_client connected to
this same server -- the way Gradio's MCP server submits tool calls. So it waits in the
same line as the page's users and gradio_client callers, counts against the same
`queue_max_size` and concurrency, and is refused with Gradio's own queue-full answer
(503 here, with Retry-After) when that line is full. The upload itself never crosses
that endpoint: the handler keeps the file in a temporary folder and passes an unguessable
one-time token (`UploadStash`), so a caller of the endpoint cannot name a server path.

The form: `file` (required), `model` (the Space's model for its own id, for none and for
OpenAI's names such as "whisper-1" (`models.GENERIC_MODEL_NAMES`); an offered model's id
for that model, loaded into the app's pool on first use and held for the request;
anything else is a 404 naming the offered models, which GET /v1/models lists),
`language` (empty or Armenian: "hy", "hye", "arm", "armenian"; others are refused rather
than silently transcribed as Armenian), `prompt` (used as hotwords: comma
separated words or phrases the language model favours, as on the page; ignored by the
greedy decoder), `response_format` (json, text, srt, vtt, verbose_json),
`timestamp_granularities[]` (word, segment; verbose_json only, as with OpenAI),
`temperature` (accepted, ignored: decoding is deterministic) and, beyond OpenAI's form,
`decoder` ("lm", the default, or "greedy").

With `Settings.api_key` (HYASR_API_KEY) set, both routes want ``Authorization: Bearer
<key>``; errors are OpenAI's error object, ``{"error": {"message", "type", "param",
"code"}}``, with its status codes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
import weakref
from dataclasses import replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import anyio
import gradio as gr
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ..errors import (
    AudioError,
    AudioTooLongError,
    FileTooLargeError,
    HyasrError,
    ModelUnavailableError,
)
from ..lm import parse_hotwords
from ..models import (
    UnknownModelError,
    offered_models,
    requested_model,
    shared_pool,
    unavailable_message,
)
from ..settings import Settings
from ..subtitles import CaptionLimits
from ..transcriber import Transcriber
from .agent_tools import concurrency_group
from .openai_shapes import (
    OpenAIError,
    check_key,
    error_answer,
    model_unavailable,
    queue_full,
    read_form,
    render,
    unknown_model,
)

log = logging.getLogger(__name__)

QUEUE_API = "openai_transcription"  # the undocumented queue endpoint the route submits to


class UploadStash:
    """Uploaded files waiting for their turn in the queue, each under a one-time token."""

    def __init__(self) -> None:
        self._paths: dict[str, Path] = {}
        self._lock = threading.Lock()

    def put(self, path: Path) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._paths[token] = path
        return token

    def take(self, token: str) -> Path | None:
        with self._lock:
            return self._paths.pop(token, None)


class OpenAIBridge:
    """The queue endpoint (registered in the app) and what the routes need to reach it."""

    def __init__(self, demo: gr.Blocks, settings: Settings, transcriber: Transcriber | None):
        self.demo = demo
        self.settings = settings
        self.transcriber = transcriber
        self.stash = UploadStash()
        self.created = int(time.time())
        # At most as many requests in flight as Gradio's queue and workers hold: more
        # would wait in the client's thread pool instead of being refused by the queue.
        self.max_in_flight = settings.queue_max_size + max(settings.concurrency_limit, 8)
        self._in_flight = 0
        self._client: Any = None
        self._client_url: str | None = None
        self._client_lock = asyncio.Lock()

    async def submit(self, token: str, form: dict[str, Any]) -> dict[str, Any]:
        """Run the queue endpoint for an upload; its answer (see `_answer`)."""
        from gradio_client.exceptions import AppError
        from gradio_client.utils import QueueError

        if self._in_flight >= self.max_in_flight:
            raise queue_full(self.settings)
        self._in_flight += 1
        try:
            client = await self._loopback()
            job = client.submit(token, json.dumps(form), api_name=f"/{QUEUE_API}")
            return json.loads(await asyncio.wrap_future(job))
        except QueueError as error:
            raise queue_full(self.settings) from error
        except AppError as error:
            raise OpenAIError(500, str(error), kind="server_error") from error
        finally:
            self._in_flight -= 1

    async def _loopback(self) -> Any:
        """A gradio_client of this server (made again if the app was launched anew)."""
        async with self._client_lock:
            url = self.demo.local_url
            if not url:
                raise OpenAIError(503, "The server is still starting.", kind="server_error")
            if self._client is None or self._client_url != url:
                from gradio_client import Client

                self._client = await anyio.to_thread.run_sync(
                    lambda: Client(
                        url,
                        verbose=False,
                        download_files=False,
                        ssl_verify=False,
                        analytics_enabled=False,
                        max_workers=self.max_in_flight,
                        headers={"x-gradio-user": "openai-api"},
                    )
                )
                self._client_url = url
        return self._client

    def run_queued(self, upload: str, form_json: str) -> str:
        """The queue endpoint: transcribe the stashed upload; the answer as JSON."""
        path = self.stash.take(upload)
        if path is None:
            answer = error_answer(OpenAIError(400, "Unknown or already used upload."))
        else:
            try:
                answer = self._answer(path, json.loads(form_json))
            except OpenAIError as error:
                answer = error_answer(error)
        return json.dumps(answer, ensure_ascii=False)

    @property
    def served_name(self) -> str | None:
        """The id of the model serving as the default (a fallback's, if it serves)."""
        return self.transcriber.model_name if self.transcriber else None

    def model_ids(self) -> list[str]:
        """What GET /v1/models lists: the default's id first, then the other offered ones."""
        default = self.served_name or self.settings.model
        others = [name for name in offered_models(self.settings) if name != self.settings.model]
        return list(dict.fromkeys([default, *others]))

    def chosen(self, requested: str | None) -> str:
        """The offered model's name ("" for the default), or a 404 naming them."""
        try:
            return requested_model(requested, self.settings, self.served_name)
        except UnknownModelError as error:
            raise unknown_model(error) from error

    def _answer(self, path: Path, form: dict[str, Any]) -> dict[str, Any]:
        # Checked again here: the queue endpoint can be called without the route.
        name = self.chosen(form.get("model"))
        if not name:
            return self._transcribed(self.transcriber, path, form)
        try:
            with shared_pool(self.settings).use(name) as transcriber:
                return self._transcribed(transcriber, path, form)
        except ModelUnavailableError as error:
            raise model_unavailable(unavailable_message(name, error)) from error

    def _transcribed(
        self, transcriber: Transcriber | None, path: Path, form: dict[str, Any]
    ) -> dict[str, Any]:
        if transcriber is None:
            raise OpenAIError(
                503, "No speech recognition model is loaded.", kind="server_error",
                code="model_unavailable",
            )  # fmt: skip
        try:
            lm = replace(transcriber.lm_defaults, hotwords=parse_hotwords(form["prompt"]))
            result = transcriber.transcribe(path, form["decoder"], lm)
        except FileTooLargeError as error:
            raise OpenAIError(413, str(error), param="file", code="file_too_large") from error
        except AudioTooLongError as error:
            raise OpenAIError(400, str(error), param="file", code="audio_too_long") from error
        except AudioError as error:
            raise OpenAIError(400, str(error), param="file", code="invalid_audio") from error
        except HyasrError as error:
            raise OpenAIError(400, str(error)) from error
        return render(result, form, CaptionLimits.from_settings(self.settings))


_BRIDGES: weakref.WeakKeyDictionary[gr.Blocks, OpenAIBridge] = weakref.WeakKeyDictionary()


def add_openai_endpoint(
    demo: gr.Blocks,
    settings: Settings,
    transcriber: Transcriber | None,
    *,
    transcribe_api: str,
) -> None:
    """Register the queue endpoint (inside `demo`'s `with` block, after the page's events)
    in the concurrency group of the page's `transcribe_api` event."""
    bridge = OpenAIBridge(demo, settings, transcriber)

    def openai_transcription(upload: str, form: str) -> str:
        return bridge.run_queued(upload, form)

    gr.api(
        openai_transcription,
        api_name=QUEUE_API,
        api_visibility="undocumented",  # callable by the loopback client, listed nowhere
        concurrency_id=concurrency_group(demo, transcribe_api),
    )
    _BRIDGES[demo] = bridge


def openai_routes(demo: gr.Blocks) -> list[BaseRoute]:
    """The /v1 routes for `demo` (built by `build_demo`, which adds the queue endpoint)."""
    bridge = _BRIDGES.get(demo)
    if bridge is None:
        return []

    async def transcriptions(request: Request) -> Response:
        try:
            check_key(request, bridge.settings)
            with TemporaryDirectory(prefix="hyasr-openai-") as folder:
                form = await read_form(request, bridge.settings, Path(folder))
                form["model"] = bridge.chosen(form["model"])  # an unknown one: 404 now
                token = bridge.stash.put(form.pop("path"))
                try:
                    answer = await bridge.submit(token, form)
                finally:
                    bridge.stash.take(token)  # refused or failed: never left behind
        except OpenAIError as error:
            return error.response()
        except Exception as error:  # a bug must still answer in OpenAI's shape
            log.exception("the transcription route failed")
            return OpenAIError(500, f"Internal error: {error}", kind="server_error").response()
        if "error" in answer:
            return OpenAIError(answer["status"], **answer["error"]).response()
        if "json" in answer:
            return JSONResponse(answer["json"])
        return PlainTextResponse(answer["text"])

    async def models(request: Request) -> Response:
        try:
            check_key(request, bridge.settings)
        except OpenAIError as error:
            return error.response()
        cards = [_model_card(bridge, name) for name in bridge.model_ids()]
        return JSONResponse({"object": "list", "data": cards})

    async def model(request: Request) -> Response:
        try:
            check_key(request, bridge.settings)
            name = request.path_params["name"]
            if name not in bridge.model_ids():
                raise unknown_model(UnknownModelError(name, tuple(bridge.model_ids())))
        except OpenAIError as error:
            return error.response()
        return JSONResponse(_model_card(bridge, name))

    return [
        Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/models/{name:path}", model, methods=["GET"]),
    ]


def _model_card(bridge: OpenAIBridge, name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": bridge.created, "owned_by": "hyasr-space"}
