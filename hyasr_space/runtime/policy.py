"""Device, dtype and batching policy: which device and precision serve a checkpoint.

torch is imported inside the functions: on ZeroGPU `spaces` must be imported before it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..settings import Settings
from .precision import CpuFeatures, Precision, cpu_precision, weights_mb

log = logging.getLogger(__name__)


def on_zero_gpu() -> bool:
    """True on a ZeroGPU Space, where GPU work must happen inside `spaces.GPU` calls."""
    return bool(os.environ.get("SPACES_ZERO_GPU"))


def pick_precision(requested: str, device: str, model_dir: Path, settings: Settings) -> Precision:
    """The dtype that serves a checkpoint: `precision.cpu_precision` for `auto` on a CPU
    (by the CPU's features and the checkpoint's size), `pick_dtype` otherwise."""
    if requested == "auto" and device == "cpu":
        from .int8 import available

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
        from .int8 import available

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
