"""In Chromium: pick another model on the Transcribe tab and compare two models on the
Compare tab (tests/test_browser.py's helpers; the random Wav2Vec2-BERT of random_models)."""

from __future__ import annotations

from pathlib import Path

import pytest
from random_models import build_random_w2v_bert
from servers import app_settings, serve
from test_browser import expect, launch_chromium, open_page, transcribe_button
from tone_model import WORDS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]


def test_a_person_picks_a_model_and_compares_two(
    model_dir: Path, words_wav: Path, tmp_path: Path, screenshots: Path
) -> None:
    bert = str(build_random_w2v_bert(tmp_path / "bert"))
    settings = app_settings(model_dir, models=(str(model_dir), bert), warm_up=False)
    audio = {"name": "barev.wav", "mimeType": "audio/wav", "buffer": words_wav.read_bytes()}
    with serve(settings) as url, launch_chromium() as chromium, open_page(chromium, url) as page:
        panel = page.locator("[role=tabpanel]:visible")
        with page.expect_response(lambda response: "/gradio_api/upload" in response.url):
            panel.locator("input[type=file][accept*=audio]").set_input_files(files=[audio])
        panel.get_by_label("Model", exact=True).click()
        page.get_by_role("option", name=bert).click()
        expect(panel.get_by_test_id("markdown").filter(has_text="parameters")).to_contain_text(
            "licence not stated"
        )
        transcribe_button(page).click()
        info = panel.get_by_test_id("markdown").filter(has_text="Transcript from:")
        expect(info).to_contain_text(bert)

        page.get_by_role("tab", name="Compare").click()
        panel = page.locator("[role=tabpanel]:visible")
        with page.expect_response(lambda response: "/gradio_api/upload" in response.url):
            panel.locator("input[type=file][accept*=audio]").set_input_files(files=[audio])
        panel.get_by_role("button", name="Compare", exact=True).click()
        texts = panel.get_by_test_id("highlighted-text")
        expect(texts.first).to_contain_text(WORDS.split()[0])
        expect(panel.get_by_test_id("markdown").filter(has_text="greedily")).to_have_count(1)
        page.screenshot(path=screenshots / "desktop-compare-tab.png", full_page=True)
        assert not page.dialogs
