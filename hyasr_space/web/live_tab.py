"""The Live tab: the microphone transcribed while the person speaks (streaming.py).

Gradio streams the microphone in chunks (`stream_every` = `live_step_s`); each chunk is
fed to the session's `LiveStream`, and the page shows the closed phrases as plain text
and the open one in a lighter style. When recording stops, the page shows what the
Transcribe tab shows for a file (transcript, words, segments, SRT/WebVTT/JSON), and the
decoder and LM settings decode the finished stream again without the network.

Reading chunks: the browser sends a WAV file per chunk; while the server is busy with
the last one it joins the next chunks behind the first one's header, whose declared data
length still says one chunk, and Gradio's decoder (pydub) reads only that much: audio
was lost whenever a step ran long. `read_chunk` reads every sample after the header
instead. (The chunk files, one per 0.1 s and named by their content, stay in Gradio's
cache until `delete_cache` removes them with the other uploads.)
Chunks recorded while the stream event waits for its queue slot are dropped by the
browser itself (its `stream_state` is "waiting"), so a stream that has to queue loses
its start.

Finishing reliably: Gradio 6 fires `stop_recording` for a streaming microphone, but it
has not always (gradio issue 5396), a chunk in flight may land after it, and the stream
event also ends at its `time_limit`. So a stream is finished by whichever comes first:
`stop_recording`; the stream reaching `live_time_limit_s` of audio; or a timer, running
only while recording, that finds no chunk for `IDLE_S`. Finishing is idempotent, and a
chunk that arrives after it is ignored. Each session's stream and download folder are
freed when its tab closes (`gr.State(delete_callback=...)`). At most
`live_max_streams` streams are open at once (`StreamSlots`); one more is told so.
"""

from __future__ import annotations

import functools
import html
import logging
import queue
import struct
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from ..errors import AudioDecodeError, HyasrError
from ..lm import LMSettings
from ..picture import speech_picture
from ..results import Partial, Transcription
from ..settings import GREEDY, LM, SAMPLE_RATE, Settings
from ..streaming import RECENT_S, LiveStream
from ..subtitles import CaptionLimits, segments_table
from ..transcriber import Transcriber
from . import speech_view
from .align_tab import confidence_view
from .session_files import SessionFiles
from .transcribe_tab import (
    WORD_COLUMNS,
    _lm_settings,
    _render,
    confidence_box,
    decoder_comparison,
    decoder_controls,
    result_tables,
)

log = logging.getLogger(__name__)

STALE_S = 30.0  # an open stream without a chunk for this long was left (a closed tab)
IDLE_S = 3.0  # no chunk for this long while "recording": the recording has ended
LOST_NOTICE_S = 1.0  # audio missing on the way from the browser before the page says so
TICK_S = 1.0
LAG_NOTICE = (
    "**Live mode lags on this hardware:** recognising a second of speech takes more than "
    "a second here, so the text falls behind the speaker. Transcribe a recording on the "
    "Transcribe tab instead"
)


class StreamSlots:
    """At most `limit` live streams open at once in this app; past it a new stream is
    refused with a message rather than left to wait. (Gradio holds a worker for a
    streaming event as long as it runs, so its own concurrency limit would queue the
    stream silently while the browser drops its audio.) A stream that has had no chunk
    for `STALE_S` (its tab closed while recording) gives its slot up to the next one."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: set[LiveSession] = set()
        self._lock = threading.Lock()

    def take(self, session: LiveSession, now: float) -> bool:
        with self._lock:
            stale = {held for held in self._open if now - held.last_chunk > STALE_S}
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
    """One browser tab's live stream, the worker thread that feeds it, its result and its
    download folder.

    Gradio keeps only the newest chunk of a stream while the handler runs (routes.py sets
    `event.data` per chunk; chunks come every 0.1 s, whatever `stream_every` says), so
    the handler only queues each chunk and returns; a worker feeds the stream, joining
    the chunks that queued up while a step ran into one feed.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stream: LiveStream | None = None
        self.armed = True  # the next chunk starts a new stream
        self.last_chunk = 0.0
        self.files = SessionFiles(prefix="hyasr-live-")
        self.recordings = SessionFiles(prefix="hyasr-live-audio-")  # for player and picture
        self._recorded = 0
        self.slots: StreamSlots | None = None  # the slot its open stream holds
        self.partial: Partial | None = None
        self.pictured = ""  # the stable text when the live picture was last drawn
        self.notes: list[str] = []
        self.heard_s = 0.0  # audio that reached the server
        self.since = 0.0  # when the stream's first chunk began, by the server's clock
        self._chunks: queue.Queue[tuple[int, np.ndarray] | None] = queue.Queue()
        self._worker: threading.Thread | None = None

    def begin(self, stream: LiveStream, now: float, first_s: float) -> None:
        """Start feeding `stream` (call under `lock`)."""
        self.stream, self.partial, self.notes = stream, None, []
        self.pictured = ""
        self.heard_s, self.since = 0.0, now - first_s
        self._chunks = queue.Queue()
        self._worker = threading.Thread(
            target=self._work, args=(stream, self._chunks), name="hyasr-live", daemon=True
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

    def put(self, rate: int, samples: np.ndarray) -> None:
        self.heard_s += len(samples) / rate
        self._chunks.put((rate, samples))

    def lost_s(self, now: float) -> float:
        """Seconds of audio that the browser recorded but never reached the server."""
        return max(0.0, now - self.since - self.heard_s)

    def end(self) -> Transcription:
        """Feed what is queued, then finish the stream (call under `lock`)."""
        assert self.stream is not None
        if self._worker is not None:
            self._chunks.put(None)
            self._worker.join()
            self._worker = None
        self._release()
        return self.stream.finish()

    def _release(self) -> None:
        if self.slots is not None:
            self.slots.release(self)
            self.slots = None

    def _work(self, stream: LiveStream, chunks: queue.Queue) -> None:
        while True:
            batch = [chunks.get()]
            while not chunks.empty():
                batch.append(chunks.get_nowait())
            for rate, samples in _joined([item for item in batch if item is not None]):
                try:
                    self.partial = stream.feed(samples, rate)
                except HyasrError as error:
                    self.notes.append(str(error))
                else:
                    self.notes += self.partial.notices
            if None in batch:
                return

    def close(self) -> None:
        if self._worker is not None:
            self._chunks.put(None)
        self._release()
        self.stream = None
        self.files.close()
        self.recordings.close()


def close_live_session(session: LiveSession | None) -> None:
    """`gr.State(delete_callback=...)`: Gradio calls it when the session's state expires."""
    if session is not None:
        session.close()


def live_tab(settings: Settings, transcriber: Transcriber | None, problem: str | None) -> None:
    """The Live tab's components and events (inside the current `gr.Tab`)."""
    if transcriber is None:
        gr.Markdown(f"No model is loaded, so live mode is off: {html.escape(problem or '')}")
        return
    has_lm = transcriber.has_lm
    defaults = transcriber.lm_defaults
    limit = settings.live_time_limit_s
    limits = CaptionLimits.from_settings(settings)
    slots = StreamSlots(settings.live_max_streams)
    doubtful = settings.doubtful_confidence
    with gr.Row():
        with gr.Column():
            microphone = gr.Audio(
                sources=["microphone"],
                streaming=True,
                type="filepath",  # read by read_chunk: Gradio's decoder drops audio
                label=f"Microphone (live, up to {limit:g} s)",
            )
            decoder, alpha, beta, beam_width, hotwords, hotword_weight = decoder_controls(
                settings, has_lm, defaults
            )
            again = gr.Button("Decode again with these settings")
        with gr.Column():
            live = gr.HTML(_live_html(None), label="Live transcript", elem_id="hyasr-live")
            status = gr.Markdown()
            text = gr.Textbox(label="Transcript", lines=4, interactive=False, buttons=["copy"])
            confidence = confidence_box()
            comparison, greedy_view, lm_view = decoder_comparison()
            info = gr.Markdown()
            player = speech_view.player_view()
            segments, words = result_tables(WORD_COLUMNS)
            downloads = gr.File(label="SRT, WebVTT, JSON", file_count="multiple")
            share = speech_view.share_button()
    picture_box, picture = speech_view.picture_view()
    views = speech_view.ResultViews(player, picture_box, picture, share)
    recording = gr.State(None)  # the finished stream's WAV file: the player's, the picture's
    last_result = gr.State(None)
    session_state = gr.State(None, delete_callback=close_live_session)
    timer = gr.Timer(TICK_S, active=False)
    lm_inputs = [decoder, alpha, beta, beam_width, hotwords, hotword_weight]
    results = [
        text, greedy_view, lm_view, info, words, segments, downloads, comparison, confidence,
        recording, last_result,
    ]  # fmt: skip
    outputs = [live, status, *results, timer, session_state]

    def lm_options(*values: Any) -> LMSettings:
        try:
            return _lm_settings(defaults, *values)
        except HyasrError as error:
            raise gr.Error(html.escape(str(error)), title="Invalid settings") from error

    def arm(session: LiveSession | None) -> tuple[Any, ...]:
        session = session or LiveSession()
        with session.lock:
            if session.stream is not None and not session.stream.finished:
                session.end()  # a stream left open by a lost stop event
            session.stream, session.armed = None, True
            session.last_chunk = time.monotonic()
        return (
            _live_html(None), "", *_cleared(), gr.Timer(active=True), session,
            *_recording_views(),
        )  # fmt: skip

    def step(chunk: Any, session: LiveSession | None, choice: str, *lm: Any) -> tuple[Any, ...]:
        session = session or LiveSession()
        try:
            rate, samples = read_chunk(chunk)
        except HyasrError as error:  # a malformed chunk: say so, keep the stream
            return gr.skip(), f"**Note:** {html.escape(str(error))}", session
        with session.lock:
            now, stream = time.monotonic(), session.stream
            if stream is None or stream.finished:
                late = stream is not None and now - session.last_chunk < IDLE_S
                if late or (stream is None and not session.armed):
                    return gr.skip(), gr.skip(), session  # landed after the end: result stands
                # the first chunk (or a new recording whose start_recording was lost)
                if not slots.take(session, now):
                    session.armed = False  # the rest of this recording is not heard
                    return gr.skip(), busy_notice(slots), session
                stream = transcriber.stream(
                    choice, lm_options(*lm), recording=session.new_recording()
                )
                session.begin(stream, now, len(samples) / rate)
                session.armed = False
            session.last_chunk = now
            if session.heard_s < limit:  # past it, the timer finishes the stream
                session.put(rate, samples)
            log.debug("chunk: %.2f s heard in %.2f s", session.heard_s, now - session.since)
            return _live_html(session.partial), _status(session, now), session

    def finish(session: LiveSession, stopped: str = "") -> tuple[Any, ...]:
        if session.stream is None:
            return _unchanged(session, timer_active=False)
        started = time.perf_counter()
        result = session.end()
        notes = [stopped] if stopped else []
        lost = session.lost_s(session.last_chunk)
        if lost > LOST_NOTICE_S:
            notes.append(_lost_notice(lost))
        if session.stream.lagging:
            notes.append(lag_notice(session.stream))
        return (
            _live_html(session.stream.latest, done=True),
            "  \n".join(notes),
            *_result(session, result, time.perf_counter() - started, limits, doubtful),
            gr.Timer(active=False),
            session,
        )

    def stop(session: LiveSession | None) -> tuple[Any, ...]:
        if session is None:
            return _unchanged(session, timer_active=False)
        with session.lock:
            return finish(session)

    def tick(session: LiveSession | None) -> tuple[Any, ...]:
        skip = (gr.skip(), gr.skip())
        if session is None or session.stream is None:
            return (*_unchanged(session), *skip)
        with session.lock:
            if session.stream.finished:
                return (*_unchanged(session, timer_active=False), *skip)
            if session.heard_s >= limit:
                stopped = f"Live mode stops after {limit:g} s."
                return (*finish(session, stopped=stopped), *skip)
            if time.monotonic() - session.last_chunk >= IDLE_S:
                return (*finish(session), *skip)
            stream, partial = session.stream, session.partial
        # While recording: the picture of the latest audio, redrawn when a phrase closed
        # (drawn outside the lock, so the chunks keep coming in meanwhile).
        if partial is None or partial.stable == session.pictured:
            return (*_unchanged(session), *skip)
        session.pictured = partial.stable
        return (*_unchanged(session), live_picture(stream, partial), gr.skip())

    def decode_again(session: LiveSession | None, choice: str, *lm: Any) -> tuple[Any, ...]:
        if session is None or session.stream is None or not session.stream.finished:
            raise gr.Error("Record something first; the settings apply when it ends.")
        started = time.perf_counter()
        try:
            result = session.stream.decode(choice, lm_options(*lm))
        except HyasrError as error:
            raise gr.Error(html.escape(str(error)), title="Cannot decode") from error
        return (*_result(session, result, time.perf_counter() - started, limits, doubtful), session)

    microphone.start_recording(
        arm,
        inputs=[session_state],
        outputs=[*outputs, *views.components],
        queue=False,
        api_visibility="private",
    )
    microphone.stream(
        step,
        inputs=[microphone, session_state, *lm_inputs],
        outputs=[live, status, session_state],
        show_progress="hidden",
        stream_every=settings.live_step_s,  # the microphone itself sends every 0.1 s
        time_limit=limit + 5 * settings.live_step_s,  # the stream itself stops at `limit`
        # Each open stream holds a Gradio worker while it runs; the handler only queues
        # chunks, and StreamSlots bounds the streams with a message instead of a silent wait.
        concurrency_limit=None,
        api_visibility="private",
    )
    microphone.stop_recording(
        stop, inputs=[session_state], outputs=outputs, api_visibility="private"
    )
    timer.tick(
        tick,
        inputs=[session_state],
        outputs=[*outputs, picture, picture_box],
        show_progress="hidden",  # a tick a second must not flash every output
        api_visibility="private",
    )
    again.click(
        decode_again,
        inputs=[session_state, *lm_inputs],
        outputs=[*results, session_state],
        api_visibility="private",
    )
    # The player, the picture and the Share link follow each finished (or decoded again)
    # stream, as on the Transcribe tab; a new recording hides them (arm).
    shown = last_result.change(
        lambda: None, queue=False, api_visibility="private", show_progress="hidden"
    )
    # The picture reads the recording back under the upload limit: a live stream's is longer.
    longest = max(settings.max_duration_s, limit + settings.live_max_step_s + 1.0)
    recorded = replace(settings, max_duration_s=longest)
    speech_view.show_after(shown, views, recording, last_result, transcriber, recorded)


def _recording_views() -> tuple[Any, ...]:
    """`ResultViews` while recording: no player or Share link yet; the picture's box shown
    now, holding the empty frame of `RECENT_S` that the live picture fills. Showing the box
    later, in the middle of a recording, re-lays out the page, and Chromium's capture
    then lost or garbled audio (the browser test's text moved by 21 % CER in 2 runs of 2;
    updating only the image, in none of the next 7)."""
    player, _, _, share = speech_view.cleared()
    return player, gr.Column(visible=True), _empty_frame(), share


@functools.cache
def _empty_frame() -> Any:
    """The picture of `RECENT_S` of silence: the same for every recording, drawn once."""
    return speech_picture(np.zeros(round(RECENT_S * SAMPLE_RATE), np.float32), SAMPLE_RATE)


def live_picture(stream: LiveStream, partial: Partial) -> Any:
    """The picture of the speech (picture.py) over the stream's latest `RECENT_S` of audio,
    with the words heard in it, times relative to its start."""
    samples, start_s = stream.recent()
    if not samples.size:
        return gr.skip()
    words = [
        replace(word, start=max(0.0, word.start - start_s), end=word.end - start_s)
        for word in partial.words
        if word.end > start_s
    ]
    return speech_picture(samples, stream.sample_rate, words, clock_offset_s=start_s)


def read_chunk(path: str | None) -> tuple[int, np.ndarray]:
    """A streamed microphone chunk (a WAV file) as (rate, samples): every whole frame after
    the header, whatever length the header declares (see the module docstring). Raises
    `AudioDecodeError` for a chunk that is not PCM WAV."""
    if not path:
        return SAMPLE_RATE, np.zeros(0, np.int16)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise AudioDecodeError(f"a microphone chunk could not be read: {error}") from error
    fmt, payload, position = None, None, 12
    while data[:4] == b"RIFF" and data[8:12] == b"WAVE" and position + 8 <= len(data):
        kind, size = (
            data[position : position + 4],
            int.from_bytes(data[position + 4 : position + 8], "little"),
        )
        body = position + 8
        if kind == b"fmt " and size >= 16:
            fmt = struct.unpack("<HHIIHH", data[body : body + 16])
        elif kind == b"data":
            payload = data[body:]
            break
        position = body + size + (size & 1)
    if fmt is None or payload is None:
        raise AudioDecodeError("a microphone chunk was not a WAV file; it was skipped.")
    tag, channels, rate, _, block, bits = fmt
    dtype = _WAV_TYPES.get((1 if tag == 0xFFFE else tag, bits))
    if dtype is None or channels < 1 or block != channels * bits // 8:
        raise AudioDecodeError(
            f"a microphone chunk had an unsupported WAV format ({bits}-bit, tag {tag}); "
            "it was skipped."
        )
    frames = len(payload) // block
    return rate, np.frombuffer(payload[: frames * block], dtype).reshape(frames, channels)


# (format tag, bits) -> sample type; 0xFFFE (extensible) is read as PCM
_WAV_TYPES = {(1, 8): np.uint8, (1, 16): np.dtype("<i2"), (1, 32): np.dtype("<i4"),
              (3, 32): np.dtype("<f4"), (3, 64): np.dtype("<f8")}  # fmt: skip


def _result(
    session: LiveSession,
    result: Transcription,
    seconds: float,
    limits: CaptionLimits,
    doubtful: float,
) -> tuple[Any, ...]:
    """The outputs of a finished stream, as the Transcribe tab shows a file's."""
    if session.files.closed:
        session.files = SessionFiles(prefix="hyasr-live-")
    paths = session.files.write_transcription(result, limits=limits)
    text, greedy_view, lm_view, info, rows = _render(result, seconds)
    table = segments_table(result.best, result.duration, limits)
    audio = session.stream.recording if session.stream is not None else None
    both = result.get(GREEDY) is not None and result.get(LM) is not None
    return (
        text,
        greedy_view,
        lm_view,
        info.replace("transcribed in", "decoded in"),
        rows,
        table,
        [str(path) for path in paths.values()],
        gr.Row(visible=both),
        confidence_view(result.best, doubtful),
        str(audio) if audio is not None and audio.is_file() else None,
        result,
    )


def _cleared() -> tuple[Any, ...]:
    return ("", [], [], "", None, None, None, gr.Row(visible=False), [], None, None)


def _unchanged(
    session: LiveSession | None, status: str | None = None, timer_active: bool | None = None
) -> tuple[Any, ...]:
    skip = gr.skip()
    timer = skip if timer_active is None else gr.Timer(active=timer_active)
    return (skip, skip if status is None else status, *(skip for _ in range(11)), timer, session)


def _status(session: LiveSession, now: float) -> Any:
    stream = session.stream
    lines = [f"**Note:** {html.escape(note)}" for note in dict.fromkeys(session.notes)]
    lost = session.lost_s(now)
    if lost > LOST_NOTICE_S:
        lines.append(_lost_notice(lost))
    if stream is not None and stream.lagging:
        lines.append(lag_notice(stream))
    elif stream is not None and stream.step_s > stream.settings.live_step_s * 1.5:
        lines.append(f"The text updates every {stream.step_s:.1f} s on this hardware.")
    return "  \n".join(lines) if lines else gr.skip()


def busy_notice(slots: StreamSlots) -> str:
    return (
        f"**Live mode is busy:** {slots.open} live streams are open, the most this server "
        f"takes at once (`HYASR_LIVE_MAX_STREAMS`={slots.limit}); this recording was not "
        "heard. Stop, and record again in a minute, or record on the Transcribe tab."
    )


def lag_notice(stream: LiveStream) -> str:
    """What to do about a stream that falls behind, by what the model runs on now."""
    model = stream.transcriber.model
    if model.preparing == "int8":
        return f"{LAG_NOTICE}; a faster int8 model is being prepared and takes over when ready."
    if model.device == "cpu" and model.dtype != "int8":
        return f"{LAG_NOTICE}, or run the app with `HYASR_DTYPE=int8` (several times faster)."
    return f"{LAG_NOTICE}: live mode needs a faster machine or a GPU for this model."


def _lost_notice(lost: float) -> str:
    return (
        f"**Note:** about {lost:.1f} s of microphone audio did not reach the server (it was "
        "busy, or the connection is slow); the transcript has gaps there."
    )


def _joined(chunks: list[tuple[int, np.ndarray]]) -> list[tuple[int, np.ndarray]]:
    """Consecutive chunks of one rate and layout as one (one feed, one step)."""
    joined: list[tuple[int, np.ndarray]] = []
    for rate, samples in chunks:
        if joined:
            last_rate, last = joined[-1]
            if last_rate == rate and last.shape[1:] == samples.shape[1:]:
                if last.dtype == samples.dtype:
                    joined[-1] = (rate, np.concatenate([last, samples]))
                    continue
        joined.append((rate, samples))
    return joined


def _live_html(partial: Partial | None, done: bool = False) -> str:
    """The closed phrases as plain text, the open phrase lighter and in italics."""
    if partial is None or not partial.text:
        hint = "Nothing was heard." if done else "Press Record and speak; the text appears here."
        return f'<div class="hyasr-live"><span class="hyasr-live-hint">{hint}</span></div>'
    stable = html.escape(partial.stable)
    pending = html.escape("" if done else partial.pending)
    return (
        '<div class="hyasr-live" style="font-size: 1.2em; line-height: 1.6">'
        f'<span class="hyasr-live-stable">{stable}</span> '
        '<span class="hyasr-live-pending" style="opacity: 0.55; font-style: italic">'
        f"{pending}</span></div>"
    )
