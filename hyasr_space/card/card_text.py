"""A model card's README.md as huggingface_hub reads it, salvaged where it is malformed.

`parse_card` gives the card's prose and metadata (model-index results, tags, datasets)
through `huggingface_hub.ModelCard`; a header that fails strict parsing is read again
leniently, and a malformed model-index entry by entry, so that one bad entry does not
hide the others; what was skipped becomes a warning. `parse_training_results` reads the
"Training results" table that transformers' Trainer writes into the card text.
provenance.py labels the figures these give.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from huggingface_hub import ModelCard
from huggingface_hub.repocard import REGEX_YAML_BLOCK
from huggingface_hub.repocard_data import EvalResult, model_index_to_eval_results

from .report import TrainingPoint, describe_error


@dataclass
class ParsedCard:
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


def parse_card(text: str) -> ParsedCard:
    """Parse README.md with huggingface_hub, salvaging what a malformed header allows."""
    warnings: list[str] = []
    try:
        card = ModelCard(text)
    except Exception as strict_error:
        try:
            card = ModelCard(text, ignore_metadata_errors=True)
        except Exception as error:  # not YAML, or not a mapping: keep the prose only
            _, body = _front_matter(text)
            return ParsedCard(
                body=body,
                eval_results=[],
                has_model_index=False,
                tags=[],
                datasets=[],
                warnings=[
                    f"The card's metadata is malformed ({describe_error(error)}): showing the card "
                    "text without its metadata, and no model-index results."
                ],
            )
        results, skipped = _salvage_model_index(text)
        warnings.append(
            f"The card's model-index is malformed ({describe_error(strict_error)}): "
            f"{len(results)} result(s) read, {skipped} skipped."
        )
        return ParsedCard(
            body=card.text,
            eval_results=results,
            has_model_index=True,
            tags=_str_list(getattr(card.data, "tags", None)),
            datasets=_str_list(getattr(card.data, "datasets", None)),
            warnings=warnings,
        )
    eval_results = list(card.data.eval_results or [])
    return ParsedCard(
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
