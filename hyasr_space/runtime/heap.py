"""Give freed heap back to the operating system, so that a long-running server's memory
stays what it uses, not the most it ever used.

glibc's malloc keeps freed memory in its arenas, so without trimming a server's RSS
grows with every request's short-lived buffers and never comes down. `HeapTrimmer`
calls `malloc_trim(0)` every `Settings.heap_trim_interval_s` seconds from a daemon
thread, not after every request: a call holds malloc's locks while it runs. Where the C
library is not glibc (macOS, musl), there is no `malloc_trim` and this does nothing.
docs/runtime.md ("Memory") has the measurements.
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
