"""The result's player in a real browser, and what the page leaves in the browser.

Click-to-seek: a click on a word of the transcript (or a row of the words table) moves
the player to that word's start and plays; the word being played is marked as it
plays; a click made while the player still loads its recording is kept (issue 25).
Privacy: with run history off (the default), nothing of the audio or the text is in the
browser's storage after a run; with it on, the same check finds the transcript.
Helpers and the Chromium set-up are test_browser.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from servers import app_settings, serve
from test_browser import (
    expect,
    launch_chromium,
    open_page,
    sync_api,
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


# Before the page's own scripts: every <audio> the page makes keeps what it does, from its
# start (the result's player gets its src only after fetching the file, so a listener
# added later could miss a seek): `media.events`, [event, currentTime] pairs. And the
# result's player can be held while it loads: `holdPlayer()` makes the next audio-file
# fetch and audio decode wait until `release.fetch()` / `release.decode()`.
PLAYER_TAPE = """(() => {
  const create = Document.prototype.createElement;
  const recorded = ["seeking", "seeked", "play", "playing", "pause", "ended", "loadstart"];
  Document.prototype.createElement = function (tag, ...rest) {
    const element = create.call(this, tag, ...rest);
    if (/^(audio|video)$/i.test(tag)) {
      element.events = [];
      for (const type of recorded) {
        element.addEventListener(type, () => element.events.push([type, element.currentTime]));
      }
    }
    return element;
  };
  window.held = {fetch: 0, decode: 0};
  window.decodes = 0;
  window.release = {};
  let gates = null;
  window.holdPlayer = () => {
    gates = {};
    for (const step of ["fetch", "decode"]) {
      gates[step] = new Promise((open) => { window.release[step] = open; });
    }
  };
  const fetch = window.fetch;
  window.fetch = function (input, ...rest) {
    const url = String(input && input.url ? input.url : input);
    if (!gates || !url.includes("/gradio_api/file=")) {
      return fetch.call(this, input, ...rest);
    }
    window.held.fetch += 1;
    return gates.fetch.then(() => fetch.call(this, input, ...rest));
  };
  const decode = BaseAudioContext.prototype.decodeAudioData;
  BaseAudioContext.prototype.decodeAudioData = function (...args) {
    window.decodes += 1;
    if (!gates) return decode.apply(this, args);
    window.held.decode += 1;
    return gates.decode.then(() => decode.apply(this, args));
  };
})();"""
# The result's <audio> (inside WaveSurfer's shadow root), once it has its recording.
PLAYER = """(block) => {
  for (const element of block.querySelectorAll("*")) {
    const media = element.shadowRoot && element.shadowRoot.querySelector("audio");
    if (media && media.src) return (window.player = media), true;
  }
  return false;
}"""
# Where the player's last seek since event `from` landed, once it has landed and then
# played; with `reset`, only counting what came after a jump to 0 that is not a click's
# (Gradio's stop() when WaveSurfer is ready).
LANDED = """([from, reset]) => {
  let events = window.player.events.slice(from);
  if (reset) {
    const jump = events.findIndex(([type, time]) => type === "seeking" && time === 0);
    if (jump < 0) return null;
    events = events.slice(jump + 1);
  }
  const seeked = events.map(([type, time], i) => [type, time, i]).filter(([t]) => t === "seeked");
  if (!seeked.length) return null;
  const [, time, at] = seeked[seeked.length - 1];
  return events.slice(at).some(([type]) => type === "playing") ? {time} : null;
}"""
# Every result player's <audio> now on the page, with what it did.
ALL_PLAYERS = """() => [...document.querySelectorAll(".hyasr-player *")]
  .map((element) => element.shadowRoot && element.shadowRoot.querySelector("audio"))
  .filter(Boolean)
  .map((media) => ({watched: media === window.player, src: media.src, events: media.events}))"""
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


@contextmanager
def player_page(browser, url: str) -> Iterator:
    """open_page, with PLAYER_TAPE in the page from its start."""
    with open_page(browser, url) as page:
        page.add_init_script(PLAYER_TAPE)
        page.reload()
        expect(transcribe_button(page)).to_be_visible()
        yield page


def watch_player(page) -> None:
    """window.player: the result's <audio>, once it has its recording."""
    player = page.get_by_test_id(f"waveform-{PLAYER_LABEL}")
    expect(player).to_be_visible()
    block = player.locator("xpath=ancestor::*[contains(@class, 'hyasr-player')]").first
    page.wait_for_function(PLAYER, arg=block.element_handle())


def seek_lands(page, click, start: float) -> None:
    """After `click()`, the player's last seek lands within SEEK_TOLERANCE_S of `start`,
    then it plays."""
    since = page.evaluate("window.player ? window.player.events.length : 0")
    click()
    watch_player(page)
    landed = landed_at(page, since)
    assert abs(landed - start) <= SEEK_TOLERANCE_S, (landed, start)


def landed_at(page, since: int, after_reset: bool = False) -> float:
    """LANDED's time, waited for; a wait in vain fails with what the player did."""
    try:
        return page.wait_for_function(LANDED, arg=[since, after_reset]).json_value()["time"]
    except sync_api.TimeoutError:
        events = page.evaluate("window.player.events")
        others = page.evaluate(ALL_PLAYERS)  # was the <audio> replaced?
        raise AssertionError(f"no seek then play after event {since}: {events}; {others}") from None


def transcribed(page, tmp_path: Path) -> list[tuple[str, float, float]]:
    upload_and_wait(page, "barev.wav", words_wav(tmp_path))
    transcribe_button(page).click()
    expect(transcript(page)).to_have_value(WORDS)
    words = word_starts_and_ends(page)
    (first, _, end_1), (second, start_2, _) = words
    assert [first, second] == WORDS.split() and start_2 >= end_1 - 0.02
    return words


def test_click_a_word_or_a_row_to_hear_it_and_the_playing_word_is_marked(
    browser, app_url: str, tmp_path: Path
) -> None:
    with player_page(browser, app_url) as page:
        (first, start_1, end_1), (second, start_2, end_2) = transcribed(page, tmp_path)
        watch_player(page)
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


def test_a_click_while_the_player_loads_is_kept(browser, app_url: str, tmp_path: Path) -> None:
    """The race behind issue 25, made certain: the word is clicked while the result's
    player is still fetching its file (no src yet), and Gradio's stop-on-ready (pause, time
    0) comes after the click's seek. The click must survive both."""
    with player_page(browser, app_url) as page:
        upload_and_wait(page, "barev.wav", words_wav(tmp_path))
        page.wait_for_function("window.decodes > 0")  # the upload's own player is loaded
        page.evaluate("window.holdPlayer()")
        transcribe_button(page).click()
        expect(transcript(page)).to_have_value(WORDS)
        second, start_2 = word_starts_and_ends(page)[1][:2]
        page.wait_for_function("window.held.fetch > 0")  # the player waits for its file

        words = page.locator(".hyasr-words").filter(visible=True)
        words.get_by_text(second, exact=True).click()
        page.evaluate("window.release.fetch()")
        watch_player(page)  # it has its src now; the click is applied once it does
        landed = landed_at(page, 0)
        assert abs(landed - start_2) <= SEEK_TOLERANCE_S, (landed, start_2)

        page.wait_for_function("window.held.decode > 0")  # the waveform not drawn yet
        since = page.evaluate("window.player.events.length")
        page.evaluate("window.release.decode()")
        # Gradio's stop() sends the player to 0 (were it to stop doing so, this test would
        # no longer cover the race, and says so by failing here); the click is applied again.
        landed = landed_at(page, since, after_reset=True)
        assert abs(landed - start_2) <= SEEK_TOLERANCE_S, (landed, start_2)
        assert page.evaluate("!window.player.paused || window.player.ended")


@pytest.fixture(scope="module")
def app_url(model_dir: Path):
    with serve(app_settings(model_dir)) as url:
        yield url
