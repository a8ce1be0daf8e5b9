"""Kept for one release: the acoustic model moved to `hyasr_space.runtime`.

`AcousticModel` is in `runtime.acoustic`, `load_model` in `runtime.loading`, the device
and dtype policy in `runtime.policy`, the forward pass in `runtime.networks`. Import
those; this alias goes in the next release.
"""

from .runtime.acoustic import AcousticModel
from .runtime.loading import keep_positional_conv_in_float32, load_model
from .runtime.networks import WEIGHTS as _WEIGHTS
from .runtime.networks import run_network as _run_network
from .runtime.policy import (
    on_zero_gpu,
    pick_device,
    pick_dtype,
    pick_precision,
    request_batch_size,
)

__all__ = [
    "AcousticModel",
    "_WEIGHTS",
    "_run_network",
    "keep_positional_conv_in_float32",
    "load_model",
    "on_zero_gpu",
    "pick_device",
    "pick_dtype",
    "pick_precision",
    "request_batch_size",
]
