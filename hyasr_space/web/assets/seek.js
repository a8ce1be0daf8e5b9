// Click-to-seek and the word that is playing (web/scripts.py puts this in the page).
//
// Each result panel (web/result_panel.py) holds: the words (.hyasr-words, Gradio's
// HighlightedText: one .token-container a word, and one a space between words), the
// words table (.hyasr-word-table, whose "start (s)" header keeps that title; rows are
// div.virtual-row, cells [role=gridcell][aria-colindex]), the player (.hyasr-player:
// Gradio's Audio, whose <audio> is inside WaveSurfer's shadow root), and the best
// transcript's word times as JSON (.hyasr-word-times, hidden). A click on a word
// or a row sets the player's time to the word's start and plays; while the player runs,
// the word under its time gets the class hyasr-playing. Listeners sit on the document,
// so they hold for components Gradio renders later and for every tab.
//
// A click must not be lost while the player is still loading its recording. Gradio's
// player is WaveSurfer (https://github.com/katspaugh/wavesurfer.js, Gradio's
// js/audio/player/AudioPlayer.svelte): it fetches the whole file, only then gives the
// <audio> its src, decodes the file for the waveform, and on WaveSurfer's "ready" Gradio
// calls stop(), which pauses and sets the time to 0. A click in that window used to be
// undone by the stop() (or, before the src, found no player at all). So a click that comes
// before the player has a src waits for it, and a click made before the player's
// stop-on-ready is applied again right after that stop.
(() => {
  if (window.hyasrSeek) return;
  const PLAYING = "hyasr-playing";
  const WAIT_FOR_PLAYER_MS = 30000;  // how long a click waits for the player's recording
  const POLL_MS = 100;
  const LANDED_S = 0.05;  // a seek this close to the asked time is ours
  // The <audio> of each player seen: `src` the recording it has, `settled` once that
  // recording's stop-on-ready (a seek to 0 that is not ours) was seen, `wanted` the time
  // of a click made before that, to be applied again after it.
  const players = new WeakMap();
  let waiting = null;  // a click that came before its player had a recording

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

  function play(media, seconds) {
    media.currentTime = seconds;  // before the metadata: the browser seeks once it has it
    const playing = media.play();
    // Refused (autoplay) or cut short by the player's own pause(): the time still moved,
    // and a cut-short play is started again below.
    if (playing && playing.catch) playing.catch(() => {});
  }

  // The player's stop-on-ready: a jump to 0 that is not our own seek (ours lands on the
  // asked time and plays). Seen once per recording; a click made before it is replayed.
  function onSeeking(media) {
    const player = players.get(media);
    if (player.settled || media.currentTime > 0.001) return;
    const ours = player.wanted !== null && !media.paused
      && Math.abs(media.currentTime - player.wanted) <= LANDED_S;
    if (ours) return;
    player.settled = true;
    const wanted = player.wanted;
    player.wanted = null;
    if (wanted !== null) play(media, wanted);
  }

  function watch(panel, media) {
    if (players.has(media)) return players.get(media);
    // Unknown whether its stop-on-ready already happened: taken as not yet; a click kept
    // for nothing is dropped at the next recording or the next touch of the player.
    const player = {src: media.src, settled: false, wanted: null};
    players.set(media, player);
    let frame = 0;
    const tick = () => {
      mark(panel, media.currentTime);
      frame = media.paused ? 0 : requestAnimationFrame(tick);
    };
    media.addEventListener("loadstart", () => newRecording(player, media));
    media.addEventListener("seeking", () => onSeeking(media));
    media.addEventListener("play", () => { if (!frame) frame = requestAnimationFrame(tick); });
    media.addEventListener("seeked", () => mark(panel, media.currentTime));
    media.addEventListener("pause", () => mark(panel, media.currentTime));
    return player;
  }

  // A new recording (not the loadstart of the src a click already saw): no click of the
  // last one carries over, and its stop-on-ready is still to come.
  function newRecording(player, media) {
    if (media.src === player.src) return;
    Object.assign(player, {src: media.src, settled: false, wanted: null});
  }

  // Seeks the panel's player now; false when the player has no recording yet.
  function seekNow(panel, seconds) {
    const media = mediaOf(panel);
    if (!media) return false;
    const player = watch(panel, media);
    newRecording(player, media);
    player.wanted = player.settled ? null : seconds;
    play(media, seconds);
    mark(panel, seconds);
    return true;
  }

  // The <audio> gets its src inside WaveSurfer's shadow root once the file is fetched;
  // nothing of that reaches the document (its events do not bubble, and no element to
  // listen on exists before), so a click that comes earlier looks again every POLL_MS.
  function seek(panel, seconds) {
    if (!Number.isFinite(seconds)) return false;
    waiting = null;
    if (seekNow(panel, seconds)) return true;
    const click = {until: performance.now() + WAIT_FOR_PLAYER_MS};
    waiting = click;
    const retry = () => {
      if (waiting !== click) return;  // a later click took its place
      if (seekNow(panel, seconds) || performance.now() > click.until) waiting = null;
      else setTimeout(retry, POLL_MS);
    };
    setTimeout(retry, POLL_MS);
    return false;
  }

  function startOfRow(row) {
    const table = row.closest(".hyasr-word-table");
    const header = table && table.querySelector('th[title="start (s)"]');
    if (!header) return NaN;
    const column = header.getAttribute("aria-colindex");
    const cell = row.querySelector(`[role=gridcell][aria-colindex="${column}"]`);
    return cell ? parseFloat(cell.textContent) : NaN;
  }

  // The person's own use of the player (its buttons, its waveform, its keys) wins over a
  // click kept for after its stop-on-ready.
  const touched = (event) => {
    const block = event.target instanceof Element && event.target.closest(".hyasr-player");
    const media = block && mediaOf(panelOf(block));
    if (media && players.has(media)) players.get(media).wanted = null;
  };
  document.addEventListener("pointerdown", touched, true);
  document.addEventListener("keydown", touched, true);

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
