"""The "Model card" tab: the loaded model's card and metrics, labelled honestly.

The card logic (card/) never imports Gradio; this is its page. The tab loads lazily,
when the user opens it (``Tab.select``), so starting the app costs no Hub request;
"Refresh from the Hub" re-fetches. The app (web/__init__.py) owns the layout around it::

    with gr.Tabs():
        ...
        card_tab = build_card_tab(lambda: current_model_ref())

and, to fill the tab on page load as well (e.g. when it is the first tab)::

    demo.load(card_tab.load, inputs=card_tab.inputs, outputs=card_tab.outputs)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from ..card import (
    METRIC_COLUMNS,
    ModelCardReport,
    describe_source,
    load_card_report,
    metrics_table,
    training_curve,
)
from ..settings import Settings
from ..text import SCORING_NORMALISATION
from ..transcriber import Transcriber
from .language import request_language
from .strings import ENGLISH, text, ui

__all__ = ["CardTab", "build_card_tab", "card_panel_values", "model_card_tab"]

CARD_TAB_LABEL = ui("tab_card")  # a translation key (strings.py)


def _status_markdown(report: ModelCardReport, language: str) -> str:
    # The card's figures used its author's text normalisation; ours is stated beside them
    # (the normalisation's description is text.py's, in English, like the card's words).
    scoring = text(language, "card_scoring", normalisation=SCORING_NORMALISATION)
    lines = [f"**{describe_source(report)}**", "", scoring]
    if report.warnings:
        lines += ["", *(f"- ⚠️ {warning}" for warning in report.warnings)]
    return "\n".join(lines)


def card_panel_values(
    report: ModelCardReport, language: str = ENGLISH
) -> tuple[str, pd.DataFrame, pd.DataFrame, str]:
    """What the tab's four components show: status and warnings, metrics, curve, card body
    (the card's own words as they are; ours in the page's `language`)."""
    body = report.card_markdown.strip() or f"_{text(language, 'card_none')}_"
    status = _status_markdown(report, language)
    return status, metrics_table(report), training_curve(report), body


@dataclass
class CardTab:
    """The tab's components and the functions that fill them."""

    tab: gr.Tab
    status: gr.Markdown
    metrics: gr.Dataframe
    curve: gr.LinePlot
    body: gr.Markdown
    refresh_button: gr.Button
    inputs: list[gr.components.Component]
    load: Callable[..., tuple[Any, ...]]
    refresh: Callable[..., tuple[Any, ...]]
    outputs: list[gr.components.Component] = field(default_factory=list)


def build_card_tab(
    model_ref_getter: Callable[..., str | Path],
    *,
    inputs: Sequence[gr.components.Component] = (),
    label: Any = CARD_TAB_LABEL,
    cache_dir: str | Path | None = None,
    settings: Settings | None = None,
) -> CardTab:
    """Create the "Model card" tab inside the current ``gr.Blocks`` (or ``gr.Tabs``).

    ``model_ref_getter`` returns the loaded model's Hub repo id or local directory; it is
    called with the values of ``inputs`` (e.g. a model dropdown) each time the tab loads.
    """

    def show(refresh: bool, language: str, *values: Any) -> tuple[Any, ...]:
        try:
            model_ref = model_ref_getter(*values)
        except Exception as error:  # the app may have no model yet: say so in the tab
            reason = text(language, "card_no_model", reason=f"{type(error).__name__}: {error}")
            report = ModelCardReport.unavailable("(no model)", reason)
        else:
            report = load_card_report(
                model_ref, refresh=refresh, cache_dir=cache_dir, settings=settings
            )
        status, metrics, curve, body = card_panel_values(report, language)
        # No training log (the bundled model's card has none): no empty chart either.
        return status, metrics, gr.update(value=curve, visible=not curve.empty), body

    # `request` first: Gradio fills in only the parameters before *values (the page's
    # language, language.py); called from Python with no arguments, it is English.
    def load(request: gr.Request | None = None, *values: Any) -> tuple[Any, ...]:
        return show(False, request_language(request), *values)

    def refresh(request: gr.Request | None = None, *values: Any) -> tuple[Any, ...]:
        return show(True, request_language(request), *values)

    with gr.Tab(label) as tab:
        gr.Markdown(ui("card_legend"))
        status = gr.Markdown(elem_classes=["hyasr-content"])  # the card's own words
        refresh_button = gr.Button(ui("card_refresh"), size="sm")
        metrics = gr.Dataframe(
            headers=list(METRIC_COLUMNS),
            label=ui("card_metrics"),
            interactive=False,
            wrap=True,
        )
        curve = gr.LinePlot(
            x="step",
            y="value",
            color="series",
            title=ui("card_curve_title"),
            x_title="step",
            y_title="error rate",
            label=ui("card_training"),
            visible=False,  # until a card with a training log is shown
        )
        with gr.Accordion(ui("card_body"), open=True):
            body = gr.Markdown(elem_classes=["hyasr-content"])

    outputs: list[gr.components.Component] = [status, metrics, curve, body]
    input_list = list(inputs)
    tab.select(load, inputs=input_list, outputs=outputs, api_visibility="private")
    refresh_button.click(refresh, inputs=input_list, outputs=outputs, api_visibility="private")
    return CardTab(
        tab=tab,
        status=status,
        metrics=metrics,
        curve=curve,
        body=body,
        refresh_button=refresh_button,
        inputs=input_list,
        load=load,
        refresh=refresh,
        outputs=outputs,
    )


def model_card_tab(settings: Settings, transcriber: Transcriber | None, model: Any = None) -> None:
    """The "Model card" tab for the model that actually serves, or for the one chosen in
    `model` (the Transcribe tab's dropdown), when given."""
    from .model_panel import card_source

    def served_model(name: str | None = None) -> str | Path:
        return card_source(name, transcriber, settings)

    build_card_tab(served_model, settings=settings, inputs=[model] if model is not None else ())
