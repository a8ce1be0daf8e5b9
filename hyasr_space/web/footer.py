"""The page's footer: what is kept where (the browser, the server, Share links), in the
page's language. What it says follows the settings: `run_history` (is anything kept in
the browser) and `temp_file_ttl_s` (how long the server keeps uploads and results)."""

from __future__ import annotations

import gradio as gr

from ..settings import Settings
from .strings import ui

FOOTER_CLASS = "hyasr-privacy"
CSS = f".{FOOTER_CLASS} {{ font-size: var(--text-sm); opacity: 0.85; }}"


def privacy_footer(settings: Settings) -> None:
    """The footer's paragraphs, one Markdown each (Gradio translates one key a string)."""
    browser = "privacy_browser_on" if settings.run_history else "privacy_browser_off"
    with gr.Column(elem_classes=[FOOTER_CLASS]):
        gr.Markdown("#### " + ui("privacy_title"))
        for key in (browser, "privacy_server", "privacy_share"):
            gr.Markdown(ui(key))


def page_values(settings: Settings) -> dict[str, float]:
    """The limits the page's strings quote (strings.translations fills them in)."""
    return {
        "max_duration_s": settings.max_duration_s,
        "live_time_limit_s": settings.live_time_limit_s,
        "ttl_minutes": round(settings.temp_file_ttl_s / 60, 1),
    }
