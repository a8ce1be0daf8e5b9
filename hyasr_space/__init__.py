"""hyasr-space: Armenian speech recognition with wav2vec2 XLS-R (CTC) and KenLM.

    from hyasr_space import Transcriber
    transcriber = Transcriber.load()
    result = transcriber.transcribe("speech.wav", decoder="both")
    print(result.best.text, result.best.words)
    aligned = transcriber.align("speech.wav", "Բարև ձեզ։")  # forced alignment
    stream = transcriber.stream()                            # live: feed(), finish()

`__all__` is what users call. The parts behind it stay importable from their modules
(`hyasr_space.runtime` for the acoustic model, `hyasr_space.audio`, `hyasr_space.lm`,
...); the Gradio app is `hyasr_space.web.build_demo`, the command line
`hyasr_space.cli`.
"""

from importlib import import_module
from typing import Any

from .errors import (
    AudioDecodeError,
    AudioError,
    AudioTooLongError,
    AudioTooShortError,
    DatasetError,
    EmptyAudioError,
    FileTooLargeError,
    HyasrError,
    InvalidRequestError,
    ModelUnavailableError,
)
from .lm_settings import LMSettings
from .results import Clip, Logits, Partial, Phrase, Transcript, Transcription, Word
from .settings import Settings
from .streaming import LiveStream
from .subtitles import CaptionLimits
from .transcriber import Transcriber

# Importable from the package but not advertised: the picture (PIL, librosa) on first
# use, and the names this package exported before its public face was narrowed, kept
# for one release.
_LAZY = {
    "speech_picture": "picture",
    "transcription_picture": "picture",
    "AcousticModel": "runtime",
    "load_model": "runtime",
    "ModelSource": "runtime.checkpoints",
    "resolve_model": "runtime.checkpoints",
    "Aligner": "alignment",
    "AudioInput": "audio",
    "load_audio": "audio",
    "Decoder": "decoding",
    "GreedyDecoder": "decoding",
    "LMDecoder": "lm",
    "DecoderChoice": "results",
    "DEFAULT_MODEL": "constants",
    "error_rates": "text",
    "normalize_text": "text",
    "Vocabulary": "vocabulary",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AudioDecodeError",
    "AudioError",
    "AudioTooLongError",
    "AudioTooShortError",
    "CaptionLimits",
    "Clip",
    "DatasetError",
    "EmptyAudioError",
    "FileTooLargeError",
    "HyasrError",
    "InvalidRequestError",
    "LMSettings",
    "LiveStream",
    "Logits",
    "ModelUnavailableError",
    "Partial",
    "Phrase",
    "Settings",
    "Transcriber",
    "Transcript",
    "Transcription",
    "Word",
    "speech_picture",
    "transcription_picture",
]
