"""Greedy and LM decoding of hand-made logits: what each must read, and where they differ."""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tone_model import write_language_model

from hyasr_space import lm as lm_module
from hyasr_space.decoding import GreedyDecoder
from hyasr_space.errors import InvalidRequestError
from hyasr_space.lm import (
    LMDecoder,
    LMSettings,
    frames_to_search,
    parse_hotwords,
    word_end_frames,
)
from hyasr_space.results import Logits
from hyasr_space.settings import Settings
from hyasr_space.text import VOCAB
from hyasr_space.vocabulary import Vocabulary

STEP = 0.02
BLANK = "[PAD]"


def logits(*frames: dict[str, float] | str) -> Logits:
    """One row per frame: a token (probability ~1) or {token: probability}."""
    rows = []
    for frame in frames:
        probs = np.full(len(VOCAB), 1e-4)
        for token, p in ({frame: 1.0} if isinstance(frame, str) else frame).items():
            probs[VOCAB[token]] = p
        rows.append(np.log(probs / probs.sum()))
    return Logits(np.array(rows, dtype=np.float32), STEP)


def spell(word: str) -> list[str]:
    """A token per letter with a blank after each, as a CTC model emits them."""
    return [frame for letter in word for frame in (letter, BLANK)]


# "մայր" (mother) is in the LM; at the third letter the acoustic model slightly prefers
# "ի" (0.55) over "յ" (0.45), so greedy spells the non-word "մաիր".
AMBIGUOUS = logits("մ", BLANK, "ա", BLANK, {"ի": 0.55, "յ": 0.45}, BLANK, "ր", BLANK)


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lm-only")
    write_language_model(folder)
    return folder


@pytest.fixture(scope="module")
def lm(lm_dir: Path) -> LMDecoder:
    decoder = LMDecoder.from_dir(lm_dir, Vocabulary.default(), Settings())
    assert decoder is not None
    return decoder


def test_default_vocabulary_is_the_seed_models() -> None:
    vocab = Vocabulary.default()
    assert len(vocab.tokens) == 44
    assert (vocab.blank_id, vocab.delimiter_id) == (41, 0)
    assert vocab.special_ids == (40, 42, 43)  # [UNK], <s>, </s>
    labels = vocab.labels()
    assert labels[0] == " " and labels[41] == "" and labels[1] == "ա"
    assert len(set(labels)) == 44


def test_vocabulary_from_checkpoint_files(model_dir: Path) -> None:
    assert Vocabulary.from_dir(model_dir, 44) == Vocabulary.default()


def test_greedy_merges_repeats_drops_blanks_and_times_words() -> None:
    frames = ["ա", "ա", "յ", BLANK, "ր", "|", "|", BLANK, "հ", "ա", BLANK, "ա", "յ", "ր", BLANK]
    result = GreedyDecoder(Vocabulary.default()).decode(logits(*frames))
    assert result.text == "այր հաայր"
    assert [(w.text, w.start, w.end) for w in result.words] == [
        ("այր", 0.0, pytest.approx(5 * STEP)),
        ("հաայր", pytest.approx(8 * STEP), pytest.approx(14 * STEP)),
    ]
    assert result.decoder == "greedy"


def test_special_tokens_never_reach_the_text() -> None:
    """A special token's frame reads as the best other token (here the blank)."""
    frames = [{"<s>": 0.9, BLANK: 0.1}, "մ", {"[UNK]": 0.9, BLANK: 0.1}, "ա", "</s>", BLANK]
    vocab = Vocabulary.default()
    assert GreedyDecoder(vocab).decode(logits(*frames)).text == "մա"


def test_special_tokens_never_reach_the_lm_text(lm: LMDecoder) -> None:
    assert lm.decode(logits("<s>", *spell("մայր"), "</s>")).text == "մայր"


def test_silence_decodes_to_nothing(lm: LMDecoder) -> None:
    silence = logits(*[BLANK] * 20)
    assert GreedyDecoder(Vocabulary.default()).decode(silence).text == ""
    result = lm.decode(silence)
    assert result.text == "" and result.words == ()


def test_the_language_model_corrects_what_greedy_misspells(lm: LMDecoder) -> None:
    greedy = GreedyDecoder(Vocabulary.default()).decode(AMBIGUOUS)
    with_lm = lm.decode(AMBIGUOUS)
    assert greedy.text == "մաիր"
    assert with_lm.text == "մայր"
    assert with_lm.decoder == "lm"
    assert [(w.text, w.start, w.end) for w in with_lm.words] == [
        ("մայր", 0.0, pytest.approx(7 * STEP))
    ]
    assert "2-gram KenLM (alpha 0.5, beta 1.5, beam 100)" in with_lm.description


def test_lm_decoding_of_several_words(lm: LMDecoder) -> None:
    frames = [*spell("բարև"), "|", *spell("ձեզ")]
    result = lm.decode(logits(*frames))
    assert result.text == "բարև ձեզ"
    assert [w.text for w in result.words] == ["բարև", "ձեզ"]
    assert result.words[0].end <= result.words[1].start


def test_alpha_zero_turns_the_language_model_off(lm: LMDecoder) -> None:
    assert lm.decode(AMBIGUOUS, replace(lm.defaults, alpha=0.0)).text == "մաիր"


def test_hotwords_outweigh_the_language_model(lm: LMDecoder) -> None:
    settings = replace(lm.defaults, hotwords=("մաիր",), hotword_weight=10.0)
    assert lm.decode(AMBIGUOUS, settings).text == "մաիր"
    assert "hotwords: մաիր" in lm.decode(AMBIGUOUS, settings).description


def test_defaults_come_from_attrs_json(tmp_path: Path) -> None:
    write_language_model(tmp_path, alpha=0.8, beta=2.5)
    settings = replace(Settings(), beam_width=64, beam_prune_logp=-12.0, token_min_logp=-6.0)
    decoder = LMDecoder.from_dir(tmp_path, Vocabulary.default(), settings)
    assert decoder is not None
    assert (decoder.defaults.alpha, decoder.defaults.beta) == (0.8, 2.5)
    assert decoder.defaults.beam_width == 64
    assert (decoder.defaults.beam_prune_logp, decoder.defaults.token_min_logp) == (-12.0, -6.0)


def test_a_checkpoint_without_language_model_has_no_lm_decoder(tmp_path: Path) -> None:
    assert LMDecoder.from_dir(tmp_path, Vocabulary.default()) is None


def test_alphabet_json_is_used_when_it_agrees(lm_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "with-alphabet"
    shutil.copytree(lm_dir, folder)
    vocab = Vocabulary.default()
    # as transformers' Wav2Vec2ProcessorWithLM saves it
    labels = [{"|": " ", "[PAD]": "", "[UNK]": "⁇"}.get(token, token) for token in vocab.tokens]
    (folder / "alphabet.json").write_text(json.dumps({"labels": labels, "is_bpe": False}))
    decoder = LMDecoder.from_dir(folder, vocab)
    assert decoder is not None
    assert decoder.decode(AMBIGUOUS).text == "մայր"


def test_binary_kenlm_file_is_found(lm_dir: Path, tmp_path: Path) -> None:
    """The seed model's LM is `language_model/5gram.bin`; the demo's `lm.binary`."""
    import kenlm  # noqa: F401  (the binary writer is not in the Python package)

    folder = tmp_path / "bin-lm" / "language_model"
    shutil.copytree(lm_dir / "language_model", folder)
    (folder / "lm.arpa").rename(folder / "5gram.bin")  # KenLM sniffs the format, not the name
    decoder = LMDecoder.from_dir(folder.parent, Vocabulary.default())
    assert decoder is not None and decoder.kenlm_path.name == "5gram.bin"


def test_per_request_settings_do_not_leak_between_threads(lm: LMDecoder) -> None:
    """Requests with different alpha and hotwords, interleaved on 8 threads, each get
    their own answer: nothing one request sets is seen by another."""
    cases = {
        "lm": (lm.defaults, "մայր"),
        "no-lm": (replace(lm.defaults, alpha=0.0), "մաիր"),
        "hotword": (replace(lm.defaults, hotwords=("մաիր",)), "մաիր"),
        "narrow": (replace(lm.defaults, alpha=2.0, beam_width=4), "մայր"),
    }
    wrong: list[tuple[str, str]] = []
    start = threading.Barrier(8)

    def work(name: str) -> None:
        settings, expected = cases[name]
        start.wait()
        for _ in range(25):
            text = lm.decode(AMBIGUOUS, settings).text
            if text != expected:
                wrong.append((name, text))

    threads = [threading.Thread(target=work, args=(name,)) for name in list(cases) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert lm.decode(AMBIGUOUS).text == "մայր"  # the shared defaults are untouched
    assert (lm.defaults.alpha, lm.defaults.beta) == (0.5, 1.5)


def test_hotwords_are_parsed_and_normalised() -> None:
    assert parse_hotwords("Մայր, ՀԱՅԱՍՏԱՆ;\nմայր,, ") == ("մայր", "հայաստան")
    assert parse_hotwords(None) == ()
    assert parse_hotwords(["Երևան"]) == ("երևան",)


@pytest.mark.parametrize(
    "changes",
    [{"alpha": -1.0}, {"beam_width": 0}, {"beam_width": 10_000}, {"hotword_weight": -2.0}],
)
def test_out_of_range_settings_are_refused(changes: dict) -> None:
    with pytest.raises(InvalidRequestError):
        LMSettings(**changes)


def test_logits_of_the_wrong_width_are_refused() -> None:
    with pytest.raises(ValueError, match="columns"):
        GreedyDecoder(Vocabulary.default()).decode(Logits(np.zeros((3, 40), np.float32), STEP))


def test_runs_of_one_lone_token_keep_their_first_frame() -> None:
    frames = logits(
        "բ", "բ", "բ", BLANK, BLANK, BLANK,  # runs of a letter and of the blank alone
        {BLANK: 0.6, "ա": 0.4},  # blank wins but "ա" is within token_min_logp: searched
        BLANK, BLANK, "ա", BLANK,
    )  # fmt: skip
    scores = Vocabulary.default().log_probs(frames)
    kept = frames_to_search(scores, token_min_logp=-5.0)
    assert kept.tolist() == [0, 3, 6, 7, 9, 10]
    # a word whose last letter is frame 0 ends where that letter's run ends, at frame 3
    assert word_end_frames(kept, len(scores)).tolist() == [3, 6, 7, 9, 10, 11]
    # with a threshold that lets every token through, nothing is skipped
    assert frames_to_search(scores, token_min_logp=-100.0).tolist() == list(range(11))
    assert frames_to_search(scores[:0], -5.0).tolist() == []


def test_skipping_repeated_frames_changes_no_transcript_and_no_word_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The demo model on the committed held-out clips, with three LM settings: the search
    over fewer frames gives exactly what the search over all frames gives."""
    from test_demo_model import EXAMPLES, example_rows

    from hyasr_space.audio import load_audio
    from hyasr_space.transcriber import Transcriber

    settings = replace(Settings(), warm_up=False)
    demo = Transcriber.load("demo", settings=settings)
    clips = [demo.logits(load_audio(EXAMPLES / row["path"], settings)) for row in example_rows()]
    variants = [
        demo.lm.defaults,
        replace(demo.lm.defaults, alpha=0.5, beta=1.5, beam_width=20),
        replace(demo.lm.defaults, hotwords=("հայաստան",)),
    ]
    skipped = [demo.lm.decode(clip, variant) for clip in clips for variant in variants]
    searched = [len(frames_to_search(demo.vocabulary.log_probs(c), -5.0)) for c in clips]
    assert sum(searched) < 0.95 * sum(clip.frames for clip in clips)  # frames did go

    monkeypatch.setattr(lm_module, "frames_to_search", lambda scores, *_: np.arange(len(scores)))
    full = [demo.lm.decode(clip, variant) for clip in clips for variant in variants]
    assert [t.text for t in skipped] == [t.text for t in full]
    assert [t.words for t in skipped] == [t.words for t in full]
    assert all(t.text for t in full)
