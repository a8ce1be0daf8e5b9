"""`hyasr eval` and `hyasr tune-lm` on a tiny generated data set, and their parts.

The data set is tone speech (see tone_model.py) that the tiny model reads exactly, with
references chosen so the error counts are known by hand.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile
from tone_model import RATE, tone_speech

from hyasr_space.cli import main
from hyasr_space.errors import DatasetError
from hyasr_space.evaluation import (
    evaluate,
    format_report_markdown,
    format_report_text,
    load_dataset,
)
from hyasr_space.lm import LMDecoder, LMSettings
from hyasr_space.lm_tuning import TuneOptions, parse_grid, tune_lm
from hyasr_space.results import Logits
from hyasr_space.text import PAD_TOKEN, VOCAB, WORD_DELIMITER, error_rates
from hyasr_space.transcriber import Transcriber
from hyasr_space.vocabulary import Vocabulary

# (what is spoken, its gain, the reference). Gains differ so that no two clips are the
# same audio (the transcriber caches logits by content); the feature extractor
# normalises the level away.
UTTERANCES = [
    ("բարև ձեզ", 0.5, "«Բարև», ձեզ։"),  # exact after normalisation
    ("բարև ձեզ", 0.4, "բարև ձեր"),  # 1 word substituted; 1 character (զ -> ր)
    ("բարև", 0.5, "Բարև ձեզ:"),  # 1 word deleted; 4 characters (" ձեզ")
]
# 2 word errors in 6 reference words; 5 character errors in 8 + 8 + 8 characters.
EXPECTED_WER = 2 / 6
EXPECTED_CER = 5 / 24


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Common Voice layout: test.tsv with bare file names, the audio in clips/."""
    folder = tmp_path_factory.mktemp("cv")
    (folder / "clips").mkdir()
    lines = ["client_id\tpath\tsentence\tup_votes"]
    for index, (spoken, gain, reference) in enumerate(UTTERANCES):
        name = f"clip-{index}.wav"
        samples = tone_speech(spoken)[0] * gain / 0.5
        soundfile.write(folder / "clips" / name, samples, RATE, subtype="PCM_16")
        lines.append(f"x\t{name}\t{reference}\t2")
    (folder / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def run_cli(command: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`hyasr COMMAND ARGV`; its exit code and stdout (stderr when it failed)."""
    code = main([command, *argv])
    captured = capsys.readouterr()
    return code, captured.out if code == 0 else captured.err


# --- data sets ---------------------------------------------------------------------------


def test_load_dataset_common_voice_layout(dataset_dir: Path) -> None:
    utterances = load_dataset(dataset_dir)
    assert [u.sentence for u in utterances] == [ref for _, _, ref in UTTERANCES]
    assert utterances[0].audio == dataset_dir / "clips" / "clip-0.wav"
    assert utterances[0].name == "clip-0.wav"
    assert load_dataset(dataset_dir / "test.tsv", limit=2) == utterances[:2]


def test_load_dataset_metadata_beside_the_audio(tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    soundfile.write(tmp_path / "clips" / "a.wav", np.zeros(800), RATE)
    # A byte-order mark and unbalanced quotes, as real TSVs have; a dev.tsv that loses.
    (tmp_path / "metadata.tsv").write_text(
        '\ufeffpath\tsentence\nclips/a.wav\t"Բարև, ասաց նա\n', encoding="utf-8"
    )
    (tmp_path / "dev.tsv").write_text("path\tsentence\nclips/a.wav\tուրիշ\n", encoding="utf-8")
    [utterance] = load_dataset(tmp_path)
    assert utterance.sentence == '"Բարև, ասաց նա'
    assert utterance.audio == tmp_path / "clips" / "a.wav"
    assert load_dataset(tmp_path, splits=["dev"])[0].sentence == "ուրիշ"


def test_load_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="holds none of"):
        load_dataset(tmp_path)
    (tmp_path / "test.tsv").write_text("path\tsentence\nmissing.wav\tա\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="1 audio file.*missing.wav"):
        load_dataset(tmp_path)
    (tmp_path / "test.tsv").write_text("file_name\ttranscript\nx.wav\tա\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="'path' and a 'sentence'"):
        load_dataset(tmp_path)


# --- eval --------------------------------------------------------------------------------


def test_evaluate_decodes_each_forward_pass_twice(
    model_dir: Path, dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transcriber = Transcriber.load(str(model_dir))
    forwards = []
    original = transcriber.model.logits
    monkeypatch.setattr(
        transcriber.model, "logits", lambda clip: forwards.append(clip.name) or original(clip)
    )
    report = evaluate(transcriber, load_dataset(dataset_dir), "both", warm_up=False)
    assert forwards == ["clip-0.wav", "clip-1.wav", "clip-2.wav"]  # not once per decoder
    assert [r.decoder for r in report.results] == ["greedy", "lm"]
    references = [ref for _, _, ref in UTTERANCES]
    for result in report.results:
        assert result.wer == pytest.approx(EXPECTED_WER)
        assert result.cer == pytest.approx(EXPECTED_CER)
        hypotheses = [item.hypotheses[result.decoder] for item in report.items]
        assert error_rates(references, hypotheses).wer == result.wer
        assert result.rtf == pytest.approx(
            (report.forward_seconds + result.decode_seconds) / report.audio_seconds
        )
    assert report.audio_seconds == pytest.approx(2.48 * 2 + 1.28, abs=0.01)
    assert "33.33%" in format_report_text(report)
    assert "| greedy | 33.33% | 20.83% | 3 |" in format_report_markdown(report)


def test_eval_command_json_and_hypotheses(
    model_dir: Path, dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hypotheses = tmp_path / "out" / "hyp.tsv"
    argv = ["--model", str(model_dir), "--data", str(dataset_dir), "--format", "json"]
    argv += ["--beam-width", "16", "--hypotheses", str(hypotheses)]
    code, output = run_cli("eval", argv, capsys)
    assert code == 0, output
    report = json.loads(output)
    assert report["utterances"] == 3
    assert report["data"] == str(dataset_dir / "test.tsv")
    assert report["lm"]["alpha"] == 0.5 and report["lm"]["beta"] == 1.5  # attrs.json
    assert report["lm"]["beam_width"] == 16 and report["lm"]["order"] == 2
    # What the written hypotheses score is what was printed.
    rows = [line.split("\t") for line in hypotheses.read_text(encoding="utf-8").splitlines()]
    header, rows = rows[0], rows[1:]
    assert header == ["path", "sentence", "duration", "greedy", "lm"]
    for column, decoder in ((3, "greedy"), (4, "lm")):
        scores = report["decoders"][decoder]
        rates = error_rates([row[1] for row in rows], [row[column] for row in rows])
        assert (scores["wer"], scores["cer"]) == (rates.wer, rates.cer)
        assert scores["wer"] == pytest.approx(EXPECTED_WER)
        assert scores["utterances"] == 3 and scores["rtf"] > 0


def test_eval_command_greedy_text_and_jsonl(
    model_dir: Path, dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hypotheses = tmp_path / "hyp.jsonl"
    argv = ["--model", str(model_dir), "--data", str(dataset_dir / "test.tsv")]
    argv += ["--decoder", "greedy", "--hypotheses", str(hypotheses)]
    code, output = run_cli("eval", argv, capsys)
    assert code == 0, output
    assert "greedy" in output and "33.33%" in output and "20.83%" in output
    items = [json.loads(line) for line in hypotheses.read_text(encoding="utf-8").splitlines()]
    assert [item["greedy"] for item in items] == ["բարև ձեզ", "բարև ձեզ", "բարև"]
    assert all("lm" not in item for item in items)


def test_eval_command_lm_without_language_model(
    model_dir_no_lm: Path, dataset_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--model", str(model_dir_no_lm), "--data", str(dataset_dir), "--decoder", "lm"]
    code, output = run_cli("eval", argv, capsys)
    assert code == 2 and "has no language model" in output


def test_eval_command_unreadable_clip(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.wav").write_bytes(b"RIFF, but not really audio")
    (tmp_path / "test.tsv").write_text("path\tsentence\nbroken.wav\tա\n", encoding="utf-8")
    argv = ["--model", str(model_dir), "--data", str(tmp_path), "--decoder", "greedy"]
    code, output = run_cli("eval", argv, capsys)
    assert code == 1 and "broken.wav" in output


def test_eval_command_reports_a_missing_model(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--model", str(tmp_path / "nowhere"), "--data", str(dataset_dir)]
    code, output = run_cli("eval", argv, capsys)
    assert code == 2 and output.startswith("hyasr: ")


# --- tune-lm -----------------------------------------------------------------------------


def peaky_logits(spoken: list[str | dict[str, float]], frames: int = 2) -> Logits:
    """Logits that say each item for `frames` frames, blanks between; a dict item is an
    ambiguous letter with its probabilities."""

    def row(probs: dict[str, float]) -> np.ndarray:
        values = np.full(len(VOCAB), 1e-6)
        for token, prob in probs.items():
            values[VOCAB[token]] = prob
        return np.log(values / values.sum())

    rows = [row({PAD_TOKEN: 1.0})]
    for item in spoken:
        probs = item if isinstance(item, dict) else {item: 1.0}
        if item == " ":
            probs = {WORD_DELIMITER: 1.0}
        rows += [row(probs)] * frames + [row({PAD_TOKEN: 1.0})]
    return Logits(np.array(rows, dtype=np.float32), 0.02)


def test_tune_lm_finds_the_weight_between_too_little_and_too_much(model_dir: Path) -> None:
    decoder = LMDecoder.from_dir(model_dir, Vocabulary.from_dir(model_dir, size=len(VOCAB)))
    assert decoder is not None
    # The acoustics lean to the misspelling "բարե" (0.6 : 0.4); any LM weight fixes it.
    lm_helps = peaky_logits(["բ", "ա", "ր", {"ե": 0.6, "և": 0.4}, " ", "ձ", "ե", "զ"])
    # They say "հայր" (0.7 : 0.3), but the LM has only seen "իմ մայր": a heavy LM
    # weight turns the right word into the wrong one.
    lm_hurts = peaky_logits(["ի", "մ", " ", {"հ": 0.7, "մ": 0.3}, "ա", "յ", "ր"])
    references = ["բարև ձեզ", "իմ հայր"]
    logits = [lm_helps, lm_hurts]
    base = LMSettings(alpha=2.0, beta=0.0)
    options = TuneOptions(alphas=(0, 0.5, 1, 2, 4), betas=(0, 1), beam_widths=(4, 32))
    report = tune_lm(decoder, references, logits, options, base)
    wer = {(point.alpha, point.beta): point.wer for point in report.grid}
    assert len(report.grid) == 10
    # alpha 0 keeps "բարե", alpha >= 1 makes "մայր": one word in four wrong either way.
    assert wer[0, 0] == wer[4, 0] == pytest.approx(1 / 4)
    assert report.greedy.wer == pytest.approx(1 / 4)
    assert (report.best.alpha, report.best.beta, report.best.wer) == (0.5, 0, 0.0)
    assert report.current.alpha == 2.0 and report.current.wer == pytest.approx(1 / 4)
    assert all(point.wer >= report.best.wer for point in report.grid)
    assert [point.beam_width for point in report.beams] == [4, 32]
    assert report.recommended_beam_width == 4  # as good as 32 here
    assert report.to_dict()["best"] == {"alpha": 0.5, "beta": 0, "wer": 0.0, "cer": 0.0}
    # Two forked processes find the same grid.
    forked = tune_lm(decoder, references, logits, replace(options, jobs=2), base)
    assert forked.grid == report.grid
    assert decoder.defaults.alpha == 0.5  # the shared decoder was never changed


def test_parse_grid() -> None:
    assert parse_grid("0:2:0.5") == (0, 0.5, 1, 1.5, 2)
    assert parse_grid("-1:4:0.5")[-1] == 4 and len(parse_grid("-1:4:0.5")) == 11
    assert parse_grid("0:1:0.1")[-1] == 1.0
    assert parse_grid("0.3, 1") == (0.3, 1.0)
    for bad in ("2:0:1", "0:1:0", "0:1", ""):
        with pytest.raises(ValueError):
            parse_grid(bad)


def test_tune_command_writes_attrs_and_caches_logits(
    model_dir: Path,
    dataset_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = shutil.copytree(model_dir, tmp_path / "model")
    cache = tmp_path / "logits.npz"
    argv = ["--model", str(model), "--data", str(dataset_dir), "--split", "test"]
    argv += ["--alphas", "0,1", "--betas=-1:1:1", "--search-beam", "16"]
    argv += ["--beam-widths", "4,16", "--logits-cache", str(cache), "--format", "json"]
    code, output = run_cli("tune-lm", argv + ["--write"], capsys)
    assert code == 0, output
    report = json.loads(output)
    assert report["utterances"] == 3 and not report["logits_from_cache"] and cache.is_file()
    assert len(report["grid"]) == 2 * 3 + 1  # and the current (0.5, 1.5)
    best = report["best"]
    assert best["wer"] == min(point["wer"] for point in report["grid"])
    # The clips are read exactly, so the LM cannot beat the greedy errors of the data set.
    assert best["wer"] == pytest.approx(EXPECTED_WER)
    attrs = json.loads((model / "language_model" / "attrs.json").read_text())
    assert (attrs["alpha"], attrs["beta"]) == (best["alpha"], best["beta"])
    assert attrs["unk_score_offset"] == -10.0 and attrs["score_boundary"] is True
    assert report["written"] == str(model / "language_model" / "attrs.json")

    # Again, from the cache, in text; then a different data set does not hit the cache.
    code, output = run_cli("tune-lm", argv[:-2], capsys)
    assert code == 0 and "from the cache" in output and "best:" in output
    code, output = run_cli("tune-lm", argv + ["--limit", "2"], capsys)
    assert code == 0 and not json.loads(output)["logits_from_cache"]


def test_tune_command_needs_a_language_model(
    model_dir_no_lm: Path, dataset_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--model", str(model_dir_no_lm), "--data", str(dataset_dir / "test.tsv")]
    code, output = run_cli("tune-lm", argv, capsys)
    assert code == 2 and "no language model to tune" in output
