"""A fake Hugging Face Hub on 127.0.0.1, for tests that run the real huggingface_hub client.

It serves the few routes that ``HfApi.model_info``, ``HfApi.list_repo_files`` and
``hf_hub_download`` use, as huggingface_hub 2.x expects them (read from its source):

- ``GET /api/models/{repo_id}`` and ``GET /api/models/{repo_id}/revision/{rev}``: model
  info JSON with ``sha`` and ``siblings``;
- ``GET /api/models/{repo_id}/tree/{rev}``: the file listing (``list_repo_files`` when
  ``siblings`` is left out);
- ``HEAD``/``GET /{repo_id}/resolve/{rev}/{path}``: the file, with the ``ETag``,
  ``X-Repo-Commit`` and ``Content-Length`` headers that ``hf_hub_download`` requires;
- errors with ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``),
  which huggingface_hub turns into its typed errors.

Every request is logged, so a test can check what the client asked (and that it did not
retry). The commit hash is derived from the files, so changing a file makes a new commit,
as a push would. ``fail_with`` makes every route answer one status (a Hub outage);
``stop()`` closes the port (no network).
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

# Requests the client makes on its own account (agent detection), not for a repo.
_BACKGROUND_PATHS = ("/api/agent-harnesses",)


class FakeHub:
    """An in-memory Hub holding model repos; start() it, point ``ENDPOINT`` at ``url``."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, bytes]] = {}
        self.requests: list[tuple[str, str]] = []
        self.fail_with: int | None = None
        self.include_siblings = True
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- repo contents
    def set_file(self, repo_id: str, path: str, content: str | bytes) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        with self._lock:
            self.repos.setdefault(repo_id, {})[path] = data

    def remove_file(self, repo_id: str, path: str) -> None:
        with self._lock:
            self.repos[repo_id].pop(path, None)

    def add_dir(self, repo_id: str, directory: Path) -> None:
        """Serve every file under ``directory`` (relative paths kept)."""
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                self.set_file(repo_id, path.relative_to(directory).as_posix(), path.read_bytes())

    def commit(self, repo_id: str) -> str:
        with self._lock:
            files = self.repos[repo_id]
            digest = hashlib.sha1()
            for name in sorted(files):
                digest.update(name.encode() + b"\0" + hashlib.sha1(files[name]).digest())
            return digest.hexdigest()

    # ---------------------------------------------------------------- requests seen
    def repo_requests(self) -> list[tuple[str, str]]:
        """The requests made for repos (not the client's background ones)."""
        with self._lock:
            return [r for r in self.requests if not r[1].startswith(_BACKGROUND_PATHS)]

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # ---------------------------------------------------------------- server
    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.hub = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the port: from now on the client's connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)  # type: ignore[union-attr]

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeHub/1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep test output clean

    @property
    def hub(self) -> FakeHub:
        return self.server.hub  # type: ignore[attr-defined]

    def do_HEAD(self) -> None:  # noqa: N802
        self._route(send_body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._route(send_body=True)

    # ---------------------------------------------------------------- routing
    def _route(self, send_body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        with self.hub._lock:
            self.hub.requests.append((self.command, path))
        if self.hub.fail_with is not None:
            return self._error(self.hub.fail_with, "ServerError", "fake outage", send_body)
        if path.startswith("/api/models/"):
            return self._api(path[len("/api/models/") :], send_body)
        if "/resolve/" in path:
            repo_id, _, rest = path.lstrip("/").partition("/resolve/")
            revision, _, filename = rest.partition("/")
            return self._resolve(repo_id, revision, filename, send_body)
        self._error(404, None, f"no route {path}", send_body)

    def _api(self, rest: str, send_body: bool) -> None:
        parts = rest.split("/")
        repo_id = "/".join(parts[:2])
        tail = parts[2:]
        if repo_id not in self.hub.repos:
            return self._error(404, "RepoNotFound", f"{repo_id} not found", send_body)
        commit = self.hub.commit(repo_id)
        if not tail:
            return self._model_info(repo_id, commit, send_body)
        if len(tail) == 2 and tail[0] == "revision":
            if not self._known_revision(tail[1], commit):
                return self._error(404, "RevisionNotFound", f"no revision {tail[1]}", send_body)
            return self._model_info(repo_id, commit, send_body)
        if len(tail) >= 2 and tail[0] == "tree":
            if not self._known_revision(tail[1], commit):
                return self._error(404, "RevisionNotFound", f"no revision {tail[1]}", send_body)
            files = self.hub.repos[repo_id]
            listing = [
                {
                    "type": "file",
                    "path": name,
                    "size": len(data),
                    "oid": hashlib.sha1(data).hexdigest(),
                }
                for name, data in sorted(files.items())
            ]
            return self._json(200, listing, send_body)
        self._error(404, None, f"no route /api/models/{rest}", send_body)

    def _model_info(self, repo_id: str, commit: str, send_body: bool) -> None:
        info: dict[str, object] = {
            "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
            "id": repo_id,
            "modelId": repo_id,
            "author": repo_id.split("/")[0],
            "sha": commit,
            "private": False,
            "disabled": False,
            "gated": False,
            "tags": [],
            # The Hub's format, which huggingface_hub parses strictly.
            "lastModified": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
        if self.hub.include_siblings:
            info["siblings"] = [{"rfilename": name} for name in sorted(self.hub.repos[repo_id])]
        self._json(200, info, send_body)

    def _resolve(self, repo_id: str, revision: str, filename: str, send_body: bool) -> None:
        if repo_id not in self.hub.repos:
            return self._error(404, "RepoNotFound", f"{repo_id} not found", send_body)
        commit = self.hub.commit(repo_id)
        if not self._known_revision(revision, commit):
            return self._error(404, "RevisionNotFound", f"no revision {revision}", send_body)
        data = self.hub.repos[repo_id].get(filename)
        if data is None:
            return self._error(
                404, "EntryNotFound", f"{filename} not found", send_body, commit=commit
            )
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
        self.send_header("X-Repo-Commit", commit)
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    @staticmethod
    def _known_revision(revision: str, commit: str) -> bool:
        return revision in ("main", commit)

    # ---------------------------------------------------------------- responses
    def _json(self, status: int, payload: object, send_body: bool) -> None:
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _error(
        self,
        status: int,
        code: str | None,
        message: str,
        send_body: bool,
        commit: str | None = None,
    ) -> None:
        body = json.dumps({"error": message}).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if code:
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", message)
        if commit:
            self.send_header("X-Repo-Commit", commit)
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def point_client_at(server: FakeHub, monkeypatch: Any, cache: Path) -> None:
    """Point the huggingface_hub client of this process at `server` (online, no token,
    its cache in `cache`), undone by `monkeypatch` when the test ends."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", server.url)
    monkeypatch.setattr(
        constants,
        "HUGGINGFACE_CO_URL_TEMPLATE",
        server.url + "/{repo_id}/resolve/{revision}/{filename}",
    )
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_IMPLICIT_TOKEN", True)  # no token to 127.0.0.1
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
