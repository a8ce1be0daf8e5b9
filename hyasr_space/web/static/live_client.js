// The Live tab's transport (live_socket.py has the protocol): the microphone through an
// AudioWorklet (live_worklet.js) as numbered chunks of 16-bit PCM, sent over a WebSocket
// to the app's own server. Every chunk stays here until the server acknowledges it; after
// a dropped connection the page reconnects with the same token and resends from the
// first chunk the server does not have, so nothing recorded is lost while this page is
// open. Partial text comes back on the same socket and is written into the Live tab.

const CHUNK_S = 0.1;
const RATE = 16000;
// Close codes after which reconnecting cannot help (live_socket.py).
const FINAL_CODES = new Set([1000, 1003, 1009, 4400, 4403, 4408, 4409]);
const RETRY_MS = [250, 500, 1000, 2000, 4000];
const BEHIND_SHOWN_S = 1.0;

// The page's words in its language (language.js sets <html lang>), from the catalogue
// (web/strings.py), which scripts.py puts in window.HYASR_LIVE_WORDS.
function language() {
  return document.documentElement.lang === "hy" ? "hy" : "en";
}

function words(key, values = {}) {
  const catalogue = window.HYASR_LIVE_WORDS || {};
  const template = (catalogue[language()] || catalogue.en || {})[key] || key;
  return template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

function appRoot() {
  const root = window.gradio_config && window.gradio_config.root;
  if (root) return root.replace(/\/+$/, "");
  return (location.origin + location.pathname).replace(/\/[^/]*$/, "");
}

class LiveClient {
  constructor() {
    this.root = appRoot();
    this.reset();
  }

  reset() {
    this.token = null;
    this.pending = []; // {seq, data}: recorded, not acknowledged
    this.nextSeq = 0;
    this.acked = 0;
    this.rate = RATE;
    this.chunkSamples = Math.round(RATE * CHUNK_S);
    this.socket = null;
    this.ready = false;
    this.capturing = false;
    this.ending = false;
    this.finished = false;
    this.retries = 0;
    this.serverBehind = 0;
    this.stopped = null;
    this.doneWaiters = [];
    this.capturedAt = new Map(); // seq -> when its last sample was captured
    this.sentAt = new Map();
    this.stats = {
      partials: [], acks: [], behind: [], reconnects: 0, closes: [], captured: 0,
      rate: RATE, error: null, partialText: "",
    };
  }

  // --- capture ---------------------------------------------------------------------

  async start() {
    await this.release();
    if (this.socket) { // the last recording's, if still open: it has nothing more to say
      this.socket.onclose = null;
      this.socket.close(1000);
    }
    this.reset();
    this.render("", "", "");
    try {
      this.media = await navigator.mediaDevices.getUserMedia({
        audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false,
                 autoGainControl: false },
      });
      this.context = this.openContext();
      await this.context.audioWorklet.addModule(`${this.root}/hyasr/live/static/live_worklet.js`);
      this.rate = this.context.sampleRate;
      this.stats.rate = this.rate;
      this.chunkSamples = Math.round(this.rate * CHUNK_S);
      this.source = this.context.createMediaStreamSource(this.media);
      this.node = new AudioWorkletNode(this.context, "hyasr-capture", {
        processorOptions: { chunkSamples: this.chunkSamples },
      });
      this.node.port.onmessage = (event) => this.onChunk(event.data);
      this.source.connect(this.node);
      this.node.connect(this.context.destination); // it outputs silence; keeps it pulled
      await this.context.resume();
      this.capturing = true;
    } catch (error) {
      this.stats.error = String(error);
      this.status(words("live_mic_failed", { reason: error.message || error }));
      await this.release();
    }
  }

  openContext() {
    // The browser resamples the microphone to 16 kHz itself where it can; otherwise the
    // page sends the device's rate and the server resamples (LiveStream takes any rate).
    try {
      const context = new AudioContext({ sampleRate: RATE });
      context.createMediaStreamSource(this.media);
      return context;
    } catch (error) {
      return new AudioContext();
    }
  }

  onChunk(data) {
    if (data === "flushed") {
      if (this.flushed) this.flushed();
      return;
    }
    const seq = this.nextSeq++;
    this.capturedAt.set(seq, performance.now());
    this.stats.captured += data.length;
    this.pending.push({ seq, data });
    if (this.ready) this.sendChunk(seq, data);
    this.showBehind();
  }

  async release() {
    this.capturing = false;
    if (this.media) this.media.getTracks().forEach((track) => track.stop());
    if (this.context) await this.context.close().catch(() => {});
    this.media = this.context = this.node = this.source = null;
  }

  // --- transport -------------------------------------------------------------------

  connect(token) {
    if (!token) { // the server refused (busy): nothing to send
      this.release();
      return;
    }
    this.token = token;
    this.open();
  }

  open() {
    const url = new URL(`${this.root}/hyasr/live/socket`);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    this.ready = false;
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "hello", token: this.token, rate: this.rate }));
    };
    socket.onmessage = (event) => this.onMessage(JSON.parse(event.data));
    socket.onclose = (event) => this.onClose(socket, event);
  }

  onMessage(message) {
    const now = performance.now();
    if (message.next !== undefined) this.acknowledge(message.next, now);
    if (message.behind_s !== undefined) this.serverBehind = message.behind_s;
    if (message.type === "ready") {
      this.ready = true;
      this.retries = 0;
      for (const { seq, data } of this.pending) this.sendChunk(seq, data);
      if (this.ending) this.sendEnd();
    } else if (message.type === "partial") {
      this.onPartial(message, now);
    } else if (message.type === "stopped") {
      this.stopped = message.reasons || { en: message.reason };
      this.stopCapture();
    } else if (message.type === "done") {
      this.finished = true;
      this.doneWaiters.forEach((resolve) => resolve());
    }
    this.showBehind();
  }

  acknowledge(next, now) {
    while (this.pending.length && this.pending[0].seq < next) {
      const { seq } = this.pending.shift();
      const sent = this.sentAt.get(seq);
      if (sent !== undefined) this.stats.acks.push(now - sent);
      this.sentAt.delete(seq);
    }
    this.acked = Math.max(this.acked, next);
  }

  onPartial(message, now) {
    // Latency: from when the last sample this text covers was captured to now.
    const last = Math.ceil((message.fed_s * this.rate) / this.chunkSamples) - 1;
    const captured = this.capturedAt.get(last);
    this.stats.partials.push({
      at: now, heard_s: message.heard_s, fed_s: message.fed_s, behind_s: message.behind_s,
      latency_ms: captured === undefined ? null : now - captured,
    });
    this.stats.partialText = `${message.stable} ${message.pending}`.trim();
    this.render(message.stable, message.pending, message.lagging ? "lagging" : "");
  }

  sendChunk(seq, data) {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const message = new Uint8Array(4 + data.byteLength);
    new DataView(message.buffer).setUint32(0, seq, true);
    message.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 4);
    this.sentAt.set(seq, performance.now());
    socket.send(message);
  }

  sendEnd() {
    if (this.socket && this.socket.readyState === WebSocket.OPEN && this.ready) {
      this.socket.send(JSON.stringify({ type: "end", next: this.nextSeq }));
    }
  }

  onClose(socket, event) {
    this.stats.closes.push({ code: event.code, reason: event.reason });
    if (socket !== this.socket) return;
    this.ready = false;
    if (this.finished || !this.token) return;
    if (FINAL_CODES.has(event.code)) {
      if (event.code !== 1000) {
        this.status(words("live_closed", { reason: event.reason || event.code }));
      }
      this.stopCapture();
      this.doneWaiters.forEach((resolve) => resolve());
      return;
    }
    // A dropped connection: reconnect and resend what was not acknowledged.
    const delay = RETRY_MS[Math.min(this.retries++, RETRY_MS.length - 1)];
    this.stats.reconnects += 1;
    setTimeout(() => this.open(), delay);
  }

  // Closes the socket as a network drop would (tests, and the page's own retry logic).
  dropConnection() {
    if (this.socket) this.socket.close(3000, "dropped");
  }

  // --- stop ------------------------------------------------------------------------

  async stopCapture() {
    if (!this.capturing) return;
    this.capturing = false;
    if (this.node) {
      const flushed = new Promise((resolve) => { this.flushed = resolve; });
      this.node.port.postMessage("flush");
      await Promise.race([flushed, new Promise((resolve) => setTimeout(resolve, 500))]);
    }
    await this.release();
  }

  // Stop recording, deliver every chunk, and wait until the server has fed them all.
  async stop(timeoutMs = 120000) {
    await this.stopCapture();
    if (!this.token || this.finished) return;
    this.ending = true;
    const done = new Promise((resolve) => this.doneWaiters.push(resolve));
    this.sendEnd();
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  }

  // --- the page --------------------------------------------------------------------

  behindSeconds() {
    const unsent = this.pending.reduce((sum, { data }) => sum + data.length, 0) / this.rate;
    return this.serverBehind + unsent;
  }

  showBehind() {
    const behind = this.behindSeconds();
    this.stats.behind.push([performance.now(), behind]);
    if (this.stopped) this.status(this.stopped[language()] || this.stopped.en);
    else if (behind >= BEHIND_SHOWN_S) {
      this.status(words("live_behind", { seconds: behind.toFixed(1) }));
    }
    else this.status("");
  }

  render(stable, pending) {
    const box = document.querySelector("#hyasr-live .hyasr-live");
    if (!box) return;
    box.replaceChildren();
    if (!stable && !pending) {
      const hint = document.createElement("span");
      hint.className = "hyasr-live-hint";
      hint.textContent = this.capturing ? words("live_hint_listening") : "";
      box.append(hint);
      return;
    }
    const stableSpan = document.createElement("span");
    stableSpan.className = "hyasr-live-stable";
    stableSpan.textContent = stable;
    const pendingSpan = document.createElement("span");
    pendingSpan.className = "hyasr-live-pending";
    pendingSpan.style.opacity = "0.55";
    pendingSpan.style.fontStyle = "italic";
    pendingSpan.textContent = pending;
    box.append(stableSpan, " ", pendingSpan);
  }

  status(text) {
    const line = document.querySelector("#hyasr-live .hyasr-live-behind");
    if (line && line.textContent !== text) line.textContent = text;
  }
}

window.hyasrLive = window.hyasrLive || new LiveClient();
export const live = window.hyasrLive;
