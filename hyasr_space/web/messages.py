"""What the server writes to a page, in that page's language (language.py): `gr.Error`s,
the package's errors (errors.py) and the notices that come with a result.

The package below the web layer writes English (the CLI, the API and agents read it);
the page's words for it are here: each `HyasrError` subclass has a catalogue key whose
template quotes the error's own numbers, and the notices the page shows most (no
language model, the Live tab's stops) are recognised by their English text. Anything
else keeps its English text under a translated heading, which is better than nothing
for a detail that names files, settings and libraries.
"""

from __future__ import annotations

import html
import re

import gradio as gr

from ..alignment import DESCRIPTION as ALIGN_DESCRIPTION
from ..decoding import GREEDY_DESCRIPTION, NO_LM_NOTICE
from ..errors import (
    AudioDecodeError,
    AudioTooLongError,
    AudioTooShortError,
    EmptyAudioError,
    FileTooLargeError,
    HyasrError,
    InvalidRequestError,
    ModelUnavailableError,
)
from .strings import CATALOGUES, ENGLISH, text

BOTH_CLASS = "hyasr-both"
# `both_languages`: the page shows the span in its own language (language.js sets <html lang>).
CSS = f"""
html[lang="hy"] .{BOTH_CLASS} > [lang="en"],
html:not([lang="hy"]) .{BOTH_CLASS} > [lang="hy"] {{ display: none; }}
"""


def _pattern(source: str) -> re.Pattern[str]:
    return re.compile(source, re.DOTALL)  # a detail (an exception's text) may span lines


# The English notices the page shows in its own language: (pattern, key); the pattern's
# named groups fill the key's placeholders.
NOTICES: tuple[tuple[re.Pattern[str], str], ...] = (
    (_pattern(re.escape(NO_LM_NOTICE)), "notice_no_lm"),
    (_pattern(r"Live mode stops after (?P<limit>[\d.]+) s\."), "notice_time_limit"),
    (
        _pattern(
            r"Live mode stopped: the server fell more than (?P<behind>[\d.]+) s behind the "
            r"microphone \((?P<setting>\w+), (?P<memory>[\d.]+) MB\); what it heard until "
            r"then is the result\."
        ),
        "notice_fell_behind",
    ),
    (
        _pattern(r"The language model could not be loaded \((?P<detail>.*)\); decoding greedily\."),
        "notice_lm_failed",
    ),
    (
        _pattern(
            r"The faster int8 model could not be prepared \((?P<detail>.*)\); "
            r"(?P<dtype>\w+) keeps serving\."
        ),
        "notice_int8_failed",
    ),
    (
        _pattern(
            r"The text is the live one, phrase by phrase: a final pass over the whole "
            r"recording would take about (?P<estimate>\d+) s here, over the (?P<limit>\S+) s "
            r"allowed \((?P<setting>\w+)\)\."
        ),
        "notice_final_pass_skipped",
    ),
    (_pattern(r"The text is the live one, phrase by phrase: (?P<detail>.*)"), "notice_live_kept"),
    (
        _pattern(
            r"(?P<model>\S+) could not be loaded \((?P<detail>.*)\)\. Using the bundled demo "
            r"model instead: it is small and far less accurate\."
        ),
        "notice_fallback_demo",
    ),
)


def both_languages(key: str, **values: object) -> str:
    """HTML of `key` in every language, each in a span the page shows only in its own
    language (`CSS`): for a value written before a page asked for one, such as a
    component's first value, which one page serves in both languages."""
    spans = "".join(
        f'<span lang="{language}">{html.escape(text(language, key, **values))}</span>'
        for language in CATALOGUES
    )
    return f'<span class="{BOTH_CLASS}">{spans}</span>'


# The decoders' descriptions (decoding.py, lm.py, alignment.py), as the details show them.
DESCRIPTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (_pattern(re.escape(GREEDY_DESCRIPTION)), "describe_greedy"),
    (_pattern(r"beam search \+ (?P<order>\d+)-gram KenLM \((?P<settings>.*)\)"), "describe_lm"),
    (_pattern(re.escape(ALIGN_DESCRIPTION)), "describe_align"),
)


def page_error(language: str, key: str, title: str, **values: object) -> gr.Error:
    """A `gr.Error` from the catalogue: message `key` (filled with `values`, escaped, since
    Gradio renders error text as HTML) under the title `title`."""
    escaped = {name: html.escape(str(value)) for name, value in values.items()}
    return gr.Error(text(language, key, **escaped), title=text(language, title))


def hyasr_error(language: str, error: HyasrError, title: str) -> gr.Error:
    """A package error as `gr.Error` under the catalogue's `title`."""
    return gr.Error(error_message(language, error), title=text(language, title))


def error_message(language: str, error: HyasrError) -> str:
    """The error's message for the page, escaped: English as errors.py wrote it, Armenian
    from the catalogue with the error's own numbers."""
    if language == ENGLISH:
        return html.escape(str(error))
    name = html.escape(getattr(error, "name", ""))
    detail = html.escape(str(error))
    if isinstance(error, AudioTooLongError):
        # errors.py says "at least" where the file was cut off before its end was known
        at_least = f"at least {error.duration_s:.1f}" in str(error)
        length = (
            text(language, "error_too_long_at_least", duration=error.duration_s)
            if at_least
            else f"{error.duration_s:.1f}"
        )
        return text(language, "error_too_long", name=name, length=length, limit=error.limit_s)
    if isinstance(error, AudioTooShortError):
        ms, limit_ms = error.duration_s * 1000, error.limit_s * 1000
        return text(language, "error_too_short", name=name, ms=ms, limit_ms=limit_ms)
    if isinstance(error, FileTooLargeError):
        return text(
            language, "error_too_large", name=name, size=error.size_mb, limit=error.limit_mb
        )
    for kind, key in (
        (EmptyAudioError, "error_empty"),
        (AudioDecodeError, "error_decode"),
        (InvalidRequestError, "error_request"),
        (ModelUnavailableError, "error_model"),
    ):
        if isinstance(error, kind):
            return text(language, key, detail=detail)
    return text(language, "error_other", detail=detail)


def notice(language: str, english: str) -> str:
    """A notice (not escaped) in the page's language; one the catalogue does not know
    stays as it is."""
    return _translated(language, english, NOTICES)


def description(language: str, english: str) -> str:
    """A decoder's description (not escaped) in the page's language; its settings (names
    of knobs and numbers) as code."""
    return _translated(language, english, DESCRIPTIONS)


def _translated(language: str, english: str, table: tuple[tuple[re.Pattern[str], str], ...]) -> str:
    if language == ENGLISH:
        return english
    for pattern, key in table:
        found = pattern.fullmatch(english.strip())
        if found:
            return text(language, key, **found.groupdict())
    return english


def notes(language: str, notices: tuple[str, ...] | list[str]) -> list[str]:
    """Markdown lines "**Note:** ..." for each notice, escaped, in the page's language."""
    heading = text(language, "note")
    return [f"**{heading}** {html.escape(notice(language, n))}" for n in notices]
