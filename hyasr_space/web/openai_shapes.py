"""OpenAI's speech-to-text shapes (https://platform.openai.com/docs/api-reference/audio):
the form of ``POST /v1/audio/transcriptions`` read and checked, its answers rendered, and
its error object; openai_api.py serves them."""

from __future__ import annotations

import hmac
import math
import shutil
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..results import Transcript, Transcription
from ..settings import GREEDY, LM, Settings
from ..subtitles import CaptionLimits, captions, to_srt, to_vtt

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


def render(result: Transcription, form: dict[str, Any], limits: CaptionLimits) -> dict[str, Any]:
    """The answer in the requested `response_format`: {"text": ...} for a plain-text body,
    {"json": ...} for a JSON one."""
    transcript = result.best
    fmt = form["response_format"]
    if fmt == "text":
        return {"text": transcript.text}
    if fmt in ("srt", "vtt"):
        write = to_srt if fmt == "srt" else to_vtt
        return {"text": write(transcript, result.duration, limits)}
    if fmt == "json":
        return {"json": {"text": transcript.text, "usage": usage(result.duration)}}
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
        body["segments"] = segments(transcript, result.duration, limits)
    body["usage"] = usage(result.duration)
    return {"json": body}


def check_key(request: Request, settings: Settings) -> None:
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


async def read_form(request: Request, settings: Settings, folder: Path) -> dict[str, Any]:
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
        "model": str(data.get("model") or ""),
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


def unknown_model(error: Exception) -> OpenAIError:
    """OpenAI's answer to a model it does not have: 404, `model_not_found`."""
    return OpenAIError(404, str(error), param="model", code="model_not_found")


def model_unavailable(message: str) -> OpenAIError:
    return OpenAIError(503, message, kind="server_error", param="model", code="model_unavailable")


def queue_full(settings: Settings) -> OpenAIError:
    return OpenAIError(
        503,
        f"The server is busy: its queue is full ({settings.queue_max_size} waiting). "
        f"Try again in a few seconds.",
        kind="server_error",
        code="queue_full",
    )


def error_answer(error: OpenAIError) -> dict[str, Any]:
    return {
        "status": error.status,
        "error": {"message": error.message, "kind": error.kind, "param": error.param,
                  "code": error.code},
    }  # fmt: skip


def usage(duration: float) -> dict[str, Any]:
    return {"type": "duration", "seconds": math.ceil(duration)}


def segments(
    transcript: Transcript, duration: float, limits: CaptionLimits
) -> list[dict[str, Any]]:
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


def compression_ratio(text: str) -> float:
    """Whisper's repetition measure: the text's length over its zlib-compressed length."""
    data = text.encode("utf-8")
    return round(len(data) / len(zlib.compress(data)), 4) if data else 0.0
