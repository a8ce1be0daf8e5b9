"""The real app served on 127.0.0.1 for tests that talk to it over HTTP (gradio_client,
httpx, a browser): `serve`/`serving`, and `app_settings` with the awkward-audio limits."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from awkward_audio import MAX_DURATION_S, MAX_FILE_SIZE_MB

from hyasr_space.settings import Settings
from hyasr_space.web import build_demo, launch


def app_settings(model: Path | str, **changes: object):
    """The settings the awkward-audio corpus is played against: a given model and its
    small limits (awkward_audio.MAX_DURATION_S, MAX_FILE_SIZE_MB)."""
    defaults = dict(
        model=str(model),
        fallback_model=None,
        max_duration_s=float(MAX_DURATION_S),
        max_file_size_mb=float(MAX_FILE_SIZE_MB),
        examples_dir=Path(model) / "no-examples",
        warm_up=True,
    )
    return replace(Settings(), **{**defaults, **changes})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(settings, port: int | None = None) -> Iterator[tuple[str, object]]:
    """The real app (`build_demo` + `launch`) on 127.0.0.1; yields its URL and Blocks."""
    demo = build_demo(settings)
    port = port or free_port()
    launch(demo, settings, host="127.0.0.1", port=port, prevent_thread_lock=True)
    try:
        yield f"http://127.0.0.1:{port}/", demo
    finally:
        demo.close()


@contextmanager
def serve(settings, port: int | None = None) -> Iterator[str]:
    """The real app on 127.0.0.1; yields its URL."""
    with serving(settings, port) as (url, _):
        yield url
