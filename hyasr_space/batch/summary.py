"""The end of a batch run: how much was transcribed, what failed and why, how fast, and
how well where references were given.

WER and CER are `text.error_rates` over the rows with a reference, exactly as
`hyasr eval` computes them (evaluation.py): corpus-level jiwer, references and
hypotheses through `text.normalize_text`, one score per decoder. On a set where every
clip reads, `hyasr batch MANIFEST --decoder both` and `hyasr eval --data MANIFEST` give
the same numbers (the test suite checks it); where some clips fail, `hyasr eval` stops
at the first while the batch scores the others and counts the failures beside the score.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..text import error_rates
from .output import OutputDir

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class Score:
    decoder: str
    wer: float
    cer: float
    utterances: int


@dataclass(frozen=True)
class Summary:
    """One batch run over a set of inputs (the rows of earlier runs included)."""

    out: str
    inputs: int
    written: int  # inputs with a row (should equal `inputs`)
    skipped: int  # rows already there when the run started
    transcribed: int
    failed: int
    failures: dict[str, int]  # error kind -> count
    audio_hours: float  # every successful row
    run_audio_hours: float  # this run's rows
    wall_seconds: float  # this run's pipeline, workers' start and model loading included
    throughput: float  # this run's audio hours per wall hour
    scores: list[Score] = field(default_factory=list)
    model: str = ""
    workers: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["missing"] = self.inputs - self.written
        return data

    def text(self) -> str:
        lines = [
            f"inputs:     {self.inputs} ({self.skipped} already done, "
            f"{self.inputs - self.skipped} this run)",
            f"written:    {self.written} rows in {self.out}",
            f"audio:      {self.audio_hours:.4f} h transcribed",
            f"failed:     {self.failed}"
            + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(self.failures.items()))})"
               if self.failures else ""),
            f"throughput: {self.throughput:.1f} audio hours per wall hour "
            f"({self.run_audio_hours * SECONDS_PER_HOUR:.1f} s of audio in "
            f"{self.wall_seconds:.1f} s)",
        ]  # fmt: skip
        for score in self.scores:
            lines.append(
                f"{score.decoder + ':':<11} WER {score.wer:.2%}  CER {score.cer:.2%}  "
                f"({score.utterances} with references)"
            )
        return "\n".join(lines)


def summarize(
    output: OutputDir,
    identities: set[str],
    *,
    skipped: int,
    run_identities: set[str],
    wall_seconds: float,
    model: str = "",
    workers: dict[str, Any] | None = None,
) -> Summary:
    """Read the rows of `identities` back from DIR (part by part) and sum them up."""
    columns = ["identity", "duration", "error", "error_kind", "reference", "transcripts"]
    failures: Counter[str] = Counter()
    seen: set[str] = set()
    audio = run_audio = 0.0
    references: list[str] = []
    hypotheses: dict[str, list[str]] = {}
    for table in output.read(columns):
        for row in table.to_pylist():
            identity = row["identity"]
            if identity not in identities or identity in seen:
                continue
            seen.add(identity)
            if row["error"]:
                failures[row["error_kind"] or "Error"] += 1
                continue
            audio += row["duration"] or 0.0
            if identity in run_identities:
                run_audio += row["duration"] or 0.0
            if row["reference"] is not None:
                references.append(row["reference"])
                for transcript in row["transcripts"]:
                    hypotheses.setdefault(transcript["decoder"], []).append(transcript["text"])
    scores = []
    for decoder, texts in hypotheses.items():
        try:
            rates = error_rates(references, texts)
        except ValueError:  # every reference empty after normalisation: nothing to score
            continue
        scores.append(Score(decoder, rates.wer, rates.cer, rates.utterances))
    run_hours = run_audio / SECONDS_PER_HOUR
    return Summary(
        out=str(output.root),
        inputs=len(identities),
        written=len(seen),
        skipped=skipped,
        transcribed=len(seen) - sum(failures.values()),
        failed=sum(failures.values()),
        failures=dict(failures),
        audio_hours=audio / SECONDS_PER_HOUR,
        run_audio_hours=run_hours,
        wall_seconds=wall_seconds,
        throughput=run_hours / (wall_seconds / SECONDS_PER_HOUR) if wall_seconds > 0 else 0.0,
        scores=scores,
        model=model,
        workers=workers or {},
    )


def write_summary(summary: Summary, path: Path) -> Path:
    path.write_text(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2), "utf-8")
    return path
