"""Give freed heap back to the operating system, so that a long-running server's memory
stays what it uses, not the most it ever used.

Measured with benchmarks/soak.py (thousands of requests from new sessions against the
demo model; README, "Reliability"): without trimming the server's RSS climbed by about
76 MB per 1000 requests and never levelled off, although what was live levelled off at
about 770 MB. The difference was freed memory that glibc's malloc keeps in its arenas
(about 700 MB free in a 1.2 GB heap, 16 arenas on 2 cores), fed by every request's
short-lived buffers. `HeapTrimmer` calls `malloc_trim(0)` every
`Settings.heap_trim_interval_s` seconds from a daemon thread (a call took 50 ms at the
median and 0.5 s at most on a loaded 2-core machine, holding malloc's locks meanwhile,
so it is not done after every request). Where the C library is not glibc (macOS,
musl), there is no `malloc_trim` and this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
from functools import cache

log = logging.getLogger(__name__)


@cache
def _malloc_trim():  # the C function, or None where the C library has none
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


def trim_heap(collect: bool = False) -> bool:
    """Return free heap to the OS (after a garbage collection when `collect`); False
    where the C library cannot."""
    if collect:
        gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


_started: HeapTrimmer | None = None
_start_lock = threading.Lock()


def keep_heap_trimmed(interval_s: float) -> HeapTrimmer | None:
    """Start the process's one `HeapTrimmer` (a second call returns the first one);
    None when `interval_s` is 0."""
    global _started
    if interval_s <= 0:
        return None
    with _start_lock:
        if _started is None:
            _started = HeapTrimmer(interval_s).start()
        return _started


class HeapTrimmer:
    """A daemon thread that trims the heap every `interval_s` seconds until `stop()`."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heap-trimmer", daemon=True)

    def start(self) -> HeapTrimmer:
        if _malloc_trim() is None:
            log.info("no malloc_trim in this C library: freed heap stays with the process")
        else:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval_s):
            trim_heap()


def peak_rss_mb() -> float:
    """The largest this process has been, in MB (ru_maxrss is in KiB on Linux)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
