"""One input of a batch run (`Item`) and its identity, which says whether it was done."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Item:
    """One input: `id` names it in the output; the audio is the file `path`, or row
    `dataset_row` of the data set file `dataset_file`; `error` is set when it cannot be
    read at all (a manifest's missing file)."""

    id: str
    identity: str
    path: str = ""
    reference: str | None = None
    dataset_file: str = ""
    dataset_format: str = ""  # "arrow" or "parquet"
    dataset_row: int = -1
    audio_column: str = ""
    error: str = ""
    error_kind: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def file_identity(path: Path, *extra: object) -> str:
    """A short hash of a file's absolute path, size and modification time (and `extra`)."""
    stat = path.stat()
    key = "\0".join(map(str, (path.resolve(), stat.st_size, stat.st_mtime_ns, *extra)))
    return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
