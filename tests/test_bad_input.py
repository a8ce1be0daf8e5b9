"""Awkward input through a real server and gradio_client, and the app's security edges.

Every file of the corpus (tests/awkward_audio.py) goes through the `/transcribe` endpoint
as a user's program would send it: a broken file must come back as its own readable,
HTML-escaped message; an unusual but valid one as its transcript. After each, a fresh
valid clip (new content, so the model runs again rather than the logits cache answering)
must still be transcribed correctly.
"""

from __future__ import annotations

import html
import http.client
import itertools
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
import soundfile
from awkward_audio import (
    BROKEN,
    MAX_DURATION_S,
    MAX_FILE_SIZE_MB,
    UPLOAD_LIMIT_MESSAGE,
    VALID,
    Case,
    speech,
)
from servers import app_settings, serve, serving
from tone_model import RATE, WORDS

from hyasr_space.errors import AudioError
from hyasr_space.transcriber import Transcriber
from hyasr_space.web import API_NAME

gradio_client = pytest.importorskip("gradio_client")
AppError = gradio_client.exceptions.AppError


@pytest.fixture(scope="module")
def app(model_dir: Path) -> Iterator[tuple[str, object]]:
    settings = app_settings(model_dir)
    with serving(settings) as (url, demo):
        yield url, settings, demo


@pytest.fixture(scope="module")
def client(app):
    return gradio_client.Client(app[0], verbose=False)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("awkward")


@pytest.fixture(scope="module")
def fresh_clips(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Valid clips of the words, each with a different number of trailing zero samples:
    new audio every time, so each check runs the model."""
    folder = tmp_path_factory.mktemp("fresh")

    def clips() -> Iterator[Path]:
        for n in itertools.count(1):
            path = folder / f"fresh-{n}.wav"
            soundfile.write(path, np.pad(speech(), (0, 7 * n)), RATE, subtype="PCM_16")
            yield path

    return clips()


def transcribe(client, path: Path, decoder: str = "both"):
    return client.predict(
        gradio_client.handle_file(str(path)),
        decoder,
        0.5,
        1.5,
        100,
        "",
        10.0,
        api_name=f"/{API_NAME}",
    )


def assert_escaped_once(message: str) -> str:
    """The message is HTML-escaped text (Gradio renders it as HTML); returns it as shown."""
    shown = html.unescape(message)
    assert message == html.escape(shown), f"not escaped exactly once: {message!r}"
    assert "<" not in message and ">" not in message
    return shown


def assert_still_answers(client, fresh_clips: Iterator[Path]) -> None:
    text, *_ = transcribe(client, next(fresh_clips), "lm")
    assert text == WORDS


def _ids(cases: tuple[Case, ...]) -> list[str]:
    return [case.id for case in cases]


@pytest.mark.parametrize("case", BROKEN, ids=_ids(BROKEN))
def test_broken_file_gets_its_own_message(
    case: Case, client, corpus: Path, fresh_clips: Iterator[Path]
) -> None:
    path = case.make(corpus)
    if case.refused_on_upload:
        # gradio_client checks the server's max_file_size before sending anything.
        with pytest.raises(ValueError, match=UPLOAD_LIMIT_MESSAGE):
            transcribe(client, path)
    else:
        with pytest.raises(AppError) as caught:
            transcribe(client, path)
        shown = assert_escaped_once(str(caught.value))
        assert re.match(case.message(), shown), shown
        assert "/tmp" not in shown and str(corpus) not in shown  # no server paths
    assert_still_answers(client, fresh_clips)


@pytest.mark.parametrize("case", VALID, ids=_ids(VALID))
def test_unusual_valid_file_is_transcribed(
    case: Case, client, corpus: Path, fresh_clips: Iterator[Path]
) -> None:
    text, greedy_view, _lm_view, info = transcribe(client, case.make(corpus))[:4]
    assert text == case.text
    if case.note:
        assert case.note in info
    spelled = "".join(item["token"] for item in greedy_view)
    assert spelled == case.text  # the greedy decoder agrees with the LM one
    assert_still_answers(client, fresh_clips)


def test_the_same_messages_come_from_the_python_api(model_dir: Path, corpus: Path) -> None:
    """Without Gradio in front (CLI, notebooks), including the file over the size limit."""
    transcriber = Transcriber.load(str(model_dir), settings=app_settings(model_dir))
    for case in BROKEN:
        with pytest.raises(AudioError) as caught:
            transcriber.transcribe(case.make(corpus / "python"))
        assert re.match(case.message(through_gradio=False), str(caught.value)), caught.value


def test_oversized_upload_is_refused_by_the_server(app) -> None:
    """Past gradio_client's own check: a raw upload over the limit gets 413 and is not kept."""
    url, settings, _ = app
    body = b"RIFF" + bytes(settings.max_file_size_bytes + 1)
    response = httpx.post(
        url + "gradio_api/upload", files={"files": ("big.wav", body, "audio/wav")}, timeout=30
    )
    assert response.status_code == 413
    assert "maximum allowed size" in response.text


def test_too_long_names_the_limit(client, corpus: Path) -> None:
    path = corpus / "just-over.wav"
    soundfile.write(path, np.zeros(int(RATE * (MAX_DURATION_S + 0.05))), RATE)
    with pytest.raises(AppError, match=rf"the limit is {MAX_DURATION_S} seconds"):
        transcribe(client, path)


# --- Security --------------------------------------------------------------------------


def _raw_get(url: str, path: str) -> tuple[int, str]:
    """GET with the path sent byte for byte (httpx would resolve `..` segments first)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def _uploaded(url: str, name: str, content: bytes) -> str:
    response = httpx.post(
        url + "gradio_api/upload", files={"files": (name, content, "audio/wav")}, timeout=30
    )
    response.raise_for_status()
    [path] = response.json()
    return path


def test_only_uploaded_files_are_served(app, model_dir: Path, tmp_path: Path) -> None:
    url, *_ = app
    secret = tmp_path / "secret.txt"
    marker = f"not-for-the-web-{id(secret)}"
    secret.write_text(marker)
    uploaded = _uploaded(url, "speech.wav", b"RIFF-uploaded")
    assert httpx.get(f"{url}gradio_api/file={uploaded}", timeout=30).content == b"RIFF-uploaded"
    upload_dir = Path(uploaded).parent
    refused = [
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "//etc/passwd",
        "file:///etc/passwd",
        "../../../../../../etc/passwd",
        f"{upload_dir}/../../../../../../etc/passwd",
        f"{upload_dir}/..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/proc/self/environ",
        str(secret),
        str(model_dir / "config.json"),
        "app.py",
        "hyasr_space/settings.py",
    ]
    for target in refused:
        for route in ("/gradio_api/file=", "/gradio_api/file/", "/file="):
            status, body = _raw_get(url, route + target)
            assert status in (403, 404), (route, target, status)
            assert "root:" not in body and marker not in body and "PATH=" not in body


def test_upload_names_cannot_leave_the_upload_dir(app, tmp_path: Path) -> None:
    url, *_ = app
    target = tmp_path / "escaped.wav"
    hostile = f"../../../../../../..{target}"
    stored = Path(_uploaded(url, hostile, b"RIFF-hostile"))
    assert not target.exists()
    assert ".." not in stored.parts and stored.name.endswith("escaped.wav")
    assert httpx.get(f"{url}gradio_api/file={stored}", timeout=30).content == b"RIFF-hostile"


def test_uploads_expire(model_dir: Path) -> None:
    """Uploads are deleted `temp_file_ttl_s` after they arrive, so a busy Space's disk
    does not fill up with everyone's recordings."""
    with serve(app_settings(model_dir, temp_file_ttl_s=1, warm_up=False)) as url:
        stored = Path(_uploaded(url, "expiring.wav", b"RIFF-expiring"))
        assert stored.exists()
        deadline = time.monotonic() + 15
        while stored.exists() and time.monotonic() < deadline:
            time.sleep(0.25)
        assert not stored.exists()
        assert httpx.get(f"{url}gradio_api/file={stored}", timeout=30).status_code in (403, 404)


def test_limits_come_from_settings_and_flagging_is_off(app) -> None:
    url, settings, demo = app
    assert demo.max_file_size == settings.max_file_size_bytes
    assert demo.state_session_capacity == settings.max_sessions
    assert demo.delete_cache[1] == settings.temp_file_ttl_s
    config = httpx.get(url + "config", timeout=30).json()
    assert config["max_file_size"] == settings.max_file_size_bytes == MAX_FILE_SIZE_MB * 2**20
    labels = [
        component.get("props", {}).get("label") or component.get("props", {}).get("value")
        for component in config["components"]
    ]
    # The label is a translation key (web/strings.py); its texts quote the limit.
    assert any('"key": "audio_label"' in str(label) for label in labels)
    assert config["i18n_translations"]["en"]["audio_label"] == f"Audio (up to {MAX_DURATION_S} s)"
    assert config["i18n_translations"]["hy"]["audio_label"] == f"Ձայն (մինչև {MAX_DURATION_S} վ)"
    buttons = [
        str(component.get("props", {}).get("value"))
        for component in config["components"]
        if component.get("type") == "button"
    ]
    assert buttons and not any("flag" in text.lower() for text in buttons)
    assert not any("flag" in key.lower() for key in config)
