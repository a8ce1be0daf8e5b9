"""hyasr-space: Armenian speech recognition with wav2vec2 XLS-R (CTC) and KenLM.

    from hyasr_space import Transcriber
    result = Transcriber.load().transcribe("speech.wav", decoder="both")
    print(result.best.text, result.best.words)
    aligned = Transcriber.load().align("speech.wav", "Բարև ձեզ։")  # forced alignment

The Gradio app is `hyasr_space.web.build_demo`; the command line is `hyasr_space.cli`;
`hyasr_space.caches.clear()` forgets every loaded model. The README's "How it works"
lists the modules, one line each.
"""

from .alignment import Aligner
from .audio import AudioInput, load_audio
from .decoding import Decoder, GreedyDecoder
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
from .lm import LMDecoder, LMSettings
from .results import Clip, DecoderChoice, Logits, Transcript, Transcription, Word
from .runtime import AcousticModel, load_model
from .runtime.checkpoints import ModelSource, resolve_model
from .settings import DEFAULT_MODEL, Settings
from .text import error_rates, normalize_text
from .transcriber import Transcriber
from .vocabulary import Vocabulary

__all__ = [
    "DEFAULT_MODEL",
    "AcousticModel",
    "Aligner",
    "AudioDecodeError",
    "AudioError",
    "AudioInput",
    "AudioTooLongError",
    "AudioTooShortError",
    "Clip",
    "Decoder",
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
