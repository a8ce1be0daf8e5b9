"""The app's MCP server as an agent sees it: the `mcp` SDK over streamable HTTP against
the served app (tone_model.py), audio by data: URL and by an http URL served locally."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from random_models import respelled
from servers import app_settings, serving
from tone_model import WORDS
from web_files import web_files

from hyasr_space.transcriber import Transcriber
from hyasr_space.web.agent_tools import ALIGN_TOOL, TRANSCRIBE_TOOL

mcp = pytest.importorskip("mcp")
from mcp.client.streamable_http import streamablehttp_client  # noqa: E402

TOOLS = {TRANSCRIBE_TOOL, ALIGN_TOOL}
# What the page's API documents for gradio_client: its events (/compare too) and the tools; every
# UI-only event (live chunks and ticks, re-decoding, deep links, the card) is private.
PUBLIC_ENDPOINTS = {
    "/transcribe", "/align", "/compare", f"/{TRANSCRIBE_TOOL}", f"/{ALIGN_TOOL}"
}  # fmt: skip


@pytest.fixture(scope="module")
def served(model_dir: Path, second_model: str) -> Iterator[tuple[str, Any]]:
    # Loopback hosts allowed: the "remote" audio is on this machine (tests/web_files.py).
    settings = app_settings(
        model_dir, url_allow_private=True, models=(second_model, str(model_dir / "missing")),
        demo_model_dir=model_dir / "no-demo-model",
    )  # fmt: skip
    with serving(settings) as (url, demo):
        yield url, demo


@pytest.fixture(scope="module")
def url(served) -> str:
    return served[0]


@pytest.fixture(scope="module")
def reference(model_dir: Path, url: str) -> Transcriber:
    return Transcriber.load(str(model_dir), None, app_settings(model_dir, url_allow_private=True))


@pytest.fixture(scope="module")
def data_url(words_wav: Path) -> str:
    return "data:audio/wav;base64," + base64.b64encode(words_wav.read_bytes()).decode()


def _with_session(url: str, work: Any) -> Any:
    async def run() -> Any:
        async with (
            streamablehttp_client(f"{url}gradio_api/mcp/") as (read, write, _),
            mcp.ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    return asyncio.run(run())


def _call(url: str, tool: str, arguments: dict[str, Any]) -> Any:
    return _with_session(url, lambda session: session.call_tool(tool, arguments))


def _json(result: Any) -> dict[str, Any]:
    assert not result.isError, result.content
    [content] = result.content
    return json.loads(content.text)


def test_the_tools_and_their_schemas(url: str) -> None:
    listed = _with_session(url, lambda session: session.list_tools())
    tools = {tool.name: tool for tool in listed.tools}
    assert set(tools) == TOOLS  # the page's /transcribe and /align are not tools

    transcribe = tools[TRANSCRIBE_TOOL]
    schema = transcribe.inputSchema
    assert schema["required"] == ["audio_url"]
    assert set(schema["properties"]) == {
        "audio_url", "decoder", "hotwords", "hotword_weight", "model"
    }  # fmt: skip
    assert schema["properties"]["audio_url"]["type"] == "string"  # a URL, not a Gradio file
    assert schema["properties"]["decoder"]["enum"] == ["lm", "greedy", "both"]
    assert schema["properties"]["decoder"]["default"] == "lm"
    hotwords = schema["properties"]["hotwords"]["oneOf"]
    assert {"type": "array", "items": {"type": "string"}} in hotwords
    for tool in tools.values():
        properties = tool.inputSchema["properties"]
        assert all(len(p.get("description", "")) > 20 for p in properties.values()), tool.name
        assert "Limits: 5 s of audio, 1 MB, fetched within 30 s." in tool.description
        assert "Returns:" in tool.description and '"words"' in tool.description
        assert "file:// URLs are refused" in properties["audio_url"]["description"]
    align = tools[ALIGN_TOOL].inputSchema
    assert sorted(align["required"]) == ["audio_url", "text"]
    assert set(align["properties"]) == {"audio_url", "text", "model"}


def test_the_model_argument_picks_an_offered_model(
    url: str, data_url: str, model_dir: Path, second_model: str
) -> None:
    """`model`: an offered model's id runs that model (its text, its name in the answer);
    none, the app's own id and OpenAI's names run the app's own; any other name is an
    error naming the offered models. The tool's description lists them."""
    listed = _with_session(url, lambda session: session.list_tools())
    described = {t.name: t.inputSchema["properties"]["model"] for t in listed.tools}
    for description in described.values():
        assert (
            second_model in description["description"] and "whisper-1" in description["description"]
        )
        assert description.get("default", "") == ""
    answer = _json(_call(url, TRANSCRIBE_TOOL, {"audio_url": data_url, "model": second_model}))
    assert answer["text"] == respelled(WORDS) != WORDS
    assert answer["model"] != str(model_dir)
    assert any("greedily" in note or "language model" in note for note in answer["notices"])
    for own in (str(model_dir), "whisper-1", ""):
        arguments = {"audio_url": data_url, "decoder": "greedy", "model": own}
        assert _json(_call(url, TRANSCRIBE_TOOL, arguments))["text"] == WORDS
    aligned = _json(
        _call(
            url,
            ALIGN_TOOL,
            {"audio_url": data_url, "text": respelled(WORDS), "model": second_model},
        )  # fmt: skip
    )
    assert [w["word"] for w in aligned["words"]] == respelled(WORDS).split()
    assert aligned["warnings"] == [] and aligned["model"] == answer["model"]
    for tool, arguments in (
        (TRANSCRIBE_TOOL, {"audio_url": data_url, "model": "openai/whisper-large-v3"}),
        (ALIGN_TOOL, {"audio_url": data_url, "text": WORDS, "model": "nope"}),
    ):
        result = _call(url, tool, arguments)
        assert result.isError
        message = result.content[0].text
        assert "is not offered here" in message and second_model in message, message
    missing = str(model_dir / "missing")  # offered, but not there: says so, nothing else
    result = _call(url, TRANSCRIBE_TOOL, {"audio_url": data_url, "model": missing})
    assert result.isError and "cannot be used now" in result.content[0].text


def test_no_ui_only_event_is_public(url: str) -> None:
    from gradio_client import Client

    api = Client(url, verbose=False).view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == PUBLIC_ENDPOINTS
    assert not api["unnamed_endpoints"]


def test_tools_wait_in_the_pages_concurrency_groups(served) -> None:
    _, demo = served
    by_name = {fn.api_name: fn for fn in demo.fns.values()}
    assert by_name[TRANSCRIBE_TOOL].concurrency_id == by_name["transcribe"].concurrency_id
    assert by_name[ALIGN_TOOL].concurrency_id == by_name["align"].concurrency_id
    assert by_name[TRANSCRIBE_TOOL].queue and by_name[ALIGN_TOOL].queue


def test_transcribe_a_data_url(url: str, data_url: str, reference, words_wav: Path) -> None:
    answer = _json(_call(url, TRANSCRIBE_TOOL, {"audio_url": data_url}))
    expected = reference.transcribe(words_wav, "lm")
    assert answer["text"] == expected.best.text == WORDS
    assert answer["words"] == [word.to_dict() for word in expected.best.words]
    assert answer["decoder"] == "lm" and answer["duration"] == round(expected.duration, 3)
    assert answer["model"] == expected.model and answer["commit"] is None  # a local folder
    [segment] = answer["segments"]
    assert segment["text"] == WORDS and 0 < segment["confidence"] <= 1
    assert "compared_with" not in answer


def test_transcribe_both_decoders_with_hotwords(url: str, data_url: str, reference, words_wav):
    answer = _json(
        _call(
            url,
            TRANSCRIBE_TOOL,
            {"audio_url": data_url, "decoder": "both", "hotwords": ["ձեզ"], "hotword_weight": 5},
        )
    )
    greedy = reference.transcribe(words_wav, "greedy").best
    assert answer["text"] == WORDS
    [other] = answer["compared_with"]
    assert other["decoder"] == "greedy" and other["text"] == greedy.text


def test_transcribe_an_http_url(url: str, words_wav: Path, reference) -> None:
    with web_files(words_wav.parent) as site:
        arguments = {"audio_url": f"{site}{words_wav.name}", "decoder": "greedy"}
        answer = _json(_call(url, TRANSCRIBE_TOOL, arguments))
    assert answer["text"] == reference.transcribe(words_wav, "greedy").best.text


def test_align(url: str, data_url: str, reference, words_wav: Path) -> None:
    text = "Բարև, ձեզ։"
    answer = _json(_call(url, ALIGN_TOOL, {"audio_url": data_url, "text": text}))
    expected = reference.align(words_wav, text)
    assert [w["word"] for w in answer["words"]] == ["Բարև,", "ձեզ։"]  # the text as written
    assert answer["words"] == [word.to_dict() for word in expected.best.words]
    assert answer["warnings"] == list(expected.notices) == []
    assert "notices" not in answer


def test_align_warns_when_the_text_is_not_the_speech(url: str, data_url: str) -> None:
    answer = _json(
        _call(url, ALIGN_TOOL, {"audio_url": data_url, "text": "ձեզ ձեզ ձեզ ձեզ ձեզ ձեզ"})
    )
    assert answer["warnings"], answer


@pytest.mark.parametrize("given", ["/etc/passwd", "file:///etc/passwd", "../barev.wav"])
def test_a_file_path_is_refused(url: str, given: str) -> None:
    for tool, arguments in (
        (TRANSCRIBE_TOOL, {"audio_url": given}),
        (ALIGN_TOOL, {"audio_url": given, "text": WORDS}),
    ):
        result = _call(url, tool, arguments)
        assert result.isError
        message = result.content[0].text
        assert "files on the server are never read" in message and "root:" not in message


def test_bad_arguments_get_clear_errors(url: str, data_url: str) -> None:
    result = _call(url, TRANSCRIBE_TOOL, {"audio_url": data_url, "decoder": "beam"})
    assert result.isError and "beam" in result.content[0].text
    result = _call(url, ALIGN_TOOL, {"audio_url": data_url, "text": "  ,. "})
    assert result.isError and "text" in result.content[0].text.lower()
    big = "data:audio/wav;base64," + "A" * (2 * 2**20)
    result = _call(url, TRANSCRIBE_TOOL, {"audio_url": big})
    assert result.isError and "the limit is 1 MB" in result.content[0].text
