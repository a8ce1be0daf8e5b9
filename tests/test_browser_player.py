"""The result's player in a real browser, and what the page leaves in the browser.

Click-to-seek: a click on a word of the transcript (or a row of the words table) moves
the player to that word's start and plays; the word being played is marked as it
plays. Privacy: with run history off (the default), nothing of the audio or the text is
in the browser's storage after a run; with it on, the same check finds the transcript.
Helpers and the Chromium set-up are test_browser.py's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from servers import app_settings, serve
from test_browser import (
    expect,
    launch_chromium,
    open_page,
    transcribe_button,
    transcript,
    upload_and_wait,
    words_wav,
)
from tone_model import WORDS

from hyasr_space.web.speech_view import PLAYER_LABEL

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

# Everything the page can keep in the browser: web storage, IndexedDB, Cache Storage.
BROWSER_STORAGE = """async () => {
  const dump = {local: {...localStorage}, session: {...sessionStorage}, idb: {}, caches: {}};
  for (const db of await indexedDB.databases()) {
    const handle = await new Promise((ok, fail) => {
      const open = indexedDB.open(db.name); open.onsuccess = () => ok(open.result);
      open.onerror = fail;
    });
    for (const store of handle.objectStoreNames) {
      dump.idb[db.name + "/" + store] = await new Promise((ok) => {
        const all = handle.transaction(store).objectStore(store).getAll();
        all.onsuccess = () => ok(JSON.stringify(all.result));
      });
    }
  }
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    dump.caches[name] = (await cache.keys()).map((request) => request.url);
  }
  return dump;
}"""


# The player's <audio> (inside WaveSurfer's shadow root): every seek it completes is
# recorded in window.seeks, with the time it landed on.
WATCH_PLAYER = """(block) => {
  window.seeks = [];
  for (const element of block.querySelectorAll("*")) {
    const media = element.shadowRoot && element.shadowRoot.querySelector("audio");
    if (media && media.src) {
      window.player = media;
      media.addEventListener("seeked", () => window.seeks.push(media.currentTime));
      return true;
    }
  }
  return false;
}"""
# The word marked as playing, and the player's time, once the mark is on `word`.
PLAYING_WORD = """(word) => {
  const marked = document.querySelector(".hyasr-playing");
  return marked && marked.textContent.trim() === word
    ? {word, time: window.player.currentTime, paused: window.player.paused} : null;
}"""
SEEK_TOLERANCE_S = 0.05


@pytest.fixture(scope="module")
def browser() -> object:
    with launch_chromium() as chromium:
        yield chromium


def stored_after_a_run(browser, url: str, tmp_path: Path) -> dict:
    """Transcribe a recording in a fresh browser context; what its storage then holds."""
    with open_page(browser, url) as page:
        upload_and_wait(page, "private-recording.wav", words_wav(tmp_path))
        transcribe_button(page).click()
        expect(transcript(page)).to_have_value(WORDS)
        page.wait_for_timeout(500)  # the page saves a run (when it does) just after it
        return page.evaluate(BROWSER_STORAGE)


def test_nothing_of_a_run_stays_in_the_browser_unless_run_history_is_on(
    browser, model_dir: Path, tmp_path: Path
) -> None:
    with serve(app_settings(model_dir)) as url:  # run_history: the default, off
        private = stored_after_a_run(browser, url, tmp_path)
    flat = repr(private)
    assert WORDS.split()[0] not in flat and "private-recording" not in flat, private
    assert not private["idb"] and not private["caches"] and not private["session"], private
    assert not any("run-history" in key for key in private["local"]), private

    # The same check, with the history on, finds the run: the check can fail.
    with serve(app_settings(model_dir, run_history=True)) as url:
        kept = stored_after_a_run(browser, url, tmp_path)
    assert WORDS.split()[0] in repr(kept)


def word_starts_and_ends(page) -> list[tuple[str, float, float]]:
    """The words table's rows as the page shows them: (word, start, end)."""
    rows = page.evaluate(
        """() => {
          const table = [...document.querySelectorAll(".hyasr-word-table")]
            .find((t) => t.offsetParent !== null);
          const column = (title) =>
            table.querySelector(`th[title="${title}"]`).getAttribute("aria-colindex");
          const at = ["word", "start (s)", "end (s)"].map(column);
          return [...table.querySelectorAll(".virtual-row")].map((row) => at.map(
            (index) => row.querySelector(`[aria-colindex="${index}"]`).innerText.trim()
          ));
        }"""
    )
    return [(word, float(start), float(end)) for word, start, end in rows]


def seek_lands(page, click, start: float) -> None:
    """After `click()`, the player completes a seek within SEEK_TOLERANCE_S of `start`,
    and plays."""
    page.evaluate("window.seeks = []")
    click()
    landed = page.wait_for_function("window.seeks.length && window.seeks[0]").json_value()
    assert abs(landed - start) <= SEEK_TOLERANCE_S, (landed, start)
    page.wait_for_function("!window.player.paused || window.player.ended")


# Known flake, open in issue 25: in 1 of 2 clean-checkout CI runs the click on the second
# word recorded no seek within 60 s (the first word's seek had landed). Not yet explained;
# kept running so a pass or a failure both show in the report.
@pytest.mark.xfail(strict=False, reason="second word's seek sometimes not recorded (issue 25)")
def test_click_a_word_or_a_row_to_hear_it_and_the_playing_word_is_marked(
    browser, app_url: str, tmp_path: Path
) -> None:
    with open_page(browser, app_url) as page:
        upload_and_wait(page, "barev.wav", words_wav(tmp_path))
        transcribe_button(page).click()
        expect(transcript(page)).to_have_value(WORDS)
        player = page.get_by_test_id(f"waveform-{PLAYER_LABEL}")
        expect(player).to_be_visible()
        block = player.locator("xpath=ancestor::*[contains(@class, 'hyasr-player')]").first
        assert block.evaluate(WATCH_PLAYER)
        (first, start_1, end_1), (second, start_2, end_2) = word_starts_and_ends(page)
        assert [first, second] == WORDS.split() and start_2 >= end_1 - 0.02

        words = page.locator(".hyasr-words").filter(visible=True)
        seek_lands(page, lambda: words.get_by_text(second, exact=True).click(), start_2)
        # Played from its start, the first word is marked, then the second as the time
        # reaches it.
        seek_lands(page, lambda: words.get_by_text(first, exact=True).click(), start_1)
        marked = page.wait_for_function(PLAYING_WORD, arg=first).json_value()
        assert start_1 - SEEK_TOLERANCE_S <= marked["time"] < end_1 + SEEK_TOLERANCE_S
        marked = page.wait_for_function(PLAYING_WORD, arg=second).json_value()
        assert start_2 - SEEK_TOLERANCE_S <= marked["time"] <= end_2 + SEEK_TOLERANCE_S

        rows = page.locator(".hyasr-word-table .virtual-row").filter(visible=True)
        seek_lands(page, lambda: rows.nth(1).get_by_role("gridcell").first.click(), start_2)


@pytest.fixture(scope="module")
def app_url(model_dir: Path):
    with serve(app_settings(model_dir)) as url:
        yield url
