"""hyasr-space: Armenian speech recognition with wav2vec2 XLS-R (CTC) and KenLM.

    from hyasr_space import Transcriber
    result = Transcriber.load().transcribe("speech.wav", decoder="both")
    print(result.best.text, result.best.words)

The Gradio app is `hyasr_space.ui.build_demo`; the command line is `hyasr_space.cli`.
"""

from .audio import AudioInput, Clip, load_audio
from .decoding import GreedyDecoder, LMDecoder, LMSettings, Transcript, Vocabulary, Word
from .errors import (
    AudioDecodeError,
    AudioError,
    AudioTooLongError,
    AudioTooShortError,
    EmptyAudioError,
    FileTooLargeError,
    HyasrError,
    InvalidRequestError,
    ModelUnavailableError,
)
from .model import AcousticModel, Logits, ModelSource, load_model, resolve_model
from .settings import DEFAULT_MODEL, Settings
from .text import error_rates, normalize_text
from .transcriber import DecoderChoice, Transcriber, Transcription

__all__ = [
    "DEFAULT_MODEL",
    "AcousticModel",
    "AudioDecodeError",
    "AudioError",
    "AudioInput",
    "AudioTooLongError",
    "AudioTooShortError",
    "Clip",
    "DecoderChoice",
    "EmptyAudioError",
    "FileTooLargeError",
    "GreedyDecoder",
    "HyasrError",
    "InvalidRequestError",
    "LMDecoder",
    "LMSettings",
    "Logits",
    "ModelSource",
    "ModelUnavailableError",
    "Settings",
    "Transcriber",
    "Transcript",
    "Transcription",
    "Vocabulary",
    "Word",
    "error_rates",
    "load_audio",
    "load_model",
    "normalize_text",
    "resolve_model",
]
