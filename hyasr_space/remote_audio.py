"""Audio a program names by URL (an MCP tool's argument): fetched into a temporary file,
within limits, or refused with a reason the caller can act on.

Accepted: ``http://`` and ``https://`` URLs, and ``data:`` URLs (RFC 2397, base64 or
percent-encoded). Anything else -- a path such as ``/etc/passwd``, ``file://``, ``ftp://``
-- is refused before anything is read: a file on the server is never opened because a
caller named it. Limits: the app's own (`Settings.max_file_size_mb`, counted on the bytes
as they arrive, after any content encoding, so neither a missing Content-Length nor a
gzip bomb gets past it; `Settings.max_duration_s`, which `audio.load_audio` checks on the
fetched file), `Settings.url_timeout_s` for the whole download including redirects,
`Settings.url_max_redirects`; and by default no private, loopback or link-local host
(`Settings.url_allow_private`), so a caller cannot make the server read from the network
it sits in (cloud metadata, the app's own admin ports).

Why not `safehttpx` (which Gradio uses for the same guard): its `get` reads the whole
body before returning, so it cannot enforce a size limit, and it asks dns.google when the
local resolver fails. The host check and the pinned connection below are its idea: the
address that was checked is the address connected to, so a DNS answer that changes
between the check and the connection (rebinding) cannot redirect the download.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import mimetypes
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from urllib.parse import unquote_to_bytes, urljoin, urlsplit

import httpx

from .errors import AudioError, FileTooLargeError
from .settings import Settings

SCHEMES = ("http", "https", "data")
SHOWN_URL_CHARS = 80  # a URL quoted in an error is cut to this many characters
_SAFE_NAME = re.compile(r"[^\w.\-]+")


class RemoteAudioError(AudioError):
    """The URL is refused or its audio could not be fetched."""


class RemoteFileTooLargeError(FileTooLargeError):
    """The download passed `Settings.max_file_size_mb` before it ended."""

    def __init__(self, name: str, read_mb: float, limit_mb: float):
        super().__init__(name, read_mb, limit_mb)
        self.args = (
            f"{name} is larger than {limit_mb:g} MB, the limit (stopped after "
            f"{read_mb:.1f} MB). Send a shorter or more compressed recording.",
        )


@contextmanager
def fetched_audio(url: str, settings: Settings) -> Iterator[Path]:
    """The audio at `url` as a temporary file, deleted when the block ends.

    Raises `RemoteAudioError` (refused URL, unreachable host, HTTP error, timeout) or
    `FileTooLargeError`; both are `AudioError`s with a message for the caller.
    """
    with TemporaryDirectory(prefix="hyasr-url-") as folder:
        yield fetch_audio(url, settings, Path(folder))


def fetch_audio(url: str, settings: Settings, folder: Path) -> Path:
    """Write the audio at `url` into `folder`; its path (named after the URL's file)."""
    url = url.strip()
    scheme = urlsplit(url).scheme.lower() if "://" in url or url.startswith("data:") else ""
    if scheme not in SCHEMES:
        what = f"a {scheme}:// URL" if scheme else "not a URL"
        raise RemoteAudioError(
            f"{_shown(url)} is {what}. Give the audio as an http(s) URL or a data: URL "
            "(data:audio/wav;base64,...); files on the server are never read."
        )
    if scheme == "data":
        return _write_data_url(url, settings, folder)
    return _download(url, settings, folder)


def _write_data_url(url: str, settings: Settings, folder: Path) -> Path:
    header, comma, payload = url[len("data:") :].partition(",")
    if not comma:
        raise RemoteAudioError("The data: URL has no comma: write data:audio/wav;base64,<data>.")
    media_type, *params = header.split(";")
    name = "audio-from-data-url" + _extension(media_type.strip().lower())
    limit = settings.max_file_size_bytes
    is_base64 = "base64" in (p.strip().lower() for p in params)
    # Refuse by its length before decoding: base64 holds 3 bytes in 4 characters.
    estimate = len(payload) * 3 // 4 if is_base64 else len(payload) // 3
    if estimate > limit:
        raise FileTooLargeError(name, estimate / 2**20, settings.max_file_size_mb)
    try:
        data = base64.b64decode(payload, validate=True) if is_base64 else unquote_to_bytes(payload)
    except (binascii.Error, ValueError) as error:
        raise RemoteAudioError(f"The data: URL's base64 is invalid ({error}).") from error
    if len(data) > limit:
        raise FileTooLargeError(name, len(data) / 2**20, settings.max_file_size_mb)
    path = folder / name
    path.write_bytes(data)
    return path


def _download(url: str, settings: Settings, folder: Path) -> Path:
    deadline = time.monotonic() + settings.url_timeout_s
    for _ in range(settings.url_max_redirects + 1):
        split = urlsplit(url)
        if split.scheme.lower() not in ("http", "https") or not split.hostname:
            raise RemoteAudioError(f"{_shown(url)} is not an http(s) URL with a host.")
        transport = None if settings.url_allow_private else _PinnedTransport(split.hostname)
        name = _file_name(split.path)
        try:
            with (
                httpx.Client(transport=transport, follow_redirects=False) as client,
                client.stream("GET", url, timeout=_remaining(deadline, settings)) as response,
            ):
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise RemoteAudioError(
                        f"{_shown(url)} answered HTTP {response.status_code} "
                        f"{response.reason_phrase}; the audio could not be fetched."
                    )
                return _save(response, folder / name, name, settings, deadline)
        except httpx.TimeoutException as error:
            raise _too_slow(url, settings) from error
        except httpx.HTTPError as error:
            raise RemoteAudioError(f"{_shown(url)} could not be fetched: {error}.") from error
    raise RemoteAudioError(
        f"{_shown(url)} redirected more than {settings.url_max_redirects} times; "
        "give the final URL."
    )


def _save(
    response: httpx.Response, path: Path, name: str, settings: Settings, deadline: float
) -> Path:
    limit = settings.max_file_size_bytes
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FileTooLargeError(name, int(declared) / 2**20, settings.max_file_size_mb)
    size = 0
    with path.open("wb") as file:
        for chunk in response.iter_bytes():  # as they arrive, so the clock is checked
            size += len(chunk)
            if size > limit:
                raise RemoteFileTooLargeError(name, size / 2**20, settings.max_file_size_mb)
            if time.monotonic() > deadline:
                raise _too_slow(str(response.url), settings)
            file.write(chunk)
    return path


class _PinnedTransport(httpx.HTTPTransport):
    """Connects to the one address of `host` that was checked to be public (the request
    keeps its Host header and TLS server name), like safehttpx's transport."""

    def __init__(self, host: str):
        super().__init__()
        self.host = host
        self.address = _public_address(host)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != self.host:  # never used for another host
            raise httpx.ConnectError(f"{request.url.host} was not checked", request=request)
        request.headers["Host"] = request.url.netloc.decode("ascii")
        request.extensions = {**request.extensions, "sni_hostname": self.host}
        request.url = request.url.copy_with(host=self.address)
        return super().handle_request(request)


def _public_address(host: str) -> str:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as error:
        raise RemoteAudioError(f"The host {host} could not be resolved ({error}).") from error
    addresses = [info[4][0] for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
    private = [a for a in addresses if not _is_public(a)]
    if not addresses or private:
        raise RemoteAudioError(
            f"The host {host} is on a private, loopback or link-local network "
            f"({', '.join(private) or 'no address'}); only public hosts are fetched from."
        )
    return addresses[0]


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])  # drop an IPv6 zone index
    if ip.version == 6 and ip.ipv4_mapped is not None:  # ::ffff:127.0.0.1 is loopback
        ip = ip.ipv4_mapped
    return not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
    )


def _remaining(deadline: float, settings: Settings) -> httpx.Timeout:
    left = deadline - time.monotonic()
    if left <= 0:
        raise RemoteAudioError(
            f"Fetching the audio took longer than {settings.url_timeout_s:g} s, the limit."
        )
    return httpx.Timeout(left)


def _too_slow(url: str, settings: Settings) -> RemoteAudioError:
    return RemoteAudioError(
        f"{_shown(url)} took longer than {settings.url_timeout_s:g} s to download, the "
        "limit. Host the file somewhere faster or send a data: URL."
    )


def _extension(media_type: str) -> str:
    # Only for the file's name in messages: the decoders read the content, not the name.
    guess = mimetypes.guess_extension(media_type) or mimetypes.guess_extension(
        media_type.replace("/", "/x-")  # audio/wav is registered as audio/x-wav
    )
    return guess or ""


def _file_name(path: str) -> str:
    name = _SAFE_NAME.sub("_", Path(path).name).strip("._")
    return name[:100] or "audio-from-url"


def _shown(url: str) -> str:
    if url.startswith("data:"):
        return "The data: URL"
    return repr(url if len(url) <= SHOWN_URL_CHARS else url[: SHOWN_URL_CHARS - 3] + "...")
