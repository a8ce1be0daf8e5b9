"""`load_model`: resolve a checkpoint, load its weights once, wrap them in an `AcousticModel`.

The weights are loaded once per process, checkpoint, device and dtype (a `Registry`,
so `caches.clear()` forgets them). torch and transformers are imported inside
functions: on ZeroGPU `spaces` must be imported before torch, and the CLI's quick
commands should not pay for importing them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModelUnavailableError
from ..settings import Settings
from .acoustic import AcousticModel
from .caches import Registry
from .checkpoints import ModelSource, resolve_model
from .networks import WEIGHTS
from .policy import pick_device, pick_precision

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

_MODELS: Registry[tuple[str, str | None, str, str, Settings], AcousticModel] = Registry("models")


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
        network, feature_extractor = WEIGHTS.get_or_create(
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
    from .int8 import is_cached

    return is_cached(model_dir, settings.cache_dir)


def _load(
    source: ModelSource, device: str, dtype: str, settings: Settings | None = None
) -> tuple[Any, Any]:
    import torch
    from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2ForCTC

    log.info("loading %s on %s (%s)", source.label, device, dtype)
    try:
        feature_extractor = Wav2Vec2FeatureExtractor.from_pretrained(source.path)
        if dtype == "int8":
            from .int8 import load_int8

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
    returns wrong values (torch 2.13; docs/runtime.md, "Precision"); the convolution is
    a small share of the work.
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
