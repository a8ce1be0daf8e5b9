"""Long recordings: chunking the forward pass must not show in the transcript.

A few minutes of audio run through the real pipeline twice: once cut into many small
overlapping windows (8 s, 1.5 s shared with each neighbour: about 25 windows) and once as
a single window longer than the audio. Both transcripts, greedy and beam search + LM,
must agree word for word, with word times that never go backwards and stay inside the
audio; where the words are known (tone speech, tests/tone_model.py), they must also be the
reference words at the reference times. A word on a window border would be lost or
doubled by a stitching error, and with 25 windows some words always sit on borders.

The tiny tone model of tone_model.py runs always. The bundled demo model, spoken to with
espeak-ng sentences, runs when both are there (the demo model is trained separately).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from tone_model import RATE, WORDS, tone_speech

from hyasr_space.results import Clip, Logits, Transcript, Transcription
from hyasr_space.runtime import caches, load_model
from hyasr_space.runtime.checkpoints import REQUIRED_FILES
from hyasr_space.runtime.windows import conv_frames, conv_frames_receptive_field, plan_windows
from hyasr_space.settings import GREEDY, LM, Settings
from hyasr_space.text import error_rates
from hyasr_space.transcriber import Transcriber
from tools.espeak import SENTENCES, speak
from tools.espeak import available as espeak_available

pytestmark = pytest.mark.slow

SMALL_WINDOWS = {"chunk_s": 8.0, "chunk_context_s": 1.5, "chunk_batch_size": 4}
ONE_WINDOW = {"chunk_s": 3600.0, "chunk_context_s": 2.5}
REPEATS = 60  # sentences of tone speech: 2.9 minutes
PAUSE_S = 0.7
LOGIT_TOLERANCE = 0.25  # max |chunked - unchunked| logit; attention context explains ~0.02
TIME_TOLERANCE_S = 0.1  # word times against the tone spans (the conv frame is 25 ms wide)

SEED_CONV = ((10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2))  # XLS-R's feature encoder
DEMO_CONV = ((10, 8, 4, 4), (5, 4, 4, 4))  # the bundled demo model's


@dataclass(frozen=True)
class Recording:
    clip: Clip
    text: str
    spans: tuple[tuple[str, float, float], ...] = ()  # reference words with times (s)


@dataclass(frozen=True)
class Run:
    transcription: Transcription
    logits: Logits
    window_lengths: tuple[int, ...] = ()  # samples of every window the network saw
    batch_sizes: tuple[int, ...] = ()


def tone_recording(gains: list[float], pause_every: int = 4) -> Recording:
    """One "բարև ձեզ " of tone speech per gain, with PAUSE_S of silence after every
    `pause_every` of them (where beam search may cut long logits into segments)."""
    pieces, spans, offset = [], [], 0
    for index, gain in enumerate(gains):
        samples, token_spans = tone_speech(WORDS + " ")
        letters = [(start + offset, end + offset) for start, end, _ in token_spans]
        position = 0
        for word in WORDS.split():
            start, end = letters[position][0], letters[position + len(word) - 1][1]
            spans.append((word, start / RATE, end / RATE))
            position += len(word) + 1
        if (index + 1) % pause_every == 0:
            samples = np.concatenate([samples, np.zeros(int(PAUSE_S * RATE), np.float32)])
        pieces.append(samples * gain)
        offset += len(samples)
    samples = np.concatenate(pieces).astype(np.float32)
    text = " ".join([WORDS] * len(gains))
    return Recording(Clip(samples, RATE, name="tones.wav"), text, tuple(spans))


def run(model_dir: Path, recording: Recording, windows: dict, decoder: str = "both") -> Run:
    settings = replace(
        Settings(),
        fallback_model=None,
        warm_up=False,
        max_duration_s=3600.0,
        **windows,
    )
    model = load_model(str(model_dir), settings=settings)
    lengths: list[int] = []
    batches: list[int] = []
    forward = model.forward

    def recording_forward(batch: list[np.ndarray]) -> list[np.ndarray]:
        lengths.extend(len(window) for window in batch)
        batches.append(len(batch))
        return forward(batch)

    model.forward = recording_forward  # type: ignore[method-assign]
    try:
        transcriber = Transcriber(model, settings)
        transcription = transcriber.transcribe(recording.clip, decoder)
        logits = transcriber.logits(recording.clip)  # cached: no second forward pass
    finally:
        del model.forward
    return Run(transcription, logits, tuple(lengths), tuple(batches))


def check_times(transcript: Transcript, duration: float) -> None:
    previous_end = 0.0
    for word in transcript.words:
        assert 0.0 <= previous_end <= word.start < word.end <= duration + 1e-9, word
        previous_end = word.end


def assert_same_words(first: Transcript, second: Transcript, frame_s: float) -> None:
    assert first.text.split() == second.text.split()
    assert [w.text for w in first.words] == [w.text for w in second.words]
    for a, b in zip(first.words, second.words, strict=True):
        assert abs(a.start - b.start) <= frame_s + 1e-9 and abs(a.end - b.end) <= frame_s + 1e-9


@pytest.fixture(scope="module")
def steady() -> Recording:
    return tone_recording([1.0] * REPEATS)


@pytest.fixture(scope="module")
def varying() -> Recording:
    """Sentences from half to twice as loud: each window sees a different loudness."""
    rng = np.random.default_rng(5)
    return tone_recording(list(2.0 ** rng.uniform(-1, 1, REPEATS)))


@pytest.fixture(scope="module")
def steady_runs(model_dir: Path, steady: Recording):
    yield {
        "one": run(model_dir, steady, ONE_WINDOW),
        "small": run(model_dir, steady, SMALL_WINDOWS),
    }
    caches.clear()


@pytest.mark.parametrize("conv", [SEED_CONV, DEMO_CONV], ids=["xls-r-conv", "demo-conv"])
@pytest.mark.parametrize(
    ("total", "window_s", "context_s"),
    [(RATE * 185 + 123, 8.0, 1.5), (RATE * 61, 30.0, 2.5), (RATE * 30, 30.0, 2.5),
     (RATE * 31, 30.0, 2.5), (RATE * 3600, 30.0, 2.5), (RATE * 10, 1.0, 0.01), (400, 30.0, 2.5)],
)  # fmt: skip
def test_windows_tile_the_clip_with_context_on_both_sides(conv, total, window_s, context_s):
    kernels, strides = conv
    step = int(np.prod(strides))
    field = conv_frames_receptive_field(kernels, strides)
    window, context = int(window_s * RATE), int(context_s * RATE)
    windows = plan_windows(total, window, context, kernels, strides)
    context = max(context, field)
    longest = max(window // step * step, 2 * context + step)  # the last window is shorter
    assert windows[0].start == 0 and windows[-1].end == total
    assert windows[0].keep_start == 0
    assert windows[-1].keep_end == conv_frames(total, kernels, strides)
    for first, second in zip(windows, windows[1:], strict=False):
        assert first.keep_end == second.keep_start  # no frame lost, none twice
        assert first.start < second.start < first.end  # overlapping, in order
    for index, w in enumerate(windows):
        assert w.start % step == 0 and w.end - w.start <= longest  # memory is bounded
        assert w.keep_start < w.keep_end
        first_sample = w.keep_start * step
        last_sample = (w.keep_end - 1) * step + field  # end of the last kept frame's input
        if index > 0:
            assert first_sample - w.start >= context - step
        if index + 1 < len(windows):
            assert w.end - last_sample >= context - field - step
        assert conv_frames(w.end - w.start, kernels, strides) >= w.keep_end - w.start // step


def test_the_network_only_ever_sees_small_windows(steady_runs, steady: Recording):
    small = steady_runs["small"]
    assert len(small.window_lengths) >= 20
    assert max(small.window_lengths) <= (SMALL_WINDOWS["chunk_s"] + 0.02) * RATE
    assert max(small.batch_sizes) <= SMALL_WINDOWS["chunk_batch_size"]
    assert steady_runs["one"].window_lengths == (len(steady.clip.samples),)


@pytest.mark.parametrize("decoder", [GREEDY, LM])
def test_chunked_transcript_is_the_reference_word_for_word(steady_runs, steady, decoder):
    frame_s = steady_runs["one"].logits.seconds_per_frame
    one = steady_runs["one"].transcription.get(decoder)
    small = steady_runs["small"].transcription.get(decoder)
    assert one is not None and small is not None
    assert small.text == steady.text  # nothing lost or doubled at 20+ window borders
    assert_same_words(small, one, frame_s)
    check_times(small, steady.clip.duration)
    for word, (text, start, end) in zip(small.words, steady.spans, strict=True):
        assert word.text == text
        assert abs(word.start - start) <= TIME_TOLERANCE_S, (word, start)
        assert abs(word.end - end) <= TIME_TOLERANCE_S, (word, end)


def test_chunked_logits_match_unchunked(steady_runs):
    one, small = steady_runs["one"].logits, steady_runs["small"].logits
    assert one.values.shape == small.values.shape
    assert one.seconds_per_frame == small.seconds_per_frame
    np.testing.assert_allclose(small.values, one.values, atol=LOGIT_TOLERANCE, rtol=0)
    # not every frame: a near-tie may fall either way with other context (or CPU kernels)
    assert np.mean(small.values.argmax(1) == one.values.argmax(1)) >= 0.99


def test_loudness_changes_do_not_change_the_chunked_result(model_dir: Path, varying):
    one = run(model_dir, varying, ONE_WINDOW, GREEDY)
    small = run(model_dir, varying, SMALL_WINDOWS, GREEDY)
    caches.clear()
    check_times(small.transcription.best, varying.clip.duration)
    np.testing.assert_allclose(small.logits.values, one.logits.values, atol=LOGIT_TOLERANCE)
    assert_same_words(
        small.transcription.best, one.transcription.best, one.logits.seconds_per_frame
    )


# --- the bundled demo model on synthetic Armenian speech ------------------------------

DEMO_MINUTES = 2.5
DEMO_WER_MARGIN = 0.03  # chunked may be this much worse than one pass, no more
DEMO_CER_MARGIN = 0.01
DEMO_MAX_CER = 0.2  # measured 0.03 with the LM, 0.10 greedy


def demo_model_dir() -> Path | None:
    folder = Settings().demo_model_dir
    if all((folder / name).is_file() for name in REQUIRED_FILES):
        return folder
    return None


def espeak_recording(minutes: float) -> Recording:
    voices = {sentence: speak(sentence) for sentence in SENTENCES}
    rng = np.random.default_rng(0)
    pieces, texts, samples = [], [], 0
    while samples < minutes * 60 * RATE:
        sentence = SENTENCES[len(texts) % len(SENTENCES)]
        silence = np.zeros(int(rng.uniform(0.3, 1.2) * RATE), np.float32)
        pieces += [voices[sentence], silence]
        texts.append(sentence)
        samples += len(voices[sentence]) + len(silence)
    audio = np.concatenate(pieces)
    return Recording(Clip(audio, RATE, name="espeak.wav"), " ".join(texts))


@pytest.mark.skipif(demo_model_dir() is None, reason="the bundled demo model is not there yet")
@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
def test_demo_model_on_minutes_of_speech():
    """A trained transformer is not window-invariant: attention over 8 s and over 2.5
    minutes differ, and the demo model, trained on clips of a few seconds, reads short
    windows no worse (measured: LM WER 0.16 chunked, 0.18 in one pass; 30 s windows
    agree with one pass on 98.7% of LM words). So here the reference text is the
    judge: chunking must not cost accuracy, and no words may go missing or double."""
    recording = espeak_recording(DEMO_MINUTES)
    model_dir = demo_model_dir()
    assert model_dir is not None
    decoder = "both" if (model_dir / "language_model").is_dir() else GREEDY
    one = run(model_dir, recording, ONE_WINDOW, decoder)
    small = run(model_dir, recording, SMALL_WINDOWS, decoder)
    caches.clear()
    assert len(small.window_lengths) >= 15
    for transcript in small.transcription.transcripts:
        check_times(transcript, recording.clip.duration)
        whole = one.transcription.get(transcript.decoder)
        assert whole is not None
        chunked_rates = error_rates([recording.text], [transcript.text])
        whole_rates = error_rates([recording.text], [whole.text])
        assert chunked_rates.wer <= whole_rates.wer + DEMO_WER_MARGIN, transcript.decoder
        assert chunked_rates.cer <= whole_rates.cer + DEMO_CER_MARGIN, transcript.decoder
        assert abs(len(transcript.words) - len(whole.words)) <= 0.1 * len(whole.words)
    best = error_rates([recording.text], [small.transcription.best.text])
    assert best.cer < DEMO_MAX_CER, best  # small and often wrong, but no words dropped
