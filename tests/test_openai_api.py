"""The OpenAI-compatible routes as a ported program sees them: the `openai` package's own
client, pointed at the served app with `base_url`, on the tone model (tone_model.py).

Every transcript must equal what `Transcriber.transcribe` (what `hyasr transcribe` runs)
makes of the same clip with the same decoder; errors must reach the client as its own
exception types with our messages.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile
import srt
from random_models import respelled
from servers import app_settings, serving
from tone_model import RATE, WORDS, tone_speech

from hyasr_space.errors import AudioError
from hyasr_space.lm import parse_hotwords
from hyasr_space.subtitles import to_vtt
from hyasr_space.transcriber import Transcriber
from hyasr_space.web import openai_api

openai = pytest.importorskip("openai")

KEY = "test-key-123"


def missing_model(model_dir: Path) -> str:
    """An offered model that cannot be loaded (a folder that is not there)."""
    return str(model_dir.parent / "offered-but-missing")


@pytest.fixture(scope="module")
def served(model_dir: Path, second_model: str) -> Iterator[tuple[str, object]]:
    settings = app_settings(
        model_dir, api_key=KEY, models=(second_model, missing_model(model_dir)),
        demo_model_dir=model_dir / "no-demo",
    )  # fmt: skip
    with serving(settings) as (url, demo):
        yield url, demo


@pytest.fixture(scope="module")
def url(served) -> str:
    return served[0]


@pytest.fixture(scope="module")
def client(url: str):
    return openai.OpenAI(base_url=f"{url}v1", api_key=KEY, max_retries=0)


@pytest.fixture(scope="module")
def reference(model_dir: Path, url: str) -> Transcriber:
    """The transcriber `hyasr transcribe` would use for this model and these settings."""
    return Transcriber.load(str(model_dir), None, app_settings(model_dir, api_key=KEY))


def test_json_is_the_transcribers_text(client, reference, words_wav: Path) -> None:
    answer = client.audio.transcriptions.create(model="whisper-1", file=words_wav.open("rb"))
    expected = reference.transcribe(words_wav, "lm").best.text
    assert answer.text == expected == WORDS
    assert answer.usage.seconds == 3  # the clip's 2.48 s, rounded up as OpenAI bills


def test_text_srt_and_vtt(client, reference, words_wav: Path) -> None:
    result = reference.transcribe(words_wav, "lm")
    text = client.audio.transcriptions.create(
        model="whisper-1", file=words_wav.open("rb"), response_format="text"
    )
    assert text == result.best.text
    subtitles = client.audio.transcriptions.create(
        model="whisper-1", file=words_wav.open("rb"), response_format="srt"
    )
    [cue] = srt.parse(subtitles)
    assert cue.content == WORDS
    assert cue.start.total_seconds() == pytest.approx(result.best.words[0].start, abs=1e-3)
    vtt = client.audio.transcriptions.create(
        model="whisper-1", file=words_wav.open("rb"), response_format="vtt"
    )
    assert vtt == to_vtt(result.best, result.duration)


def test_verbose_json_with_word_and_segment_timestamps(client, reference, words_wav: Path) -> None:
    answer = client.audio.transcriptions.create(
        model="whisper-1",
        file=words_wav.open("rb"),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="hy",
    )
    result = reference.transcribe(words_wav, "lm")
    assert (answer.task, answer.language, answer.text) == ("transcribe", "armenian", WORDS)
    assert answer.duration == pytest.approx(result.duration, abs=1e-3)
    expected = [(w.text, round(w.start, 3), round(w.end, 3)) for w in result.best.words]
    assert [(w.word, w.start, w.end) for w in answer.words] == expected
    [segment] = answer.segments
    assert (segment.id, segment.text, segment.temperature) == (0, WORDS, 0.0)
    assert segment.start == expected[0][1] and segment.end >= expected[-1][2]
    assert -1.0 < segment.avg_logprob < 0.0  # the words are read with confidence > 0.9


def test_verbose_json_words_only_when_asked(client, words_wav: Path) -> None:
    answer = client.audio.transcriptions.create(
        model="whisper-1", file=words_wav.open("rb"), response_format="verbose_json"
    )
    assert answer.segments and not getattr(answer, "words", None)  # OpenAI's default: segments


def test_greedy_decoder_and_prompt_as_hotwords(client, reference, words_wav: Path) -> None:
    greedy = client.audio.transcriptions.create(
        model="whisper-1", file=words_wav.open("rb"), extra_body={"decoder": "greedy"}
    )
    assert greedy.text == reference.transcribe(words_wav, "greedy").best.text
    prompted = client.audio.transcriptions.create(
        model="whisper-1", file=words_wav.open("rb"), prompt="ձեզ, բարև"
    )
    lm = reference.lm_defaults
    from dataclasses import replace

    hot = replace(lm, hotwords=parse_hotwords("ձեզ, բարև"))
    assert prompted.text == reference.transcribe(words_wav, "lm", hot).best.text


def test_a_file_that_is_not_audio_is_a_bad_request(client, reference, tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"this is not a recording " * 40)
    with pytest.raises(AudioError) as ours:
        reference.transcribe(bad)
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=bad.open("rb"))
    assert caught.value.status_code == 400
    assert caught.value.code == "invalid_audio" and caught.value.param == "file"
    assert caught.value.body["message"] == str(ours.value)
    assert "notes.wav is not an audio file" in caught.value.message


def test_too_long_audio_names_the_limit(client, tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    soundfile.write(path, np.zeros(RATE * 6, np.float32), RATE, subtype="PCM_16")
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=path.open("rb"))
    assert caught.value.code == "audio_too_long"
    assert "6.0 seconds" in caught.value.message and "limit is 5 seconds" in caught.value.message


def test_too_large_is_413(client, url: str, tmp_path: Path) -> None:
    path = tmp_path / "big.wav"
    path.write_bytes(b"\0" * (3 * 2**20))  # the app's limit is 1 MB
    with pytest.raises(openai.APIStatusError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=path.open("rb"))
    assert caught.value.status_code == 413 and caught.value.code == "file_too_large"
    assert "limit for the audio file is 1 MB" in caught.value.message

    # Without a Content-Length (chunked), the body is counted as it arrives.
    def chunks() -> Iterator[bytes]:
        boundary = b"--b0undary\r\n"
        yield boundary + b'Content-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
        for _ in range(3 * 16):
            yield b"\0" * 2**16

    answer = httpx.post(
        f"{url}v1/audio/transcriptions",
        content=chunks(),
        headers={
            "Authorization": f"Bearer {KEY}",
            "Content-Type": "multipart/form-data; boundary=b0undary",
        },
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "file_too_large"


def test_the_key_is_enforced(url: str, words_wav: Path) -> None:
    for key in ("wrong-key", ""):
        stranger = openai.OpenAI(base_url=f"{url}v1", api_key=key or "x", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as caught:
            stranger.audio.transcriptions.create(model="whisper-1", file=words_wav.open("rb"))
        assert caught.value.code == "invalid_api_key" and "HYASR_API_KEY" in caught.value.message
        with pytest.raises(openai.AuthenticationError):
            stranger.models.list()
    answer = httpx.get(f"{url}v1/models")  # no Authorization header at all
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"


def test_models_lists_the_offered_models_default_first(
    client, model_dir: Path, second_model: str
) -> None:
    listed = client.models.list().data
    assert [model.id for model in listed] == [
        str(model_dir),
        second_model,
        missing_model(model_dir),
    ]
    assert {model.owned_by for model in listed} == {"hyasr-space"}
    for model in listed:
        assert client.models.retrieve(model.id).id == model.id
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("whisper-1")


def test_the_model_field_picks_an_offered_model(
    client, model_dir: Path, second_model: str, words_wav: Path
) -> None:
    """An offered model's id runs that model; the Space's own id and OpenAI's names the
    default one; an unknown id is OpenAI's 404 naming the offered models, answered
    before the upload waits in the queue."""
    answer = client.audio.transcriptions.create(model=second_model, file=words_wav.open("rb"))
    assert answer.text == respelled(WORDS) != WORDS
    for own in (str(model_dir), "whisper-1", "gpt-4o-transcribe"):
        answer = client.audio.transcriptions.create(model=own, file=words_wav.open("rb"))
        assert answer.text == WORDS, own
    with pytest.raises(openai.NotFoundError) as raised:
        client.audio.transcriptions.create(
            model="openai/whisper-large-v3", file=words_wav.open("rb")
        )
    error = raised.value.body
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert second_model in error["message"] and str(model_dir) in error["message"]


def test_an_offered_model_that_cannot_load_is_503_and_the_default_serves_on(
    client, model_dir: Path, words_wav: Path
) -> None:
    missing = missing_model(model_dir)
    failing = client.with_options(max_retries=0)
    with pytest.raises(openai.InternalServerError) as raised:
        failing.audio.transcriptions.create(model=missing, file=words_wav.open("rb"))
    assert raised.value.status_code == 503
    error = raised.value.body
    assert error["code"] == "model_unavailable" and missing in error["message"]
    answer = client.audio.transcriptions.create(model="whisper-1", file=words_wav.open("rb"))
    assert answer.text == WORDS


def test_the_queue_endpoint_checks_the_model_too(served, words_wav: Path) -> None:
    """Called directly, the queue endpoint cannot make the app load a model off the list."""
    _, demo = served
    bridge = openai_api._BRIDGES[demo]
    form = {"response_format": "json", "timestamp_granularities": [], "prompt": ""}
    with pytest.raises(openai_api.OpenAIError) as raised:
        bridge._answer(words_wav, {**form, "decoder": "lm", "model": "some-org/some-model"})
    assert raised.value.status == 404 and raised.value.code == "model_not_found"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"response_format": "mp3"}, "response_format"),
        ({"language": "en"}, "language"),
        ({"timestamp_granularities[]": "word"}, "timestamp_granularities[]"),  # needs verbose
        ({"decoder": "beam"}, "decoder"),
    ],
)
def test_bad_fields_name_the_field(url: str, words_wav: Path, fields, param: str) -> None:
    answer = httpx.post(
        f"{url}v1/audio/transcriptions",
        data={"model": "whisper-1", **fields},
        files={"file": ("barev.wav", words_wav.read_bytes(), "audio/wav")},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert error["message"]


def test_no_file_and_not_a_form(url: str) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    answer = httpx.post(
        f"{url}v1/audio/transcriptions", data={"model": "whisper-1"}, headers=headers
    )
    assert answer.status_code == 400 and "multipart/form-data" in answer.json()["error"]["message"]
    answer = httpx.post(
        f"{url}v1/audio/transcriptions",
        files={"model": (None, "whisper-1")},
        headers=headers,
    )
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "file"


def test_the_route_waits_in_the_pages_queue(served) -> None:
    """The route's queue endpoint is in the page's /transcribe concurrency group, and not
    in the documented API or the MCP tools."""
    url, demo = served
    by_name = {fn.api_name: fn for fn in demo.fns.values()}
    endpoint = by_name[openai_api.QUEUE_API]
    assert endpoint.concurrency_id == by_name["transcribe"].concurrency_id
    assert endpoint.api_visibility == "undocumented"
    info = httpx.get(f"{url}gradio_api/info").json()
    assert f"/{openai_api.QUEUE_API}" not in info["named_endpoints"]


def test_the_queue_endpoint_never_takes_a_path(served, url: str) -> None:
    """Called directly (it is reachable like any Gradio endpoint), it knows only tokens."""
    from gradio_client import Client

    form = json.dumps(
        {"response_format": "json", "timestamp_granularities": [], "prompt": "", "decoder": "lm"}
    )
    answer = Client(url, verbose=False).predict(
        "/etc/passwd", form, api_name=f"/{openai_api.QUEUE_API}"
    )
    assert json.loads(answer) == {
        "status": 400,
        "error": {
            "message": "Unknown or already used upload.",
            "kind": "invalid_request_error",
            "param": None,
            "code": None,
        },
    }


def test_upload_stash_tokens_are_one_time() -> None:
    stash = openai_api.UploadStash()
    token = stash.put(Path("/tmp/x.wav"))
    assert len(token) >= 32 and stash.take(token) == Path("/tmp/x.wav")
    assert stash.take(token) is None


def test_flac_in_memory_upload(client, words_wav: Path) -> None:
    buffer = io.BytesIO()
    soundfile.write(buffer, tone_speech(WORDS)[0], RATE, format="FLAC")
    answer = client.audio.transcriptions.create(
        model="whisper-1", file=("barev.flac", buffer.getvalue())
    )
    assert answer.text == WORDS
