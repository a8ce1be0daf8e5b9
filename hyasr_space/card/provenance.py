"""Which figure is which: a card's metrics labelled with split, decoder and source.

A model card mixes figures that are not like for like. The seed model's card is the
example that shaped this module: its greedy WER 0.5141 is the Trainer's evaluation on
Common Voice *validation* (``all_results.json``), while its "WER LM" 0.2756 is
``eval.py`` on *test* (``*_test_eval_results.txt`` and the card's ``model-index``). Read
side by side they suggest the LM halves the error rate, a comparison the data does not
support. So every figure here carries its split, its decoder and where it came from,
and says whether each of those was stated or inferred.

Where the figures come from, in the order they are read and merged:

1. the card's ``model-index`` metadata (``card.data.eval_results``);
2. result files in the repo: the Trainer's ``all_results.json`` / ``eval_results.json``
   (``eval_*`` keys: its evaluation split, greedy argmax decoding) and ``test_results.json``
   (``test_*`` keys), and ``eval.py``'s ``{dataset}_{config}_{split}_eval_results.txt``
   (split stated in the file name; with the LM when the repo ships ``language_model/``);
3. the "results on the evaluation set" list that the Trainer writes into the card text.

The same figure met twice (``eval_wer`` in two JSON files, "Wer: 0.5141" in the text) is
shown once, with every source listed and the best-founded split and decoder kept.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from huggingface_hub import constants
from huggingface_hub.repocard_data import EvalResult

from ..settings import LM_DIR
from .card_text import ParsedCard, parse_card, parse_training_results
from .render import format_value
from .report import (
    DECODER_GREEDY,
    DECODER_LM,
    DECODER_NONE,
    NOT_STATED,
    SPLIT_TEST,
    SPLIT_TRAIN,
    SPLIT_VALIDATION,
    Metric,
    ModelCardReport,
    Snapshot,
    describe_error,
)

README_NAME = constants.REPOCARD_NAME
TRAINER_RESULT_FILES = ("all_results.json", "eval_results.json", "test_results.json")
EVAL_SCRIPT_RESULTS = re.compile(r"^(?P<stem>[^/]+)_eval_results\.txt$")
_SPLIT_WORDS = {
    "validation": SPLIT_VALIDATION,
    "valid": SPLIT_VALIDATION,
    "val": SPLIT_VALIDATION,
    "dev": SPLIT_VALIDATION,
    "test": SPLIT_TEST,
    "train": SPLIT_TRAIN,
}
_GREEDY_MARK = re.compile(r"greedy|(?:no|without|w/o)[ _-]?lm(?![a-z])", re.IGNORECASE)
_LM_MARK = re.compile(r"(?<![a-z])lm(?![a-z])", re.IGNORECASE)
# Trainer bookkeeping keys that are not quality figures.
_TRAINER_SKIP = re.compile(r"runtime|per_second|samples|flos|^epoch$|^step$")
_TEXT_RESULTS_INTRO = re.compile(r"results on the evaluation set", re.IGNORECASE)
_TEXT_RESULT_LINE = re.compile(
    r"^\s*[-*]\s*(?P<name>[^:]+?)\s*:\s*\**\s*(?P<value>[-+0-9.eE]+)\s*\**\s*$"
)
_TXT_RESULT_LINE = re.compile(r"^\s*(?P<name>[A-Za-z][\w +/-]*?)\s*:\s*(?P<value>[-+0-9.eE]+)\s*$")


# How well a split or decoder is known: a merge keeps the better-founded label.
STATED, INFERRED, UNKNOWN = 2, 1, 0


def is_result_file(name: str) -> bool:
    """Whether a repo file holds figures this module reads."""
    return name in TRAINER_RESULT_FILES or EVAL_SCRIPT_RESULTS.match(name) is not None


@dataclass(frozen=True)
class Label:
    """A figure's split or decoder, with how it is known (`basis`) and how firmly."""

    value: str
    basis: str
    strength: int = UNKNOWN

    def better(self, other: Label) -> Label:
        """The better-founded of two labels for one figure (self when equal)."""
        return other if other.strength > self.strength else self


def trainer_decoder(kind: str, named: str | None, where: str) -> Label:
    """The decoder of a figure the Trainer wrote (its result JSON or its card template):
    none for a loss; the one the figure's name says; else greedy, as the Trainer scores
    the argmax of the logits."""
    if kind == "loss":
        return Label(DECODER_NONE, "n/a for a loss", STATED)
    if named:
        return Label(named, f"from the {where}", STATED)
    return Label(DECODER_GREEDY, "inferred: the Trainer scores greedy (argmax) output", INFERRED)


@dataclass
class _Figure:
    """A metric while sources are being merged."""

    name: str
    kind: str  # "WER", "CER", "loss" or the metric's own name
    value: float | str
    decimals: int | None
    split: Label
    decoder: Label
    dataset: str
    task: str
    sources: list[str]
    origin: str  # "model-index", "trainer", "eval-script", "card-text"
    extra: list[str] = field(default_factory=list)

    def to_metric(self) -> Metric:
        notes = [f"split {self.split.basis}", f"decoder {self.decoder.basis}", *self.extra]
        return Metric(
            name=self.name,
            value=self.value,
            split=self.split.value,
            decoder=self.decoder.value,
            dataset=self.dataset,
            source_file=", ".join(self.sources),
            note="; ".join(note for note in notes if note.strip()),
            task=self.task,
        )


def _kind(*names: str | None) -> str:
    text = " ".join(name for name in names if name).lower()
    for kind in ("wer", "cer"):
        if re.search(rf"(?<![a-z]){kind}(?![a-z])", text):
            return kind.upper()
    if "loss" in text:
        return "loss"
    return (names[0] or names[-1] or "metric").strip()


def _decoder_from_name(name: str) -> str | None:
    if _GREEDY_MARK.search(name):
        return DECODER_GREEDY
    if _LM_MARK.search(name):
        return DECODER_LM
    return None


def _split_from_words(text: str) -> str | None:
    for word in re.split(r"[^a-z]+", text.lower()):
        if word in _SPLIT_WORDS:
            return _SPLIT_WORDS[word]
    return None


def _number(raw: Any) -> tuple[float | str, int | None]:
    """A value and its number of decimals (None when full float precision)."""
    if isinstance(raw, bool):
        return str(raw), None
    if isinstance(raw, int | float):
        return float(raw), None
    text = str(raw).strip()
    try:
        value = float(text)
    except ValueError:
        return text, None
    if not math.isfinite(value):
        return text, None
    decimals = len(text.split(".", 1)[1]) if "." in text and "e" not in text.lower() else None
    return value, decimals


def _same_value(a: _Figure, b: _Figure) -> bool:
    if not isinstance(a.value, float) or not isinstance(b.value, float):
        return a.value == b.value
    known = [d for d in (a.decimals, b.decimals) if d is not None]
    tolerance = 0.5 * 10.0 ** -min(known) if known else 1e-9
    return abs(a.value - b.value) <= tolerance + 1e-12


def _compatible(mine: str, theirs: str) -> bool:
    return mine == theirs or NOT_STATED in (mine, theirs)


def _merge(figures: Iterable[_Figure]) -> list[_Figure]:
    """Fold figures that are the same number from several sources into one."""
    merged: list[_Figure] = []
    for figure in figures:
        for kept in merged:
            if (
                kept.kind == figure.kind
                and _compatible(kept.split.value, figure.split.value)
                and _compatible(kept.decoder.value, figure.decoder.value)
                and _same_value(kept, figure)
            ):
                kept.sources.extend(s for s in figure.sources if s not in kept.sources)
                kept.split = kept.split.better(figure.split)
                kept.decoder = kept.decoder.better(figure.decoder)
                if not kept.dataset:
                    kept.dataset = figure.dataset
                kept.extra.extend(e for e in figure.extra if e not in kept.extra)
                if kept.decimals is not None and figure.decimals is None:
                    kept.value, kept.decimals = figure.value, None  # keep the precise one
                break
        else:
            merged.append(figure)
    return merged


def _model_index_figures(results: Sequence[EvalResult]) -> list[_Figure]:
    figures = []
    for result in results:
        name = str(result.metric_name or result.metric_type)
        value, decimals = _number(result.metric_value)
        split = Label(NOT_STATED, "not stated in model-index")
        if result.dataset_split:
            stated = str(result.dataset_split)
            split = Label(
                _SPLIT_WORDS.get(stated.lower(), stated),
                "stated in model-index (dataset.split)",
                STATED,
            )
        elif named := _split_from_words(name):
            split = Label(named, "stated in the metric name", STATED)
        decoder = _decoder_from_name(name)
        kind = _kind(str(result.metric_type), name)
        config = result.dataset_config or (
            result.dataset_args if isinstance(result.dataset_args, str) else None
        )
        figures.append(
            _Figure(
                name=name,
                kind=kind,
                value=value,
                decimals=decimals,
                split=split,
                decoder=Label(decoder, "from the metric name", STATED)
                if decoder
                else Label(DECODER_NONE if kind == "loss" else NOT_STATED, "not stated"),
                dataset=" ".join(p for p in (str(result.dataset_type), config) if p),
                task=str(result.task_name or result.task_type),
                sources=["README.md (model-index)"],
                origin="model-index",
            )
        )
    return figures


def _trainer_figures(name: str, text: str, dataset: str, problems: list[str]) -> list[_Figure]:
    """``all_results.json``-style files: ``eval_*`` and ``test_*`` keys of the Trainer."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except ValueError as error:
        problems.append(f"{name} is not readable JSON ({describe_error(error)}): skipped.")
        return []
    figures = []
    for key, raw in data.items():
        prefix, _, metric = str(key).partition("_")
        if prefix not in ("eval", "test") or not metric or _TRAINER_SKIP.search(metric):
            continue
        value, decimals = _number(raw)
        if prefix == "eval":
            split = Label(
                SPLIT_VALIDATION,
                "inferred: the Trainer's evaluation split ('eval_' key), validation",
                INFERRED,
            )
        else:
            split = Label(SPLIT_TEST, "inferred from the 'test_' key", INFERRED)
        kind = _kind(metric)
        samples = data.get(f"{prefix}_samples")
        figures.append(
            _Figure(
                name=str(key),
                kind=kind,
                value=value,
                decimals=decimals,
                split=split,
                decoder=trainer_decoder(kind, _decoder_from_name(metric), "key name"),
                dataset=dataset,
                task="",
                sources=[name],
                origin="trainer",
                extra=[
                    *([f"{samples} clips"] if isinstance(samples, int) else []),
                    *(["dataset from the card metadata"] if dataset else []),
                ],
            )
        )
    return figures


def _eval_script_figures(
    name: str, text: str, has_lm: bool, dataset_ids: Sequence[str]
) -> list[_Figure]:
    """``{dataset}_{config}_{split}_eval_results.txt`` written by the event's eval.py."""
    stem = EVAL_SCRIPT_RESULTS.match(name)
    assert stem is not None
    head, _, last = stem.group("stem").rpartition("_")
    split = _SPLIT_WORDS.get(last.lower())
    dataset = head if split else stem.group("stem")
    for dataset_id in dataset_ids:  # "mozilla-foundation_common_voice_8_0_hy-AM" -> id + config
        flat = dataset_id.replace("/", "_")
        if dataset.startswith(flat):
            dataset = f"{dataset_id} {dataset[len(flat) :].strip('_')}".strip()
            break
    if has_lm:
        decoder_basis = "inferred: the repo ships language_model/, which eval.py's pipeline uses"
    else:
        decoder_basis = "inferred: the repo has no language_model/"
    figures = []
    for line in text.splitlines():
        match = _TXT_RESULT_LINE.match(line)
        if not match:
            continue
        metric = match.group("name")
        value, decimals = _number(match.group("value"))
        named = _decoder_from_name(metric)
        figures.append(
            _Figure(
                name=metric,
                kind=_kind(metric),
                value=value,
                decimals=decimals,
                split=Label(split, f"from the file name {name}", STATED)
                if split
                else Label(NOT_STATED, "not in the file name"),
                decoder=Label(named, "from the metric name", STATED)
                if named
                else Label(DECODER_LM if has_lm else DECODER_GREEDY, decoder_basis, INFERRED),
                dataset=dataset,
                task="",
                sources=[name],
                origin="eval-script",
            )
        )
    return figures


def _card_text_figures(body: str, dataset: str) -> list[_Figure]:
    """The Trainer's "results on the evaluation set" list in the card prose."""
    lines = body.splitlines()
    start = next((i for i, line in enumerate(lines) if _TEXT_RESULTS_INTRO.search(line)), None)
    if start is None:
        return []
    figures = []
    for line in lines[start + 1 :]:
        match = _TEXT_RESULT_LINE.match(line)
        if not match:
            if line.strip():
                break
            continue
        metric = match.group("name").strip()
        value, decimals = _number(match.group("value"))
        kind = _kind(metric)
        named = _decoder_from_name(metric)
        if named == DECODER_LM:
            # The Trainer never writes LM figures: this line was added by hand, so the
            # template's "evaluation set" says nothing about its split.
            split = Label(NOT_STATED, "not stated (hand-added line)")
        else:
            split = Label(
                SPLIT_VALIDATION,
                "inferred: the Trainer's evaluation set, as the card text says",
                INFERRED,
            )
        figures.append(
            _Figure(
                name=metric,
                kind=kind,
                value=value,
                decimals=decimals,
                split=split,
                decoder=trainer_decoder(kind, named, "metric name"),
                dataset=dataset,
                task="",
                sources=["README.md (card text)"],
                origin="card-text",
                extra=["dataset from the card metadata"] if dataset else [],
            )
        )
    return figures


def _comparability_warnings(metrics: Sequence[Metric]) -> list[str]:
    warnings = []
    for kind in ("WER", "CER"):
        of_kind = [m for m in metrics if _kind(m.name) == kind]
        splits = {m.split for m in of_kind if m.split != NOT_STATED}
        if len(splits) > 1:
            listed = "; ".join(
                f"{format_value(m.value)} = {m.name}, {m.decoder} decoding on {m.split}"
                for m in sorted(of_kind, key=lambda m: m.split)
                if m.split != NOT_STATED
            )
            warnings.append(
                f"Not a like-for-like comparison: the {kind} figures are on different splits "
                f"({listed}). The difference mixes the decoder's effect with the split's; "
                "compare figures only within one split."
            )
        for metric in of_kind:
            if metric.split == NOT_STATED:
                warnings.append(
                    f"The split of {metric.name} = {format_value(metric.value)} is not stated: "
                    "do not compare it with the other figures."
                )
    return warnings


def build_report(
    snapshot: Snapshot, source: str, extra_warnings: Sequence[str] = ()
) -> ModelCardReport:
    """Parse a snapshot's card and result files into a labelled, merged report."""
    warnings: list[str] = list(extra_warnings)
    problems: list[str] = list(snapshot.problems)
    if snapshot.readme is None:
        parsed = ParsedCard("", [], False, [], [], [f"No {README_NAME}: there is no card."])
    else:
        parsed = parse_card(snapshot.readme)
    warnings.extend(parsed.warnings)
    dataset = parsed.datasets[0] if len(parsed.datasets) == 1 else ""
    has_lm = any(name.startswith(f"{LM_DIR}/") for name in snapshot.files)

    figures = _model_index_figures(parsed.eval_results)
    result_names = sorted(snapshot.result_files)
    for name in result_names:
        if name in TRAINER_RESULT_FILES:
            figures += _trainer_figures(name, snapshot.result_files[name], dataset, problems)
    for name in result_names:
        if EVAL_SCRIPT_RESULTS.match(name):
            figures += _eval_script_figures(
                name, snapshot.result_files[name], has_lm, parsed.datasets
            )
    figures += _card_text_figures(parsed.body, dataset)
    merged = _merge(figures)
    if "robust-speech-event" in parsed.tags:
        for figure in merged:
            if figure.origin == "model-index" and figure.split.value == NOT_STATED:
                figure.split = Label(
                    SPLIT_TEST,
                    "inferred: Robust Speech Event cards report eval.py on the test split",
                    INFERRED,
                )
    metrics = tuple(figure.to_metric() for figure in merged)

    if snapshot.readme is not None and not parsed.has_model_index:
        warnings.append(
            "The card has no model-index metadata: no machine-readable results; the figures "
            "below come from result files and the card text."
        )
    if not snapshot.result_files:
        warnings.append(
            "No result files in the repo (all_results.json, eval_results.json, "
            "*_eval_results.txt): the figures are the card's own."
        )
    warnings.extend(_comparability_warnings(metrics))
    curve, curve_problems = parse_training_results(parsed.body)
    warnings.extend(problems + curve_problems)
    return ModelCardReport(
        model_ref=snapshot.model_ref,
        source=source,
        fetched_at=snapshot.fetched_at,
        card_markdown=parsed.body,
        metrics=metrics,
        training_curve=tuple(curve),
        warnings=tuple(warnings),
        commit=snapshot.commit,
        revision=snapshot.revision,
        files=snapshot.files,
        checked_at=snapshot.checked_at,
    )
