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

The form: `file` (required), `model` (any name is accepted: one model is served, named by
GET /v1/models), `language` (empty or Armenian: "hy", "hye", "arm", "armenian"; others are
refused rather than silently transcribed as Armenian), `prompt` (used as hotwords: comma
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
import hmac
import json
import math
import secrets
import shutil
import threading
import time
import weakref
import zlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import anyio
import gradio as gr
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ..errors import AudioError, AudioTooLongError, FileTooLargeError, HyasrError
from ..lm import parse_hotwords
from ..settings import GREEDY, LM, Settings
from ..subtitles import CaptionLimits, captions, to_srt, to_vtt
from ..transcriber import Transcriber
from .agent_tools import concurrency_group

QUEUE_API = "openai_transcription"  # the undocumented queue endpoint the route submits to
RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
GRANULARITIES = ("word", "segment")
ARMENIAN = ("hy", "hye", "arm", "armenian")
DECODERS = (LM, GREEDY)
FORM_OVERHEAD_BYTES = 1 << 20  # the form's other fields, beside the file
RETRY_AFTER_S = 2


class OpenAIError(Exception):
    """An answer in OpenAI's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = (
            status, message, kind, param, code,
        )  # fmt: skip

    def response(self) -> JSONResponse:
        body = {
            "error": {
                "message": self.message,
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }
        headers = {}
        if self.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if self.status in (429, 503):
            headers["Retry-After"] = str(RETRY_AFTER_S)
        return JSONResponse(body, status_code=self.status, headers=headers)


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
        self._client_lock = asyncio.Lock()

    async def submit(self, token: str, form: dict[str, Any]) -> dict[str, Any]:
        """Run the queue endpoint for an upload; its answer (see `_answer`)."""
        from gradio_client.exceptions import AppError
        from gradio_client.utils import QueueError

        if self._in_flight >= self.max_in_flight:
            raise _queue_full(self.settings)
        self._in_flight += 1
        try:
            client = await self._loopback()
            job = client.submit(token, json.dumps(form), api_name=f"/{QUEUE_API}")
            return json.loads(await asyncio.wrap_future(job))
        except QueueError as error:
            raise _queue_full(self.settings) from error
        except AppError as error:
            raise OpenAIError(500, str(error), kind="server_error") from error
        finally:
            self._in_flight -= 1

    async def _loopback(self) -> Any:
        async with self._client_lock:
            if self._client is None:
                from gradio_client import Client

                url = self.demo.local_url
                if not url:
                    raise OpenAIError(503, "The server is still starting.", kind="server_error")
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
        return self._client

    def run_queued(self, upload: str, form_json: str) -> str:
        """The queue endpoint: transcribe the stashed upload; the answer as JSON."""
        path = self.stash.take(upload)
        if path is None:
            answer = _error_answer(OpenAIError(400, "Unknown or already used upload."))
        else:
            try:
                answer = self._answer(path, json.loads(form_json))
            except OpenAIError as error:
                answer = _error_answer(error)
        return json.dumps(answer, ensure_ascii=False)

    def _answer(self, path: Path, form: dict[str, Any]) -> dict[str, Any]:
        transcriber = self.transcriber
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
        transcript = result.best
        limits = CaptionLimits.from_settings(self.settings)
        fmt = form["response_format"]
        if fmt == "text":
            return {"text": transcript.text}
        if fmt in ("srt", "vtt"):
            render = to_srt if fmt == "srt" else to_vtt
            return {"text": render(transcript, result.duration, limits)}
        if fmt == "json":
            return {"json": {"text": transcript.text, "usage": _usage(result.duration)}}
        body: dict[str, Any] = {
            "task": "transcribe",
            "language": "armenian",
            "duration": round(result.duration, 3),
            "text": transcript.text,
        }
        granularities = form["timestamp_granularities"] or ["segment"]
        if "word" in granularities:
            body["words"] = [
                {"word": w.text, "start": round(w.start, 3), "end": round(w.end, 3)}
                | ({} if w.confidence is None else {"confidence": round(w.confidence, 4)})
                for w in transcript.words
            ]
        if "segment" in granularities:
            body["segments"] = _segments(transcript, result.duration, limits)
        body["usage"] = _usage(result.duration)
        return {"json": body}


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
            _check_key(request, bridge.settings)
            with TemporaryDirectory(prefix="hyasr-openai-") as folder:
                form = await _read_form(request, bridge.settings, Path(folder))
                token = bridge.stash.put(form.pop("path"))
                try:
                    answer = await bridge.submit(token, form)
                finally:
                    bridge.stash.take(token)  # refused or failed: never left behind
        except OpenAIError as error:
            return error.response()
        if "error" in answer:
            return OpenAIError(answer["status"], **answer["error"]).response()
        if "json" in answer:
            return JSONResponse(answer["json"])
        return PlainTextResponse(answer["text"])

    async def models(request: Request) -> Response:
        try:
            _check_key(request, bridge.settings)
        except OpenAIError as error:
            return error.response()
        return JSONResponse({"object": "list", "data": [_model_card(bridge)]})

    async def model(request: Request) -> Response:
        try:
            _check_key(request, bridge.settings)
            card = _model_card(bridge)
            if request.path_params["name"] != card["id"]:
                raise OpenAIError(
                    404,
                    f"The model {request.path_params['name']!r} does not exist; this "
                    f"server has {card['id']!r}.",
                    param="model",
                    code="model_not_found",
                )
        except OpenAIError as error:
            return error.response()
        return JSONResponse(card)

    return [
        Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/models/{name:path}", model, methods=["GET"]),
    ]


def _check_key(request: Request, settings: Settings) -> None:
    if not settings.api_key:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), settings.api_key.encode()
    ):
        raise OpenAIError(
            401,
            "Incorrect or missing API key: send the server's key (HYASR_API_KEY) as "
            "'Authorization: Bearer <key>'.",
            code="invalid_api_key",
        )


async def _read_form(request: Request, settings: Settings, folder: Path) -> dict[str, Any]:
    """The request's form, checked, with the upload saved in `folder` ("path")."""
    limit = settings.max_file_size_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(int(declared), settings)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise OpenAIError(400, "Send the audio as multipart/form-data with a 'file' field.")
    parser = MultiPartParser(
        request.headers, _limited(request.stream(), limit, settings), max_files=1, max_fields=32
    )
    try:
        data = await parser.parse()
    except MultiPartException as error:
        raise OpenAIError(400, f"The form could not be read: {error.message}") from error
    upload = data.get("file")
    if not isinstance(upload, UploadFile):
        raise OpenAIError(400, "The form has no 'file' (the audio).", param="file")
    form = {
        "response_format": str(data.get("response_format") or "json"),
        "timestamp_granularities": [
            str(v)
            for key in ("timestamp_granularities[]", "timestamp_granularities")
            for v in data.getlist(key)
        ],  # fmt: skip
        "prompt": str(data.get("prompt") or ""),
        "decoder": str(data.get("decoder") or LM),
    }
    language = str(data.get("language") or "").strip().lower()
    if language and language not in ARMENIAN:
        raise OpenAIError(
            400,
            f"This server recognises Armenian only (language 'hy'), not {language!r}.",
            param="language",
            code="unsupported_language",
        )
    _check_choice(form["response_format"], RESPONSE_FORMATS, "response_format")
    _check_choice(form["decoder"], DECODERS, "decoder")
    for granularity in form["timestamp_granularities"]:
        _check_choice(granularity, GRANULARITIES, "timestamp_granularities[]")
    if form["timestamp_granularities"] and form["response_format"] != "verbose_json":
        raise OpenAIError(
            400,
            "timestamp_granularities[] needs response_format 'verbose_json'.",
            param="timestamp_granularities[]",
        )
    name = Path(upload.filename or "audio").name or "audio"
    path = folder / name
    with path.open("wb") as target:
        await anyio.to_thread.run_sync(shutil.copyfileobj, upload.file, target)
    await upload.close()
    form["path"] = path
    return form


async def _limited(stream: AsyncIterator[bytes], limit: int, settings: Settings):
    """The request body, cut off with a 413 past `limit` bytes (whatever Content-Length
    claimed, or with none)."""
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise _too_large(size, settings)
        yield chunk


def _check_choice(value: str, choices: tuple[str, ...], param: str) -> None:
    if value not in choices:
        raise OpenAIError(
            400, f"{param} must be one of {', '.join(choices)}, not {value!r}.", param=param
        )


def _too_large(size: int, settings: Settings) -> OpenAIError:
    return OpenAIError(
        413,
        f"The request is {size / 2**20:.1f} MB or more; the limit for the audio file is "
        f"{settings.max_file_size_mb:g} MB.",
        param="file",
        code="file_too_large",
    )


def _queue_full(settings: Settings) -> OpenAIError:
    return OpenAIError(
        503,
        f"The server is busy: its queue is full ({settings.queue_max_size} waiting). "
        f"Try again in a few seconds.",
        kind="server_error",
        code="queue_full",
    )


def _error_answer(error: OpenAIError) -> dict[str, Any]:
    return {
        "status": error.status,
        "error": {"message": error.message, "kind": error.kind, "param": error.param,
                  "code": error.code},
    }  # fmt: skip


def _usage(duration: float) -> dict[str, Any]:
    return {"type": "duration", "seconds": math.ceil(duration)}


def _segments(transcript: Any, duration: float, limits: CaptionLimits) -> list[dict[str, Any]]:
    """Caption segments in the fields of OpenAI's verbose_json segments. There are no
    token ids (a CTC model spells letters) and no sampling temperature; avg_logprob is the
    mean log confidence of the segment's words; no_speech_prob is 0, since a segment exists
    only where words were recognised; seek is the start in Whisper's 10 ms frames."""
    segments = []
    for index, caption in enumerate(captions(transcript, duration, limits)):
        scores = [w.confidence for w in caption.words if w.confidence is not None]
        mean_log = sum(math.log(max(s, 1e-9)) for s in scores) / len(scores) if scores else 0.0
        segments.append(
            {
                "id": index,
                "seek": round(caption.start * 100),
                "start": round(caption.start, 3),
                "end": round(caption.end, 3),
                "text": caption.text,
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": round(mean_log, 4),
                "compression_ratio": compression_ratio(caption.text),
                "no_speech_prob": 0.0,
            }
        )
    return segments


def _model_card(bridge: OpenAIBridge) -> dict[str, Any]:
    name = bridge.transcriber.model_name if bridge.transcriber else bridge.settings.model
    return {"id": name, "object": "model", "created": bridge.created, "owned_by": "hyasr-space"}


def compression_ratio(text: str) -> float:
    """Whisper's repetition measure: the text's length over its zlib-compressed length."""
    data = text.encode("utf-8")
    return round(len(data) / len(zlib.compress(data)), 4) if data else 0.0
