"""Where loaded networks live, and the one function that runs them on their device.

The networks are kept in registries keyed by strings, not on `AcousticModel`, so that
the function ZeroGPU wraps (`forward_on_device`) receives only a key and numpy arrays:
its arguments are pickled to a GPU worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelUnavailableError
from ..settings import Settings
from .caches import Registry

# The networks live here, not on AcousticModel, so that the ZeroGPU-wrapped function
# receives only a key and numpy arrays: its arguments are pickled to a GPU worker.
# key -> (network, ZeroGPU seconds per call)
NETWORKS: Registry[str, tuple[Any, int]] = Registry("networks")
NETWORK_LOCKS: Registry[int, threading.Lock] = Registry("network locks")
# Weights (network, feature extractor) by (directory, device, dtype), shared across settings.
WEIGHTS: Registry[tuple[Path, str, str], tuple[Any, Any]] = Registry("model weights")


def network_for(key: str) -> Any:
    entry = NETWORKS.get(key)
    if entry is None:
        raise ModelUnavailableError("the model was unloaded (caches.clear()); load it again")
    return entry[0]


def run_network(
    key: str,
    input_values: np.ndarray,
    attention_mask: np.ndarray | None,
    keep_mask: bool = False,
):
    import torch

    network = network_for(key)
    if hasattr(network, "run_numpy"):  # int8.OnnxCTC (HYASR_DTYPE=int8)
        return network.run_numpy(input_values, attention_mask)
    parameter = next(network.parameters())
    # oneDNN keeps buffers for every new input length and never gives them back, while
    # float32 on the CPU runs as fast without it (docs/runtime.md, "Memory"); bf16 and
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


def _gpu_seconds(key: str, *_: Any) -> int:
    entry = NETWORKS.get(key)
    return entry[1] if entry else Settings().zero_gpu_duration_s


def _zero_gpu(function: Callable[..., Any]) -> Callable[..., Any]:
    """`spaces.GPU` on ZeroGPU Spaces (it is a no-op elsewhere); the function itself without
    the `spaces` package. Only the forward pass is wrapped: beam search stays on the CPU."""
    try:
        import spaces
    except ImportError:
        return function
    return spaces.GPU(duration=_gpu_seconds)(function)


forward_on_device = _zero_gpu(run_network)
