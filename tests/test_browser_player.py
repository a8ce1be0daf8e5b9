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
