"""The decoder choice and the language model's knobs, as the Transcribe and Live tabs show
them, and the `LMSettings` a request's values make."""

from __future__ import annotations

from dataclasses import replace

import gradio as gr

from ..lm_settings import LMSettings, parse_hotwords
from ..settings import BOTH, GREEDY, LM, Settings
from .strings import EN, ui

DECODER_LABELS = {  # English, as API callers and the tests name them
    GREEDY: EN["decoder_greedy"],
    LM: EN["decoder_lm"],
    BOTH: EN["decoder_both"],
}
DECODER_KEYS = {GREEDY: "decoder_greedy", LM: "decoder_lm", BOTH: "decoder_both"}


def decoder_controls(
    settings: Settings, has_lm: bool, defaults: LMSettings
) -> tuple[gr.Radio, gr.Slider, gr.Slider, gr.Slider, gr.Textbox, gr.Slider]:
    """The decoder choice and the LM's knobs (alpha, beta, beam width, hotwords, hotword
    weight); created where they go."""
    decoder = gr.Radio(
        [(ui(key), value) for value, key in DECODER_KEYS.items()],
        value=LM if has_lm else GREEDY,
        label=ui("decoder"),
    )
    with gr.Accordion(ui("lm_settings"), open=False):
        if not has_lm:
            gr.Markdown(ui("no_lm"))
        alpha = gr.Slider(
            0, max(5.0, defaults.alpha), value=defaults.alpha, step=0.05,
            label=ui("alpha"),
        )  # fmt: skip
        beta = gr.Slider(
            min(-5.0, defaults.beta), max(10.0, defaults.beta), value=defaults.beta,
            step=0.1, label=ui("beta"),
        )  # fmt: skip
        beam_width = gr.Slider(
            1, settings.max_beam_width, value=defaults.beam_width, step=1, label=ui("beam_width")
        )
        hotwords = gr.Textbox(
            "",  # a value, so that API callers may leave it out
            label=ui("hotwords"),
            placeholder=ui("hotwords_placeholder"),
        )
        hotword_weight = gr.Slider(
            0, 50, value=defaults.hotword_weight, step=0.5, label=ui("hotword_weight")
        )
    return decoder, alpha, beta, beam_width, hotwords, hotword_weight


def lm_settings(
    defaults: LMSettings,
    alpha: float,
    beta: float,
    width: float,
    hotwords: str,
    weight: float,
) -> LMSettings:
    """The request's `LMSettings` from the knobs' values (`InvalidRequestError` when one
    is out of range)."""
    return replace(
        defaults,
        alpha=float(alpha),
        beta=float(beta),
        beam_width=int(width),
        hotwords=parse_hotwords(hotwords),
        hotword_weight=float(weight),
    )
