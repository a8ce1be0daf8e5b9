"""Which Common Voice dev sentences are held out of every training set and language model.

The held-out sentences are chosen once, deterministically, from
``data/hy-text/cv20-hy-AM-dev.txt`` (tools/corpus.py reads it): the in-alphabet
sentences are shuffled with a fixed seed; the first ``TUNE_COUNT`` form the *tune* set
(LM weights are searched on it) and the next ``TEST_COUNT`` the *test* set (reported
numbers come from it). The acoustic model is trained on the train split only; the LM
text takes every other sentence, so neither ever sees a held-out sentence.
``tools/heldout.json`` records the line numbers and the source text's SHA-256, so a
rebuild can prove it used the same ones.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from hyasr_space.text import is_in_alphabet, normalize_text
from tools.corpus import TEXT_DIR, read_lines, text_sha256

DEV_FILE = "cv20-hy-AM-dev.txt"
TRAIN_FILE = "cv20-hy-AM-train.txt"
NEWS_FILES = ("news-armtdp-ner.txt", "news-arpa-paraphrase.txt")
RECORD = Path(__file__).with_name("heldout.json")
SEED = 20261125
TUNE_COUNT = 150
TEST_COUNT = 150


def select(text_dir: Path = TEXT_DIR) -> dict:
    """Pick the held-out sentences (line numbers into the dev file, 0-based)."""
    lines = read_lines(DEV_FILE, text_dir)
    candidates = [
        index
        for index, line in enumerate(lines)
        if (sentence := normalize_text(line))
        and is_in_alphabet(sentence)
        and 3 <= len(sentence.split()) <= 14
    ]
    random.Random(SEED).shuffle(candidates)
    digest = text_sha256(DEV_FILE, text_dir)
    return {
        "source": f"data/hy-text/{DEV_FILE}",
        "sha256": digest,
        "seed": SEED,
        "tune": sorted(candidates[:TUNE_COUNT]),
        "test": sorted(candidates[TUNE_COUNT : TUNE_COUNT + TEST_COUNT]),
    }


def load(text_dir: Path = TEXT_DIR) -> dict:
    """The recorded selection, checked against the dev file it was made from."""
    record = json.loads(RECORD.read_text())
    digest = text_sha256(DEV_FILE, text_dir)
    if digest != record["sha256"]:
        raise SystemExit(f"{DEV_FILE} changed since {RECORD.name} was written")
    return record


def heldout_sentences(split: str, text_dir: Path = TEXT_DIR) -> list[str]:
    """Original (unnormalised) held-out sentences of ``split`` ("tune" or "test")."""
    lines = read_lines(DEV_FILE, text_dir)
    return [lines[index] for index in load(text_dir)[split]]


def heldout_normalized(text_dir: Path = TEXT_DIR) -> set[str]:
    """Every held-out sentence, normalised: what no LM or training set may contain."""
    lines = read_lines(DEV_FILE, text_dir)
    record = load(text_dir)
    return {normalize_text(lines[index]) for index in record["tune"] + record["test"]}


if __name__ == "__main__":
    RECORD.write_text(json.dumps(select(), indent=1) + "\n")
    print(f"wrote {RECORD}")
