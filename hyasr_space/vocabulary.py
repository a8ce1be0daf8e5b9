"""The logits' columns: which token each is, which is the CTC blank and the word delimiter.

Read from a checkpoint's tokenizer files (`vocab.json`, `added_tokens.json`,
`tokenizer_config.json`). Special tokens (`<s>`, `</s>`, `[UNK]`) are masked out of the
scores before any decoder looks at them, so they never appear in text; `log_probs`
does that once for every decoder.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .results import Logits
from .text import PAD_TOKEN, VOCAB, WORD_DELIMITER

log = logging.getLogger(__name__)

_SPECIAL = re.compile(r"^(<.+>|\[.+\])$")
_PRIVATE_USE = 0xE000
MASKED_LOGP = -1.0e4  # a masked token's log-probability: far below pyctcdecode's floor (-34.5)


@dataclass(frozen=True)
class Vocabulary:
    """The tokens of the logits' columns, in column order."""

    tokens: tuple[str, ...]
    blank_id: int
    delimiter_id: int | None

    @cached_property
    def special_ids(self) -> tuple[int, ...]:
        """Columns that never become text: `<s>`, `</s>`, `[UNK]` and other bracketed tokens."""
        return tuple(
            index
            for index, token in enumerate(self.tokens)
            if index != self.blank_id and _SPECIAL.match(token)
        )

    @classmethod
    def default(cls) -> Vocabulary:
        """The seed model's 44 tokens (text.VOCAB)."""
        tokens = tuple(sorted(VOCAB, key=VOCAB.__getitem__))
        return cls(tokens, VOCAB[PAD_TOKEN], VOCAB[WORD_DELIMITER])

    @classmethod
    def from_dir(cls, path: Path, size: int | None = None) -> Vocabulary:
        """Read `vocab.json` (+ `added_tokens.json`, `tokenizer_config.json`) of a checkpoint.

        `size` is the number of logit columns; ids the files do not name become
        placeholder special tokens.
        """
        ids: dict[str, int] = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        added = path / "added_tokens.json"
        if added.is_file():
            ids.update(json.loads(added.read_text(encoding="utf-8")))
        config_file = path / "tokenizer_config.json"
        config = (
            json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        )
        pad = _token_name(config.get("pad_token")) or PAD_TOKEN
        delimiter = _token_name(config.get("word_delimiter_token")) or WORD_DELIMITER
        size = max(size or 0, max(ids.values()) + 1)
        tokens = [f"<unused-{index}>" for index in range(size)]
        for token, index in ids.items():
            tokens[index] = token
        if pad not in ids:
            raise ValueError(f"{path}: the blank token {pad} is not in vocab.json")
        return cls(tuple(tokens), ids[pad], ids.get(delimiter))

    def labels(self) -> list[str]:
        """pyctcdecode's labels: blank "", delimiter " ", letters as they are.

        Special tokens (masked, so never emitted) get one private-use character each:
        pyctcdecode wants unique labels and warns about multi-character ones.
        """
        labels = list(self.tokens)
        labels[self.blank_id] = ""
        if self.delimiter_id is not None:
            labels[self.delimiter_id] = " "
        for index in self.special_ids:
            labels[index] = chr(_PRIVATE_USE + index)
        return labels

    def log_probs(self, logits: Logits) -> np.ndarray:
        """Log-softmax over the columns that can become text; specials get ~ -inf."""
        scores = np.array(logits.values, dtype=np.float32)
        if scores.shape[1] != len(self.tokens):
            raise ValueError(
                f"logits have {scores.shape[1]} columns, the vocabulary {len(self.tokens)} tokens"
            )
        special = list(self.special_ids)
        scores[:, special] = -np.inf
        scores -= scores.max(axis=1, keepdims=True)
        scores -= np.log(np.exp(scores).sum(axis=1, keepdims=True))
        scores[:, special] = MASKED_LOGP
        return scores


def _token_name(value: Any) -> str | None:
    if isinstance(value, dict):  # {"content": "[PAD]", ...} in newer tokenizer configs
        return value.get("content")
    return value if isinstance(value, str) else None


def _token_name(value: Any) -> str | None:
    if isinstance(value, dict):  # {"content": "[PAD]", ...} in newer tokenizer configs
        return value.get("content")
    return value if isinstance(value, str) else None


def alphabet_labels(model_dir: Path, vocabulary: Vocabulary) -> list[str]:
    """Labels from alphabet.json when it is there and agrees with vocab.json, else vocab.json."""
    labels = vocabulary.labels()
    path = model_dir / "alphabet.json"
    if not path.is_file():
        return labels
    stored = json.loads(path.read_text(encoding="utf-8")).get("labels", [])
    agrees = len(stored) == len(labels) and stored[vocabulary.blank_id] == ""
    if vocabulary.delimiter_id is not None:
        agrees = agrees and stored[vocabulary.delimiter_id] == " "
    if not agrees:
        log.warning("%s does not match vocab.json; using vocab.json", path)
        return labels
    for index in vocabulary.special_ids:  # masked anyway; see Vocabulary.labels
        stored[index] = labels[index]
    return stored
