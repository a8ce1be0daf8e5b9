"""The errors a user can cause or meet, each also a standard exception type.

The message of each is written for the person who uploaded the audio: it names the file
and the number they exceeded. The web tabs turn them into `gr.Error` (escaping the text,
since Gradio renders it as HTML); the CLI prints them; nothing else catches them.
"""

from __future__ import annotations


class HyasrError(Exception):
    """Base of every error this package raises on purpose."""


class AudioError(HyasrError, ValueError):
    """The audio cannot be transcribed as given."""


class EmptyAudioError(AudioError):
    """The file or recording holds no samples."""


class AudioDecodeError(AudioError):
    """The file is corrupt, or in a format neither libsndfile nor ffmpeg reads."""


class AudioTooLongError(AudioError):
    """The recording is longer than the app accepts."""

    def __init__(self, name: str, duration_s: float, limit_s: float, *, at_least: bool = False):
        self.name = name
        self.duration_s = duration_s
        self.limit_s = limit_s
        length = f"at least {duration_s:.1f}" if at_least else f"{duration_s:.1f}"
        super().__init__(
            f"{name} is {length} seconds long; the limit is {limit_s:g} seconds. "
            "Trim it and try again."
        )


class AudioTooShortError(AudioError):
    """The recording is too short to hold any speech."""

    def __init__(self, name: str, duration_s: float, limit_s: float):
        self.name = name
        self.duration_s = duration_s
        self.limit_s = limit_s
        super().__init__(
            f"{name} is only {duration_s * 1000:.3g} ms long; speech needs at least "
            f"{limit_s * 1000:g} ms. Record a little longer and try again."
        )


class FileTooLargeError(AudioError):
    """The file is larger than the app accepts."""

    def __init__(self, name: str, size_mb: float, limit_mb: float):
        self.name = name
        self.size_mb = size_mb
        self.limit_mb = limit_mb
        super().__init__(f"{name} is {size_mb:.1f} MB; the limit is {limit_mb:g} MB.")


class InvalidRequestError(HyasrError, ValueError):
    """A decoding setting is out of range or unknown."""


class ModelUnavailableError(HyasrError, RuntimeError):
    """The model could not be found, downloaded or loaded."""


class DatasetError(HyasrError, ValueError):
    """A labelled data set cannot be read: no TSV, missing columns, missing audio."""
