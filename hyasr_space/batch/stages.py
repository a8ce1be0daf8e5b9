"""The three stages of the batch pipeline, each a function of a pyarrow batch of rows.

    read_audio       (Ray tasks, CPU)     item rows -> 16 kHz samples
    AcousticStage    (an actor pool)      samples -> logits (the model loaded once per actor)
    DecoderStage     (a CPU actor pool)   logits -> text, words, captions (decoders built once)

They call the same pieces `hyasr transcribe` calls, in the same order (`load_audio`, then
`AcousticModel.logits` with its windows, then the decoders `pick_decoders` picks with
the same LM settings, then `captions`), so a file's text is the text `hyasr transcribe`
prints for it. No exception leaves a stage: a row that fails carries its error and the
error's kind to the output, and the run goes on (Ray Data would fail the whole data set
on an exception in a batch).

What one worker holds: an acoustic actor the network's weights (the demo model 1.3 MB,
XLS-R 1B 3.9 GB in float32, about 1 GB in int8) plus one batch of rows in flight (their
samples, 230 MB an hour of audio, and logits, 31 MB an hour of audio); a decoder actor
the KenLM model (the checkpoint's 5-gram is 880 MB, memory-mapped) and one batch of
logits. Long files are windowed by `AcousticModel.logits` exactly as today.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..audio import load_audio
from ..subtitles import CaptionLimits
from .output import result_rows

log = logging.getLogger(__name__)

SAMPLES_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("identity", pa.string()),
        ("reference", pa.string()),
        ("duration", pa.float64()),
        ("samples", pa.large_binary()),  # float32, 16 kHz, mono
        ("error", pa.string()),
        ("error_kind", pa.string()),
    ]
)
LOGITS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("identity", pa.string()),
        ("reference", pa.string()),
        ("duration", pa.float64()),
        ("logits", pa.large_binary()),  # float32, frames x vocabulary
        ("vocabulary", pa.int32()),
        ("seconds_per_frame", pa.float64()),
        ("runtime", pa.string()),
        ("notices", pa.list_(pa.string())),
        ("error", pa.string()),
        ("error_kind", pa.string()),
    ]
)
LM_FAILED = "The language model could not be loaded ({error}); decoding greedily."


def failure(error: BaseException) -> tuple[str, str]:
    """An error row's message and kind (the exception's class: the summary counts them)."""
    return str(error) or repr(error), type(error).__name__


def read_audio(batch: pa.Table, settings: Any) -> pa.Table:
    """Decode each item's audio to a 16 kHz clip (`audio.load_audio`, the app's reader)."""
    rows = batch.to_pylist()
    decoded: dict[int, tuple[bytes, float, str, str]] = {}
    for index, row in enumerate(rows):
        if row["error"]:
            continue
        try:
            if row["dataset_file"]:
                continue  # read below, grouped by data file
            clip = load_audio(row["path"], settings)
            decoded[index] = (_samples(clip), clip.duration, "", "")
        except Exception as error:
            decoded[index] = (b"", None, *failure(error))
    _read_dataset_rows(rows, decoded, settings)
    out = []
    for index, row in enumerate(rows):
        samples, duration, error, kind = decoded.get(index, (b"", None, row["error"], ""))
        out.append(
            {
                "id": row["id"],
                "identity": row["identity"],
                "reference": row["reference"],
                "duration": duration,
                "samples": samples,
                "error": error or row["error"] or None,
                "error_kind": kind or row["error_kind"] or None,
            }
        )
    return pa.Table.from_pylist(out, schema=SAMPLES_SCHEMA)


def _samples(clip: Any) -> bytes:
    return np.ascontiguousarray(clip.samples, dtype=np.float32).tobytes()


def _read_dataset_rows(rows: list[dict], decoded: dict, settings: Any) -> None:
    """Data set rows: the Audio column's bytes go through a file named like the original,
    so the reader (and ffmpeg for mp3/m4a) sees what `hyasr transcribe` would."""
    from .datasets import read_rows

    groups: dict[tuple[str, str, str], list[int]] = {}
    for index, row in enumerate(rows):
        if row["dataset_file"] and not row["error"]:
            key = (row["dataset_file"], row["dataset_format"], row["audio_column"])
            groups.setdefault(key, []).append(index)
    for (path, kind, column), indices in groups.items():
        try:
            audios = read_rows(path, kind, [rows[i]["dataset_row"] for i in indices], column)
        except Exception as error:
            for index in indices:
                decoded[index] = (b"", None, *failure(error))
            continue
        for index, audio in zip(indices, audios, strict=True):
            try:
                clip = _clip_from_struct(
                    audio or {}, rows[index]["id"], Path(path).parent, settings
                )
                decoded[index] = (_samples(clip), clip.duration, "", "")
            except Exception as error:
                decoded[index] = (b"", None, *failure(error))


def _clip_from_struct(audio: Mapping, name: str, folder: Path, settings: Any) -> Any:
    data, original = audio.get("bytes"), audio.get("path") or name
    if not data:  # the column names a file instead of holding it
        candidate = Path(original)
        candidate = candidate if candidate.is_absolute() else folder / candidate
        return load_audio(candidate, settings)
    safe = Path(original).name.replace("#", "_") or "audio"
    with tempfile.TemporaryDirectory(prefix="hyasr-batch-") as folder_name:
        file = Path(folder_name) / safe
        file.write_bytes(data)
        return load_audio(file, settings)


class AcousticStage:
    """The acoustic model as a Ray actor: loaded once in `__init__`, then `logits` per row.

    On a GPU the rows of a batch run in threads, so the model's request batcher
    (batching.py) puts their windows into one forward pass; on a CPU one row at a time,
    each with every thread the worker was given.
    """

    def __init__(self, model: str, revision: str | None, settings: Any, threads: int) -> None:
        import torch

        from ..runtime import load_model

        if threads > 0:
            torch.set_num_threads(threads)
        self.model = load_model(model, revision, settings)
        self.runtime = f"{self.model.device}, {self.model.runtime}"
        log.info("acoustic worker ready: %s", self.runtime)

    def __call__(self, batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        parallel = self.model.request_batch_size > 1 and len(rows) > 1
        if parallel:
            with ThreadPoolExecutor(len(rows)) as pool:
                out = list(pool.map(self._row, rows))
        else:
            out = [self._row(row) for row in rows]
        return pa.Table.from_pylist(out, schema=LOGITS_SCHEMA)

    def _row(self, row: dict) -> dict:
        from ..results import Clip

        out = {key: row[key] for key in ("id", "identity", "reference", "duration")}
        out.update(error=row["error"], error_kind=row["error_kind"], runtime=self.runtime)
        out["notices"] = list(self.model.notices)
        if row["error"]:
            return out
        try:
            samples = np.frombuffer(row["samples"], dtype=np.float32)
            logits = self.model.logits(Clip(samples, self.model.sample_rate, row["id"]))
        except Exception as error:
            out["error"], out["error_kind"] = failure(error)
            return out
        out["logits"] = logits.values.tobytes()
        out["vocabulary"] = int(logits.values.shape[1])
        out["seconds_per_frame"] = logits.seconds_per_frame
        return out


class DecoderStage:
    """Greedy and/or LM beam search as a Ray actor: the decoders (and the KenLM model)
    built once in `__init__`, as `Transcriber` builds them."""

    def __init__(
        self,
        model: str,
        revision: str | None,
        settings: Any,
        decoder: str,
        lm_overrides: dict[str, Any],
        limits: CaptionLimits,
        settings_hash: str,
        model_label: str,
        model_commit: str | None,
    ) -> None:
        from ..decoding import GreedyDecoder, pick_decoders
        from ..lm import LMDecoder
        from ..lm_settings import LMSettings
        from ..runtime.checkpoints import resolve_model
        from ..vocabulary import Vocabulary

        source = resolve_model(model, revision, settings)
        config = json.loads((source.path / "config.json").read_text(encoding="utf-8"))
        vocabulary = Vocabulary.from_dir(source.path, size=int(config["vocab_size"]))
        notices: tuple[str, ...] = ()
        lm = None
        try:
            lm = LMDecoder.from_dir(source.path, vocabulary, settings)
        except (OSError, ValueError) as error:  # as Transcriber: a broken LM decodes greedily
            notices += (LM_FAILED.format(error=error),)
        self.decoders, choice_notices = pick_decoders(decoder, GreedyDecoder(vocabulary), lm)
        self.notices = notices + choice_notices
        base = lm.defaults if lm else LMSettings.from_settings(settings)
        # As `hyasr transcribe` (cli/common.py): the checkpoint's settings, with each
        # option the command was given (hotwords arrive parsed).
        given = {name: value for name, value in lm_overrides.items() if value is not None}
        self.options = replace(base, **given)
        self.limits = limits
        self.settings_hash = settings_hash
        self.model_label = model_label
        self.model_commit = model_commit

    def __call__(self, batch: pa.Table) -> pa.Table:
        from ..results import Logits, Transcription

        results = []
        for row in batch.to_pylist():
            transcription = None
            if not row["error"]:
                try:
                    values = np.frombuffer(row["logits"], dtype=np.float32)
                    logits = Logits(values.reshape(-1, row["vocabulary"]), row["seconds_per_frame"])
                    transcripts = tuple(d.decode(logits, self.options) for d in self.decoders)
                    transcription = Transcription(
                        row["id"],
                        row["duration"],
                        self.model_label,
                        transcripts,
                        tuple(row["notices"] or ()) + self.notices,
                        runtime=row["runtime"],
                    )
                except Exception as error:
                    row["error"], row["error_kind"] = failure(error)
            results.append((row, transcription))
        return result_rows(
            results, self.limits, self.settings_hash, self.model_label, self.model_commit
        )
