"""Live transcription: audio in chunks as it is spoken, text that grows, phrases that close.

    stream = Transcriber.load().stream(decoder="lm")
    partial = stream.feed(samples, sample_rate)   # any length, rate, layout; again and again
    partial.text, partial.stable, partial.words   # everything so far; the part that stays
    result = stream.finish()                      # a Transcription, as transcribe() gives

Chunks become 16 kHz mono through audio.py. Every `live_step_s` the network scores the
new audio with `live_left_context_s` before it, on the stream's frame grid, normalised
by the running statistics of all heard so far. Frames with `live_right_context_s` of
audio after them are provisional: they make the pending text and find the pauses
(`live_endpoint_s` of blank frames after a word, or `live_max_phrase_s`) that close a
phrase. A closed phrase is scored once more with context on both sides, decoded once
with the chosen decoder, and never changes; audio before the open phrase is dropped, so
a step costs the same after an hour. A stream that cannot keep up waits for longer
steps, then sets `lagging` and closes phrases without the second pass. Bad chunks get a
notice, never end the stream. A stream that writes a recording (the app's) ends with a
final pass over it, as a file is transcribed, when that is cheap enough
(`live_final_pass_max_s`): the result then equals a file transcription of the same audio.
docs/runtime.md ("Live streaming") has the reasons and measurements behind the context
sizes and the normalisation.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from .audio import StreamResampler, load_audio, mono_chunk
from .endpointing import first_blank_run, forced_cut
from .errors import AudioError, InvalidRequestError
from .lm_settings import LMSettings
from .recognizer import Recognizer
from .results import DecoderChoice, Logits, Partial, Phrase, Transcript, Transcription, Word
from .runtime.windows import RunningStatistics
from .settings import GREEDY, LM, Settings

# A step may take this share of the audio it covers before the next one waits for more.
UTILISATION = 0.7
LAG_WINDOW_S = 10.0  # `lagging` compares the network's time with this much audio or more
RECENT_S = 20.0  # `recent()` keeps this much of the latest audio (one row of the picture)
LIVE_NAME = "live"


class LiveStream:
    """One live stream: `feed` chunks, read the `Partial` it returns, `finish` once.

    Thread-safe (one lock per stream); many streams share one `Transcriber` and model.
    """

    def __init__(
        self,
        transcriber: Recognizer,
        decoder: DecoderChoice | str = LM,
        lm: LMSettings | None = None,
        *,
        name: str = LIVE_NAME,
        settings: Settings | None = None,
        recording: str | Path | None = None,
    ) -> None:
        decoders, notices = transcriber.decoders(decoder)  # an unknown choice raises here
        self.transcriber = transcriber
        self.decoder = decoder
        self.lm = lm or transcriber.lm_defaults
        self.name = name
        settings = settings or transcriber.settings
        self.settings = settings
        self._decoders = decoders
        self._phrase_decoder = decoders[-1]  # the best one: the LM when it is chosen
        self._notices: list[str] = [*transcriber.notices, *notices]
        model = transcriber.model
        self._model = model
        self._rate = model.sample_rate
        self._frame_step = model.frame_step
        self._field = model.receptive_field
        self._seconds_per_frame = model.seconds_per_frame
        self._blank = transcriber.vocabulary.blank_id
        self._left = round(settings.live_left_context_s * self._rate / self._frame_step)
        self._left *= self._frame_step  # whole frames, so windows start on the frame grid
        self._right = round(settings.live_right_context_s * self._rate)
        self._base_step = max(1, round(settings.live_step_s * self._rate))
        self._max_step = max(self._base_step, round(settings.live_max_step_s * self._rate))
        self._step = self._base_step
        self._endpoint = max(1, round(settings.live_endpoint_s / self._seconds_per_frame))
        self._max_phrase = max(
            2 * self._endpoint, round(settings.live_max_phrase_s / self._seconds_per_frame)
        )

        self._lock = threading.Lock()
        self._resampler = StreamResampler(self._rate)
        self._stats = RunningStatistics()
        self._buffer = np.zeros(0, np.float32)
        self._origin = 0  # stream sample index of _buffer[0]
        self._received = 0  # samples heard (16 kHz)
        self._recent = np.zeros(0, np.float32)  # the last RECENT_S of them
        self._last_run = 0  # _received at the last network run
        self._provisional = 0  # frames with their right context seen (see _run)
        self._final_chunks: list[np.ndarray] = []  # final logits of the whole stream
        self._tentative = np.zeros((0, model.vocab_size), np.float32)
        # The open phrase: frames [_phrase_start, _provisional), their provisional scores
        # and best tokens; every frame before _phrase_start is final.
        self._phrase_start = 0
        self._open_values = np.zeros((0, model.vocab_size), np.float32)
        self._open_best = np.zeros(0, np.int64)
        # Closed stretches: (first frame, end frame, transcript of the phrase decoder or
        # None for silence); they tile [0, _phrase_start).
        self._segments: list[tuple[int, int, Transcript | None]] = []
        self._stable_text = ""
        self._stable_words: tuple[Word, ...] = ()
        self._new_phrases: list[Phrase] = []
        self._new_notices: list[str] = []
        self._finished: Transcription | None = None
        self._latest: Partial | None = None
        self.steps = 0
        self.compute_s = 0.0
        self._computed = 0  # samples the network read (windows overlap: several per heard)
        self.lagging = False
        self._file_logits: Logits | None = None  # the recording's, after the final pass
        self._history: deque[tuple[float, float]] = deque([(0.0, 0.0)])
        # The whole stream as heard (16 kHz mono, 16-bit WAV), written as it comes: the
        # app's player and picture need it, and on disk it keeps the memory flat.
        self.recording = Path(recording) if recording is not None else None
        self._recorder: Any = None
        if self.recording is not None:
            import soundfile

            self._recorder = soundfile.SoundFile(
                self.recording, "w", samplerate=self._rate, channels=1, subtype="PCM_16"
            )

    # --- public ----------------------------------------------------------------------

    @property
    def duration(self) -> float:
        """Seconds of audio heard so far."""
        return self._received / self._rate

    @property
    def sample_rate(self) -> int:
        """The rate of the audio it keeps (`recent()`, the recording): the model's."""
        return self._rate

    @property
    def finished(self) -> bool:
        return self._finished is not None

    @property
    def step_s(self) -> float:
        """The audio a step waits for now: `live_step_s`, longer when steps ran slow."""
        return self._step / self._rate

    @property
    def latest(self) -> Partial:
        """The last `Partial` returned (after finish(): with the phrases it closed, and
        the final pass's text and words, when there was one)."""
        with self._lock:
            return self._latest or self._partial()

    def recent(self) -> tuple[np.ndarray, float]:
        """The latest audio heard (up to `RECENT_S`, 16 kHz mono) and the stream time in
        seconds where it begins: with `Partial.words`, a picture of the speech as it
        arrives."""
        with self._lock:
            samples, end = self._recent.copy(), self._received
        return samples, (end - len(samples)) / self._rate

    def feed(self, samples: Any, sample_rate: int) -> Partial:
        """Add a chunk: ``(samples,)`` or ``(samples, channels)``, integer or float, any
        rate and length. Returns what has been heard so far. Raises `InvalidRequestError`
        for a chunk that is not audio (the stream stays as it was)."""
        mono, notices = mono_chunk(samples, sample_rate, self.duration)
        with self._lock:
            if self._finished is not None:
                raise InvalidRequestError("this live stream has finished; start a new one.")
            steps = self.steps
            if mono.size:
                notices += self._resampler.rate_notices(sample_rate, self.duration)
                self._append(self._resampler.push(mono, sample_rate))
            self._note(notices)
            if self._latest is not None and self.steps == steps:  # no new scores: no new text
                self._latest = replace(
                    self._latest, closed=(), duration=self.duration, notices=tuple(notices)
                )
                self._new_notices = []
            else:
                self._latest = self._partial()
            return self._latest

    def finish(self) -> Transcription:
        """Run the network over what is left, close the open phrase, and return the whole
        stream's `Transcription` (idempotent: later calls return the same one)."""
        with self._lock:
            if self._finished is None:
                self._append(self._resampler.flush())
                if self._recorder is not None:
                    self._recorder.close()
                self._finish_phrases()
                self._latest = self._partial()
                self._finished = self._as_file(self.decoder, self.lm) or self._transcription(
                    self.decoder, self.lm, reuse=True
                )
                if self.final_pass:  # what stays on the page is the final text
                    best = self._finished.best
                    self._latest = replace(self._latest, stable=best.text, words=best.words)
            return self._finished

    @property
    def final_pass(self) -> bool:
        """Whether the result is a file transcription of the recording (`_as_file`)."""
        return self._file_logits is not None

    @property
    def logits(self) -> Logits:
        """The final logits of the whole stream so far."""
        values = (
            np.concatenate(self._final_chunks)
            if self._final_chunks
            else np.zeros((0, self._model.vocab_size), np.float32)
        )
        return Logits(values, self._seconds_per_frame)

    def decode(
        self, decoder: DecoderChoice | str | None = None, lm: LMSettings | None = None
    ) -> Transcription:
        """The finished stream decoded again with another decoder or LM settings, without
        running the network (like switching decoders on an upload): the recording's
        logits after a final pass, else phrase by phrase as it was live. Raises
        `InvalidRequestError` before finish() or for an unknown decoder."""
        if self._finished is None:
            raise InvalidRequestError("finish the live stream before decoding it again.")
        with self._lock:
            if self.final_pass:  # from the recording's logits
                return self._file_result(decoder or self.decoder, lm or self.lm)
            return self._transcription(decoder or self.decoder, lm or self.lm, reuse=False)

    # --- audio in --------------------------------------------------------------------

    def _note(self, notices: list[str]) -> None:
        self._new_notices += notices
        self._notices += [notice for notice in notices if notice not in self._notices]

    def _append(self, samples: np.ndarray) -> None:
        """Buffer new 16 kHz audio, running the steps it makes due. A long chunk goes in
        slices of the longest step, so that no window outgrows the context and a step."""
        if self._recorder is not None and len(samples):
            self._recorder.write(samples)
        if len(samples):
            keep = round(RECENT_S * self._rate)
            self._recent = np.concatenate([self._recent[-keep:], samples[-keep:]])[-keep:]
        for start in range(0, len(samples), self._max_step):
            piece = samples[start : start + self._max_step]
            self._stats.update(piece)
            self._buffer = np.concatenate([self._buffer, piece])
            self._received += len(piece)
            if self._received - self._last_run >= self._step:
                self._run()

    # --- the network -----------------------------------------------------------------

    def _forward(self, start: int, end: int) -> tuple[int, np.ndarray]:
        """The network's scores for stream samples [start, end) (start on the frame grid),
        normalised by the running estimate; (first frame, scores)."""
        window = self._buffer[start - self._origin : end - self._origin]
        started = time.perf_counter()
        scores = self._model.scores(window, self._stats.estimate())
        self.compute_s += time.perf_counter() - started
        self._computed += len(window)
        return start // self._frame_step, scores

    def _run(self) -> None:
        """One step: the network over the new audio and the left context of the first
        frame that is not provisional yet; frames with `right` samples of audio after their
        receptive field become provisional (they feed endpointing and the pending text),
        the rest stay tentative until the next step."""
        end = self._received
        start = max(0, self._provisional * self._frame_step - self._left)
        if end - start < self._field:  # not one frame yet: wait for more audio
            return
        spent = self.compute_s
        first, scores = self._forward(start, end)
        available = first + len(scores)
        ready = (end - self._right - self._field) // self._frame_step + 1
        ready = min(max(ready, self._provisional), available)
        self._add_provisional(scores[self._provisional - first : ready - first])
        self._tentative = scores[ready - first :]
        self._provisional = ready
        new_samples, self._last_run = end - self._last_run, end
        self._close_phrases()
        self._pace(self.compute_s - spent, new_samples)

    def _pace(self, spent: float, new_samples: int) -> None:
        """Lengthen the step when a step (phrase passes included) takes more than
        UTILISATION of the audio it covers; shorten it again when steps speed up. `lagging`:
        over the last `LAG_WINDOW_S` of audio or more, the network took longer than the
        audio lasted, so a stream fed in real time falls behind."""
        self.steps += 1
        wanted = round(spent / UTILISATION * self._rate)
        self._step = min(self._max_step, max(self._base_step, wanted))
        self._history.append((self.duration, self.compute_s))
        while len(self._history) > 1 and self.duration - self._history[1][0] >= LAG_WINDOW_S:
            self._history.popleft()
        heard, computed = self._history[0]
        if self.duration - heard >= LAG_WINDOW_S:
            self.lagging = self.compute_s - computed > self.duration - heard

    def _add_provisional(self, scores: np.ndarray) -> None:
        if len(scores):
            self._open_values = np.concatenate([self._open_values, scores])
            self._open_best = np.concatenate([self._open_best, self._best(scores)])

    def _best(self, scores: np.ndarray) -> np.ndarray:
        return self.transcriber.vocabulary.log_probs(Logits(scores, 1.0)).argmax(axis=1)

    # --- phrases ---------------------------------------------------------------------

    def _close_phrases(self, final: bool = False) -> None:
        """Close every phrase the open frames hold; `final`: the open frames' scores are
        final already (finish())."""
        while True:
            blank = self._open_best == self._blank
            tokens = np.flatnonzero(~blank)
            if not len(tokens):
                # Silence so far: keep only its last `endpoint` frames with the phrase to
                # come (a stray letter there then meets the next word, as in
                # lm.silence_cuts); the rest is a closed stretch of silence.
                self._close(len(blank) - self._endpoint, silent=True)
                return
            run_start = first_blank_run(blank, self._endpoint, after=tokens[0])
            if run_start is not None:
                self._close(run_start + 1, final=final)
            elif len(blank) >= self._max_phrase:
                self._close(forced_cut(blank), final=final)
            else:
                return

    def _close(self, cut: int, silent: bool = False, final: bool = False) -> None:
        """Close frames [0, cut) of the open phrase. A phrase's final scores come from one
        pass over all of its audio with the left context before it and everything heard
        after it, so that a frame sees what it would see offline as far as the stream
        allows (silence keeps its provisional scores: nothing in it is read)."""
        if cut <= 0:
            return
        first, end = self._phrase_start, self._phrase_start + cut
        scores = self._open_values[:cut]
        if silent:
            if self._segments and self._segments[-1][2] is None:  # one stretch of silence
                first = self._segments.pop()[0]
            self._segments.append((first, end, None))
        else:
            if not final and not self.lagging:  # lagging: the provisional scores stand
                start = max(0, self._phrase_start * self._frame_step - self._left)
                offset, everything = self._forward(start, self._received)
                scores = everything[self._phrase_start - offset : end - offset]
            logits = Logits(np.ascontiguousarray(scores), self._seconds_per_frame)
            transcript = self._phrase_decoder.decode(logits, self.lm).shifted(
                first * self._seconds_per_frame
            )
            self._segments.append((first, end, transcript))
            if transcript.words:
                self._stable_words += transcript.words
                self._stable_text = " ".join(w.text for w in self._stable_words)
                self._new_phrases.append(Phrase.of(transcript))
        self._final_chunks.append(np.array(scores, dtype=np.float32))
        self._open_values = self._open_values[cut:]
        self._open_best = self._open_best[cut:]
        self._phrase_start = end
        keep_from = max(0, self._phrase_start * self._frame_step - self._left)
        if keep_from > self._origin:  # audio that no later pass reads
            self._buffer = self._buffer[keep_from - self._origin :].copy()
            self._origin = keep_from

    def _finish_phrases(self) -> None:
        """At the end: one pass over the open phrase and whatever no step has read yet;
        every frame is final."""
        frames = max(1, self._model.frames(self._received))
        if not self._received or self._phrase_start >= frames:
            return
        start = max(0, self._phrase_start * self._frame_step - self._left)
        offset, scores = self._forward(start, self._received)
        scores = scores[self._phrase_start - offset :]
        self._open_values = scores
        self._open_best = self._best(scores)
        self._tentative = scores[:0]
        self._provisional = self._phrase_start + len(scores)
        self._close_phrases(final=True)
        if len(self._open_best):
            silent = not (self._open_best != self._blank).any()
            self._close(len(self._open_best), silent=silent, final=True)

    def _partial(self) -> Partial:
        pending = ()
        open_phrase = None
        values = np.concatenate([self._open_values, self._tentative])
        if len(values) and self._finished is None:
            greedy = self.transcriber.greedy.decode(Logits(values, self._seconds_per_frame))
            pending = greedy.shifted(self._phrase_start * self._seconds_per_frame).words
        if pending:
            text = " ".join(word.text for word in pending)
            open_phrase = Phrase(text, pending[0].start, pending[-1].end, pending)
        closed, notices = tuple(self._new_phrases), tuple(self._new_notices)
        self._new_phrases, self._new_notices = [], []
        return Partial(
            stable=self._stable_text,
            pending=open_phrase.text if open_phrase else "",
            words=self._stable_words + pending,
            open=open_phrase,
            closed=closed,
            duration=self.duration,
            notices=notices,
        )

    # --- results ---------------------------------------------------------------------

    def _as_file(self, choice: DecoderChoice | str, lm: LMSettings) -> Transcription | None:
        """The final pass: the recording transcribed as a file, so that the result equals
        a file transcription of the same audio. Live, each phrase was scored with the
        statistics heard so far and decoded alone, which moves 1-3 % of the characters of
        a minute-long stream. None (the live phrases stand, with a notice) without a
        recording, or when one pass would take longer than `live_final_pass_max_s` at
        the speed the stream's network ran (seconds per sample read, under this load).
        The recording's logits are kept: decoding again never runs the network."""
        if self._file_logits is None and not self._final_pass_over_recording():
            return None
        return self._file_result(choice, lm)

    def _file_result(self, choice: DecoderChoice | str, lm: LMSettings) -> Transcription:
        assert self._file_logits is not None
        transcripts, notices = self.transcriber.decode(self._file_logits, choice, lm)
        model = self._model
        return Transcription(
            self.name,
            self.duration,
            self.transcriber.model_name,
            transcripts,
            tuple(dict.fromkeys([*self._notices, *notices])),
            runtime=f"{model.device}, {model.runtime}",
        )

    def _final_pass_over_recording(self) -> bool:
        limit = self.settings.live_final_pass_max_s
        if self.recording is None or not self._received or limit <= 0:
            return False
        estimate = self.compute_s * self._received / max(1, self._computed)
        if estimate > limit:
            self._note([
                f"The text is the live one, phrase by phrase: a final pass over the whole "
                f"recording would take about {estimate:.0f} s here, over the "
                f"{limit:g} s allowed (HYASR_LIVE_FINAL_PASS_MAX_S)."
            ])  # fmt: skip
            return False
        # Read as a file is (audio.py), under the stream's limits, not an upload's.
        size_mb = self.recording.stat().st_size / 1e6 + 1.0
        readable = replace(
            self.settings,
            max_duration_s=max(self.settings.max_duration_s, self.duration + 1.0),
            max_file_size_mb=max(self.settings.max_file_size_mb, size_mb),
        )
        try:
            clip = load_audio(self.recording, readable)
        except AudioError as error:  # too short to transcribe, say: the live text stays
            self._note([f"The text is the live one, phrase by phrase: {error}"])
            return False
        self._file_logits = self.transcriber.logits(clip)
        return True

    def _transcription(
        self, choice: DecoderChoice | str, lm: LMSettings, reuse: bool
    ) -> Transcription:
        decoders, notices = self.transcriber.decoders(choice)
        logits = self.logits
        transcripts = []
        for decoder in decoders:
            if decoder.name == GREEDY:  # one pass over everything, as transcribe() does
                transcripts.append(decoder.decode(logits, lm))
                continue
            words: list[Word] = []
            for first, end, transcript in self._segments:
                if transcript is None:
                    continue
                if not (reuse and transcript.decoder == decoder.name):
                    piece = Logits(logits.values[first:end], logits.seconds_per_frame)
                    transcript = decoder.decode(piece, lm).shifted(first * logits.seconds_per_frame)
                words += transcript.words
            text = " ".join(word.text for word in words)
            transcripts.append(Transcript(text, tuple(words), decoder.name, decoder.describe(lm)))
        notices = tuple(dict.fromkeys([*self._notices, *notices]))
        return Transcription(
            self.name, self.duration, self.transcriber.model_name, tuple(transcripts), notices
        )


__all__ = ["LiveStream"]
