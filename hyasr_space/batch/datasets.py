"""Hugging Face data sets with an Audio column, read with pyarrow (no `datasets` needed).

Two on-disk forms are read: a `save_to_disk` folder (Arrow IPC stream files named in
its `state.json`; a `DatasetDict` folder has one such folder per split, named in
`dataset_dict.json`) and Parquet files (what the Hub serves, and `to_parquet` writes).
An Audio column is stored as a struct of `bytes` (the encoded file) and `path` (its
original name, or where the file is when `bytes` is empty), which is what we look for;
the reference text is the first of `sentence`, `text`, `transcription`.

A Hub id (`owner/name` with `--split`) is fetched as its Parquet files with
huggingface_hub (the repository's own, or the Hub's `refs/convert/parquet` branch).

Why not the `datasets` library: it is not a dependency of the app, and reading rows of
an Arrow or Parquet file is what pyarrow (already needed by Ray Data) does; the items
name a file and a row, so the read stage opens only the row group it needs.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path

from ..errors import DatasetError
from ..evaluation import SENTENCE_COLUMNS
from .items import Item, file_identity

STATE_FILE = "state.json"
DICT_FILE = "dataset_dict.json"
PARQUET_SUFFIX = ".parquet"
PARQUET_BRANCH = "refs/convert/parquet"  # the Hub's Parquet copy of every public data set


def is_dataset(path: Path) -> bool:
    """A `save_to_disk` folder, a Parquet file, or a folder of Parquet files."""
    if path.is_file():
        return path.suffix == PARQUET_SUFFIX
    if not path.is_dir():
        return False
    if (path / STATE_FILE).is_file() or (path / DICT_FILE).is_file():
        return True
    return any(path.glob(f"*{PARQUET_SUFFIX}")) and not any(path.rglob("*.wav"))


def list_dataset(
    source: Path | str, *, split: str | None = None, audio_column: str | None = None
) -> Iterator[Item]:
    """One item per row of a data set (see the module docstring). Raises `DatasetError`."""
    files = dataset_files(source, split)
    for path, kind in files:
        yield from _rows(path, kind, audio_column)


def dataset_files(source: Path | str, split: str | None) -> list[tuple[Path, str]]:
    """The data files of a data set and their format ("arrow" or "parquet")."""
    if isinstance(source, str):
        return [(p, "parquet") for p in hub_parquet_files(source, split)]
    if source.is_file():
        return [(source, "parquet")]
    if (source / DICT_FILE).is_file():
        splits = json.loads((source / DICT_FILE).read_text(encoding="utf-8")).get("splits", [])
        if split is None:
            if len(splits) != 1:
                raise DatasetError(
                    f"{source} holds the splits {', '.join(splits)}: choose one with --split."
                )
            split = splits[0]
        if split not in splits:
            raise DatasetError(f"{source} has no split {split!r}; it has {', '.join(splits)}.")
        source = source / split
    if (source / STATE_FILE).is_file():
        state = json.loads((source / STATE_FILE).read_text(encoding="utf-8"))
        names = [entry["filename"] for entry in state.get("_data_files", [])]
        return [(source / name, "arrow") for name in names]
    files = sorted(source.glob(f"*{PARQUET_SUFFIX}"))
    if split is not None:
        files = [f for f in files if _in_split(f.name, split)] or files
    return [(f, "parquet") for f in files]


def hub_parquet_files(repo_id: str, split: str | None) -> list[Path]:
    """The Parquet files of a split of a Hub data set, downloaded to the Hub cache."""
    if split is None:
        raise DatasetError(f"{repo_id}: name the split to transcribe with --split.")
    from huggingface_hub import HfApi, hf_hub_download

    api = HfApi()
    for revision in (None, PARQUET_BRANCH):
        try:
            names = api.list_repo_files(repo_id, repo_type="dataset", revision=revision)
        except Exception as error:  # offline, no such repository, a gated one: all one answer
            if revision is None:
                continue
            raise DatasetError(f"{repo_id} could not be listed on the Hub: {error}") from error
        chosen = [n for n in names if n.endswith(PARQUET_SUFFIX) and _in_split(n, split)]
        if chosen:
            return [
                Path(hf_hub_download(repo_id, n, repo_type="dataset", revision=revision))
                for n in sorted(chosen)
            ]
    raise DatasetError(f"{repo_id} has no Parquet files for the split {split!r}.")


def read_rows(path: str, kind: str, rows: list[int], column: str) -> list[dict]:
    """The Audio column's structs ({"bytes", "path"}) of `rows` of one data file."""
    found = _open(Path(path), kind, column, rows)
    return [found[row] for row in rows]


def _open(path: Path, kind: str, column: str, rows: list[int]) -> dict[int, dict]:
    import pyarrow as pa

    if kind == "arrow":  # memory-mapped: taking a few rows reads only those rows' bytes
        with pa.memory_map(str(path)) as source:
            table = pa.ipc.open_stream(source).read_all().select([column])
            return {row: table.slice(row, 1).to_pylist()[0][column] for row in rows}
    found: dict[int, dict] = {}
    changed = path.stat().st_mtime_ns  # in the cache keys: a rewritten file is read again
    starts = _row_group_starts(str(path), changed)
    for row in rows:
        group = max(i for i, start in enumerate(starts) if start <= row)
        table = _row_group(str(path), changed, group, column)
        found[row] = table.slice(row - starts[group], 1).to_pylist()[0][column]
    return found


@functools.lru_cache(maxsize=8)
def _row_group_starts(path: str, changed: int) -> list[int]:
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(path).metadata
    counts = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    return [sum(counts[:i]) for i in range(len(counts))]


@functools.lru_cache(maxsize=2)
def _row_group(path: str, changed: int, group: int, column: str):
    """One row group's audio column; the last two are kept, because a read worker takes
    a few rows at a time and the next rows are usually in the same group (Hub Parquet
    files hold about a hundred clips a group)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).read_row_group(group, columns=[column])


def _rows(path: Path, kind: str, audio_column: str | None) -> Iterator[Item]:
    schema = _schema(path, kind)
    column = audio_column or _audio_column(schema)
    if column is None or column not in schema.names:
        raise DatasetError(
            f"{path} has no Audio column (a struct of bytes and path); its columns are "
            f"{', '.join(schema.names)}. Name one with --audio-column."
        )
    reference = next((c for c in SENTENCE_COLUMNS if c in schema.names), None)
    columns = [column] + ([reference] if reference else [])
    for row, record in enumerate(_metadata_rows(path, kind, columns, column)):
        audio = record[column] or {}
        name = audio.get("path") or f"{path.name}#{row}"
        yield Item(
            id=name,
            identity=file_identity(path, row),
            reference=record.get(reference) if reference else None,
            dataset_file=str(path.resolve()),
            dataset_format=kind,
            dataset_row=row,
            audio_column=column,
        )


def _metadata_rows(path: Path, kind: str, columns: list[str], audio: str) -> Iterator[dict]:
    """Each row's reference and its audio's path, without keeping the audio bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def light(batch: pa.RecordBatch) -> Iterator[dict]:
        paths = batch.column(audio).field("path") if audio in batch.schema.names else None
        others = {c: batch.column(c).to_pylist() for c in columns if c != audio}
        for index in range(batch.num_rows):
            record = {c: values[index] for c, values in others.items()}
            record[audio] = {"path": paths[index].as_py() if paths is not None else None}
            yield record

    if kind == "arrow":
        with pa.memory_map(str(path)) as source:
            for batch in pa.ipc.open_stream(source):
                yield from light(batch.select(columns))
    else:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1024, columns=columns):
            yield from light(batch)


def _schema(path: Path, kind: str):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if kind == "arrow":
            with pa.memory_map(str(path)) as source:
                return pa.ipc.open_stream(source).schema
        return pq.read_schema(path)
    except (OSError, pa.ArrowInvalid) as error:
        raise DatasetError(f"{path} is not a readable {kind} file: {error}") from error


def _audio_column(schema) -> str | None:
    import pyarrow as pa

    for field in schema:
        if pa.types.is_struct(field.type):
            names = {field.type.field(i).name for i in range(field.type.num_fields)}
            if {"bytes", "path"} <= names:
                return field.name
    return None


def _in_split(name: str, split: str) -> bool:
    parts = name.split("/")
    stem = parts[-1]
    return split in parts[:-1] or stem.startswith((f"{split}-", f"{split}_", f"{split}."))
