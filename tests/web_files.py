"""A tiny HTTP server in a thread, for the audio a test names by URL: files from a folder,
plus paths that misbehave (redirects, slow or endless bodies, no Content-Length)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.startswith("/redirect/"):  # /redirect/<n>/<file>: n hops, then the file
            _, _, hops, rest = self.path.split("/", 3)
            target = f"/redirect/{int(hops) - 1}/{rest}" if int(hops) > 1 else f"/{rest}"
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()
        elif self.path.startswith("/to-file"):
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
        elif self.path.startswith("/endless"):  # no Content-Length, bytes until cut off
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.end_headers()
            try:
                for _ in range(64):  # 4 MB
                    self.wfile.write(b"\0" * 65536)
            except OSError:
                pass
            self.close_connection = True
        elif self.path.startswith("/slow"):  # a byte now and then
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(30):  # 6 s, past the tests' 2 s limit
                    self.wfile.write(b"\0")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
        else:
            super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def web_files(folder: Path) -> Iterator[str]:
    """Serve `folder` on 127.0.0.1; yields the base URL (ending in "/")."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(folder)))
    server.daemon_threads = True
    server.block_on_close = False  # a handler still writing is not waited for
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
