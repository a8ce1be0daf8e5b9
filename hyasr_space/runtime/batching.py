"""Cross-request batching: windows of requests that arrive together share one forward pass.

On a GPU a forward pass of one 10 s clip leaves most of the chip idle, so eight clips in
one padded batch cost little more than one; eight passes one after another cost eight
times as much. `RequestBatcher` sits in front of the forward pass: while one batch runs,
the windows of every request that arrives meanwhile queue up, and the next batch takes
them all (up to `max_windows`). There is no timer: a lone request never waits for
company, and under load the batches fill by themselves (what TF Serving calls a batch
timeout of zero, and what continuous-batching servers do between steps).

No thread of its own: whichever waiting request finds the network free runs the next
batch for everyone queued, then hands over. Errors stay with their request: when a batch
of several requests fails (say, out of GPU memory), each request is retried alone, and
only the one that fails alone gets the error.

Padding changes nothing for checkpoints whose feature encoder uses layer norm (XLS-R,
the demo model): padded frames are masked out of attention and the positional
convolution. Group-norm checkpoints (wav2vec2-base) normalise over the padding too, so
for them only windows of one length are batched together (`pad=False`).

Why not a library: serving frameworks that batch (Triton, TorchServe, Ray Serve) are
servers of their own; the Space is one Gradio process, and what it needs is forty lines.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Forward = Callable[[list[np.ndarray]], list[np.ndarray]]


@dataclass(eq=False)
class _Job:
    """The windows of one request, and what became of them."""

    windows: list[np.ndarray]
    outputs: list[np.ndarray] | None = None
    error: BaseException | None = None
    finished: bool = False

    @property
    def longest(self) -> int:
        return max(len(window) for window in self.windows)


@dataclass
class BatchStats:
    """What the batcher did, for tests and benchmarks."""

    batches: int = 0
    windows: int = 0
    sizes: list[int] = field(default_factory=list)  # requests per batch, most recent last

    def record(self, requests: int, windows: int) -> None:
        self.batches += 1
        self.windows += windows
        self.sizes = [*self.sizes[-999:], requests]


class RequestBatcher:
    """Call it with a request's windows; returns their outputs, batched with whatever else
    is waiting. Thread-safe; `forward` is only ever called by one thread at a time."""

    def __init__(
        self,
        forward: Forward,
        *,
        max_windows: int,
        pad: bool = True,
        max_padding: float = 2.0,
    ) -> None:
        if max_windows < 1:
            raise ValueError(f"max_windows must be at least 1, not {max_windows}")
        self._forward = forward
        self.max_windows = max_windows
        self.pad = pad
        # A 1 s clip padded to 30 s beside a long one would cost a 30 s pass: a request
        # joins a batch only if no member is padded to more than this factor its length.
        self.max_padding = max_padding
        self._pending: deque[_Job] = deque()
        self._condition = threading.Condition()
        self._running = False
        self.stats = BatchStats()

    def __call__(self, windows: Sequence[np.ndarray]) -> list[np.ndarray]:
        job = _Job(list(windows))
        if not job.windows:
            return []
        with self._condition:
            self._pending.append(job)
        while True:
            with self._condition:
                self._condition.wait_for(lambda: job.finished or not self._running)
                if job.finished:
                    break
                self._running = True
                batch = self._take()
            try:
                self._run(batch)
            finally:
                with self._condition:
                    self._running = False
                    self._condition.notify_all()
        if job.error is not None:
            raise job.error
        assert job.outputs is not None
        return job.outputs

    def _take(self) -> list[_Job]:
        """The oldest request, and the later ones that fit beside it (in arrival order)."""
        first = self._pending.popleft()
        batch = [first]
        count, longest, shortest = len(first.windows), first.longest, first.longest
        for job in list(self._pending):
            if count + len(job.windows) > self.max_windows:
                continue
            if not self.pad and {len(w) for w in job.windows} != {len(first.windows[0])}:
                continue
            if max(longest, job.longest) > self.max_padding * min(shortest, job.longest):
                continue
            batch.append(job)
            self._pending.remove(job)
            count += len(job.windows)
            longest, shortest = max(longest, job.longest), min(shortest, job.longest)
        return batch

    def _run(self, batch: list[_Job]) -> None:
        try:
            outputs = self._forward([w for job in batch for w in job.windows])
        except BaseException as error:
            if len(batch) == 1:
                self._finish(batch[0], error=error)
                return
            for job in batch:  # find the one that fails on its own; the others go on
                self._run([job])
            return
        self.stats.record(len(batch), len(outputs))
        start = 0
        for job in batch:
            self._finish(job, outputs=outputs[start : start + len(job.windows)])
            start += len(job.windows)

    def _finish(
        self,
        job: _Job,
        outputs: list[np.ndarray] | None = None,
        error: BaseException | None = None,
    ) -> None:
        with self._condition:
            job.outputs, job.error, job.finished = outputs, error, True
            self._condition.notify_all()
