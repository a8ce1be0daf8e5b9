"""`Transcriber`: the one entry point from audio to text that the UI and the CLI share.

It owns an `AcousticModel`, its decoders and its aligner, and remembers the logits of
recent clips by their content, so a user who switches between greedy and LM decoding,
tries other LM settings, or aligns a corrected text, waits for a beam search or an
alignment and never for the model again.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from .alignment import Aligner
from .audio import AudioInput, load_audio
from .decoding import Decoder, GreedyDecoder, pick_decoders
from .errors import ModelUnavailableError
from .lm import LMDecoder, LMSettings
from .results import Clip, DecoderChoice, Logits, Transcript, Transcription
from .runtime import AcousticModel, load_model
from .runtime.caches import Registry
from .settings import DEMO_MODEL, LM, Settings
from .streaming import LiveStream
from .vocabulary import Vocabulary

log = logging.getLogger(__name__)


class Transcriber:
    """Audio in, `Transcription` out; thread-safe, one per model per process."""

    def __init__(
        self,
        model: AcousticModel,
        settings: Settings | None = None,
        notice: str | None = None,
    ) -> None:
        self.model = model
        self.settings = settings or model.settings
        self._notices: tuple[str, ...] = (notice,) if notice else ()
        self.vocabulary = Vocabulary.from_dir(model.path, size=model.vocab_size)
        self.greedy = GreedyDecoder(self.vocabulary)
        self.aligner = Aligner(self.vocabulary, self.settings)
        self.lm: LMDecoder | None = None
        try:
            self.lm = LMDecoder.from_dir(model.path, self.vocabulary, self.settings)
        except (OSError, ValueError) as error:  # a broken LM must not take the model down
            log.error("the language model of %s could not be loaded: %s", model.name, error)
            self._notices += (
                f"The language model could not be loaded ({error}); decoding greedily.",
            )
        self._cache: OrderedDict[str, Logits] = OrderedDict()
        self._cache_lock = threading.Lock()

    @classmethod
    def load(
        cls,
        model: str | None = None,
        revision: str | None = None,
        settings: Settings | None = None,
    ) -> Transcriber:
        """The shared transcriber of a model (default: `settings.model`).

        When no model is named and the configured one cannot be loaded (no network and
        nothing cached), the bundled demo model stands in, with a notice saying so.
        Raises `ModelUnavailableError` when nothing can be loaded.
        """
        settings = settings or Settings.from_env()
        return _TRANSCRIBERS.get_or_create(
            (model, revision, settings), lambda: cls._load(model, revision, settings)
        )

    @classmethod
    def _load(cls, model: str | None, revision: str | None, settings: Settings) -> Transcriber:
        try:
            return cls(load_model(model, revision, settings), settings)
        except ModelUnavailableError as error:
            fallback = settings.fallback_model
            if model is not None or not fallback or fallback == settings.model:
                raise
            log.warning("%s Falling back to %s.", error, fallback)
            try:
                stand_in = load_model(fallback, None, settings)
            except ModelUnavailableError as second:
                raise ModelUnavailableError(
                    f"{error} The fallback model ({fallback}) is unavailable too: {second}"
                ) from second
            label = "the bundled demo model" if fallback == DEMO_MODEL else fallback
            notice = (
                f"{settings.model} could not be loaded ({error}). Using {label} instead: "
                "it is small and far less accurate."
            )
            return cls(stand_in, settings, notice)

    @property
    def notices(self) -> tuple[str, ...]:
        """What users should know: a stand-in model, a missing LM, a failed int8 export."""
        return self._notices + self.model.notices

    @property
    def has_lm(self) -> bool:
        return self.lm is not None

    @property
    def lm_defaults(self) -> LMSettings:
        """The checkpoint's LM settings, or the app's defaults when it has no LM."""
        return self.lm.defaults if self.lm else LMSettings.from_settings(self.settings)

    @property
    def model_name(self) -> str:
        return self.model.name

    def describe(self) -> str:
        """Which model runs where and in which precision, for the page and the logs."""
        lm = f"{self.lm.order}-gram KenLM" if self.lm else "no language model"
        return f"{self.model.name} ({self.model.device}, {self.model.runtime}; {lm})"

    def logits(self, clip: Clip, progress: Callable[[int, int], None] | None = None) -> Logits:
        """The model's logits for a clip, from the cache when this audio was seen lately."""
        key = clip.fingerprint
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        logits = self.model.logits(clip, progress)
        with self._cache_lock:
            self._cache[key] = logits
            while len(self._cache) > self.settings.logits_cache_size:
                self._cache.popitem(last=False)
        return logits

    def cached_logits(self, clip: Clip) -> Logits | None:
        """The clip's logits if they are still cached; never runs the model."""
        with self._cache_lock:
            return self._cache.get(clip.fingerprint)

    def decoders(
        self, choice: DecoderChoice | str, *, strict: bool = False
    ) -> tuple[tuple[Decoder, ...], tuple[str, ...]]:
        """The decoders a choice ("greedy", "lm", "both") runs on this model, and the
        notices that go with them (see `decoding.pick_decoders`)."""
        return pick_decoders(choice, self.greedy, self.lm, strict=strict)

    def decode(
        self, logits: Logits, decoder: DecoderChoice | str = LM, lm: LMSettings | None = None
    ) -> tuple[tuple[Transcript, ...], tuple[str, ...]]:
        """Decode logits with the chosen decoders; their transcripts and the notices."""
        decoders, notices = self.decoders(decoder)
        options = lm or self.lm_defaults
        return tuple(d.decode(logits, options) for d in decoders), notices

    def transcribe(
        self,
        audio: AudioInput,
        decoder: DecoderChoice | str = LM,
        lm: LMSettings | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Transcription:
        """Transcribe a file, a ``(rate, samples)`` recording or a `Clip`.

        `progress(done, total)` follows the forward pass, window by window.

        `decoder` is "greedy", "lm" or "both"; without a language model "lm" decodes
        greedily and the result's notices say so. Raises the `AudioError`s of
        `load_audio` and `InvalidRequestError` for an unknown decoder.
        """
        self.decoders(decoder)  # an unknown decoder fails before the audio is read
        clip = load_audio(audio, self.settings)
        transcripts, notices = self.decode(self.logits(clip, progress), decoder, lm)
        return Transcription(
            clip.name,
            clip.duration,
            self.model.name,
            transcripts,
            self.notices + notices,
            runtime=f"{self.model.device}, {self.model.runtime}",
        )

    def align(
        self,
        audio: AudioInput,
        text: str,
        progress: Callable[[int, int], None] | None = None,
    ) -> Transcription:
        """The words of `text` placed on the audio: a `Transcription` whose one transcript
        (decoder "align") has the text's words, as written, with times and confidences
        (alignment.py). The logits come from the cache when this audio was transcribed
        lately, so aligning a corrected transcript never runs the model again.

        Raises the `AudioError`s of `load_audio`, and `InvalidRequestError` for text with
        nothing to align or too long for the audio; a poor match is a notice.
        """
        self.aligner.prepare(text)  # bad text fails before the audio is read
        clip = load_audio(audio, self.settings)
        logits = self.logits(clip, progress)
        alignment = self.aligner.align(logits, text, clip.samples, clip.sample_rate)
        return Transcription(
            clip.name,
            clip.duration,
            self.model.name,
            (alignment.transcript,),
            self.notices + alignment.notices,
        )

    def stream(
        self,
        decoder: DecoderChoice | str = LM,
        lm: LMSettings | None = None,
        *,
        recording: str | Path | None = None,
    ) -> LiveStream:
        """A live stream: `feed(samples, rate)` chunks as they are spoken, then `finish()`
        (streaming.py); `recording`: a WAV file to write the heard audio to. Raises
        `InvalidRequestError` for an unknown decoder."""
        return LiveStream(self, decoder, lm, recording=recording)

    def warm_up(self) -> None:
        """A forward pass on silence, so the first user does not pay for lazy
        initialisation (kernels, allocator, thread pools; compiling, when asked for)."""
        self.model.warm_up()


_TRANSCRIBERS: Registry[tuple[str | None, str | None, Settings], Transcriber] = Registry(
    "transcribers"
)
