"""The page's own scripts (web/assets/*.js), put in its <head> (`launch(head=...)`):
click-to-seek and the playing word (seek.js), the language switch (language.js)."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).parent / "assets"
SCRIPTS = ("seek.js",)


def head() -> str:
    """Each script inline, in order; Gradio adds them to the page's head at load."""
    return "\n".join(
        f"<script>{(ASSETS / name).read_text(encoding='utf-8')}</script>" for name in SCRIPTS
    )
