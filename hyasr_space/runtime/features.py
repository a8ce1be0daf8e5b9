"""What a checkpoint's architecture decides about its input: classes, frame grid, scaling.

Two CTC architectures are served, told apart by ``config.json``'s ``model_type``:

- ``wav2vec2`` (XLS-R): `Wav2Vec2ForCTC` on the raw waveform, scaled by the clip's own
  mean and variance (``do_normalize``); a conv feature encoder makes one frame per
  320 samples (20 ms) seeing 400 samples (25 ms).
- ``wav2vec2-bert`` (Wav2Vec2-BERT 2.0): `Wav2Vec2BertForCTC` on 80 log-mel filter banks
  (`SeamlessM4TFeatureExtractor`: 25 ms windows every 10 ms, normalised per mel bin over
  the input it is given), two consecutive banks stacked into one 160-value frame: one
  frame per 320 samples (20 ms) seeing 560 samples (35 ms). The stacking drops an odd
  last bank, as the extractor's own stride does after padding.

The filter banks followed by the stacking are, for frame arithmetic, a conv encoder
with kernels (400, 2) and strides (160, 2), so windows.py, the windows of long clips and
live streaming work on either architecture unchanged once `FrontEnd` says which.
What differs in results: Wav2Vec2-BERT's extractor normalises each window (and each
streaming pass) by that window's own statistics per mel bin, where wav2vec2 windows share
the clip's (or the stream's running) statistics: chunked Wav2Vec2-BERT logits depend a
little on where windows fall. References: transformers' ``Wav2Vec2BertForCTC`` and
``SeamlessM4TFeatureExtractor`` (``stride=2``, ``num_mel_bins=80``); Barrault et al.
2023, "Seamless: Multilingual Expressive and Streaming Speech Translation" (w2v-BERT 2.0).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ModelUnavailableError
from .windows import conv_frames_receptive_field

WAV2VEC2 = "wav2vec2"
WAV2VEC2_BERT = "wav2vec2-bert"
ARCHITECTURES = (WAV2VEC2, WAV2VEC2_BERT)

# Kaldi filter banks as SeamlessM4TFeatureExtractor computes them at 16 kHz.
FBANK_WINDOW = 400  # 25 ms
FBANK_HOP = 160  # 10 ms


def architecture(model_dir: Path) -> str:
    """``wav2vec2`` or ``wav2vec2-bert``, from the checkpoint's ``config.json``.

    Raises `ModelUnavailableError` for another architecture (it would load as garbage)."""
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelUnavailableError(f"{model_dir}/config.json cannot be read: {error}") from error
    kind = str(config.get("model_type", WAV2VEC2))
    if kind not in ARCHITECTURES:
        raise ModelUnavailableError(
            f"{model_dir.name}: model_type {kind!r} is not a supported CTC architecture "
            f"(supported: {', '.join(ARCHITECTURES)})."
        )
    return kind


def model_classes(kind: str) -> tuple[Any, Any]:
    """(network class, feature extractor class) of an architecture."""
    if kind == WAV2VEC2_BERT:
        from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertForCTC

        return Wav2Vec2BertForCTC, SeamlessM4TFeatureExtractor
    from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    return Wav2Vec2ForCTC, Wav2Vec2FeatureExtractor


@dataclass(frozen=True)
class FrontEnd:
    """The input side of a loaded network: its frame grid and how samples are scaled.

    ``kernels``/``strides`` describe how samples become frames (a conv encoder, or the
    filter banks and stacking as one); ``normalizes`` says whether the waveform is
    scaled by mean and variance before the extractor (wav2vec2's ``do_normalize``);
    ``input_name`` is the extractor's output the network takes.
    """

    architecture: str
    kernels: tuple[int, ...]
    strides: tuple[int, ...]
    normalizes: bool
    input_name: str
    pads_exactly: bool

    @property
    def frame_step(self) -> int:
        return math.prod(self.strides)

    @property
    def receptive_field(self) -> int:
        return conv_frames_receptive_field(self.kernels, self.strides)

    @classmethod
    def of(cls, config: Any, feature_extractor: Any) -> FrontEnd:
        kind = str(getattr(config, "model_type", WAV2VEC2))
        masks = bool(getattr(feature_extractor, "return_attention_mask", False))
        if kind == WAV2VEC2_BERT:
            stride = int(getattr(feature_extractor, "stride", 2))
            return cls(
                kind,
                kernels=(FBANK_WINDOW, stride),
                strides=(FBANK_HOP, stride),
                normalizes=False,  # the extractor normalises the filter banks itself
                input_name="input_features",
                # Padded frames are masked in attention and zeroed before the conformer's
                # depthwise convolution, but the extractor's per-bin statistics are the
                # padded input's: a padded batch is not exact.
                pads_exactly=False,
            )
        return cls(
            WAV2VEC2,
            kernels=tuple(config.conv_kernel),
            strides=tuple(config.conv_stride),
            normalizes=bool(getattr(feature_extractor, "do_normalize", False)),
            input_name="input_values",
            # Exact only where the feature encoder uses layer norm and the extractor makes
            # attention masks (XLS-R); group norm would normalise over the padding.
            pads_exactly=config.feat_extract_norm == "layer" and masks,
        )
