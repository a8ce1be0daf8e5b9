"""A person speaking to the Live tab while the server is busy, for test_browser_live.py
and benchmarks/live_transport.py: Chromium pinned to one core (its fake microphone
playing a clip), the server pinned to the other, two other clients transcribing long
files with the LM in a loop (gradio_client), and what the server heard compared with
the clip.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

# The player's download link: the recording the server made of the stream.
RECORDING_URL = """() => Array.from(document.querySelectorAll('a[href*="live-"]'))
    .map(a => a.href).find(u => u.endsWith('.wav')) || null"""


def cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


@contextmanager
def pinned_process(core: int | None) -> Iterator[None]:
    """Every thread of this process (and the threads they start) on `core`."""
    if core is None:
        yield
        return
    before = os.sched_getaffinity(0)
    threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    for tid in threads:
        try:
            os.sched_setaffinity(tid, {core})
        except OSError:
            pass
    try:
        yield
    finally:
        for tid in os.listdir("/proc/self/task"):
            try:
                os.sched_setaffinity(int(tid), before)
            except OSError:
                pass


def chromium_on_core(chromium: Path, core: int | None, folder: Path) -> Path:
    """An executable that starts Chromium under `taskset -c core` (Playwright launches it)."""
    taskset = shutil.which("taskset")
    if core is None or taskset is None:
        return chromium
    wrapper = folder / "chromium-pinned"
    wrapper.write_text(f'#!/bin/sh\nexec {taskset} -c {core} {chromium} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def long_file(clips: list[Path], seconds: float, folder: Path, seed: int) -> Path:
    """About `seconds` of the clips joined, with faint noise of its own, so that each file
    is new to the app's logits cache (the network runs on every one)."""
    pieces, total = [], 0
    while total < seconds * 16_000:
        for clip in clips:
            samples, rate = soundfile.read(clip, dtype="float32")
            pieces += [samples, np.zeros(rate // 3, np.float32)]
            total += len(samples) + rate // 3
    samples = np.concatenate(pieces)
    samples += 1e-3 * np.random.default_rng(seed).standard_normal(len(samples)).astype(np.float32)
    path = folder / f"busy-{seed}.wav"
    soundfile.write(path, samples, 16_000, subtype="PCM_16")
    return path


class Busy:
    """`clients` other people transcribing long files with the LM, one after another,
    until `stop()`; `done` counts their transcriptions."""

    def __init__(self, url: str, clips: list[Path], folder: Path, clients: int = 2) -> None:
        self.url, self.clips, self.folder = url, clips, folder
        self.done = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(index,), daemon=True)
            for index in range(clients)
        ]

    def start(self) -> Busy:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=300)

    def _loop(self, index: int) -> None:
        import gradio_client

        client = gradio_client.Client(self.url, verbose=False)
        round_ = 0
        while not self._stop.is_set():
            path = long_file(self.clips, 20.0, self.folder, seed=1000 * index + round_)
            try:
                client.predict(gradio_client.handle_file(str(path)), "lm", api_name="/transcribe")
                self.done += 1
            except Exception as error:  # noqa: BLE001 (reported by the test)
                self.errors.append(repr(error))
            round_ += 1
            path.unlink(missing_ok=True)


def speech_span(samples: np.ndarray) -> tuple[int, int]:
    """First and last sample louder than 1 % of the peak."""
    loud = np.flatnonzero(np.abs(samples) > 0.01 * np.abs(samples).max())
    return int(loud[0]), int(loud[-1]) + 1


def compare(clip: np.ndarray, heard: np.ndarray, rate: int = 16_000) -> dict[str, float]:
    """How the heard audio matches the clip: the speech spans' lengths (ms apart) and
    the correlation of the two once aligned (the capture starts later than the clip).
    Chromium's fake device plays the clip at 48 kHz and the page's AudioContext brings it
    back to 16 kHz, so the capture sits a fraction of a sample off the clip's grid: both
    are compared at 48 kHz (at 16 kHz that offset alone costs about 2 % correlation)."""
    import soxr

    clip, heard, rate = (
        soxr.resample(clip, rate, 3 * rate),
        soxr.resample(heard, rate, 3 * rate),
        3 * rate,
    )
    clip_start, clip_end = speech_span(clip)
    heard_start, heard_end = speech_span(heard)
    speech = clip[clip_start:clip_end]
    window = heard[max(0, heard_start - rate // 10) : heard_start + len(speech) + rate // 10]
    size = 1 << int(np.ceil(np.log2(len(window) + len(speech))))
    scores = np.fft.irfft(np.fft.rfft(window, size) * np.conj(np.fft.rfft(speech, size)), size)
    lag = int(np.argmax(scores[: len(window)]))
    aligned = window[lag : lag + len(speech)]
    corr = float(np.corrcoef(aligned, speech[: len(aligned)])[0, 1]) if len(aligned) > 1 else 0.0
    return {
        "clip_speech_s": len(speech) / rate,
        "heard_speech_s": (heard_end - heard_start) / rate,
        "span_difference_ms": abs((heard_end - heard_start) - len(speech)) / rate * 1000,
        "correlation": corr,
        "aligned_s": len(aligned) / rate,
    }


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None, "count": 0}
    array = np.asarray(values, dtype=float)
    return {
        "p50": round(float(np.percentile(array, 50)), 1),
        "p95": round(float(np.percentile(array, 95)), 1),
        "max": round(float(array.max()), 1),
        "count": len(values),
    }


def behind_summary(stats: dict[str, Any]) -> dict[str, float | None]:
    """How far behind the page fell (what it showed), when, and when it caught up again
    (below 1 s), in seconds from the first sample."""
    series = stats["behind"]
    if not series:
        return {"max_behind_s": None, "at_s": None, "caught_up_at_s": None}
    start = series[0][0]
    values = [value for _, value in series]
    peak = int(np.argmax(values))
    caught = next((t for t, v in series[peak:] if v < 1.0), None)
    return {
        "max_behind_s": round(values[peak], 2),
        "at_s": round((series[peak][0] - start) / 1000, 2),
        "caught_up_at_s": None if caught is None else round((caught - start) / 1000, 2),
    }


def record_live(page: Any, duration_s: float, drop_at_s: float | None) -> float:
    """Press Record, drop the socket once at `drop_at_s` (the page reconnects), let the
    clip play out, press Stop; returns when Record was pressed (monotonic)."""
    page.get_by_role("button", name="Record", exact=True).click()
    started = time.monotonic()
    if drop_at_s is not None:
        page.wait_for_timeout(int(drop_at_s * 1000))
        page.evaluate("() => window.hyasrLive.dropConnection()")
    page.wait_for_timeout(max(0, int((started + duration_s + 0.5 - time.monotonic()) * 1000)))
    return started
