"""Live streams (streaming.py): chunks in, growing text out, the same result as offline.

The bundled demo model on the committed held-out clips checks the text against
`transcribe()` on the same samples; the tone model (fast, exact) checks the edges: 10 ms
chunks, a chunk longer than a window, silence, bad chunks, memory that stays bounded.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile
import soxr
from tone_model import LONG_WORDS, RATE, WORDS, tone_speech

from hyasr_space import InvalidRequestError, Transcriber
from hyasr_space.audio import read_wav_chunk
from hyasr_space.settings import Settings

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CLIPS = sorted(EXAMPLES.glob("*.wav"))


@pytest.fixture(scope="module")
def demo() -> Transcriber:
    return Transcriber.load("demo", settings=replace(Settings(), warm_up=False))


@pytest.fixture
def tone(model_dir: Path, settings: Settings) -> Transcriber:
    return Transcriber.load(str(model_dir), settings=settings)


def feed_in_chunks(stream, samples: np.ndarray, rate: int, rng, low_s=0.01, high_s=2.0):
    """Feed `samples` in random chunks of `low_s` to `high_s`; the partials returned."""
    partials, start = [], 0
    while start < len(samples):
        size = int(rng.integers(max(1, int(low_s * rate)), int(high_s * rate) + 1))
        partials.append(stream.feed(samples[start : start + size], rate))
        start += size
    return partials


@pytest.mark.parametrize("rate", [16_000, 44_100, 48_000])
def test_random_chunks_and_rates_give_the_offline_text(demo: Transcriber, rate: int) -> None:
    rng = np.random.default_rng(rate)
    for clip in CLIPS:
        samples, source_rate = soundfile.read(clip, dtype="float32")
        samples = soxr.resample(samples, source_rate, rate, quality="HQ")
        if rate == 44_100:  # stereo, as a browser sends it: two different channels
            samples = np.stack([samples, 0.5 * samples], axis=1)
        offline = demo.transcribe((rate, samples), "both")
        stream = demo.stream("both")
        feed_in_chunks(stream, samples, rate, rng)
        live = stream.finish()
        assert live.get("greedy").text == offline.get("greedy").text
        assert live.get("lm").text == offline.get("lm").text
        assert live.duration == pytest.approx(offline.duration, abs=1e-3)
        assert [w.text for w in live.best.words] == [w.text for w in offline.best.words]


def test_partial_text_grows_and_final_phrases_never_change(demo: Transcriber) -> None:
    pieces = [soundfile.read(clip, dtype="float32")[0] for clip in CLIPS]
    # A phrase closes 0.5 s (endpoint) + 1 s (right context) into a pause, at the next
    # step; a loaded machine stretches steps up to live_max_step_s (4 s), hence the tail.
    pause, tail = np.zeros(2 * RATE, np.float32), np.zeros(6 * RATE, np.float32)
    samples = np.concatenate([pieces[0], pause, pieces[1], tail])
    stream = demo.stream("lm")
    partials = feed_in_chunks(stream, samples, RATE, np.random.default_rng(1), 0.1, 0.1)
    closed, previous = [], ""
    for partial in partials:
        assert partial.stable.startswith(previous)  # what was stable stays
        closed += partial.closed
        assert partial.stable == " ".join(phrase.text for phrase in closed)
        previous = partial.stable
    first_close = next(i for i, p in enumerate(partials) if p.closed)
    assert any(p.pending for p in partials[:first_close])  # words before the phrase closed
    assert len(closed) == 2  # each sentence closed in the pause after it, decoded once
    result = stream.finish()
    assert result.best.text == " ".join(phrase.text for phrase in closed)
    assert stream.latest.closed == ()  # nothing left open for finish() to close
    for phrase in closed:
        assert phrase.words[0].start >= 0 and phrase.end <= result.duration


def test_silence_only(demo: Transcriber) -> None:
    stream = demo.stream("both")
    partials = [stream.feed(np.zeros(8000, np.int16), 16_000) for _ in range(8)]
    result = stream.finish()
    assert all(not p.text and not p.closed for p in partials)
    assert [t.text for t in result.transcripts] == ["", ""]
    assert result.duration == pytest.approx(4.0)


def test_ten_ms_chunks_and_one_chunk_longer_than_a_window(
    model_dir: Path, settings: Settings
) -> None:
    settings = replace(settings, chunk_s=2.0, chunk_context_s=0.5)
    tone = Transcriber.load(str(model_dir), settings=settings)
    short, _ = tone_speech(WORDS)
    stream = tone.stream("greedy")
    for start in range(0, len(short), RATE // 100):
        stream.feed(short[start : start + RATE // 100], RATE)
    assert stream.finish().best.text == WORDS
    long, _ = tone_speech(LONG_WORDS)  # 6.6 s in one chunk; offline runs it as windows
    assert len(long) > 2 * settings.chunk_s * RATE
    stream = tone.stream("lm")
    stream.feed(long, RATE)
    assert stream.finish().best.text == tone.transcribe((RATE, long), "lm").best.text
    assert stream.finish().best.text == LONG_WORDS


def test_bad_chunks_are_reported_and_the_stream_goes_on(tone: Transcriber) -> None:
    samples, spans = tone_speech(WORDS)
    half = spans[3][1] + RATE // 50  # in the gap after the 4th tone: a cut there is silent
    stream = tone.stream("greedy")
    stream.feed(samples[:half], RATE)

    empty = stream.feed(np.zeros(0, np.float32), RATE)
    assert empty.notices == () and empty.duration == half / RATE
    assert stream.feed(None, RATE).duration == half / RATE

    # one frame of NaN (320 samples): silence of a whole frame keeps the tone model's
    # frames where its output layer was fitted (half a frame shifts them, offline too)
    broken = np.full(320, np.nan, np.float32)
    nan = stream.feed(broken, RATE)
    assert "320 of 320 samples" in nan.notices[0] and "NaN" in nan.notices[0]
    assert nan.duration == (half + 320) / RATE  # the time line stays whole

    for bad, rate, message in [
        (np.zeros((2, 2, 2)), RATE, "3-dimensional"),
        (np.array(["a", "b"]), RATE, "not supported"),
        (samples[:100], 0, "positive whole number"),
        (samples[:100], "fast", "positive whole number"),
    ]:
        with pytest.raises(InvalidRequestError, match=message):
            stream.feed(bad, rate)
    assert stream.duration == (half + 320) / RATE  # a refused chunk changed nothing

    rest = soxr.resample(samples[half:], RATE, 48_000, quality="HQ")
    changed = stream.feed(rest, 48_000)  # the browser switched devices
    assert "changed from 16000 Hz to 48000 Hz" in changed.notices[0]
    result = stream.finish()
    assert result.best.text == WORDS
    assert result.duration == pytest.approx((len(samples) + 320) / RATE, abs=0.01)
    assert any("NaN" in n for n in result.notices) and any("48000" in n for n in result.notices)
    assert stream.finish() is result  # idempotent
    with pytest.raises(InvalidRequestError, match="finished"):
        stream.feed(samples, RATE)


def test_unknown_decoder_is_refused_up_front(tone: Transcriber) -> None:
    with pytest.raises(InvalidRequestError, match="unknown decoder"):
        tone.stream("beam")


def test_decode_again_with_other_settings(demo: Transcriber) -> None:
    samples, rate = soundfile.read(CLIPS[0], dtype="float32")
    stream = demo.stream("lm")
    with pytest.raises(InvalidRequestError, match="finish"):
        stream.decode("greedy")
    stream.feed(samples, rate)
    result = stream.finish()
    greedy = stream.decode("greedy")
    assert greedy.best.text == demo.transcribe(CLIPS[0], "greedy").best.text
    assert stream.decode("lm").best.text == result.best.text
    heavy = replace(demo.lm_defaults, alpha=5.0, beta=-5.0)
    assert stream.decode("lm", heavy).best.text == demo.transcribe(CLIPS[0], "lm", heavy).best.text


def test_memory_stays_bounded_on_a_long_stream(tone: Transcriber) -> None:
    settings = tone.settings
    bound = (
        settings.live_left_context_s
        + settings.live_max_phrase_s
        + settings.live_right_context_s
        + settings.live_max_step_s
    ) * RATE
    speech, _ = tone_speech(WORDS)
    stream = tone.stream("greedy")
    longest = 0
    for _ in range(8):  # 44 s of words and pauses
        stream.feed(speech, RATE)
        stream.feed(np.zeros(3 * RATE, np.float32), RATE)
        longest = max(longest, len(stream._buffer), len(stream._open_values) * 320)
    assert longest <= bound
    stream.finish()
    # each phrase closed in its pause; one greedy pass over the whole stream (finish(),
    # like transcribe()) runs words together across pauses with no delimiter in them
    assert stream.latest.stable == " ".join([WORDS] * 8)


def test_stream_on_piped_pcm_gives_the_offline_text(demo: Transcriber) -> None:
    pcm = (soundfile.read(CLIPS[0], dtype="int16")[0]).tobytes()
    offline = demo.transcribe((RATE, np.frombuffer(pcm, np.int16)), "lm").best.text
    command = [sys.executable, "-m", "hyasr_space.cli", "stream", "--model", "demo", "-"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, input=pcm, capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    assert lines and " ".join(lines) == offline


def test_stream_a_file_as_json_lines(capsys: pytest.CaptureFixture[str], demo) -> None:
    from hyasr_space.cli import main

    assert main(["stream", "--model", "demo", "--format", "jsonl", str(CLIPS[1])]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {e["type"] for e in events} == {"partial", "final"}
    assert all({"text", "start", "end", "words"} <= set(e) for e in events)
    finals = " ".join(e["text"] for e in events if e["type"] == "final")
    assert finals == demo.transcribe(CLIPS[1], "lm").best.text
    assert main(["stream", "--model", "demo", "no-such-file.wav"]) == 1


def test_read_chunk_keeps_every_sample_after_the_header(tmp_path: Path) -> None:
    """The browser joins chunks behind the first one's header, which declares one chunk."""
    rng = np.random.default_rng(0)
    first, second = (rng.integers(-2000, 2000, (4410, 2)).astype(np.int16) for _ in "ab")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2), out.setsampwidth(2), out.setframerate(44_100)
        out.writeframes(first.tobytes())
    path = tmp_path / "audio.wav"
    path.write_bytes(buffer.getvalue() + second.tobytes())
    rate, samples = read_wav_chunk(str(path))
    assert rate == 44_100
    np.testing.assert_array_equal(samples, np.concatenate([first, second]))
    path.write_bytes(b"not a wav file at all")
    with pytest.raises(ValueError, match="not a WAV file"):
        read_wav_chunk(str(path))


def test_concurrent_streams_share_the_model_and_its_batches(
    model_dir: Path, settings: Settings
) -> None:
    """Two people streaming at once: their steps go through AcousticModel.forward, here
    with cross-request batching on (as on a GPU), and each gets its own text."""
    import threading

    tone = Transcriber.load(str(model_dir), settings=replace(settings, request_batch_size=4))
    texts = {0: WORDS, 1: LONG_WORDS}
    results: dict[int, str] = {}

    def speak(index: int) -> None:
        samples, _ = tone_speech(texts[index])
        stream = tone.stream("greedy")
        for start in range(0, len(samples), RATE // 10):
            stream.feed(samples[start : start + RATE // 10], RATE)
        results[index] = stream.finish().best.text

    threads = [threading.Thread(target=speak, args=(index,)) for index in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert results == texts
    assert tone.model.batch_stats is not None and tone.model.batch_stats.sizes


def test_a_closed_tab_frees_its_live_session() -> None:
    from hyasr_space.web.live_sessions import LiveSession
    from hyasr_space.web.live_tab import close_live_session

    session = LiveSession()
    folder, recordings = session.files.path, session.new_recording().parent
    assert folder.is_dir() and recordings.is_dir()
    close_live_session(session)
    assert session.stream is None and not folder.exists() and not recordings.exists()
    close_live_session(None)  # a tab that never recorded


def test_a_recording_holds_the_heard_audio_at_16_khz(tone: Transcriber, tmp_path: Path) -> None:
    samples, _ = tone_speech(WORDS)
    stereo_48k = soxr.resample(samples, RATE, 48_000, quality="HQ")
    stereo_48k = np.stack([stereo_48k, stereo_48k], axis=1)
    path = tmp_path / "heard.wav"
    stream = tone.stream("greedy", recording=path)
    feed_in_chunks(stream, stereo_48k, 48_000, np.random.default_rng(5), 0.01, 0.5)
    result = stream.finish()
    recorded, rate = soundfile.read(path, dtype="float32")
    assert rate == RATE and recorded.ndim == 1
    assert len(recorded) / rate == pytest.approx(result.duration, abs=1e-3)
    assert abs(len(recorded) - len(samples)) <= 2
    # 16-bit PCM of the resampled audio: the same waveform within rounding and filtering
    assert np.corrcoef(recorded[: len(samples)], samples[: len(recorded)])[0, 1] > 0.99
    assert tone.transcribe(path, "greedy").best.text == result.best.text


def test_with_a_recording_the_result_is_a_file_transcription_of_it(
    demo: Transcriber, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hyasr_space.streaming import LiveStream

    pieces = [soundfile.read(clip, dtype="float32")[0] for clip in CLIPS]
    samples = np.concatenate([pieces[0], np.zeros(RATE, np.float32), pieces[1]])
    rng = np.random.default_rng(7)
    stream = demo.stream("both", recording=tmp_path / "heard.wav")
    feed_in_chunks(stream, samples, RATE, rng, 0.05, 0.3)
    result = stream.finish()
    assert stream.final_pass
    as_file = demo.transcribe(tmp_path / "heard.wav", "both")
    assert [t.text for t in result.transcripts] == [t.text for t in as_file.transcripts]
    assert [w.start for w in result.best.words] == [w.start for w in as_file.best.words]
    assert result.source == "live" and result.duration == pytest.approx(as_file.duration)
    heavy = replace(demo.lm_defaults, alpha=5.0, beta=-5.0)
    expected = demo.transcribe(tmp_path / "heard.wav", "lm", heavy).best.text
    # Decoding again uses the recording's logits, kept by the stream: no network (its
    # model may be unloaded by then), as for a file.
    monkeypatch.setattr(demo, "logits", lambda *args: pytest.fail("the network ran again"))
    assert stream.decode("lm", heavy).best.text == expected
    monkeypatch.undo()

    # Over the allowed time (here: any), the live phrases stand, and the result says why.
    hurried = replace(demo.settings, live_final_pass_max_s=1e-9)
    stream = LiveStream(demo, "lm", settings=hurried, recording=tmp_path / "second.wav")
    partials = feed_in_chunks(stream, samples, RATE, rng, 0.05, 0.3)
    result = stream.finish()
    assert not stream.final_pass
    closed = [phrase.text for p in [*partials, stream.latest] for phrase in p.closed]
    assert result.best.text == " ".join(closed)
    assert any("HYASR_LIVE_FINAL_PASS_MAX_S" in notice for notice in result.notices)
    # Too short for a file (HYASR_MIN_DURATION_S): the live text stays, the stream ends.
    stream = demo.stream("lm", recording=tmp_path / "short.wav")
    stream.feed(samples[: RATE // 20], RATE)
    assert stream.finish() is stream.finish() and not stream.final_pass
    assert any("ms long; speech needs at least" in n for n in stream.finish().notices)
    # Without a recording there is nothing to pass over again (hyasr stream).
    stream = demo.stream("lm")
    stream.feed(samples, RATE)
    stream.finish()
    assert not stream.final_pass


def test_recent_audio_is_the_latest_20_seconds(tone: Transcriber, tmp_path: Path) -> None:
    from hyasr_space.streaming import RECENT_S

    rng = np.random.default_rng(8)
    samples = (0.1 * rng.standard_normal(int(25.5 * RATE))).astype(np.float32)
    stream = tone.stream("greedy", recording=tmp_path / "all.wav")
    assert stream.recent()[0].size == 0
    feed_in_chunks(stream, samples, RATE, rng, 0.05, 1.5)
    recent, start_s = stream.recent()
    assert len(recent) == round(RECENT_S * RATE)
    assert start_s == pytest.approx(25.5 - RECENT_S, abs=1e-3)
    np.testing.assert_allclose(recent, samples[-len(recent) :], atol=1e-6)


def test_the_lag_notice_suggests_what_this_model_can_still_do(
    tone: Transcriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hyasr_space.web.live_tab import lag_notice

    stream, model = tone.stream("greedy"), tone.model
    assert (model.device, model.dtype) == ("cpu", "float32")
    assert "HYASR_DTYPE=int8" in lag_notice(stream)
    monkeypatch.setattr(model, "preparing", "int8")
    assert "being prepared" in lag_notice(stream)
    monkeypatch.setattr(model, "preparing", None)
    monkeypatch.setattr(model, "dtype", "int8")  # already the fast path: nothing to switch
    notice = lag_notice(stream)
    assert "HYASR_DTYPE" not in notice and "faster machine or a GPU" in notice


def test_live_streams_past_the_limit_are_refused_until_a_slot_frees(tone: Transcriber) -> None:
    from hyasr_space.web.live_sessions import STALE_S, LiveSession, StreamSlots
    from hyasr_space.web.live_tab import busy_notice

    slots, now = StreamSlots(2), 100.0
    first, second, third = LiveSession(), LiveSession(), LiveSession()
    for session in (first, second, third):
        session.last_seen = now
    assert slots.take(first, now) and slots.take(second, now)
    assert slots.take(first, now)  # a session already holding its slot keeps it
    assert not slots.take(third, now)
    assert "2 live streams are open" in busy_notice(slots) and "=2" in busy_notice(slots)
    # finishing a stream gives its slot back
    first.begin(tone.stream("greedy"), now)
    first.end()
    assert slots.open == 1 and slots.take(third, now)
    # a stream with no chunk for STALE_S (its tab was closed while recording) is dropped
    fourth = LiveSession()
    assert not slots.take(fourth, now + 1.0)
    assert slots.take(fourth, now + STALE_S + 1.0)
    # a closed tab gives its slot back too
    fourth.close()
    assert fourth not in slots._open and fourth.slots is None
