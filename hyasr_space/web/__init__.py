"""The Gradio app (`build_demo`, `launch`): components and events only; every decision is
the `Transcriber`'s. One module a tab: transcribe_tab.py (the public API), live_tab.py
(live captions; its sessions in live_sessions.py, its WebSocket route in live_socket.py,
its page scripts in static/), align_tab.py (its Re-align, the API's `/align`, and the Align tab),
card_tab.py; session_files.py keeps each session's downloads; speech_view.py shows what
comes under a result besides the API's outputs (the captioned player, the picture, the
Share link).

The page loads the model once at start-up. When no model can be loaded, the app still
starts: a banner says why, the Transcribe button is disabled, and an API call gets the
same reason as an error. Errors meant for users (`HyasrError`) become `gr.Error` here
and nowhere else, escaped, since Gradio renders error text as HTML.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from typing import Any

import gradio as gr

from ..errors import ModelUnavailableError
from ..runtime.heap import keep_heap_trimmed
from ..runtime.policy import on_zero_gpu
from ..settings import Settings
from ..transcriber import Transcriber
from .agent_tools import add_agent_tools, keep_page_api_out_of_mcp
from .align_tab import API_NAME as ALIGN_API_NAME
from .align_tab import align_tab, wire_realign
from .card_tab import model_card_tab
from .compare_tab import API_NAME as COMPARE_API_NAME
from .compare_tab import compare_tab
from .footer import CSS as FOOTER_CSS
from .footer import page_values, privacy_footer
from .language import request_language
from .live_socket import live_socket_routes
from .live_tab import live_tab
from .messages import CSS as MESSAGES_CSS
from .messages import notice
from .openai_api import add_openai_endpoint, openai_routes
from .scripts import head
from .speech_view import CSS as SPEECH_VIEW_CSS
from .strings import ENGLISH, LANGUAGE_NAMES, LANGUAGES, translations, ui
from .transcribe_tab import API_NAME, transcribe_tab

log = logging.getLogger(__name__)

TITLE = "Armenian speech recognition"
CSS = """
.hyasr-banner { border-left: 4px solid #d97706; padding: 0.5em 1em; background: #fffbeb; }
"""
CSS += SPEECH_VIEW_CSS + FOOTER_CSS + MESSAGES_CSS

# A tab builder creates one `gr.Tab` inside the app's `gr.Tabs`; it is handed the
# settings and the transcriber (None when no model could be loaded).
TabBuilder = Callable[[Settings, "Transcriber | None"], None]


def build_demo(
    settings: Settings | None = None,
    transcriber: Transcriber | None = None,
    extra_tabs: Sequence[TabBuilder] | None = None,
    *,
    model: str | None = None,
    revision: str | None = None,
) -> gr.Blocks:
    """The app. Loads `model` (default: the configured one, with the demo model as its
    fallback) unless a transcriber is given."""
    settings = settings or Settings.from_env()
    problem = None
    if transcriber is None:
        try:
            transcriber = Transcriber.load(model, revision, settings)
            if settings.warm_up and not on_zero_gpu():  # there, a GPU exists only per request
                transcriber.warm_up()
        except ModelUnavailableError as error:
            problem = str(error)
            log.error("no model could be loaded; the app starts without one: %s", problem)
    if transcriber is not None:
        log.info("serving %s", transcriber.describe())
        for notice in transcriber.notices:
            log.warning("%s", notice)

    ttl = max(1, round(settings.temp_file_ttl_s))  # uploads and result files expire
    with gr.Blocks(title=TITLE, delete_cache=(max(1, ttl // 4), ttl)) as demo:
        with gr.Row(equal_height=True):
            gr.Markdown("# " + ui("title"))
            switch = language_switch()
        # The switch shows the language the page chose (language.js), once it is up.
        demo.load(None, outputs=[switch], js="() => window.hyasrLanguage.current")
        intro = gr.Markdown(_intro(transcriber))
        banner = _banner(transcriber, problem)
        notes = gr.Markdown(banner, visible=bool(banner), elem_classes=["hyasr-banner"])
        if transcriber is not None and (transcriber.model.preparing or transcriber.notices):
            # int8 is on its way (runtime/precision.py): a page opened after the switch, or after
            # a failed export, says what serves then; and the notices in the page's language.
            def header(request: gr.Request | None = None) -> tuple[str, Any]:
                return _header(transcriber, problem, request_language(request))

            demo.load(header, outputs=[intro, notes], api_visibility="private")
        with gr.Tabs():
            with gr.Tab(ui("tab_transcribe")):
                page = transcribe_tab(settings, transcriber, problem)
                wire_realign(page, settings, transcriber, problem)
            with gr.Tab(ui("tab_live")):
                live_tab(settings, transcriber, problem)
            # More tabs come in through extra_tabs; by default Align, Compare and the
            # model card (which shows the card of the model chosen on Transcribe).
            default_tabs = (align_tab, compare_tab, model_card_tab)
            for build_tab in default_tabs if extra_tabs is None else extra_tabs:
                if build_tab is model_card_tab:
                    model_card_tab(settings, transcriber, page.model)
                else:
                    build_tab(settings, transcriber)
        privacy_footer(settings)
        # For programs and agents: MCP tools and the OpenAI route's queue endpoint, each in
        # the concurrency group of the page event it mirrors (agent_tools.py, openai_api.py).
        add_agent_tools(
            demo, settings, transcriber, problem, transcribe_api=API_NAME, align_api=ALIGN_API_NAME
        )
        add_openai_endpoint(demo, settings, transcriber, transcribe_api=API_NAME)
        # /compare is for the page and gradio_client, not an agent's tool (two models'
        # texts side by side is a person's view).
        keep_page_api_out_of_mcp(demo, (COMPARE_API_NAME,))
    # Requests can only share a batch (runtime/batching.py) if that many run at once.
    batch = transcriber.model.request_batch_size if transcriber else 1
    demo.queue(
        max_size=settings.queue_max_size,
        default_concurrency_limit=max(settings.concurrency_limit, batch),
    )
    return demo


def language_switch() -> gr.Radio:
    """Armenian or English: language.js picks one from the address or the browser, and
    the switch sets it (and writes it in the address, so a Share link keeps it). Both run
    in the browser only: no request, nothing stored."""
    switch = gr.Radio(
        [(LANGUAGE_NAMES[language], language) for language in LANGUAGES],
        label=ui("language"),
        elem_id="hyasr-language",
        container=False,
        scale=0,
        min_width=220,
    )
    gr.on([switch.input], None, inputs=[switch], js="(v) => window.hyasrLanguage.set(v)")
    return switch


def _intro(transcriber: Transcriber | None) -> str:
    # One translated string a Markdown (Gradio translates the first key in a value).
    if transcriber is None:
        return ui("intro") + ""
    return ui("intro") + f"  \n`{transcriber.describe()}`"


def _header(
    transcriber: Transcriber | None, problem: str | None, language: str = ENGLISH
) -> tuple[str, Any]:
    banner = _banner(transcriber, problem, language)
    return _intro(transcriber), gr.update(value=banner, visible=bool(banner))


def _banner(transcriber: Transcriber | None, problem: str | None, language: str = "") -> str:
    # The details come from the model loader in English (they name files and repos); the
    # notices the catalogue knows are in the page's language once the page asks (header).
    if problem is not None:
        return "**" + ui("no_model") + f"** {html.escape(problem)}"
    notices = transcriber.notices if transcriber else ()
    if not notices:
        return ""
    shown = (html.escape(notice(language, n) if language else n) for n in notices)
    return "**" + ui("note") + "** " + "\n\n".join(shown)


def launch(
    demo: gr.Blocks,
    settings: Settings,
    *,
    share: bool = False,
    host: str | None = None,
    port: int | None = None,
    prevent_thread_lock: bool = False,
) -> Any:
    """Serve the app; host and port default to GRADIO_SERVER_NAME/PORT (set on Spaces)."""
    keep_heap_trimmed(settings.heap_trim_interval_s)
    return demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        max_file_size=settings.max_file_size_bytes,
        state_session_capacity=settings.max_sessions,
        theme=gr.themes.Soft(),
        css=CSS,
        head=head(),  # click-to-seek, the language switch (web/assets/)
        run_history=settings.run_history,  # off unless chosen: see settings.py
        i18n=gr.I18n(**translations(page_values(settings))),
        prevent_thread_lock=prevent_thread_lock,
        mcp_server=settings.mcp_server,  # agent_tools.py: at /gradio_api/mcp/
        # Routes of our own on Gradio's server (FastAPI's `routes`, matched before
        # Gradio's): the OpenAI-compatible /v1 routes and the live captions' socket.
        app_kwargs={"routes": [*openai_routes(demo), *live_socket_routes()]},
        # Gradio's SSR puts Node in front, which passes only /gradio_api/... and a few
        # other paths to Python (templates/node/build/proxy_routes.js): /v1 and the live
        # socket would be lost.
        ssr_mode=False,
    )


__all__ = ["API_NAME", "TITLE", "TabBuilder", "build_demo", "launch"]
