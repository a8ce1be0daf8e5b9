"""The model choice the Transcribe, Align and Compare tabs share: a dropdown of the offered
models (models.py), what each one's card says about it, and the transcriber that serves
a request for the chosen one, loaded on first use with progress on the page.

The Space's own model is the default and is already loaded; another one is loaded into
the process-wide `ModelPool` (at most `HYASR_MAX_LOADED_MODELS` at once) and kept
loaded for the length of the request. One that cannot be loaded is an error for that
request only: whatever served before keeps serving.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import gradio as gr

from ..errors import ModelUnavailableError
from ..models import model_info, offered_models, shared_pool, unavailable_message
from ..settings import Settings
from ..transcriber import Transcriber
from .language import request_language
from .strings import ENGLISH, text, ui

# What the server writes is in the page's language (strings.py: model_loading,
# model_unavailable, model_loaded, model_not_loaded); the choices' names are set when the
# page is built, in English.
LABELS = {"default": "the Space's model"}


def model_dropdown(
    settings: Settings,
    transcriber: Transcriber | None,
    *,
    label: str | None = None,
    value: str | None = None,
    info: Any = None,
) -> tuple[Any, Any]:
    """The dropdown (value: a model name, the Space's model unless `value`) and a line
    about the chosen model; the line follows the choice."""
    choices = offered_models(settings)
    dropdown = gr.Dropdown(
        choices=[(_choice_label(name, settings), name) for name in choices],
        value=value if value in choices else choices[0],
        label=label or ui("model_label"),
        info=info or ui("model_info"),
    )
    about = gr.Markdown(value="")

    def about_model(name: str | None, request: gr.Request | None = None) -> str:
        return describe_model(name, settings, request_language(request))

    dropdown.change(
        about_model,
        inputs=[dropdown],
        outputs=[about],
        api_visibility="private",
        queue=False,
    )
    return dropdown, about


def _choice_label(name: str, settings: Settings) -> str:
    return f"{name} ({LABELS['default']})" if name == settings.model else name


def describe_model(name: str | None, settings: Settings, language: str = ENGLISH) -> str:
    """Size, licence (non-commercial flagged), the card's headline WER, whether loaded
    (that in `language`; the card's figures as models.py writes them)."""
    if not name:
        return ""
    info = model_info(name, settings)
    loaded = name == settings.model or shared_pool(settings).is_loaded(name)
    state = text(language, "model_loaded" if loaded else "model_not_loaded")
    warning = "⚠️ " if info.noncommercial else ""
    return html.escape(f"{warning}{info.describe()} · {state}")


@contextmanager
def serving(
    name: str | None,
    default: Transcriber | None,
    settings: Settings,
    progress: Callable[..., Any] | None = None,
    *,
    language: str = ENGLISH,
) -> Iterator[Transcriber | None]:
    """The transcriber for a request on model `name` (the default one for None, "" or
    the Space's model); another model is loaded now if need be, with `progress` told
    (in the page's `language`)."""
    if not name or name == settings.model:
        yield default
        return
    pool = shared_pool(settings)
    if progress is not None and not pool.is_loaded(name):
        progress(0, desc=text(language, "model_loading", model=name))
    try:
        with pool.use(name) as transcriber:
            yield transcriber
    except ModelUnavailableError as error:
        message = unavailable_message(name, error)
        title = text(language, "model_unavailable")
        raise gr.Error(html.escape(message), title=title) from error


def held_model(
    name: str | None, default: Transcriber | None, settings: Settings
) -> tuple[Transcriber | None, ExitStack | None]:
    """The transcriber of model `name` and what keeps it loaded beyond one request (a
    live stream's whole life): an entered `ExitStack` to close when done, None for the
    default model (never unloaded). Loads the model now if need be; raises
    `ModelUnavailableError`, and then holds nothing."""
    if not name or name == settings.model:
        return default, None
    hold = ExitStack()
    transcriber = hold.enter_context(shared_pool(settings).use(name))
    return transcriber, hold


def is_loaded(name: str | None, settings: Settings) -> bool:
    """Whether a request on `name` can start without loading a model first."""
    return not name or name == settings.model or shared_pool(settings).is_loaded(name)


def card_source(name: str | None, default: Transcriber | None, settings: Settings) -> Any:
    """What the card viewer reads for model `name`: the served model's source for the
    default, a Hub id or directory otherwise (the demo model's folder for "demo")."""
    if not name or name == settings.model:
        if default is None:
            raise ModelUnavailableError("no model could be loaded")
        source = default.model.source
        return source.ref if source.kind == "hub" else source.path
    if name == "demo":
        return settings.demo_model_dir
    return name
