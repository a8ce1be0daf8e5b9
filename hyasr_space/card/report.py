"""What the card viewer works with: the raw `Snapshot` of a repo, and the `ModelCardReport`
made from it (figures as `Metric`s labelled with split, decoder and provenance).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

CACHE_FORMAT = 1  # of a Snapshot on disk

# Where a report's copy of the card came from.
SOURCE_HUB = "hub"
SOURCE_DISK_CACHE = "disk cache"
SOURCE_HF_CACHE = "Hugging Face cache"
SOURCE_BUNDLED = "bundled"
SOURCE_LOCAL_DIR = "local directory"
SOURCE_UNAVAILABLE = "unavailable"

# A figure's labels.
SPLIT_VALIDATION = "validation"
SPLIT_TEST = "test"
SPLIT_TRAIN = "train"
NOT_STATED = "not stated"
DECODER_GREEDY = "greedy"
DECODER_LM = "LM"
DECODER_NONE = "n/a"  # a loss has no decoder


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
    license: str | None = None  # the card's `license` metadata, as written

    @property
    def available(self) -> bool:
        """Whether there is anything to show."""
        return self.source != SOURCE_UNAVAILABLE

    @classmethod
    def unavailable(
        cls, model_ref: str, reason: str, revision: str | None = None
    ) -> ModelCardReport:
        """A report with nothing to show but why."""
        return cls(
            model_ref=model_ref,
            source=SOURCE_UNAVAILABLE,
            fetched_at=None,
            card_markdown="",
            warnings=(reason,),
            revision=revision,
        )


@dataclass(frozen=True)
class Snapshot:
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
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
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


def describe_error(error: BaseException) -> str:
    """An exception in one line, for a warning: its type and the first line of its text."""
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(error).__name__}: {first}" if first else type(error).__name__
