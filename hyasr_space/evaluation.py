"""Accuracy and speed on a labelled data set, measured the way the model card measures them.

    hyasr eval --model demo --data build/speech/heldout-test --decoder both --format json

(the command is cli/evaluate.py; this module reads data sets and scores them).

A data set is a Common Voice style TSV with ``path`` and ``sentence`` columns; the audio
paths are relative to the TSV or, as in a Common Voice release, to its ``clips/`` folder.
`load_dataset` accepts the TSV itself or a folder holding ``metadata.tsv``, ``test.tsv``
or ``dev.tsv``.

Scores follow the card's ``eval.py``: corpus-level WER and CER from jiwer (errors summed
over all utterances, divided by the reference length), with references and hypotheses
both passed through `text.normalize_for_scoring` (the training normalisation, with
"և" and "եւ" as one, so every model is scored alike; `text.error_rates` does both).
Each clip runs through the acoustic model once; every decoder asked for reads the same
logits, so "both" costs one forward pass per clip. The
transcriber's logits cache is bypassed, so a clip heard before is still timed.

Speed is a real-time factor, processing seconds per audio second, split into the acoustic
forward pass (shared by the decoders) and each decoder's own time; reading and resampling
the files is reported apart. One second of silence runs through the model first, so lazy
initialisation is not charged to the first clip. Clips are read without the app's upload
limits (a test set is trusted input), but with the app's chunking and decoding settings.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .audio import load_audio
from .errors import DatasetError
from .lm import LMSettings
from .settings import BOTH, LM, Settings
from .text import error_rates
from .transcriber import Transcriber

# Folder layouts load_dataset understands, in the order it looks for them.
DEFAULT_SPLITS = ("metadata", "test", "dev")
CLIPS_DIR = "clips"  # Common Voice keeps the audio in clips/ beside the TSVs
PATH_COLUMNS = ("path", "file", "audio")
SENTENCE_COLUMNS = ("sentence", "text", "transcription")
# Evaluation reads trusted files: lift the app's upload limits (one hour, 1 GB).
EVAL_MAX_DURATION_S = 3600.0
EVAL_MAX_FILE_SIZE_MB = 1024.0
HYPOTHESIS_SUFFIXES = (".jsonl", ".json")  # anything else is written as TSV

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Utterance:
    """One labelled clip: its audio file, its reference text, and its name in the TSV."""

    audio: Path
    sentence: str
    name: str


def find_tsv(path: Path, splits: Sequence[str] = DEFAULT_SPLITS) -> Path:
    """The TSV a data set path means: the file itself, or the first ``<split>.tsv`` found.

    A split may be given with or without ``.tsv``. Raises `DatasetError`.
    """
    path = Path(path).expanduser()
    if path.is_file():
        return path
    if not path.is_dir():
        raise DatasetError(f"{path} does not exist.")
    names = [split if split.endswith(".tsv") else f"{split}.tsv" for split in splits]
    for name in names:
        if (path / name).is_file():
            return path / name
    raise DatasetError(f"{path} holds none of {', '.join(names)}.")


def load_dataset(
    path: str | Path,
    splits: Sequence[str] = DEFAULT_SPLITS,
    limit: int | None = None,
) -> list[Utterance]:
    """Read a Common Voice style data set (see the module docstring).

    `path` is a TSV or a folder; `splits` are the TSV names tried in a folder; `limit`
    keeps the first utterances only. Every audio file is checked to exist before
    anything runs. Raises `DatasetError`.
    """
    tsv = find_tsv(Path(path), splits)
    # QUOTE_NONE: Common Voice sentences hold unbalanced quotes that csv would swallow.
    with tsv.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    columns = rows[0].keys() if rows else []
    path_column = next((name for name in PATH_COLUMNS if name in columns), None)
    sentence_column = next((name for name in SENTENCE_COLUMNS if name in columns), None)
    if not rows:
        raise DatasetError(f"{tsv} has no utterances.")
    if path_column is None or sentence_column is None:
        raise DatasetError(
            f"{tsv} needs a 'path' and a 'sentence' column; it has {', '.join(columns)}."
        )
    rows = rows[:limit] if limit is not None else rows
    utterances, missing = [], []
    for row in rows:
        name = (row[path_column] or "").strip()
        audio = find_audio(tsv.parent, name)
        if audio is None:
            missing.append(name)
            continue
        utterances.append(Utterance(audio, row[sentence_column] or "", name))
    if missing:
        raise DatasetError(
            f"{len(missing)} audio file(s) of {tsv} not found beside it or in "
            f"{CLIPS_DIR}/, e.g. {missing[0]!r}."
        )
    return utterances


def find_audio(folder: Path, name: str) -> Path | None:
    """A manifest's audio file `name`, beside the manifest or in its clips/ folder (as a
    Common Voice release lays them out); None when it is in neither."""
    if not name:
        return None
    for candidate in (folder / name, folder / CLIPS_DIR / name):
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class DecoderResult:
    """Scores and speed of one decoder over a data set."""

    decoder: str
    wer: float
    cer: float
    utterances: int
    decode_seconds: float
    rtf: float  # (acoustic forward + this decoder) seconds per audio second
    decode_rtf: float
    description: str
    lm_settings: LMSettings | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "wer": self.wer,
            "cer": self.cer,
            "utterances": self.utterances,
            "rtf": self.rtf,
            "decode_rtf": self.decode_rtf,
            "decode_seconds": self.decode_seconds,
            "description": self.description,
        }
        if self.lm_settings is not None:
            data["lm"] = lm_settings_dict(self.lm_settings)
        return data


@dataclass(frozen=True)
class UtteranceResult:
    """What each decoder made of one utterance."""

    name: str
    sentence: str
    duration: float
    hypotheses: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.name,
            "sentence": self.sentence,
            "duration": round(self.duration, 3),
            **self.hypotheses,
        }


@dataclass(frozen=True)
class EvalReport:
    """The outcome of `evaluate`: per-decoder results and per-utterance hypotheses."""

    model: str
    device: str
    dtype: str
    data: str
    utterances: int
    audio_seconds: float
    load_seconds: float
    forward_seconds: float
    results: tuple[DecoderResult, ...]
    items: tuple[UtteranceResult, ...] = field(repr=False)
    lm_order: int | None = None
    lm_file: str | None = None
    notices: tuple[str, ...] = ()

    @property
    def forward_rtf(self) -> float:
        return self.forward_seconds / self.audio_seconds if self.audio_seconds else 0.0

    def result(self, decoder: str) -> DecoderResult:
        """The result of one decoder ("greedy" or "lm"); KeyError when it did not run."""
        for result in self.results:
            if result.decoder == decoder:
                return result
        raise KeyError(decoder)

    def to_dict(self, utterances: bool = False) -> dict[str, Any]:
        """Everything a results table needs; per-utterance hypotheses when asked for."""
        lm = next((r.lm_settings for r in self.results if r.lm_settings is not None), None)
        data: dict[str, Any] = {
            "model": self.model,
            "device": self.device,
            "dtype": self.dtype,
            "data": self.data,
            "utterances": self.utterances,
            "audio_seconds": round(self.audio_seconds, 3),
            "load_seconds": self.load_seconds,
            "forward_seconds": self.forward_seconds,
            "forward_rtf": self.forward_rtf,
            "decoders": {result.decoder: result.to_dict() for result in self.results},
            "lm": None
            if lm is None
            else {**lm_settings_dict(lm), "order": self.lm_order, "file": self.lm_file},
            "notices": list(self.notices),
        }
        if utterances:
            data["items"] = [item.to_dict() for item in self.items]
        return data


def lm_settings_dict(settings: LMSettings) -> dict[str, Any]:
    """The beam search settings that change scores, as plain JSON values."""
    return {
        "alpha": settings.alpha,
        "beta": settings.beta,
        "beam_width": settings.beam_width,
        "beam_prune_logp": settings.beam_prune_logp,
        "token_min_logp": settings.token_min_logp,
        "unk_score_offset": settings.unk_score_offset,
        "score_boundary": settings.score_boundary,
    }


def evaluate(
    transcriber: Transcriber,
    dataset: Sequence[Utterance],
    decoder: str = BOTH,
    lm_settings: LMSettings | None = None,
    *,
    data_name: str = "",
    warm_up: bool = True,
    progress: ProgressCallback | None = None,
) -> EvalReport:
    """Transcribe every utterance once per decoder from one forward pass, and score it.

    `decoder` is "greedy", "lm" or "both" ("both" is greedy alone for a model without a
    language model); `lm_settings` overrides the checkpoint's beam search settings.
    Raises `ValueError` for an empty data set or for "lm" on a model without a language
    model (a score must name the decoder that made it), and the `AudioError`s of
    `load_audio` for an unreadable clip.
    """
    if not dataset:
        raise DatasetError("the data set has no utterances.")
    decoders, _ = transcriber.decoders(decoder, strict=True)
    names = [d.name for d in decoders]
    lm = transcriber.lm
    settings = lm_settings or transcriber.lm_defaults
    audio_settings = evaluation_settings(transcriber.settings)
    if warm_up:
        transcriber.warm_up()
    hypotheses: dict[str, list[str]] = {name: [] for name in names}
    decode_seconds = dict.fromkeys(names, 0.0)
    items = []
    audio_seconds = load_seconds = forward_seconds = 0.0
    for index, utterance in enumerate(dataset):
        started = time.perf_counter()
        clip = load_audio(utterance.audio, audio_settings)
        loaded = time.perf_counter()
        logits = transcriber.model.logits(clip)  # not the cache: every forward is timed
        forward_seconds += time.perf_counter() - loaded
        load_seconds += loaded - started
        audio_seconds += clip.duration
        texts = {}
        for each in decoders:
            started = time.perf_counter()
            texts[each.name] = each.decode(logits, settings).text
            decode_seconds[each.name] += time.perf_counter() - started
            hypotheses[each.name].append(texts[each.name])
        items.append(UtteranceResult(utterance.name, utterance.sentence, clip.duration, texts))
        if progress is not None:
            progress(index + 1, len(dataset))
    references = [utterance.sentence for utterance in dataset]
    results = []
    for each in decoders:
        name = each.name
        rates = error_rates(references, hypotheses[name])
        results.append(
            DecoderResult(
                decoder=name,
                wer=rates.wer,
                cer=rates.cer,
                utterances=rates.utterances,
                decode_seconds=decode_seconds[name],
                rtf=(forward_seconds + decode_seconds[name]) / audio_seconds,
                decode_rtf=decode_seconds[name] / audio_seconds,
                description=each.describe(settings),
                lm_settings=settings if name == LM else None,
            )
        )
    return EvalReport(
        model=transcriber.model_name,
        device=transcriber.model.device,
        dtype=transcriber.model.dtype,
        data=data_name,
        utterances=len(dataset),
        audio_seconds=audio_seconds,
        load_seconds=load_seconds,
        forward_seconds=forward_seconds,
        results=tuple(results),
        items=tuple(items),
        lm_order=lm.order if lm else None,
        lm_file=lm.kenlm_path.name if lm else None,
        notices=transcriber.notices,
    )


def evaluation_settings(settings: Settings) -> Settings:
    """The app's settings with its upload limits lifted, for reading a trusted test set."""
    return replace(
        settings,
        max_duration_s=max(settings.max_duration_s, EVAL_MAX_DURATION_S),
        max_file_size_mb=max(settings.max_file_size_mb, EVAL_MAX_FILE_SIZE_MB),
    )


def format_report_text(report: EvalReport) -> str:
    """A short table for the terminal: WER, CER and real-time factors per decoder."""
    lines = [
        f"model:  {report.model} ({report.device}, {report.dtype})",
        f"data:   {report.data or '-'}: {report.utterances} utterances, "
        f"{report.audio_seconds:.1f} s of audio",
        "",
        f"{'decoder':<8} {'WER':>8} {'CER':>8} {'RTF':>8}   (forward + decode)",
    ]
    for result in report.results:
        lines.append(
            f"{result.decoder:<8} {result.wer:>8.2%} {result.cer:>8.2%} {result.rtf:>8.4f}"
            f"   ({report.forward_rtf:.4f} + {result.decode_rtf:.4f})"
        )
    for result in report.results:
        if result.lm_settings is not None:
            lines += ["", f"lm:     {result.description}"]
    lines.append(f"time:   {report.load_seconds:.2f} s reading audio (not in the RTF)")
    lines += [f"note:   {notice}" for notice in report.notices]
    return "\n".join(lines)


def format_report_markdown(report: EvalReport) -> str:
    """A markdown table (`--format markdown`): one row per decoder."""
    lines = [
        "| decoder | WER | CER | utterances | RTF |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for result in report.results:
        name = result.description if result.lm_settings else result.decoder
        lines.append(
            f"| {name} | {result.wer:.2%} | {result.cer:.2%} | {result.utterances} "
            f"| {result.rtf:.3f} |"
        )
    return "\n".join(lines)


def format_comparison_text(reports: Sequence[EvalReport], markdown: bool = False) -> str:
    """Several models' reports on one data set as one table: a row per model and decoder,
    every hypothesis and reference scored with the same normalisation."""
    rows = [
        (report.model, result.decoder, result.wer, result.cer, result.rtf, report.dtype)
        for report in reports
        for result in report.results
    ]
    if markdown:
        lines = ["| model | decoder | WER | CER | RTF |", "| --- | --- | ---: | ---: | ---: |"]
        lines += [f"| {m} | {d} | {w:.2%} | {c:.2%} | {r:.3f} |" for m, d, w, c, r, _ in rows]
        return "\n".join(lines)
    width = max(len(row[0]) for row in rows)
    first = reports[0]
    lines = [
        f"data:   {first.data or '-'}: {first.utterances} utterances, "
        f"{first.audio_seconds:.1f} s of audio (normalised alike: text.normalize_for_scoring)",
        "",
        f"{'model':<{width}}  {'decoder':<8} {'WER':>8} {'CER':>8} {'RTF':>8}  precision",
    ]
    lines += [
        f"{m:<{width}}  {d:<8} {w:>8.2%} {c:>8.2%} {r:>8.4f}  {dtype}"
        for m, d, w, c, r, dtype in rows
    ]
    lines += [f"note:   {r.model}: {notice}" for r in reports for notice in r.notices]
    return "\n".join(lines)


def write_hypotheses(report: EvalReport, path: Path) -> Path:
    """Per-utterance hypotheses: JSON lines for ``.jsonl``/``.json``, else a TSV with
    ``path``, ``sentence`` and one column per decoder (tabs and newlines become spaces)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    decoders = [result.decoder for result in report.results]
    with path.open("w", encoding="utf-8", newline="") as handle:
        if path.suffix in HYPOTHESIS_SUFFIXES:
            for item in report.items:
                handle.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
        else:  # unquoted, as Common Voice writes its TSVs and load_dataset reads them
            handle.write("\t".join(["path", "sentence", "duration", *decoders]) + "\n")
            for item in report.items:
                row = [item.name, item.sentence, f"{item.duration:.3f}"]
                row += [item.hypotheses[name] for name in decoders]
                handle.write("\t".join(" ".join(cell.split()) for cell in row) + "\n")
    return path
