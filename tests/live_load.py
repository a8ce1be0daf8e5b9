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

SEARCH_MS = 30  # how far a second of the clip is looked for around where the spans put it
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


def compare(clip: np.ndarray, heard: np.ndarray, rate: int = 16_000) -> dict[str, Any]:
    """How the heard audio matches the clip: the speech spans' lengths (ms apart), and
    the correlation of each second of the clip's speech with the heard audio where it
    lines up best (within `SEARCH_MS` of where the spans put it), and where that place
    moves between seconds (a "slip": the capture gained or lost a few ms; Chromium's
    fake device under CPU pressure slipped by 10 ms once in 60 s). Compared at 48 kHz:
    the fake device plays the clip at 48 kHz and the page's AudioContext brings it back
    to 16 kHz, so the capture sits a fraction of a 16 kHz sample off the clip's grid
    (at 16 kHz that alone costs about 2 % correlation)."""
    import soxr

    clip_start, clip_end = speech_span(clip)
    heard_start, heard_end = speech_span(heard)
    up = 3
    clip48 = soxr.resample(clip, rate, up * rate)
    heard48 = soxr.resample(heard, rate, up * rate)
    offset, second, search = (
        up * (heard_start - clip_start),
        up * rate,
        up * rate * SEARCH_MS // 1000,
    )
    rows = []
    for start in range(up * clip_start, up * clip_end - second, second):
        piece = clip48[start : start + second]
        if np.abs(piece).max() < 0.05:  # a pause: nothing to line up
            continue
        low = max(0, start + offset - search)
        window = heard48[low : start + offset + search + second]
        if len(window) < second:
            rows.append((start, None, 0.0))
            continue
        size = 1 << int(np.ceil(np.log2(len(window) + second)))
        dots = np.fft.irfft(np.fft.rfft(window, size) * np.conj(np.fft.rfft(piece, size)), size)
        dots = dots[: len(window) - second + 1]
        energy = np.concatenate([[0.0], np.cumsum(window.astype(np.float64) ** 2)])
        norms = np.sqrt(energy[second:] - energy[:-second]) * np.linalg.norm(piece)
        scores = dots / np.maximum(norms, 1e-9)
        best = int(np.argmax(scores))
        rows.append((start, low + best - start - offset, float(scores[best])))
    lags = [lag for _, lag, _ in rows if lag is not None]
    slips = [
        {"at_s": round(rows[i][0] / (up * rate), 1), "ms": round((b - a) / (up * rate) * 1000, 2)}
        for i, (a, b) in enumerate(zip(lags, lags[1:], strict=False), start=1)
        if abs(b - a) > up  # more than one 16 kHz sample
    ]
    correlations = [score for _, _, score in rows]
    return {
        "clip_speech_s": round((clip_end - clip_start) / rate, 3),
        "heard_speech_s": round((heard_end - heard_start) / rate, 3),
        "span_difference_ms": abs((heard_end - heard_start) - (clip_end - clip_start))
        / rate
        * 1000,
        "seconds_compared": len(rows),
        "correlation_min": round(min(correlations), 4) if rows else 0.0,
        "correlation_median": round(float(np.median(correlations)), 4) if rows else 0.0,
        "share_over_0_99": round(float(np.mean(np.greater(correlations, 0.99))), 3)
        if rows
        else 0.0,
        "slips": slips,
        "slip_total_ms": round(sum(abs(slip["ms"]) for slip in slips), 2),
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
