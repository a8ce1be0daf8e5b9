"""Armenian text: the model's alphabet, normalisation, and error rates.

One normalisation serves the language-model builder, the training data, the evaluation
references and the tests, so that what the model is scored on is spelled the way it
was taught. It follows the seed model's training script (which deleted punctuation and
lowercased), refined as follows:

- Unicode NFC, never NFKC (NFKC splits the ligature "և" into "ե" + "ւ").
- Lowercase character by character: ``"և".upper()`` is the two-letter "ԵՒ", so never
  round-trip through upper case.
- In-word marks (emphasis ՛, exclamation ՜, question ՞, abbreviation ՚, apostrophes) are
  deleted: "ինչո՞ւ" -> "ինչու".
- Hyphens are deleted too, as the seed model's training text had them: "ՏԱՍՍ-ը" -> "տասսը"
  (an abbreviation and its case ending are one spoken word).
- Every other punctuation mark (both full stops ։ and ASCII ":", the comma, ՝ and the
  backtick that stands in for it, quotes, dashes, brackets, ellipsis) becomes a space,
  so words glued by a mark are not merged; then spaces are collapsed.

Additions found by running it over data/hy-text (each kept a sentence out of the
alphabet, so out of the LM text, or left a mark in a reference):

- The one-dot leader "․" (U+2024), which Armenian keyboards type for the abbreviation
  dot ("2014 թ․"), and the middle dot "·" are full stops like "."; 300+ news lines.
- The acute accent "´" and the modifier apostrophe "ʼ" stand in for the emphasis mark ՛
  ("թո´ղ", a Common Voice dev sentence) and are deleted like it; so are the Unicode
  hyphens U+2010/U+2011, to apply the hyphen rule to every hyphen.
- Invisible format characters: the zero-width space separates words (a space); the
  zero-width (non-)joiners, word joiner and byte-order mark are deleted.
- The Armenian presentation ligatures ﬓ ﬔ ﬕ ﬖ ﬗ (U+FB13..FB17) are spelled out here,
  since NFKC, which would do it, must not run (it splits "և").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

WORD_DELIMITER = "|"
UNK_TOKEN = "[UNK]"
PAD_TOKEN = "[PAD]"  # also the CTC blank
BOS_TOKEN = "<s>"
EOS_TOKEN = "</s>"

# ա (U+0561) .. ֆ (U+0586), then the ligature և (U+0587): ids 1..39 of the seed model.
ARMENIAN_LETTERS = "".join(chr(code) for code in range(0x0561, 0x0588))

# The seed model's 44-token vocabulary, id order included: vocab.json and added_tokens.json
# of https://huggingface.co/arampacha/wav2vec2-xls-r-1b-hy-cv.
VOCAB: dict[str, int] = {
    WORD_DELIMITER: 0,
    **{letter: index + 1 for index, letter in enumerate(ARMENIAN_LETTERS)},
    UNK_TOKEN: 40,
    PAD_TOKEN: 41,
    BOS_TOKEN: 42,
    EOS_TOKEN: 43,
}

_DELETED_MARKS = (
    "\u055b\u055c\u055e\u055a\u2019'\u2018\u00b4\u02bc"  # in-word marks, apostrophes
    "-\u058a\u00ad\u2010\u2011"  # hyphens (and the soft hyphen)
    "\u200c\u200d\u2060\ufeff"  # invisible joiners and the byte-order mark
)
_SPACED_MARKS = '\u0589\u055d,.:;!?"«»“”„`—–…()[]{}/\\*%\ufffd\u055f\u0559\u2024\u00b7\u200b'
# NFKC would spell these out too, but it also splits "և" (see the module docstring).
_LIGATURES = {"\ufb13": "մն", "\ufb14": "մե", "\ufb15": "մի", "\ufb16": "վն", "\ufb17": "մխ"}
_TABLE: dict[int, str | None] = {
    **{ord(mark): None for mark in _DELETED_MARKS},
    **{ord(mark): " " for mark in _SPACED_MARKS},
    **{ord(ligature): letters for ligature, letters in _LIGATURES.items()},
}
_SPACES = re.compile(r"\s+")
_IN_ALPHABET = re.compile(f"^[{ARMENIAN_LETTERS} ]*$")


def normalize_text(text: str) -> str:
    """Normalise Armenian text the way the model's training transcripts were."""
    text = unicodedata.normalize("NFC", text)
    text = text.translate(_TABLE)
    text = "".join(character.lower() for character in text)
    return _SPACES.sub(" ", text).strip()


def is_in_alphabet(normalized: str) -> bool:
    """True when a normalised sentence uses only the model's letters and spaces."""
    return bool(_IN_ALPHABET.match(normalized))


@dataclass(frozen=True)
class ErrorRates:
    """Corpus-level word and character error rates (jiwer), over ``utterances``."""

    wer: float
    cer: float
    utterances: int


def error_rates(references: Sequence[str], hypotheses: Sequence[str]) -> ErrorRates:
    """WER and CER of hypotheses against references, both normalised first.

    Corpus-level (errors summed over all utterances, divided by the reference length),
    as the model card's ``eval.py`` computes them with the ``evaluate`` metrics.
    """
    import jiwer

    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not references:
        raise ValueError("no utterances to score")
    refs = [normalize_text(text) for text in references]
    hyps = [normalize_text(text) for text in hypotheses]
    # jiwer refuses empty references; score such an utterance by its insertions alone.
    scored = [(ref, hyp) for ref, hyp in zip(refs, hyps, strict=True) if ref]
    empty_ref_words = sum(len(hyp.split()) for ref, hyp in zip(refs, hyps, strict=True) if not ref)
    empty_ref_chars = sum(len(hyp) for ref, hyp in zip(refs, hyps, strict=True) if not ref)
    if not scored:
        raise ValueError("every reference is empty after normalisation")
    ref_texts = [ref for ref, _ in scored]
    hyp_texts = [hyp for _, hyp in scored]
    words = jiwer.process_words(ref_texts, hyp_texts)
    chars = jiwer.process_characters(ref_texts, hyp_texts)
    word_total = sum(len(ref.split()) for ref in ref_texts)
    char_total = sum(len(ref) for ref in ref_texts)
    word_errors = words.substitutions + words.deletions + words.insertions
    char_errors = chars.substitutions + chars.deletions + chars.insertions
    return ErrorRates(
        wer=(word_errors + empty_ref_words) / word_total,
        cer=(char_errors + empty_ref_chars) / char_total,
        utterances=len(refs),
    )


def normalized_corpus(lines: Iterable[str]) -> list[str]:
    """Normalised sentences that use only the model's alphabet (for LM and training)."""
    kept = []
    for line in lines:
        sentence = normalize_text(line)
        if sentence and is_in_alphabet(sentence):
            kept.append(sentence)
    return kept
