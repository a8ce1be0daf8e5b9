"""What `hyasr batch` reads: folders, globs, manifests and data sets, as one list of items.

Every input becomes an `Item` (one per audio file or data set row) before anything
runs: an id for people, where the audio is, the reference text if one was given, and an
identity that says whether this exact input was transcribed before (resume). A file's
identity is its absolute path, size and modification time, so an edited file is done
again and an untouched one never twice; a data set row's is its file's identity and the
row number. The same file named twice (a folder and a glob) is one item.

A manifest is a CSV or TSV with a path column (`path`, `file` or `audio`) and optionally
a reference column (`sentence`, `text` or `transcription`): the columns `hyasr eval`
reads, Common Voice's `path`/`sentence` among them. Its relative paths are resolved
against the manifest's folder and, as in a Common Voice release, its `clips/` folder. A
listed file that is missing becomes an item with an error (an error row in the output),
not a reason to stop: the other 9,999 files still get transcribed.

Data sets (a Hugging Face `save_to_disk` folder or Parquet files) are listed by
datasets.py.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from ..errors import DatasetError
from ..evaluation import CLIPS_DIR, PATH_COLUMNS, SENTENCE_COLUMNS, find_audio
from .datasets import is_dataset, list_dataset
from .items import Item, file_identity

# What the app reads (libsndfile, then ffmpeg for the rest): the upload box's types
# (web/transcribe_tab.py) and the other common containers ffmpeg decodes.
AUDIO_SUFFIXES = (
    ".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".webm", ".mp4",
    ".wma", ".aiff", ".aif",
)  # fmt: skip
MANIFEST_SUFFIXES = {".csv": ",", ".tsv": "\t"}
GLOB_CHARACTERS = set("*?[")
NOT_FOUND = "NotFound"  # the error kind of a listed file that is not there


def missing_identity(name: str, manifest: Path) -> str:
    key = f"missing\0{manifest.resolve()}\0{name}"
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()


def list_inputs(
    inputs: Sequence[str],
    *,
    split: str | None = None,
    audio_column: str | None = None,
) -> list[Item]:
    """The items of every input, in order, each input once. Raises `DatasetError` for an
    input that is nothing readable (no such path, a folder without audio or data set, a
    manifest without a path column)."""
    items: list[Item] = []
    seen: set[str] = set()
    for text in inputs:
        path = Path(text).expanduser()
        if path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
            found: Iterable[Item] = list_manifest(path)
        elif is_dataset(path):
            found = list_dataset(path, split=split, audio_column=audio_column)
        elif path.is_dir():
            found = list_folder(path)
        elif path.is_file():
            found = [_file_item(path, str(path))]
        elif GLOB_CHARACTERS & set(text):
            found = list_glob(text)
        elif _looks_like_hub_id(text):
            found = list_dataset(text, split=split, audio_column=audio_column)
        else:
            raise DatasetError(f"{text} does not exist.")
        for item in found:
            if item.identity not in seen:
                seen.add(item.identity)
                items.append(item)
    return unique_ids(items)


def list_folder(folder: Path) -> Iterator[Item]:
    """Every audio file under `folder` (recursively, in name order), ids relative to it."""
    files = sorted(p for p in folder.rglob("*") if _is_audio(p))
    if not files:
        raise DatasetError(
            f"{folder} holds no audio files ({', '.join(AUDIO_SUFFIXES)}), manifest or data set."
        )
    for path in files:
        yield _file_item(path, path.relative_to(folder).as_posix())


def list_glob(pattern: str) -> Iterator[Item]:
    """The audio files a glob matches (`**` recurses), ids as matched."""
    matches = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
    files = [Path(m) for m in matches if _is_audio(Path(m))]
    if not files:
        raise DatasetError(f"{pattern} matches no audio files.")
    for path in files:
        yield _file_item(path, path.as_posix())


def list_manifest(manifest: Path) -> Iterator[Item]:
    """The rows of a CSV/TSV manifest (see the module docstring)."""
    delimiter = MANIFEST_SUFFIXES[manifest.suffix.lower()]
    # QUOTE_NONE for TSV, as `hyasr eval` reads it: Common Voice sentences hold
    # unbalanced quotes; a CSV needs its quoting to hold commas.
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    with manifest.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter, quoting=quoting)
        columns = reader.fieldnames or []
        path_column = next((c for c in PATH_COLUMNS if c in columns), None)
        reference_column = next((c for c in SENTENCE_COLUMNS if c in columns), None)
        if path_column is None:
            raise DatasetError(
                f"{manifest} needs a path column ({', '.join(PATH_COLUMNS)}); "
                f"it has {', '.join(columns) or 'none'}."
            )
        rows = 0
        for row in reader:
            rows += 1
            name = (row.get(path_column) or "").strip()
            reference = row.get(reference_column) if reference_column else None
            audio = find_audio(manifest.parent, name)
            if audio is None:
                yield Item(
                    id=name or f"{manifest.name}:{rows + 1}",
                    identity=missing_identity(name or str(rows), manifest),
                    reference=reference,
                    error=f"{name or '(empty path)'} was not found beside {manifest.name} "
                    f"or in {CLIPS_DIR}/.",
                    error_kind=NOT_FOUND,
                )
            else:
                yield _file_item(audio, name, reference)
    if rows == 0:
        raise DatasetError(f"{manifest} lists no audio files.")


def unique_ids(items: list[Item]) -> list[Item]:
    """Items whose ids collide (the same relative name under two folders) get their
    identity appended, so every output file name is someone's own."""
    counts: dict[str, int] = {}
    for item in items:
        counts[item.id] = counts.get(item.id, 0) + 1
    return [
        item if counts[item.id] == 1 else _with_id(item, f"{item.id}~{item.identity[:8]}")
        for item in items
    ]


def _with_id(item: Item, new_id: str) -> Item:
    return Item(**{**item.to_dict(), "id": new_id})


def _file_item(path: Path, name: str, reference: str | None = None) -> Item:
    return Item(
        id=name, identity=file_identity(path), path=str(path.resolve()), reference=reference
    )


def _is_audio(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_SUFFIXES and path.is_file()


def _looks_like_hub_id(text: str) -> bool:
    parts = text.split("/")
    return len(parts) == 2 and all(parts) and not text.startswith((".", "~"))
