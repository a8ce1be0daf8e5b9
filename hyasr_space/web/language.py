"""The language of the page a request comes from, so that what the server writes back
(errors, the details under a result, the Live tab's notes) matches the page's labels.

Gradio hands an event handler the HTTP request that carried the event (`gr.Request`: the
queue's join, or /run/predict for an event outside the queue), not the page's own
address, so `?lang=` in the address is not among its query parameters. The page's
script (assets/language.js) says which language it shows in two ways that do reach it:

1. the Referer: the browser sends the page's address with the page's own requests (the
   default policy, strict-origin-when-cross-origin, keeps the query for same-origin
   requests), and that address holds `?lang=` once the switch was used or a link named
   it. It is the tab's own choice, so it wins over the cookie, which every tab shares.
2. the cookie `COOKIE`, written whenever the script applies a language.

Failing both, the browser's Accept-Language, read the way the script reads
`navigator.languages` (the first of Armenian or English). A request that comes from no
page (gradio_client, curl, an agent: no Referer, no Origin, no cookie) gets English, as
the API's messages are English for the programs that read them.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .strings import ENGLISH, LANGUAGES

COOKIE = "hyasr-lang"
QUERY = "lang"


def request_language(request: Any) -> str:
    """ "hy" or "en": the language of the page that sent `request` (a `gr.Request`, or
    None where Gradio has none), English for a request with no page."""
    headers = _headers(request)
    if not headers:
        return ENGLISH
    referer = headers.get("referer", "")
    asked = parse_qs(urlsplit(referer).query).get(QUERY, [])
    if asked and asked[-1] in LANGUAGES:
        return asked[-1]
    cookie = _cookies(request).get(COOKIE)
    if cookie in LANGUAGES:
        return cookie
    if referer or headers.get("origin"):  # a page, which has not said which language
        return accepted_language(headers.get("accept-language", ""))
    return ENGLISH


def event_language() -> str:
    """The language of the page whose event is being handled, for code that is not handed
    the request: Gradio keeps the event's request in a context variable while the handler
    runs (`gradio.context.LocalContext.request`, which its own `gr.Info` and caching read).
    English outside an event."""
    from gradio.context import LocalContext

    return request_language(LocalContext.request.get(None))


def accepted_language(header: str) -> str:
    """The first of Armenian or English in an Accept-Language header, by its q-values (the
    order the browser prefers them in, as `navigator.languages` lists them)."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue  # a malformed entry is skipped, as browsers never send one
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and quality > 0:
            ranked.append((-quality, position, base))
    return min(ranked)[2] if ranked else ENGLISH


def _headers(request: Any) -> dict[str, str]:
    try:
        headers = getattr(request, "headers", None) if request is not None else None
    except AttributeError:  # a gr.Request made without a FastAPI request or headers
        return {}
    if not headers:
        return {}
    # Starlette's Headers, a dict, or Gradio's Obj (a request kept past its connection)
    return {str(key).lower(): str(value) for key, value in dict(headers).items()}


def _cookies(request: Any) -> dict[str, str]:
    try:
        cookies = getattr(request, "cookies", None)
    except AttributeError:
        cookies = None
    if cookies:
        return {str(key): str(value) for key, value in dict(cookies).items()}
    # Where Gradio kept only the headers, the cookie is read from them.
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(_headers(request).get("cookie", ""))
    except CookieError:  # a malformed Cookie header: as if there were none
        return {}
    return {key: morsel.value for key, morsel in jar.items()}
