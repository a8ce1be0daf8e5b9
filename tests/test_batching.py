"""Cross-request batching (batching.py) on the real tiny model: concurrent requests share
forward passes, each gets its own text, and one request's failure stays its own."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tone_model import tone_speech

from hyasr_space.results import Clip
from hyasr_space.runtime import load_model
from hyasr_space.runtime.batching import RequestBatcher
from hyasr_space.runtime.policy import request_batch_size
from hyasr_space.settings import Settings
from hyasr_space.transcriber import Transcriber

# Eight different sentences of the tone alphabet, 6 to 8 symbols: similar lengths, so
# every pair fits one batch under the padding limit.
TEXTS = ("բարև ձեզ", "ձեզ բարև", "բարև բա", "զեր ձեզ", "բաձ զեր", "ձեզ ձեզ", "երբ ար", "զար ձեբա")


pytestmark = pytest.mark.usefixtures("fresh_models")


def _batched(model_dir: Path, settings: Settings, size: int = 8) -> Transcriber:
    batched = replace(settings, device="cpu", request_batch_size=size)
    return Transcriber(load_model(str(model_dir), settings=batched), batched)


def _run_together(transcriber: Transcriber, texts: tuple[str, ...]) -> dict[str, object]:
    """Transcribe each text from its own thread, all queued up before any batch runs;
    returns text -> result or exception."""
    results: dict[str, object] = {}

    def request(text: str) -> None:
        clip = Clip(tone_speech(text)[0], 16_000, name=text)
        try:
            results[text] = transcriber.transcribe(clip, "greedy").best.text
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results[text] = error

    _queue_up(transcriber.model._batcher, [(request, (text,)) for text in texts])
    return results


def _queue_up(batcher: RequestBatcher, calls: list[tuple]) -> None:
    """Start each call in its own thread while the batcher acts as if a batch were on the
    GPU; let it go once every call has queued, and wait for them all."""
    with batcher._condition:
        batcher._running = True
    threads = [threading.Thread(target=target, args=args) for target, args in calls]
    for thread in threads:
        thread.start()
    _wait_until(lambda: len(batcher._pending) == len(calls))
    with batcher._condition:
        batcher._running = False
        batcher._condition.notify_all()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()


def _wait_until(condition, timeout: float = 20.0) -> None:
    event = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError("the requests never queued up")


def test_concurrent_requests_share_a_forward_pass_and_keep_their_own_text(
    model_dir: Path, settings: Settings
) -> None:
    transcriber = _batched(model_dir, settings)
    assert transcriber.model.pads_exactly and transcriber.model.request_batch_size == 8

    results = _run_together(transcriber, TEXTS)

    assert results == {text: text for text in TEXTS}
    stats = transcriber.model.batch_stats
    assert (stats.batches, stats.windows, stats.sizes) == (1, len(TEXTS), [len(TEXTS)])


def test_batched_logits_equal_logits_computed_alone(model_dir: Path, settings: Settings) -> None:
    alone = load_model(str(model_dir), settings=replace(settings, device="cpu"))
    batched = _batched(model_dir, settings).model
    clips = [Clip(tone_speech(text)[0], 16_000, name=text) for text in TEXTS[:3]]
    together: dict[str, np.ndarray] = {}

    def logits(clip: Clip) -> None:
        together[clip.name] = batched.logits(clip).values

    _queue_up(batched._batcher, [(logits, (clip,)) for clip in clips])

    assert batched.batch_stats.sizes == [3]  # one padded batch of three
    for clip in clips:
        reference = alone.logits(clip).values
        assert together[clip.name].shape == reference.shape
        np.testing.assert_allclose(together[clip.name], reference, rtol=1e-4, atol=1e-4)


def test_a_request_that_fails_in_a_batch_fails_alone(model_dir: Path, settings: Settings) -> None:
    transcriber = _batched(model_dir, settings)
    model = transcriber.model
    texts, failing = TEXTS[:4] + TEXTS[6:7], TEXTS[6]
    poison = len(tone_speech(failing)[0])  # the one clip of this length breaks the "GPU"
    assert sum(len(tone_speech(text)[0]) == poison for text in texts) == 1
    real_forward = model._forward_batch

    def forward(windows: list[np.ndarray]) -> list[np.ndarray]:
        if any(len(window) == poison for window in windows):
            raise RuntimeError("CUDA out of memory (simulated)")
        return real_forward(windows)

    model._batcher._forward = forward
    results = _run_together(transcriber, texts)

    assert isinstance(results.pop(failing), RuntimeError)
    assert results == {text: text for text in texts if text != failing}
    assert model.batch_stats.sizes == [1, 1, 1, 1]  # the batch of five failed; retried alone


def test_long_and_short_requests_are_not_padded_together() -> None:
    """A 1.5 s clip is not padded to the length of a 10 s one (at most 2x padding)."""
    calls: list[list[int]] = []

    def forward(windows: list[np.ndarray]) -> list[np.ndarray]:
        calls.append([len(window) for window in windows])
        return [window[:1] for window in windows]

    batcher = RequestBatcher(forward, max_windows=8)
    lengths = [160_000, 24_000, 150_000, 20_000]
    _queue_up(batcher, [(batcher, ([np.zeros(n, np.float32)],)) for n in lengths])
    assert sorted(sorted(call) for call in calls) == [[20_000, 24_000], [150_000, 160_000]]


def test_unpaddable_models_batch_only_equal_lengths() -> None:
    calls: list[list[int]] = []

    def forward(windows: list[np.ndarray]) -> list[np.ndarray]:
        calls.append([len(window) for window in windows])
        return [window[:1] for window in windows]

    batcher = RequestBatcher(forward, max_windows=8, pad=False)
    lengths = [32_000, 32_000, 31_000, 32_000]
    _queue_up(batcher, [(batcher, ([np.zeros(n, np.float32)],)) for n in lengths])
    assert sorted(calls) == [[31_000], [32_000, 32_000, 32_000]]


def test_batching_is_on_for_gpus_and_off_for_cpus_and_zero_gpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auto = Settings()
    assert request_batch_size(auto, "cuda") == 8
    assert request_batch_size(auto, "cpu") == 1
    assert request_batch_size(replace(auto, request_batch_size=3), "cpu") == 3
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert request_batch_size(replace(auto, request_batch_size=3), "cuda") == 1
    assert Settings.from_env({"HYASR_REQUEST_BATCH": "4"}).request_batch_size == 4
    with pytest.raises(ValueError, match="request_batch_size"):
        Settings(request_batch_size=-1)


def test_the_app_runs_as_many_requests_at_once_as_a_batch_holds(
    model_dir: Path, settings: Settings
) -> None:
    from hyasr_space.web import build_demo

    transcriber = _batched(model_dir, settings, size=6)
    demo = build_demo(replace(settings, request_batch_size=6), transcriber)
    assert demo._queue.default_concurrency_limit == 6
