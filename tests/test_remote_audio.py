"""remote_audio.py: audio named by URL is fetched within the limits, or refused with a
reason; no local file is ever read. A real HTTP server in a thread (web_files.py)."""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

import pytest
from web_files import web_files

from hyasr_space.errors import FileTooLargeError
from hyasr_space.remote_audio import RemoteAudioError, fetch_audio
from hyasr_space.settings import Settings

LIMIT_MB = 1.0


@pytest.fixture
def site(tmp_path: Path, words_wav: Path):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "barev.wav").write_bytes(words_wav.read_bytes())
    (folder / "big.wav").write_bytes(b"\0" * int(1.5 * 2**20))
    with web_files(folder) as url:
        yield url


@pytest.fixture
def limits() -> Settings:
    return replace(Settings(), max_file_size_mb=LIMIT_MB, url_timeout_s=2.0, url_allow_private=True)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.mark.parametrize(
    "given",
    ["/etc/passwd", "file:///etc/passwd", "FILE:///etc/passwd", "ftp://example.com/a.wav",
     "barev.wav", "~/barev.wav", "C:\\audio\\barev.wav", " /etc/passwd"],
)  # fmt: skip
def test_paths_and_other_schemes_are_refused(given: str, limits: Settings, out: Path) -> None:
    with pytest.raises(RemoteAudioError, match="files on the server are never read"):
        fetch_audio(given, limits, out)
    assert not any(out.iterdir())


def test_data_url(words_wav: Path, limits: Settings, out: Path) -> None:
    data = "data:audio/wav;base64," + base64.b64encode(words_wav.read_bytes()).decode()
    path = fetch_audio(data, limits, out)
    assert path.read_bytes() == words_wav.read_bytes() and path.suffix == ".wav"


def test_data_url_limits_and_mistakes(limits: Settings, out: Path) -> None:
    big = "data:audio/wav;base64," + "A" * int(1.5 * 2**20 * 4 / 3)
    with pytest.raises(FileTooLargeError, match="the limit is 1 MB"):
        fetch_audio(big, limits, out)
    with pytest.raises(RemoteAudioError, match="base64 is invalid"):
        fetch_audio("data:audio/wav;base64,@@@not base64@@@", limits, out)
    with pytest.raises(RemoteAudioError, match="no comma"):
        fetch_audio("data:audio/wav;base64", limits, out)


def test_http_url(site: str, words_wav: Path, limits: Settings, out: Path) -> None:
    path = fetch_audio(f"{site}barev.wav", limits, out)
    assert path.name == "barev.wav" and path.read_bytes() == words_wav.read_bytes()


def test_redirects_are_followed_up_to_the_limit(site: str, limits: Settings, out: Path) -> None:
    assert fetch_audio(f"{site}redirect/3/barev.wav", limits, out).name == "barev.wav"
    with pytest.raises(RemoteAudioError, match="redirected more than 5 times"):
        fetch_audio(f"{site}redirect/6/barev.wav", limits, out)


def test_a_redirect_to_a_file_is_refused(site: str, limits: Settings, out: Path) -> None:
    with pytest.raises(RemoteAudioError, match="not an http"):
        fetch_audio(f"{site}to-file", limits, out)


def test_size_limit_by_header_and_by_count(site: str, limits: Settings, out: Path) -> None:
    with pytest.raises(FileTooLargeError, match="1.5 MB; the limit is 1 MB"):
        fetch_audio(f"{site}big.wav", limits, out)  # Content-Length says so
    with pytest.raises(FileTooLargeError, match="larger than 1 MB, the limit"):
        fetch_audio(f"{site}endless", limits, out)  # no Content-Length: counted


def test_time_limit(site: str, limits: Settings, out: Path) -> None:
    with pytest.raises(RemoteAudioError, match="longer than 2 s"):
        fetch_audio(f"{site}slow", limits, out)


def test_http_errors_are_quoted(site: str, limits: Settings, out: Path) -> None:
    with pytest.raises(RemoteAudioError, match="answered HTTP 404"):
        fetch_audio(f"{site}missing.wav", limits, out)
    with pytest.raises(RemoteAudioError, match="could not be fetched"):
        fetch_audio("http://127.0.0.1:9/a.wav", limits, out)  # nothing listens on port 9


def test_private_hosts_are_refused_by_default(site: str, out: Path) -> None:
    settings = replace(Settings(), url_allow_private=False)
    for url in (f"{site}barev.wav", "http://localhost/a.wav", "http://[::1]/a.wav",
                "http://169.254.169.254/latest/meta-data", "http://10.0.0.1/a.wav"):  # fmt: skip
        with pytest.raises(RemoteAudioError, match="private, loopback or link-local"):
            fetch_audio(url, settings, out)
    assert not any(out.iterdir())
