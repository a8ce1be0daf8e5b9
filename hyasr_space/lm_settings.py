"""`LMSettings`: the beam search settings of one request, and `parse_hotwords`.

Apart from lm.py so that the `Decoder` protocol (decoding.py) can name them without
importing the LM decoder, which itself builds on decoding.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidRequestError
from .settings import (
    DEFAULT_ALPHA,
    DEFAULT_BEAM_WIDTH,
    DEFAULT_BETA,
    DEFAULT_HOTWORD_WEIGHT,
    DEFAULT_MIN_TOKEN_LOGP,
    DEFAULT_PRUNE_LOGP,
    DEFAULT_SCORE_LM_BOUNDARY,
    DEFAULT_UNK_LOGP_OFFSET,
    LM_SEGMENT_S,
    LM_SILENCE_S,
    Settings,
)
from .text import normalize_text


@dataclass(frozen=True)
class LMSettings:
    """Beam search settings of one request (defaults: the checkpoint's `attrs.json`)."""

    alpha: float = DEFAULT_ALPHA
    beta: float = DEFAULT_BETA
    beam_width: int = DEFAULT_BEAM_WIDTH
    hotwords: tuple[str, ...] = ()
    hotword_weight: float = DEFAULT_HOTWORD_WEIGHT
    unk_score_offset: float = DEFAULT_UNK_LOGP_OFFSET
    score_boundary: bool = DEFAULT_SCORE_LM_BOUNDARY
    beam_prune_logp: float = DEFAULT_PRUNE_LOGP
    token_min_logp: float = DEFAULT_MIN_TOKEN_LOGP
    # Long logits are searched in segments cut at silences (see `silence_cuts`); an
    # infinite segment_s searches the whole clip at once.
    segment_s: float = LM_SEGMENT_S
    silence_s: float = LM_SILENCE_S
    max_beam_width: int = field(default=500, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.alpha <= 100:
            raise InvalidRequestError(f"alpha must be between 0 and 100, not {self.alpha}")
        if not -100 <= self.beta <= 100:
            raise InvalidRequestError(f"beta must be between -100 and 100, not {self.beta}")
        if not 1 <= self.beam_width <= self.max_beam_width:
            raise InvalidRequestError(
                f"beam width must be between 1 and {self.max_beam_width}, not {self.beam_width}"
            )
        if not 0 <= self.hotword_weight <= 100:
            raise InvalidRequestError(
                f"hotword weight must be between 0 and 100, not {self.hotword_weight}"
            )
        if self.segment_s <= 0 or self.silence_s <= 0:
            raise InvalidRequestError("segment_s and silence_s must be positive")

    @classmethod
    def from_settings(cls, settings: Settings, **attrs: Any) -> LMSettings:
        """Defaults from `Settings`, overridden by a checkpoint's attrs.json values."""
        known = {"alpha", "beta", "unk_score_offset", "score_boundary"}
        return cls(
            beam_width=settings.beam_width,
            hotword_weight=settings.hotword_weight,
            beam_prune_logp=settings.beam_prune_logp,
            token_min_logp=settings.token_min_logp,
            segment_s=settings.lm_segment_s,
            silence_s=settings.lm_silence_s,
            max_beam_width=settings.max_beam_width,
            **{key: value for key, value in attrs.items() if key in known},
        )


def parse_hotwords(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """Hotwords from a comma/newline separated string or a list, normalised like the model's
    output (lowercase Armenian, no punctuation), duplicates and blanks dropped."""
    if text is None:
        return ()
    items = re.split(r"[,\n;]", text) if isinstance(text, str) else list(text)
    words = (normalize_text(item) for item in items)
    return tuple(dict.fromkeys(word for word in words if word))
