"""The domain's constants: what the models, decoders, captions and alignment are built
on. They never come from the environment (settings.py holds what does); settings.py
re-exports them, so `from hyasr_space.settings import SAMPLE_RATE` keeps working."""

from __future__ import annotations

from pathlib import Path

# Beam search defaults are pyctcdecode's own, imported rather than copied (its constants
# module is plain Python, cheap to import); a checkpoint's attrs.json overrides alpha/beta.
from pyctcdecode.constants import (
    DEFAULT_ALPHA,
    DEFAULT_BEAM_WIDTH,
    DEFAULT_BETA,
    DEFAULT_HOTWORD_WEIGHT,
    DEFAULT_MIN_TOKEN_LOGP,
    DEFAULT_PRUNE_LOGP,
    DEFAULT_SCORE_LM_BOUNDARY,
    DEFAULT_UNK_LOGP_OFFSET,
)

PACKAGE_DIR = Path(__file__).resolve().parent

DEFAULT_MODEL = "arampacha/wav2vec2-xls-r-1b-hy-cv"
DEMO_MODEL = "demo"  # the model name that means `demo_model_dir`
SAMPLE_RATE = 16_000  # what every wav2vec2 checkpoint of this family expects
LM_DIR = "language_model"  # a checkpoint's KenLM folder (the Hub layout of pyctcdecode)
# Beam search over long logits goes in segments cut at silences (lm.py): a cut needs blank
# to win for LM_SILENCE_S, and comes once the segment is LM_SEGMENT_S long.
LM_SEGMENT_S = 20.0
LM_SILENCE_S = 0.5
# Caption limits (subtitles.CaptionLimits), from common subtitle guidelines (Netflix's: 42
# characters a line, two lines); at most 6 s keeps a caption in step with the speech.
CAPTION_MAX_LINE_CHARS = 42
CAPTION_MAX_LINES = 2
CAPTION_MAX_S = 6.0
# Decoders: a request names one of DECODER_CHOICES; BOTH runs GREEDY and LM.
GREEDY = "greedy"
LM = "lm"
BOTH = "both"
DECODER_CHOICES = (GREEDY, LM, BOTH)
ALIGN = "align"  # the transcript of a given text aligned to the audio (alignment.py)
# Alignment (alignment.py): a word's edges move onto the speech's edges by at most
# ALIGN_SNAP_S; a warning when more than POOR_MATCH_SHARE of the words score below
# POOR_MATCH_SCORE (text of another clip: most words below 1e-5; the right text: at most
# 2 words in 5, on the demo model's held-out clips), or when speech of at least
# UNMATCHED_SPEECH_S has no text.
ALIGN_SNAP_S = 0.3
POOR_MATCH_SCORE = 0.01
POOR_MATCH_SHARE = 0.5
UNMATCHED_SPEECH_S = 0.5

__all__ = [
    "ALIGN",
    "ALIGN_SNAP_S",
    "BOTH",
    "CAPTION_MAX_LINES",
    "CAPTION_MAX_LINE_CHARS",
    "CAPTION_MAX_S",
    "DECODER_CHOICES",
    "DEFAULT_ALPHA",
    "DEFAULT_BEAM_WIDTH",
    "DEFAULT_BETA",
    "DEFAULT_HOTWORD_WEIGHT",
    "DEFAULT_MIN_TOKEN_LOGP",
    "DEFAULT_MODEL",
    "DEFAULT_PRUNE_LOGP",
    "DEFAULT_SCORE_LM_BOUNDARY",
    "DEFAULT_UNK_LOGP_OFFSET",
    "DEMO_MODEL",
    "GREEDY",
    "LM",
    "LM_DIR",
    "LM_SEGMENT_S",
    "LM_SILENCE_S",
    "PACKAGE_DIR",
    "POOR_MATCH_SCORE",
    "POOR_MATCH_SHARE",
    "SAMPLE_RATE",
    "UNMATCHED_SPEECH_S",
]
