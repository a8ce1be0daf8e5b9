"""Build the KenLM n-gram language model that ships with the bundled demo model.

    nice -n 10 python -m tools.build_lm --out build/lm [--order 5] [--prune 0 0 1 1 1]

Why a home-built LM: the seed model's own LM (``5gram.bin``) is 880 MB, far too big to
bundle; this one is built from the CC0/Apache-2.0 Armenian text in ``data/hy-text``
(Common Voice 20 train and dev prompts, two news corpora; tools/corpus.py reads them) and
is a few MB.

Text: every line is normalised with ``hyasr_space.text.normalize_text`` (the same
spelling the references use). A sentence holding anything outside the model's alphabet
(digits, Latin or Cyrillic words, symbols: only in the news files, about 30% of them) is
dropped whole. Cutting out just the offending word would glue its neighbours into
n-grams that never occur; cutting the sentence into pieces there (``--split-foreign``)
keeps more text but measured worse on the held-out tune sentences (a higher perplexity
over the same known words for a barely lower OOV rate; docs/development.md). Every
held-out sentence (``tools/heldout.py``) is removed, and the build stops if one remains;
duplicates are dropped.

Output, in pyctcdecode's ``LanguageModel.load_from_dir`` layout (exactly three files)::

    <out>/language_model/lm.binary      KenLM trie (optionally quantized)
    <out>/language_model/unigrams.txt   the LM's words, sorted, one per line
    <out>/language_model/attrs.json     alpha, beta, unk_score_offset, score_boundary
    <out>/lm_build_info.json            sources, counts, settings, sizes, checks

``lm_build_info.json`` sits beside ``language_model/`` because pyctcdecode refuses a
folder with a fourth file. The build is checked before the summary is printed: the
binary loads in ``kenlm``, the folder loads in pyctcdecode and decodes peaky logits of
held-out sentences exactly, and perplexity and OOV rate on the held-out *tune* sentences
are reported (never the *test* ones, which stay for final numbers).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import platform
import subprocess
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hyasr_space.settings import DEFAULT_ALPHA, DEFAULT_BETA, LM_DIR
from hyasr_space.text import (
    ARMENIAN_LETTERS,
    PAD_TOKEN,
    VOCAB,
    WORD_DELIMITER,
    error_rates,
    is_in_alphabet,
    normalize_text,
)
from tools.corpus import TEXT_DIR, read_lines, text_sha256
from tools.heldout import (
    DEV_FILE,
    NEWS_FILES,
    RECORD,
    TRAIN_FILE,
    heldout_normalized,
    heldout_sentences,
)
from tools.kenlm_bin import KenlmBuildError, KenlmPrograms, ensure_kenlm_programs

if TYPE_CHECKING:
    import kenlm

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES = (TRAIN_FILE, DEV_FILE, *NEWS_FILES)
DEFAULT_OUT = REPO_ROOT / "build" / "lm"
WORK_DIR = REPO_ROOT / "build" / "lm-work"
LM_FILE = "lm.binary"
UNIGRAMS_FILE = "unigrams.txt"
ATTRS_FILE = "attrs.json"
BUILD_INFO_FILE = "lm_build_info.json"
DEFAULT_ORDER = 5
MAX_ORDER = 6  # what KenLM and the kenlm Python module are compiled for
UNK_SCORE_OFFSET = -10.0
ARPA_SPECIAL_WORDS = frozenset({"<s>", "</s>", "<unk>"})
DECODER_CHECK_SENTENCES = 30


@dataclass
class SourceCounts:
    """What happened to one source file's lines on the way into the LM text."""

    lines: int = 0
    empty: int = 0
    foreign: int = 0  # sentences (or, with splitting, words) outside the alphabet
    heldout: int = 0
    duplicates: int = 0
    kept: int = 0
    words: int = 0


# ----------------------------------------------------------------------------- corpus


def _pieces(sentence: str, split_foreign: bool) -> tuple[list[str], int]:
    """In-alphabet pieces of a normalised sentence, and how many words or sentences went."""
    if is_in_alphabet(sentence):
        return [sentence], 0
    if not split_foreign:
        return [], 1
    pieces: list[list[str]] = [[]]
    dropped = 0
    for word in sentence.split():
        if is_in_alphabet(word):
            pieces[-1].append(word)
        else:
            dropped += 1
            pieces.append([])
    return [" ".join(words) for words in pieces if words], dropped


def prepare_corpus_with_counts(
    lines_by_source: Mapping[str, Iterable[str]],
    excluded: Collection[str],
    split_foreign: bool = False,
) -> tuple[list[str], dict[str, SourceCounts]]:
    """The LM sentences (normalised, in-alphabet, not excluded, unique) and per-source counts.

    ``excluded`` holds normalised sentences that must never reach the LM. With
    ``split_foreign`` a sentence with out-of-alphabet words is cut at them into pieces
    instead of being dropped.
    """
    seen: set[str] = set()
    corpus: list[str] = []
    counts: dict[str, SourceCounts] = {}
    for source, lines in lines_by_source.items():
        count = counts[source] = SourceCounts()
        for line in lines:
            count.lines += 1
            sentence = normalize_text(line)
            if not sentence:
                count.empty += 1
                continue
            pieces, dropped = _pieces(sentence, split_foreign)
            count.foreign += dropped
            for piece in pieces:
                if piece in excluded:
                    count.heldout += 1
                elif piece in seen:
                    count.duplicates += 1
                else:
                    seen.add(piece)
                    corpus.append(piece)
                    count.kept += 1
                    count.words += len(piece.split())
    return corpus, counts


def prepare_corpus(
    lines_by_source: Mapping[str, Iterable[str]], excluded: Collection[str]
) -> list[str]:
    """The LM sentences: normalised, in the model's alphabet, not excluded, deduplicated."""
    return prepare_corpus_with_counts(lines_by_source, excluded)[0]


def check_no_heldout(corpus: Iterable[str], excluded: Collection[str]) -> None:
    """Stop the build if any excluded sentence made it into the LM text."""
    leaked = set(corpus) & set(excluded)
    if leaked:
        raise SystemExit(f"{len(leaked)} held-out sentences reached the LM text, e.g. {leaked}")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- KenLM


def run_lmplz(
    programs: KenlmPrograms,
    corpus: Path,
    arpa: Path,
    order: int,
    prune: Sequence[int],
    memory: str,
) -> list[str]:
    """Estimate a modified Kneser-Ney ARPA model; return the command line used."""
    temp = arpa.parent / "lmplz-tmp"
    temp.mkdir(parents=True, exist_ok=True)
    command = [
        str(programs.lmplz), "-o", str(order), "-S", memory, "-T", f"{temp}/",
        "--discount_fallback", "--text", str(corpus), "--arpa", str(arpa),
    ]  # fmt: skip
    if prune:
        command += ["--prune", *map(str, prune)]
    _run(command)
    return command


def run_build_binary(programs: KenlmPrograms, arpa: Path, binary: Path, bits: int) -> list[str]:
    """Convert the ARPA file to a KenLM trie (quantized to ``bits`` unless 0)."""
    command = [str(programs.build_binary), "-S", "10%", "-T", f"{arpa.parent}/"]
    if bits:
        command += ["-q", str(bits), "-b", str(bits)]
    command += ["-a", "255", "trie", str(arpa), str(binary)]
    _run(command)
    return command


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.splitlines()[-20:])
        raise SystemExit(f"{Path(command[0]).name} failed (exit {result.returncode}):\n{tail}")


def arpa_unigrams(arpa: Path) -> list[str]:
    """The words of an ARPA file's 1-gram section, sorted, without <s>, </s> and <unk>.

    pyctcdecode reads unigrams.txt with ``splitlines()`` and writes it sorted
    (``LanguageModel.save_to_dir``); the special symbols are not words it can spell.
    """
    words: set[str] = set()
    in_unigrams = False
    with arpa.open(encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if line == "\\1-grams:":
                in_unigrams = True
            elif line.startswith("\\2-grams:") or (in_unigrams and line == "\\end\\"):
                break
            elif in_unigrams and line:
                words.add(line.split("\t")[1])
    return sorted(words - ARPA_SPECIAL_WORDS)


def write_language_model_dir(
    lm_dir: Path, binary: Path, unigrams: Sequence[str], alpha: float, beta: float
) -> None:
    """Fill ``lm_dir`` with exactly the three files pyctcdecode's loader expects."""
    lm_dir.mkdir(parents=True, exist_ok=True)
    binary.replace(lm_dir / LM_FILE)
    (lm_dir / UNIGRAMS_FILE).write_text("".join(f"{word}\n" for word in unigrams), "utf-8")
    attrs = {
        "alpha": alpha,
        "beta": beta,
        "unk_score_offset": UNK_SCORE_OFFSET,
        "score_boundary": True,
    }
    (lm_dir / ATTRS_FILE).write_text(json.dumps(attrs) + "\n")


# ----------------------------------------------------------------------------- checks


def perplexity(model: kenlm.Model, sentences: Sequence[str]) -> float:
    """Corpus perplexity with sentence boundaries (</s> counted as a token, OOVs included)."""
    log10_total = sum(model.score(sentence, bos=True, eos=True) for sentence in sentences)
    tokens = sum(len(sentence.split()) + 1 for sentence in sentences)
    return 10 ** (-log10_total / tokens)


def oov_rate(sentences: Iterable[str], vocabulary: Collection[str]) -> float:
    """Share of running words not in ``vocabulary``."""
    words = [word for sentence in sentences for word in sentence.split()]
    return sum(word not in vocabulary for word in words) / len(words)


def _labels() -> list[str]:
    return [token for token, _ in sorted(VOCAB.items(), key=lambda item: item[1])]


def _peaky_logits(sentence: str, confuse: bool) -> np.ndarray:
    """One frame per character and a blank after each; optionally a confusable letter.

    With ``confuse`` the middle letter of every word gets a frame where a wrong letter
    (the next one in the alphabet) is slightly likelier than the right one, so greedy
    decoding misspells every word and only the LM can put it right.
    """
    frames: list[np.ndarray] = []
    blank = VOCAB[PAD_TOKEN]
    for word_index, word in enumerate(sentence.split()):
        if word_index:
            frames += [_frame({VOCAB[WORD_DELIMITER]: 0.0}), _frame({blank: 0.0})]
        for position, letter in enumerate(word):
            if confuse and position == len(word) // 2:
                wrong = _next_letter(letter)
                frames.append(_frame({VOCAB[wrong]: 0.0, VOCAB[letter]: -0.3}))
            else:
                frames.append(_frame({VOCAB[letter]: 0.0}))
            frames.append(_frame({blank: 0.0}))
    return np.stack(frames)


def _next_letter(letter: str) -> str:
    return ARMENIAN_LETTERS[(ARMENIAN_LETTERS.index(letter) + 1) % len(ARMENIAN_LETTERS)]


def _frame(scores: Mapping[int, float]) -> np.ndarray:
    frame = np.full(len(VOCAB), -12.0, dtype=np.float32)
    for index, score in scores.items():
        frame[index] = score
    return frame


def decoder_check(lm_dir: Path, sentences: Sequence[str]) -> dict[str, object]:
    """Load ``lm_dir`` as pyctcdecode does and decode peaky logits of ``sentences``.

    Clean logits must decode exactly (else the build stops); on confusable logits the
    greedy and LM word error rates show that the LM is actually consulted.
    """
    from pyctcdecode.alphabet import Alphabet
    from pyctcdecode.decoder import BeamSearchDecoderCTC
    from pyctcdecode.language_model import LanguageModel

    # The vocabulary's <s> and </s> make pyctcdecode warn of multi-character labels;
    # they are never emitted, as in the seed model.
    logging.getLogger("pyctcdecode.alphabet").setLevel(logging.ERROR)
    decoder = BeamSearchDecoderCTC(
        Alphabet.build_alphabet(_labels()), LanguageModel.load_from_dir(str(lm_dir))
    )
    greedy = BeamSearchDecoderCTC(Alphabet.build_alphabet(_labels()), None)
    started = time.perf_counter()
    wrong = [s for s in sentences if decoder.decode(_peaky_logits(s, False)) != s]
    if wrong:
        raise SystemExit(f"pyctcdecode misdecoded clean logits of {len(wrong)}: {wrong[:2]}")
    confused = [_peaky_logits(sentence, True) for sentence in sentences]
    lm_hyps = [decoder.decode(logits) for logits in confused]
    greedy_hyps = [greedy.decode(logits) for logits in confused]
    return {
        "sentences": len(sentences),
        "confusable_wer_greedy": round(error_rates(sentences, greedy_hyps).wer, 4),
        "confusable_wer_lm": round(error_rates(sentences, lm_hyps).wer, 4),
        "seconds": round(time.perf_counter() - started, 2),
    }


def evaluate(lm_dir: Path, unigrams: Collection[str], text_dir: Path) -> dict[str, object]:
    """Perplexity and OOV rate on the held-out tune sentences, plus the decoder check."""
    import kenlm

    model = kenlm.Model(str(lm_dir / LM_FILE))
    tune = [normalize_text(line) for line in heldout_sentences("tune", text_dir)]
    vocabulary = set(unigrams)
    return {
        "kenlm_order": model.order,
        "tune_sentences": len(tune),
        "tune_perplexity": round(perplexity(model, tune), 2),
        "tune_oov_rate": round(oov_rate(tune, vocabulary), 4),
        "heldout_oov_rate": round(oov_rate(heldout_normalized(text_dir), vocabulary), 4),
        "decoder": decoder_check(lm_dir, tune[:DECODER_CHECK_SENTENCES]),
    }


# ----------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="gets language_model/")
    parser.add_argument("--text-dir", type=Path, default=TEXT_DIR)
    parser.add_argument("--order", type=int, default=DEFAULT_ORDER)
    parser.add_argument(
        "--prune", type=int, nargs="+", default=[], metavar="N",
        help="lmplz --prune thresholds per order, e.g. 0 0 1 1 1 (first must be 0)",
    )  # fmt: skip
    parser.add_argument(
        "--quantize", type=int, default=8, metavar="BITS",
        help="build_binary -q/-b bits for probabilities and backoffs; 0 = none",
    )  # fmt: skip
    parser.add_argument("--split-foreign", action="store_true", help="cut, not drop, sentences")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA)
    parser.add_argument("--beta", type=float, default=DEFAULT_BETA)
    parser.add_argument("--memory", default="20%", help="lmplz -S sorting memory")
    parser.add_argument("--jobs", type=int, default=2, help="parallel jobs compiling KenLM")
    args = parser.parse_args(argv)
    if not 2 <= args.order <= MAX_ORDER:
        parser.error(f"--order must be 2..{MAX_ORDER}")
    if args.prune and (len(args.prune) > args.order or args.prune[0] != 0):
        parser.error("--prune takes at most --order thresholds, the first 0")
    if args.quantize and not 2 <= args.quantize <= 25:
        parser.error("--quantize takes 2..25 bits, or 0")
    return args


def read_sources(text_dir: Path) -> dict[str, list[str]]:
    return {name: read_lines(name, text_dir) for name in SOURCES}


def build(args: argparse.Namespace) -> dict[str, object]:
    started = time.perf_counter()
    excluded = heldout_normalized(args.text_dir)
    corpus, counts = prepare_corpus_with_counts(
        read_sources(args.text_dir), excluded, args.split_foreign
    )
    check_no_heldout(corpus, excluded)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    corpus_path = WORK_DIR / "corpus.txt"
    corpus_path.write_text("".join(f"{sentence}\n" for sentence in corpus), "utf-8")

    try:
        programs = ensure_kenlm_programs(jobs=args.jobs)
    except KenlmBuildError as error:
        raise SystemExit(str(error)) from None
    arpa, binary = WORK_DIR / "lm.arpa", WORK_DIR / LM_FILE
    lmplz = run_lmplz(programs, corpus_path, arpa, args.order, args.prune, args.memory)
    build_binary = run_build_binary(programs, arpa, binary, args.quantize)
    unigrams = arpa_unigrams(arpa)
    lm_dir = args.out / LM_DIR
    write_language_model_dir(lm_dir, binary, unigrams, args.alpha, args.beta)
    built_seconds = time.perf_counter() - started

    info = {
        "sources": {
            name: {**asdict(count), "sha256": text_sha256(name, args.text_dir)}
            for name, count in counts.items()
        },
        "foreign_policy": "split at foreign words" if args.split_foreign else "drop sentence",
        "heldout_excluded": len(excluded),
        "heldout_record_sha256": sha256_file(RECORD),
        "sentences": len(corpus),
        "words": sum(len(sentence.split()) for sentence in corpus),
        "unigrams": len(unigrams),
        "order": args.order,
        "prune": args.prune,
        "quantize_bits": args.quantize,
        "lmplz": _relative(lmplz),
        "build_binary": _relative(build_binary),
        "kenlm": {"version": programs.version, "sdist_sha256": programs.sdist_sha256},
        "python": platform.python_version(),
        "sizes_bytes": {
            "arpa": arpa.stat().st_size,
            **{name: (lm_dir / name).stat().st_size for name in (LM_FILE, UNIGRAMS_FILE)},
        },
        "build_seconds": round(built_seconds, 1),
        "checks": evaluate(lm_dir, unigrams, args.text_dir),
    }
    (args.out / BUILD_INFO_FILE).write_text(json.dumps(info, indent=1, ensure_ascii=False) + "\n")
    return info


def _relative(command: Sequence[str]) -> str:
    """A command line with this checkout's path cut off, for a reproducible record."""
    return " ".join(command).replace(f"{REPO_ROOT}/", "")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    info = build(args)
    summary = {
        key: info[key]
        for key in ("sentences", "words", "unigrams", "order", "prune", "quantize_bits")
    }
    summary |= {
        "out": str(args.out / LM_DIR),
        "sizes_bytes": info["sizes_bytes"],
        "build_seconds": info["build_seconds"],
        "checks": info["checks"],
    }
    print(json.dumps(summary, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
