"""`AcousticModel`: a loaded wav2vec2 CTC network that turns a `Clip` into `Logits`.

`logits(clip)` runs the network in one pass, or over overlapping windows stitched at
their centres when the clip is longer than one window (windows.py). Streaming uses the
same network through its public frame grid (`frame_step`, `receptive_field`,
`frames()`), its normalisation (`normalizes`, `statistics()`) and `scores()`, so that
nothing outside this module re-derives them from the checkpoint's files.

When int8 is chosen but not cached yet, the model serves in an interim dtype while a
background thread has the export made (int8.py), then swaps the network between two
forward passes (`preparing`, `wait_until_prepared`).
"""

from __future__ import annotations

import copy
import logging
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelUnavailableError
from ..results import Clip, Logits
from ..settings import Settings
from .batching import BatchStats, RequestBatcher
from .checkpoints import ModelSource
from .networks import NETWORK_LOCKS, NETWORKS, WEIGHTS, forward_on_device, network_for
from .policy import on_zero_gpu, request_batch_size
from .windows import (
    Window,
    clip_statistics,
    conv_frames,
    conv_frames_receptive_field,
    equal_length_batches,
    plan_windows,
)

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
        # Whether inputs are scaled to zero mean and unit variance (the checkpoint's
        # do_normalize); `statistics()` gives the values, for a clip or a stream.
        self.normalizes = bool(getattr(feature_extractor, "do_normalize", False))
        self.feature_extractor = copy.copy(feature_extractor)
        self.feature_extractor.do_normalize = False
        self._key = f"{source.label}:{device}:{dtype}:{id(self)}"
        self._weights = (network, feature_extractor)  # as loaded (shared in WEIGHTS)
        # Notices for people (a failed int8 export); the transcriber shows them.
        self.notices: tuple[str, ...] = ()
        self.preparing: str | None = None  # the dtype being made ready in the background
        self._prepared = threading.Event()
        self._prepared.set()
        # One lock per network, shared by the wrappers of different settings around it.
        self._lock = NETWORK_LOCKS.get_or_create(id(network), threading.Lock)
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
        NETWORKS.set(self._key, (network, settings.zero_gpu_duration_s))
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
        return network_for(self._key)

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
        from .int8 import load_int8

        key = (self.path.resolve(), self.device, dtype)
        try:
            entry = WEIGHTS.get(key)
            if entry is None:  # not under the registry's lock: this takes minutes
                network = load_int8(self.path, self.settings.cache_dir, background=True)
                WEIGHTS.set(key, (network, self._weights[1]))
                entry = WEIGHTS.get(key) or (network, self._weights[1])
        except Exception as error:  # whatever broke, the interim network keeps serving
            log.error("the int8 model of %s could not be made: %s", self.name, error)
            self.notices += (
                f"The faster int8 model could not be prepared ({error}); "
                f"{self.dtype} keeps serving.",
            )
        else:
            self._swap(entry[0], dtype)
            WEIGHTS.discard(interim_key)  # the interim weights go once nothing holds them
        finally:
            self.preparing = None
            self._prepared.set()

    def _swap(self, network: Any, dtype: str) -> None:
        with self._lock:  # between two forward passes
            entry = NETWORKS.get(self._key)
            if entry is None:  # caches.clear() unloaded this model meanwhile
                return
            NETWORKS.set(self._key, (network, entry[1]))
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
        samples = self.padded(clip.samples)
        windows = self.plan(len(samples))
        # One normalisation for the whole clip, as an unchunked pass would have: per-window
        # statistics would rescale each window differently (a quiet stretch comes out
        # louder) and make the chunked result depend on where the windows fall.
        mean, scale = self.statistics(samples)
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

    # --- the frame grid and normalisation, public for streaming --------------------------

    def frames(self, samples: int) -> int:
        """Frames the network makes of `samples` samples (frame i starts at sample
        i * frame_step and sees `receptive_field` samples)."""
        return conv_frames(samples, self.conv_kernels, self.conv_strides)

    def padded(self, samples: np.ndarray) -> np.ndarray:
        """`samples`, padded with silence to one frame's receptive field when shorter."""
        if len(samples) < self.receptive_field:
            return np.pad(samples, (0, self.receptive_field - len(samples)))
        return samples

    def statistics(self, samples: np.ndarray) -> tuple[float, float]:
        """(mean, scale) that inputs are normalised with: the clip's own, as the feature
        extractor computes them, or (0, 1) when the checkpoint does not normalise."""
        return clip_statistics(samples) if self.normalizes else (0.0, 1.0)

    def scores(self, samples: np.ndarray, statistics: tuple[float, float]) -> np.ndarray:
        """The network's scores (frames, vocabulary) for one stretch of raw samples that
        starts on the frame grid, normalised with `statistics` (a stream's running ones,
        say); padded to one frame when shorter, as `logits` does."""
        mean, scale = statistics if self.normalizes else (0.0, 1.0)
        window = (self.padded(samples) - mean) / scale
        return self.forward([window.astype(np.float32, copy=False)])[0]

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
            scores = forward_on_device(self._key, values, mask, bool(self._buckets))
        frames = [self.frames(len(w)) for w in windows]
        return [score[:count] for score, count in zip(scores, frames, strict=True)]

    def warm_up(self) -> None:
        """Run the network once on silence so that the first user does not pay for lazy
        initialisation; when compiled, once per length bucket (each one compiles)."""
        lengths = self._buckets or [self.sample_rate]
        for length in lengths:
            self._forward_batch([np.zeros(length, dtype=np.float32)])
