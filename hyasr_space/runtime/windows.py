"""Long audio as overlapping windows, and the conv encoder's frame arithmetic.

A clip longer than one window (`Settings.chunk_s`) runs as windows that share
`chunk_context_s` with each neighbour; each window contributes only the frames nearest
its centre, so memory stays bounded and a word on a window border is seen whole by one
window, neither lost nor doubled. Windows start on frame boundaries (multiples of the
conv strides' product), which makes window frames line up exactly with whole-clip frames.
The live stream (streaming) uses the same arithmetic step by step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


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
    # on the right, as one pass would; stretching it back to full length would run a
    # 60 s clip as 90 s of windows instead of 70.
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


class RunningStatistics:
    """Mean and variance of every sample so far, as `clip_statistics` computes them for a
    whole clip, updated chunk by chunk (Chan et al.'s parallel update, float64): a stream
    cannot see its future, so it normalises by everything heard so far."""

    def __init__(self) -> None:
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0

    def update(self, samples: np.ndarray) -> None:
        count = len(samples)
        if not count:
            return
        mean = float(samples.mean(dtype=np.float64))
        m2 = float(np.square(samples - mean, dtype=np.float64).sum())
        total = self.count + count
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.count * count / total
        self.mean += delta * count / total
        self.count = total

    def estimate(self) -> tuple[float, float]:
        """(mean, scale) as `clip_statistics` returns them."""
        variance = self.m2 / self.count if self.count else 0.0
        return self.mean, math.sqrt(variance + 1e-7)
