"""What `hyasr batch` writes into DIR, and how a rerun finds what is already there.

    DIR/batch.json              the settings of the run and their hash
    DIR/parts/part-*.parquet    one row per input (RESULT_SCHEMA), a file per 1,000 rows or 30 s
    DIR/transcripts.jsonl       the same rows as JSON lines (--jsonl), rebuilt at the end
    DIR/subtitles/<id>.srt|vtt  one caption file per input (--srt, --vtt)
    DIR/summary.json            summary.py

Parts are written by the driver as results stream in, each to a temporary name and then
renamed, so a part is either whole or absent: a run killed at any moment leaves only
whole rows, and a rerun skips exactly the inputs (by identity) whose rows exist. The
parts folder is one Parquet data set (`pyarrow.dataset`, `pandas.read_parquet`,
`ray.data.read_parquet` read it). A DIR made with other settings is refused rather than
mixed: its rows would be skipped as done although they answer a different question.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InvalidRequestError
from ..subtitles import CaptionLimits, captions, file_stem, to_srt, to_vtt

WORD = pa.struct(
    [("text", pa.string()), ("start", pa.float64()), ("end", pa.float64()),
     ("confidence", pa.float64())]
)  # fmt: skip
SEGMENT = pa.struct([("start", pa.float64()), ("end", pa.float64()), ("text", pa.string())])
DECODED = pa.struct([("decoder", pa.string()), ("text", pa.string())])
RESULT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("identity", pa.string()),
        ("settings", pa.string()),
        ("reference", pa.string()),
        ("duration", pa.float64()),
        ("model", pa.string()),
        ("model_commit", pa.string()),
        ("runtime", pa.string()),
        ("decoder", pa.string()),  # the decoder of `text` (the LM's when both ran)
        ("decoder_description", pa.string()),
        ("text", pa.string()),
        ("words", pa.list_(WORD)),
        ("segments", pa.list_(SEGMENT)),
        ("transcripts", pa.list_(DECODED)),  # every decoder asked for, greedy first
        ("notices", pa.list_(pa.string())),
        ("error", pa.string()),
        ("error_kind", pa.string()),
    ]
)
SUBTITLE_FORMATS = ("srt", "vtt")


def result_rows(
    results: Sequence[tuple[dict, Any]],
    limits: CaptionLimits,
    settings_hash: str,
    model: str,
    commit: str | None,
) -> pa.Table:
    """Output rows from (row, `Transcription` or None for a failed row) pairs."""
    rows = []
    for row, transcription in results:
        out: dict[str, Any] = {
            "id": row["id"],
            "identity": row["identity"],
            "settings": settings_hash,
            "reference": row["reference"],
            "duration": row["duration"],
            "model": model,
            "model_commit": commit,
            "runtime": row.get("runtime"),
            "error": row["error"],
            "error_kind": row["error_kind"],
        }
        if transcription is not None:
            best = transcription.best
            out.update(
                decoder=best.decoder,
                decoder_description=best.description,
                text=best.text,
                words=[
                    {"text": w.text, "start": w.start, "end": w.end, "confidence": w.confidence}
                    for w in best.words
                ],
                segments=[
                    {"start": c.start, "end": c.end, "text": c.text}
                    for c in captions(best, transcription.duration, limits)
                ],
                transcripts=[
                    {"decoder": t.decoder, "text": t.text} for t in transcription.transcripts
                ],
                notices=list(transcription.notices),
            )
        rows.append(out)
    return pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)


class OutputDir:
    """DIR: its settings, its parts, its subtitle files (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.parts = self.root / "parts"
        self.subtitles = self.root / "subtitles"

    def claim(self, settings_hash: str, settings: dict[str, Any]) -> None:
        """Make DIR ours for these settings; raise `InvalidRequestError` when it holds
        results made with others."""
        manifest = self.root / "batch.json"
        if manifest.is_file():
            previous = json.loads(manifest.read_text(encoding="utf-8"))
            if previous.get("settings_hash") != settings_hash:
                changed = sorted(
                    key
                    for key in set(previous.get("settings", {})) | set(settings)
                    if previous.get("settings", {}).get(key) != settings.get(key)
                )
                raise InvalidRequestError(
                    f"{self.root} holds results made with other settings (changed: "
                    f"{', '.join(changed) or 'the format'}); use another --out."
                )
        self.parts.mkdir(parents=True, exist_ok=True)
        for leftover in self.parts.glob(".tmp-*"):  # a part cut short by a killed run
            leftover.unlink()
        data = {"settings_hash": settings_hash, "settings": settings}
        manifest.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")

    def part_files(self) -> list[Path]:
        return sorted(self.parts.glob("part-*.parquet")) if self.parts.is_dir() else []

    def read(self, columns: Sequence[str]) -> Iterator[pa.Table]:
        """The written rows, part by part (so memory holds one part, not the corpus)."""
        for part in self.part_files():
            yield pq.read_table(part, columns=list(columns))

    def done(self) -> set[str]:
        """The identities of the inputs that have a row."""
        return {i for table in self.read(["identity"]) for i in table["identity"].to_pylist()}

    def write_part(self, table: pa.Table) -> Path:
        """Add a batch of rows, atomically (a temporary name, then a rename)."""
        name = f"part-{uuid.uuid4().hex[:16]}.parquet"
        temporary = self.parts / f".tmp-{name}"
        pq.write_table(table, temporary)
        os.replace(temporary, self.parts / name)
        return self.parts / name

    def write_subtitles(self, table: pa.Table, formats: Sequence[str], limits: CaptionLimits):
        """One caption file per successful row and format, named after its id."""
        from ..results import Transcript, Word

        for row in table.select(["id", "duration", "words", "decoder", "error"]).to_pylist():
            if row["error"]:
                continue
            words = tuple(
                Word(w["text"], w["start"], w["end"], w["confidence"]) for w in row["words"]
            )
            transcript = Transcript(" ".join(w.text for w in words), words, row["decoder"], "")
            for fmt in formats:
                render = to_srt if fmt == "srt" else to_vtt
                path = self.subtitle_path(row["id"], fmt)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(render(transcript, row["duration"], limits), encoding="utf-8")

    def subtitle_path(self, item_id: str, fmt: str) -> Path:
        """subtitles/ mirrors the ids' folders: ``a/b.wav`` -> ``subtitles/a/b.srt``."""
        parts = [file_stem(part) for part in Path(item_id).parts[:-1] if part not in ("/", "..")]
        return self.subtitles.joinpath(*parts, f"{file_stem(item_id)}.{fmt}")

    def write_jsonl(self, identities: set[str] | None = None) -> Path:
        """transcripts.jsonl from the parts (the inputs in `identities`, or all)."""
        path = self.root / "transcripts.jsonl"
        temporary = path.with_name(".tmp-transcripts.jsonl")
        with temporary.open("w", encoding="utf-8") as handle:
            for table in self.read(RESULT_SCHEMA.names):
                for row in table.to_pylist():
                    if identities is None or row["identity"] in identities:
                        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        os.replace(temporary, path)
        return path
