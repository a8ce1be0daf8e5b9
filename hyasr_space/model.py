"""The acoustic model: load a wav2vec2 CTC checkpoint once, turn a `Clip` into `Logits`.

`load_model` resolves the checkpoint (checkpoints.py), loads its weights once per
process, device and dtype (caches.py), and wraps them in an `AcousticModel`, whose
`logits(clip)` runs the network: in one pass, or over overlapping windows stitched at
their centres when the clip is longer than one window (windows.py).

Requests that arrive while a forward pass runs share the next one on a GPU
(`batching.py`); `HYASR_COMPILE` pads inputs to a few lengths for `torch.compile`
(`compiled.py`); int8 runs an ONNX Runtime export on the CPU (`quantized.py`).

Which dtype serves is `precision.py`'s choice (`pick_precision`). When it is int8 and
the export is not cached yet, the model serves at once in the interim dtype while a
background thread has the export made (in a child process), then swaps the network
between two forward passes (`AcousticModel.preparing`, `wait_until_prepared`).

torch and transformers are imported inside functions: on ZeroGPU `spaces` must be
imported before torch, and the CLI's quick commands should not pay for importing them.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .batching import BatchStats, RequestBatcher
from .caches import Registry
from .checkpoints import ModelSource, resolve_model
from .errors import ModelUnavailableError
from .precision import CpuFeatures, Precision, cpu_precision, weights_mb
from .results import Clip, Logits
from .settings import Settings
from .windows import (
    Window,
    clip_statistics,
    conv_frames,
    conv_frames_receptive_field,
    equal_length_batches,
    plan_windows,
)

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


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
        self.conv_kernels = tuple(config.conv_kernel)
        self.conv_strides = tuple(config.conv_stride)
        self.frame_step = math.prod(self.conv_strides)
        self.seconds_per_frame = self.frame_step / self.sample_rate
        self.receptive_field = conv_frames_receptive_field(self.conv_kernels, self.conv_strides)
        # Windows are normalised with the whole clip's mean and variance (see `logits`), so
        # the extractor only pads; it is a copy because the loaded one is shared.
        self._normalize = bool(getattr(feature_extractor, "do_normalize", False))
        self.feature_extractor = copy.copy(feature_extractor)
        self.feature_extractor.do_normalize = False
        self._key = f"{source.label}:{device}:{dtype}:{id(self)}"
        self._weights = (network, feature_extractor)  # as loaded (shared in _WEIGHTS)
        # Notices for people (a failed int8 export); the transcriber shows them.
        self.notices: tuple[str, ...] = ()
        self.preparing: str | None = None  # the dtype being made ready in the background
        self._prepared = threading.Event()
        self._prepared.set()
        # One lock per network, shared by the wrappers of different settings around it.
        self._lock = _NETWORK_LOCKS.get_or_create(id(network), threading.Lock)
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
        _NETWORKS.set(self._key, (network, settings.zero_gpu_duration_s))
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
        return _network(self._key)

    def __repr__(self) -> str:
        return f"AcousticModel({self.name!r}, device={self.device!r}, dtype={self.dtype!r})"

    @property
    def runtime(self) -> str:
        """The path that serves, for people: "int8 (ONNX Runtime)", "bfloat16 until int8
        is ready", "float32"."""
        label = "int8 (ONNX Runtime)" if self.dtype == "int8" else self.dtype
        if self.preparing:
            return f"{label} until {self.preparing} is ready"
        return label

    def wait_until_prepared(self, timeout: float | None = None) -> bool:
        """Wait for a background switch (`preparing`) to end, in a swap or a notice;
        False on timeout."""
        return self._prepared.wait(timeout)

    def prepare_in_background(self, dtype: str, interim_key: tuple[Path, str, str]) -> None:
        """Serve as now while `dtype` (int8) is made in a background thread, then switch
        to it between two forward passes and release the weights under `interim_key`."""
        if dtype != "int8":
            raise ValueError(f"only int8 is prepared in the background, not {dtype}")
        self.preparing = dtype
        self._prepared.clear()
        thread = threading.Thread(
            target=self._prepare, args=(dtype, interim_key), name="hyasr-int8", daemon=True
        )
        thread.start()

    def _prepare(self, dtype: str, interim_key: tuple[Path, str, str]) -> None:
        from .quantized import load_int8

        key = (self.path.resolve(), self.device, dtype)
        try:
            entry = _WEIGHTS.get(key)
            if entry is None:  # not under the registry's lock: this takes minutes
                network = load_int8(self.path, self.settings.cache_dir, background=True)
                _WEIGHTS.set(key, (network, self._weights[1]))
                entry = _WEIGHTS.get(key) or (network, self._weights[1])
        except Exception as error:  # whatever broke, the interim network keeps serving
            log.error("the int8 model of %s could not be made: %s", self.name, error)
            self.notices += (
                f"The faster int8 model could not be prepared ({error}); "
                f"{self.dtype} keeps serving.",
            )
        else:
            self._swap(entry[0], dtype)
            _WEIGHTS.discard(interim_key)  # the interim weights go once nothing holds them
        finally:
            self.preparing = None
            self._prepared.set()

    def _swap(self, network: Any, dtype: str) -> None:
        with self._lock:  # between two forward passes
            entry = _NETWORKS.get(self._key)
            if entry is None:  # caches.clear() unloaded this model meanwhile
                return
            _NETWORKS.set(self._key, (network, entry[1]))
            self.dtype = dtype
            self._weights = (network, self._weights[1])
            self._buckets = []  # compiled lengths were for the torch network
            self.compiled = False
        log.info("%s now serves in %s", self.name, self.runtime)

    def logits(self, clip: Clip, progress: Callable[[int, int], None] | None = None) -> Logits:
        """CTC scores for a 16 kHz clip; one forward pass unless it exceeds one window.

        `progress(done, total)` is called after each batch of windows.
        """
        if clip.sample_rate != self.sample_rate:
            raise ValueError(f"clip is {clip.sample_rate} Hz, model expects {self.sample_rate}")
        samples = clip.samples
        if len(samples) < self.receptive_field:  # too short for even one frame
            samples = np.pad(samples, (0, self.receptive_field - len(samples)))
        windows = self.plan(len(samples))
        # One normalisation for the whole clip, as an unchunked pass would have: per-window
        # statistics would rescale each window differently (a quiet stretch comes out
        # louder) and make the chunked result depend on where the windows fall.
        mean, scale = clip_statistics(samples) if self._normalize else (0.0, 1.0)
        pieces = []
        done = 0
        for batch in equal_length_batches(windows, self.settings.chunk_batch_size):
            inputs = [((samples[w.start : w.end] - mean) / scale) for w in batch]
            outputs = self.forward([x.astype(np.float32, copy=False) for x in inputs])
            for window, output in zip(batch, outputs, strict=True):
                offset = window.start // self.frame_step
                # A copy, so the batch's full output is not kept alive by a view.
                pieces.append(output[window.keep_start - offset : window.keep_end - offset].copy())
            done += len(batch)
            if progress is not None:
                progress(done, len(windows))
        return Logits(np.concatenate(pieces).astype(np.float32, copy=False), self.seconds_per_frame)

    def plan(self, samples: int) -> list[Window]:
        """The windows that `logits` runs a clip of `samples` samples as."""
        return plan_windows(
            samples,
            int(self.settings.chunk_s * self.sample_rate),
            int(self.settings.chunk_context_s * self.sample_rate),
            self.conv_kernels,
            self.conv_strides,
        )

    @property
    def batch_stats(self) -> BatchStats | None:
        """What cross-request batching has done so far (None when it is off)."""
        return self._batcher.stats if self._batcher else None

    def forward(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        """The network's scores (frames, vocabulary) for each window of normalised samples,
        batched with other requests' windows when cross-request batching is on."""
        if self._batcher is not None:
            return self._batcher(windows)
        return self._forward_batch(windows)

    def _forward_batch(self, windows: list[np.ndarray]) -> list[np.ndarray]:
        features = self.feature_extractor(
            windows, sampling_rate=self.sample_rate, padding=True, return_tensors="np"
        )
        values, mask = features["input_values"], features.get("attention_mask")
        if self._buckets and mask is not None:
            from .compiled import bucket_batch, bucket_length, pad_to_bucket

            length = bucket_length(values.shape[1], self._buckets)
            values, mask = pad_to_bucket(values, mask, length, bucket_batch(len(windows)))
        with self._lock:
            scores = _forward_on_device(self._key, values, mask, bool(self._buckets))
        frames = [conv_frames(len(w), self.conv_kernels, self.conv_strides) for w in windows]
        return [score[:count] for score, count in zip(scores, frames, strict=True)]

    def warm_up(self) -> None:
        """Run the network once on silence so that the first user does not pay for lazy
        initialisation; when compiled, once per length bucket (each one compiles)."""
        lengths = self._buckets or [self.sample_rate]
        for length in lengths:
            self._forward_batch([np.zeros(length, dtype=np.float32)])


# The networks live here, not on AcousticModel, so that the ZeroGPU-wrapped function
# receives only a key and numpy arrays: its arguments are pickled to a GPU worker.
# key -> (network, ZeroGPU seconds per call)
_NETWORKS: Registry[str, tuple[Any, int]] = Registry("networks")
_NETWORK_LOCKS: Registry[int, threading.Lock] = Registry("network locks")
_MODELS: Registry[tuple[str, str | None, str, str, Settings], AcousticModel] = Registry("models")
# Weights (network, feature extractor) by (directory, device, dtype), shared across settings.
_WEIGHTS: Registry[tuple[Path, str, str], tuple[Any, Any]] = Registry("model weights")


def _network(key: str) -> Any:
    entry = _NETWORKS.get(key)
    if entry is None:
        raise ModelUnavailableError("the model was unloaded (caches.clear()); load it again")
    return entry[0]


def _run_network(
    key: str,
    input_values: np.ndarray,
    attention_mask: np.ndarray | None,
    keep_mask: bool = False,
):
    import torch

    network = _network(key)
    if hasattr(network, "run_numpy"):  # quantized.OnnxCTC (HYASR_DTYPE=int8)
        return network.run_numpy(input_values, attention_mask)
    parameter = next(network.parameters())
    # oneDNN keeps buffers for every new input length and never gives them back (the soak
    # benchmark: about 290 MB more after 3000 requests of varied lengths), while float32 on
    # the CPU runs as fast without it (within 1 % on the 1B model's layers); bf16 and
    # compiled networks keep it.
    plain_cpu = parameter.device.type == "cpu" and parameter.dtype == torch.float32
    with torch.inference_mode(), _one_dnn(enabled=not plain_cpu or keep_mask):
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


@contextmanager
def _one_dnn(enabled: bool) -> Iterator[None]:
    """oneDNN (mkldnn) on or off for the calls inside; only that flag changes
    (`torch.backends.mkldnn.flags` would also reset its TF32 and precision settings)."""
    import torch

    previous = torch.backends.mkldnn.set_flags(_enabled=enabled, _fp32_precision=None)[0]
    try:
        yield
    finally:
        torch.backends.mkldnn.set_flags(_enabled=previous, _fp32_precision=None)


def on_zero_gpu() -> bool:
    """True on a ZeroGPU Space, where GPU work must happen inside `spaces.GPU` calls."""
    return bool(os.environ.get("SPACES_ZERO_GPU"))


def _gpu_seconds(key: str, *_: Any) -> int:
    entry = _NETWORKS.get(key)
    return entry[1] if entry else Settings().zero_gpu_duration_s


def _zero_gpu(function: Callable[..., Any]) -> Callable[..., Any]:
    """`spaces.GPU` on ZeroGPU Spaces (it is a no-op elsewhere); the function itself without
    the `spaces` package. Only the forward pass is wrapped: beam search stays on the CPU."""
    try:
        import spaces
    except ImportError:
        return function
    return spaces.GPU(duration=_gpu_seconds)(function)


_forward_on_device = _zero_gpu(_run_network)


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

    def create() -> AcousticModel:
        source = resolve_model(ref, revision, settings)
        precision = pick_precision(settings.dtype, device, source.path, settings)
        log.info("%s on %s: %s (%s)", source.label, device, precision.dtype, precision.reason)
        dtype = precision.dtype
        prepare = precision.interim is not None and not _int8_cached(source.path, settings)
        if prepare:
            dtype = precision.interim
        # Interim weights have their own key: they are dropped after the switch, while
        # an explicitly requested dtype's stay.
        key = (
            source.path.resolve(),
            device,
            f"{dtype} until {precision.dtype}" if prepare else dtype,
        )
        network, feature_extractor = _WEIGHTS.get_or_create(
            key, lambda: _load(source, device, dtype, settings)
        )
        model = AcousticModel(
            source, network, feature_extractor, device=device, dtype=dtype, settings=settings
        )
        if prepare and settings.background_export:
            model.prepare_in_background(precision.dtype, key)
        elif prepare:
            log.info("%s: the int8 model is not cached; %s serves", source.label, dtype)
        return model

    return _MODELS.get_or_create((ref, revision, device, settings.dtype, settings), create)


def _int8_cached(model_dir: Path, settings: Settings) -> bool:
    from .quantized import is_cached

    return is_cached(model_dir, settings.cache_dir)


def pick_precision(requested: str, device: str, model_dir: Path, settings: Settings) -> Precision:
    """The dtype that serves a checkpoint: `precision.cpu_precision` for `auto` on a CPU
    (by the CPU's features and the checkpoint's size), `pick_dtype` otherwise."""
    if requested == "auto" and device == "cpu":
        from .quantized import available

        return cpu_precision(
            CpuFeatures.detect(),
            int8_available=available(),
            weights_mb=weights_mb(model_dir),
            min_mb=settings.low_precision_min_mb,
        )
    return Precision(pick_dtype(requested, device), reason=f"HYASR_DTYPE={requested}")


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
    """bf16 (fp16 on older GPUs) on CUDA; int8 (ONNX Runtime) only on the CPU. `auto` on
    the CPU is float32 here: `pick_precision` makes the CPU's real choice, which depends
    on the checkpoint."""
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
