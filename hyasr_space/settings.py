"""Every environment variable, limit, default and path of the app, in one place.

`Settings.from_env()` reads the environment. Only the edges call it: the app
(`web.build_demo`), the command line and `Transcriber.load()`'s default; everything below
them takes a `Settings` argument, and given none uses the defaults (never the
environment), so a test builds one with `dataclasses.replace` instead of patching
globals. The domain's constants (sample rate, decoder names, caption limits) are in
constants.py.

| variable                    | field                | default                               |
| --------------------------- | -------------------- | ------------------------------------- |
| HYASR_MODEL                 | model                | arampacha/wav2vec2-xls-r-1b-hy-cv     |
| HYASR_REVISION              | revision             | (the repo's default branch)           |
| HYASR_FALLBACK_MODEL        | fallback_model       | demo ("" or "none" turns it off)      |
| HYASR_DEMO_MODEL_DIR        | demo_model_dir       | hyasr_space/demo_model                |
| HYASR_EXAMPLES_DIR          | examples_dir         | examples/ beside the package          |
| HYASR_DEVICE                | device               | auto (cuda when there is one)         |
| HYASR_DTYPE                 | dtype                | auto (cuda: bf16/fp16; cpu: precision.py) |
| HYASR_LOW_PRECISION_MIN_MB  | low_precision_min_mb | 100 (smaller models: fp32 on auto)    |
| HYASR_BACKGROUND_EXPORT     | background_export    | 1 (int8 made while the app serves)    |
| HYASR_CACHE_DIR             | cache_dir            | /data/hyasr-space (a Space's storage) |
|                             |                      | or ~/.cache/hyasr-space (int8 models) |
| HYASR_MAX_DURATION_S        | max_duration_s       | 600                                   |
| HYASR_MIN_DURATION_S        | min_duration_s       | 0.1                                   |
| HYASR_MAX_FILE_SIZE_MB      | max_file_size_mb     | 100                                   |
| HYASR_QUEUE_SIZE            | queue_max_size       | 16                                    |
| HYASR_CONCURRENCY           | concurrency_limit    | 2                                     |
| HYASR_MAX_SESSIONS          | max_sessions         | 1000                                  |
| HYASR_TEMP_FILE_TTL_S       | temp_file_ttl_s      | 3600                                  |
| HYASR_HEAP_TRIM_S           | heap_trim_interval_s | 30 (0: never return freed heap)       |
| HYASR_CHUNK_S               | chunk_s              | 30                                    |
| HYASR_CHUNK_CONTEXT_S       | chunk_context_s      | 2.5                                   |
| HYASR_CHUNK_BATCH           | chunk_batch_size     | 4                                     |
| HYASR_REQUEST_BATCH         | request_batch_size   | 0: 8 windows on cuda, 1 (off) on cpu  |
| HYASR_COMPILE               | compile              | 0 (torch.compile, length buckets)     |
| HYASR_COMPILE_BUCKET_S      | compile_bucket_s     | 5                                     |
| HYASR_LOGITS_CACHE          | logits_cache_size    | 32                                    |
| HYASR_BEAM_WIDTH            | beam_width           | 100                                   |
| HYASR_BEAM_PRUNE_LOGP       | beam_prune_logp      | -10                                   |
| HYASR_TOKEN_MIN_LOGP        | token_min_logp       | -5                                    |
| HYASR_HOTWORD_WEIGHT        | hotword_weight       | 10                                    |
| HYASR_LM_SEGMENT_S          | lm_segment_s         | 20 (inf: one search over the clip)    |
| HYASR_LM_SILENCE_S          | lm_silence_s         | 0.5                                   |
| HYASR_ALIGN_BAND            | align_band           | 1000 (CTC states alignment keeps)     |
| HYASR_DOUBTFUL_CONFIDENCE   | doubtful_confidence  | 0.5 (words below it are marked)       |
| HYASR_CAPTION_MAX_LINE_CHARS | caption_max_line_chars | 42 (characters a caption line)    |
| HYASR_CAPTION_MAX_LINES     | caption_max_lines    | 2 (lines a caption)                   |
| HYASR_CAPTION_MAX_S         | caption_max_s        | 6 (longest a caption stays up)        |
| HYASR_LIVE_STEP_S           | live_step_s          | 0.5 (live: new audio per network run) |
| HYASR_LIVE_MAX_STEP_S       | live_max_step_s      | 4 (live: longest step when slow)      |
| HYASR_LIVE_LEFT_CONTEXT_S   | live_left_context_s  | 2.0 (live: audio re-read before it)   |
| HYASR_LIVE_RIGHT_CONTEXT_S  | live_right_context_s | 1.0 (live: audio after a frame)       |
| HYASR_LIVE_ENDPOINT_S       | live_endpoint_s      | 0.5 (live: pause that ends a phrase)  |
| HYASR_LIVE_MAX_PHRASE_S     | live_max_phrase_s    | 15 (live: longest phrase)             |
| HYASR_LIVE_TIME_LIMIT_S     | live_time_limit_s    | 600 (live: longest stream in the app) |
| HYASR_LIVE_MAX_STREAMS      | live_max_streams     | 8 (live: streams open at once)        |
| HYASR_LIVE_MAX_BEHIND_S     | live_max_behind_s    | 60 (live: backlog cap, 32 kB/s)       |
| HYASR_LIVE_FINAL_PASS_MAX_S | live_final_pass_max_s | 30 (live: last pass as a file, 0 off) |
| HYASR_HUB_TIMEOUT_S         | hub_timeout_s        | 3                                     |
| HYASR_CARD_MAX_AGE_S        | card_max_age_s       | 300 (then the Hub is asked again)     |
| HYASR_ZERO_GPU_DURATION_S   | zero_gpu_duration_s  | 60                                    |
| HYASR_WARM_UP               | warm_up              | 1                                     |
| HYASR_MODELS                | models               | the three Armenian CTC checkpoints of |
|                             |                      | CURATED_MODELS (comma-separated ids)  |
| HYASR_MAX_LOADED_MODELS     | max_loaded_models    | 2 (least recently used goes)          |
| HYASR_RUN_HISTORY           | run_history          | 0 (runs are not kept in the browser)  |
| HYASR_MCP_SERVER            | mcp_server           | 1 (MCP tools at /gradio_api/mcp/)     |
| HYASR_API_KEY               | api_key              | none (the /v1 routes are open)        |
| HYASR_URL_TIMEOUT_S         | url_timeout_s        | 30 (fetching an agent's audio URL)    |
| HYASR_URL_MAX_REDIRECTS     | url_max_redirects    | 5                                     |
| HYASR_URL_ALLOW_PRIVATE     | url_allow_private    | 0 (no loopback/private-network URLs)  |

`HF_HUB_OFFLINE`, `HF_HOME`, `HF_ENDPOINT` and `HF_TOKEN` keep their huggingface_hub
meaning; `GRADIO_SERVER_NAME` / `GRADIO_SERVER_PORT` keep Gradio's (a Space sets them).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

# Domain constants live in constants.py; imported here so that settings' users keep them.
from .constants import (
    ALIGN,
    ALIGN_SNAP_S,
    BOTH,
    CAPTION_MAX_LINE_CHARS,
    CAPTION_MAX_LINES,
    CAPTION_MAX_S,
    DECODER_CHOICES,
    DEFAULT_ALPHA,
    DEFAULT_BEAM_WIDTH,
    DEFAULT_BETA,
    DEFAULT_HOTWORD_WEIGHT,
    DEFAULT_MIN_TOKEN_LOGP,
    DEFAULT_MODEL,
    DEFAULT_PRUNE_LOGP,
    DEFAULT_SCORE_LM_BOUNDARY,
    DEFAULT_UNK_LOGP_OFFSET,
    DEMO_MODEL,
    GREEDY,
    LM,
    LM_DIR,
    LM_SEGMENT_S,
    LM_SILENCE_S,
    PACKAGE_DIR,
    POOR_MATCH_SCORE,
    POOR_MATCH_SHARE,
    SAMPLE_RATE,
    UNMATCHED_SPEECH_S,
)

DEVICES = ("auto", "cpu", "cuda")
# A Space's persistent storage (/data) keeps the int8 export across restarts.
PERSISTENT_DIR = Path("/data")
DEFAULT_CACHE_DIR = (
    PERSISTENT_DIR / "hyasr-space"
    if PERSISTENT_DIR.is_dir() and os.access(PERSISTENT_DIR, os.W_OK)
    else Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "hyasr-space"
)
DTYPES = ("auto", "float32", "bfloat16", "float16", "int8")
# The models offered for choosing and comparing (models.py), the Space's own first; the
# bundled demo model is always offered too. docs/models.md says why these.
CURATED_MODELS = (
    DEFAULT_MODEL,
    "arampacha/wav2vec2-xls-r-1b-hy",
    "anah1tbaghdassarian/w2v-bert-2.0-armenian-colab-CV17.0_10epochs",
)  # int8: CPU only (runtime/int8.py)

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
    "POOR_MATCH_SCORE",
    "POOR_MATCH_SHARE",
    "SAMPLE_RATE",
    "UNMATCHED_SPEECH_S",
    "Settings",
]


@dataclass(frozen=True)
class Settings:
    """Configuration of one process: model, limits, decoding defaults, serving."""

    model: str = DEFAULT_MODEL
    revision: str | None = None
    fallback_model: str | None = DEMO_MODEL
    demo_model_dir: Path = PACKAGE_DIR / "demo_model"
    examples_dir: Path = PACKAGE_DIR.parent / "examples"
    device: str = "auto"
    dtype: str = "auto"
    # `auto` on a CPU: models with fewer MB of weights stay float32 (runtime/precision.py).
    low_precision_min_mb: float = 100.0
    # `auto` on a CPU, int8 not cached: export it in the background while the interim
    # dtype serves (the app), or just serve the interim dtype (one-shot commands).
    background_export: bool = True

    # Limits a user can hit; the error messages quote them.
    max_duration_s: float = 600.0
    min_duration_s: float = 0.1  # shorter audio cannot hold a word: refused, not guessed at
    max_file_size_mb: float = 100.0
    queue_max_size: int = 16
    concurrency_limit: int = 2
    # Gradio keeps each session's state (a copy of the page's config, the last result) in
    # memory until this many newer sessions exist; API clients' sessions never close.
    max_sessions: int = 1000
    # Uploads and result files older than this are deleted (checked every quarter of it).
    temp_file_ttl_s: float = 3600.0
    # The server gives freed heap back to the OS this often (heap.py); 0 turns it off.
    heap_trim_interval_s: float = 30.0

    # Chunked forward: windows of chunk_s, each sharing chunk_context_s with each neighbour.
    chunk_s: float = 30.0
    chunk_context_s: float = 2.5
    chunk_batch_size: int = 4
    logits_cache_size: int = 32
    # Windows of concurrent requests run as one batch (runtime/batching.py); 0 picks by device.
    request_batch_size: int = 0
    # torch.compile the network (CUDA graphs on a GPU), inputs padded to length buckets so
    # that a handful of shapes is ever compiled (compiled.py).
    compile: bool = False
    compile_bucket_s: float = 5.0

    # Beam search (pyctcdecode's own defaults); alpha/beta come from the checkpoint.
    beam_width: int = DEFAULT_BEAM_WIDTH
    max_beam_width: int = 500
    beam_prune_logp: float = DEFAULT_PRUNE_LOGP
    token_min_logp: float = DEFAULT_MIN_TOKEN_LOGP
    hotword_weight: float = DEFAULT_HOTWORD_WEIGHT
    lm_segment_s: float = LM_SEGMENT_S
    lm_silence_s: float = LM_SILENCE_S
    # Forced alignment keeps this many CTC states (2 per letter) around the best one per
    # frame: memory is frames x align_band bytes (30 MB for 10 minutes), and a text may
    # run up to about align_band / 3 letters ahead of the speech and still be found.
    align_band: int = 1000
    doubtful_confidence: float = 0.5  # words less sure than this are marked on the page
    # How words are grouped into captions (files, player, segments table, CLI).
    caption_max_line_chars: int = CAPTION_MAX_LINE_CHARS
    caption_max_lines: int = CAPTION_MAX_LINES
    caption_max_s: float = CAPTION_MAX_S

    # Live streams (streaming.py, which says why these sizes): the network runs every
    # live_step_s of new audio over it and live_left_context_s before it; a frame counts
    # once live_right_context_s follows it; a phrase ends after live_endpoint_s of blank
    # frames or at live_max_phrase_s; the app ends a stream after live_time_limit_s.
    live_step_s: float = 0.5
    live_max_step_s: float = 4.0  # a slow machine's steps wait for up to this much audio
    live_left_context_s: float = 2.0
    live_right_context_s: float = 1.0
    live_endpoint_s: float = 0.5
    live_max_phrase_s: float = 15.0
    live_time_limit_s: float = 600.0
    live_max_streams: int = 8  # more live streams than this are refused, with a message
    # Live transport (issue 21, web/live_sessions.py): a stream stops, keeping what it
    # heard, once this much audio is received and not yet recognised; the server holds
    # it as 16-bit samples, 32 kB a second (60 s: 1.9 MB per stream).
    live_max_behind_s: float = 60.0
    # At the end of a live stream with a recording (the app's), the recording goes through
    # the network once more, as a file would, so that the result equals a file
    # transcription of the same audio; skipped (the phrase-by-phrase text stays, with a
    # notice) when the stream's own network time exceeded this. 0: never.
    live_final_pass_max_s: float = 30.0

    hub_timeout_s: float = 3.0
    # A model card confirmed by the Hub this recently is shown without asking it again.
    card_max_age_s: float = 300.0
    zero_gpu_duration_s: int = 60
    warm_up: bool = True
    cache_dir: Path = DEFAULT_CACHE_DIR
    # Gradio 6 keeps every run (recordings and transcripts included) in the visitor's
    # browser unless told not to (`launch(run_history=...)`); people's speech is private,
    # so that history is off unless the operator turns it on (docs/privacy.md).
    run_history: bool = False

    # Choosing and comparing models (models.py): the list offered, and how many stay
    # loaded at once (a CPU Space's 16 GB holds two 1B-class models with room to spare;
    # the least recently used one is unloaded when a third is asked for).
    models: tuple[str, ...] = CURATED_MODELS
    max_loaded_models: int = 2
    # Programs and agents (web/agent_tools.py, web/openai_api.py, remote_audio.py): the MCP
    # server on or off (the key does not cover it); the key the OpenAI-compatible /v1
    # routes require as a bearer token (None: open; kept out of repr so it never reaches a
    # log); the limits on audio an agent names by URL (its size and duration are
    # max_file_size_mb's and max_duration_s's). Private-network and loopback hosts are
    # refused unless url_allow_private: an agent must not make the server fetch from the
    # network it sits in.
    mcp_server: bool = True
    api_key: str | None = field(default=None, repr=False)
    url_timeout_s: float = 30.0
    url_max_redirects: int = 5
    url_allow_private: bool = False

    sample_rate: int = field(default=SAMPLE_RATE, init=False)

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, not {self.device!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, not {self.dtype!r}")
        positive = (
            "max_duration_s",
            "max_file_size_mb",
            "queue_max_size",
            "concurrency_limit",
            "max_sessions",
            "temp_file_ttl_s",
            "chunk_s",
            "chunk_batch_size",
            "logits_cache_size",
            "beam_width",
            "hub_timeout_s",
            "compile_bucket_s",
            "lm_segment_s",
            "lm_silence_s",
            "align_band",
            "caption_max_line_chars",
            "caption_max_lines",
            "caption_max_s",
            "live_step_s",
            "live_max_step_s",
            "live_endpoint_s",
            "live_max_phrase_s",
            "live_time_limit_s",
            "live_max_streams",
            "max_loaded_models",
            "url_timeout_s",
            "live_max_behind_s",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)}")
        if self.url_max_redirects < 0:
            raise ValueError(f"url_max_redirects must be 0 or more, not {self.url_max_redirects}")
        if self.request_batch_size < 0:
            raise ValueError(
                f"request_batch_size must be 0 (auto) or more, not {self.request_batch_size}"
            )
        if not 0 <= self.doubtful_confidence <= 1:
            raise ValueError(
                f"doubtful_confidence must be in [0, 1], not {self.doubtful_confidence}"
            )
        if not 0 <= self.chunk_context_s < self.chunk_s / 2:
            raise ValueError("chunk_context_s must be at least 0 and under half of chunk_s")
        if min(self.live_left_context_s, self.live_right_context_s) < 0:
            raise ValueError("live_left_context_s and live_right_context_s must be at least 0")
        if self.live_final_pass_max_s < 0:
            raise ValueError(
                f"live_final_pass_max_s must be 0 (never) or more, not {self.live_final_pass_max_s}"
            )

    @property
    def max_file_size_bytes(self) -> int:
        return int(self.max_file_size_mb * 1024 * 1024)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `HYASR_*` variables (see the module docstring); unset ones default."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        types = {f.name: f.type for f in fields(cls)}
        for variable, name in _ENV_FIELDS.items():
            raw = environ.get(variable)
            if raw is None or (raw.strip() == "" and name != "fallback_model"):
                continue
            try:
                values[name] = _PARSERS[str(types[name])](raw.strip())
            except ValueError as error:
                raise ValueError(f"{variable}={raw!r}: {error}") from error
        return cls(**values)


def _optional_str(raw: str) -> str | None:
    return None if raw.lower() in ("", "none") else raw


def _bool(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1/0, true/false, yes/no or on/off")


_PARSERS: dict[str, Callable[[str], Any]] = {
    "str": str,
    "str | None": _optional_str,
    "Path": lambda raw: Path(raw).expanduser(),
    "float": float,
    "int": int,
    "bool": _bool,
    "tuple[str, ...]": lambda raw: tuple(part.strip() for part in raw.split(",") if part.strip()),
}

_ENV_FIELDS = {
    "HYASR_MODEL": "model",
    "HYASR_REVISION": "revision",
    "HYASR_FALLBACK_MODEL": "fallback_model",
    "HYASR_DEMO_MODEL_DIR": "demo_model_dir",
    "HYASR_EXAMPLES_DIR": "examples_dir",
    "HYASR_DEVICE": "device",
    "HYASR_DTYPE": "dtype",
    "HYASR_LOW_PRECISION_MIN_MB": "low_precision_min_mb",
    "HYASR_BACKGROUND_EXPORT": "background_export",
    "HYASR_CACHE_DIR": "cache_dir",
    "HYASR_MAX_DURATION_S": "max_duration_s",
    "HYASR_MIN_DURATION_S": "min_duration_s",
    "HYASR_MAX_FILE_SIZE_MB": "max_file_size_mb",
    "HYASR_QUEUE_SIZE": "queue_max_size",
    "HYASR_CONCURRENCY": "concurrency_limit",
    "HYASR_MAX_SESSIONS": "max_sessions",
    "HYASR_TEMP_FILE_TTL_S": "temp_file_ttl_s",
    "HYASR_HEAP_TRIM_S": "heap_trim_interval_s",
    "HYASR_CHUNK_S": "chunk_s",
    "HYASR_CHUNK_CONTEXT_S": "chunk_context_s",
    "HYASR_CHUNK_BATCH": "chunk_batch_size",
    "HYASR_LOGITS_CACHE": "logits_cache_size",
    "HYASR_REQUEST_BATCH": "request_batch_size",
    "HYASR_COMPILE": "compile",
    "HYASR_COMPILE_BUCKET_S": "compile_bucket_s",
    "HYASR_BEAM_WIDTH": "beam_width",
    "HYASR_BEAM_PRUNE_LOGP": "beam_prune_logp",
    "HYASR_TOKEN_MIN_LOGP": "token_min_logp",
    "HYASR_HOTWORD_WEIGHT": "hotword_weight",
    "HYASR_LM_SEGMENT_S": "lm_segment_s",
    "HYASR_LM_SILENCE_S": "lm_silence_s",
    "HYASR_ALIGN_BAND": "align_band",
    "HYASR_DOUBTFUL_CONFIDENCE": "doubtful_confidence",
    "HYASR_CAPTION_MAX_LINE_CHARS": "caption_max_line_chars",
    "HYASR_CAPTION_MAX_LINES": "caption_max_lines",
    "HYASR_CAPTION_MAX_S": "caption_max_s",
    "HYASR_LIVE_STEP_S": "live_step_s",
    "HYASR_LIVE_MAX_STEP_S": "live_max_step_s",
    "HYASR_LIVE_LEFT_CONTEXT_S": "live_left_context_s",
    "HYASR_LIVE_RIGHT_CONTEXT_S": "live_right_context_s",
    "HYASR_LIVE_ENDPOINT_S": "live_endpoint_s",
    "HYASR_LIVE_MAX_PHRASE_S": "live_max_phrase_s",
    "HYASR_LIVE_TIME_LIMIT_S": "live_time_limit_s",
    "HYASR_LIVE_MAX_STREAMS": "live_max_streams",
    "HYASR_LIVE_MAX_BEHIND_S": "live_max_behind_s",
    "HYASR_LIVE_FINAL_PASS_MAX_S": "live_final_pass_max_s",
    "HYASR_HUB_TIMEOUT_S": "hub_timeout_s",
    "HYASR_CARD_MAX_AGE_S": "card_max_age_s",
    "HYASR_ZERO_GPU_DURATION_S": "zero_gpu_duration_s",
    "HYASR_WARM_UP": "warm_up",
    "HYASR_MODELS": "models",
    "HYASR_MAX_LOADED_MODELS": "max_loaded_models",
    "HYASR_RUN_HISTORY": "run_history",
    "HYASR_MCP_SERVER": "mcp_server",
    "HYASR_API_KEY": "api_key",
    "HYASR_URL_TIMEOUT_S": "url_timeout_s",
    "HYASR_URL_MAX_REDIRECTS": "url_max_redirects",
    "HYASR_URL_ALLOW_PRIVATE": "url_allow_private",
}
