"""Armenian normalisation (the one `text.normalize_text`) and corpus-level WER/CER."""

from __future__ import annotations

import unicodedata

import pytest

from hyasr_space.text import (
    ARMENIAN_LETTERS,
    VOCAB,
    error_rates,
    is_in_alphabet,
    normalize_text,
    normalized_corpus,
)

CASES = [
    # The ligature և is a letter of its own (id 39): lowercase keeps it, NFKC would not.
    ("և", "և"),
    ("ԵՎ և", "եվ և"),  # upper-case "ԵՎ" is two letters and stays two
    ("Երևան", "երևան"),
    # In-word marks are deleted, not spaced: the word stays whole.
    ("Ինչո՞ւ", "ինչու"),
    ("Ո՛չ", "ոչ"),
    ("Ա՜խ", "ախ"),
    ("ա՚ա", "աա"),
    ("դ’Արտանյան", "դարտանյան"),
    ("դ'Արտանյան", "դարտանյան"),
    ("թո´ղ", "թող"),  # the acute accent typed for ՛ (a Common Voice dev sentence)
    # Both full stops, the Armenian one and the ASCII colon Common Voice often has.
    ("Բարև։Ձեզ", "բարև ձեզ"),
    ("Բարև:Ձեզ", "բարև ձեզ"),
    ("2014 թ․ հունիս", "2014 թ հունիս"),  # the one-dot leader of abbreviations
    # ՝ and the backtick typed for it.
    ("Ասաց՝ գնա", "ասաց գնա"),
    ("Ասաց`գնա", "ասաց գնա"),
    # Hyphens join an abbreviation and its ending; a dash between words is a space.
    ("ՏԱՍՍ-ը", "տասսը"),
    ("ՀՀ֊ում", "հհում"),
    ("ՆԱՏՕ‐ի", "նատօի"),  # U+2010 HYPHEN: every hyphen follows the same rule
    ("բարև — ձեզ", "բարև ձեզ"),
    ("«Բարև», ասաց։", "բարև ասաց"),
    ("“Բարև” „ձեզ“", "բարև ձեզ"),
    ("(բարև) ձեզ…", "բարև ձեզ"),
    ("  բարև \t\n ձեզ\u00a0 ", "բարև ձեզ"),
    ("բարև\u200bձեզ", "բարև ձեզ"),  # a zero-width space separates words
    ("\ufeffբարև", "բարև"),  # a byte-order mark at the start of a file
    ("ՀԱՅԱՍՏԱՆ", "հայաստան"),
    ("ﬓ", "մն"),  # presentation ligatures spelled out, without NFKC
    ("Ականջիս տակ նրա խոսքն էր՝ թո´ղ:", "ականջիս տակ նրա խոսքն էր թող"),
    ("", ""),
    ("։ « » ՝", ""),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected
    assert normalize_text(expected) == expected  # idempotent


def test_ligature_survives_where_nfkc_would_split_it() -> None:
    assert unicodedata.normalize("NFKC", "և") == "եւ"  # why NFKC is never used
    assert normalize_text("ԵՎ") != normalize_text("և")
    assert VOCAB[normalize_text("և")] == 39


def test_every_armenian_capital_lowercases_into_the_alphabet() -> None:
    capitals = "".join(chr(code) for code in range(0x0531, 0x0557))  # Ա .. Ֆ
    lowered = normalize_text(capitals)
    assert lowered == ARMENIAN_LETTERS[:-1]  # everything but the ligature, in order
    assert is_in_alphabet(lowered)


def test_normalized_corpus_keeps_only_sentences_the_model_can_spell() -> None:
    lines = ["Բարև, ձեզ։", "2014 թ․", "Hello", "", "Ինչո՞ւ ոչ", "թո´ղ:"]
    assert normalized_corpus(lines) == ["բարև ձեզ", "ինչու ոչ", "թող"]


def test_error_rates_by_hand() -> None:
    # Words: "բարև ձեզ" -> "բարև ձեր" is 1 substitution; "իմ մայր" -> "իմ" 1 deletion.
    # 2 errors / 4 reference words = 0.5.
    # Characters: 1 substitution (զ -> ր) in 8 ("բարև ձեզ" with its space), and
    # " մայր" deleted, 5 characters in 7: (1 + 5) / (8 + 7) = 0.4.
    rates = error_rates(["բարև ձեզ", "իմ մայր"], ["բարև ձեր", "իմ"])
    assert rates.wer == pytest.approx(2 / 4)
    assert rates.cer == pytest.approx(6 / 15)
    assert rates.utterances == 2


def test_error_rates_insertions_and_empty_hypotheses() -> None:
    # "ա բ" -> "ա բ գ": 1 inserted word of 2; 2 inserted characters (" գ") of 3.
    rates = error_rates(["ա բ"], ["ա բ գ"])
    assert (rates.wer, rates.cer) == (pytest.approx(1 / 2), pytest.approx(2 / 3))
    # Nothing recognised: every word and character deleted.
    rates = error_rates(["ա բ"], [""])
    assert (rates.wer, rates.cer) == (1.0, 1.0)


def test_error_rates_normalise_both_sides() -> None:
    rates = error_rates(["«Բարև», ձեզ։", "Ինչո՞ւ"], ["բարև ձեզ", "ԻՆՉՈՒ"])
    assert (rates.wer, rates.cer) == (0.0, 0.0)


def test_error_rates_empty_reference_counts_insertions() -> None:
    # The first reference is only punctuation: its hypothesis word "գ" is 1 insertion
    # (1 character); the second pair is exact. WER 1 / 2 words, CER 1 / 3 characters.
    rates = error_rates(["։", "ա բ"], ["գ", "ա բ"])
    assert rates.wer == pytest.approx(1 / 2)
    assert rates.cer == pytest.approx(1 / 3)
    assert rates.utterances == 2


def test_error_rates_refuse_what_cannot_be_scored() -> None:
    with pytest.raises(ValueError, match="references but"):
        error_rates(["ա"], [])
    with pytest.raises(ValueError, match="no utterances"):
        error_rates([], [])
    with pytest.raises(ValueError, match="empty"):
        error_rates(["։"], ["ա"])


def test_scoring_counts_yev_ligature_and_classical_spelling_as_one() -> None:
    from hyasr_space.text import SCORING_NORMALISATION, normalize_for_scoring

    assert normalize_for_scoring("Երեւան եւ Գյումրի") == normalize_for_scoring("Երևան և Գյումրի")
    assert normalize_for_scoring("«Ինչո՞ւ», ՏԱՍՍ-ը՝ իր’") == "ինչու տասսը իր"
    # The classical spelling scores like the ligature: no errors.
    assert error_rates(["Երևան և Գյումրի"], ["երեւան եւ գյումրի"]).cer == 0
    assert "և" in SCORING_NORMALISATION and "եւ" in SCORING_NORMALISATION
