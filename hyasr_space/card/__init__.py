"""The model card and its metrics, fetched from the Hub and shown honestly.

A model card mixes figures that are not like for like (the seed model's greedy WER is on
validation, its "WER LM" on test), so every figure here carries its split, its decoder
and where it came from. Four modules, one concern each:

- fetch.py: the card from the Hub, revalidated against the repo's current commit, cached
  in memory and on disk, with offline fallbacks (`load_card_report`);
- card_text.py: the card's README.md read with huggingface_hub, salvaged where malformed,
  and its training-results table (`parse_training_results`);
- provenance.py: the card's figures, from its metadata, result files and text, labelled
  and merged (`build_report`);
- render.py: the report as a table, a training curve, terminal text and JSON.

report.py holds the types they share. The CLI command is cli/card.py; the page's tab is
web/card_tab.py.
"""

from .fetch import HUB_TIMEOUT_S, default_cache_dir, load_card_report
from .provenance import build_report, parse_training_results
from .render import (
    CURVE_SERIES,
    METRIC_COLUMNS,
    describe_source,
    metrics_table,
    report_json,
    report_text,
    training_curve,
)
from .report import (
    SOURCE_BUNDLED,
    SOURCE_DISK_CACHE,
    SOURCE_HF_CACHE,
    SOURCE_HUB,
    SOURCE_LOCAL_DIR,
    SOURCE_UNAVAILABLE,
    Metric,
    ModelCardReport,
    Snapshot,
    TrainingPoint,
)

__all__ = [
    "CURVE_SERIES",
    "HUB_TIMEOUT_S",
    "METRIC_COLUMNS",
    "SOURCE_BUNDLED",
    "SOURCE_DISK_CACHE",
    "SOURCE_HF_CACHE",
    "SOURCE_HUB",
    "SOURCE_LOCAL_DIR",
    "SOURCE_UNAVAILABLE",
    "Metric",
    "ModelCardReport",
    "Snapshot",
    "TrainingPoint",
    "build_report",
    "default_cache_dir",
    "describe_source",
    "load_card_report",
    "metrics_table",
    "parse_training_results",
    "report_json",
    "report_text",
    "training_curve",
]
