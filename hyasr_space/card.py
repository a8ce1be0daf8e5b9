"""The model card and its metrics, fetched from the Hub and shown honestly.

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

Fetching and caching. ``ModelCard.load(repo_id)`` takes no revision, endpoint or timeout
and, offline, retries for about 23 s before failing, so the card is fetched in pieces:
``HfApi.model_info`` (one request with a short timeout and no retry; it doubles as the
connectivity check and lists the repo's files), then ``hf_hub_download`` of README.md and
the result files at that exact commit, then ``ModelCard`` parses the text. What was
fetched is kept raw (card text, result files, file list) in memory and as JSON on disk,
and re-parsed on every load, so a fix to the parsing applies to old caches too.

Revalidation: the viewer promises the metrics *from the Hub*, so a cached copy is only
trusted while it is known to be the Hub's current commit. A process asks the Hub again
once the copy it holds was last confirmed more than ``Settings.card_max_age_s`` ago
(``HYASR_CARD_MAX_AGE_S``, default 5 minutes: a busy Space asks at most that often per
card, not on every page view); a new process (``hyasr card``, a restarted app) always
asks. Asking is one ``model_info`` request; the files are downloaded again only when its
commit differs from the cached one. ``refresh=True`` asks at once, whatever the age. Every
report says which commit it shows, when it was fetched and when the Hub last confirmed
it. Offline (``huggingface_hub.constants.HF_HUB_OFFLINE``, read at call time because the
library reads the environment once at import) or when the Hub cannot be reached, the
fallbacks are: the disk cache, then files already in the Hugging Face cache
(``local_files_only``), then an "unavailable" report. A local model directory (the
bundled demo model) never touches the network.

The disk cache lives in ``Settings.cache_dir`` (``HYASR_CACHE_DIR``), beside the int8
models; the Hub timeout below is this module's own.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import yaml
from huggingface_hub import HfApi, ModelCard, constants, hf_hub_download
from huggingface_hub.repocard import REGEX_YAML_BLOCK
from huggingface_hub.repocard_data import EvalResult, model_index_to_eval_results
from huggingface_hub.utils import validate_repo_id

if TYPE_CHECKING:
    import pandas as pd

    from .settings import Settings

__all__ = [
    "Metric",
    "ModelCardReport",
    "TrainingPoint",
    "add_card_arguments",
    "card_command",
    "clear_memory_cache",
    "default_cache_dir",
    "format_text",
    "load_card_report",
    "metrics_table",
    "parse_training_results",
    "run_card_command",
    "to_json",
    "training_curve",
    "training_table",
]

# Long enough for a slow link, short enough that an unreachable Hub does not stall the UI.
HUB_TIMEOUT_S = 5.0
CACHE_DIR_ENV = "HYASR_CACHE_DIR"  # read by Settings.from_env (settings.py)
CARD_CACHE_SUBDIR = "model-cards"
CACHE_FORMAT = 1

README_NAME = constants.REPOCARD_NAME
TRAINER_RESULT_FILES = ("all_results.json", "eval_results.json", "test_results.json")
EVAL_SCRIPT_RESULTS = re.compile(r"^(?P<stem>[^/]+)_eval_results\.txt$")
LM_DIR = "language_model/"

SOURCE_HUB = "hub"
SOURCE_DISK_CACHE = "disk cache"
SOURCE_HF_CACHE = "Hugging Face cache"
SOURCE_BUNDLED = "bundled"
SOURCE_LOCAL_DIR = "local directory"
SOURCE_UNAVAILABLE = "unavailable"

SPLIT_VALIDATION = "validation"
SPLIT_TEST = "test"
SPLIT_TRAIN = "train"
NOT_STATED = "not stated"
DECODER_GREEDY = "greedy"
DECODER_LM = "LM"
DECODER_NONE = "n/a"  # a loss has no decoder

# The bundled demo model lives inside the package; a card read from there is "bundled".
_PACKAGE_DIR = Path(__file__).resolve().parent

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
_STATED, _INFERRED, _UNKNOWN = 2, 1, 0


@dataclass(frozen=True)
class Metric:
    """One figure, labelled with what it measures and how we know.

    ``split`` is "validation", "test", "train" or "not stated"; ``decoder`` is "greedy",
    "LM", "n/a" (a loss) or "not stated"; ``source_file`` names every file the figure was
    found in; ``note`` says which labels were stated and which inferred, and from what.
    """

    name: str
    value: float | str
    split: str
    decoder: str
    dataset: str
    source_file: str
    note: str = ""
    task: str = ""


@dataclass(frozen=True)
class TrainingPoint:
    """One row of the card's "Training results" table (the Trainer's periodic evaluation)."""

    step: int
    epoch: float | None
    training_loss: float | None
    validation_loss: float | None
    wer: float | None
    cer: float | None


@dataclass(frozen=True)
class ModelCardReport:
    """Everything the card viewer shows for one model.

    ``source`` is where this copy came from: "hub", "disk cache", "Hugging Face cache",
    "bundled", "local directory" or "unavailable". ``fetched_at`` is when it was read
    from the Hub or disk (ISO 8601, UTC); ``commit`` the Hub commit it was read at;
    ``checked_at`` when the Hub last said that commit is still its current one.
    """

    model_ref: str
    source: str
    fetched_at: str | None
    card_markdown: str
    metrics: tuple[Metric, ...] = ()
    training_curve: tuple[TrainingPoint, ...] = ()
    warnings: tuple[str, ...] = ()
    commit: str | None = None
    revision: str | None = None
    files: tuple[str, ...] = ()
    checked_at: str | None = None

    @property
    def available(self) -> bool:
        """Whether there is anything to show."""
        return self.source != SOURCE_UNAVAILABLE


# --------------------------------------------------------------------------- raw inputs


@dataclass(frozen=True)
class _Snapshot:
    """What was read from a repo or directory, unparsed: this is what the caches keep."""

    model_ref: str
    revision: str | None
    commit: str | None
    fetched_at: str
    files: tuple[str, ...]
    readme: str | None
    result_files: dict[str, str]
    problems: tuple[str, ...] = ()
    checked_at: str | None = None  # when the Hub last confirmed `commit` as current

    def to_dict(self) -> dict[str, Any]:
        return {"format": CACHE_FORMAT, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _Snapshot:
        if data.get("format") != CACHE_FORMAT:
            raise ValueError(f"unknown cache format {data.get('format')!r}")
        return cls(
            model_ref=str(data["model_ref"]),
            revision=data.get("revision"),
            commit=data.get("commit"),
            fetched_at=str(data["fetched_at"]),
            files=tuple(data.get("files") or ()),
            readme=data.get("readme"),
            result_files={str(k): str(v) for k, v in (data.get("result_files") or {}).items()},
            problems=tuple(data.get("problems") or ()),
            checked_at=data.get("checked_at"),
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _is_result_file(name: str) -> bool:
    return name in TRAINER_RESULT_FILES or EVAL_SCRIPT_RESULTS.match(name) is not None


def _hub_offline() -> bool:
    # huggingface_hub reads HF_HUB_OFFLINE once at import; read its constant now, and the
    # environment too, so that either way of going offline is honoured.
    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}
    return bool(constants.HF_HUB_OFFLINE) or env


def _model_info(repo_id: str, revision: str | None, endpoint: str | None, timeout: float) -> Any:
    """One GET with a timeout and no retry: fails fast when the Hub is unreachable.

    Its ``sha`` is the repo's current commit, which is all a revalidation needs.
    """
    return HfApi(endpoint=endpoint or constants.ENDPOINT).model_info(
        repo_id, revision=revision, timeout=timeout
    )


def _fetch_from_hub(
    repo_id: str, revision: str | None, endpoint: str | None, timeout: float, info: Any
) -> _Snapshot:
    """Read the card, file list and result files of a Hub repo at the commit of ``info``
    (a ``model_info`` answer). Failures to read one file become problems in the snapshot.
    """
    endpoint = endpoint or constants.ENDPOINT
    api = HfApi(endpoint=endpoint)
    commit = info.sha or revision
    if info.siblings is not None:
        files = tuple(sorted(sibling.rfilename for sibling in info.siblings))
    else:
        files = tuple(sorted(api.list_repo_files(repo_id, revision=commit)))

    problems: list[str] = []

    def download(filename: str) -> str | None:
        try:
            path = hf_hub_download(
                repo_id, filename, revision=commit, endpoint=endpoint, etag_timeout=timeout
            )
            return Path(path).read_text(encoding="utf-8-sig")
        except Exception as error:  # one missing file must not hide the rest
            problems.append(f"could not read {filename} from the Hub: {_describe(error)}")
            return None

    readme = download(README_NAME) if README_NAME in files else None
    results: dict[str, str] = {}
    for name in files:
        if _is_result_file(name) and (text := download(name)) is not None:
            results[name] = text
    now = _now()
    return _Snapshot(
        model_ref=repo_id,
        revision=revision,
        commit=commit,
        fetched_at=now,
        files=files,
        readme=readme,
        result_files=results,
        problems=tuple(problems),
        checked_at=now,
    )


def _snapshot_from_dir(directory: Path, model_ref: str, revision: str | None) -> _Snapshot:
    """Read a model directory on disk: a local model, the bundled demo, a cached snapshot."""
    files = tuple(
        sorted(
            path.relative_to(directory).as_posix()
            for path in directory.rglob("*")
            # skip .git, .cache and the like: not part of the model
            if path.is_file()
            and not any(part.startswith(".") for part in path.relative_to(directory).parts)
        )
    )
    problems: list[str] = []

    def read(name: str) -> str | None:
        try:
            return (directory / name).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            problems.append(f"could not read {name}: {_describe(error)}")
            return None

    readme = read(README_NAME) if README_NAME in files else None
    results = {name: text for name in files if _is_result_file(name) and (text := read(name))}
    return _Snapshot(
        model_ref=model_ref,
        revision=revision,
        commit=None,
        fetched_at=_now(),
        files=files,
        readme=readme,
        result_files=results,
        problems=tuple(problems),
    )


def _snapshot_from_hf_cache(repo_id: str, revision: str | None) -> _Snapshot | None:
    """The card as already downloaded into the Hugging Face cache (by the model loader)."""
    try:
        readme_path = hf_hub_download(
            repo_id, README_NAME, revision=revision, local_files_only=True
        )
    except Exception:  # LocalEntryNotFoundError and friends: nothing cached
        return None
    snapshot_dir = Path(readme_path).parent
    snapshot = _snapshot_from_dir(snapshot_dir, repo_id, revision)
    return dataclasses.replace(snapshot, commit=snapshot_dir.name)


# --------------------------------------------------------------------------- disk cache


def _settings() -> Settings:
    from .settings import Settings

    return Settings.from_env()


def default_cache_dir() -> Path:
    """Where card snapshots are kept: the settings' cache directory (``$HYASR_CACHE_DIR``)."""
    return _settings().cache_dir


def _cache_file(cache_dir: Path, model_ref: str, revision: str | None) -> Path:
    def safe(text: str) -> str:
        return re.sub(r"[^\w.-]+", "--", text)

    return cache_dir / CARD_CACHE_SUBDIR / f"{safe(model_ref)}@{safe(revision or 'default')}.json"


def _read_cache(path: Path) -> _Snapshot | None:
    try:
        return _Snapshot.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or unreadable: as if never cached


def _write_cache(path: Path, snapshot: _Snapshot) -> str | None:
    """Write atomically; return a problem description instead of raising."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(snapshot.to_dict(), ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as error:
        return f"could not write the card cache ({_describe(error)})"
    return None


# --------------------------------------------------------------------------- parsing


@dataclass
class _Figure:
    """A metric while sources are being merged."""

    name: str
    kind: str  # "WER", "CER", "loss" or the metric's own name
    value: float | str
    decimals: int | None
    split: str
    split_basis: str
    split_strength: int
    decoder: str
    decoder_basis: str
    decoder_strength: int
    dataset: str
    task: str
    sources: list[str]
    origin: str  # "model-index", "trainer", "eval-script", "card-text"
    extra: list[str] = field(default_factory=list)

    def to_metric(self) -> Metric:
        notes = [f"split {self.split_basis}", f"decoder {self.decoder_basis}", *self.extra]
        return Metric(
            name=self.name,
            value=self.value,
            split=self.split,
            decoder=self.decoder,
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
                and _compatible(kept.split, figure.split)
                and _compatible(kept.decoder, figure.decoder)
                and _same_value(kept, figure)
            ):
                kept.sources.extend(s for s in figure.sources if s not in kept.sources)
                if figure.split_strength > kept.split_strength:
                    kept.split, kept.split_basis = figure.split, figure.split_basis
                    kept.split_strength = figure.split_strength
                if figure.decoder_strength > kept.decoder_strength:
                    kept.decoder, kept.decoder_basis = figure.decoder, figure.decoder_basis
                    kept.decoder_strength = figure.decoder_strength
                if not kept.dataset:
                    kept.dataset = figure.dataset
                kept.extra.extend(e for e in figure.extra if e not in kept.extra)
                if kept.decimals is not None and figure.decimals is None:
                    kept.value, kept.decimals = figure.value, None  # keep the precise one
                break
        else:
            merged.append(figure)
    return merged


@dataclass
class _ParsedCard:
    body: str
    eval_results: list[EvalResult]
    has_model_index: bool
    tags: list[str]
    datasets: list[str]
    warnings: list[str]


def _front_matter(text: str) -> tuple[str | None, str]:
    match = REGEX_YAML_BLOCK.search(text)
    if match is None:
        return None, text
    return match.group(2), text[match.end() :]


def _parse_card(text: str) -> _ParsedCard:
    """Parse README.md with huggingface_hub, salvaging what a malformed header allows."""
    warnings: list[str] = []
    try:
        card = ModelCard(text)
    except Exception as strict_error:
        try:
            card = ModelCard(text, ignore_metadata_errors=True)
        except Exception as error:  # not YAML, or not a mapping: keep the prose only
            _, body = _front_matter(text)
            return _ParsedCard(
                body=body,
                eval_results=[],
                has_model_index=False,
                tags=[],
                datasets=[],
                warnings=[
                    f"The card's metadata is malformed ({_describe(error)}): showing the card "
                    "text without its metadata, and no model-index results."
                ],
            )
        results, skipped = _salvage_model_index(text)
        warnings.append(
            f"The card's model-index is malformed ({_describe(strict_error)}): "
            f"{len(results)} result(s) read, {skipped} skipped."
        )
        return _ParsedCard(
            body=card.text,
            eval_results=results,
            has_model_index=True,
            tags=_str_list(getattr(card.data, "tags", None)),
            datasets=_str_list(getattr(card.data, "datasets", None)),
            warnings=warnings,
        )
    eval_results = list(card.data.eval_results or [])
    return _ParsedCard(
        body=card.text,
        eval_results=eval_results,
        has_model_index=bool(eval_results),
        tags=_str_list(card.data.tags),
        datasets=_str_list(card.data.datasets),
        warnings=warnings,
    )


def _salvage_model_index(text: str) -> tuple[list[EvalResult], int]:
    """Read model-index results one by one, so one bad entry does not hide the others."""
    raw_yaml, _ = _front_matter(text)
    try:
        index = (yaml.safe_load(raw_yaml or "") or {}).get("model-index")
    except Exception:
        return [], 0
    results: list[EvalResult] = []
    skipped = 0
    for entry in index if isinstance(index, list) else [index]:
        entry_results = entry.get("results") if isinstance(entry, dict) else None
        if not isinstance(entry_results, list):
            skipped += 1
            continue
        for result in entry_results:
            try:
                _, parsed = model_index_to_eval_results(
                    [{"name": entry.get("name"), "results": [result]}]
                )
                results.extend(parsed)
            except Exception:
                skipped += 1
    return results, skipped


def _str_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return [str(value)]


def _model_index_figures(results: Sequence[EvalResult]) -> list[_Figure]:
    figures = []
    for result in results:
        name = str(result.metric_name or result.metric_type)
        value, decimals = _number(result.metric_value)
        split, basis, strength = NOT_STATED, "not stated in model-index", _UNKNOWN
        if result.dataset_split:
            split = _SPLIT_WORDS.get(str(result.dataset_split).lower(), str(result.dataset_split))
            basis, strength = "stated in model-index (dataset.split)", _STATED
        elif named := _split_from_words(name):
            split, basis, strength = named, "stated in the metric name", _STATED
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
                split_basis=basis,
                split_strength=strength,
                decoder=decoder or (DECODER_NONE if kind == "loss" else NOT_STATED),
                decoder_basis="from the metric name" if decoder else "not stated",
                decoder_strength=_STATED if decoder else _UNKNOWN,
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
        problems.append(f"{name} is not readable JSON ({_describe(error)}): skipped.")
        return []
    figures = []
    for key, raw in data.items():
        prefix, _, metric = str(key).partition("_")
        if prefix not in ("eval", "test") or not metric or _TRAINER_SKIP.search(metric):
            continue
        value, decimals = _number(raw)
        if prefix == "eval":
            split = SPLIT_VALIDATION
            split_basis = "inferred: the Trainer's evaluation split ('eval_' key), validation"
        else:
            split, split_basis = SPLIT_TEST, "inferred from the 'test_' key"
        kind = _kind(metric)
        named = _decoder_from_name(metric)
        if kind == "loss":
            decoder, decoder_basis = DECODER_NONE, "n/a for a loss"
        elif named:
            decoder, decoder_basis = named, "from the key name"
        else:
            decoder = DECODER_GREEDY
            decoder_basis = "inferred: the Trainer scores greedy (argmax) output"
        samples = data.get(f"{prefix}_samples")
        figures.append(
            _Figure(
                name=str(key),
                kind=kind,
                value=value,
                decimals=decimals,
                split=split,
                split_basis=split_basis,
                split_strength=_INFERRED,
                decoder=decoder,
                decoder_basis=decoder_basis,
                decoder_strength=_STATED if named or kind == "loss" else _INFERRED,
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
                split=split or NOT_STATED,
                split_basis=f"from the file name {name}" if split else "not in the file name",
                split_strength=_STATED if split else _UNKNOWN,
                decoder=named or (DECODER_LM if has_lm else DECODER_GREEDY),
                decoder_basis="from the metric name" if named else decoder_basis,
                decoder_strength=_STATED if named else _INFERRED,
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
            split, split_basis, split_strength = (
                NOT_STATED,
                "not stated (hand-added line)",
                _UNKNOWN,
            )
        else:
            split, split_strength = SPLIT_VALIDATION, _INFERRED
            split_basis = "inferred: the Trainer's evaluation set, as the card text says"
        if kind == "loss":
            decoder, decoder_basis, strength = DECODER_NONE, "n/a for a loss", _STATED
        elif named:
            decoder, decoder_basis, strength = named, "from the metric name", _STATED
        else:
            decoder, strength = DECODER_GREEDY, _INFERRED
            decoder_basis = "inferred: the Trainer scores greedy (argmax) output"
        figures.append(
            _Figure(
                name=metric,
                kind=kind,
                value=value,
                decimals=decimals,
                split=split,
                split_basis=split_basis,
                split_strength=split_strength,
                decoder=decoder,
                decoder_basis=decoder_basis,
                decoder_strength=strength,
                dataset=dataset,
                task="",
                sources=["README.md (card text)"],
                origin="card-text",
                extra=["dataset from the card metadata"] if dataset else [],
            )
        )
    return figures


_CURVE_COLUMNS = {
    "training loss": "training_loss",
    "epoch": "epoch",
    "step": "step",
    "validation loss": "validation_loss",
    "wer": "wer",
    "cer": "cer",
}


def _table_cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_training_results(body: str) -> tuple[list[TrainingPoint], list[str]]:
    """The Trainer's "Training results" markdown table: one point per evaluation step."""
    lines = body.splitlines()
    problems: list[str] = []
    for index, line in enumerate(lines):
        if not line.lstrip().startswith("|"):
            continue
        header = [cell.lower() for cell in _table_cells(line)]
        if "step" not in header or not ({"wer", "cer", "validation loss"} & set(header)):
            continue
        columns = {
            _CURVE_COLUMNS[name]: i for i, name in enumerate(header) if name in _CURVE_COLUMNS
        }
        points = []
        for row in lines[index + 2 :]:  # skip the |:---:| line
            if not row.lstrip().startswith("|"):
                break
            cells = _table_cells(row)
            values = {key: _cell_float(cells, i) for key, i in columns.items()}
            if values.get("step") is None:
                problems.append(f"training-results row skipped (no step): {row.strip()}")
                continue
            points.append(
                TrainingPoint(
                    step=int(values["step"]),
                    epoch=values.get("epoch"),
                    training_loss=values.get("training_loss"),
                    validation_loss=values.get("validation_loss"),
                    wer=values.get("wer"),
                    cer=values.get("cer"),
                )
            )
        return points, problems
    return [], problems


def _cell_float(cells: Sequence[str], index: int) -> float | None:
    if index >= len(cells):
        return None
    try:
        value = float(cells[index].strip("*"))
    except ValueError:
        return None  # "No log" and friends
    return value if math.isfinite(value) else None


def _comparability_warnings(metrics: Sequence[Metric]) -> list[str]:
    warnings = []
    for kind in ("WER", "CER"):
        of_kind = [m for m in metrics if _kind(m.name) == kind]
        splits = {m.split for m in of_kind if m.split != NOT_STATED}
        if len(splits) > 1:
            listed = "; ".join(
                f"{_format_value(m.value)} = {m.name}, {m.decoder} decoding on {m.split}"
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
                    f"The split of {metric.name} = {_format_value(metric.value)} is not stated: "
                    "do not compare it with the other figures."
                )
    return warnings


def _build_report(
    snapshot: _Snapshot, source: str, extra_warnings: Sequence[str]
) -> ModelCardReport:
    warnings: list[str] = list(extra_warnings)
    problems: list[str] = list(snapshot.problems)
    if snapshot.readme is None:
        parsed = _ParsedCard("", [], False, [], [], [f"No {README_NAME}: there is no card."])
    else:
        parsed = _parse_card(snapshot.readme)
    warnings.extend(parsed.warnings)
    dataset = parsed.datasets[0] if len(parsed.datasets) == 1 else ""
    has_lm = any(name.startswith(LM_DIR) for name in snapshot.files)

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
            if figure.origin == "model-index" and figure.split == NOT_STATED:
                figure.split, figure.split_strength = SPLIT_TEST, _INFERRED
                figure.split_basis = (
                    "inferred: Robust Speech Event cards report eval.py on the test split"
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


# --------------------------------------------------------------------------- loading

# Reports by (repo, revision), with when the Hub was last asked (time.monotonic()): asked
# or not reached, it is not asked again for `max_age_s`.
_memory: dict[tuple[str, str | None], tuple[ModelCardReport, float]] = {}
_memory_lock = threading.Lock()


def clear_memory_cache() -> None:
    """Forget the reports kept in this process (the disk cache stays)."""
    with _memory_lock:
        _memory.clear()


def _local_dir(model_ref: str | Path) -> Path | None:
    path = Path(model_ref).expanduser()
    return path if path.is_dir() else None


def load_card_report(
    model_ref: str | Path,
    revision: str | None = None,
    refresh: bool = False,
    cache_dir: str | Path | None = None,
    *,
    endpoint: str | None = None,
    timeout: float = HUB_TIMEOUT_S,
    max_age_s: float | None = None,
) -> ModelCardReport:
    """The card report for a Hub repo id or a local model directory. Never raises.

    A local directory is read as it is, every time. A repo id is served from this
    process's memory while the Hub confirmed its commit less than ``max_age_s`` ago
    (default ``Settings.card_max_age_s``); otherwise the Hub is asked for its current
    commit, and the card is downloaded again only when that differs from the copy in
    the disk cache under ``cache_dir`` (default :func:`default_cache_dir`).
    ``refresh=True`` asks the Hub at once and reads every file again. When the Hub
    cannot be reached (or ``HF_HUB_OFFLINE`` is set) the report comes from the disk cache
    or the Hugging Face cache, with a warning saying so, or is "unavailable".
    ``endpoint`` defaults to ``huggingface_hub.constants.ENDPOINT`` (``HF_ENDPOINT``).
    """
    ref = str(model_ref)
    if (directory := _local_dir(model_ref)) is not None:
        inside_package = directory.resolve().is_relative_to(_PACKAGE_DIR)
        source = SOURCE_BUNDLED if inside_package else SOURCE_LOCAL_DIR
        return _build_report(_snapshot_from_dir(directory, ref, revision), source, [])

    settings = _settings()
    max_age_s = settings.card_max_age_s if max_age_s is None else max_age_s
    key = (ref, revision)
    if not refresh:
        with _memory_lock:
            remembered, asked_at = _memory.get(key, (None, -math.inf))
        if remembered is not None and time.monotonic() - asked_at < max_age_s:
            return remembered
    cache_file = _cache_file(Path(cache_dir) if cache_dir else settings.cache_dir, ref, revision)
    cached = _read_cache(cache_file)

    try:
        validate_repo_id(ref)
    except Exception as error:
        return _unavailable(
            ref,
            revision,
            f"{ref!r} is neither a local directory nor a Hub repo id ({_describe(error)}).",
        )

    if _hub_offline():
        reason = "Offline mode (HF_HUB_OFFLINE) is on: the Hub was not asked."
    else:
        try:
            info = _model_info(ref, revision, endpoint, timeout)
            if refresh or cached is None or info.sha is None or info.sha != cached.commit:
                snapshot = _fetch_from_hub(ref, revision, endpoint, timeout, info)
            else:  # the cached copy is the Hub's current commit: nothing to download
                snapshot = dataclasses.replace(cached, checked_at=_now())
        except Exception as error:
            reason = f"Could not reach the Hub ({_describe(error)})."
        else:
            problem = _write_cache(cache_file, snapshot)
            report = _build_report(snapshot, SOURCE_HUB, [problem] if problem else [])
            return _remember(key, report)

    if cached is not None:
        confirmed = f", last confirmed on the Hub {cached.checked_at}" if cached.checked_at else ""
        return _remember(
            key,
            _build_report(
                cached,
                SOURCE_DISK_CACHE,
                [f"{reason} Showing the copy cached on {cached.fetched_at}{confirmed}."],
            ),
        )
    from_hf_cache = _snapshot_from_hf_cache(ref, revision)
    if from_hf_cache is not None:
        return _remember(
            key,
            _build_report(
                from_hf_cache,
                SOURCE_HF_CACHE,
                [f"{reason} Showing the files already in the Hugging Face cache."],
            ),
        )
    return _unavailable(ref, revision, f"{reason} No cached copy of this card.")


def _remember(key: tuple[str, str | None], report: ModelCardReport) -> ModelCardReport:
    with _memory_lock:
        _memory[key] = (report, time.monotonic())
    return report


def _unavailable(ref: str, revision: str | None, reason: str) -> ModelCardReport:
    # Not remembered: the next call tries again.
    return ModelCardReport(
        model_ref=ref,
        source=SOURCE_UNAVAILABLE,
        fetched_at=None,
        card_markdown="",
        warnings=(reason,),
        revision=revision,
    )


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


# --------------------------------------------------------------------------- rendering

METRIC_COLUMNS = ("metric", "value", "split", "decoder", "dataset", "task", "source", "note")
CURVE_SERIES = {"wer": "validation WER", "cer": "validation CER"}


def _format_value(value: float | str) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 100 else f"{value:.2f}"
    return str(value)


def _metric_rows(report: ModelCardReport) -> list[dict[str, str]]:
    return [
        {
            "metric": m.name,
            "value": _format_value(m.value),
            "split": m.split,
            "decoder": m.decoder,
            "dataset": m.dataset,
            "task": m.task,
            "source": m.source_file,
            "note": m.note,
        }
        for m in report.metrics
    ]


def metrics_table(report: ModelCardReport) -> pd.DataFrame:
    """One row per figure: metric, value (4 decimals), split, decoder, dataset, task,
    source, note (how split and decoder are known)."""
    import pandas as pd

    return pd.DataFrame(_metric_rows(report), columns=list(METRIC_COLUMNS))


def training_table(report: ModelCardReport) -> pd.DataFrame:
    """The card's training-results table, one row per evaluation step."""
    import pandas as pd

    columns = [f.name for f in dataclasses.fields(TrainingPoint)]
    return pd.DataFrame([dataclasses.asdict(p) for p in report.training_curve], columns=columns)


def training_curve(report: ModelCardReport) -> pd.DataFrame:
    """Validation WER and CER against step, long format for ``gr.LinePlot(x="step",
    y="value", color="series")``."""
    import pandas as pd

    rows = [
        {"step": point.step, "value": value, "series": label}
        for point in report.training_curve
        for attr, label in CURVE_SERIES.items()
        if (value := getattr(point, attr)) is not None
    ]
    return pd.DataFrame(rows, columns=["step", "value", "series"])


def describe_source(report: ModelCardReport) -> str:
    """One line: where this copy of the card came from and when."""
    if not report.available:
        return f"{report.model_ref}: card unavailable"
    parts = [f"{report.model_ref}: from {report.source}"]
    if report.commit:
        parts.append(f"commit {report.commit[:12]}")
    if report.source in (SOURCE_HUB, SOURCE_DISK_CACHE) and report.fetched_at:
        parts.append(f"fetched {report.fetched_at}")
        if report.checked_at and report.checked_at != report.fetched_at:
            parts.append(f"still current on the Hub at {report.checked_at}")
    return ", ".join(parts)


def format_text(report: ModelCardReport) -> str:
    """The report as plain text for a terminal."""
    lines = [describe_source(report), ""]
    if report.warnings:
        lines += ["Warnings:", *(f"  ! {w}" for w in report.warnings), ""]
    rows = _metric_rows(report)
    if rows:
        shown = ("metric", "value", "split", "decoder", "dataset", "source")
        widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in shown}
        lines.append("  ".join(c.ljust(widths[c]) for c in shown).rstrip())
        for row in rows:
            lines.append("  ".join(row[c].ljust(widths[c]) for c in shown).rstrip())
        lines += ["", "How each label is known:"]
        lines += [f"  {row['metric']}: {row['note']}" for row in rows]
    else:
        lines.append("No metrics found.")
    curve = report.training_curve
    if curve:
        first, last = curve[0], curve[-1]
        lines += [
            "",
            f"Training results: {len(curve)} evaluations, steps {first.step}-{last.step}; "
            f"validation WER {_format_optional(first.wer)} -> {_format_optional(last.wer)}, "
            f"best {_format_optional(_best(p.wer for p in curve))}.",
        ]
    return "\n".join(lines) + "\n"


def _best(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _format_optional(value: float | None) -> str:
    return "?" if value is None else _format_value(value)


def to_json(report: ModelCardReport, *, include_card: bool = False) -> str:
    """The report as JSON (the card body only when ``include_card``)."""
    data = dataclasses.asdict(report)
    if not include_card:
        data.pop("card_markdown")
    data["available"] = report.available
    return json.dumps(data, ensure_ascii=False, indent=2)


# --------------------------------------------------------------------------- CLI


def add_card_arguments(parser: argparse.ArgumentParser, default_model: str | None = None) -> None:
    """Arguments of ``hyasr card [MODEL] [--format text|json] [--refresh] [--revision R]``."""
    parser.add_argument(
        "model",
        nargs="?" if default_model else None,
        default=default_model,
        help="Hub repo id or local model directory"
        + (f" (default: {default_model})" if default_model else ""),
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", dest="fmt")
    parser.add_argument("--revision", default=None, help="branch, tag or commit on the Hub")
    parser.add_argument(
        "--refresh", action="store_true", help="ask the Hub again instead of the cache"
    )


def card_command(
    model: str | Path,
    fmt: str = "text",
    out: IO[str] | None = None,
    *,
    revision: str | None = None,
    refresh: bool = False,
    cache_dir: str | Path | None = None,
) -> int:
    """Print the card's metrics; return 0, or 1 when no card could be found."""
    import sys

    out = out or sys.stdout
    report = load_card_report(model, revision=revision, refresh=refresh, cache_dir=cache_dir)
    out.write(to_json(report) + "\n" if fmt == "json" else format_text(report))
    return 0 if report.available else 1


def run_card_command(args: argparse.Namespace, out: IO[str] | None = None) -> int:
    """``card_command`` from the namespace ``add_card_arguments`` defines."""
    return card_command(args.model, args.fmt, out, revision=args.revision, refresh=args.refresh)
