"""Choosing and comparing models (models.py, compare.py, runtime/features.py), offline:
small random checkpoints of each architecture (Wav2Vec2ForCTC, Wav2Vec2BertForCTC) in the
Hub layout, served by the local Hub stand-in with cards that carry metrics."""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from random_models import build_random_w2v_bert, build_random_wav2vec2, card, write_card
from tone_model import LONG_WORDS, RATE, WORDS, tone_speech

from hyasr_space.errors import ModelUnavailableError
from hyasr_space.models import ModelPool, model_info, offered_models
from hyasr_space.results import Clip
from hyasr_space.runtime import caches
from hyasr_space.transcriber import Transcriber

try:
    from .hub_server import FakeHub, point_client_at
except ImportError:
    from hub_server import FakeHub, point_client_at

W2V_REPO = "test-org/random-xlsr-hy"
BERT_REPO = "test-org/random-w2v-bert-hy"


@pytest.fixture(scope="module")
def w2v_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = build_random_wav2vec2(tmp_path_factory.mktemp("models") / "w2v")
    write_card(folder, card("apache-2.0", 0.2756))
    return folder


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = build_random_w2v_bert(tmp_path_factory.mktemp("models") / "bert")
    write_card(folder, card("cc-by-nc-4.0", 0.121, lm=False))
    return folder


@pytest.fixture
def hub(tmp_path, monkeypatch, w2v_dir, bert_dir):
    """The local Hub stand-in serving both random checkpoints, the client pointed at it."""
    server = FakeHub().start()
    server.add_dir(W2V_REPO, w2v_dir)
    server.add_dir(BERT_REPO, bert_dir)
    point_client_at(server, monkeypatch, tmp_path / "hf-cache")
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    caches.clear()
    yield server
    server.stop()
    caches.clear()


@pytest.fixture
def hub_settings(settings, tmp_path):
    return replace(
        settings,
        model=W2V_REPO,
        models=(W2V_REPO, BERT_REPO),
        cache_dir=tmp_path / "hyasr-cache",
        dtype="float32",
    )


def test_w2v_bert_frame_grid_is_the_networks_own(bert_dir, settings, fresh_models):
    """The stacked filter banks as a (400, 2) / (160, 2) conv: 20 ms frames seeing 35 ms,
    and `frames(n)` is what the network makes of n samples, odd bank counts included."""
    import torch

    model = Transcriber.load(str(bert_dir), None, settings).model
    assert (model.architecture, model.frame_step, model.receptive_field) == (
        "wav2vec2-bert",
        320,
        560,
    )
    assert model.seconds_per_frame == pytest.approx(0.02)
    samples = np.random.default_rng(0).normal(scale=0.1, size=50_000).astype(np.float32)
    for length in (560, 12_345, 16_000, 16_321, 40_000):
        inputs = model.feature_extractor(
            [samples[:length]], sampling_rate=RATE, return_tensors="pt"
        )
        with torch.no_grad():
            made = model.network(inputs["input_features"]).logits.shape[1]
        # An odd number of banks is padded to even by the extractor: one frame more,
        # which the model drops (its last bank has no partner).
        assert model.frames(length) in (made, made - 1)
        assert model.frames(length) == (1 + (length - 400) // 160) // 2


def test_w2v_bert_runs_windows_decoders_alignment_and_streaming(bert_dir, settings, fresh_models):
    """Wav2Vec2-BERT through the same paths as wav2vec2: a long clip in windows lines up
    with one pass frame for frame; greedy, alignment and a live stream all give results."""
    samples = tone_speech(LONG_WORDS)[0].astype(np.float32)
    windowed = Transcriber.load(
        str(bert_dir), None, replace(settings, chunk_s=2.0, chunk_context_s=0.5)
    )
    whole = Transcriber.load(str(bert_dir), None, settings)
    clip = Clip(samples, RATE, "long")
    assert len(windowed.model.plan(len(samples))) > 1
    chunked, single = windowed.model.logits(clip), whole.model.logits(clip)
    assert chunked.values.shape == single.values.shape == (whole.model.frames(len(samples)), 44)
    # Windows start on the frame grid: before the extractor's per-window scaling, a
    # window's stacked filter banks are exactly the whole clip's from its first frame.
    extractor = whole.model.feature_extractor
    plain = {"sampling_rate": RATE, "return_tensors": "np", "do_normalize_per_mel_bins": False}
    everything = extractor([samples], **plain)["input_features"][0]
    for window in windowed.model.plan(len(samples)):
        piece = extractor([samples[window.start : window.end]], **plain)["input_features"][0]
        first = window.start // whole.model.frame_step
        count = whole.model.frames(window.end - window.start)
        np.testing.assert_allclose(piece[:count], everything[first : first + count], atol=1e-3)

    result = whole.transcribe(clip, "lm")
    assert result.model == str(bert_dir)
    assert any("greedily" in notice or "language model" in notice for notice in result.notices)
    aligned = whole.align(clip, LONG_WORDS)
    assert [word.text for word in aligned.best.words] == LONG_WORDS.split()
    assert all(0 <= w.start < w.end <= clip.duration + 0.05 for w in aligned.best.words)

    stream = whole.stream("greedy")
    for start in range(0, len(samples), 3_200):
        stream.feed(samples[start : start + 3_200], RATE)
    live = stream.finish()
    assert live.duration == pytest.approx(clip.duration, abs=0.01)
    assert live.best.text == whole.transcribe(clip, "greedy").best.text


def test_a_model_whose_lm_does_not_fit_decodes_greedily_and_says_so(
    model_dir, settings, tmp_path, fresh_models
):
    folder = tmp_path / "latin-lm"
    shutil.copytree(model_dir, folder)
    (folder / "language_model" / "unigrams.txt").write_text(
        "\n".join(["hello", "world", "speech", "barev"] * 10), encoding="utf-8"
    )
    transcriber = Transcriber.load(str(folder), None, settings)
    assert not transcriber.has_lm
    assert any("do not fit" in n and "greedily" in n for n in transcriber.notices)
    result = transcriber.transcribe((RATE, tone_speech(WORDS)[0]), "lm")
    assert [t.decoder for t in result.transcripts] == ["greedy"]
    assert result.best.text == WORDS  # the tone model still reads its words
    # The fitting LM of the original is kept.
    assert Transcriber.load(str(model_dir), None, settings).has_lm


def test_model_info_labels_card_figures_licence_and_size(hub, hub_settings, w2v_dir, bert_dir):
    import torch
    from transformers import Wav2Vec2BertForCTC, Wav2Vec2ForCTC

    w2v = model_info(W2V_REPO, hub_settings)
    bert = model_info(BERT_REPO, hub_settings)
    assert (w2v.license, w2v.noncommercial, w2v.architecture) == ("apache-2.0", False, "wav2vec2")
    assert (bert.license, bert.noncommercial) == ("cc-by-nc-4.0", True)
    assert bert.architecture == "wav2vec2-bert"
    assert "NON-COMMERCIAL" in bert.describe()
    with torch.device("cpu"):
        assert w2v.parameters == Wav2Vec2ForCTC.from_pretrained(w2v_dir).num_parameters()
        assert bert.parameters == Wav2Vec2BertForCTC.from_pretrained(bert_dir).num_parameters()
    figure = w2v.figures[0]
    assert (figure.value, figure.split, figure.decoder) == (pytest.approx(0.2756), "test", "LM")
    assert "27.56 %" in w2v.headline and "test, LM" in w2v.headline
    assert "the card's figure" in w2v.headline
    assert bert.figures[0].split == "test"
    assert offered_models(hub_settings)[:2] == (W2V_REPO, BERT_REPO)


def test_pool_keeps_at_most_n_models_and_a_failed_load_unloads_nothing(hub, hub_settings):
    pool = ModelPool(replace(hub_settings, max_loaded_models=1))
    first = pool.get(W2V_REPO)
    assert first.model.architecture == "wav2vec2"
    with pytest.raises(ModelUnavailableError, match="missing-model"):
        pool.get("test-org/missing-model")
    assert pool.loaded() == [W2V_REPO]  # the previous model keeps serving
    clip = Clip(tone_speech(WORDS)[0].astype(np.float32), RATE, "w")
    first.transcribe(clip, "greedy")

    second = pool.get(BERT_REPO)
    assert pool.loaded() == [BERT_REPO]  # least recently used went
    assert second.model.architecture == "wav2vec2-bert"
    with pytest.raises(ModelUnavailableError, match="unloaded"):
        first.model.logits(Clip(np.zeros(RATE, np.float32)))
    # A model lent to a request is not unloaded under it; it goes when the request ends.
    with pool.use(W2V_REPO) as again:
        pool_loaded = pool.loaded()
        assert W2V_REPO in pool_loaded
        again.transcribe(clip, "greedy")
    assert len(pool.loaded()) == 1


def test_loading_one_model_does_not_hold_up_requests_on_another(hub, hub_settings):
    """While a slow load runs, a loaded model answers at once."""
    started, release = threading.Event(), threading.Event()
    real = ModelPool(hub_settings)._load

    def slow_load(ref):
        if ref == BERT_REPO:
            started.set()
            release.wait(30)
        return real(ref)

    pool = ModelPool(hub_settings, load=slow_load)
    loaded = pool.get(W2V_REPO)
    loader = threading.Thread(target=pool.get, args=(BERT_REPO,))
    loader.start()
    assert started.wait(30)
    done = threading.Event()

    def request():
        with pool.use(W2V_REPO) as transcriber:
            transcriber.transcribe((RATE, tone_speech(WORDS)[0]), "greedy")
        done.set()

    threading.Thread(target=request).start()
    assert done.wait(30), "a request on a loaded model waited for another model's load"
    assert not pool.is_loaded(BERT_REPO)
    release.set()
    loader.join(60)
    assert pool.is_loaded(BERT_REPO) and loaded is pool.get(W2V_REPO)


def test_word_differences_ignore_what_scoring_ignores():
    from hyasr_space.compare import marked_texts, word_differences

    runs = word_differences("Բարև, ձեզ Երեւան տուն", "բարև ձեր երևան տուն")
    assert [(run.first, run.second) for run in runs if not run.same] == [(("ձեզ",), ("ձեր",))]
    assert marked_texts("ա բ գ", "ա դ գ") == ("ա [բ] գ", "ա [դ] գ")


def test_compare_two_architectures_in_python_and_from_the_command_line(
    hub, hub_settings, words_wav, model_dir, tmp_path, capsys
):
    """Each model with its own decoders: the tone model with its LM, the random
    Wav2Vec2-BERT greedily with a notice; the CLI marks the words that differ."""
    from hyasr_space.cli import main
    from hyasr_space.compare import compare

    pool = ModelPool(hub_settings)
    tone = Transcriber.load(str(model_dir), None, hub_settings)
    comparison = compare(words_wav, [tone, pool.get(BERT_REPO)], "lm")
    assert comparison.texts[0] == WORDS
    assert [r.best.decoder for r in comparison.results] == ["lm", "greedy"]
    assert comparison.results[1].model.startswith(BERT_REPO)
    assert any("greedily" in n or "language model" in n for n in comparison.results[1].notices)
    differing = [run for run in comparison.differences() if not run.same]
    assert differing or comparison.texts[0] == comparison.texts[1]

    status = main(["compare", "--model", str(model_dir), "--model", BERT_REPO, str(words_wav)])
    out = capsys.readouterr().out.splitlines()
    assert status == 0
    assert out[0].split()[-2:] == WORDS.split() and "[lm]" in out[0]
    assert out[1].startswith(BERT_REPO) and "[greedy]" in out[1]
    other = out[1].split("[greedy]", 1)[1].strip()
    if other and other.replace("[", "").replace("]", "") != WORDS:
        assert "[" in other  # the words that differ from the first model are marked
    assert main(["compare", "--model", str(model_dir), str(words_wav)]) == 2


def test_eval_with_several_models_prints_one_table(model_dir, bert_dir, settings, tmp_path, capsys):
    import soundfile

    (tmp_path / "clips").mkdir()
    soundfile.write(tmp_path / "clips" / "a.wav", tone_speech(WORDS)[0], RATE, subtype="PCM_16")
    (tmp_path / "test.tsv").write_text(f"path\tsentence\na.wav\t{WORDS}\n", encoding="utf-8")
    from hyasr_space.cli import main

    argv = ["eval", "--model", str(model_dir), "--model", str(bert_dir), "--data", str(tmp_path)]
    assert main([*argv, "--decoder", "greedy"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith((str(model_dir), str(bert_dir)))]
    assert len(rows) == 2
    assert rows[0].split()[1:3] == ["greedy", "0.00%"]  # the tone model reads its words
    assert rows[1].split()[1] == "greedy"
    assert "normalize_for_scoring" in lines[0]


def test_the_app_serves_a_chosen_model_compares_two_and_survives_a_missing_one(
    model_dir, bert_dir, words_wav, tmp_path, fresh_models
):
    """Through gradio_client: /transcribe with and without `model`, /compare with two
    architectures, and a model that cannot load: a clear error, the default serves on."""
    import gradio_client
    from servers import app_settings, serve

    missing = str(tmp_path / "not-a-model")
    settings = app_settings(
        model_dir, models=(str(model_dir), str(bert_dir), missing), warm_up=False
    )
    with serve(settings) as url:
        client = gradio_client.Client(url, verbose=False)
        audio = gradio_client.handle_file(str(words_wav))
        text, *_ = client.predict(audio=audio, decoder="greedy", api_name="/transcribe")
        assert text == WORDS
        _, _, _, info, *_ = client.predict(
            audio=audio, decoder="greedy", model=str(bert_dir), api_name="/transcribe"
        )
        assert str(bert_dir) in info
        with pytest.raises(gradio_client.exceptions.AppError, match="cannot be used now"):
            client.predict(audio=audio, model=missing, api_name="/transcribe")
        text, *_ = client.predict(audio=audio, decoder="greedy", api_name="/transcribe")
        assert text == WORDS  # the previous model keeps serving
        aligned = client.predict(audio=audio, text=WORDS, model=str(bert_dir), api_name="/align")
        assert aligned[0] == WORDS and str(bert_dir) in aligned[3]
        left, right, notes = client.predict(
            audio=audio,
            first_model=str(model_dir),
            second_model=str(bert_dir),
            decoder="lm",
            api_name="/compare",
        )
        words = lambda value: "".join(token["token"] for token in value)  # noqa: E731
        assert words(left) == WORDS
        marked = [t["token"] for t in left if t["class_or_confidence"] == "differs"]
        if words(right) != WORDS:
            assert marked  # the words that differ are highlighted
        assert "greedily" in notes or "language model" in notes


def test_the_card_viewer_states_the_scoring_normalisation(bert_dir):
    from hyasr_space.card import load_card_report
    from hyasr_space.web.card_tab import card_panel_values

    status, metrics, _, _ = card_panel_values(load_card_report(bert_dir))
    assert "card's own" in status and "և" in status and "եւ" in status
    assert list(metrics["split"]) == ["test"]
