"""Live sessions without Gradio: what one browser tab streams, how much this app takes.

A `LiveSession` is one tab's live stream: the browser's numbered chunks of 16-bit PCM
arrive (live_socket.py), are checked for order and appended to a queue, and a worker
thread feeds them to the session's `LiveStream`. Receiving never waits for the network
or the beam search: `receive` only checks, appends and returns, so the socket can
acknowledge a chunk at once, and the worker joins whatever queued up while a step ran
into one feed. Nothing is dropped or reordered: a chunk must carry the next sequence
number; one seen before (a resend after a reconnect) is acknowledged again and ignored;
one past a gap is refused (`ProtocolError`), since the browser always resends from the
last acknowledged one.

Limits, each ending the stream with a reason that the page shows while what was heard
stays the result: `live_time_limit_s` of audio per stream, and `live_max_behind_s` of
audio received but not yet fed (the backlog, held as 16-bit samples: 32 kB per second
at 16 kHz). `StreamSlots` bounds the streams open at once in the app
(`live_max_streams`). A stream on a model of the pool (models.py) holds that model
(`begin(..., hold=...)`) for its whole life, so the pool never unloads it mid-stream;
the hold is let go when the stream ends (Stop, a server stop, a stale page: `end`) or
the tab closes (`close`), after the worker's last step. `LiveSessions` hands each
stream an unguessable token (`secrets.token_urlsafe`), which a socket must present: a
socket without one, with an old one or with another tab's gets nothing.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HyasrError
from ..results import Partial, Transcription
from ..streaming import LiveStream
from .session_files import SessionFiles

STALE_S = 30.0  # a stream with no message for this long was left (a closed tab)
PCM_BYTES = 2  # the browser sends 16-bit samples

Listener = Callable[[dict[str, Any]], None]


class ProtocolError(ValueError):
    """A message that breaks the protocol (a gap, a chunk of odd length); the socket
    closes with `code` and the message as its reason."""

    def __init__(self, message: str, code: int = 4400) -> None:
        super().__init__(message)
        self.code = code


class StreamSlots:
    """At most `limit` live streams open at once in this app; past it a new stream is
    refused with a message rather than left to wait. A stream that has had no message
    for `STALE_S` (its tab closed while recording) gives its slot up to the next one."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: set[LiveSession] = set()
        self._lock = threading.Lock()

    def take(self, session: LiveSession, now: float) -> bool:
        with self._lock:
            stale = {held for held in self._open if now - held.last_seen > STALE_S}
            self._open -= stale
            if session not in self._open and len(self._open) >= self.limit:
                return False
            self._open.add(session)
            session.slots = self
            return True

    def release(self, session: LiveSession) -> None:
        with self._lock:
            self._open.discard(session)

    @property
    def open(self) -> int:
        return len(self._open)


class LiveSession:
    """One browser tab's live stream: the chunks it sent, the worker thread that feeds
    them to the `LiveStream`, the latest partial text, the result's download folder.

    Threads: `receive` runs on the server's event loop, the worker on its own thread,
    `begin`/`end`/`close` in Gradio's handlers (callers hold `lock` for those)."""

    def __init__(self, max_behind_s: float = 60.0, time_limit_s: float = 600.0) -> None:
        self.lock = threading.Lock()  # Gradio's events of this tab, one at a time
        self.max_behind_s = max_behind_s
        self.time_limit_s = time_limit_s
        self.stream: LiveStream | None = None
        self.token: str | None = None
        self.last_seen = 0.0
        self.files = SessionFiles(prefix="hyasr-live-")
        self.recordings = SessionFiles(prefix="hyasr-live-audio-")  # for player and picture
        self._recorded = 0
        self.slots: StreamSlots | None = None  # the slot its open stream holds
        self.partial: Partial | None = None
        self.pictured = ""  # the stable text when the live picture was last drawn
        self.notes: list[str] = []
        self.stopped: str | None = None  # why the server stopped taking audio
        self.ended = False  # the browser sent everything and said so
        self.max_backlog_s = 0.0
        self._state = threading.Condition()
        self._queue: deque[np.ndarray] = deque()
        self._rate = 16_000
        self.next_seq = 0  # the sequence number the next new chunk must carry
        self.received = 0  # samples received (at `rate`)
        self.fed = 0  # samples fed to the stream
        self._listener: Listener | None = None
        self.connection: Any = None  # the socket now connected (live_socket.py)
        self._closing = False
        self._worker: threading.Thread | None = None
        # What keeps the stream's model loaded (the pool's `use`), None for the default.
        self._hold: AbstractContextManager[Any] | None = None

    # --- Gradio's side -------------------------------------------------------------

    def begin(
        self, stream: LiveStream, now: float, hold: AbstractContextManager[Any] | None = None
    ) -> None:
        """Start a new stream (call under `lock`): a fresh token, counters and worker.
        `hold`, already entered, keeps the stream's model loaded; it is exited when the
        stream ends or the session closes."""
        self._let_go()  # an earlier stream's, should one be left
        self._hold = hold
        self.stream, self.partial, self.notes, self.pictured = stream, None, [], ""
        self.stopped, self.ended, self.max_backlog_s = None, False, 0.0
        self.last_seen = now
        with self._state:
            self._queue.clear()
            self.next_seq = self.received = self.fed = 0
            self._closing = False
        self.token = secrets.token_urlsafe(24)
        self._worker = threading.Thread(
            target=self._work, args=(stream,), name="hyasr-live", daemon=True
        )
        self._worker.start()

    def new_recording(self) -> Path:
        """Where the next stream writes its audio; the last stream's recording is deleted
        (its player has its own copy in Gradio's cache)."""
        if self.recordings.closed:
            self.recordings = SessionFiles(prefix="hyasr-live-audio-")
        self.recordings.clear()
        self._recorded += 1
        return self.recordings.path / f"live-{self._recorded}.wav"

    def end(self) -> Transcription:
        """Feed what is queued, then finish the stream (call under `lock`). The token
        stops working: the stream takes no more audio."""
        assert self.stream is not None
        self._stop_worker()
        self.token = None
        self._release()
        try:
            return self.stream.finish()  # its last step still runs the model
        finally:
            self._let_go()

    def close(self) -> None:
        """The tab closed: stop the worker, free the slot, the model and the files."""
        worker = self._worker
        self._stop_worker(wait=False)
        self.token = None
        self._release()
        self.stream = None
        self.files.close()
        self.recordings.close()
        if worker is not None and worker.is_alive():
            # Not waited for here (Gradio's delete callback); the model goes after the
            # worker's step in progress, not under it.
            threading.Thread(
                target=self._let_go, args=(worker,), name="hyasr-live-release", daemon=True
            ).start()
        else:
            self._let_go()

    @property
    def holds_model(self) -> bool:
        return self._hold is not None

    # --- the socket's side ---------------------------------------------------------

    @property
    def rate(self) -> int:
        return self._rate

    def set_rate(self, rate: int) -> None:
        """The browser's sample rate (16 kHz unless its AudioContext could not resample);
        fixed once audio has arrived."""
        with self._state:
            if self.received and rate != self._rate:
                raise ProtocolError(
                    f"the sample rate cannot change mid-stream ({self._rate} Hz, not {rate} Hz)"
                )
            self._rate = rate

    def listen(self, listener: Listener | None) -> None:
        """Where the worker sends partial text (the socket now connected)."""
        self._listener = listener

    def receive(self, seq: int, pcm: bytes, now: float) -> bool:
        """Take chunk `seq` (16-bit little-endian samples). Returns False for a chunk
        already taken (acknowledge it again); raises `ProtocolError` past a gap."""
        if len(pcm) % PCM_BYTES:
            raise ProtocolError(f"chunk {seq} has {len(pcm)} bytes, not whole 16-bit samples")
        with self._state:
            if self._closing:
                raise ProtocolError("this live stream has finished", 4403)
            self.last_seen = now
            if seq < self.next_seq:
                return False
            if seq > self.next_seq:
                raise ProtocolError(f"chunk {seq} came before chunk {self.next_seq} (a gap)")
            self.next_seq += 1
            if self.stopped is not None or self.ended:
                return True  # acknowledged, not heard: the page has been told why
            samples = np.frombuffer(pcm, "<i2")
            room = int(self.time_limit_s * self._rate) - self.received
            if len(samples) >= room:
                samples = samples[: max(0, room)]
                self.stopped = f"Live mode stops after {self.time_limit_s:g} s."
            if len(samples):
                self._queue.append(samples)
                self.received += len(samples)
                self._state.notify()
            backlog = self.backlog_s
            self.max_backlog_s = max(self.max_backlog_s, backlog)
            if backlog > self.max_behind_s and self.stopped is None:
                memory = self.max_behind_s * self._rate * PCM_BYTES / 1e6
                self.stopped = (
                    f"Live mode stopped: the server fell more than {self.max_behind_s:g} s "
                    f"behind the microphone (HYASR_LIVE_MAX_BEHIND_S, {memory:.1f} MB); "
                    "what it heard until then is the result."
                )
            return True

    def finish_input(self, next_seq: int) -> None:
        """The browser sent chunks up to `next_seq` and no more will come."""
        with self._state:
            if next_seq != self.next_seq:
                raise ProtocolError(
                    f"the stream ended at chunk {next_seq} but chunk {self.next_seq} is next"
                )
            self.ended = True
            self._state.notify()

    @property
    def backlog_s(self) -> float:
        """Seconds of audio received and not yet fed to the stream."""
        return (self.received - self.fed) / self._rate

    @property
    def heard_s(self) -> float:
        return self.received / self._rate

    def drained(self) -> bool:
        with self._state:
            return not self._queue and self.received == self.fed

    def wait_drained(self, timeout: float) -> bool:
        """Wait until every chunk received has been fed (or `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        with self._state:
            while self._queue or self.received != self.fed:
                left = deadline - time.monotonic()
                if left <= 0 or not self._state.wait(left):
                    return False
            return True

    def status(self) -> dict[str, Any]:
        """What the page shows besides the text: how far behind, and why it stopped."""
        stream = self.stream
        return {
            "heard_s": round(self.heard_s, 3),
            "fed_s": round(self.fed / self._rate, 3),
            "behind_s": round(self.backlog_s, 3),
            "lagging": bool(stream is not None and stream.lagging),
            "stopped": self.stopped,
        }

    # --- the worker ----------------------------------------------------------------

    def _work(self, stream: LiveStream) -> None:
        told = -1  # the stream's step count when the page was last told the text
        while True:
            with self._state:
                while not self._queue and not self._closing:
                    self._state.wait()
                if not self._queue:  # closing and nothing left
                    return
                batch = list(self._queue)
                self._queue.clear()
                rate = self._rate
            samples = np.concatenate(batch) if len(batch) > 1 else batch[0]
            try:
                partial = stream.feed(samples, rate)
            except HyasrError as error:
                self.notes.append(str(error))
                partial = None
            with self._state:
                self.fed += len(samples)
                self._state.notify_all()
            if partial is not None:
                self.partial = partial
                self.notes += partial.notices
                if stream.steps != told:  # new scores, new text: it covers all fed so far
                    told = stream.steps
                    self._tell(partial)

    def _tell(self, partial: Partial) -> None:
        listener = self._listener
        if listener is None:
            return
        message = {"type": "partial", "stable": partial.stable, "pending": partial.pending}
        try:
            listener({**message, **self.status()})
        except RuntimeError:  # the socket's event loop has closed
            self._listener = None

    def _stop_worker(self, wait: bool = True) -> None:
        worker, self._worker = self._worker, None
        with self._state:
            self._closing = True
            if not wait:
                self._queue.clear()
            self._state.notify_all()
        if worker is not None and wait:
            worker.join()

    def _let_go(self, worker: threading.Thread | None = None) -> None:
        """Exit the model hold (once: whoever swaps it out exits it), after `worker`."""
        if worker is not None:
            worker.join()
        with self._state:
            hold, self._hold = self._hold, None
        if hold is not None:
            hold.__exit__(None, None, None)

    def _release(self) -> None:
        if self.slots is not None:
            self.slots.release(self)
            self.slots = None


class LiveSessions:
    """The live sessions a socket may join, by their current stream's token."""

    def __init__(self) -> None:
        self._by_token: dict[str, LiveSession] = {}
        self._lock = threading.Lock()

    def register(self, session: LiveSession) -> None:
        """Make the session's current token work (and its earlier ones not)."""
        with self._lock:
            self._by_token = {t: s for t, s in self._by_token.items() if s is not session}
            if session.token is not None:
                self._by_token[session.token] = session

    def find(self, token: Any) -> LiveSession | None:
        """The session whose open stream has this token, or None."""
        if not isinstance(token, str):
            return None
        with self._lock:
            session = self._by_token.get(token)
        if session is None or session.token != token or session.stream is None:
            return None
        return session

    def sessions(self) -> list[LiveSession]:
        """The sessions whose stream is open now."""
        with self._lock:
            return list(dict.fromkeys(self._by_token.values()))

    def forget(self, session: LiveSession) -> None:
        with self._lock:
            self._by_token = {t: s for t, s in self._by_token.items() if s is not session}

    def __len__(self) -> int:
        return len(self._by_token)


# The app's live sessions: the Live tab registers them, the socket route finds them.
LIVE_SESSIONS = LiveSessions()

__all__ = [
    "LIVE_SESSIONS",
    "STALE_S",
    "LiveSession",
    "LiveSessions",
    "ProtocolError",
    "StreamSlots",
]
