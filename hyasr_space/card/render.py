"""The card report for people: a metrics table, the training curve, terminal text, JSON."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .report import SOURCE_DISK_CACHE, SOURCE_HUB, ModelCardReport

if TYPE_CHECKING:
    import pandas as pd

METRIC_COLUMNS = ("metric", "value", "split", "decoder", "dataset", "task", "source", "note")
CURVE_SERIES = {"wer": "validation WER", "cer": "validation CER"}


def format_value(value: float | str) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 100 else f"{value:.2f}"
    return str(value)


def _metric_rows(report: ModelCardReport) -> list[dict[str, str]]:
    return [
        {
            "metric": m.name,
            "value": format_value(m.value),
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


def report_text(report: ModelCardReport) -> str:
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
    return "?" if value is None else format_value(value)


def report_json(report: ModelCardReport, *, include_card: bool = False) -> str:
    """The report as JSON (the card body only when ``include_card``)."""
    data = dataclasses.asdict(report)
    if not include_card:
        data.pop("card_markdown")
    data["available"] = report.available
    return json.dumps(data, ensure_ascii=False, indent=2)
