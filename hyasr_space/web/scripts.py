"""The page's own scripts (web/assets/*.js), put in its <head> (`launch(head=...)`):
click-to-seek and the playing word (seek.js), the language switch (language.js)."""

from __future__ import annotations

import json
from pathlib import Path

from .strings import EN, HEADERS_HY, HY, TOASTS_HY

ASSETS = Path(__file__).parent / "assets"
SCRIPTS = ("language.js", "seek.js")
LIVE_CLIENT_WORDS = ("live_hint_listening", "live_behind", "live_mic_failed", "live_closed")


def head() -> str:
    """The Armenian names of the table headers, tabs and toast headings, then each script
    inline, in order; Gradio adds them to the page's head at load."""
    headers = json.dumps(HEADERS_HY, ensure_ascii=False)
    tabs = json.dumps({EN[k]: HY[k] for k in EN if k.startswith("tab_")}, ensure_ascii=False)
    toasts = json.dumps(TOASTS_HY, ensure_ascii=False)
    names = f"window.HYASR_HEADERS = {headers}; window.HYASR_TABS = {tabs};"
    names += f" window.HYASR_TOASTS = {toasts};"
    # The Share button's words: Gradio writes them into the button's script, once, in
    # English (gr.DeepLinkButton), and puts its label back a second after a click.
    share = json.dumps({EN[k]: HY[k] for k in ("share", "share_done")}, ensure_ascii=False)
    names += f" window.HYASR_SHARE = {share};"
    # The live client's own words (static/live_client.js), in both languages.
    live = {lang: {k: t[k] for k in LIVE_CLIENT_WORDS} for lang, t in (("en", EN), ("hy", HY))}
    names += f" window.HYASR_LIVE_WORDS = {json.dumps(live, ensure_ascii=False)};"
    scripts = [f"<script>{names}</script>"]
    scripts += [f"<script>{(ASSETS / n).read_text(encoding='utf-8')}</script>" for n in SCRIPTS]
    return "\n".join(scripts)
