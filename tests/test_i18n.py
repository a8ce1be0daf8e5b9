"""The strings catalogue (web/strings.py): both languages complete and consistent, the
page's components built from it, and the dictionaries gr.I18n gets filled in."""

from __future__ import annotations

import ast
import html
import json
import re
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client
from servers import free_port
from starlette.requests import Request as StarletteRequest

from hyasr_space.settings import Settings
from hyasr_space.web import footer, strings
from hyasr_space.web.language import request_language

ARMENIAN_LETTERS = re.compile(r"[\u0531-\u0587]")
# Latin words an Armenian string may keep: names, formats and the API's terms.
LATIN_ALLOWED = {"CTC", "SRT", "WebVTT", "JSON", "CSV", "Hub", "Trainer", "WER", "CER"}
LATIN_ALLOWED |= {"API", "MCP", "Gradio", "https", "English", "GPU", "KenLM"}


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert strings.EN.keys() == strings.HY.keys()
    for key, english in strings.EN.items():
        assert strings.placeholders(english) == strings.placeholders(strings.HY[key]), key


@pytest.mark.parametrize("key", sorted(strings.HY))
def test_every_armenian_string_is_armenian(key: str) -> None:
    armenian = strings.HY[key]
    if key == "error_other":  # the detail alone, as errors.py wrote it
        return
    assert ARMENIAN_LETTERS.search(armenian), (key, armenian)
    # Placeholders and `code` (settings, commands) are not words to translate.
    words = re.sub(r"\{[^}]*\}|`[^`]*`", "", armenian)
    latin = set(re.findall(r"[A-Za-z]+", words))
    assert latin <= LATIN_ALLOWED, (key, latin - LATIN_ALLOWED)
    assert armenian != strings.EN[key]


def test_gradio_words_and_headers_are_armenian() -> None:
    for table in (strings.GRADIO_HY, strings.HEADERS_HY):
        for key, armenian in table.items():
            assert ARMENIAN_LETTERS.search(armenian), (key, armenian)


def test_the_live_client_gets_its_words_in_both_languages() -> None:
    from hyasr_space.web import scripts

    head = scripts.head()
    found = re.search(r"window\.HYASR_LIVE_WORDS = (\{.*?\});", head)
    assert found, "the page's head does not give the live client its words"
    words = json.loads(found.group(1))
    assert set(words) == {"en", "hy"}
    for key in scripts.LIVE_CLIENT_WORDS:
        assert words["en"][key] == strings.EN[key] and words["hy"][key] == strings.HY[key]
        assert re.findall(r"\{\w+\}", words["en"][key]) == re.findall(r"\{\w+\}", words["hy"][key])
    # every key the client asks for is given (static/live_client.js)
    client = (scripts.ASSETS.parent / "static" / "live_client.js").read_text(encoding="utf-8")
    assert set(re.findall(r'words\("(\w+)"', client)) == set(scripts.LIVE_CLIENT_WORDS)


def test_the_i18n_dictionaries_quote_the_settings() -> None:
    settings = Settings(max_duration_s=90, temp_file_ttl_s=1800)
    filled = strings.translations(footer.page_values(settings))
    assert filled["en"]["audio_label"] == "Audio (up to 90 s)"
    assert filled["hy"]["audio_label"] == "Ձայն (մինչև 90 վ)"
    assert "30 րոպե" in filled["hy"]["privacy_server"]
    assert "30 minutes" in filled["en"]["privacy_server"]
    assert filled["hy"]["upload_text.drop_audio"] == strings.GRADIO_HY["upload_text.drop_audio"]
    # A server-side message keeps its fields for when it is sent.
    assert "{problem}" in filled["hy"]["unavailable"]


def test_server_messages_in_each_language_and_english_for_anything_else() -> None:
    assert strings.text("hy", "no_audio") == "Նախ ձայնագրեք կամ վերբեռնեք ձայն։"
    assert strings.text("en", "no_audio") == "Record or upload some audio first."
    assert strings.text("fr", "no_audio") == strings.text("en", "no_audio")
    assert strings.text("hy", "info_aligned", duration=2.5, seconds=0.25) == (
        "2.5 վ ձայն, համադրվեց 0.2 վ-ում։"
    )


def test_an_unknown_key_is_refused() -> None:
    with pytest.raises(KeyError, match="no string 'nope'"):
        strings.ui("nope")


def starlette_request(headers: dict[str, str]) -> gr.Request:
    """A `gr.Request` around a real Starlette request carrying `headers`."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/gradio_api/queue/join",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return gr.Request(StarletteRequest(scope))


PAGE = "http://127.0.0.1:7860/"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "en"),  # gradio_client, curl: no page, English
        ({"Accept-Language": "hy-AM,hy;q=0.9"}, "en"),  # a program's header, still no page
        ({"Cookie": "hyasr-lang=hy"}, "hy"),
        ({"Cookie": "other=1; hyasr-lang=hy"}, "hy"),
        ({"Cookie": "hyasr-lang=fr"}, "en"),
        ({"Referer": PAGE + "?lang=hy"}, "hy"),
        ({"Referer": PAGE + "?__theme=dark&lang=hy"}, "hy"),
        # the tab's own address wins over the cookie that every tab shares
        ({"Referer": PAGE + "?lang=en", "Cookie": "hyasr-lang=hy"}, "en"),
        ({"Referer": PAGE, "Cookie": "hyasr-lang=hy"}, "hy"),
        # a page that said nothing: the browser's languages, as the page reads them
        ({"Referer": PAGE, "Accept-Language": "hy-AM,hy;q=0.9,en;q=0.8"}, "hy"),
        ({"Origin": PAGE[:-1], "Accept-Language": "en-US,en;q=0.9,hy;q=0.8"}, "en"),
        ({"Referer": PAGE, "Accept-Language": "ru-RU,ru;q=0.9,hy;q=0.8"}, "hy"),
        ({"Referer": PAGE, "Accept-Language": "en;q=0.5,hy;q=0.7"}, "hy"),
        ({"Referer": PAGE, "Accept-Language": "fr-FR,de"}, "en"),
        ({"Referer": PAGE, "Accept-Language": "hy;q=oops,,;"}, "en"),
    ],
)
def test_the_request_language_is_the_page_s(headers: dict[str, str], expected: str) -> None:
    assert request_language(starlette_request(headers)) == expected


def test_a_request_kept_past_its_connection_keeps_its_language() -> None:
    # The queue pickles a request's fields into plain dictionaries (gr.Request.__getstate__).
    kept = gr.Request(
        headers={"referer": PAGE, "cookie": "hyasr-lang=hy"}, cookies={"hyasr-lang": "hy"}
    )
    assert request_language(kept) == "hy"
    headers_only = gr.Request(headers={"referer": PAGE, "cookie": "hyasr-lang=hy"})
    assert request_language(headers_only) == "hy"
    assert request_language(gr.Request()) == "en"
    assert request_language(None) == "en"


def test_an_event_handler_gets_the_language_through_gradio_s_queue() -> None:
    """What reaches a handler in gradio's queue: the join request's cookie, and its
    Referer; gradio_client (no page) gets English."""

    def language(_: str, request: gr.Request) -> str:  # gradio fills `request` in
        return request_language(request)

    with gr.Blocks() as demo:
        box = gr.Textbox()
        box.submit(language, box, box, api_name="lang")
    port = free_port()
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        assert Client(url, verbose=False).predict("x", api_name="/lang") == "en"
        armenian_page = Client(url, verbose=False, headers={"Cookie": "hyasr-lang=hy"})
        assert armenian_page.predict("x", api_name="/lang") == "hy"
        switched = Client(url, verbose=False, headers={"Referer": url + "?lang=hy"})
        assert switched.predict("x", api_name="/lang") == "hy"
    finally:
        demo.close()


WEB = Path(strings.__file__).parent
# The API's modules: their errors are read by programs, in English (REST /v1, MCP).
API_MODULES = {"agent_tools.py", "openai_api.py", "openai_shapes.py", "live_socket.py"}
MESSAGE_CALLS = {"Error", "Warning", "Info"}
CATALOGUE_CALLS = {"text", "say", "ui"}  # strings.text (imported as `say` where it is shadowed)


def english_literals(source: str) -> list[str]:
    """`gr.Error`/`gr.Warning`/`gr.Info` calls whose message or title is written in the
    code (a string or f-string anywhere in it) rather than taken from the catalogue."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MESSAGE_CALLS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "gr"
        ):
            continue
        shown = [*node.args[:1], *(k.value for k in node.keywords if k.arg in ("message", "title"))]
        found += [f"line {node.lineno}: {ast.unparse(node)}" for p in shown if _written(p)]
    return found


def _written(node: ast.AST) -> bool:
    """A string written in the code, outside the catalogue's lookups (their keys)."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) in CATALOGUE_CALLS:
        return False
    if isinstance(node, ast.JoinedStr) or (
        isinstance(node, ast.Constant) and isinstance(node.value, str)
    ):
        return True
    return any(_written(child) for child in ast.iter_child_nodes(node))


def test_the_scan_finds_an_english_message() -> None:
    assert english_literals('raise gr.Error("No audio.")')
    assert english_literals('gr.Warning(html.escape(f"{name} is long"))')
    assert english_literals('raise gr.Error(message, title="Oops")')
    assert not english_literals('raise gr.Error(text(language, "no_audio"), title=title)')
    assert english_literals('raise gr.Error(text(language, "x") + " (and more)")')


@pytest.mark.parametrize(
    "module", sorted(p.name for p in WEB.glob("*.py") if p.name not in API_MODULES)
)
def test_the_page_s_messages_come_from_the_catalogue(module: str) -> None:
    assert english_literals((WEB / module).read_text(encoding="utf-8")) == []


def test_the_package_s_errors_in_armenian_with_their_own_numbers() -> None:
    from hyasr_space.errors import (
        AudioDecodeError,
        AudioTooLongError,
        AudioTooShortError,
        FileTooLargeError,
        InvalidRequestError,
    )
    from hyasr_space.web.messages import error_message

    long = AudioTooLongError("<b>talk</b>.wav", 75.04, 60)
    assert error_message("en", long) == html.escape(str(long))  # errors.py's English
    assert error_message("hy", long) == (
        "&lt;b&gt;talk&lt;/b&gt;.wav-ի տևողությունը 75.0 վայրկյան է, իսկ սահմանը 60 վայրկյան "
        "է։ Կրճատեք այն և նորից փորձեք։"
    )
    cut = AudioTooLongError("a.mp3", 61.0, 60, at_least=True)
    assert "առնվազն 61.0 վայրկյան" in error_message("hy", cut)
    short = error_message("hy", AudioTooShortError("a.wav", 0.012, 0.1))
    assert "12 մվ" in short and "100 մվ" in short
    assert "3.5 ՄԲ" in error_message("hy", FileTooLargeError("a.wav", 3.49, 2))
    broken = error_message("hy", AudioDecodeError("a.wav is damaged: <x>"))
    assert broken == "Այս ֆայլը հնարավոր չէ կարդալ որպես ձայն՝ a.wav is damaged: &lt;x&gt;"
    assert error_message("hy", InvalidRequestError("alpha")).startswith("Կարգավորումներից")


def test_a_live_result_without_its_final_pass_says_why_in_armenian(tmp_path: Path) -> None:
    from dataclasses import replace

    import numpy as np

    from hyasr_space import Transcriber
    from hyasr_space.streaming import LiveStream
    from hyasr_space.web.messages import notice

    demo = Transcriber.load("demo", settings=replace(Settings(), warm_up=False))
    samples = np.random.default_rng(0).normal(0, 0.05, 32_000).astype(np.float32)
    hurried = replace(demo.settings, live_final_pass_max_s=1e-9)  # any pass is too long
    cases = (
        (hurried, samples, "HYASR_LIVE_FINAL_PASS_MAX_S"),
        (demo.settings, samples[:800], "50 ms"),  # too short to read as a file
    )
    for settings, audio, kept in cases:
        stream = LiveStream(demo, "greedy", settings=settings, recording=tmp_path / "r.wav")
        stream.feed(audio, 16_000)
        (why,) = [n for n in stream.finish().notices if n.startswith("The text is the live")]
        armenian = notice("hy", why)
        assert armenian.startswith("Տեքստը ուղիղ ռեժիմինն է"), armenian
        assert kept in armenian and "phrase by phrase" not in armenian, armenian


def test_the_notices_the_page_shows_most_in_armenian() -> None:
    from hyasr_space.decoding import NO_LM_NOTICE
    from hyasr_space.web.live_sessions import LiveSession
    from hyasr_space.web.messages import notes, notice

    assert notice("hy", NO_LM_NOTICE) == strings.HY["notice_no_lm"]
    assert notice("en", NO_LM_NOTICE) == NO_LM_NOTICE
    # The Live tab's stops, as live_sessions.py writes them (2 s of audio arrives at once).
    two_seconds = bytes(2 * 16_000 * 2)
    limited, behind = LiveSession(60.0, 1.25), LiveSession(0.5, 60.0)
    try:
        limited.receive(0, two_seconds, now=0.0)
        behind.receive(0, two_seconds, now=0.0)
        assert notice("hy", limited.stopped) == "Ուղիղ ռեժիմը կանգ է առնում 1.25 վ-ից հետո։"
        stopped = notice("hy", behind.stopped)
        assert "0.5 վ-ով" in stopped and "HYASR_LIVE_MAX_BEHIND_S" in stopped, stopped
    finally:
        limited.close()
        behind.close()
    failed = "The language model could not be loaded (bad\nfile); decoding greedily."
    assert notice("hy", failed).startswith("Լեզվական մոդելը չհաջողվեց բեռնել (bad\nfile)")
    unknown = "Something new happened."
    assert notice("hy", unknown) == unknown  # kept as written, rather than lost
    assert notes("hy", ["<i>"]) == ["**Նշում՝** &lt;i&gt;"]


def test_a_value_written_before_a_page_asked_is_in_both_languages() -> None:
    from hyasr_space.web.messages import both_languages

    shown = both_languages("live_hint_listening")
    assert '<span lang="hy">Լսում եմ…</span>' in shown
    assert '<span lang="en">Listening…</span>' in shown


def test_the_decoders_descriptions_in_armenian(model_dir) -> None:
    from hyasr_space.alignment import DESCRIPTION
    from hyasr_space.decoding import GREEDY_DESCRIPTION
    from hyasr_space.transcriber import Transcriber
    from hyasr_space.web.messages import description

    lm = Transcriber.load(str(model_dir), settings=Settings(warm_up=False)).lm
    assert lm is not None
    english = lm.describe()  # "beam search + 3-gram KenLM (alpha 0.5, ...)", as lm.py says it
    armenian = description("hy", english)
    assert armenian.startswith("ճառագայթային որոնում + ") and "`alpha " in armenian, armenian
    assert description("hy", GREEDY_DESCRIPTION) == strings.HY["describe_greedy"]
    assert description("hy", DESCRIPTION) == strings.HY["describe_align"]
    assert description("en", english) == english
