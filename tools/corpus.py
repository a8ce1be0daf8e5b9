"""The Armenian text the dev-time tools read: `data/hy-text/` in this repository.

The four text files (Common Voice prompts and two news corpora; sources and licences in
data/hy-text/SOURCES.md) are kept xz-compressed; `read_lines` decompresses them on the
fly. A `--text-dir` holding the same files uncompressed (`NAME.txt`) works as well.
"""

from __future__ import annotations

import hashlib
import lzma
from pathlib import Path

TEXT_DIR = Path(__file__).resolve().parents[1] / "data" / "hy-text"


def text_bytes(name: str, text_dir: Path = TEXT_DIR) -> bytes:
    """The bytes of text file `name` (e.g. "cv20-hy-AM-dev.txt"), decompressed."""
    plain, packed = text_dir / name, text_dir / f"{name}.xz"
    if packed.is_file():
        return lzma.decompress(packed.read_bytes())
    if plain.is_file():
        return plain.read_bytes()
    raise SystemExit(f"neither {packed} nor {plain} exists (the texts are in data/hy-text)")


def read_lines(name: str, text_dir: Path = TEXT_DIR) -> list[str]:
    """The sentences of a text file, one per line."""
    return text_bytes(name, text_dir).decode("utf-8").splitlines()


def text_sha256(name: str, text_dir: Path = TEXT_DIR) -> str:
    """SHA-256 of the uncompressed text (what tools/heldout.json records)."""
    return hashlib.sha256(text_bytes(name, text_dir)).hexdigest()
