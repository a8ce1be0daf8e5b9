"""torch.compile for the forward pass, with inputs padded to a few fixed shapes (HYASR_COMPILE=1).

A compiled graph, and on a GPU the CUDA graph that `mode="reduce-overhead"` records
from it, is specialised to its input shapes; every new clip length would compile again
(tens of seconds for the 1B model). So inputs are padded up to a length bucket (a
multiple of `compile_bucket_s`, or one full window, the longest any window is) and
batches up to a power of two, with the attention mask always passed: a 30 s window size
and `HYASR_REQUEST_BATCH=8` make at most 6 lengths x 4 batch sizes. Padding is exact
only for layer-norm feature encoders (see batching.py), so bucketing is used only for
those; others compile with dynamic shapes.

The warm-up compiles every length at batch 1; a larger batch compiles when it first
occurs, and that request waits for it. Off by default: on a CPU the gain is small
beside int8's and costs minutes of compiling at start-up (docs/runtime.md, "Compiling").
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def compile_network(network: Any, device: str, dynamic: bool) -> Any:
    """The network wrapped in `torch.compile`: CUDA graphs on a GPU, inductor on the CPU."""
    import torch

    mode = "reduce-overhead" if device == "cuda" else None
    log.info("compiling the network (mode=%s, dynamic=%s)", mode, dynamic)
    return torch.compile(network, mode=mode, dynamic=dynamic, fullgraph=False)


def bucket_lengths(bucket: int, window: int) -> list[int]:
    """Every padded length in samples: multiples of `bucket` below a window, and the
    window (`model.plan_windows` makes none longer: the last window of a long clip is
    the shortest)."""
    return [*range(bucket, window, bucket), window]


def bucket_length(samples: int, lengths: list[int]) -> int:
    """The smallest bucket that holds `samples`; longer inputs (a window of a clip longer
    than chunk_s can only be that long with a changed setting) keep their length."""
    return next((length for length in lengths if length >= samples), samples)


def bucket_batch(count: int) -> int:
    return 1 << math.ceil(math.log2(max(count, 1)))


def pad_to_bucket(
    values: np.ndarray, mask: np.ndarray, length: int, rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pad (batch, samples) inputs with zeros and masked-out samples to (rows, length).

    Extra rows repeat the first row rather than being all padding: a row with no unmasked
    sample is a softmax over nothing, which some attention kernels turn into NaN.
    """
    batch, samples = values.shape
    padded = np.zeros((rows, length), dtype=values.dtype)
    padded_mask = np.zeros((rows, length), dtype=mask.dtype)
    padded[:batch, :samples] = values
    padded_mask[:batch, :samples] = mask
    padded[batch:] = padded[0]
    padded_mask[batch:] = padded_mask[0]
    return padded, padded_mask
