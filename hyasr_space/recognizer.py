"""`Recognizer`: what a live stream (streaming.py) runs on. A `Transcriber` is one.

A protocol, so that streaming.py needs nothing from transcriber.py, which builds
streams (`Transcriber.stream()`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from .lm_settings import LMSettings
from .results import Clip, DecoderChoice, Logits, Transcript
from .settings import LM, Settings

if TYPE_CHECKING:
    from .decoding import Decoder
    from .runtime import AcousticModel
    from .vocabulary import Vocabulary


class Recognizer(Protocol):
    """A model, its vocabulary and decoders; logits of a clip (cached), decoded."""

    model: AcousticModel
    vocabulary: Vocabulary
    greedy: Decoder
    settings: Settings

    @property
    def notices(self) -> tuple[str, ...]: ...

    @property
    def lm_defaults(self) -> LMSettings: ...

    @property
    def model_name(self) -> str: ...

    def decoders(
        self, choice: DecoderChoice | str, *, strict: bool = False
    ) -> tuple[tuple[Decoder, ...], tuple[str, ...]]: ...

    def logits(self, clip: Clip) -> Logits: ...

    def decode(
        self, logits: Logits, decoder: DecoderChoice | str = LM, lm: LMSettings | None = None
    ) -> tuple[tuple[Transcript, ...], tuple[str, ...]]: ...
