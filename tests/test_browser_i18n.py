"""The page in Armenian and in English, in Chromium: chosen from the browser's language,
the switch (which sticks in the address, so a reload and a Share link keep it), and no
visible word left in English on the Armenian page. Screenshots of the Armenian page at
desktop and phone width go to $HYASR_SCREENSHOTS. Helpers are test_browser.py's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from servers import app_settings, serve
from test_browser import (
    DESKTOP,
    PHONE,
    TIMEOUT_MS,
    _local_only,
    expect,
    launch_chromium,
    read_error,
    toast,
    upload,
    words_wav,
)
from test_i18n import LATIN_ALLOWED

from hyasr_space.web.strings import EN, HY, TOASTS_HY

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

# Visible text with Latin words, outside what is content rather than interface: code (the
# model's id), the model card's own text, text fields, table cells, the names of the files
# to download, the language switch.
UNTRANSLATED = """(allowed) => {
  const skip = "code, .hyasr-content, textarea, input, [role=gridcell], .file-preview, "
    + "#hyasr-language";
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip) || parent.closest("script, style, svg")) continue;
    if (!parent.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    const words = node.data.match(/[A-Za-z]{2,}/g) || [];
    if (words.some((word) => !allowed.includes(word))) found.push(node.data.trim());
  }
  return found;
}"""


@pytest.fixture(scope="module")
def browser() -> object:
    with launch_chromium() as chromium:
        yield chromium


def open_in(browser, url: str, locale: str, viewport=DESKTOP, **options):
    context = browser.new_context(locale=locale, viewport=viewport, **options)
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", _local_only)
    page = context.new_page()
    page.goto(url)
    return context, page


def untranslated(page) -> list[str]:
    return page.evaluate(UNTRANSLATED, sorted(LATIN_ALLOWED))


def test_an_armenian_browser_gets_the_page_in_armenian_every_visible_word(
    browser, app_url: str, screenshots: Path
) -> None:
    context, page = open_in(browser, app_url, "hy-AM")
    try:
        expect(page.get_by_role("button", name=HY["transcribe"], exact=True)).to_be_visible()
        expect(page.get_by_role("heading", name=HY["title"])).to_be_visible()
        expect(page.get_by_text("Քաշեք ձայնային ֆայլն այստեղ")).to_be_visible()  # Gradio's own
        expect(page.locator("html")).to_have_attribute("lang", "hy")
        expect(page.get_by_role("radio", name="Հայերեն")).to_be_checked()
        assert untranslated(page) == []
        page.screenshot(path=screenshots / "armenian-desktop.png", full_page=True)
        for tab in ("tab_live", "tab_align", "tab_compare", "tab_card"):
            page.get_by_role("tab", name=HY[tab]).click()
            page.wait_for_timeout(500)
            assert untranslated(page) == [], tab
        # The check finds a label left in English.
        page.evaluate("document.querySelector('h1').append(' Upload here')")
        assert untranslated(page) == ["Upload here"]
    finally:
        context.close()

    context, page = open_in(
        browser, app_url, "hy", PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    try:
        expect(page.get_by_role("button", name=HY["transcribe"], exact=True)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        page.screenshot(path=screenshots / "armenian-phone.png", full_page=True)
    finally:
        context.close()


def test_an_english_browser_gets_english_and_the_switch_changes_it(browser, app_url: str) -> None:
    context, page = open_in(browser, app_url, "en-US")
    try:
        expect(page.get_by_role("button", name=EN["transcribe"], exact=True)).to_be_visible()
        expect(page.get_by_role("radio", name="English")).to_be_checked()
        expect(page.locator("html")).to_have_attribute("lang", "en")

        page.get_by_role("radio", name="Հայերեն").check()
        expect(page.get_by_role("button", name=HY["transcribe"], exact=True)).to_be_visible()
        expect(page.get_by_role("tab", name=HY["tab_align"])).to_be_visible()
        expect(page.get_by_text(HY["privacy_title"])).to_be_visible()
        assert "lang=hy" in page.url
        page.reload()  # the address keeps the choice, as a Share link does
        expect(page.get_by_role("button", name=HY["transcribe"], exact=True)).to_be_visible()
        expect(page.get_by_role("radio", name="Հայերեն")).to_be_checked()

        page.get_by_role("radio", name="English").check()
        expect(page.get_by_role("button", name=EN["transcribe"], exact=True)).to_be_visible()
        assert "lang=en" in page.url
    finally:
        context.close()


def transcribe(page, language: dict[str, str]):
    page.get_by_role("button", name=language["transcribe"], exact=True).click()


def error_shown(page, language: dict[str, str], whole_page: bool = False) -> None:
    """Transcribe with no audio: the error's message and the toast's heading (Gradio's
    own "Error", which the page's script translates) in `language`; with `whole_page`,
    no English word anywhere on the Armenian page, the toast included."""
    transcribe(page, language)
    heading = TOASTS_HY["Error"] if language is HY else "Error"
    expect(toast(page).locator(".toast-title")).to_have_text(heading)
    if whole_page:
        left = untranslated(page)
        assert left == [], left
    assert read_error(page) == language["no_audio"]


def test_what_the_server_writes_follows_the_page_s_language(
    browser, app_url: str, tmp_path: Path
) -> None:
    wav = words_wav(tmp_path)
    for locale, language, other in (("hy-AM", HY, EN), ("en-US", EN, HY)):
        context, page = open_in(browser, app_url, locale)
        try:
            error_shown(page, language, whole_page=language is HY)
            with page.expect_response(lambda response: "/gradio_api/upload" in response.url):
                upload(page, "barev.wav", wav)
            transcribe(page, language)
            # The details under the result: "Model:", "Transcript from:", how long it took.
            done = language["info_transcribed"].split("{seconds")[0].split("} ")[-1]
            details = page.get_by_test_id("markdown").filter(has_text=done)
            expect(details).to_be_visible()
            assert language["info_model"] in details.inner_text(), locale
            assert other["info_model"] not in details.inner_text(), locale
            # Everything a result adds (details, player, tables, Share) in Armenian too.
            expect(page.get_by_role("button", name=language["share"])).to_be_visible()
            if language is HY:
                page.wait_for_timeout(500)  # the page's script renames what Gradio drew
                assert untranslated(page) == []
        finally:
            context.close()

    # The switch: the server follows it from the next event on, both ways.
    context, page = open_in(browser, app_url, "en-US")
    try:
        error_shown(page, EN)
        page.get_by_role("radio", name="Հայերեն").check()
        expect(page.get_by_role("button", name=HY["transcribe"], exact=True)).to_be_visible()
        error_shown(page, HY)
        page.get_by_role("radio", name="English").check()
        expect(page.get_by_role("button", name=EN["transcribe"], exact=True)).to_be_visible()
        error_shown(page, EN)
    finally:
        context.close()


@pytest.fixture(scope="module")
def app_url(model_dir: Path):
    with serve(app_settings(model_dir)) as url:
        yield url
