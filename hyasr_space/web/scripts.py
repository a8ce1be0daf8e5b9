"""The page's own scripts (web/assets/*.js), put in its <head> (`launch(head=...)`):
click-to-seek and the playing word (seek.js), the language switch (language.js)."""

from __future__ import annotations

import json
from pathlib import Path

from .strings import EN, HEADERS_HY, HY

ASSETS = Path(__file__).parent / "assets"
SCRIPTS = ("language.js", "seek.js")


def head() -> str:
    """The table headers' Armenian names, then each script inline, in order; Gradio adds
    them to the page's head at load."""
    headers = json.dumps(HEADERS_HY, ensure_ascii=False)
    tabs = json.dumps({EN[k]: HY[k] for k in EN if k.startswith("tab_")}, ensure_ascii=False)
    scripts = [f"<script>window.HYASR_HEADERS = {headers}; window.HYASR_TABS = {tabs};</script>"]
    scripts += [f"<script>{(ASSETS / n).read_text(encoding='utf-8')}</script>" for n in SCRIPTS]
    return "\n".join(scripts)
