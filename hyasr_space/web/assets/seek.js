// Click-to-seek and the word that is playing (web/scripts.py puts this in the page).
//
// Each result panel (web/result_panel.py) holds: the words (.hyasr-words, Gradio's
// HighlightedText: one .token-container a word, and one a space between words), the
// words table (.hyasr-word-table, whose "start (s)" header keeps that title; rows are
// div.virtual-row, cells [role=gridcell][aria-colindex]), the player (.hyasr-player: Gradio's Audio, whose <audio> is inside WaveSurfer's shadow root), and
// the best transcript's word times as JSON (.hyasr-word-times, hidden). A click on a word
// or a row sets the player's time to the word's start and plays; while the player runs,
// the word under its time gets the class hyasr-playing. Listeners sit on the document,
// so they hold for components Gradio renders later and for every tab.
(() => {
  if (window.hyasrSeek) return;
  const PLAYING = "hyasr-playing";
  const watched = new WeakSet();

  const panelOf = (element) => element.closest("[role=tabpanel], .tabitem") || document;

  function wordTimes(panel) {
    const box = panel.querySelector(".hyasr-word-times textarea");
    try {
      return JSON.parse((box && box.value) || "[]");
    } catch (error) {
      return [];
    }
  }

  function wordTokens(panel) {
    const words = panel.querySelector(".hyasr-words");
    if (!words) return [];
    return [...words.querySelectorAll(".token-container")].filter(
      (token) => token.textContent.trim() !== ""
    );
  }

  function mediaOf(panel) {
    const player = panel.querySelector(".hyasr-player");
    if (!player) return null;
    for (const element of player.querySelectorAll("*")) {
      const media = element.shadowRoot && element.shadowRoot.querySelector("audio, video");
      if (media && media.src) return media;
    }
    const plain = player.querySelector("audio");
    return plain && plain.src ? plain : null;
  }

  function mark(panel, time) {
    const times = wordTimes(panel);
    const tokens = wordTokens(panel);
    const index = times.findIndex(([start, end]) => start <= time && time < end);
    tokens.forEach((token, i) => token.classList.toggle(PLAYING, i === index));
  }

  function follow(panel, media) {
    if (watched.has(media)) return;
    watched.add(media);
    let frame = 0;
    const tick = () => {
      mark(panel, media.currentTime);
      frame = media.paused ? 0 : requestAnimationFrame(tick);
    };
    media.addEventListener("play", () => { if (!frame) frame = requestAnimationFrame(tick); });
    media.addEventListener("seeked", () => mark(panel, media.currentTime));
    media.addEventListener("pause", () => mark(panel, media.currentTime));
  }

  function seek(panel, seconds) {
    const media = mediaOf(panel);
    if (!media || !Number.isFinite(seconds)) return false;
    follow(panel, media);
    media.currentTime = seconds;
    const playing = media.play();
    if (playing && playing.catch) playing.catch(() => {});  // autoplay refused: still seeked
    mark(panel, seconds);
    return true;
  }

  function startOfRow(row) {
    const table = row.closest(".hyasr-word-table");
    const header = table && table.querySelector('th[title="start (s)"]');
    if (!header) return NaN;
    const column = header.getAttribute("aria-colindex");
    const cell = row.querySelector(`[role=gridcell][aria-colindex="${column}"]`);
    return cell ? parseFloat(cell.textContent) : NaN;
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const token = target.closest(".hyasr-words .token-container");
    if (token) {
      const panel = panelOf(token);
      const index = wordTokens(panel).indexOf(token);
      const times = wordTimes(panel);
      if (index >= 0 && index < times.length) seek(panel, times[index][0]);
      return;
    }
    const row = target.closest(".hyasr-word-table .virtual-row");
    if (row) seek(panelOf(row), startOfRow(row));
  });

  window.hyasrSeek = { seek, mediaOf, wordTimes, panelOf };
})();
