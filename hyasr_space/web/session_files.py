"""Each browser session's downloads (SRT, WebVTT, JSON) in a private temporary folder.

Gradio keeps a session's `gr.State` until the session expires and then calls
`close_session_files`; the folder also goes when the object is garbage-collected or
the process ends (`weakref.finalize`), so no session leaves files behind.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Sequence
from pathlib import Path

from ..results import Transcription
from ..subtitles import FILE_FORMATS, CaptionLimits, file_stem, render


class SessionFiles:
    """One user session's downloads, in a private temporary folder.

    `close()` deletes the folder; so does garbage collection of the object and the end
    of the process (`weakref.finalize`), so a session that is never closed leaves nothing
    behind either. Writing again replaces the previous files: a session keeps only its
    latest result. Usable as a context manager.
    """

    def __init__(self, root: str | Path | None = None, prefix: str = "hyasr-session-") -> None:
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, ignore_errors=True)

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def write(self, name: str, text: str) -> Path:
        """Write `text` (UTF-8) as `name` inside the session folder."""
        if self.closed:
            raise RuntimeError("this session's files were already deleted")
        if Path(name).name in ("", ".", ".."):
            raise ValueError(f"not a file name: {name!r}")
        path = self.path / Path(name).name
        path.write_text(text, encoding="utf-8")
        return path

    def write_transcription(
        self,
        transcription: Transcription,
        formats: Sequence[str] = FILE_FORMATS,
        decoder: str | None = None,
        limits: CaptionLimits | None = None,
    ) -> dict[str, Path]:
        """Replace the session's files with `transcription` in each format; {format: path}."""
        self.clear()
        stem = file_stem(transcription.source)
        return {
            fmt: self.write(f"{stem}.{fmt}", render(transcription, fmt, decoder, limits))
            for fmt in formats
        }

    def clear(self) -> None:
        """Delete the files written so far; the folder stays for the next ones."""
        if self.closed:
            return
        for path in self.path.iterdir():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def close(self) -> None:
        """Delete the folder and everything in it (idempotent)."""
        self._finalizer()

    def __enter__(self) -> SessionFiles:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SessionFiles({str(self.path)!r}{', closed' if self.closed else ''})"


def close_session_files(files: SessionFiles | None) -> None:
    """`gr.State(delete_callback=...)` hook: Gradio calls it when a session's state expires."""
    if files is not None:
        files.close()
