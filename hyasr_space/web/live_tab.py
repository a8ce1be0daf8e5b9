"""The Live tab: the microphone transcribed while the person speaks (streaming.py).

The page captures the microphone itself (static/live_client.js, an AudioWorklet) and
streams numbered 16 kHz chunks over a WebSocket on the app's own server
(live_socket.py), which acknowledges each one and feeds the session's `LiveStream` on a
worker thread (live_sessions.py); the partial text comes back on the socket and the page
writes it into this tab: the closed phrases as plain text, the open one lighter, and how
far behind the server is when it falls behind. Gradio's streaming microphone is gone: it
keeps only the newest chunk while the server is busy, and its page drops what it records
while the event waits for a queue slot (issue 21), so it lost speech exactly under load.

This module only wires components: Record starts the capture in the page and, through a
Gradio event of this session, a stream with an unguessable token that the page's socket
must present; Stop waits in the page until the server has fed every chunk, then shows
what the Transcribe tab shows for a file (transcript, words, segments, SRT/WebVTT/JSON);
the decoder and LM settings decode the finished stream again without the network.

A stream also ends when the server stops it (`live_time_limit_s` of audio, or more than
`live_max_behind_s` received and not yet recognised): a timer, running only while
recording, finds that, or a stream whose page has sent nothing for `STALE_S` (the
connection is gone for good), and shows the result with the reason. Each session's
stream and download folder are freed when its tab closes (`gr.State(delete_callback)`).
At most `live_max_streams` streams are open at once (`StreamSlots`); one more is told so.

The Model dropdown is the other tabs' (model_panel.py). Record streams with the chosen
model's transcriber, and the stream holds that model in the pool for its whole life
(`held_model`, let go by `LiveSession.end`/`close`), so the pool never unloads it
mid-stream. A model not loaded yet is loaded by Record itself (a non-queued event, on
a worker thread: other people's streams go on), after a first step that says
"Loading ..."; the page keeps what the microphone records until the socket opens. A
model that cannot be loaded arms nothing and says why.
"""

from __future__ import annotations

import functools
import html
import logging
import time
from dataclasses import replace
from typing import Any

import gradio as gr
import numpy as np

from ..errors import HyasrError, ModelUnavailableError
from ..lm import LMSettings
from ..picture import speech_picture
from ..results import Partial, Transcription
from ..settings import GREEDY, LM, SAMPLE_RATE, Settings
from ..streaming import RECENT_S, LiveStream
from ..subtitles import CaptionLimits, segments_table
from ..transcriber import Transcriber
from . import speech_view
from .decoder_panel import decoder_controls, lm_settings
from .language import event_language
from .live_sessions import LIVE_SESSIONS, STALE_S, LiveSession, LiveSessions, StreamSlots
from .live_socket import SCRIPT_PATH
from .messages import both_languages, hyasr_error, notes, notice, page_error
from .model_panel import held_model, is_loaded, model_dropdown
from .result_panel import WORD_COLUMNS, confidence_view, result_panel, transcription_values
from .session_files import SessionFiles
from .strings import text as say
from .strings import ui

log = logging.getLogger(__name__)

TICK_S = 1.0
# What the server writes is in the language of the page whose event runs (the handlers
# here ask `event_language()`; strings.py holds the words).
# The page's side (static/live_client.js), loaded from the app's own root on first use.
CLIENT = SCRIPT_PATH.format(name="live_client.js")
_LOAD = (
    "const root = ((window.gradio_config && window.gradio_config.root) || "
    "(location.origin + location.pathname).replace(/\\/[^/]*$/, '')).replace(/\\/+$/, '');"
    f"const client = (await import(root + '{CLIENT}')).live;"
)
START_JS = f"async (...args) => {{ {_LOAD} await client.start(); return args; }}"
CONNECT_JS = "(token) => { window.hyasrLive && window.hyasrLive.connect(token); }"
STOP_JS = "async (...args) => { if (window.hyasrLive) await window.hyasrLive.stop(); return args; }"


def close_live_session(session: LiveSession | None) -> None:
    """`gr.State(delete_callback=...)`: Gradio calls it when the session's state expires."""
    if session is not None:
        LIVE_SESSIONS.forget(session)
        session.close()


def live_tab(
    settings: Settings,
    transcriber: Transcriber | None,
    problem: str | None,
    sessions: LiveSessions | None = None,
) -> None:
    """The Live tab's components and events (inside the current `gr.Tab`); its streams
    join the sockets through `sessions` (default: the process's, which the app's routes
    serve)."""
    if transcriber is None:
        gr.Markdown(ui("live_no_model") + f" {html.escape(problem or '')}")
        return
    sessions = sessions if sessions is not None else LIVE_SESSIONS
    has_lm = transcriber.has_lm
    defaults = transcriber.lm_defaults
    limit = settings.live_time_limit_s
    limits = CaptionLimits.from_settings(settings)
    slots = StreamSlots(settings.live_max_streams)
    doubtful = settings.doubtful_confidence
    with gr.Row():
        with gr.Column():
            gr.Markdown(ui("live_help"))
            model, _ = model_dropdown(settings, transcriber, info=ui("live_model_info"))
            with gr.Row():
                record = gr.Button(ui("live_record"), variant="primary")
                stop_button = gr.Button(ui("live_stop"), interactive=False)
            decoder, alpha, beta, beam_width, hotwords, hotword_weight = decoder_controls(
                settings, has_lm, defaults
            )
            again = gr.Button(ui("live_again"))
        with gr.Column():
            live = gr.HTML(_live_html(None), label=ui("live_transcript"), elem_id="hyasr-live")
            status = gr.Markdown()
            text = gr.Textbox(label=ui("live_text"), lines=4, interactive=False, buttons=["copy"])
            panel = result_panel(WORD_COLUMNS, compare=True)
    panel.add_picture()
    views, picture, picture_box = panel.views, panel.picture, panel.picture_box
    token = gr.Textbox(visible=False)  # the open stream's, handed to the page's socket
    recording = gr.State(None)  # the finished stream's WAV file: the player's, the picture's
    last_result = gr.State(None)
    session_state = gr.State(None, delete_callback=close_live_session)
    timer = gr.Timer(TICK_S, active=False)
    lm_inputs = [decoder, alpha, beta, beam_width, hotwords, hotword_weight]
    results = [
        text, panel.greedy_view, panel.lm_view, panel.info, panel.words, panel.segments,
        panel.downloads, panel.comparison, panel.confidence, recording, last_result,
    ]  # fmt: skip
    outputs = [live, status, *results, timer, session_state, record, stop_button]

    def lm_options(*values: Any) -> LMSettings:
        try:
            return lm_settings(defaults, *values)
        except HyasrError as error:
            raise hyasr_error(event_language(), error, "invalid_settings") from error

    def announce(name: str | None) -> Any:
        """Record's first step: say so when the chosen model must be loaded first."""
        if is_loaded(name, settings):
            return gr.skip()
        return say(event_language(), "live_model_loading", model=html.escape(str(name)))

    def arm(
        session: LiveSession | None, name: str | None, choice: str, *lm: Any
    ) -> tuple[Any, ...]:
        session = session or LiveSession(settings.live_max_behind_s, limit)
        options = lm_options(*lm)
        with session.lock:
            if session.stream is not None and not session.stream.finished:
                session.end()  # a stream left open by a lost stop event
            now = time.monotonic()
            if not slots.take(session, now):
                return (
                    _live_html(None), busy_notice(slots), *_cleared(), gr.skip(), session,
                    *_buttons(recording=False), "", *_recording_views(),
                )  # fmt: skip
            try:  # loads the model if need be: this tab waits, no other stream does
                chosen, hold = held_model(name, transcriber, settings)
            except ModelUnavailableError as error:
                slots.release(session)
                session.slots = None
                refused = say(
                    event_language(), "live_model_unavailable", model=html.escape(str(name)),
                    reason=html.escape(str(error)),
                )  # fmt: skip
                return (
                    _live_html(None), refused, *_cleared(), gr.skip(), session,
                    *_buttons(recording=False), "", *_recording_views(),
                )  # fmt: skip
            try:
                options = own_lm(options, chosen)
                stream = chosen.stream(choice, options, recording=session.new_recording())
            except BaseException:  # nothing armed: the slot and the model go back
                slots.release(session)
                session.slots = None
                if hold is not None:
                    hold.close()
                raise
            session.begin(stream, time.monotonic(), hold=hold)
            sessions.register(session)
            log.info("live stream started (%d open)", slots.open)
        return (
            _live_html(None, listening=True), "", *_cleared(), gr.Timer(active=True), session,
            *_buttons(recording=True), session.token, *_recording_views(),
        )  # fmt: skip

    def own_lm(options: LMSettings, chosen: Transcriber) -> LMSettings:
        """Untouched sliders on another model: that model's own LM weights."""
        touched = (options.alpha, options.beta) != (defaults.alpha, defaults.beta)
        if chosen is transcriber or touched:
            return options
        own = chosen.lm_defaults
        return replace(options, alpha=own.alpha, beta=own.beta)

    def finish(session: LiveSession, stopped: str = "") -> tuple[Any, ...]:
        if session.stream is None or session.stream.finished:
            return _unchanged(session, timer_active=False, recording=False)
        started = time.perf_counter()
        sessions.forget(session)
        result = session.end()
        lines = [f"**{html.escape(notice(event_language(), stopped))}**"] if stopped else []
        if session.stream.lagging:
            lines.append(lag_notice(session.stream))
        return (
            _live_html(session.stream.latest, done=True),
            "  \n".join(lines),
            *_result(session, result, time.perf_counter() - started, limits, doubtful),
            gr.Timer(active=False),
            session,
            *_buttons(recording=False),
        )

    def stop(session: LiveSession | None) -> tuple[Any, ...]:
        if session is None:
            return _unchanged(session, timer_active=False, recording=False)
        with session.lock:
            return finish(session, stopped=session.stopped or "")

    def tick(session: LiveSession | None) -> tuple[Any, ...]:
        skip = (gr.skip(), gr.skip())
        if session is None or session.stream is None:
            return (*_unchanged(session), *skip)
        with session.lock:
            if session.stream.finished:
                return (*_unchanged(session, timer_active=False), *skip)
            if session.stopped is not None and session.drained():
                return (*finish(session, stopped=session.stopped), *skip)
            if time.monotonic() - session.last_seen >= STALE_S:
                gone = say(event_language(), "live_page_gone", seconds=STALE_S)
                return (*finish(session, stopped=gone), *skip)
            stream, partial = session.stream, session.partial
            note = _status(session)
        # While recording: the picture of the latest audio, redrawn when a phrase closed
        # (drawn outside the lock, so the chunks keep coming in meanwhile).
        if partial is None or partial.stable == session.pictured:
            return (*_unchanged(session, status=note), *skip)
        session.pictured = partial.stable
        return (*_unchanged(session, status=note), live_picture(stream, partial), gr.skip())

    def decode_again(session: LiveSession | None, choice: str, *lm: Any) -> tuple[Any, ...]:
        if session is None or session.stream is None or not session.stream.finished:
            raise page_error(event_language(), "live_record_first", "cannot_decode")
        started = time.perf_counter()
        try:
            result = session.stream.decode(
                choice, own_lm(lm_options(*lm), session.stream.transcriber)
            )
        except HyasrError as error:
            raise hyasr_error(event_language(), error, "cannot_decode") from error
        return (*_result(session, result, time.perf_counter() - started, limits, doubtful), session)

    # Record: the page opens the microphone first (in the click, as browsers want), and
    # keeps what it records until the socket that the token opens takes it.
    record.click(
        announce,
        inputs=[model],
        outputs=[status],
        js=START_JS,
        queue=False,
        api_visibility="private",
        show_progress="hidden",
    ).then(
        arm,
        inputs=[session_state, model, *lm_inputs],
        outputs=[*outputs, token, *views.components],
        queue=False,  # not behind the file transcriptions in the queue
        api_visibility="private",
    ).then(None, inputs=[token], js=CONNECT_JS, queue=False, api_visibility="private")
    stop_button.click(
        stop, inputs=[session_state], outputs=outputs, js=STOP_JS, api_visibility="private"
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
    speech_view.show_after(shown, views, recording, last_result, transcriber, recorded, panel.times)


def _buttons(recording: bool) -> tuple[Any, Any]:
    """Record and Stop: one of them at a time."""
    return gr.Button(interactive=not recording), gr.Button(interactive=recording)


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
    values = transcription_values(result, seconds, event_language(), "info_decoded")
    text, greedy_view, lm_view, info, rows = values
    table = segments_table(result.best, result.duration, limits)
    audio = session.stream.recording if session.stream is not None else None
    both = result.get(GREEDY) is not None and result.get(LM) is not None
    return (
        text,
        greedy_view,
        lm_view,
        info,
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
    session: LiveSession | None,
    status: Any = None,
    timer_active: bool | None = None,
    recording: bool | None = None,
) -> tuple[Any, ...]:
    skip = gr.skip()
    timer = skip if timer_active is None else gr.Timer(active=timer_active)
    buttons = (skip, skip) if recording is None else _buttons(recording)
    return (
        skip, skip if status is None else status, *(skip for _ in range(11)), timer, session,
        *buttons,
    )  # fmt: skip


def _status(session: LiveSession) -> Any:
    """Notes about the stream while it runs (the page itself says how far behind it is)."""
    stream, language = session.stream, event_language()
    lines = notes(language, list(dict.fromkeys(session.notes)))
    if stream is not None and stream.lagging:
        lines.append(lag_notice(stream))
    elif stream is not None and stream.step_s > stream.settings.live_step_s * 1.5:
        lines.append(say(language, "live_updates_every", seconds=stream.step_s))
    return "  \n".join(lines) if lines else gr.skip()


def busy_notice(slots: StreamSlots) -> str:
    return say(event_language(), "live_busy", open=slots.open, limit=slots.limit)


def lag_notice(stream: LiveStream) -> str:
    """What to do about a stream that falls behind, by what the model runs on now."""
    model = stream.transcriber.model
    language = event_language()
    if model.preparing == "int8":
        advice = "live_lag_int8"
    elif model.device == "cpu" and model.dtype != "int8":
        advice = "live_lag_cpu"
    else:
        advice = "live_lag_gpu"
    return say(language, "live_lag") + say(language, advice)


def _live_html(partial: Partial | None, done: bool = False, listening: bool = False) -> str:
    """The closed phrases as plain text, the open phrase lighter and in italics, and a line
    that the page fills while recording ("3.2 s behind", or why the server stopped)."""
    behind = '<div class="hyasr-live-behind" style="opacity: 0.7"></div>'
    if partial is None or not partial.text:
        # In both languages, the page's shown (this HTML is also the tab's first value,
        # written before any page asked for a language)
        if done:
            hint = both_languages("live_hint_nothing")
        elif listening:
            hint = both_languages("live_hint_listening")
        else:
            hint = both_languages("live_hint_idle")
        return f'<div class="hyasr-live"><span class="hyasr-live-hint">{hint}</span></div>{behind}'
    stable = html.escape(partial.stable)
    pending = html.escape("" if done else partial.pending)
    return (
        '<div class="hyasr-live" style="font-size: 1.2em; line-height: 1.6">'
        f'<span class="hyasr-live-stable">{stable}</span> '
        '<span class="hyasr-live-pending" style="opacity: 0.55; font-style: italic">'
        f"{pending}</span></div>{behind}"
    )
