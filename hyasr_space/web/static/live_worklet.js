// The Live tab's microphone capture (an AudioWorklet: it runs on the audio thread, so a
// busy page cannot make it skip audio). Mixes the input's channels to mono, converts to
// 16-bit PCM at the AudioContext's rate (16 kHz where the browser resamples the
// microphone for us) and posts one chunk of `chunkSamples` at a time to the page.
class HyasrCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.size = options.processorOptions.chunkSamples;
    this.buffer = new Int16Array(this.size);
    this.filled = 0;
    this.running = true;
    this.port.onmessage = (event) => {
      if (event.data === "flush") {
        // What is left of the last chunk, then nothing more: the recording has stopped.
        if (this.filled) this.port.postMessage(this.buffer.slice(0, this.filled));
        this.filled = 0;
        this.running = false;
        this.port.postMessage("flushed");
      }
    };
  }

  process(inputs) {
    if (!this.running) return false;
    const channels = inputs[0];
    if (!channels || !channels.length) return true;
    const frames = channels[0].length;
    for (let i = 0; i < frames; i++) {
      let value = 0;
      for (let c = 0; c < channels.length; c++) value += channels[c][i];
      value /= channels.length;
      this.buffer[this.filled++] = Math.max(-32768, Math.min(32767, Math.round(value * 32768)));
      if (this.filled === this.size) {
        this.port.postMessage(this.buffer, [this.buffer.buffer]);
        this.buffer = new Int16Array(this.size);
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor("hyasr-capture", HyasrCapture);
