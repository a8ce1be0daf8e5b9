"""The live captions' WebSocket (web/live_socket.py) with a plain client (`websockets`)
against the real app server and the tiny tone model: what is acknowledged is heard, in
order, once; a dropped socket resumes; bad tokens and bad messages close the socket with
a code and a reason; the limits stop a stream with a reason and keep what it heard.

A stream is opened here as the Live tab's Record event opens one (a `LiveSession` with
a fresh token, registered where the socket route looks); test_browser_live.py goes
through the page itself.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile
from servers import app_settings, serve
from tone_model import LONG_WORDS, RATE, tone_speech
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hyasr_space import Transcriber
from hyasr_space.results import Transcription
from hyasr_space.web.live_sessions import LIVE_SESSIONS, LiveSession
from hyasr_space.web.live_socket import max_message_bytes

ARMENIAN = re.compile("[\u0531-\u0587]")

CHUNK = RATE // 10  # what the page sends: 0.1 s


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = app_settings(model_dir, warm_up=False)
    with serve(settings) as url:
        yield url.replace("http://", "ws://") + "hyasr/live/socket"


@pytest.fixture
def tone(model_dir: Path, settings) -> Transcriber:
    return Transcriber.load(str(model_dir), settings=replace(settings, warm_up=False))


@pytest.fixture
def speech() -> np.ndarray:
    samples, _ = tone_speech(LONG_WORDS)
    return np.round(samples * 32767).astype(np.int16)


def open_session(tone: Transcriber, **limits: float) -> LiveSession:
    """A live stream as the Record event starts one."""
    session = LiveSession(**limits)
    session.begin(tone.stream("greedy", recording=session.new_recording()), time.monotonic())
    LIVE_SESSIONS.register(session)
    return session


def chunk(seq: int, samples: np.ndarray) -> bytes:
    return seq.to_bytes(4, "little") + samples.astype("<i2").tobytes()


def chunks(samples: np.ndarray) -> list[bytes]:
    return [chunk(i, samples[s : s + CHUNK]) for i, s in enumerate(range(0, len(samples), CHUNK))]


async def hello(socket, session: LiveSession, rate: int = RATE) -> dict:
    await socket.send(json.dumps({"type": "hello", "token": session.token, "rate": rate}))
    return await next_of(socket, "ready")


async def next_of(socket, kind: str) -> dict:
    while True:
        message = json.loads(await socket.recv())
        if message["type"] == kind:
            return message


async def closed(socket) -> tuple[int, str]:
    """Read until the server closes; its close code and reason."""
    try:
        while True:
            await socket.recv()
    except ConnectionClosed:
        pass
    return socket.close_code, socket.close_reason


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 120))


def recorded(session: LiveSession) -> np.ndarray:
    samples, rate = soundfile.read(session.stream.recording, dtype="int16")
    assert rate == RATE
    return samples


def test_every_chunk_is_heard_once_in_order_and_the_text_comes_back(
    server: str, tone: Transcriber, speech: np.ndarray
) -> None:
    session = open_session(tone)
    messages = chunks(speech)

    async def talk() -> list[dict]:
        async with connect(server) as socket:
            assert (await hello(socket, session))["next"] == 0
            for message in messages:
                await socket.send(message)
            await socket.send(messages[3])  # a duplicate: acknowledged again, not heard
            await socket.send(json.dumps({"type": "end", "next": len(messages)}))
            received = []
            async for text in socket:
                received.append(json.loads(text))
            assert socket.close_code == 1000
            return received

    received = run(talk())
    acks = [m["next"] for m in received if m["type"] == "ack"]
    assert acks == [*range(1, len(messages) + 1), len(messages)]
    assert any(m["type"] == "partial" and m["pending"] + m["stable"] for m in received)
    assert received[-1]["type"] == "done" and received[-1]["fed_s"] == len(speech) / RATE
    result = session.end()
    np.testing.assert_array_equal(recorded(session), speech)  # the same samples, once
    assert result.best.text == LONG_WORDS == tone.transcribe((RATE, speech), "greedy").best.text


def test_a_dropped_connection_resumes_from_the_last_acknowledged_chunk(
    server: str, tone: Transcriber, speech: np.ndarray
) -> None:
    """The page keeps what was not acknowledged; after a drop it reconnects with the
    same token, learns where the server stands (`ready.next`) and resends from there,
    some chunks twice: the server hears each sample once."""
    session = open_session(tone)
    messages = chunks(speech)
    half = len(messages) // 2

    async def talk() -> None:
        async with connect(server) as socket:
            await hello(socket, session)
            for message in messages[:half]:
                await socket.send(message)
            await next_of(socket, "ack")
        # dropped mid-stream, without an end: the stream waits for the page to come back
        async with connect(server) as socket:
            ready = await hello(socket, session)
            assert ready["next"] == half
            for message in messages[half - 2 :]:  # two the server already has
                await socket.send(message)
            await socket.send(json.dumps({"type": "end", "next": len(messages)}))
            await next_of(socket, "done")

    run(talk())
    result = session.end()
    np.testing.assert_array_equal(recorded(session), speech)
    assert result.best.text == LONG_WORDS


def test_a_newer_socket_of_the_same_stream_replaces_the_older(
    server: str, tone: Transcriber, speech: np.ndarray
) -> None:
    session = open_session(tone)

    async def talk() -> tuple[int, str]:
        async with connect(server) as old, connect(server) as new:
            await hello(old, session)
            await hello(new, session)
            return await closed(old)

    code, reason = run(talk())
    assert code == 4409 and "newer connection" in reason
    session.end()


@pytest.mark.parametrize(
    "first, code, reason",
    [
        ({"type": "hello", "token": "not-a-token"}, 4403, "no live stream has this token"),
        ({"type": "hello"}, 4403, "no live stream has this token"),
        ({"type": "start"}, 4400, "first message must be a hello"),
        (b"\x00\x00\x00\x00audio", 1003, "expected a JSON text message"),
        ("not json", 4400, "not JSON"),
        ("x" * 5000, 1009, "over the limit of 1024"),
    ],
)
def test_a_socket_without_a_live_stream_is_refused_with_a_reason(
    server: str, first, code: int, reason: str
) -> None:
    async def talk() -> tuple[int, str]:
        async with connect(server) as socket:
            await socket.send(json.dumps(first) if isinstance(first, dict) else first)
            return await closed(socket)

    got_code, got_reason = run(talk())
    assert got_code == code and reason in got_reason, got_reason


def test_another_tab_s_finished_stream_cannot_be_joined(
    server: str, tone: Transcriber, speech: np.ndarray
) -> None:
    session = open_session(tone)
    token = session.token
    session.end()  # Stop: the token stops working

    async def talk() -> tuple[int, str]:
        async with connect(server) as socket:
            await socket.send(json.dumps({"type": "hello", "token": token}))
            return await closed(socket)

    code, reason = run(talk())
    assert code == 4403 and "no live stream has this token" in reason


@pytest.mark.parametrize(
    "message, code, reason",
    [
        (b"\x00" * (max_message_bytes(RATE) + 2), 1009, "over the limit"),
        (chunk(0, np.zeros(10, np.int16)) + b"\x01", 4400, "not whole 16-bit samples"),
        (b"\x00\x00", 4400, "shorter than its 4-byte sequence number"),
        (chunk(5, np.zeros(10, np.int16)), 4400, "chunk 5 came before chunk 0"),
        (json.dumps({"type": "end", "next": 3}), 4400, "chunk 0 is next"),
        (json.dumps({"type": "dance"}), 4400, "unknown message"),
    ],
)
def test_a_bad_message_closes_the_socket_with_a_reason(
    server: str, tone: Transcriber, message, code: int, reason: str
) -> None:
    session = open_session(tone)

    async def talk() -> tuple[int, str]:
        async with connect(server) as socket:
            await hello(socket, session)
            await socket.send(message)
            return await closed(socket)

    got_code, got_reason = run(talk())
    assert got_code == code and reason in got_reason, got_reason
    session.end()


def test_past_the_backlog_cap_the_stream_stops_and_keeps_what_it_heard(
    server: str, tone: Transcriber, speech: np.ndarray
) -> None:
    """A server too busy to keep up: the worker is held (as a long step would hold it)
    while the page keeps sending; past `live_max_behind_s` of backlog the stream stops
    with a reason, and what was received until then is recognised and kept."""
    session = open_session(tone, max_behind_s=0.5)
    messages = chunks(speech)

    async def talk() -> dict:
        async with connect(server) as socket:
            await hello(socket, session)
            for message in messages:
                await socket.send(message)
            return await next_of(socket, "stopped")

    with session.stream._lock:  # the network is busy: nothing is fed meanwhile
        stopped = run(talk())
    assert "fell more than 0.5 s behind" in stopped["reason"]
    assert "HYASR_LIVE_MAX_BEHIND_S" in stopped["reason"] and "MB" in stopped["reason"]
    assert stopped["heard_s"] == pytest.approx(0.6, abs=0.001)  # six chunks, then stopped
    assert session.wait_drained(60)
    result = session.end()
    assert result.duration == pytest.approx(0.6, abs=0.001)
    np.testing.assert_array_equal(recorded(session), speech[: 6 * CHUNK])


def test_the_time_limit_stops_the_stream_at_that_much_audio(
    server: str, tone: Transcriber, speech: np.ndarray
) -> None:
    session = open_session(tone, time_limit_s=1.25)

    async def talk() -> dict:
        async with connect(server) as socket:
            await hello(socket, session)
            for message in chunks(speech):
                await socket.send(message)
            return await next_of(socket, "stopped")

    stopped = run(talk())
    assert stopped["reason"] == "Live mode stops after 1.25 s."
    # ... and in Armenian, for a page in Armenian (the page picks by its language)
    assert stopped["reasons"]["en"] == stopped["reason"]
    assert "1.25" in stopped["reasons"]["hy"] and ARMENIAN.search(stopped["reasons"]["hy"])
    session.wait_drained(60)
    assert session.end().duration == 1.25


def test_a_socket_still_open_after_stop_is_closed_when_it_sends(
    server: str, tone: Transcriber, speech: np.ndarray
) -> None:
    """Stop ended the stream while the page's socket stayed open: more audio is refused,
    not queued for a worker that has gone."""
    session = open_session(tone)
    messages = chunks(speech)

    async def talk() -> tuple[int, str]:
        async with connect(server) as socket:
            await hello(socket, session)
            await socket.send(messages[0])
            await next_of(socket, "ack")
            session.end()
            await socket.send(messages[1])
            return await closed(socket)

    code, reason = run(talk())
    assert code == 4403 and "finished" in reason
    np.testing.assert_array_equal(recorded(session), speech[:CHUNK])


# --- a live stream on another model (the Live tab's Model dropdown) --------------------


def live_event(demo, name: str):
    """The Live tab's event function `name` (arm, stop, decode_again) as the app runs it."""
    [block_fn] = [f for f in demo.fns.values() if f.name == name]
    return block_fn


def inputs_with(block_fn, **values):
    """The event's input values as the page would send them: each component's default,
    with `values` by position name (session, model, decoder)."""
    given = [component.value for component in block_fn.inputs]
    for index, value in values.items():
        given[int(index.removeprefix("at"))] = value
    return given


def test_a_stream_on_another_model_holds_it_until_it_ends(
    model_dir: Path, model_dir_no_lm: Path, tmp_path: Path, speech: np.ndarray, fresh_models
) -> None:
    """Record (the tab's real `arm`) with a second model: its text comes back through the
    socket, and the pool, full (HYASR_MAX_LOADED_MODELS=2, the Space's model counting),
    does not unload it mid-stream when a third model is loaded; Stop lets it go, and
    "decode again" still uses it. A model that cannot load arms nothing and says why."""
    from random_models import build_random_wav2vec2, build_respelled_tone_model, respelled
    from servers import serving

    from hyasr_space.models import shared_pool
    from hyasr_space.web.live_tab import close_live_session

    second = str(build_respelled_tone_model(model_dir_no_lm, tmp_path / "respelled"))
    third = str(build_random_wav2vec2(tmp_path / "random"))
    missing = str(tmp_path / "no-such-model")
    settings = app_settings(
        model_dir, models=(second, third, missing), max_loaded_models=2, warm_up=False
    )
    pool = shared_pool(settings)
    with serving(settings) as (url, demo):
        socket_url = url.replace("http://", "ws://") + "hyasr/live/socket"
        arm, stop = live_event(demo, "arm"), live_event(demo, "stop")
        decode_again = live_event(demo, "decode_again")

        def record(model: str) -> LiveSession:
            outputs = arm.fn(*inputs_with(arm, at0=None, at1=model, at2="greedy"))
            return next(value for value in outputs if isinstance(value, LiveSession)), outputs

        announce = live_event(demo, "announce")
        assert "Loading" in announce.fn(second) and second in announce.fn(second)
        session, _ = record(second)
        assert session.token and session.holds_model
        assert not isinstance(announce.fn(second), str)  # loaded: nothing to announce
        assert pool.loaded() == [second]
        messages = chunks(speech)
        half = len(messages) // 2

        async def talk(part: list[bytes], first: int, end: bool) -> None:
            async with connect(socket_url) as socket:
                await hello(socket, session)
                for message in part:
                    await socket.send(message)
                if end:
                    await socket.send(json.dumps({"type": "end", "next": len(messages)}))
                    await next_of(socket, "done")
                else:
                    while (await next_of(socket, "ack"))["next"] < first + len(part):
                        pass

        run(talk(messages[:half], 0, end=False))
        pool.get(third)  # the pool is full: the idle one would go, the streaming one stays
        assert pool.is_loaded(second) and pool.is_loaded(third)
        run(talk(messages[half:], half, end=False))
        run(talk([], len(messages), end=True))
        outputs = stop.fn(session)
        [result] = [value for value in outputs if isinstance(value, Transcription)]
        assert result.best.text == respelled(LONG_WORDS) != LONG_WORDS
        assert not session.holds_model
        pool.get(third)
        assert not pool.is_loaded(second)  # let go: an idle model the pool may unload

        again = decode_again.fn(*inputs_with(decode_again, at0=session, at1="greedy"))
        [redone] = [value for value in again if isinstance(value, Transcription)]
        assert redone.model == result.model and redone.best.text == result.best.text

        # Closing the tab mid-stream lets the model go too.
        session, _ = record(second)
        assert pool.is_loaded(second) and session.holds_model
        close_live_session(session)
        deadline = time.monotonic() + 30
        while session.holds_model and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not session.holds_model
        pool.get(third)
        assert not pool.is_loaded(second)

        loaded = pool.loaded()
        session, outputs = record(missing)
        assert session.token is None and session.stream is None
        [status] = [
            value for value in outputs if isinstance(value, str) and "cannot be used" in value
        ]
        assert missing in status and "Nothing was recorded" in status
        assert pool.loaded() == loaded  # nothing unloaded: what served keeps serving
