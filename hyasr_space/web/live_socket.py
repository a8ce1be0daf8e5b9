"""The live captions' WebSocket and the page's scripts, as routes on Gradio's own server
(so they share its origin: a Space, `--share` and a path prefix all work).

Protocol (one socket per stream; the browser reconnects with the same token after a
drop and resends what was not acknowledged):

    browser -> {"type": "hello", "token": T, "rate": 16000}     first, within HELLO_S
    server  -> {"type": "ready", "next": N, ...status}          resend from chunk N
    browser -> binary: uint32 LE sequence number + 16-bit LE mono PCM at `rate`
    server  -> {"type": "ack", "next": N+1, ...status}          for each chunk, at once
    server  -> {"type": "partial", "stable", "pending", ...status}  after each feed
    browser -> {"type": "end", "next": N}                       all sent; no more audio
    server  -> {"type": "done", ...status}                      all fed; closes (1000)
    server  -> {"type": "stopped", "reason", "reasons", ...status}  a limit was reached
                                                                (reasons: by language)

status: heard_s, fed_s, behind_s (received, not yet fed), lagging, stopped.

Close codes (the reason says what was wrong and the limit): 4403 no live stream with
this token; 1009 a message over the size limit; 1003 text where audio was expected or
the reverse; 4400 a malformed message, a gap in the sequence numbers or a bad rate;
4408 no hello in time; 4409 replaced by a newer socket of the same stream. The page
reconnects only after a close that is not one of these (a network drop).

The receiver only checks, appends and acknowledges (LiveSession.receive); the network
and the beam search run on the session's worker thread, whose partial text comes back
through `loop.call_soon_threadsafe` into this socket's outbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from importlib import resources
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from .live_sessions import LIVE_SESSIONS, LiveSession, LiveSessions, ProtocolError
from .messages import notice
from .strings import LANGUAGES

log = logging.getLogger(__name__)

SOCKET_PATH = "/hyasr/live/socket"
SCRIPT_PATH = "/hyasr/live/static/{name}"
SCRIPTS = ("live_client.js", "live_worklet.js")
HEADER_BYTES = 4  # the chunk's sequence number
MAX_CHUNK_S = 1.0  # the page sends 0.1 s; a chunk may hold up to this much
MAX_TEXT_BYTES = 1024
HELLO_S = 10.0
RATES = range(8_000, 96_001)
REFUSED, TOO_BIG, WRONG_TYPE, MALFORMED, NO_HELLO, REPLACED = 4403, 1009, 1003, 4400, 4408, 4409


def live_socket_routes(sessions: LiveSessions = LIVE_SESSIONS) -> list[BaseRoute]:
    """The socket and the scripts it needs, for `demo.launch(app_kwargs={"routes": ...})`."""

    async def socket(websocket: WebSocket) -> None:
        await LiveConnection(websocket, sessions).run()

    async def script(request: Any) -> Response:
        name = request.path_params["name"]
        if name not in SCRIPTS:
            return Response("not found", status_code=404)
        body = resources.files(__package__).joinpath("static", name).read_bytes()
        return Response(body, media_type="text/javascript", headers={"Cache-Control": "no-cache"})

    return [WebSocketRoute(SOCKET_PATH, socket), Route(SCRIPT_PATH, script)]


def max_message_bytes(rate: int) -> int:
    return HEADER_BYTES + round(MAX_CHUNK_S * rate) * 2


class LiveConnection:
    """One socket of one live stream."""

    def __init__(self, websocket: WebSocket, sessions: LiveSessions) -> None:
        self.websocket = websocket
        self.sessions = sessions
        self.outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.session: LiveSession | None = None
        self._post_threadsafe: Any = None

    async def run(self) -> None:
        await self.websocket.accept()
        sender = asyncio.create_task(self._send_loop())
        try:
            await self._receive_loop()
        except WebSocketDisconnect:
            pass
        except ProtocolError as error:
            log.info("live socket refused a message: %s", error)
            self._post({"type": "closing", "code": error.code, "reason": str(error)})
        finally:
            session = self.session
            if session is not None and session._listener is self._post_threadsafe:
                session.listen(None)
            self.outbox.put_nowait(None)
            await sender

    async def _receive_loop(self) -> None:
        try:
            hello = await asyncio.wait_for(self.websocket.receive(), HELLO_S)
        except TimeoutError:
            raise ProtocolError(f"no hello within {HELLO_S:g} s", NO_HELLO) from None
        session = self._join(self._text(hello))
        limit = max_message_bytes(session.rate)
        loop = asyncio.get_running_loop()
        self._post_threadsafe = lambda message: loop.call_soon_threadsafe(self._post, message)
        session.listen(self._post_threadsafe)
        self._post({"type": "ready", "next": session.next_seq, **session.status()})
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            data = message.get("bytes")
            if data is None:
                self._on_text(session, self._text(message))
                continue
            if len(data) > limit:
                raise ProtocolError(
                    f"a message of {len(data)} bytes is over the limit of {limit} "
                    f"({MAX_CHUNK_S:g} s of audio)",
                    TOO_BIG,
                )
            if len(data) < HEADER_BYTES:
                raise ProtocolError("a chunk shorter than its 4-byte sequence number")
            seq = int.from_bytes(data[:HEADER_BYTES], "little")
            stopped = session.stopped
            session.receive(seq, data[HEADER_BYTES:], time.monotonic())
            self._post({"type": "ack", "next": session.next_seq, **session.status()})
            if session.stopped is not None and stopped is None:
                reasons = {language: notice(language, session.stopped) for language in LANGUAGES}
                self._post(
                    {"type": "stopped", "reason": session.stopped, "reasons": reasons}
                    | session.status()
                )

    def _join(self, hello: dict[str, Any]) -> LiveSession:
        if hello.get("type") != "hello":
            raise ProtocolError("the first message must be a hello with the stream's token")
        session = self.sessions.find(hello.get("token"))
        if session is None:
            raise ProtocolError(
                "no live stream has this token (finished, or not this tab's)", REFUSED
            )
        rate = hello.get("rate", 16_000)
        if not isinstance(rate, int) or rate not in RATES:
            raise ProtocolError(
                f"the rate must be a whole number of Hz from 8000 to 96000, not {rate!r}"
            )
        session.set_rate(rate)
        self.session = session
        previous = getattr(session, "connection", None)
        session.connection = self
        if previous is not None and previous is not self:
            previous.replace()
        return session

    def replace(self) -> None:
        """A newer socket of the same stream took over (the old one may be half-open)."""
        self._post(
            {"type": "closing", "code": REPLACED, "reason": "replaced by a newer connection"}
        )

    def _on_text(self, session: LiveSession, message: dict[str, Any]) -> None:
        if message.get("type") != "end" or not isinstance(message.get("next"), int):
            raise ProtocolError(f"unknown message {json.dumps(message)[:60]}")
        session.finish_input(message["next"])
        asyncio.get_running_loop().create_task(self._report_done(session))

    async def _report_done(self, session: LiveSession) -> None:
        while not session.drained():
            await asyncio.sleep(0.05)
        self._post({"type": "done", **session.status()})
        self._post({"type": "closing", "code": 1000, "reason": "done"})

    def _text(self, message: dict[str, Any]) -> dict[str, Any]:
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:
            raise ProtocolError("expected a JSON text message here, not audio", WRONG_TYPE)
        if len(text) > MAX_TEXT_BYTES:
            raise ProtocolError(
                f"a text message of {len(text)} characters is over the limit of {MAX_TEXT_BYTES}",
                TOO_BIG,
            )
        try:
            parsed = json.loads(text)
        except ValueError:
            raise ProtocolError("a text message that is not JSON") from None
        if not isinstance(parsed, dict):
            raise ProtocolError("a text message must be a JSON object")
        return parsed

    def _post(self, message: dict[str, Any]) -> None:
        self.outbox.put_nowait(message)

    async def _send_loop(self) -> None:
        while (message := await self.outbox.get()) is not None:
            if message.get("type") == "closing":
                await self._close(message["code"], message["reason"])
                continue
            if self.websocket.application_state != WebSocketState.CONNECTED:
                continue
            try:
                await self.websocket.send_text(json.dumps(message, ensure_ascii=False))
            except (WebSocketDisconnect, RuntimeError, OSError):
                continue

    async def _close(self, code: int, reason: str) -> None:
        if self.websocket.application_state != WebSocketState.CONNECTED:
            return
        try:
            await self.websocket.close(code, reason[:120])
        except (RuntimeError, OSError):
            pass
