"""The acoustic model: find a wav2vec2 CTC checkpoint, load it once, turn a `Clip` into `Logits`.

A model is named by a Hub id (with a revision), a local directory in the Hub layout, or
`demo` for the bundled model. Hub models go through huggingface_hub's cache
(`snapshot_download`); when `HF_HUB_OFFLINE` is set or the Hub does not answer within
`Settings.hub_timeout_s`, only the cache is consulted, so a machine without network
neither hangs nor downloads.

Audio longer than one window (`Settings.chunk_s`) runs as overlapping windows that share
`chunk_context_s` with each neighbour; each window contributes only the frames nearest
its centre, so memory stays bounded and a word on a window border is seen whole by one
window, neither lost nor doubled. Windows start on frame boundaries (multiples of the
conv strides' product), which makes window frames line up exactly with whole-clip frames.

Requests that arrive while a forward pass runs share the next one on a GPU
(`batching.py`); `HYASR_COMPILE` pads inputs to a few lengths for `torch.compile`
(`compiled.py`).

torch and transformers are imported inside functions: this module is also the home of
`Logits`, which the torch-free decoders use, and on ZeroGPU `spaces` must be imported
before torch.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from .audio import Clip
from .batching import BatchStats, RequestBatcher
from .errors import ModelUnavailableError
from .settings import DEMO_MODEL, Settings

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

REQUIRED_FILES = ("config.json", "preprocessor_config.json", "vocab.json")
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
# Everything but the weights is small; the weights are fetched in one format only.
_HUB_PATTERNS = ["*.json", "language_model/*", "README.md"]
_SAFETENSORS_PATTERNS = ["*.safetensors", "model.safetensors.index.json"]
_BIN_PATTERNS = ["pytorch_model*.bin", "pytorch_model.bin.index.json"]


@dataclass(frozen=True, eq=False)
class Logits:
    """CTC scores of one clip: `values` is (frames, vocabulary), unnormalised float32."""

    values: np.ndarray
    seconds_per_frame: float

    @property
    def frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def duration(self) -> float:
        return self.frames * self.seconds_per_frame


@dataclass(frozen=True)
class ModelSource:
    """Where a checkpoint came from and where its files are now."""

    ref: str  # as asked for: Hub id, directory or "demo"
    path: Path  # a directory in the Hub layout
    kind: str  # "hub", "directory" or "demo"
    revision: str | None = None  # the commit, for Hub snapshots

    @property
    def label(self) -> str:
        """A short name for the page and the logs."""
        if self.kind == "hub":
            return f"{self.ref}@{self.revision[:7]}" if self.revision else self.ref
        if self.kind == "demo":
            return "bundled demo model"
        return str(self.path)


def resolve_model(
    ref: str, revision: str | None = None, settings: Settings | None = None
) -> ModelSource:
    """Find a checkpoint's directory: `demo`, a local directory, or a Hub id (cached).

    Raises `ModelUnavailableError` saying why when it is nowhere to be had.
    """
    settings = settings or Settings()
    if ref == DEMO_MODEL:
        return ModelSource(ref, _check_layout(settings.demo_model_dir, "the demo model"), "demo")
    path = Path(ref).expanduser()
    if path.is_dir():
        return ModelSource(ref, _check_layout(path, ref), "directory")
    if ref.startswith((".", "/", "~")) or ref.count("/") > 1 or "\\" in ref:
        raise ModelUnavailableError(f"Model directory {ref} does not exist.")
    return _resolve_hub(ref, revision, settings)


def _resolve_hub(repo_id: str, revision: str | None, settings: Settings) -> ModelSource:
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    reason = "the Hub is offline (HF_HUB_OFFLINE)"
    if not constants.HF_HUB_OFFLINE:
        reason = f"the Hub ({constants.ENDPOINT}) cannot be reached"
        if _hub_reachable(constants.ENDPOINT, settings.hub_timeout_s):
            try:
                folder = snapshot_download(
                    repo_id,
                    revision=revision,
                    allow_patterns=_HUB_PATTERNS + _online_weight_patterns(repo_id, revision),
                    etag_timeout=settings.hub_timeout_s,
                )
                return _hub_source(repo_id, Path(folder))
            except (RepositoryNotFoundError, RevisionNotFoundError, HFValidationError) as error:
                raise ModelUnavailableError(f"{repo_id} ({revision or 'main'}): {error}") from error
            except Exception as error:  # network trouble of any kind: the cache may still do
                log.warning("downloading %s failed (%s); trying the local cache", repo_id, error)
                reason = f"downloading it failed ({type(error).__name__})"
    for weights in (_SAFETENSORS_PATTERNS, _BIN_PATTERNS):
        try:
            folder = snapshot_download(
                repo_id,
                revision=revision,
                allow_patterns=_HUB_PATTERNS + weights,
                local_files_only=True,
            )
        except (LocalEntryNotFoundError, HFValidationError, OSError):
            continue
        if _weights_in(Path(folder)):
            return _hub_source(repo_id, Path(folder))
    raise ModelUnavailableError(
        f"{repo_id} cannot be loaded: {reason} and it is not in the local cache."
    )


def _online_weight_patterns(repo_id: str, revision: str | None) -> list[str]:
    from huggingface_hub import model_info

    names = {sibling.rfilename for sibling in model_info(repo_id, revision=revision).siblings or []}
    if any(name.endswith(".safetensors") for name in names):
        return _SAFETENSORS_PATTERNS
    return _BIN_PATTERNS


def _hub_reachable(endpoint: str, timeout_s: float) -> bool:
    """A quick TCP connect, so an unplugged machine fails in seconds, not after retries."""
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _hub_source(repo_id: str, folder: Path) -> ModelSource:
    _check_layout(folder, repo_id)
    commit = folder.name if folder.parent.name == "snapshots" else None
    return ModelSource(repo_id, folder, "hub", commit)


def _weights_in(path: Path) -> bool:
    return any((path / name).is_file() for name in WEIGHT_FILES)


def _check_layout(path: Path, name: str) -> Path:
    if not path.is_dir():
        raise ModelUnavailableError(f"{name} is not there ({path} does not exist).")
    missing = [file for file in REQUIRED_FILES if not (path / file).is_file()]
    if not _weights_in(path):
        missing.append("model.safetensors or pytorch_model.bin")
    if missing:
        raise ModelUnavailableError(f"{name} is incomplete: {', '.join(missing)} missing.")
    return path


@dataclass(frozen=True)
class Window:
    """One slice of a long clip: samples [start, end), keeping frames [keep_start, keep_end)
    of the whole clip's frame grid."""

    start: int
    end: int
    keep_start: int
    keep_end: int


def conv_frames(samples: int, kernels: Sequence[int], strides: Sequence[int]) -> int:
    """Frames the wav2vec2 conv feature encoder makes of `samples` samples."""
    for kernel, stride in zip(kernels, strides, strict=True):
        samples = (samples - kernel) // stride + 1
    return max(samples, 0)


def plan_windows(
    total: int, window: int, context: int, kernels: Sequence[int], strides: Sequence[int]
) -> list[Window]:
    """Cut `total` samples into windows of `window` samples sharing `context` with each
    neighbour, and give each window the frames nearest its centre.

    Window starts are multiples of the frame step, so frame i of a window starting at s
    is frame s / step + i of the whole clip; the kept ranges tile [0, frames(total)).
    """
    step = math.prod(strides)
    field = conv_frames_receptive_field(kernels, strides)
    context = max(context, field)  # less than one receptive field would drop frames
    window = max(window // step * step, 2 * context + step)
    total_frames = conv_frames(total, kernels, strides)
    if total <= window:
        return [Window(0, total, 0, total_frames)]
    hop = (window - 2 * context) // step * step
    starts = [0]
    while starts[-1] + window < total:
        starts.append(starts[-1] + hop)
    # The last window runs from its place in the hop sequence to the clip's end, however
    # short: it has its `context` on the left like every other window, and the clip's end
    # on the right, as one pass would. (Stretching it back to full length, as this once
    # did, ran a 60 s clip as 90 s of windows instead of 70.)
    ends = [start + window for start in starts[:-1]] + [total]
    windows = []
    keep_start = 0
    for index, (start, end) in enumerate(zip(starts, ends, strict=True)):
        if index + 1 < len(starts):
            middle = (starts[index + 1] + end) // 2  # centre of the overlap with the next
            keep_end = round(middle / step)
        else:
            keep_end = total_frames
        windows.append(Window(start, end, keep_start, keep_end))
        keep_start = keep_end
    return windows


def equal_length_batches(windows: Sequence[Window], size: int) -> list[list[Window]]:
    """Consecutive windows in batches of up to `size`, all of one length (only the last
    window is shorter): a padded batch needs an attention mask, for
    which transformers builds a (batch, 1, frames, frames) tensor and SDPA may leave its
    fastest kernel, and a window's logits would depend on what it was batched with."""
    batches: list[list[Window]] = []
    for window in windows:
        length = window.end - window.start
        last = batches[-1] if batches else None
        if last and len(last) < size and last[0].end - last[0].start == length:
            last.append(window)
        else:
            batches.append([window])
    return batches


def clip_statistics(samples: np.ndarray, block: int = 1 << 20) -> tuple[float, float]:
    """Mean and sqrt(variance + 1e-7) of a clip (transformers' wav2vec2 normalisation),
    summed in float64 block by block, so an hour of audio needs no float64 copy."""
    count = max(len(samples), 1)
    blocks = range(0, len(samples), block)
    mean = sum(float(samples[i : i + block].sum(dtype=np.float64)) for i in blocks) / count
    square = sum(
        float(np.square(samples[i : i + block] - mean, dtype=np.float64).sum()) for i in blocks
    )
    return mean, math.sqrt(square / count + 1e-7)


def conv_frames_receptive_field(kernels: Sequence[int], strides: Sequence[int]) -> int:
    """Samples that one output frame of the conv feature encoder sees."""
    field, jump = 1, 1
    for kernel, stride in zip(kernels, strides, strict=True):
        field += (kernel - 1) * jump
        jump *= stride
    return field


class AcousticModel:
    """A loaded wav2vec2 CTC network: `logits(clip)` runs it, chunked when the clip is long.

    Share one instance across threads: forward passes are serialised (they would only
    compete for the same cores or GPU), everything else is read-only.
    """

    def __init__(
        self,
        source: ModelSource,
        network: Any,
        feature_extractor: Any,
        *,
        device: str,
        dtype: str,
        settings: Settings,
    ) -> None:
        config = network.config
        if getattr(config, "add_adapter", False):
            raise ModelUnavailableError(
                f"{source.label}: checkpoints with adapters are unsupported."
            )
        self.source = source
        self.device = device
        self.dtype = dtype
        self.settings = settings
        self.sample_rate = int(feature_extractor.sampling_rate)
        self.vocab_size = int(config.vocab_size)
        self._kernels = tuple(config.conv_kernel)
        self._strides = tuple(config.conv_stride)
        self.frame_step = math.prod(self._strides)
        self.seconds_per_frame = self.frame_step / self.sample_rate
        self.receptive_field = conv_frames_receptive_field(self._kernels, self._strides)
        # Windows are normalised with the whole clip's mean and variance (see `logits`), so
        # the extractor only pads; it is a copy because the loaded one is shared.
        self._normalize = bool(getattr(feature_extractor, "do_normalize", False))
        self._feature_extractor = copy.copy(feature_extractor)
        self._feature_extractor.do_normalize = False
        self._key = f"{source.label}:{device}:{dtype}:{id(self)}"
        # One lock per network, shared by the wrappers of different settings around it.
        self._lock = _NETWORK_LOCKS.setdefault(id(network), threading.Lock())
        # Padding is exact only where the feature encoder uses layer norm and the extractor
        # makes attention masks (XLS-R); group norm would normalise over the padding.
        self.pads_exactly = config.feat_extract_norm == "layer" and bool(
            getattr(feature_extractor, "return_attention_mask", False)
        )
        self._buckets: list[int] = []
        if settings.compile and hasattr(network, "parameters") and not on_zero_gpu():
            from .compiled import bucket_lengths, compile_network

            network = compile_network(network, device, dynamic=not self.pads_exactly)
            if self.pads_exactly:  # lengths in whole frames, so no frame is cut in two
                step = self.frame_step
                bucket = max(
                    step, round(settings.compile_bucket_s * self.sample_rate / step) * step
                )
                window = int(settings.chunk_s * self.sample_rate) // step * step
                self._buckets = bucket_lengths(bucket, window)
        self.compiled = hasattr(network, "_orig_mod")  # what torch.compile returns
        _NETWORKS[self._key] = network
        _GPU_SECONDS[self._key] = settings.zero_gpu_duration_s
        self.request_batch_size = request_batch_size(settings, device)
        self._batcher: RequestBatcher | None = None
        if self.request_batch_size > 1:
            self._batcher = RequestBatcher(
                self._forward_batch, max_windows=self.request_batch_size, pad=self.pads_exactly
            )

    @property
    def name(self) -> str:
        return self.source.label

    @property
    def path(self) -> Path:
        return self.source.path

    @property
    def network(self) -> Any:
        return _NETWORKS[self._key]

    def __repr__(self) -> str:
        return f"AcousticModel({self.name!r}, device={self.device!r}, dtype={self.dtype!r})"

    def logits(self, clip: Clip, progress: Callable[[int, int], None] | None = None) -> Logits:
        """CTC scores for a 16 kHz clip; one forward pass unless it exceeds one window.

        `progress(done, total)` is called after each batch of windows.
        """
        if clip.sample_rate != self.sample_rate:
            raise ValueError(f"clip is {clip.sample_rate} Hz, model expects {self.sample_rate}")
        samples = clip.samples
        if len(samples) < self.receptive_field:  # too short for even one frame
            samples = np.pad(samples, (0, self.receptive_field - len(samples)))
        windows = plan_windows(
            len(samples),
            int(self.settings.chunk_s * self.sample_rate),
            int(self.settings.chunk_context_s * self.sample_rate),
            self._kernels,
            self._strides,
        )
        # One normalisation for the whole clip, as an unchunked pass would have: per-window
        # statistics would rescale each window differently (a quiet stretch comes out
        # louder) and make the chunked result depend on where the windows fall.
        mean, scale = clip_statistics(samples) if self._normalize else (0.0, 1.0)
        pieces = []
        done = 0
        for batch in equal_length_batches(windows, self.settings.chunk_batch_size):
            inputs = [((samples[w.start : w.end] - mean) / scale) for w in batch]
            outputs = self._forward([x.astype(np.float32, copy=False) for x in inputs])
            for window, output in zip(batch, outputs, strict=True):
                offset = window.start // self.frame_step
                # A copy, so the batch's full output is not kept alive by a view.
                pieces.append(output[window.keep_start - offset : window.keep_end - offset].copy())
            done += len(batch)
            if progress is not None:
                progress(done, len(windows))
        return Logits(np.concatenate(pieces).astype(np.float32, copy=False), self.seconds_per_frame)

    @property
    def batch_stats(self) -> BatchStats | None:
        """What cross-request batching has done so far (None when it is off)."""
        return self._batcher.stats if self._batcher else None

    def _forward(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        if self._batcher is not None:
            return self._batcher(windows)
        return self._forward_batch(windows)

    def _forward_batch(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        features = self._feature_extractor(
            windows, sampling_rate=self.sample_rate, padding=True, return_tensors="np"
        )
        values, mask = features["input_values"], features.get("attention_mask")
        if self._buckets and mask is not None:
            from .compiled import bucket_batch, bucket_length, pad_to_bucket

            length = bucket_length(values.shape[1], self._buckets)
            values, mask = pad_to_bucket(values, mask, length, bucket_batch(len(windows)))
        with self._lock:
            scores = _forward_on_device(self._key, values, mask, bool(self._buckets))
        frames = [conv_frames(len(window), self._kernels, self._strides) for window in windows]
        return [score[:count] for score, count in zip(scores, frames, strict=True)]

    def warm_up(self) -> None:
        """Run the network once on silence so that the first user does not pay for lazy
        initialisation; when compiled, once per length bucket (each one compiles)."""
        lengths = self._buckets or [self.sample_rate]
        for length in lengths:
            self._forward_batch([np.zeros(length, dtype=np.float32)])


# The networks live here, not on AcousticModel, so that the ZeroGPU-wrapped function
# receives only a key and numpy arrays: its arguments are pickled to a GPU worker.
_NETWORKS: dict[str, Any] = {}
_NETWORK_LOCKS: dict[int, threading.Lock] = {}
_GPU_SECONDS: dict[str, int] = {}


def _run_network(
    key: str,
    input_values: np.ndarray,
    attention_mask: np.ndarray | None,
    keep_mask: bool = False,
):
    import torch

    network = _NETWORKS[key]
    if hasattr(network, "run_numpy"):  # quantized.OnnxCTC (HYASR_DTYPE=int8)
        return network.run_numpy(input_values, attention_mask)
    parameter = next(network.parameters())
    with torch.inference_mode():
        values = torch.from_numpy(input_values).to(parameter.device, parameter.dtype)
        mask = None
        # An all-ones mask changes nothing but costs a mask build per layer and keeps SDPA
        # off its fastest (flash) kernels: pass one only when the batch is padded, or
        # always for a compiled network (`keep_mask`), so that it meets one graph, not two.
        if attention_mask is not None and (keep_mask or not attention_mask.all()):
            # int64, as transformers makes its own masks: torch.compile's AVX2 code turned
            # an int32 mask into NaN logits (torch 2.13; AVX-512 code did not)
            mask = torch.from_numpy(attention_mask).to(parameter.device, torch.long)
        logits = network(values, attention_mask=mask).logits
        return logits.float().cpu().numpy()


def on_zero_gpu() -> bool:
    """True on a ZeroGPU Space, where GPU work must happen inside `spaces.GPU` calls."""
    return bool(os.environ.get("SPACES_ZERO_GPU"))


def _gpu_seconds(key: str, *_: Any) -> int:
    return _GPU_SECONDS.get(key, 60)


def _zero_gpu(function: Callable[..., Any]) -> Callable[..., Any]:
    """`spaces.GPU` on ZeroGPU Spaces (it is a no-op elsewhere); the function itself without
    the `spaces` package. Only the forward pass is wrapped: beam search stays on the CPU."""
    try:
        import spaces
    except ImportError:
        return function
    return spaces.GPU(duration=_gpu_seconds)(function)


_forward_on_device = _zero_gpu(_run_network)


_MODELS: dict[tuple[str, str | None, str, str, Settings], AcousticModel] = {}
_LOADED: dict[tuple[Path, str, str], tuple[Any, Any]] = {}  # weights, shared across settings
_MODELS_LOCK = threading.Lock()


def load_model(
    ref: str | None = None, revision: str | None = None, settings: Settings | None = None
) -> AcousticModel:
    """The process-wide `AcousticModel` for (ref, revision, device, dtype, settings).

    The weights are loaded once per checkpoint, device and dtype, whatever the settings.
    Raises `ModelUnavailableError` when the checkpoint cannot be found or loaded.
    """
    settings = settings or Settings()
    ref = ref or settings.model
    revision = revision if revision is not None else settings.revision
    device = pick_device(settings.device)
    dtype = pick_dtype(settings.dtype, device)
    key = (ref, revision, device, dtype, settings)
    with _MODELS_LOCK:  # one loader at a time: two threads must not load 4 GB twice
        if key not in _MODELS:
            source = resolve_model(ref, revision, settings)
            weights_key = (source.path.resolve(), device, dtype)
            if weights_key not in _LOADED:
                _LOADED[weights_key] = _load(source, device, dtype, settings)
            network, feature_extractor = _LOADED[weights_key]
            _MODELS[key] = AcousticModel(
                source, network, feature_extractor, device=device, dtype=dtype, settings=settings
            )
        return _MODELS[key]


def request_batch_size(settings: Settings, device: str) -> int:
    """Windows per cross-request batch: `settings.request_batch_size`, or for 0 (auto) 8
    on a GPU and 1 (no batching) on the CPU, where one request already keeps every core
    busy and a bigger batch only makes each request wait for the others. On ZeroGPU each
    request's forward pass runs in its own `spaces.GPU` call (and counts against its own
    user's quota), so requests are never merged there."""
    if on_zero_gpu():
        return 1
    if settings.request_batch_size:
        return settings.request_batch_size
    return 8 if device == "cuda" else 1


def pick_device(requested: str) -> str:
    """`cuda` when asked for or (for `auto`) present, else `cpu`."""
    import torch

    if requested == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        log.warning("HYASR_DEVICE=cuda but no GPU is visible; using the CPU")
    return "cpu"


def pick_dtype(requested: str, device: str) -> str:
    """bf16 (fp16 on older GPUs) on CUDA, float32 on the CPU unless asked otherwise;
    int8 (ONNX Runtime) only on the CPU."""
    import torch

    if requested == "int8":
        from .quantized import available

        if device == "cuda":  # int8 is the CPU path; a GPU is faster in bf16
            requested = "auto"
        elif not available():
            log.warning("HYASR_DTYPE=int8 needs onnxruntime and onnx; using float32")
            return "float32"
        else:
            return "int8"
    if requested == "auto":
        if device != "cuda":
            return "float32"
        if on_zero_gpu():  # no CUDA queries outside spaces.GPU; its GPUs all do bf16
            return "bfloat16"
        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if requested == "float16" and device == "cpu":
        log.warning("float16 is slow or unsupported on the CPU; using float32")
        return "float32"
    return requested


def _load(
    source: ModelSource, device: str, dtype: str, settings: Settings | None = None
) -> tuple[Any, Any]:
    import torch
    from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    log.info("loading %s on %s (%s)", source.label, device, dtype)
    try:
        feature_extractor = Wav2Vec2FeatureExtractor.from_pretrained(source.path)
        if dtype == "int8":
            from .quantized import load_int8

            cache_dir = (settings or Settings()).cache_dir
            return load_int8(source.path, cache_dir), feature_extractor
        reduced_on_cpu = device == "cpu" and dtype != "float32"
        # torch's bf16 flash-attention CPU kernel packs with AVX-512 instructions and
        # raises ("pack_vnni2 is only supported when avx512 is supported") where torch
        # runs its AVX2 kernels: eager attention there.
        eager = reduced_on_cpu and "AVX512" not in torch.backends.cpu.get_cpu_capability()
        network = _from_pretrained(
            Wav2Vec2ForCTC, source.path, getattr(torch, dtype), "eager" if eager else "sdpa"
        )
        if reduced_on_cpu:
            keep_positional_conv_in_float32(network)
        network.to(device).eval()
    except Exception as error:  # corrupt or foreign files fail in many ways; all mean the same
        raise ModelUnavailableError(f"{source.label} could not be loaded: {error}") from error
    return network, feature_extractor


def keep_positional_conv_in_float32(network: Any) -> None:
    """Run the positional convolution of a bf16/fp16 network in float32, on the CPU.

    oneDNN's AMX kernel for bf16 grouped 1-D convolutions with few channels per group
    returns wrong values (torch 2.13 on a Sapphire Rapids-class Xeon: relative error 1.0
    with 8 or 12 channels a group, as in the demo and test models; right with XLS-R's 80,
    and right with ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16). The demo model's bf16 greedy CER
    was 0.46-0.60 against float32 until this; the convolution is about 1 % of the FLOPs.
    """
    import torch

    class Float32(torch.nn.Module):
        def __init__(self, module: torch.nn.Module) -> None:
            super().__init__()
            self.module = module.float()

        def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
            return self.module(hidden_states.float()).to(hidden_states.dtype)

    encoder = network.wav2vec2.encoder
    encoder.pos_conv_embed = Float32(encoder.pos_conv_embed)


def _from_pretrained(cls: Any, path: Path, dtype: torch.dtype, attention: str = "sdpa") -> Any:
    try:
        return cls.from_pretrained(path, dtype=dtype, attn_implementation=attention)
    except (ValueError, ImportError) as error:  # a config or torch without SDPA
        log.info("SDPA attention unavailable (%s); using eager attention", error)
        return cls.from_pretrained(path, dtype=dtype)


def clear_model_cache() -> None:
    """Forget loaded models (tests; switching models in a long-lived process)."""
    with _MODELS_LOCK:
        for model in _MODELS.values():
            _NETWORKS.pop(model._key, None)
            _GPU_SECONDS.pop(model._key, None)
        _MODELS.clear()
        _LOADED.clear()
        _NETWORK_LOCKS.clear()
